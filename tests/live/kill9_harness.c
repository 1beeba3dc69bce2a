/* kill9_harness.c: the kill -9 test's flow for any venue (kill9_harness.h): the session opened
 * from the journal, the child's seeded flow killed at the seeded point, exchange-sim on a thread,
 * the simulated power loss, the restart and its two reconciliations, the checks against the
 * exchange's own state, the summary. The venue's part is its k9_venue_t. */
#include "kill9_harness.h"

#include "noderr/alloc.h"
#include "noderr/rand.h"
#include "noderr/venue.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define TAG "k9"
#define ACTIONS 14

static const k9_venue_t *V; /* the venue under test */

/* The journal's mode, for the child too (it inherits the environment). */
static nd_journal_sync_t sync_mode(void)
{
    nd_journal_sync_t mode = ND_JOURNAL_SYNC_BEFORE_SEND;
    const char *v = getenv("ND_KILL9_SYNC");
    if (v && !nd_journal_sync_parse(v, &mode)) {
        fprintf(stderr, "%s: ND_KILL9_SYNC=%s: not before_send or batched\n", V->name, v);
        exit(2);
    }
    return mode;
}

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    k9_session_t *s = ctx;
    if (rec->kind == ND_JOURNAL_RUN)
        s->runs = rec->run;
    if (nd_recon_local_fold(s->local, rec, &V->assets, 1) != ND_OK) {
        fprintf(stderr, "%s: journal record %lld does not fold\n", V->name, (long long)rec->seq);
        exit(4);
    }
}

/* Opens the session from the journal: REST client, replay, a RUN record, the adapter. */
static int session_open(k9_session_t *s, int port, const char *journal_path,
                        void (*hook_cb)(void *, const char *))
{
    char err[256] = "";
    memset(s, 0, sizeof *s);
    snprintf(s->marks_path, sizeof s->marks_path, "%s.sending", journal_path);
    s->clock = nd_clock_os();
    s->local = nd_calloc(1, sizeof *s->local);
    if (!s->local || !V->connect(s, port, err, sizeof err) ||
        nd_journal_open(journal_path, fold, s, &s->journal, err, sizeof err) != ND_OK) {
        fprintf(stderr, "%s: session start: %s\n", V->name, err);
        return -1;
    }
    nd_journal_rec_t run = {.kind = ND_JOURNAL_RUN, .run = s->runs + 1,
                            .ts_ns = nd_clock_now_ns(s->clock)};
    snprintf(run.tag, sizeof run.tag, TAG);
    if (nd_journal_append(s->journal, &run, err, sizeof err) != ND_OK ||
        nd_journal_set_sync(s->journal, sync_mode(), err, sizeof err) != ND_OK) {
        fprintf(stderr, "%s: journal: %s\n", V->name, err);
        return -1;
    }
    s->runs = run.run;
    if (!V->exec_create(s, hook_cb, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", V->name, err);
        return -1;
    }
    return 0;
}

static void session_close(k9_session_t *s)
{
    V->exec_destroy(s);
    nd_journal_close(s->journal);
    V->rest_destroy(s);
    nd_free(s->local);
}

/* ---- The child: a seeded flow, killed at the seeded point -------------------------------- */

static atomic_int hooks_seen;
static int kill_at;

static void kill_hook(void *ctx, const char *point)
{
    (void)ctx;
    (void)point;
    if (atomic_fetch_add(&hooks_seen, 1) + 1 == kill_at)
        raise(SIGKILL);
}

/* Polls the adapter for ms milliseconds, checking each update against the orders sent. */
static void pump(k9_session_t *s, nd_exec_venue_t *v, nd_order_t *orders, int count, int ms)
{
    int64_t until = nd_clock_now_ns(s->clock) + ms * ND_NS_PER_MS;
    while (nd_clock_now_ns(s->clock) < until) {
        nd_order_update_t up[64];
        size_t n = 0;
        v->ops->poll(v->self, nd_clock_now_ns(s->clock), up, 64, &n);
        for (size_t i = 0; i < n; i++) {
            if (up[i].client_id == 0 || (int)up[i].client_id > count) {
                fprintf(stderr, "%s child: update for unknown order %llu\n", V->name,
                        (unsigned long long)up[i].client_id);
                exit(3);
            }
            nd_order_t *o = &orders[up[i].client_id - 1];
            nd_err_t rc = ND_OK;
            if (up[i].kind == ND_UPDATE_ACCEPTED)
                rc = nd_order_transition(o, ND_ORDER_ACCEPTED, 0);
            else if (up[i].kind == ND_UPDATE_REJECTED)
                rc = nd_order_reject(o, up[i].reason, 0);
            else if (up[i].kind == ND_UPDATE_FILL)
                rc = nd_order_apply_fill(o, &up[i].fill);
            else if (up[i].kind == ND_UPDATE_CANCELLED || up[i].kind == ND_UPDATE_EXPIRED)
                rc = nd_order_transition(o, ND_ORDER_CANCELLED, 0);
            if (rc != ND_OK) {
                fprintf(stderr, "%s child: update kind %d refused for order %llu (%s)\n",
                        V->name, (int)up[i].kind, (unsigned long long)o->client_id,
                        nd_err_name(rc));
                exit(3);
            }
        }
        usleep(500);
    }
}

/* What the start made durable (recover ends with a sync): a simulated power loss keeps it. */
static int write_floor(const char *journal_path)
{
    struct stat st;
    char floor_path[160];
    snprintf(floor_path, sizeof floor_path, "%s.floor", journal_path);
    FILE *f = fopen(floor_path, "w");
    if (!f || stat(journal_path, &st) != 0 || fprintf(f, "%lld\n", (long long)st.st_size) < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "%s child: cannot write %s\n", V->name, floor_path);
        return -1;
    }
    return 0;
}

/* The seeded flow: ACTIONS times a cancel of a random order (working or not), or a new order:
 * a limit at or away from the touch, a market order, or a limit through the touch (takes). */
static int flow(k9_session_t *s, nd_exec_venue_t *v, void *md, int port, uint64_t seed)
{
    nd_order_t orders[ACTIONS];
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    int sent = 0;
    for (int a = 0; a < ACTIONS; a++) {
        int64_t bid = 0, ask = 0;
        if (V->prices(md, port, &bid, &ask) != 0) {
            fprintf(stderr, "%s child: %s\n", V->name, V->no_price);
            return 2;
        }
        uint64_t what = nd_rand_below(&rng, 10);
        if (what < 3 && sent > 0) {
            (void)v->ops->cancel(v->self, orders[nd_rand_below(&rng, (uint64_t)sent)].client_id, 0);
        } else {
            nd_side_t side = nd_rand_below(&rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
            int64_t away = (int64_t)(what == 9 && V->take_ticks ? V->take_ticks
                                                                : nd_rand_below(&rng, 5)) *
                           1000000 * (what == 9 ? -1 : 1);
            nd_order_intent_t in = {.instrument_id = 0, .side = side,
                                    .type = what == 3 ? ND_ORDER_MARKET : ND_ORDER_LIMIT,
                                    .px = side == ND_SIDE_BUY ? bid - away : ask + away,
                                    .qty = (int64_t)(20 + nd_rand_below(&rng, 80)) * 1000};
            nd_order_init(&orders[sent], (uint64_t)sent + 1, &in, 0, 0);
            if (v->ops->submit(v->self, &orders[sent], 0) == ND_OK)
                sent++;
        }
        pump(s, v, orders, sent, 3);
    }
    pump(s, v, orders, sent, 30);
    return 0;
}

static int child(int port, const char *journal_path, uint64_t seed)
{
    k9_session_t s;
    if (session_open(&s, port, journal_path, kill_hook) != 0)
        return 2;
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    nd_recon_diff_t diffs[16];
    size_t n;
    bool halt;
    char err[256] = "";
    if (V->recover(&s, &policy, false, diffs, 16, &n, &halt, err, sizeof err) != ND_OK ||
        V->start(&s) != ND_OK) {
        fprintf(stderr, "%s child: %s\n", V->name, err);
        return 2;
    }
    if (write_floor(journal_path) != 0)
        return 2;
    nd_exec_venue_t v = V->venue(&s);
    /* Market data on a client of its own: once the adapter runs, only its worker sends with
     * the order client. */
    void *md = V->md_open(&s, port);
    if (!md)
        return 2;
    int rc = flow(&s, &v, md, port, seed);
    if (rc != 0)
        return rc;
    V->md_close(md);
    session_close(&s);
    return 0;
}

/* ---- The parent: exchange, child, restart, checks ---------------------------------------- */

typedef struct exchange {
    nd_xsim_t *x;
    nd_xsim_api_t *api;
    nd_xsim_server_t *server;
    pthread_t thread;
    int port;
} exchange_t;

static void *serve(void *arg)
{
    nd_xsim_server_run(arg);
    return NULL;
}

static int exchange_open(exchange_t *e, uint64_t seed)
{
    nd_xsim_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[256] = "";
    if (nd_instrument_init(&cfg.inst, V->inst, "xsim") != ND_OK)
        return -1;
    cfg.quote_balance = (int64_t)10000 * 100000000;
    cfg.base_balance = 100000000;
    cfg.fee_bps = 10;
    cfg.fee_in_quote = V->fee_in_quote;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.seed = seed;
    cfg.synth.step_ns = 2 * ND_NS_PER_MS;
    cfg.synth.events = 1000000000;
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_api_config_t acfg;
    memset(&acfg, 0, sizeof acfg);
    V->api_config(&acfg);
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 2 * ND_NS_PER_MS,
                                    .clock = clock};
    if (nd_xsim_create(&cfg, nd_clock_now_ns(clock), &e->x, err, sizeof err) != ND_OK ||
        nd_xsim_api_create(e->x, &acfg, &e->api) != ND_OK ||
        nd_xsim_server_open(e->api, e->x, &scfg, &e->server, &e->port, err, sizeof err) != ND_OK ||
        pthread_create(&e->thread, NULL, serve, e->server) != 0) {
        fprintf(stderr, "%s: exchange-sim: %s\n", V->name, err);
        return -1;
    }
    return 0;
}

static void exchange_stop(exchange_t *e)
{
    nd_xsim_server_stop(e->server);
    pthread_join(e->thread, NULL);
}

static void exchange_close(exchange_t *e)
{
    nd_xsim_server_close(e->server);
    nd_xsim_api_destroy(e->api);
    nd_xsim_destroy(e->x);
}

static int run_child(const char *self, int port, const char *journal_path, const char *child_arg,
                     uint64_t seed, int kill_point, bool *killed)
{
    char port_s[16], seed_s[32], kill_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    snprintf(kill_s, sizeof kill_s, "%d", kill_point);
    char *argv[] = {(char *)self, "--child", port_s, (char *)journal_path, seed_s, kill_s,
                    child_arg[0] ? (char *)child_arg : NULL, NULL};
    pid_t pid;
    int status;
    if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (*killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        return 0;
    fprintf(stderr, "%s: child failed (status 0x%x)\n", V->name, status);
    return -1;
}

nd_recon_status_t k9_xsim_status(const nd_xsim_user_order_t *vo)
{
    switch (vo->status) {
    case ND_XSIM_NEW:
    case ND_XSIM_PARTIALLY_FILLED: return ND_RECON_OPEN;
    case ND_XSIM_FILLED: return ND_RECON_FILLED;
    case ND_XSIM_CANCELED: return ND_RECON_CANCELLED;
    case ND_XSIM_EXPIRED: return ND_RECON_EXPIRED;
    default: return ND_RECON_REJECTED;
    }
}

#define FAIL(...) do { fprintf(stderr, "%s seed %llu: ", V->name, (unsigned long long)seed); \
                       fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return -1; } while (0)

/* Each venue order against the journal; *foreign counts the orders not in the journal that may
 * be there, *rejected those the venue does not list. */
static int check_orders(const nd_xsim_t *x, const nd_recon_local_t *l, uint64_t seed,
                        bool power_lost, int *lost, int64_t *foreign, int64_t *rejected)
{
    for (int64_t id = 1; id <= nd_xsim_order_count(x); id++) {
        const nd_xsim_user_order_t *vo = nd_xsim_order(x, id);
        if (V->skip_rejected && vo->status == ND_XSIM_REJECTED) {
            (*rejected)++;
            continue;
        }
        if (strncmp(vo->client_id, "web_", 4) == 0) {
            if (vo->status != ND_XSIM_NEW)
                FAIL("the foreign order %s was touched", vo->client_id);
            (*foreign)++;
            continue;
        }
        for (int64_t k = 1; k < id; k++)
            if (strcmp(nd_xsim_order(x, k)->client_id, vo->client_id) == 0)
                FAIL("client order id %s twice at the venue", vo->client_id);
        const nd_recon_order_t *lo = nd_recon_find((nd_recon_local_t *)l, vo->client_id);
        /* After a power loss an intent can be gone with the order at the venue: ours by its id,
         * and no longer working (the restart cancelled it); its fills are checked below. */
        if (!lo && power_lost && nd_clid_parse(TAG, vo->client_id, NULL, NULL, NULL) == ND_OK &&
            V->venue_status(vo) != ND_RECON_OPEN) {
            (*lost)++;
            (*foreign)++;
            continue;
        }
        if (!lo)
            FAIL("venue order %s is no journaled intent", vo->client_id);
        if (lo->venue_id != V->order_key(vo->id) || lo->status != V->venue_status(vo) ||
            lo->filled_qty != vo->executed_qty)
            FAIL("%s: journal %s filled %lld id %lld, venue %s filled %lld id %lld", vo->client_id,
                 nd_recon_status_name(lo->status), (long long)lo->filled_qty,
                 (long long)lo->venue_id, nd_recon_status_name(V->venue_status(vo)),
                 (long long)vo->executed_qty, (long long)V->order_key(vo->id));
    }
    return 0;
}

/* The restarted session's view against the stopped exchange's own state. */
static int check(const nd_xsim_t *x, const nd_recon_local_t *l, uint64_t seed, bool power_lost,
                 int *lost)
{
    int64_t foreign = 0, rejected = 0;
    for (uint32_t i = 0; i < l->order_count; i++)
        if (!nd_recon_status_done(l->orders[i].status))
            FAIL("order %s left %s", l->orders[i].clid, nd_recon_status_name(l->orders[i].status));
    uint32_t reached = 0;
    for (uint32_t i = 0; i < l->order_count; i++)
        reached += l->orders[i].venue_id != 0;
    if (check_orders(x, l, seed, power_lost, lost, &foreign, &rejected) != 0)
        return -1;
    if ((int64_t)reached + foreign + rejected != nd_xsim_order_count(x))
        FAIL("%u orders reached the venue in the journal, the venue has %lld", reached,
             (long long)(nd_xsim_order_count(x) - rejected));
    if (l->booked_count != nd_xsim_trade_count(x))
        FAIL("%u %ss booked, the venue has %zu", l->booked_count, V->trade_noun,
             nd_xsim_trade_count(x));
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++)
        if (!nd_recon_booked(l, V->trade_key(nd_xsim_trade_at(x, i)->id),
                             nd_xsim_trade_at(x, i)->is_buyer ? ND_SIDE_BUY : ND_SIDE_SELL))
            FAIL("venue %s %lld not booked", V->trade_noun, (long long)nd_xsim_trade_at(x, i)->id);
    int64_t bf, bl, qf, ql, base = 0, quote = 0;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    for (uint32_t i = 0; i < l->balance_count; i++) {
        if (strcmp(l->balances[i].asset, V->assets.base) == 0)
            base = l->balances[i].amount;
        if (strcmp(l->balances[i].asset, V->assets.quote) == 0)
            quote = l->balances[i].amount;
    }
    if (base != bf + bl || quote != qf + ql)
        FAIL("balances %s %lld %s %lld, venue %s %lld %s %lld", V->assets.base, (long long)base,
             V->assets.quote, (long long)quote, V->assets.base, (long long)(bf + bl),
             V->assets.quote, (long long)(qf + ql));
    return 0;
}

typedef struct totals {
    int killed, orders, trades, restarts;
    int power_losses, records_cut, intents_lost; /* --power-loss */
    int64_t restart_ns_sum, restart_ns_max, restart_ns_last; /* journal replay to reconciled */
    int kinds[ND_RECON_BALANCE + 1];
} totals_t;

static void print_halt(const exchange_t *e, const k9_session_t *s, const nd_recon_diff_t *diffs,
                       size_t n, uint64_t seed)
{
    fprintf(stderr, "%s seed %llu: a balance difference halted\n", V->name,
            (unsigned long long)seed);
    for (size_t i = 0; i < n && i < 256; i++)
        fprintf(stderr, "  %s %s %s trade %lld qty %lld local %lld venue %lld\n",
                nd_recon_kind_name(diffs[i].kind), diffs[i].order.clid, diffs[i].venue.asset,
                (long long)diffs[i].trade.trade_id, (long long)diffs[i].trade.qty,
                (long long)diffs[i].local.amount, (long long)diffs[i].venue.amount);
    char quote[48] = "", id[48] = "";
    for (size_t i = 0; getenv("KILL9_DUMP") && i < nd_xsim_trade_count(e->x); i++) {
        const nd_xsim_trade_t *vt = nd_xsim_trade_at(e->x, i);
        if (V->dump_ids)
            snprintf(quote, sizeof quote, " quote %lld", (long long)vt->quote_qty);
        fprintf(stderr, "  venue %s %lld order %lld px %lld qty %lld%s comm %lld buyer %d\n",
                V->trade_noun, (long long)vt->id, (long long)vt->order_id, (long long)vt->px,
                (long long)vt->qty, quote, (long long)vt->commission, vt->is_buyer);
    }
    for (uint32_t i = 0; getenv("KILL9_DUMP") && i < s->local->order_count; i++) {
        const nd_recon_order_t *o = &s->local->orders[i];
        if (V->dump_ids)
            snprintf(id, sizeof id, " id %lld", (long long)o->venue_id);
        fprintf(stderr, "  local %s %s side %d qty %lld filled %lld%s\n", o->clid,
                nd_recon_status_name(o->status), o->side, (long long)o->qty,
                (long long)o->filled_qty, id);
    }
}

/* The first reconciliation, timed (journal replay to reconciled): 0, or -1 with it printed. */
static int first_recovery(const exchange_t *e, k9_session_t *s, const nd_recon_policy_t *policy,
                          nd_recon_diff_t *diffs, uint64_t seed, int64_t t0, totals_t *t)
{
    size_t n = 0;
    bool halt = false;
    char err[256] = "";
    int rc = 0;
    if (V->recover(s, policy, true, diffs, 256, &n, &halt, err, sizeof err) != ND_OK) {
        fprintf(stderr, "%s seed %llu: recover: %s\n", V->name, (unsigned long long)seed, err);
        rc = -1;
    }
    int64_t took = nd_clock_mono_ns(nd_clock_os()) - t0;
    t->restarts++;
    t->restart_ns_last = took;
    t->restart_ns_sum += took;
    t->restart_ns_max = took > t->restart_ns_max ? took : t->restart_ns_max;
    for (size_t i = 0; i < n && i < 256; i++)
        t->kinds[diffs[i].kind]++;
    if (rc == 0 && halt) {
        print_halt(e, s, diffs, n, seed);
        rc = -1;
    }
    return rc;
}

/* Restart from the journal: reconcile cancelling what is open, reconcile again (nothing but
 * the foreign order may be left), stop the exchange, check. */
static int restart(exchange_t *e, const char *journal_path, uint64_t seed, bool power_lost,
                   totals_t *t)
{
    k9_session_t s;
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    if (session_open(&s, e->port, journal_path, NULL) != 0)
        return -1;
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    if (seed % 2) /* odd seeds resend what never reached the venue, with the same id */
        policy.never_sent = ND_RESOLVE_RESEND;
    nd_recon_diff_t diffs[256];
    bool halt = false;
    char err[256] = "";
    int rc = first_recovery(e, &s, &policy, diffs, seed, t0, t);
    size_t again = 0, left = 0;
    if (rc == 0 && V->recover(&s, &policy, true, diffs, 256, &again, &halt, err, sizeof err) !=
                       ND_OK)
        rc = -1;
    for (size_t i = 0; i < again && i < 256; i++)
        left += diffs[i].kind != ND_RECON_FOREIGN;
    if (rc != 0 || left != 0) {
        fprintf(stderr, "%s seed %llu: the second reconciliation found %zu (%s%s%s) %s\n", V->name,
                (unsigned long long)seed, again, again ? nd_recon_kind_name(diffs[0].kind) : "",
                V->second_clid ? " " : "", V->second_clid && again ? diffs[0].order.clid : "",
                err);
        rc = -1;
    }
    exchange_stop(e);
    if (rc == 0)
        rc = check(e->x, s.local, seed, power_lost, &t->intents_lost);
    t->orders += (int)s.local->order_count;
    t->trades += (int)s.local->booked_count;
    session_close(&s);
    return rc;
}

static void unlink_marks(const char *journal_path)
{
    char path[160];
    snprintf(path, sizeof path, "%s.sending", journal_path);
    unlink(path);
    snprintf(path, sizeof path, "%s.floor", journal_path);
    unlink(path);
}

/* A simulated power loss after the kill: the journal cut at a seeded record boundary at or past
 * the child's durable start (the torn rest of a record cut too), the send marks gone (they are
 * trusted on the same boot only). Returns the records cut, -1 on an error. */
static int power_loss(const char *journal_path, nd_rand_t *rng)
{
    char path[160], marks[160];
    snprintf(path, sizeof path, "%s.floor", journal_path);
    snprintf(marks, sizeof marks, "%s.sending", journal_path);
    FILE *f = fopen(path, "r");
    long long floor = -1;
    struct stat st;
    if (!f) { /* killed before its start was done: nothing past it to lose */
        unlink(marks);
        return 0;
    }
    if (fscanf(f, "%lld", &floor) != 1 || floor < 0 || stat(journal_path, &st) != 0) {
        fclose(f);
        return -1;
    }
    fclose(f);
    long long records = (st.st_size - floor) / 320; /* whole records after the floor */
    long long keep = (long long)nd_rand_below(rng, (uint64_t)records + 1);
    if (truncate(journal_path, floor + keep * 320) != 0)
        return -1;
    unlink(marks);
    return (int)(records - keep);
}

static void print_totals(const totals_t *t, uint64_t seeds, bool power)
{
    printf("%s: journal.sync %s, %llu seeds, %d killed mid-flow, %d orders, %d %ss; "
           "differences resolved:", V->name, nd_journal_sync_name(sync_mode()),
           (unsigned long long)seeds, t->killed, t->orders, t->trades, V->trade_noun);
    for (int k = ND_RECON_NEVER_SENT; k <= ND_RECON_BALANCE; k++)
        printf(" %s=%d", nd_recon_kind_name((nd_recon_kind_t)k), t->kinds[k]);
    if (power)
        printf("\n%s: %d power losses simulated: %d journal records cut, %d intents lost with "
               "their orders at the venue (recognised as ours)", V->name, t->power_losses,
               t->records_cut, t->intents_lost);
    printf("\n%s: restart to reconciled (%s): mean %.1f ms, max %.1f ms\n", V->name,
           V->restart_parts, t->restarts ? (double)t->restart_ns_sum / t->restarts / 1e6 : 0.0,
           (double)t->restart_ns_max / 1e6);
}

typedef struct run {
    char self[4096];      /* this program, for the children */
    char child_arg[128];  /* the venue's file for the children, or "" */
    uint64_t kill_max;
    bool power, verbose;
} run_t;

/* One seed: exchange, child killed at the seeded point, power loss, foreign order, restart. */
static int one_seed(const run_t *r, uint64_t seed, totals_t *t)
{
    char journal_path[128];
    snprintf(journal_path, sizeof journal_path, "/tmp/%s-%d-%llu.journal", V->journal_stem,
             (int)getpid(), (unsigned long long)seed);
    unlink(journal_path);
    unlink_marks(journal_path);
    nd_rand_t rng;
    nd_rand_init(&rng, seed * 7919);
    int kill_point = 1 + (int)nd_rand_below(&rng, r->kill_max);
    exchange_t e;
    bool killed = false;
    if (exchange_open(&e, seed) != 0)
        return 2;
    int rc = run_child(r->self, e.port, journal_path, r->child_arg, seed, kill_point, &killed);
    bool power_lost = r->power && seed % 3 == 2;
    int cut = rc == 0 && power_lost ? power_loss(journal_path, &rng) : 0;
    if (cut < 0) {
        fprintf(stderr, "%s seed %llu: cannot simulate the power loss\n", V->name,
                (unsigned long long)seed);
        rc = -1;
    }
    t->power_losses += power_lost;
    t->records_cut += cut > 0 ? cut : 0;
    if (rc == 0 && seed % 4 == 0)
        rc = V->place_foreign(e.port, seed);
    if (rc == 0)
        rc = restart(&e, journal_path, seed, power_lost, t);
    else
        exchange_stop(&e);
    exchange_close(&e);
    unlink(journal_path);
    unlink_marks(journal_path);
    t->killed += killed;
    if (r->verbose)
        fprintf(stderr, "%s seed %llu kill_point %d killed %d restart %.1f ms: %s\n", V->name,
                (unsigned long long)seed, kill_point, killed, (double)t->restart_ns_last / 1e6,
                rc == 0 ? "ok" : "FAILED");
    if (rc != 0)
        fprintf(stderr, "%s: reproduce with --first %llu --seeds 1 --verbose\n", V->name,
                (unsigned long long)seed);
    return rc == 0 ? 0 : 1;
}

int k9_main(const k9_venue_t *venue, int argc, char **argv)
{
    V = venue;
    if (argc == (V->child_prepare ? 7 : 6) && strcmp(argv[1], "--child") == 0) {
        kill_at = atoi(argv[5]);
        if (V->child_prepare && V->child_prepare(argv[6]) != 0)
            return 2;
        return child(atoi(argv[2]), argv[3], strtoull(argv[4], NULL, 10));
    }
    static run_t r;
    uint64_t seeds = 200, first = 1;
    r.kill_max = V->kill_max;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            seeds = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
            first = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--kill-max") == 0 && i + 1 < argc)
            r.kill_max = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--verbose") == 0)
            r.verbose = true;
        else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc)
            setenv("ND_KILL9_SYNC", argv[++i], 1);
        else if (strcmp(argv[i], "--power-loss") == 0)
            r.power = true;
    }
    if (r.power && sync_mode() != ND_JOURNAL_SYNC_BATCHED) {
        fprintf(stderr, "%s: --power-loss needs --sync batched (before_send loses nothing)\n",
                V->name);
        return 2;
    }
    ssize_t len = readlink("/proc/self/exe", r.self, sizeof r.self - 1);
    if (len <= 0)
        return 2;
    r.self[len] = '\0';
    if (V->prepare && V->prepare(r.child_arg, sizeof r.child_arg) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    totals_t t;
    memset(&t, 0, sizeof t);
    int rc = 0;
    for (uint64_t seed = first; rc == 0 && seed < first + seeds; seed++)
        rc = one_seed(&r, seed, &t);
    if (r.child_arg[0])
        unlink(r.child_arg);
    if (rc == 0)
        print_totals(&t, seeds, r.power);
    return rc;
}
