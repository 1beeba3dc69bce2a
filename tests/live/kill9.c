/* kill9.c: the kill -9 test of the Binance live adapter, its order journal and reconciliation
 * against exchange-sim (issue 12, item 3).
 *
 * For each seed: a fresh exchange-sim (its matching engine, Binance REST and HTTP server on
 * 127.0.0.1, on a thread of this process); a child process (this program with --child) runs a
 * seeded order flow (limit orders near and away from the market, market orders, cancels)
 * through the adapter and the journal, and SIGKILLs itself at the seeded kill point (the n-th
 * time an intent is journaled, made durable before sending, or answered); this process then
 * restarts from the journal as a session would, reconciles (cancelling what is left open;
 * an intent that never reached the venue is dropped in even seeds and resent in odd ones),
 * reconciles again, stops the exchange and checks, against the exchange's own state:
 *  - no order lost: every journaled intent is resolved (none left sent-and-unknown or open);
 *  - none duplicated: client order ids are distinct at the venue, each venue order is a
 *    journaled intent, and a dropped intent never reached the venue;
 *  - positions equal: per order, the fills booked equal the venue's executed quantity; the
 *    trades booked are the venue's trades; base and quote balances equal the venue's;
 *  - the second reconciliation finds nothing.
 * Usage: kill9 [--seeds N] [--first S] [--kill-max K] [--sync MODE] [--power-loss]
 * [--verbose]: kill points are drawn from 1..K (default 60; a large K lets flows finish, for the
 * thread sanitizer). --sync before_send|batched is the journal's mode (journal.sync, default
 * before_send). --power-loss (batched only) also simulates a power loss on every third seed
 * (seed % 3 == 2): after the kill the journal is cut at a seeded record boundary past what the
 * child's start made durable (its unsynced records lost, as the page cache would be) and the
 * send marks are dropped (another boot); those seeds check that every venue order is a journaled
 * intent or one of ours the restart recognised by its client order id (cancelled if open), and
 * the rest as above. Exit 0 when every seed passes; on a failure
 * it prints "reproduce with --first S --seeds 1". ND_KILL9_RECV_WINDOW_MS (environment, default
 * 250) sets the recvWindow of both runs: at Binance's default 5000 the restart times show what
 * the wait for unanswered intents costs. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/rand.h"
#include "noderr/reconcile.h"
#include "noderr/venue.h"
#include "noderr/xsim.h"

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

#define KEY "kill9-key"
#define SECRET "kill9-secret"
#define TAG "k9"
#define RECV_WINDOW_MS_DEFAULT 250
static int64_t recv_window_ms(void)
{
    const char *v = getenv("ND_KILL9_RECV_WINDOW_MS");
    return v && atoll(v) > 0 ? atoll(v) : RECV_WINDOW_MS_DEFAULT;
}
#define RECV_WINDOW_MS recv_window_ms()
/* The journal's mode, for the child too (it inherits the environment). */
static nd_journal_sync_t sync_mode(void)
{
    nd_journal_sync_t mode = ND_JOURNAL_SYNC_BEFORE_SEND;
    const char *v = getenv("ND_KILL9_SYNC");
    if (v && !nd_journal_sync_parse(v, &mode)) {
        fprintf(stderr, "kill9: ND_KILL9_SYNC=%s: not before_send or batched\n", v);
        exit(2);
    }
    return mode;
}
#define ACTIONS 14

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USDT"};

typedef struct session {
    nd_clock_t *clock;
    nd_binance_rest_t *rest;
    nd_journal_t *journal;
    nd_recon_local_t *local;
    nd_binance_exec_t *exec;
    uint32_t runs;
    char marks_path[160];     /* the adapter's send marks: the journal's path + ".sending" */
} session_t;

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    session_t *s = ctx;
    if (rec->kind == ND_JOURNAL_RUN)
        s->runs = rec->run;
    if (nd_recon_local_fold(s->local, rec, &assets, 1) != ND_OK) {
        fprintf(stderr, "kill9: journal record %lld does not fold\n", (long long)rec->seq);
        exit(4);
    }
}

/* Opens the session from the journal: REST client, replay, a RUN record, the adapter. */
static int session_open(session_t *s, int port, const char *journal_path,
                        void (*hook_cb)(void *, const char *))
{
    char url[64], err[256] = "";
    memset(s, 0, sizeof *s);
    snprintf(s->marks_path, sizeof s->marks_path, "%s.sending", journal_path);
    s->clock = nd_clock_os();
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.api_key, sizeof sec.api_key, KEY);
    snprintf(sec.api_secret, sizeof sec.api_secret, SECRET);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_binance_rest_config_t rcfg = {.base_url = url, .secret = &sec,
                                     .recv_window_ms = RECV_WINDOW_MS};
    s->local = nd_calloc(1, sizeof *s->local);
    if (!s->local || nd_binance_rest_create(&rcfg, s->clock, &s->rest, err, sizeof err) != ND_OK ||
        nd_binance_rest_sync_time(s->rest, err, sizeof err) != ND_OK ||
        nd_binance_rest_load_filters(s->rest, "BTCUSDT", err, sizeof err) != ND_OK ||
        nd_journal_open(journal_path, fold, s, &s->journal, err, sizeof err) != ND_OK) {
        fprintf(stderr, "kill9: session start: %s\n", err);
        return -1;
    }
    nd_journal_rec_t run = {.kind = ND_JOURNAL_RUN, .run = s->runs + 1,
                            .ts_ns = nd_clock_now_ns(s->clock)};
    snprintf(run.tag, sizeof run.tag, TAG);
    if (nd_journal_append(s->journal, &run, err, sizeof err) != ND_OK ||
        nd_journal_set_sync(s->journal, sync_mode(), err, sizeof err) != ND_OK) {
        fprintf(stderr, "kill9: journal: %s\n", err);
        return -1;
    }
    s->runs = run.run;
    nd_binance_exec_config_t ecfg = {.rest = s->rest, .journal = s->journal, .local = s->local,
                                     .clock = s->clock, .symbol = "BTCUSDT", .assets = assets,
                                     .tag = TAG, .run = s->runs, .recv_window_ms = RECV_WINDOW_MS,
                                     .poll_interval_ns = 5 * ND_NS_PER_MS, .hook_cb = hook_cb,
                                     .sending_path = s->marks_path};
    if (nd_binance_exec_create(&ecfg, &s->exec, err, sizeof err) != ND_OK) {
        fprintf(stderr, "kill9: %s\n", err);
        return -1;
    }
    return 0;
}

static void session_close(session_t *s)
{
    nd_binance_exec_destroy(s->exec);
    nd_journal_close(s->journal);
    nd_binance_rest_destroy(s->rest);
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

/* Best bid and ask from GET /api/v3/depth. */
static int best_prices(nd_binance_rest_t *rest, int64_t *bid, int64_t *ask)
{
    char err[256];
    nd_binance_rest_result_t res;
    nd_jtok_t tok[512];
    uint32_t count = 0;
    if (nd_binance_rest_call(rest, "GET", "/api/v3/depth", "symbol=BTCUSDT&limit=5", false, &res,
                             err, sizeof err) != ND_OK)
        return -1;
    int rc = -1;
    if (nd_json_tokenize(res.body, res.body_len, tok, 512, &count) == ND_OK) {
        uint32_t b = nd_json_get(res.body, tok, 0, "bids"), a = nd_json_get(res.body, tok, 0, "asks");
        if (b && a && tok[b].size > 0 && tok[a].size > 0 &&
            nd_venue_decimal(res.body + tok[b + 2].start, tok[b + 2].end - tok[b + 2].start, 8,
                             bid) == ND_OK &&
            nd_venue_decimal(res.body + tok[a + 2].start, tok[a + 2].end - tok[a + 2].start, 8,
                             ask) == ND_OK)
            rc = 0;
    }
    nd_binance_rest_result_free(&res);
    return rc;
}

/* Polls the adapter for ms milliseconds, checking each update against the orders sent. */
static void pump(session_t *s, nd_exec_venue_t *v, nd_order_t *orders, int count, int ms)
{
    int64_t until = nd_clock_now_ns(s->clock) + ms * ND_NS_PER_MS;
    while (nd_clock_now_ns(s->clock) < until) {
        nd_order_update_t up[64];
        size_t n = 0;
        v->ops->poll(v->self, nd_clock_now_ns(s->clock), up, 64, &n);
        for (size_t i = 0; i < n; i++) {
            if (up[i].client_id == 0 || (int)up[i].client_id > count) {
                fprintf(stderr, "kill9 child: update for unknown order %llu\n",
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
                fprintf(stderr, "kill9 child: update kind %d refused for order %llu (%s)\n",
                        (int)up[i].kind, (unsigned long long)o->client_id, nd_err_name(rc));
                exit(3);
            }
        }
        usleep(500);
    }
}

static int child(int port, const char *journal_path, uint64_t seed)
{
    session_t s;
    if (session_open(&s, port, journal_path, kill_hook) != 0)
        return 2;
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    nd_recon_diff_t diffs[16];
    size_t n;
    bool halt;
    char err[256];
    if (nd_binance_exec_recover(s.exec, &policy, false, diffs, 16, &n, &halt, err, sizeof err) !=
            ND_OK || nd_binance_exec_start(s.exec) != ND_OK) {
        fprintf(stderr, "kill9 child: %s\n", err);
        return 2;
    }
    /* What the start made durable (recover ends with a sync): a simulated power loss keeps it. */
    struct stat st;
    char floor_path[160];
    snprintf(floor_path, sizeof floor_path, "%s.floor", journal_path);
    FILE *f = fopen(floor_path, "w");
    if (!f || stat(journal_path, &st) != 0 || fprintf(f, "%lld\n", (long long)st.st_size) < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "kill9 child: cannot write %s\n", floor_path);
        return 2;
    }
    nd_exec_venue_t v = nd_binance_exec_venue(s.exec);
    /* Market data on a client of its own: once the adapter runs, only its worker sends with
     * the order client. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_binance_rest_config_t mcfg = {.base_url = url};
    nd_binance_rest_t *md = NULL;
    if (nd_binance_rest_create(&mcfg, s.clock, &md, err, sizeof err) != ND_OK)
        return 2;
    nd_order_t orders[ACTIONS];
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    int sent = 0;
    for (int a = 0; a < ACTIONS; a++) {
        int64_t bid = 0, ask = 0;
        if (best_prices(md, &bid, &ask) != 0) {
            fprintf(stderr, "kill9 child: no depth\n");
            return 2;
        }
        uint64_t what = nd_rand_below(&rng, 10);
        if (what < 3 && sent > 0) { /* cancel a random order, working or not */
            (void)v.ops->cancel(v.self, orders[nd_rand_below(&rng, (uint64_t)sent)].client_id, 0);
        } else {
            nd_side_t side = nd_rand_below(&rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
            int64_t away = (int64_t)nd_rand_below(&rng, 5) * 1000000 * (what == 9 ? -1 : 1);
            nd_order_intent_t in = {.instrument_id = 0, .side = side,
                                    .type = what == 3 ? ND_ORDER_MARKET : ND_ORDER_LIMIT,
                                    .px = side == ND_SIDE_BUY ? bid - away : ask + away,
                                    .qty = (int64_t)(20 + nd_rand_below(&rng, 80)) * 1000};
            nd_order_init(&orders[sent], (uint64_t)sent + 1, &in, 0, 0);
            if (v.ops->submit(v.self, &orders[sent], 0) == ND_OK)
                sent++;
        }
        pump(&s, &v, orders, sent, 3);
    }
    pump(&s, &v, orders, sent, 30);
    nd_binance_rest_destroy(md);
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
    if (nd_instrument_init(&cfg.inst, "BTCUSDT", "xsim") != ND_OK)
        return -1;
    cfg.quote_balance = (int64_t)10000 * 100000000;
    cfg.base_balance = 100000000;
    cfg.fee_bps = 10;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.seed = seed;
    cfg.synth.step_ns = 2 * ND_NS_PER_MS;
    cfg.synth.events = 1000000000;
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_api_config_t acfg = {.api_key = KEY, .api_secret = SECRET};
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 2 * ND_NS_PER_MS,
                                    .clock = clock};
    if (nd_xsim_create(&cfg, nd_clock_now_ns(clock), &e->x, err, sizeof err) != ND_OK ||
        nd_xsim_api_create(e->x, &acfg, &e->api) != ND_OK ||
        nd_xsim_server_open(e->api, e->x, &scfg, &e->server, &e->port, err, sizeof err) != ND_OK ||
        pthread_create(&e->thread, NULL, serve, e->server) != 0) {
        fprintf(stderr, "kill9: exchange-sim: %s\n", err);
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

static int run_child(const char *self, int port, const char *journal_path, uint64_t seed,
                     int kill_point, bool *killed)
{
    char port_s[16], seed_s[32], kill_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    snprintf(kill_s, sizeof kill_s, "%d", kill_point);
    char *argv[] = {(char *)self, "--child", port_s, (char *)journal_path, seed_s, kill_s, NULL};
    pid_t pid;
    int status;
    if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (*killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        return 0;
    fprintf(stderr, "kill9: child failed (status 0x%x)\n", status);
    return -1;
}

static nd_recon_status_t venue_status(nd_xsim_status_t st)
{
    switch (st) {
    case ND_XSIM_NEW:
    case ND_XSIM_PARTIALLY_FILLED: return ND_RECON_OPEN;
    case ND_XSIM_FILLED: return ND_RECON_FILLED;
    case ND_XSIM_CANCELED: return ND_RECON_CANCELLED;
    case ND_XSIM_EXPIRED: return ND_RECON_EXPIRED;
    default: return ND_RECON_REJECTED;
    }
}

#define FAIL(...) do { fprintf(stderr, "kill9 seed %llu: ", (unsigned long long)seed); \
                       fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return -1; } while (0)

/* The restarted session's view against the stopped exchange's own state. */
static int check(const nd_xsim_t *x, const nd_recon_local_t *l, uint64_t seed, bool power_lost,
                 int *lost)
{
    int64_t foreign = 0;
    for (uint32_t i = 0; i < l->order_count; i++)
        if (!nd_recon_status_done(l->orders[i].status))
            FAIL("order %s left %s", l->orders[i].clid, nd_recon_status_name(l->orders[i].status));
    uint32_t reached = 0;
    for (uint32_t i = 0; i < l->order_count; i++)
        reached += l->orders[i].venue_id != 0;
    for (int64_t id = 1; id <= nd_xsim_order_count(x); id++) {
        const nd_xsim_user_order_t *vo = nd_xsim_order(x, id);
        if (strncmp(vo->client_id, "web_", 4) == 0) {
            if (vo->status != ND_XSIM_NEW)
                FAIL("the foreign order %s was touched", vo->client_id);
            foreign++;
            continue;
        }
        for (int64_t k = 1; k < id; k++)
            if (strcmp(nd_xsim_order(x, k)->client_id, vo->client_id) == 0)
                FAIL("client order id %s twice at the venue", vo->client_id);
        const nd_recon_order_t *lo = nd_recon_find((nd_recon_local_t *)l, vo->client_id);
        /* After a power loss an intent can be gone with the order at the venue: ours by its id,
         * and no longer working (the restart cancelled it); its fills are checked below. */
        if (!lo && power_lost && nd_clid_parse(TAG, vo->client_id, NULL, NULL, NULL) == ND_OK &&
            venue_status(vo->status) != ND_RECON_OPEN) {
            (*lost)++;
            foreign++;
            continue;
        }
        if (!lo)
            FAIL("venue order %s is no journaled intent", vo->client_id);
        if (lo->venue_id != vo->id || lo->status != venue_status(vo->status) ||
            lo->filled_qty != vo->executed_qty)
            FAIL("%s: journal %s filled %lld id %lld, venue %s filled %lld id %lld", vo->client_id,
                 nd_recon_status_name(lo->status), (long long)lo->filled_qty,
                 (long long)lo->venue_id, nd_recon_status_name(venue_status(vo->status)),
                 (long long)vo->executed_qty, (long long)vo->id);
    }
    if ((int64_t)reached + foreign != nd_xsim_order_count(x))
        FAIL("%u orders reached the venue in the journal, the venue has %lld", reached,
             (long long)nd_xsim_order_count(x));
    if (l->booked_count != nd_xsim_trade_count(x))
        FAIL("%u trades booked, the venue has %zu", l->booked_count, nd_xsim_trade_count(x));
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++)
        if (!nd_recon_booked(l, nd_xsim_trade_at(x, i)->id,
                             nd_xsim_trade_at(x, i)->is_buyer ? ND_SIDE_BUY : ND_SIDE_SELL))
            FAIL("venue trade %lld not booked", (long long)nd_xsim_trade_at(x, i)->id);
    int64_t bf, bl, qf, ql, base = 0, quote = 0;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    for (uint32_t i = 0; i < l->balance_count; i++) {
        if (strcmp(l->balances[i].asset, "BTC") == 0)
            base = l->balances[i].amount;
        if (strcmp(l->balances[i].asset, "USDT") == 0)
            quote = l->balances[i].amount;
    }
    if (base != bf + bl || quote != qf + ql)
        FAIL("balances BTC %lld USDT %lld, venue BTC %lld USDT %lld", (long long)base,
             (long long)quote, (long long)(bf + bl), (long long)(qf + ql));
    return 0;
}

typedef struct totals {
    int killed, orders, trades, restarts;
    int power_losses, records_cut, intents_lost; /* --power-loss */
    int64_t restart_ns_sum, restart_ns_max; /* journal replay to reconciled, per restart */
    int kinds[ND_RECON_BALANCE + 1];
} totals_t;

/* Another program trading the same account (a web order): a buy far below the market with a
 * client order id that is not ours. Reconciliation must surface it and never touch it. */
static int place_foreign(const exchange_t *e, uint64_t seed)
{
    char url[64], err[256] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d", e->port);
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    snprintf(sec.api_key, sizeof sec.api_key, KEY);
    snprintf(sec.api_secret, sizeof sec.api_secret, SECRET);
    nd_binance_rest_config_t rcfg = {.base_url = url, .secret = &sec};
    nd_binance_rest_t *rest = NULL;
    nd_binance_rest_result_t res;
    nd_binance_order_t o = {.symbol = "BTCUSDT", .side = ND_MD_SIDE_BID, .type = ND_BINANCE_LIMIT,
                            .px = (int64_t)20000 * 100000000, .qty = 100000};
    snprintf(o.client_order_id, sizeof o.client_order_id, "web_%llu", (unsigned long long)seed);
    int rc = nd_binance_rest_create(&rcfg, nd_clock_os(), &rest, err, sizeof err) == ND_OK &&
                     nd_binance_rest_sync_time(rest, err, sizeof err) == ND_OK &&
                     nd_binance_rest_new_order(rest, &o, &res, err, sizeof err) == ND_OK
                 ? 0 : -1;
    if (rc == 0) {
        rc = res.http_status == 200 ? 0 : -1;
        nd_binance_rest_result_free(&res);
    }
    nd_binance_rest_destroy(rest);
    return rc;
}

/* Restart from the journal: reconcile cancelling what is open, reconcile again (nothing but
 * the foreign order may be left), stop the exchange, check. */
static int restart(exchange_t *e, const char *journal_path, uint64_t seed, bool power_lost,
                   totals_t *t)
{
    session_t s;
    int64_t t0 = nd_clock_mono_ns(nd_clock_os());
    if (session_open(&s, e->port, journal_path, NULL) != 0)
        return -1;
    nd_recon_policy_t policy;
    nd_recon_policy_default(&policy);
    if (seed % 2) /* odd seeds resend what never reached the venue, with the same id */
        policy.never_sent = ND_RESOLVE_RESEND;
    nd_recon_diff_t diffs[256];
    size_t n = 0;
    bool halt = false;
    char err[256] = "";
    int rc = 0;
    if (nd_binance_exec_recover(s.exec, &policy, true, diffs, 256, &n, &halt, err, sizeof err) !=
        ND_OK) {
        fprintf(stderr, "kill9 seed %llu: recover: %s\n", (unsigned long long)seed, err);
        rc = -1;
    }
    int64_t took = nd_clock_mono_ns(nd_clock_os()) - t0;
    t->restarts++;
    t->restart_ns_sum += took;
    t->restart_ns_max = took > t->restart_ns_max ? took : t->restart_ns_max;
    for (size_t i = 0; i < n && i < 256; i++)
        t->kinds[diffs[i].kind]++;
    if (rc == 0 && halt) {
        fprintf(stderr, "kill9 seed %llu: a balance difference halted\n", (unsigned long long)seed);
        for (size_t i = 0; i < n && i < 256; i++)
            fprintf(stderr, "  %s %s %s trade %lld qty %lld local %lld venue %lld\n",
                    nd_recon_kind_name(diffs[i].kind), diffs[i].order.clid, diffs[i].venue.asset,
                    (long long)diffs[i].trade.trade_id, (long long)diffs[i].trade.qty,
                    (long long)diffs[i].local.amount, (long long)diffs[i].venue.amount);
        for (size_t i = 0; getenv("KILL9_DUMP") && i < nd_xsim_trade_count(e->x); i++) {
            const nd_xsim_trade_t *vt = nd_xsim_trade_at(e->x, i);
            fprintf(stderr, "  venue trade %lld order %lld px %lld qty %lld quote %lld comm %lld "
                    "buyer %d\n", (long long)vt->id, (long long)vt->order_id, (long long)vt->px,
                    (long long)vt->qty, (long long)vt->quote_qty, (long long)vt->commission,
                    vt->is_buyer);
        }
        for (uint32_t i = 0; getenv("KILL9_DUMP") && i < s.local->order_count; i++)
            fprintf(stderr, "  local %s %s side %d qty %lld filled %lld id %lld\n",
                    s.local->orders[i].clid, nd_recon_status_name(s.local->orders[i].status),
                    s.local->orders[i].side, (long long)s.local->orders[i].qty,
                    (long long)s.local->orders[i].filled_qty, (long long)s.local->orders[i].venue_id);
        rc = -1;
    }
    size_t again = 0, left = 0;
    if (rc == 0 &&
        nd_binance_exec_recover(s.exec, &policy, true, diffs, 256, &again, &halt, err, sizeof err) !=
            ND_OK)
        rc = -1;
    for (size_t i = 0; i < again && i < 256; i++)
        left += diffs[i].kind != ND_RECON_FOREIGN;
    if (rc != 0 || left != 0) {
        fprintf(stderr, "kill9 seed %llu: the second reconciliation found %zu (%s) %s\n",
                (unsigned long long)seed, again, again ? nd_recon_kind_name(diffs[0].kind) : "",
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
    char path[160];
    snprintf(path, sizeof path, "%s.floor", journal_path);
    FILE *f = fopen(path, "r");
    long long floor = -1;
    struct stat st;
    if (!f) { /* killed before its start was done: nothing past it to lose */
        snprintf(path, sizeof path, "%s.sending", journal_path);
        unlink(path);
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
    snprintf(path, sizeof path, "%s.sending", journal_path);
    unlink(path);
    return (int)(records - keep);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--child") == 0) {
        kill_at = atoi(argv[5]);
        return child(atoi(argv[2]), argv[3], strtoull(argv[4], NULL, 10));
    }
    uint64_t seeds = 200, first = 1, kill_max = 60;
    bool verbose = false, power = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            seeds = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
            first = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--kill-max") == 0 && i + 1 < argc)
            kill_max = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--verbose") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc)
            setenv("ND_KILL9_SYNC", argv[++i], 1);
        else if (strcmp(argv[i], "--power-loss") == 0)
            power = true;
    }
    if (power && sync_mode() != ND_JOURNAL_SYNC_BATCHED) {
        fprintf(stderr, "kill9: --power-loss needs --sync batched (before_send loses nothing)\n");
        return 2;
    }
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return 2;
    self[len] = '\0';
    signal(SIGPIPE, SIG_IGN);
    totals_t t;
    memset(&t, 0, sizeof t);
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        char journal_path[128];
        snprintf(journal_path, sizeof journal_path, "/tmp/nd-kill9-%d-%llu.journal", (int)getpid(),
                 (unsigned long long)seed);
        unlink(journal_path);
        unlink_marks(journal_path);
        nd_rand_t rng;
        nd_rand_init(&rng, seed * 7919);
        int kill_point = 1 + (int)nd_rand_below(&rng, kill_max);
        exchange_t e;
        bool killed = false;
        if (exchange_open(&e, seed) != 0)
            return 2;
        int rc = run_child(self, e.port, journal_path, seed, kill_point, &killed);
        bool power_lost = power && seed % 3 == 2;
        int cut = rc == 0 && power_lost ? power_loss(journal_path, &rng) : 0;
        if (cut < 0) {
            fprintf(stderr, "kill9 seed %llu: cannot simulate the power loss\n",
                    (unsigned long long)seed);
            rc = -1;
        }
        t.power_losses += power_lost;
        t.records_cut += cut > 0 ? cut : 0;
        if (rc == 0 && seed % 4 == 0)
            rc = place_foreign(&e, seed);
        if (rc == 0)
            rc = restart(&e, journal_path, seed, power_lost, &t);
        else
            exchange_stop(&e);
        exchange_close(&e);
        unlink(journal_path);
        unlink_marks(journal_path);
        t.killed += killed;
        if (verbose)
            fprintf(stderr, "kill9 seed %llu kill_point %d killed %d: %s\n",
                    (unsigned long long)seed, kill_point, killed, rc == 0 ? "ok" : "FAILED");
        if (rc != 0) {
            fprintf(stderr, "kill9: reproduce with --first %llu --seeds 1 --verbose\n",
                    (unsigned long long)seed);
            return 1;
        }
    }
    printf("kill9: journal.sync %s, %llu seeds, %d killed mid-flow, %d orders, %d trades; "
           "differences resolved:", nd_journal_sync_name(sync_mode()), (unsigned long long)seeds,
           t.killed, t.orders, t.trades);
    for (int k = ND_RECON_NEVER_SENT; k <= ND_RECON_BALANCE; k++)
        printf(" %s=%d", nd_recon_kind_name((nd_recon_kind_t)k), t.kinds[k]);
    if (power)
        printf("\nkill9: %d power losses simulated: %d journal records cut, %d intents lost with "
               "their orders at the venue (recognised as ours)", t.power_losses, t.records_cut,
               t.intents_lost);
    printf("\nkill9: restart to reconciled (replay, recvWindow wait, venue view, resolutions, "
           "cancels settled): mean %.1f ms, max %.1f ms\n",
           t.restarts ? (double)t.restart_ns_sum / t.restarts / 1e6 : 0.0,
           (double)t.restart_ns_max / 1e6);
    return 0;
}
