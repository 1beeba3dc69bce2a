/* kill9_cb.c: the kill -9 test of the Coinbase Advanced Trade live adapter (cb_exec.c), its order
 * journal and reconciliation against exchange-sim --venue coinbase (issue 12, item 3), the
 * Coinbase twin of kill9.c (same flow, kill points, restart and checks; see there).
 *
 * For each seed: a fresh exchange-sim speaking Advanced Trade (matching engine, REST with ES256
 * JWTs verified, on a thread of this process; fees in quote); a child process (this program with
 * --child) runs a seeded order flow (limit orders at and away from the market, market orders,
 * cancels) through the adapter and the journal and SIGKILLs itself at the seeded kill point (the
 * n-th time an intent is journaled, made durable before sending, or answered); this process then
 * restarts from the journal as a session would, reconciles (cancelling what is left open; an
 * intent that never reached the venue is dropped in even seeds and resent with its
 * client_order_id, Coinbase's idempotency key, in odd ones), reconciles again, stops the exchange
 * and checks against the exchange's own state:
 *  - no order lost: every journaled intent is resolved (none left sent-and-unknown or open);
 *  - none duplicated: client order ids are distinct at the venue, each venue order is a
 *    journaled intent (its venue id the UUID's key), a dropped intent never reached the venue;
 *  - positions equal: per order, the fills booked equal the venue's filled size and the status
 *    the venue's; every venue fill is booked once (by its trade UUID's key and side); base and
 *    quote balances equal the venue's (available + hold);
 *  - the second reconciliation finds nothing but the foreign order (every fourth seed places a
 *    `web_<seed>` order on the account: surfaced, never touched).
 * Usage: kill9_cb [--seeds N] [--first S] [--kill-max K] [--sync MODE] [--power-loss]
 * [--verbose]: as kill9, but kill points are drawn from 1..35 by default (the worker syncs the
 * journal before each request, so a flow here passes fewer hooks: at 60 half the children
 * finished unkilled; at 35 nearly nine in ten die mid-flow). --power-loss (batched only) cuts the journal at a seeded record boundary
 * past the child's durable start on every third seed; a venue order of ours without its journal
 * line must then be done (cancelled by the restart as unknown_ours, or filled: its fills booked
 * as fill_missing). Exit 0 when every seed passes; on a failure it prints "reproduce with
 * --first S --seeds 1 --verbose". */
#include "../../src/xsim/xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/coinbase.h"
#include "noderr/rand.h"
#include "noderr/reconcile.h"
#include "noderr/venue.h"
#include "noderr/xsim.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
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

#define KEY_NAME "organizations/kill9/apiKeys/kill9-key"
#define PRODUCT "BTC-USD"
#define TAG "k9"
#define ACTIONS 14
#define E8 100000000LL

static nd_journal_sync_t sync_mode(void)
{
    nd_journal_sync_t mode = ND_JOURNAL_SYNC_BEFORE_SEND;
    const char *v = getenv("ND_KILL9_SYNC");
    if (v && !nd_journal_sync_parse(v, &mode)) {
        fprintf(stderr, "kill9_cb: ND_KILL9_SYNC=%s: not before_send or batched\n", v);
        exit(2);
    }
    return mode;
}

static const nd_recon_instrument_t assets = {.base = "BTC", .quote = "USD"};
static char priv_pem[1024], pub_pem[512];

typedef struct session {
    nd_clock_t *clock;
    nd_coinbase_rest_t *rest;
    nd_journal_t *journal;
    nd_recon_local_t *local;
    nd_coinbase_exec_t *exec;
    uint32_t runs;
} session_t;

static void fold(void *ctx, const nd_journal_rec_t *rec)
{
    session_t *s = ctx;
    if (rec->kind == ND_JOURNAL_RUN)
        s->runs = rec->run;
    if (nd_recon_local_fold(s->local, rec, &assets, 1) != ND_OK) {
        fprintf(stderr, "kill9_cb: journal record %lld does not fold\n", (long long)rec->seq);
        exit(4);
    }
}

/* Opens the session from the journal: REST client, product rules, replay, a RUN, the adapter. */
static int session_open(session_t *s, int port, const char *journal_path,
                        void (*hook_cb)(void *, const char *))
{
    char url[64], err[256] = "";
    memset(s, 0, sizeof *s);
    s->clock = nd_clock_os();
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    nd_coinbase_exec_config_t ecfg = {.clock = s->clock, .product_id = PRODUCT, .assets = assets,
                                      .tag = TAG, .poll_interval_ns = 5 * ND_NS_PER_MS,
                                      .hook_cb = hook_cb};
    s->local = nd_calloc(1, sizeof *s->local);
    if (!s->local ||
        nd_coinbase_rest_create(url, KEY_NAME, priv_pem, s->clock, 5000, &s->rest, err,
                                sizeof err) != ND_OK ||
        nd_coinbase_public_product(url, PRODUCT, 5000, &ecfg.rules, err, sizeof err) != ND_OK ||
        nd_journal_open(journal_path, fold, s, &s->journal, err, sizeof err) != ND_OK) {
        fprintf(stderr, "kill9_cb: session start: %s\n", err);
        return -1;
    }
    nd_journal_rec_t run = {.kind = ND_JOURNAL_RUN, .run = s->runs + 1,
                            .ts_ns = nd_clock_now_ns(s->clock)};
    snprintf(run.tag, sizeof run.tag, TAG);
    if (nd_journal_append(s->journal, &run, err, sizeof err) != ND_OK ||
        nd_journal_set_sync(s->journal, sync_mode(), err, sizeof err) != ND_OK) {
        fprintf(stderr, "kill9_cb: journal: %s\n", err);
        return -1;
    }
    s->runs = run.run;
    ecfg.rest = s->rest;
    ecfg.journal = s->journal;
    ecfg.local = s->local;
    ecfg.run = s->runs;
    if (nd_coinbase_exec_create(&ecfg, &s->exec, err, sizeof err) != ND_OK) {
        fprintf(stderr, "kill9_cb: %s\n", err);
        return -1;
    }
    return 0;
}

static void session_close(session_t *s)
{
    nd_coinbase_exec_destroy(s->exec);
    nd_journal_close(s->journal);
    nd_coinbase_rest_destroy(s->rest);
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

/* The product's mid price (its "price", on the tick) from the public product endpoint. */
static int mid_price(nd_http_t *http, int port, int64_t *mid)
{
    char url[128], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v3/brokerage/market/products/" PRODUCT,
             port);
    nd_http_response_t res;
    memset(&res, 0, sizeof res);
    if (nd_http_request(http, "GET", url, NULL, NULL, &res, err, sizeof err) != ND_OK)
        return -1;
    nd_jtok_t tok[128];
    uint32_t count = 0;
    int rc = -1;
    if (res.status == 200 && nd_json_tokenize(res.body, res.body_len, tok, 128, &count) == ND_OK) {
        uint32_t p = nd_json_get(res.body, tok, 0, "price");
        if (p && nd_venue_decimal(res.body + tok[p].start, tok[p].end - tok[p].start, 8, mid) ==
                     ND_OK && *mid > 0)
            rc = 0;
    }
    nd_http_response_free(&res);
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
                fprintf(stderr, "kill9_cb child: update for unknown order %llu\n",
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
                fprintf(stderr, "kill9_cb child: update kind %d refused for order %llu (%s)\n",
                        (int)up[i].kind, (unsigned long long)o->client_id, nd_err_name(rc));
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
        fprintf(stderr, "kill9_cb child: cannot write %s\n", floor_path);
        return -1;
    }
    return 0;
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
    char err[256] = "";
    if (nd_coinbase_exec_recover(s.exec, &policy, false, diffs, 16, &n, &halt, err, sizeof err) !=
            ND_OK || nd_coinbase_exec_start(s.exec) != ND_OK) {
        fprintf(stderr, "kill9_cb child: %s\n", err);
        return 2;
    }
    nd_http_t *http = NULL;
    if (write_floor(journal_path) != 0 || nd_http_create(5000, &http) != ND_OK)
        return 2;
    nd_exec_venue_t v = nd_coinbase_exec_venue(s.exec);
    nd_order_t orders[ACTIONS];
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    int sent = 0;
    for (int a = 0; a < ACTIONS; a++) {
        int64_t mid = 0;
        if (mid_price(http, port, &mid) != 0) {
            fprintf(stderr, "kill9_cb child: no product price\n");
            return 2;
        }
        uint64_t what = nd_rand_below(&rng, 10);
        if (what < 3 && sent > 0) { /* cancel a random order, working or not */
            (void)v.ops->cancel(v.self, orders[nd_rand_below(&rng, (uint64_t)sent)].client_id, 0);
        } else {
            nd_side_t side = nd_rand_below(&rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
            /* what 9: a limit through the touch (takes); else at or away from the mid */
            int64_t away = (int64_t)(what == 9 ? 5 : nd_rand_below(&rng, 5)) * 1000000 *
                           (what == 9 ? -1 : 1);
            nd_order_intent_t in = {.instrument_id = 0, .side = side,
                                    .type = what == 3 ? ND_ORDER_MARKET : ND_ORDER_LIMIT,
                                    .px = side == ND_SIDE_BUY ? mid - away : mid + away,
                                    .qty = (int64_t)(20 + nd_rand_below(&rng, 80)) * 1000};
            nd_order_init(&orders[sent], (uint64_t)sent + 1, &in, 0, 0);
            if (v.ops->submit(v.self, &orders[sent], 0) == ND_OK)
                sent++;
        }
        pump(&s, &v, orders, sent, 3);
    }
    pump(&s, &v, orders, sent, 30);
    nd_http_destroy(http);
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
    if (nd_instrument_init(&cfg.inst, "BTC/USD", "xsim") != ND_OK)
        return -1;
    cfg.quote_balance = (int64_t)10000 * E8;
    cfg.base_balance = E8;
    cfg.fee_bps = 10;
    cfg.fee_in_quote = true;
    nd_synth_ticks_config_default(&cfg.synth);
    cfg.synth.seed = seed;
    cfg.synth.step_ns = 2 * ND_NS_PER_MS;
    cfg.synth.events = 1000000000;
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_api_config_t acfg = {.api_key = KEY_NAME, .api_secret = "",
                                 .venue = ND_XSIM_VENUE_COINBASE, .cb_public_key_pem = pub_pem};
    nd_xsim_server_config_t scfg = {.bind = "127.0.0.1", .market_step_ns = 2 * ND_NS_PER_MS,
                                    .clock = clock};
    if (nd_xsim_create(&cfg, nd_clock_now_ns(clock), &e->x, err, sizeof err) != ND_OK ||
        nd_xsim_api_create(e->x, &acfg, &e->api) != ND_OK ||
        nd_xsim_server_open(e->api, e->x, &scfg, &e->server, &e->port, err, sizeof err) != ND_OK ||
        pthread_create(&e->thread, NULL, serve, e->server) != 0) {
        fprintf(stderr, "kill9_cb: exchange-sim: %s\n", err);
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

static int run_child(const char *self, int port, const char *journal_path, const char *key_path,
                     uint64_t seed, int kill_point, bool *killed)
{
    char port_s[16], seed_s[32], kill_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed);
    snprintf(kill_s, sizeof kill_s, "%d", kill_point);
    char *argv[] = {(char *)self, "--child", port_s, (char *)journal_path, seed_s, kill_s,
                    (char *)key_path, NULL};
    pid_t pid;
    int status;
    if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    *killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (*killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        return 0;
    fprintf(stderr, "kill9_cb: child failed (status 0x%x)\n", status);
    return -1;
}

/* The venue's order as Coinbase lists it, in the journal's terms (a market order's unfilled
 * rest is CANCELLED on Coinbase, EXPIRED only for a limit's). */
static nd_recon_status_t venue_status(const nd_xsim_user_order_t *vo)
{
    switch (vo->status) {
    case ND_XSIM_NEW:
    case ND_XSIM_PARTIALLY_FILLED: return ND_RECON_OPEN;
    case ND_XSIM_FILLED: return ND_RECON_FILLED;
    case ND_XSIM_CANCELED: return ND_RECON_CANCELLED;
    case ND_XSIM_EXPIRED: return vo->type == ND_XSIM_MARKET ? ND_RECON_CANCELLED : ND_RECON_EXPIRED;
    default: return ND_RECON_REJECTED;
    }
}

static int64_t order_key(int64_t id)
{
    char uuid[37];
    nd__xsim_cb_order_uuid(id, uuid);
    return nd_coinbase_id_key(uuid);
}

/* A fill's trade id as exchange-sim writes it (fill_json) and the adapter keys it. */
static int64_t trade_key(int64_t id)
{
    char uuid[37];
    snprintf(uuid, sizeof uuid, "00000000-0000-4000-c000-%012llx",
             (unsigned long long)id & 0xffffffffffffULL);
    return nd_coinbase_id_key(uuid);
}

#define FAIL(...) do { fprintf(stderr, "kill9_cb seed %llu: ", (unsigned long long)seed); \
                       fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return -1; } while (0)

/* Each venue order of ours against the journal: false (with the failure printed) on a
 * difference; *foreign counts the orders not in the journal that may be there. */
static int check_orders(const nd_xsim_t *x, const nd_recon_local_t *l, uint64_t seed,
                        bool power_lost, int *lost, int64_t *foreign, int64_t *rejected)
{
    for (int64_t id = 1; id <= nd_xsim_order_count(x); id++) {
        const nd_xsim_user_order_t *vo = nd_xsim_order(x, id);
        if (vo->status == ND_XSIM_REJECTED) { /* Coinbase lists no failed create */
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
        if (!lo && power_lost && nd_clid_parse(TAG, vo->client_id, NULL, NULL, NULL) == ND_OK &&
            venue_status(vo) != ND_RECON_OPEN) {
            (*lost)++;
            (*foreign)++;
            continue;
        }
        if (!lo)
            FAIL("venue order %s is no journaled intent", vo->client_id);
        if (lo->venue_id != order_key(vo->id) || lo->status != venue_status(vo) ||
            lo->filled_qty != vo->executed_qty)
            FAIL("%s: journal %s filled %lld id %lld, venue %s filled %lld id %lld", vo->client_id,
                 nd_recon_status_name(lo->status), (long long)lo->filled_qty,
                 (long long)lo->venue_id, nd_recon_status_name(venue_status(vo)),
                 (long long)vo->executed_qty, (long long)order_key(vo->id));
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
        FAIL("%u fills booked, the venue has %zu", l->booked_count, nd_xsim_trade_count(x));
    for (size_t i = 0; i < nd_xsim_trade_count(x); i++)
        if (!nd_recon_booked(l, trade_key(nd_xsim_trade_at(x, i)->id),
                             nd_xsim_trade_at(x, i)->is_buyer ? ND_SIDE_BUY : ND_SIDE_SELL))
            FAIL("venue fill %lld not booked", (long long)nd_xsim_trade_at(x, i)->id);
    int64_t bf, bl, qf, ql, base = 0, quote = 0;
    nd_xsim_balances(x, &bf, &bl, &qf, &ql);
    for (uint32_t i = 0; i < l->balance_count; i++) {
        if (strcmp(l->balances[i].asset, "BTC") == 0)
            base = l->balances[i].amount;
        if (strcmp(l->balances[i].asset, "USD") == 0)
            quote = l->balances[i].amount;
    }
    if (base != bf + bl || quote != qf + ql)
        FAIL("balances BTC %lld USD %lld, venue BTC %lld USD %lld", (long long)base,
             (long long)quote, (long long)(bf + bl), (long long)(qf + ql));
    return 0;
}

typedef struct totals {
    int killed, orders, trades, restarts;
    int power_losses, records_cut, intents_lost;
    int64_t restart_ns_sum, restart_ns_max, restart_ns_last;
    int kinds[ND_RECON_BALANCE + 1];
} totals_t;

/* Another program trading the same account (a web order): a buy far below the market with a
 * client order id that is not ours. Reconciliation must surface it and never touch it. */
static int place_foreign(const exchange_t *e, uint64_t seed)
{
    char url[64], err[256] = "", clid[32];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", e->port);
    snprintf(clid, sizeof clid, "web_%llu", (unsigned long long)seed);
    nd_coinbase_rest_t *rest = NULL;
    nd_coinbase_order_result_t res;
    nd_coinbase_order_req_t req = {.client_order_id = clid, .product_id = PRODUCT, .buy = true,
                                   .base_size = "0.001", .limit_price = "20000.00"};
    int rc = nd_coinbase_rest_create(url, KEY_NAME, priv_pem, nd_clock_os(), 5000, &rest, err,
                                     sizeof err) == ND_OK &&
                     nd_coinbase_create_order(rest, &req, &res, err, sizeof err) == ND_OK &&
                     res.success
                 ? 0 : -1;
    if (rc != 0)
        fprintf(stderr, "kill9_cb: the foreign order: %s\n", err);
    nd_coinbase_rest_destroy(rest);
    return rc;
}

static void print_halt(const exchange_t *e, const session_t *s, const nd_recon_diff_t *diffs,
                       size_t n, uint64_t seed)
{
    fprintf(stderr, "kill9_cb seed %llu: a balance difference halted\n", (unsigned long long)seed);
    for (size_t i = 0; i < n && i < 256; i++)
        fprintf(stderr, "  %s %s %s trade %lld qty %lld local %lld venue %lld\n",
                nd_recon_kind_name(diffs[i].kind), diffs[i].order.clid, diffs[i].venue.asset,
                (long long)diffs[i].trade.trade_id, (long long)diffs[i].trade.qty,
                (long long)diffs[i].local.amount, (long long)diffs[i].venue.amount);
    for (size_t i = 0; getenv("KILL9_DUMP") && i < nd_xsim_trade_count(e->x); i++) {
        const nd_xsim_trade_t *vt = nd_xsim_trade_at(e->x, i);
        fprintf(stderr, "  venue fill %lld order %lld px %lld qty %lld comm %lld buyer %d\n",
                (long long)vt->id, (long long)vt->order_id, (long long)vt->px, (long long)vt->qty,
                (long long)vt->commission, vt->is_buyer);
    }
    for (uint32_t i = 0; getenv("KILL9_DUMP") && i < s->local->order_count; i++)
        fprintf(stderr, "  local %s %s side %d qty %lld filled %lld\n", s->local->orders[i].clid,
                nd_recon_status_name(s->local->orders[i].status), s->local->orders[i].side,
                (long long)s->local->orders[i].qty, (long long)s->local->orders[i].filled_qty);
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
    if (nd_coinbase_exec_recover(s.exec, &policy, true, diffs, 256, &n, &halt, err, sizeof err) !=
        ND_OK) {
        fprintf(stderr, "kill9_cb seed %llu: recover: %s\n", (unsigned long long)seed, err);
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
        print_halt(e, &s, diffs, n, seed);
        rc = -1;
    }
    size_t again = 0, left = 0;
    if (rc == 0 && nd_coinbase_exec_recover(s.exec, &policy, true, diffs, 256, &again, &halt, err,
                                            sizeof err) != ND_OK)
        rc = -1;
    for (size_t i = 0; i < again && i < 256; i++)
        left += diffs[i].kind != ND_RECON_FOREIGN;
    if (rc != 0 || left != 0) {
        fprintf(stderr, "kill9_cb seed %llu: the second reconciliation found %zu (%s %s) %s\n",
                (unsigned long long)seed, again, again ? nd_recon_kind_name(diffs[0].kind) : "",
                again ? diffs[0].order.clid : "", err);
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
    snprintf(path, sizeof path, "%s.floor", journal_path);
    unlink(path);
}

/* A simulated power loss after the kill: the journal cut at a seeded record boundary at or past
 * the child's durable start. Returns the records cut, -1 on an error. */
static int power_loss(const char *journal_path, nd_rand_t *rng)
{
    char path[160];
    snprintf(path, sizeof path, "%s.floor", journal_path);
    FILE *f = fopen(path, "r");
    long long floor = -1;
    struct stat st;
    if (!f) /* killed before its start was done: nothing past it to lose */
        return 0;
    if (fscanf(f, "%lld", &floor) != 1 || floor < 0 || stat(journal_path, &st) != 0) {
        fclose(f);
        return -1;
    }
    fclose(f);
    long long records = (st.st_size - floor) / 320; /* whole records after the floor */
    long long keep = (long long)nd_rand_below(rng, (uint64_t)records + 1);
    if (truncate(journal_path, floor + keep * 320) != 0)
        return -1;
    return (int)(records - keep);
}

/* A fresh P-256 key: the private half signs the JWTs (the child reads it from key_path), the
 * public half is exchange-sim's. */
static int make_keys(const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    int n = key && b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                ? BIO_read(b, priv_pem, (int)sizeof priv_pem - 1) : -1;
    priv_pem[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    int m = key && b && PEM_write_bio_PUBKEY(b, key) ? BIO_read(b, pub_pem, (int)sizeof pub_pem - 1)
                                                     : -1;
    pub_pem[m > 0 ? m : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(key);
    FILE *f = fopen(key_path, "w");
    if (n <= 0 || m <= 0 || !f || chmod(key_path, 0600) != 0 || fputs(priv_pem, f) < 0) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int read_key(const char *key_path)
{
    FILE *f = fopen(key_path, "r");
    size_t n = f ? fread(priv_pem, 1, sizeof priv_pem - 1, f) : 0;
    if (f)
        fclose(f);
    priv_pem[n] = '\0';
    return n > 0 ? 0 : -1;
}

static void print_totals(const totals_t *t, uint64_t seeds, bool power)
{
    printf("kill9_cb: journal.sync %s, %llu seeds, %d killed mid-flow, %d orders, %d fills; "
           "differences resolved:", nd_journal_sync_name(sync_mode()), (unsigned long long)seeds,
           t->killed, t->orders, t->trades);
    for (int k = ND_RECON_NEVER_SENT; k <= ND_RECON_BALANCE; k++)
        printf(" %s=%d", nd_recon_kind_name((nd_recon_kind_t)k), t->kinds[k]);
    if (power)
        printf("\nkill9_cb: %d power losses simulated: %d journal records cut, %d intents lost "
               "with their orders at the venue (recognised as ours)", t->power_losses,
               t->records_cut, t->intents_lost);
    printf("\nkill9_cb: restart to reconciled (replay, venue view, resolutions, cancels "
           "settled): mean %.1f ms, max %.1f ms\n",
           t->restarts ? (double)t->restart_ns_sum / t->restarts / 1e6 : 0.0,
           (double)t->restart_ns_max / 1e6);
}

/* One seed: exchange, child killed at the seeded point, power loss, foreign order, restart. */
static int one_seed(const char *self, const char *key_path, uint64_t seed, uint64_t kill_max,
                    bool power, bool verbose, totals_t *t)
{
    char journal_path[128];
    snprintf(journal_path, sizeof journal_path, "/tmp/nd-kill9cb-%d-%llu.journal", (int)getpid(),
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
    int rc = run_child(self, e.port, journal_path, key_path, seed, kill_point, &killed);
    bool power_lost = power && seed % 3 == 2;
    int cut = rc == 0 && power_lost ? power_loss(journal_path, &rng) : 0;
    if (cut < 0) {
        fprintf(stderr, "kill9_cb seed %llu: cannot simulate the power loss\n",
                (unsigned long long)seed);
        rc = -1;
    }
    t->power_losses += power_lost;
    t->records_cut += cut > 0 ? cut : 0;
    if (rc == 0 && seed % 4 == 0)
        rc = place_foreign(&e, seed);
    if (rc == 0)
        rc = restart(&e, journal_path, seed, power_lost, t);
    else
        exchange_stop(&e);
    exchange_close(&e);
    unlink(journal_path);
    unlink_marks(journal_path);
    t->killed += killed;
    if (verbose)
        fprintf(stderr, "kill9_cb seed %llu kill_point %d killed %d restart %.1f ms: %s\n",
                (unsigned long long)seed, kill_point, killed, (double)t->restart_ns_last / 1e6,
                rc == 0 ? "ok" : "FAILED");
    if (rc != 0)
        fprintf(stderr, "kill9_cb: reproduce with --first %llu --seeds 1 --verbose\n",
                (unsigned long long)seed);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "--child") == 0) {
        kill_at = atoi(argv[5]);
        if (read_key(argv[6]) != 0)
            return 2;
        return child(atoi(argv[2]), argv[3], strtoull(argv[4], NULL, 10));
    }
    uint64_t seeds = 200, first = 1, kill_max = 35;
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
        fprintf(stderr, "kill9_cb: --power-loss needs --sync batched (before_send loses nothing)\n");
        return 2;
    }
    char self[4096], key_path[128];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return 2;
    self[len] = '\0';
    snprintf(key_path, sizeof key_path, "/tmp/nd-kill9cb-%d.pem", (int)getpid());
    if (make_keys(key_path) != 0) {
        fprintf(stderr, "kill9_cb: cannot make the ES256 key\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    totals_t t;
    memset(&t, 0, sizeof t);
    int rc = 0;
    for (uint64_t seed = first; rc == 0 && seed < first + seeds; seed++)
        rc = one_seed(self, key_path, seed, kill_max, power, verbose, &t);
    unlink(key_path);
    if (rc == 0)
        print_totals(&t, seeds, power);
    return rc;
}
