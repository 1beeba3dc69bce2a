/* test_ramp_sim.c: the ramp, the allocation and the rollback guard driven together the way the
 * launcher drives them, on the simulated clock: three strategies, one ramp and one guard a
 * strategy slot, a health check every 10 s and a daily rebalance, for 32 days in well under a
 * second. An hour of failed health on day 12 pauses every ramp (those hours are not counted);
 * a breaker trip of strategy 1 on day 18 rolls it back with its share cut while the others keep
 * climbing. Every tick checks each share against its schedule and each capital share (ramp x
 * weight) against its caps; every rebalance checks the weights. */
#include <criterion/criterion.h>

#include "noderr/allocation.h"
#include "noderr/clock.h"
#include "noderr/guard.h"
#include "noderr/rand.h"
#include "noderr/ramp.h"

#include <string.h>

#define DAY ND_NS_PER_DAY
#define SEC ND_NS_PER_SEC
#define T0 (1767225600LL * SEC)
#define N 3

typedef struct sim {
    nd_clock_sim_t clock;
    nd_ramp_t ramp[N];
    nd_guard_t guard[N];
    nd_allocation_t alloc;
    int64_t returns[N][64];
    uint32_t days;
    uint32_t version[N]; /* the slot's running version: a rollback steps it back */
    uint32_t events[5], rollbacks, rebalances;
    int64_t lost_ns;     /* paused time of the healthy slots */
} sim_t;

static void rebalance(sim_t *s, int64_t now, nd_rand_t *rng)
{
    nd_allocation_input_t in[N];
    for (int i = 0; i < N; i++) {
        s->returns[i][s->days] = (int64_t)(nd_rand_normal(rng) * 5000.0 * (i + 1));
        in[i] = (nd_allocation_input_t){s->returns[i], s->days + 1, true};
    }
    s->days++;
    nd_allocation_event_t ev;
    char err[128] = "";
    cr_assert_eq(nd_allocation_rebalance(&s->alloc, now, in, N, &ev, err, sizeof err), ND_OK,
                 "%s", err);
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        cr_assert_geq(ev.new_e6[i], s->alloc.cfg.min_e6);
        cr_assert_leq(ev.new_e6[i], s->alloc.cfg.max_e6);
        sum += ev.new_e6[i];
    }
    cr_assert_leq(sum, 1000000);
    cr_assert(ev.at_once || ev.turnover_e6 <= s->alloc.cfg.turnover_e6);
    s->rebalances++;
}

/* One health-check period: observe, decide, act, tick the ramps. health_ok is the launcher's
 * health check (feeds, venue, store...): it holds every ramp; each slot's guard decides for
 * its own version. */
static void step(sim_t *s, int64_t now, bool health_ok, int breaker_slot)
{
    for (int i = 0; i < N; i++) {
        if (i == breaker_slot)
            nd_guard_breaker(&s->guard[i], now, "drawdown");
        nd_guard_decision_t d;
        nd_guard_evaluate(&s->guard[i], now, &d);
        if (d.action == ND_GUARD_ROLLBACK) {
            nd_ramp_event_t cut;
            cr_assert_eq(nd_ramp_cut(&s->ramp[i], now, d.cut_e6, d.reason, &cut), ND_OK);
            s->events[cut.kind]++;
            cr_assert(s->version[i] > 0, "slot %d has no previous version", i);
            s->version[i]--;
            s->rollbacks++;
            nd_guard_reset(&s->guard[i], now + 1); /* the previous version runs from now */
        }
        bool hold = health_ok && d.action == ND_GUARD_NONE;
        nd_ramp_event_t ev[ND_RAMP_TICK_EVENTS_MAX];
        uint32_t n = 0;
        cr_assert_eq(nd_ramp_tick(&s->ramp[i], now, hold, hold ? NULL : health_ok ? d.reason
                                                                          : "health check failed",
                                  ev, &n),
                     ND_OK);
        for (uint32_t k = 0; k < n; k++)
            s->events[ev[k].kind]++;
        /* The capital share this slot may use: ramp x weight, exact. */
        int64_t share = s->ramp[i].share_e6;
        int64_t capital = s->alloc.allocated ? share * s->alloc.weight_e6[i] / 1000000 : 0;
        cr_assert_leq(share, nd_ramp_schedule_share(&s->ramp[i].cfg, now - T0));
        cr_assert_leq(capital, share);
    }
}

Test(ramp_sim, thirty_days_with_a_health_pause_and_a_breaker_rollback)
{
    static sim_t s;
    memset(&s, 0, sizeof s);
    nd_clock_sim_init(&s.clock, T0);
    nd_ramp_config_t rc;
    nd_ramp_config_default(&rc);
    rc.resume_after_ns = 0;
    nd_guard_config_t gc;
    nd_guard_config_default(&gc);
    nd_allocation_config_t ac;
    nd_allocation_config_default(&ac);
    ac.min_e6 = 100000;
    ac.max_e6 = 600000;
    for (int i = 0; i < N; i++) {
        nd_ramp_init(&s.ramp[i], &rc);
        nd_guard_init(&s.guard[i], &gc, T0);
        s.version[i] = 1;
    }
    nd_allocation_init(&s.alloc, &ac);
    nd_rand_t rng;
    nd_rand_init(&rng, 42);
    int64_t period = 10 * SEC;
    for (int64_t now = T0; now < T0 + 32 * DAY; now += period) {
        cr_assert_eq(nd_clock_sim_set(&s.clock, now), ND_OK);
        int64_t t = nd_clock_now_ns(&s.clock.clock);
        if (nd_allocation_due(&s.alloc, t))
            rebalance(&s, t, &rng);
        bool health_ok = !(t >= T0 + 12 * DAY && t < T0 + 12 * DAY + 3600 * SEC);
        int breaker = t == T0 + 18 * DAY ? 1 : -1;
        step(&s, t, health_ok, breaker);
        int64_t d = (t - T0) / DAY;
        if (t == T0 + d * DAY) { /* each day: the shares against the schedule */
            /* Not counted: from the last healthy tick before 12 d to the resume at 12 d 1 h. */
            int64_t lost = d > 12 ? 3600 * SEC + period : d == 12 ? period : 0;
            for (int i = 0; i < N; i++) {
                if (i == 1 && d >= 18)
                    continue;
                cr_assert_eq(s.ramp[i].progress_ns, t - T0 - lost, "slot %d day %lld", i,
                             (long long)d);
                cr_assert_eq(s.ramp[i].share_e6, nd_ramp_schedule_share(&rc, t - T0 - lost));
            }
        }
        if (t == T0 + 18 * DAY) {
            /* Day 18 less the lost hour is day 17's share, 588333; half is 294166, and the
             * latest step at or below it is day 7's 271666. */
            cr_assert_eq(s.ramp[1].share_e6, 271666);
            cr_assert_eq(s.ramp[1].progress_ns, 7 * DAY);
            cr_assert_eq(s.version[1], 0);
            cr_assert_eq(s.ramp[0].share_e6, 588333);
        }
    }
    cr_assert_eq(s.rollbacks, 1);
    cr_assert_eq(s.events[ND_RAMP_EV_START], N);
    /* One each for the failed hour, and slot 1 for its rollback's tick. */
    cr_assert_eq(s.events[ND_RAMP_EV_PAUSE], N + 1);
    cr_assert_eq(s.events[ND_RAMP_EV_RESUME], N + 1);
    cr_assert_eq(s.events[ND_RAMP_EV_CUT], 1);
    cr_assert_eq(s.rebalances, 32);
    /* The healthy slots reached 100% an hour and a tick after day 30; slot 1 climbs again
     * from day 7 from the tick after its rollback: 7 d + 14 d - 20 s is day 20. */
    cr_assert_eq(s.ramp[0].share_e6, 1000000);
    cr_assert_eq(s.ramp[2].share_e6, 1000000);
    cr_assert_eq(s.ramp[1].share_e6, 50000 + 950000 * 20 / 30);
}
