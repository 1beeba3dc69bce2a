/* test_supervisor.c: the launcher's module supervisor: start order and reverse stop, restart
 * with backoff, dependants blocked and released, and a property over many seeds of random
 * failures (a usable module never has an unusable dependency; on_blocked alternates; a restart
 * never comes before its backoff; the backoff never exceeds its cap). */
#include <criterion/criterion.h>

#include "noderr/rand.h"
#include "noderr/supervisor.h"

#include <stdio.h>
#include <string.h>

#define MS 1000000LL

typedef struct fake {
    int starts, stops, blocked_calls, released_calls;
    bool fail_start;
    bool last_blocked;
    int order_log;
} fake_t;

static int clock_order;
static fake_t fakes[ND_SUP_MODULES_MAX];
static nd_sup_change_t changes[4096];
static int change_count;

static nd_err_t fake_start(void *ctx, char *err, size_t err_len)
{
    fake_t *f = ctx;
    f->starts++;
    f->order_log = ++clock_order;
    if (f->fail_start) {
        snprintf(err, err_len, "cannot connect");
        return ND_EIO;
    }
    return ND_OK;
}

static void fake_stop(void *ctx)
{
    fake_t *f = ctx;
    f->stops++;
    f->order_log = ++clock_order;
}

static void fake_blocked(void *ctx, bool blocked)
{
    fake_t *f = ctx;
    cr_assert_neq(f->last_blocked, blocked, "on_blocked called twice the same way");
    f->last_blocked = blocked;
    blocked ? f->blocked_calls++ : f->released_calls++;
}

static void on_change(void *ctx, const nd_sup_change_t *ch)
{
    (void)ctx;
    if (change_count < 4096)
        changes[change_count++] = *ch;
}

static void setup(void)
{
    memset(fakes, 0, sizeof fakes);
    change_count = 0;
    clock_order = 0;
}

TestSuite(supervisor, .init = setup);

static uint32_t add(nd_sup_t *sup, const char *name, int k, const char *const *deps)
{
    nd_sup_module_ops_t ops = {fake_start, fake_stop, fake_blocked, &fakes[k]};
    uint32_t index;
    cr_assert_eq(nd_sup_add(sup, name, &ops, deps, &index), ND_OK);
    return index;
}

/* store <- feed <- strategies, venue <- strategies */
static void make(nd_sup_t *sup)
{
    nd_sup_config_t cfg;
    nd_sup_config_default(&cfg);
    nd_sup_init(sup, &cfg, on_change, NULL);
    add(sup, "store", 0, NULL);
    add(sup, "feed", 1, (const char *const[]){"store", NULL});
    add(sup, "venue", 2, NULL);
    add(sup, "strategies", 3, (const char *const[]){"feed", "venue", NULL});
}

Test(supervisor, starts_in_order_stops_in_reverse)
{
    nd_sup_t sup;
    make(&sup);
    nd_sup_start(&sup, 0);
    cr_assert(nd_sup_healthy(&sup));
    for (int k = 1; k < 4; k++)
        cr_assert_lt(fakes[k - 1].order_log, fakes[k].order_log, "start order");
    nd_sup_stop(&sup, 10);
    for (int k = 1; k < 4; k++)
        cr_assert_gt(fakes[k - 1].order_log, fakes[k].order_log, "reverse stop order");
    cr_assert_eq(sup.modules[0].state, ND_SUP_DOWN);
}

Test(supervisor, failed_feed_blocks_strategies_restarts_with_backoff)
{
    nd_sup_t sup;
    make(&sup);
    nd_sup_start(&sup, 0);
    fakes[1].fail_start = true;
    nd_sup_report(&sup, 1, ND_SUP_HEALTH_FAIL, "stale 12 s", 1000 * MS);
    cr_assert_eq(sup.modules[1].state, ND_SUP_FAILED);
    cr_assert_eq(sup.modules[3].state, ND_SUP_BLOCKED, "the dependant is told");
    cr_assert_eq(fakes[3].blocked_calls, 1);
    cr_assert_str_eq(sup.modules[3].reason, "waiting for feed");
    nd_sup_tick(&sup, 1099 * MS);
    cr_assert_eq(fakes[1].starts, 1, "not before the first backoff (100 ms)");
    nd_sup_tick(&sup, 1100 * MS);
    cr_assert_eq(fakes[1].starts, 2, "first restart");
    nd_sup_tick(&sup, 1299 * MS);
    cr_assert_eq(fakes[1].starts, 2, "the second waits 200 ms");
    fakes[1].fail_start = false;
    nd_sup_tick(&sup, 1300 * MS);
    cr_assert_eq(sup.modules[1].state, ND_SUP_UP);
    cr_assert_eq(sup.modules[1].restarts, 2);
    cr_assert_eq(sup.modules[3].state, ND_SUP_UP, "released");
    cr_assert_eq(fakes[3].released_calls, 1);
    cr_assert_eq(fakes[3].stops, 0, "a blocked module is not restarted");
    cr_assert_eq(nd_sup_backoff_ns(&sup.cfg, 40), 30000 * MS, "capped");
}

Test(supervisor, bad_registrations_refused)
{
    nd_sup_t sup;
    nd_sup_config_t cfg;
    nd_sup_config_default(&cfg);
    nd_sup_init(&sup, &cfg, NULL, NULL);
    nd_sup_module_ops_t ops = {0};
    cr_assert_eq(nd_sup_add(&sup, "a", &ops, NULL, NULL), ND_OK);
    cr_assert_eq(nd_sup_add(&sup, "a", &ops, NULL, NULL), ND_EINVAL, "duplicate");
    cr_assert_eq(nd_sup_add(&sup, "", &ops, NULL, NULL), ND_EINVAL);
    cr_assert_eq(nd_sup_add(&sup, "b", &ops, (const char *const[]){"zz", NULL}, NULL),
                 ND_ENOTFOUND);
}

static bool usable(nd_sup_state_t s)
{
    return s == ND_SUP_UP || s == ND_SUP_DEGRADED;
}

Test(supervisor, property_random_failures_keep_the_rules)
{
    for (uint64_t seed = 1; seed <= 500; seed++) {
        setup();
        nd_rand_t rng;
        nd_rand_init(&rng, seed);
        nd_sup_t sup;
        nd_sup_config_t cfg;
        nd_sup_config_default(&cfg);
        nd_sup_init(&sup, &cfg, on_change, NULL);
        uint32_t n = 2 + (uint32_t)nd_rand_below(&rng, 8);
        for (uint32_t k = 0; k < n; k++) {
            char name[8];
            snprintf(name, sizeof name, "m%u", k);
            const char *deps[3] = {NULL, NULL, NULL};
            char d0[8], d1[8];
            if (k > 0 && nd_rand_below(&rng, 2)) {
                snprintf(d0, sizeof d0, "m%u", (uint32_t)nd_rand_below(&rng, k));
                deps[0] = d0;
                snprintf(d1, sizeof d1, "m%u", (uint32_t)nd_rand_below(&rng, k));
                if (strcmp(d0, d1) != 0 && nd_rand_below(&rng, 2))
                    deps[1] = d1;
            }
            fakes[k].fail_start = nd_rand_below(&rng, 5) == 0;
            add(&sup, name, (int)k, deps);
        }
        int64_t now = 0;
        nd_sup_start(&sup, now);
        for (int step = 0; step < 300; step++) {
            now += (int64_t)nd_rand_below(&rng, 500) * MS;
            uint32_t k = (uint32_t)nd_rand_below(&rng, n);
            fakes[k].fail_start = nd_rand_below(&rng, 4) == 0;
            int before = change_count;
            if (nd_rand_below(&rng, 2))
                nd_sup_report(&sup, k, (nd_sup_health_t)nd_rand_below(&rng, 3), "r", now);
            else
                nd_sup_tick(&sup, now);
            for (int c = before; c < change_count; c++)
                cr_assert_eq(changes[c].at_ns, now, "a change carries the time it happened");
            for (uint32_t j = 0; j < n; j++) {
                const nd_sup_module_t *m = &sup.modules[j];
                if (usable(m->state))
                    for (uint32_t d = 0; d < m->dep_count; d++)
                        cr_assert(usable(sup.modules[m->deps[d]].state),
                                  "seed %llu: %s usable without %s", (unsigned long long)seed,
                                  m->name, sup.modules[m->deps[d]].name);
                if (m->state == ND_SUP_BLOCKED)
                    cr_assert(fakes[j].last_blocked, "seed %llu: blocked, not told",
                              (unsigned long long)seed);
                if (m->state == ND_SUP_FAILED) {
                    cr_assert_gt(m->restart_at_ns, m->since_ns - 1);
                    cr_assert_leq(m->restart_at_ns - m->since_ns, cfg.backoff_max_ns);
                    cr_assert_geq(m->restart_at_ns - m->since_ns, cfg.backoff_min_ns);
                }
            }
        }
        nd_sup_stop(&sup, now + 1);
        for (uint32_t j = 0; j < n; j++)
            cr_assert_eq(sup.modules[j].state, ND_SUP_DOWN);
    }
}
