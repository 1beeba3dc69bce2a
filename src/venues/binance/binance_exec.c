/* binance_exec.c: Binance Spot as a live order venue behind nd_exec_venue_t, with the order
 * journal and reconciliation (reconcile.h).
 *
 * Threads: the caller's (the engine's event loop) owns the adapter's state, the journal's
 * appends and the local view; one worker thread owns the REST client's blocking side. They
 * share two rings under one mutex: jobs (prepared requests) and results (parsed answers).
 * With a loop attached (nd_binance_exec_attach_loop) and journal.sync batched, new orders and
 * cancels leave from the loop's thread itself on the REST client's non-blocking connection,
 * reserved for them (no poll or query queues ahead), and their answers join the worker's in
 * the result ring; queries, polls, the cancel-all and reconciliation stay on the worker.
 * Invariants: an intent is appended to the journal before its job is queued or sent, and
 * nd_journal_before_send is called before sending (durable, or written and handed to the
 * journal's syncer: journal.sync), so no request leaves without its intent written;
 * jobs queued plus results not yet taken never exceed queue_max, so a result always has room;
 * a venue trade is booked once (by trade id, in the local view) and reported as a FILL once;
 * an order's CANCELLED or EXPIRED is reported only after all its fills. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/log.h"
#include "noderr/order_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_CAP_MAX ND_OADAPTER_QUEUE_MAX
#define TRADES_PAGE 100     /* myTrades limit per request */
/* Open orders parsed per symbol: Binance's MAX_NUM_ORDERS is 200, but an account with a raised
 * limit, and exchange-sim, hold more; an emergency shutdown must read every order its cancel-all
 * answers with (bench_shutdown: 500 a symbol). About 40 tokens an order. */
#define OPEN_MAX 1024
#define UPDATES_MAX ND_OADAPTER_UPDATES_MAX
#define TOKENS_MAX 65536
#define CANCEL_ALL_RETRY_NS (200 * ND_NS_PER_MS) /* a failed cancel-all is sent again after */
#define DIRECT_MAX 16       /* orders and cancels on their way from the loop at once */
#define LOOP_TOKENS_MAX 4096 /* an order's answer parsed on the loop (fills included) */

typedef enum job_kind {
    JOB_NEW = 1,
    JOB_CANCEL = 2,
    JOB_QUERY = 3,
    JOB_SYNC = 4,
    JOB_CANCEL_ALL = 5 /* DELETE /api/v3/openOrders: every open order on the symbol */
} job_kind_t;

typedef struct job {
    job_kind_t kind;
    char clid[ND_CLID_SIZE];
    nd_binance_request_t req;  /* NEW, CANCEL, QUERY; SYNC: myTrades */
    nd_binance_request_t req2; /* SYNC: openOrders */
    bool recon;                /* SYNC: also the account's balances, for a reconciliation */
    int64_t from_id;           /* SYNC: myTrades fromId */
} job_t;

typedef struct result {
    job_kind_t kind;
    char clid[ND_CLID_SIZE];
    bool sent;                 /* the request went on the wire (or may have) */
    bool answered;             /* an HTTP answer came back */
    long http_status;
    nd_reject_t reject;
    int64_t venue_code;
    bool duplicate;            /* -2010 "Duplicate order sent." */
    bool has_order;
    nd_recon_order_t order;    /* NEW, CANCEL, QUERY: the venue's order */
    bool sync_ok;              /* SYNC: trades and open orders parsed into the adapter;
                                  CANCEL_ALL: the cancelled orders parsed into gone[] */
    bool recon_ok;             /* SYNC with recon: balances read, and no trade since myTrades */
    nd_recon_asset_t balances[2]; /* SYNC with recon: base, quote (free + locked) */
    bool direct;               /* NEW, CANCEL: sent from the loop (counted in direct_unprocessed) */
} result_t;

/* What the adapter tracks per local order (same index as local->orders). */
typedef struct ostate {
    int64_t deadline_ns;       /* an unanswered new order cannot reach the venue after this */
    int64_t exec_qty;          /* the venue's executedQty with pending_status */
    nd_recon_status_t pending_status; /* a terminal status to report once fills catch up */
    bool has_pending;
    bool query_wanted, query_in_flight;
    bool unanswered;           /* the new order's answer was lost: resolve by query */
    bool covered;              /* a cancel-all queued after it answers for it */
    bool by_worker;            /* its new order went by the worker: so does its cancel */
} ostate_t;

/* An order or cancel on its way from the loop (the answer's context). */
typedef struct direct {
    nd_binance_exec_t *x;
    job_kind_t kind;
    char clid[ND_CLID_SIZE];
    int64_t sent_ns;           /* monotonic */
    bool busy;
} direct_t;

struct nd_binance_exec {
    nd_oadapter_t core;        /* first: the shared exec ops take the adapter as the core */
    nd_binance_exec_config_t cfg;
    nd_exec_venue_facts_t facts;
    /* worker-owned while a SYNC runs, caller-owned once its result is taken */
    nd_recon_trade_t sync_trades[TRADES_PAGE];
    uint32_t sync_trade_count;
    nd_recon_order_t sync_open[OPEN_MAX];
    uint32_t sync_open_count;
    /* worker-owned while a CANCEL_ALL runs, caller-owned once its result is taken */
    nd_recon_order_t *gone;    /* OPEN_MAX: the orders the cancel-all cancelled */
    uint32_t gone_count;
    bool cancel_all_wanted;    /* asked for, queued as soon as there is room */
    bool cancel_all_in_flight;
    int64_t cancel_all_after_ns; /* a failed one is retried from then on */
    nd_jtok_t *tok;            /* the worker's tokenizer room */
    bool sync_in_flight;
    int64_t next_sync_ns;      /* the next status poll */
    int64_t last_sync_ns;      /* when the last one was queued */
    ostate_t st[ND_RECON_ORDERS_MAX];
    nd_binance_exec_stats_t stats;
    bool outage;               /* a request went unanswered since the last good sync */
    bool recon_wanted;         /* reconcile on the next sync (after an outage or a resync) */
    nd_recon_policy_t policy;  /* of the start's reconciliation, for those in the session */
    nd_recon_order_t recon_open[OPEN_MAX]; /* a session reconciliation's venue view */
    int mark_fd;               /* the send marks file (cfg.sending_path), -1: none */
    bool marks_trusted;        /* the marks read at recover are from this boot */
    bool marks_broken;         /* no marks file and a stale one cannot be removed: no sends */
    char *marks;               /* their text (client order ids, one a line), nd_alloc'd */
    bool direct_on;            /* a loop is attached and journal.sync is batched */
    direct_t direct[DIRECT_MAX];
    uint32_t direct_unprocessed; /* loop-sent orders and cancels whose result is not taken yet */
    nd_jtok_t *loop_tok;       /* the loop's tokenizer room (LOOP_TOKENS_MAX) */
};

/* Brings the next status poll forward (fills to fetch), but never closer than half
 * the interval to the last one: a busy order flow must not turn polling into a weight storm
 * (myTrades 20 + openOrders 6 of Binance's 6000 a minute). */
static void sync_soon(nd_binance_exec_t *x)
{
    int64_t soonest = x->last_sync_ns + x->cfg.poll_interval_ns / 2;
    if (soonest < x->next_sync_ns)
        x->next_sync_ns = soonest;
}

static void hook(nd_binance_exec_t *x, const char *point)
{
    if (x->cfg.hook_cb)
        x->cfg.hook_cb(x->cfg.hook_ctx, point);
}

/* ---- Parsing the venue's JSON (worker thread) --------------------------------------------- */

static nd_recon_status_t status_of(const char *text, const nd_jtok_t *t)
{
    if (nd_json_eq(text, t, "NEW") || nd_json_eq(text, t, "PARTIALLY_FILLED") ||
        nd_json_eq(text, t, "PENDING_NEW"))
        return ND_RECON_OPEN;
    if (nd_json_eq(text, t, "FILLED"))
        return ND_RECON_FILLED;
    if (nd_json_eq(text, t, "CANCELED") || nd_json_eq(text, t, "PENDING_CANCEL"))
        return ND_RECON_CANCELLED;
    if (nd_json_eq(text, t, "EXPIRED") || nd_json_eq(text, t, "EXPIRED_IN_MATCH"))
        return ND_RECON_EXPIRED;
    if (nd_json_eq(text, t, "REJECTED"))
        return ND_RECON_REJECTED;
    return ND_RECON_UNKNOWN;
}

/* A decimal string field at 8 decimals (0 when absent), false when malformed. */
static bool dec_field(const char *text, const nd_jtok_t *tok, uint32_t obj, const char *key,
                      int64_t *out)
{
    uint32_t v = nd_json_get(text, tok, obj, key);
    *out = 0;
    if (!v)
        return true;
    if (tok[v].type != ND_J_STRING)
        return false;
    return nd_venue_decimal(text + tok[v].start, tok[v].end - tok[v].start, ND_VENUE_DECIMALS,
                            out) == ND_OK;
}

static bool int_field(const char *text, const nd_jtok_t *tok, uint32_t obj, const char *key,
                      int64_t *out)
{
    uint32_t v = nd_json_get(text, tok, obj, key);
    return v && nd_json_int(text, &tok[v], out) == ND_OK;
}

/* An order object (new-order answer, cancel answer, query, openOrders element). */
static bool parse_order(const char *text, const nd_jtok_t *tok, uint32_t obj, uint32_t inst,
                        nd_recon_order_t *o)
{
    memset(o, 0, sizeof *o);
    o->instrument_id = inst;
    uint32_t c = nd_json_get(text, tok, obj, "clientOrderId");
    uint32_t st = nd_json_get(text, tok, obj, "status");
    uint32_t side = nd_json_get(text, tok, obj, "side");
    uint32_t type = nd_json_get(text, tok, obj, "type");
    if (!c || !st || tok[c].type != ND_J_STRING ||
        nd_json_string(text, &tok[c], o->clid, sizeof o->clid, NULL) != ND_OK)
        return false;
    o->status = status_of(text, &tok[st]);
    o->side = side && nd_json_eq(text, &tok[side], "SELL") ? ND_SIDE_SELL : ND_SIDE_BUY;
    o->type = type && nd_json_eq(text, &tok[type], "MARKET") ? ND_ORDER_MARKET : ND_ORDER_LIMIT;
    return int_field(text, tok, obj, "orderId", &o->venue_id) &&
           dec_field(text, tok, obj, "price", &o->px) &&
           dec_field(text, tok, obj, "origQty", &o->qty) &&
           dec_field(text, tok, obj, "executedQty", &o->filled_qty) &&
           o->status != ND_RECON_UNKNOWN;
}

/* A myTrades element. */
static bool parse_trade(const char *text, const nd_jtok_t *tok, uint32_t obj, uint32_t inst,
                        nd_recon_trade_t *t)
{
    memset(t, 0, sizeof *t);
    t->instrument_id = inst;
    uint32_t buyer = nd_json_get(text, tok, obj, "isBuyer");
    uint32_t maker = nd_json_get(text, tok, obj, "isMaker");
    int64_t ms = 0;
    if (!buyer || !maker || !int_field(text, tok, obj, "time", &ms))
        return false;
    t->side = tok[buyer].type == ND_J_TRUE ? ND_SIDE_BUY : ND_SIDE_SELL;
    t->maker = tok[maker].type == ND_J_TRUE;
    t->ts_ns = ms * ND_NS_PER_MS;
    /* commissionAsset: the asset received unless fees are paid in BNB (absent: received). */
    uint32_t asset = nd_json_get(text, tok, obj, "commissionAsset");
    if (asset && (tok[asset].type != ND_J_STRING ||
                  nd_json_string(text, &tok[asset], t->commission_asset,
                                 sizeof t->commission_asset, NULL) != ND_OK))
        return false;
    return int_field(text, tok, obj, "id", &t->trade_id) && t->trade_id > 0 &&
           int_field(text, tok, obj, "orderId", &t->venue_order_id) &&
           dec_field(text, tok, obj, "price", &t->px) && dec_field(text, tok, obj, "qty", &t->qty) &&
           dec_field(text, tok, obj, "quoteQty", &t->quote_qty) &&
           dec_field(text, tok, obj, "commission", &t->commission) && t->qty > 0;
}

/* Parses a JSON array of orders or trades into the adapter's sync buffers. */
static bool parse_array(nd_binance_exec_t *x, const nd_binance_rest_result_t *res, bool trades)
{
    uint32_t count = 0;
    if (res->http_status != 200 ||
        nd_json_tokenize(res->body, res->body_len, x->tok, TOKENS_MAX, &count) != ND_OK ||
        x->tok[0].type != ND_J_ARRAY)
        return false;
    uint32_t n = x->tok[0].size, at = 1;
    if (n > (trades ? TRADES_PAGE : OPEN_MAX))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        bool ok = trades ? parse_trade(res->body, x->tok, at, x->cfg.instrument_id,
                                       &x->sync_trades[i])
                         : parse_order(res->body, x->tok, at, x->cfg.instrument_id,
                                       &x->sync_open[i]);
        if (!ok)
            return false;
        at = x->tok[at].next;
    }
    if (trades)
        x->sync_trade_count = n;
    else
        x->sync_open_count = n;
    return true;
}

/* ---- The worker ------------------------------------------------------------------------ */

/* An order's, a cancel's or a query's answer into r (tok: the calling thread's room). */
static void read_answer(const nd_binance_exec_t *x, nd_jtok_t *tok, uint32_t tok_max,
                        const nd_binance_rest_result_t *res, result_t *r)
{
    r->answered = true;
    r->http_status = res->http_status;
    r->reject = res->reject;
    r->venue_code = res->venue_code;
    r->duplicate = res->venue_code == -2010 && strstr(res->venue_msg, "Duplicate") != NULL;
    uint32_t count = 0;
    if (res->http_status == 200 &&
        nd_json_tokenize(res->body, res->body_len, tok, tok_max, &count) == ND_OK &&
        tok[0].type == ND_J_OBJECT)
        r->has_order = parse_order(res->body, tok, 0, x->cfg.instrument_id, &r->order);
}

/* Sends one prepared request and reads the answer into r (the order, for NEW/CANCEL/QUERY). */
static void run_request(nd_binance_exec_t *x, const job_t *j, result_t *r)
{
    char err[256] = "";
    nd_binance_rest_result_t res;
    r->sent = true;
    nd_err_t rc = nd_binance_rest_send(x->cfg.rest, &j->req, &res, err, sizeof err);
    if (rc == ND_EAGAIN || rc == ND_ESTATE || rc == ND_EINVAL)
        r->sent = false; /* the rate-limit gate or a ban: nothing left */
    if (rc != ND_OK) {
        ND_LOG(ND_LOG_WARN, "venue=binance event=request_failed kind=%d clid=%s err=\"%s\"",
               (int)j->kind, j->clid, err);
        return;
    }
    read_answer(x, x->tok, TOKENS_MAX, &res, r);
    nd_binance_rest_result_free(&res);
}

static bool read_balances(nd_binance_exec_t *x, nd_recon_asset_t out[2], char *err,
                          size_t err_len);
static bool trades_after(nd_binance_exec_t *x, int64_t last);

static void run_sync(nd_binance_exec_t *x, const job_t *j, result_t *r)
{
    char err[256] = "";
    nd_binance_rest_result_t res;
    r->sent = true;
    x->sync_trade_count = x->sync_open_count = 0;
    if (nd_binance_rest_send(x->cfg.rest, &j->req, &res, err, sizeof err) != ND_OK)
        return;
    bool ok = parse_array(x, &res, true);
    nd_binance_rest_result_free(&res);
    if (!ok || nd_binance_rest_send(x->cfg.rest, &j->req2, &res, err, sizeof err) != ND_OK)
        return;
    r->sync_ok = parse_array(x, &res, false);
    r->answered = true;
    nd_binance_rest_result_free(&res);
    if (!r->sync_ok || !j->recon || x->sync_trade_count == TRADES_PAGE)
        return;
    /* Balances agree with the trades only when no trade came between: look again after. */
    int64_t last = x->sync_trade_count ? x->sync_trades[x->sync_trade_count - 1].trade_id
                                       : j->from_id;
    r->recon_ok = read_balances(x, r->balances, err, sizeof err) && !trades_after(x, last);
}

/* ---- Send marks ------------------------------------------------------------------------
 * A new order's client order id is written (write(2), no sync) to cfg.sending_path after its
 * intent is durable and before its request leaves, under a header naming the boot. After a
 * process death on the same boot the page cache keeps every such write, so an unanswered intent
 * without a mark never left and needs no wait for its recvWindow; after a reboot (the header's
 * boot differs) the marks prove nothing and every unknown intent is waited out as before. */

static bool boot_id(char out[40])
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, out, 39) : -1;
    if (fd >= 0)
        close(fd);
    if (n < 32)
        return false;
    out[n] = '\0';
    out[strcspn(out, "\n")] = '\0';
    return true;
}

static bool marked(const nd_binance_exec_t *x, const char *clid);
static bool mark_sending(nd_binance_exec_t *x, const char *clid);

/* Reads the marks the last run left (trusted when written on this boot), then starts the
 * file again with this boot's header. */
static void marks_open(nd_binance_exec_t *x)
{
    char boot[40], err[256], *text = NULL;
    size_t len = 0;
    if (!x->cfg.sending_path || !boot_id(boot))
        return;
    if (nd_file_read(x->cfg.sending_path, 64u << 20, 0, &text, &len, err, sizeof err) == ND_OK) {
        size_t head = strlen("boot ") + strlen(boot);
        x->marks_trusted = len > head && strncmp(text, "boot ", 5) == 0 &&
                           strncmp(text + 5, boot, strlen(boot)) == 0 && text[head] == '\n';
        x->marks = text;
    }
    x->mark_fd = open(x->cfg.sending_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                      0600);
    char line[64];
    int n = snprintf(line, sizeof line, "boot %s\n", boot);
    bool ok = x->mark_fd >= 0 && write(x->mark_fd, line, (size_t)n) == n;
    /* Carried over: the mark of every intent still unanswered that had one, and when the old
     * marks prove nothing (another boot, none) every unanswered intent, so that a restart that
     * dies before resolving them leaves the next one no less careful (a mark only costs the
     * query-then-wait path). */
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; ok && i < l->order_count; i++)
        if (l->orders[i].status == ND_RECON_SENT &&
            (!x->marks_trusted || marked(x, l->orders[i].clid)))
            ok = mark_sending(x, l->orders[i].clid);
    if (!ok && x->mark_fd >= 0) {
        close(x->mark_fd);
        x->mark_fd = -1;
    }
    if (x->mark_fd >= 0)
        return;
    /* No marks this run: a stale file of this boot must not vouch for this run's sends. */
    x->marks_broken = unlink(x->cfg.sending_path) != 0 && errno != ENOENT;
    ND_LOG(x->marks_broken ? ND_LOG_ERR : ND_LOG_WARN, "venue=binance event=send_marks_off "
           "refusing_orders=%d err=\"%s\"", (int)x->marks_broken, strerror(errno));
}

/* True when the last run marked clid as sending (only meaningful when marks_trusted). */
static bool marked(const nd_binance_exec_t *x, const char *clid)
{
    size_t n = strlen(clid);
    for (const char *at = x->marks ? strchr(x->marks, '\n') : NULL; at; at = strchr(at + 1, '\n'))
        if (strncmp(at + 1, clid, n) == 0 && at[1 + n] == '\n')
            return true;
    return false;
}

/* Marks clid as sending; false when the mark is not written (then the request must not leave,
 * or a restart could take it for never sent). No marks file: true. */
static bool mark_sending(nd_binance_exec_t *x, const char *clid)
{
    if (x->mark_fd < 0)
        return !x->marks_broken;
    char line[ND_CLID_SIZE + 1];
    int n = snprintf(line, sizeof line, "%s\n", clid);
    return write(x->mark_fd, line, (size_t)n) == n;
}

/* The cancel-all's answer: the orders it cancelled (Binance names each by origClientOrderId; its
 * clientOrderId is the cancel's own id), or -2011 when nothing was open. */
static void run_cancel_all(nd_binance_exec_t *x, const job_t *j, result_t *r)
{
    char err[256] = "";
    nd_binance_rest_result_t res;
    uint32_t count = 0;
    r->sent = true;
    x->gone_count = 0;
    if (nd_binance_rest_send(x->cfg.rest, &j->req, &res, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_WARN, "venue=binance event=request_failed kind=cancel_all err=\"%s\"", err);
        return;
    }
    r->answered = true;
    r->http_status = res.http_status;
    r->venue_code = res.venue_code;
    r->sync_ok = res.venue_code == -2011; /* "Unknown order sent.": none was open */
    if (res.http_status == 200 &&
        nd_json_tokenize(res.body, res.body_len, x->tok, TOKENS_MAX, &count) == ND_OK &&
        x->tok[0].type == ND_J_ARRAY && x->tok[0].size <= OPEN_MAX) {
        r->sync_ok = true;
        for (uint32_t i = 0, at = 1; i < x->tok[0].size; i++, at = x->tok[at].next) {
            nd_recon_order_t *o = &x->gone[x->gone_count];
            if (!parse_order(res.body, x->tok, at, x->cfg.instrument_id, o))
                continue; /* e.g. an order list's entry: not one of ours */
            uint32_t orig = nd_json_get(res.body, x->tok, at, "origClientOrderId");
            if (orig && x->tok[orig].type == ND_J_STRING &&
                nd_json_string(res.body, &x->tok[orig], o->clid, sizeof o->clid, NULL) != ND_OK)
                continue;
            x->gone_count++;
        }
    }
    nd_binance_rest_result_free(&res);
}

static void run_job(nd_binance_exec_t *x, const job_t *j, result_t *r)
{
    memset(r, 0, sizeof *r);
    r->kind = j->kind;
    memcpy(r->clid, j->clid, sizeof r->clid);
    if (j->kind == JOB_NEW || j->kind == JOB_CANCEL || j->kind == JOB_CANCEL_ALL) {
        if (nd_journal_before_send(x->cfg.journal) != ND_OK) {
            ND_LOG(ND_LOG_ERR, "venue=binance event=journal_sync_failed clid=%s", j->clid);
            return; /* not durable: not sent */
        }
        hook(x, "synced");
        if (j->kind == JOB_NEW && !mark_sending(x, j->clid)) {
            ND_LOG(ND_LOG_ERR, "venue=binance event=send_mark_failed clid=%s", j->clid);
            nd_journal_after_send(x->cfg.journal);
            return; /* unmarked: not sent */
        }
    }
    int64_t sent_ns = nd_clock_mono_ns(x->cfg.clock);
    if (j->kind == JOB_SYNC)
        run_sync(x, j, r);
    else if (j->kind == JOB_CANCEL_ALL)
        run_cancel_all(x, j, r);
    else
        run_request(x, j, r);
    if ((j->kind == JOB_NEW || j->kind == JOB_CANCEL) && r->answered) {
        int64_t rtt = nd_clock_mono_ns(x->cfg.clock) - sent_ns;
        if (x->cfg.round_trip)
            nd_prom_observe(x->cfg.round_trip, rtt);
        /* Read by the loop's thread (nd_binance_exec_stats): whole values, no lock. */
        nd_oadapter_round_trip(&x->core, rtt);
    }
    if (j->kind == JOB_NEW || j->kind == JOB_CANCEL || j->kind == JOB_CANCEL_ALL)
        nd_journal_after_send(x->cfg.journal); /* the syncer's wake, after the round trip */
    hook(x, "sent");
}

/* The worker's side (order_adapter.h): one job sent, its answer into result. */
static void run_cb(void *ctx, const void *job, void *result)
{
    run_job(ctx, job, result);
}

/* ---- Sending from the loop (caller thread) ------------------------------------------------
 * A new order or a cancel leaves on the REST client's non-blocking connection as soon as it is
 * journaled: before_send, the send mark, the request's bytes written, then after_send (the
 * syncer's wake, once the request is out). The answer comes back on the loop (direct_done) as a
 * result in the core's ring, taken by the next poll like the worker's. */

static direct_t *direct_slot(nd_binance_exec_t *x)
{
    for (int i = 0; x->direct_on && i < DIRECT_MAX; i++)
        if (!x->direct[i].busy)
            return &x->direct[i];
    return NULL;
}

static void direct_done(void *ctx, nd_err_t rc, const nd_binance_rest_result_t *res,
                        const char *err)
{
    direct_t *d = ctx;
    nd_binance_exec_t *x = d->x;
    ND_ASSERT(d->busy);
    result_t r;
    memset(&r, 0, sizeof r);
    r.kind = d->kind;
    memcpy(r.clid, d->clid, sizeof r.clid);
    r.sent = true;
    r.direct = true;
    d->busy = false;
    if (rc != ND_OK) {
        ND_LOG(ND_LOG_WARN, "venue=binance event=request_failed kind=%d clid=%s err=\"%s\"",
               (int)r.kind, r.clid, err);
    } else {
        read_answer(x, x->loop_tok, LOOP_TOKENS_MAX, res, &r);
        int64_t rtt = nd_clock_mono_ns(x->cfg.clock) - d->sent_ns;
        if (x->cfg.round_trip)
            nd_prom_observe(x->cfg.round_trip, rtt);
        nd_oadapter_round_trip(&x->core, rtt);
    }
    hook(x, "sent");
    nd_oadapter_put_result(&x->core, &r);
}

/* Sends journaled job j (NEW or CANCEL) from the loop in slot d; the room was checked. The
 * request in j is wiped after. */
static void send_direct(nd_binance_exec_t *x, direct_t *d, job_t *j)
{
    result_t r;
    memset(&r, 0, sizeof r);
    r.kind = j->kind;
    memcpy(r.clid, j->clid, sizeof r.clid);
    r.direct = true;
    x->direct_unprocessed++; /* every path below puts exactly one result */
    nd_oadapter_begin_direct(&x->core);
    char err[256] = "";
    nd_err_t rc = nd_journal_before_send(x->cfg.journal);
    if (rc != ND_OK) {
        ND_LOG(ND_LOG_ERR, "venue=binance event=journal_sync_failed clid=%s", j->clid);
        nd_oadapter_put_result(&x->core, &r); /* not durable: not sent */
        return;
    }
    hook(x, "synced");
    if (j->kind == JOB_NEW && !mark_sending(x, j->clid)) {
        ND_LOG(ND_LOG_ERR, "venue=binance event=send_mark_failed clid=%s", j->clid);
        rc = ND_EIO;
    }
    if (rc == ND_OK) {
        *d = (direct_t){.x = x, .kind = j->kind, .sent_ns = nd_clock_mono_ns(x->cfg.clock),
                        .busy = true};
        memcpy(d->clid, j->clid, sizeof d->clid);
        rc = nd_binance_rest_send_async(x->cfg.rest, &j->req, direct_done, d, err, sizeof err);
        if (rc != ND_OK) {
            d->busy = false;
            r.sent = rc == ND_EIO; /* the gate, a ban, no room: nothing left */
            ND_LOG(ND_LOG_WARN, "venue=binance event=request_failed kind=%d clid=%s "
                   "err=\"%s\"", (int)j->kind, j->clid, err);
        }
    }
    nd_journal_after_send(x->cfg.journal);
    explicit_bzero(&j->req, sizeof j->req);
    if (rc != ND_OK)
        nd_oadapter_put_result(&x->core, &r);
}

nd_err_t nd_binance_exec_attach_loop(nd_binance_exec_t *x, void *uv_loop, char *err,
                                     size_t err_len)
{
    ND_ASSERT(x != NULL && uv_loop != NULL);
    ND_ASSERT(!x->direct_on);
    if (nd_journal_mode(x->cfg.journal) != ND_JOURNAL_SYNC_BATCHED)
        return ND_OK; /* before_send: the fdatasync would block the loop: the worker sends */
    x->loop_tok = nd_calloc(LOOP_TOKENS_MAX, sizeof *x->loop_tok);
    if (!x->loop_tok)
        return ND_ENOMEM;
    nd_err_t rc = nd_binance_rest_attach_loop(x->cfg.rest, uv_loop, err, err_len);
    x->direct_on = rc == ND_OK;
    return rc;
}

void nd_binance_exec_detach_loop(nd_binance_exec_t *x)
{
    if (!x || !x->direct_on)
        return;
    /* What is on its way stays an unanswered intent: the next start asks the venue. */
    nd_binance_rest_detach_loop(x->cfg.rest);
    memset(x->direct, 0, sizeof x->direct);
    x->direct_on = false;
}

/* ---- Results into the journal, the local view and order updates (caller thread) ------------ */

/* The first sign that an order reached the venue: OPEN with its id, ACCEPTED. */
static void accept(nd_binance_exec_t *x, int idx, int64_t venue_id, int64_t now_ns)
{
    nd_recon_order_t *o = &x->cfg.local->orders[idx];
    x->st[idx].unanswered = false;
    if (o->status != ND_RECON_SENT && o->status != ND_RECON_DROPPED)
        return;
    nd_oadapter_book_status(&x->core, idx, ND_RECON_OPEN, venue_id, ND_REJECT_NONE, now_ns);
    nd_oadapter_emit(&x->core, o->clid, ND_UPDATE_ACCEPTED, venue_id, ND_REJECT_NONE, now_ns);
    x->stats.accepted++;
}

/* The venue says the order is done: report it once its fills are booked. */
static void set_pending(nd_binance_exec_t *x, int idx, const nd_recon_order_t *vo)
{
    if (!nd_recon_status_done(vo->status))
        return;
    x->st[idx].has_pending = true;
    x->st[idx].pending_status = vo->status;
    x->st[idx].exec_qty = vo->filled_qty;
    sync_soon(x); /* fetch the fills */
}

static void flush_pending(nd_binance_exec_t *x, int64_t now_ns)
{
    nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        ostate_t *s = &x->st[i];
        if (!s->has_pending || l->orders[i].filled_qty < s->exec_qty ||
            nd_oadapter_update_room(&x->core) < 2)
            continue;
        s->has_pending = false;
        if (nd_recon_status_done(l->orders[i].status))
            continue;
        nd_oadapter_book_status(&x->core, (int)i, s->pending_status, 0, ND_REJECT_NONE, now_ns);
        if (s->pending_status == ND_RECON_CANCELLED || s->pending_status == ND_RECON_EXPIRED) {
            nd_oadapter_emit(&x->core, l->orders[i].clid,
                 s->pending_status == ND_RECON_CANCELLED ? ND_UPDATE_CANCELLED : ND_UPDATE_EXPIRED,
                 l->orders[i].venue_id, ND_REJECT_NONE, now_ns);
            if (s->pending_status == ND_RECON_CANCELLED)
                x->stats.cancelled++;
            else
                x->stats.expired++;
        }
    }
}

/* Books a venue trade once: the journal, the local view and a FILL for the engine. */
static void book_trade(nd_binance_exec_t *x, const nd_recon_trade_t *vt, int64_t now_ns)
{
    if (nd_oadapter_book_trade(&x->core, vt, now_ns) > 0)
        x->stats.fills++;
}

void nd_binance_exec_fill_of(const nd_recon_trade_t *vt, const nd_recon_instrument_t *assets,
                             uint64_t client_id, uint32_t strategy, uint32_t instrument_id,
                             nd_fill_t *f)
{
    nd_oadapter_fill_of(vt, assets, client_id, strategy, instrument_id, f);
}

static void process_new(nd_binance_exec_t *x, int idx, const result_t *r, int64_t now_ns)
{
    const char *clid = x->cfg.local->orders[idx].clid;
    x->st[idx].by_worker = false; /* answered: its cancel may take the loop's way */
    if (!r->sent) {
        nd_reject_t why = r->reject ? r->reject : ND_REJECT_VENUE_RATE_LIMITED;
        nd_oadapter_book_status(&x->core, idx, ND_RECON_DROPPED, 0, why, now_ns);
        nd_oadapter_emit(&x->core, clid, ND_UPDATE_REJECTED, 0, why, now_ns);
        x->stats.rejected++;
    } else if (!r->answered || r->reject == ND_REJECT_VENUE_STATUS_UNKNOWN || r->duplicate ||
               (r->reject == ND_REJECT_NONE && !r->has_order)) {
        x->st[idx].unanswered = true; /* maybe at the venue: ask */
        x->st[idx].query_wanted = true;
        x->stats.unknown++;
    } else if (r->reject != ND_REJECT_NONE) {
        nd_oadapter_book_status(&x->core, idx, ND_RECON_REJECTED, 0, r->reject, now_ns);
        nd_oadapter_emit(&x->core, clid, ND_UPDATE_REJECTED, 0, r->reject, now_ns);
        x->stats.rejected++;
    } else {
        accept(x, idx, r->order.venue_id, now_ns);
        set_pending(x, idx, &r->order);
        if (r->order.filled_qty > 0)
            sync_soon(x);
    }
}

static void process_cancel(nd_binance_exec_t *x, int idx, const result_t *r, int64_t now_ns)
{
    if (r->answered && r->has_order) {
        accept(x, idx, r->order.venue_id, now_ns);
        set_pending(x, idx, &r->order);
        return;
    }
    /* Too late (-2011: already done), or no answer: the engine keeps the order working until
     * the query tells how it ended. */
    nd_oadapter_emit(&x->core, x->cfg.local->orders[idx].clid, ND_UPDATE_CANCEL_REJECTED,
         x->cfg.local->orders[idx].venue_id, ND_REJECT_NONE, now_ns);
    x->stats.cancel_rejected++;
    x->st[idx].query_wanted = true;
}

static void process_query(nd_binance_exec_t *x, int idx, const result_t *r, int64_t now_ns)
{
    nd_recon_order_t *o = &x->cfg.local->orders[idx];
    x->st[idx].query_in_flight = false;
    if (r->answered && r->has_order) {
        accept(x, idx, r->order.venue_id, now_ns);
        set_pending(x, idx, &r->order);
        return;
    }
    bool unknown = r->answered && r->reject == ND_REJECT_VENUE_UNKNOWN_ORDER;
    if (unknown && o->status == ND_RECON_SENT && now_ns >= x->st[idx].deadline_ns) {
        /* Past its recvWindow the venue refuses the request if it ever arrives: never sent. */
        x->st[idx].unanswered = false;
        nd_oadapter_book_status(&x->core, idx, ND_RECON_DROPPED, 0, ND_REJECT_VENUE_STATUS_UNKNOWN, now_ns);
        nd_oadapter_emit(&x->core, o->clid, ND_UPDATE_REJECTED, 0, ND_REJECT_VENUE_STATUS_UNKNOWN, now_ns);
        x->stats.rejected++;
    } else if (unknown && o->status == ND_RECON_OPEN) {
        ND_LOG(ND_LOG_WARN, "venue=binance event=order_vanished clid=%s", o->clid);
        nd_recon_order_t gone = *o;
        gone.status = ND_RECON_CANCELLED;
        set_pending(x, idx, &gone);
    } else {
        x->st[idx].query_wanted = true; /* ask again on the next round */
    }
}

static bool in_open(const nd_binance_exec_t *x, const char *clid)
{
    for (uint32_t i = 0; i < x->sync_open_count; i++)
        if (strcmp(x->sync_open[i].clid, clid) == 0)
            return true;
    return false;
}

static nd_err_t prepare_by_clid(nd_binance_exec_t *x, const char *method, const char *clid,
                                nd_binance_request_t *req);

/* A reconciliation in the session, after an outage or a resync (the market stream came back):
 * what polling does not see. The local orders are followed by polling (trades from the last
 * one booked, queries of orders that left the open list), so the view holds only the open
 * orders the local view does not know (ours: UNKNOWN_OURS, another program's: FOREIGN) and the
 * balances, compared with every trade booked (just now included). Each difference is journaled
 * and logged as at start; an unknown order of ours is cancelled (by the default policy), a
 * balance difference is a halt the session acts on (stats.recon_halts). */
static void reconcile_live(nd_binance_exec_t *x, const result_t *r, int64_t now_ns)
{
    nd_recon_local_t *l = x->cfg.local;
    uint32_t n_open = 0;
    for (uint32_t i = 0; i < x->sync_open_count; i++)
        if (!nd_recon_find(l, x->sync_open[i].clid))
            x->recon_open[n_open++] = x->sync_open[i];
    nd_recon_venue_t v = {.open = x->recon_open, .open_count = n_open,
                          .balances = r->balances, .balance_count = 2, .has_balances = true};
    nd_recon_diff_t diffs[16];
    size_t n = 0;
    nd_err_t rc = nd_recon_compare(l, &v, x->cfg.tag, &x->cfg.assets, 1, &x->policy, diffs,
                                   16, &n);
    ND_ASSERT(rc == ND_OK || rc == ND_EFULL);
    x->recon_wanted = false;
    x->stats.reconciliations++;
    x->stats.recon_diffs += n;
    for (size_t i = 0; i < n && i < 16; i++) {
        nd_journal_rec_t rec;
        nd_journal_rec_of_diff(&diffs[i], now_ns, &rec);
        (void)nd_oadapter_journal(&x->core, &rec);
        ND_LOG(ND_LOG_WARN, "venue=binance event=reconcile when=session kind=%s resolution=%s "
               "clid=%s asset=%s local=%" PRId64 " venue=%" PRId64,
               nd_recon_kind_name(diffs[i].kind), nd_recon_resolution_name(diffs[i].resolution),
               diffs[i].order.clid, diffs[i].venue.asset, diffs[i].local.amount,
               diffs[i].venue.amount);
        job_t j = {.kind = JOB_CANCEL};
        memcpy(j.clid, diffs[i].order.clid, sizeof j.clid);
        if (diffs[i].resolution == ND_RESOLVE_CANCEL && nd_oadapter_room(&x->core, 1) &&
            prepare_by_clid(x, "DELETE", j.clid, &j.req) == ND_OK)
            nd_oadapter_push(&x->core, &j); /* not in the journal: its fills are the account's */
        if (diffs[i].resolution == ND_RESOLVE_HALT)
            x->stats.recon_halts++;
    }
}

static void process_sync(nd_binance_exec_t *x, const result_t *r, int64_t now_ns)
{
    x->sync_in_flight = false;
    if (!r->sync_ok) {
        x->outage = true;
        return;
    }
    if (x->outage) { /* back after requests went unanswered: reconcile on the next sync */
        x->outage = false;
        x->recon_wanted = true;
        x->stats.outages++;
        sync_soon(x);
    }
    /* A trade of an order unknown by venue id while an answer from the loop is still to be
     * taken may be that order's: its venue id comes with the answer, and booked now the fill
     * would be no one's (the worker's myTrades can overtake the loop's answer). The look stops
     * there, before it (the cursor stays), and runs again; no reconciliation on a part. */
    bool deferred = false;
    for (uint32_t i = 0; i < x->sync_trade_count && !deferred; i++) {
        deferred = x->direct_unprocessed > 0 &&
                   nd_oadapter_find_venue_id(&x->core, x->sync_trades[i].venue_order_id) < 0;
        if (!deferred)
            book_trade(x, &x->sync_trades[i], now_ns);
    }
    if (deferred || x->sync_trade_count == TRADES_PAGE)
        sync_soon(x); /* more trades wait */
    nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++)
        if (l->orders[i].status == ND_RECON_OPEN && !x->st[i].has_pending &&
            !in_open(x, l->orders[i].clid))
            x->st[i].query_wanted = true;
    if (deferred)
        return;
    if (r->recon_ok && x->recon_wanted)
        reconcile_live(x, r, now_ns);
    else if (x->recon_wanted)
        sync_soon(x); /* trades moved under the balances: again */
}

/* The orders the cancel-all cancelled are done (reported once their fills are booked); any other
 * order it covered either ended before it (the status poll, due at once, tells how) or went out
 * after. A failed cancel-all is sent again. */
static void process_cancel_all(nd_binance_exec_t *x, const result_t *r, int64_t now_ns)
{
    nd_recon_local_t *l = x->cfg.local;
    x->cancel_all_in_flight = false;
    if (!r->sync_ok) {
        ND_LOG(ND_LOG_WARN, "venue=binance event=cancel_all_failed http=%ld code=%" PRId64
               " retry_ms=%lld", r->http_status, r->venue_code,
               (long long)(CANCEL_ALL_RETRY_NS / ND_NS_PER_MS));
        x->cancel_all_wanted = true;
        x->cancel_all_after_ns = now_ns + CANCEL_ALL_RETRY_NS;
        return;
    }
    for (uint32_t g = 0; g < x->gone_count; g++) {
        int idx = nd_oadapter_find_clid(&x->core, x->gone[g].clid);
        if (idx < 0)
            continue; /* not ours (another session's, or an earlier run's compacted away) */
        accept(x, idx, x->gone[g].venue_id, now_ns);
        set_pending(x, idx, &x->gone[g]);
    }
    for (uint32_t i = 0; i < l->order_count; i++)
        x->st[i].covered = false;
    ND_LOG(ND_LOG_INFO, "venue=binance event=cancel_all_done symbol=%s cancelled=%u",
           x->cfg.symbol, x->gone_count);
    x->next_sync_ns = 0; /* confirm the rest now */
}

static void process(nd_binance_exec_t *x, const result_t *r, int64_t now_ns)
{
    if (r->direct) {
        ND_ASSERT(x->direct_unprocessed > 0);
        x->direct_unprocessed--;
    }
    /* A REST outage (no answer, a 429, a 5xx): the adapter polls until a good sync, which
     * reconciles (an order or cancel may meet it first, with nothing else in flight). */
    if (!r->answered || r->reject == ND_REJECT_VENUE_RATE_LIMITED ||
        r->reject == ND_REJECT_VENUE_STATUS_UNKNOWN)
        x->outage = true;
    if (r->kind == JOB_SYNC) {
        process_sync(x, r, now_ns);
        return;
    }
    if (r->kind == JOB_CANCEL_ALL) {
        process_cancel_all(x, r, now_ns);
        return;
    }
    int idx = nd_oadapter_find_clid(&x->core, r->clid);
    if (idx < 0) {
        ND_LOG(ND_LOG_WARN, "venue=binance event=result_for_unknown_order clid=%s", r->clid);
        return;
    }
    if (r->kind == JOB_NEW)
        process_new(x, idx, r, now_ns);
    else if (r->kind == JOB_CANCEL)
        process_cancel(x, idx, r, now_ns);
    else
        process_query(x, idx, r, now_ns);
}

/* ---- Requests (caller thread) --------------------------------------------------------- */

static nd_err_t prepare_by_clid(nd_binance_exec_t *x, const char *method, const char *clid,
                                nd_binance_request_t *req)
{
    char q[160], err[256];
    snprintf(q, sizeof q, "symbol=%s&origClientOrderId=%s", x->cfg.symbol, clid);
    nd_err_t rc = nd_binance_rest_prepare(x->cfg.rest, method, "/api/v3/order", q, true, req, err,
                                          sizeof err);
    if (rc != ND_OK)
        ND_LOG(ND_LOG_ERR, "venue=binance event=prepare_failed err=\"%s\"", err);
    return rc;
}

static nd_err_t queue_query(nd_binance_exec_t *x, int idx)
{
    job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_QUERY;
    memcpy(j.clid, x->cfg.local->orders[idx].clid, sizeof j.clid);
    nd_err_t rc = prepare_by_clid(x, "GET", j.clid, &j.req);
    if (rc != ND_OK)
        return rc;
    x->st[idx].query_wanted = false;
    x->st[idx].query_in_flight = true;
    x->stats.queries++;
    nd_oadapter_push(&x->core, &j);
    return ND_OK;
}

static nd_err_t prepare_sync(nd_binance_exec_t *x, job_t *j)
{
    char q[96], err[256];
    memset(j, 0, sizeof *j);
    j->kind = JOB_SYNC;
    j->recon = x->recon_wanted;
    /* From the last trade seen, inclusive: its other side (a self-trade) may be unbooked. */
    j->from_id = x->cfg.local->last_trade_id > 0 ? x->cfg.local->last_trade_id : 1;
    snprintf(q, sizeof q, "symbol=%s&fromId=%" PRId64 "&limit=%d", x->cfg.symbol, j->from_id,
             TRADES_PAGE);
    nd_err_t rc = nd_binance_rest_prepare(x->cfg.rest, "GET", "/api/v3/myTrades", q, true, &j->req,
                                          err, sizeof err);
    snprintf(q, sizeof q, "symbol=%s", x->cfg.symbol);
    if (rc == ND_OK)
        rc = nd_binance_rest_prepare(x->cfg.rest, "GET", "/api/v3/openOrders", q, true, &j->req2,
                                     err, sizeof err);
    if (rc != ND_OK)
        ND_LOG(ND_LOG_ERR, "venue=binance event=prepare_failed err=\"%s\"", err);
    return rc;
}

static nd_err_t queue_sync(nd_binance_exec_t *x)
{
    job_t j;
    nd_err_t rc = prepare_sync(x, &j);
    if (rc != ND_OK)
        return rc;
    x->sync_in_flight = true;
    x->stats.syncs++;
    nd_oadapter_push(&x->core, &j);
    return ND_OK;
}

static nd_err_t exec_submit(void *self, nd_order_t *o, int64_t now_ns)
{
    nd_binance_exec_t *x = self;
    ND_ASSERT(o != NULL && o->status == ND_ORDER_NEW);
    if (x->cfg.local->order_count == ND_RECON_ORDERS_MAX)
        nd_oadapter_compact(&x->core);
    /* A cancel-all waiting for room goes first: an order may not overtake it. */
    if (!nd_oadapter_room(&x->core, 1) || x->cancel_all_wanted || x->cfg.local->order_count == ND_RECON_ORDERS_MAX ||
        nd_oadapter_update_room(&x->core) <= UPDATES_MAX / 2) {
        x->stats.queue_full++;
        return ND_EFULL;
    }
    if (o->instrument_id != x->cfg.instrument_id || o->type == ND_ORDER_STOP) {
        x->stats.rejected++;
        return nd_oadapter_refuse(&x->core, o, ND_REJECT_VENUE_BAD_REQUEST, now_ns);
    }
    job_t j; /* not zeroed: 4.8 KB on the order path; every field read for a NEW is set */
    j.kind = JOB_NEW;
    memset(j.clid, 0, sizeof j.clid); /* copied whole into the journal record */
    if (nd_clid_format(x->cfg.tag, x->cfg.run, o->strategy_index, o->client_id, j.clid) != ND_OK)
        return ND_EINVAL;
    nd_binance_order_t bo = {.side = o->side == ND_SIDE_BUY ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK,
                             .type = o->type == ND_ORDER_MARKET ? ND_BINANCE_MARKET
                                                                 : ND_BINANCE_LIMIT,
                             .px = o->type == ND_ORDER_MARKET ? 0 : o->px, .qty = o->qty};
    snprintf(bo.symbol, sizeof bo.symbol, "%s", x->cfg.symbol);
    memcpy(bo.client_order_id, j.clid, sizeof bo.client_order_id);
    char err[256];
    nd_reject_t why;
    nd_err_t rc = nd_binance_rest_prepare_order(x->cfg.rest, &bo, &j.req, &why, err, sizeof err);
    if (rc != ND_OK || why != ND_REJECT_NONE) {
        x->stats.rejected++;
        return nd_oadapter_refuse(&x->core, o, rc != ND_OK ? ND_REJECT_VENUE_BAD_REQUEST : why,
                                  now_ns);
    }
    nd_journal_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_NEW;
    rec.ts_ns = j.req.prepared_ns;
    rec.order = (nd_recon_order_t){.instrument_id = o->instrument_id, .side = o->side,
                                   .type = o->type, .px = bo.px, .qty = o->qty};
    memcpy(rec.order.clid, j.clid, sizeof rec.order.clid);
    if (nd_journal_append(x->cfg.journal, &rec, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "venue=binance event=journal_failed err=\"%s\"", err);
        return ND_EIO; /* no intent on disk: nothing may leave */
    }
    nd_err_t folded = nd_recon_local_fold(x->cfg.local, &rec, &x->cfg.assets, 1);
    ND_ASSERT(folded == ND_OK); /* room was checked above */
    int idx = (int)x->cfg.local->order_count - 1;
    memset(&x->st[idx], 0, sizeof x->st[idx]);
    x->st[idx].deadline_ns = j.req.prepared_ns + (x->cfg.recv_window_ms + 100) * ND_NS_PER_MS;
    hook(x, "journaled");
    /* An order may not overtake a cancel-all on its way (the worker sends one after another). */
    direct_t *d = x->cancel_all_in_flight ? NULL : direct_slot(x);
    x->st[idx].by_worker = d == NULL;
    x->stats.submitted++;
    if (d)
        send_direct(x, d, &j);
    else
        nd_oadapter_push(&x->core, &j);
    return ND_OK;
}

static nd_err_t exec_cancel(void *self, uint64_t client_id, int64_t now_ns)
{
    nd_binance_exec_t *x = self;
    int idx = nd_oadapter_find_client(&x->core, client_id);
    if (idx < 0)
        return ND_ENOTFOUND;
    if (x->st[idx].covered || x->st[idx].has_pending)
        return ND_OK; /* a cancel-all answers for it, or the venue said it is done */
    if (!nd_oadapter_room(&x->core, 1))
        return ND_EFULL;
    job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_CANCEL;
    memcpy(j.clid, x->cfg.local->orders[idx].clid, sizeof j.clid);
    if (prepare_by_clid(x, "DELETE", j.clid, &j.req) != ND_OK)
        return ND_EINVAL;
    nd_journal_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_CANCEL;
    rec.ts_ns = now_ns;
    rec.order = x->cfg.local->orders[idx];
    char err[256];
    if (nd_journal_append(x->cfg.journal, &rec, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "venue=binance event=journal_failed err=\"%s\"", err);
        return ND_EIO;
    }
    (void)nd_recon_local_fold(x->cfg.local, &rec, &x->cfg.assets, 1);
    hook(x, "journaled");
    x->stats.cancels++;
    /* After its order on the same way: the loop's connection, or the worker's queue. */
    direct_t *d = x->st[idx].by_worker || x->cancel_all_in_flight ? NULL : direct_slot(x);
    if (d)
        send_direct(x, d, &j);
    else
        nd_oadapter_push(&x->core, &j);
    return ND_OK;
}

/* True while an order or cancel sent from the loop waits for its answer. */
static bool direct_busy(const nd_binance_exec_t *x)
{
    for (int i = 0; x->direct_on && i < DIRECT_MAX; i++)
        if (x->direct[i].busy)
            return true;
    return false;
}

/* Queues the cancel-all once there is room, and once every order sent from the loop is
 * answered: on the worker's connection it could otherwise reach the venue before an order
 * still on its way on the loop's (which would then stay open). Caller thread. */
static void queue_cancel_all(nd_binance_exec_t *x, int64_t now_ns)
{
    if (!x->cancel_all_wanted || x->cancel_all_in_flight || now_ns < x->cancel_all_after_ns ||
        !nd_oadapter_room(&x->core, 1) || direct_busy(x))
        return;
    job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_CANCEL_ALL;
    snprintf(j.clid, sizeof j.clid, "*");
    char q[64], err[256];
    snprintf(q, sizeof q, "symbol=%s", x->cfg.symbol);
    if (nd_binance_rest_prepare(x->cfg.rest, "DELETE", "/api/v3/openOrders", q, true, &j.req, err,
                                sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_ERR, "venue=binance event=prepare_failed err=\"%s\"", err);
        return;
    }
    x->cancel_all_wanted = false;
    x->cancel_all_in_flight = true;
    x->stats.cancels++;
    nd_oadapter_push(&x->core, &j);
}

nd_err_t nd_binance_exec_cancel_all(nd_binance_exec_t *x)
{
    ND_ASSERT(x != NULL && x->core.running);
    nd_recon_local_t *l = x->cfg.local;
    int64_t now_ns = nd_clock_now_ns(x->cfg.clock);
    uint32_t covered = 0;
    for (uint32_t i = 0; i < l->order_count; i++) {
        if (nd_recon_status_done(l->orders[i].status) || x->st[i].covered)
            continue;
        nd_journal_rec_t rec;
        memset(&rec, 0, sizeof rec);
        rec.kind = ND_JOURNAL_CANCEL;
        rec.ts_ns = now_ns;
        rec.order = l->orders[i];
        char err[256];
        if (nd_journal_append(x->cfg.journal, &rec, err, sizeof err) != ND_OK) {
            ND_LOG(ND_LOG_ERR, "venue=binance event=journal_failed err=\"%s\"", err);
            return ND_EIO; /* no intent on disk: nothing may leave */
        }
        (void)nd_recon_local_fold(l, &rec, &x->cfg.assets, 1);
        x->st[i].covered = true;
        covered++;
    }
    ND_LOG(ND_LOG_INFO, "venue=binance event=cancel_all symbol=%s covered=%u", x->cfg.symbol,
           covered);
    x->cancel_all_wanted = true;
    x->cancel_all_after_ns = 0;
    queue_cancel_all(x, now_ns);
    return ND_OK;
}

bool nd_binance_exec_cancel_all_busy(const nd_binance_exec_t *x)
{
    return x->cancel_all_wanted || x->cancel_all_in_flight;
}

/* Takes the worker's results (as many as the update ring can surely hold). */
static void take_results(nd_binance_exec_t *x, int64_t now_ns)
{
    result_t r;
    while (nd_oadapter_take(&x->core, &r, TRADES_PAGE + 4))
        process(x, &r, now_ns);
}

/* Every poll_interval_ns while anything is unresolved: a sync, then the queries wanted. */
static void schedule(nd_binance_exec_t *x, int64_t now_ns)
{
    if (now_ns < x->next_sync_ns || x->sync_in_flight)
        return;
    const nd_recon_local_t *l = x->cfg.local;
    bool active = x->recon_wanted || x->outage;
    for (uint32_t i = 0; i < l->order_count && !active; i++)
        active = !nd_recon_status_done(l->orders[i].status) || x->st[i].has_pending;
    if (!active || !nd_oadapter_room(&x->core, 1))
        return;
    if (queue_sync(x) != ND_OK)
        return;
    x->next_sync_ns = now_ns + x->cfg.poll_interval_ns;
    x->last_sync_ns = now_ns;
    for (uint32_t i = 0; i < l->order_count && nd_oadapter_room(&x->core, 1); i++)
        if (x->st[i].query_wanted && !x->st[i].query_in_flight)
            (void)queue_query(x, (int)i);
}

static nd_err_t exec_poll(void *self, int64_t now_ns, nd_order_update_t *out, size_t cap,
                          size_t *count)
{
    nd_binance_exec_t *x = self;
    ND_ASSERT(out != NULL && count != NULL);
    int64_t wall_ns = nd_clock_now_ns(x->cfg.clock);
    take_results(x, wall_ns);
    flush_pending(x, wall_ns);
    queue_cancel_all(x, wall_ns);
    schedule(x, wall_ns);
    *count = nd_oadapter_drain(&x->core, now_ns, out, cap);
    return ND_OK;
}

static const nd_exec_venue_ops_t exec_ops = {
    .submit = exec_submit,
    .cancel = exec_cancel,
    .amend = NULL,
    .on_bar = NULL,
    .open_count = nd_oadapter_exec_open_count,
    .on_market = nd_oadapter_exec_on_market,
    .poll = exec_poll,
};

nd_exec_venue_t nd_binance_exec_venue(nd_binance_exec_t *x)
{
    nd_exec_venue_t v = {.ops = &exec_ops, .self = x, .facts = x->facts};
    return v;
}

uint32_t nd_binance_exec_pending(const nd_binance_exec_t *x)
{
    return nd_oadapter_in_flight(&x->core);
}

void nd_binance_exec_stats(const nd_binance_exec_t *x, nd_binance_exec_stats_t *out)
{
    *out = x->stats;
    nd_oadapter_round_trips(&x->core, &out->round_trips, &out->round_trip_ns_sum);
}

/* ---- Start-up: reconciliation (blocking, before the worker runs) ------------------------- */

typedef struct view_buf {
    nd_recon_trade_t *trades;
    uint32_t trade_count;
    nd_recon_order_t *queried;
    uint32_t queried_count;
    nd_recon_asset_t balances[2];
} view_buf_t;

/* Runs one job on this thread (before start only) and processes its result. */
static void run_now(nd_binance_exec_t *x, const job_t *j, int64_t now_ns)
{
    result_t r;
    run_job(x, j, &r);
    process(x, &r, now_ns);
}

/* Every trade after the last one booked, page by page. */
static nd_err_t fetch_trades(nd_binance_exec_t *x, view_buf_t *vb, char *err, size_t err_len)
{
    int64_t from = x->cfg.local->last_trade_id > 0 ? x->cfg.local->last_trade_id : 1;
    for (;;) {
        char q[96];
        snprintf(q, sizeof q, "symbol=%s&fromId=%" PRId64 "&limit=%d", x->cfg.symbol, from,
                 TRADES_PAGE);
        nd_binance_rest_result_t res;
        nd_err_t rc = nd_binance_rest_call(x->cfg.rest, "GET", "/api/v3/myTrades", q, true, &res,
                                           err, err_len);
        if (rc != ND_OK)
            return ND_EIO;
        bool ok = parse_array(x, &res, true);
        nd_binance_rest_result_free(&res);
        if (!ok || vb->trade_count + x->sync_trade_count > ND_RECON_ORDERS_MAX * 4) {
            snprintf(err, err_len, "binance exec: myTrades unreadable or too many");
            return ND_EIO;
        }
        memcpy(vb->trades + vb->trade_count, x->sync_trades,
               x->sync_trade_count * sizeof x->sync_trades[0]);
        vb->trade_count += x->sync_trade_count;
        if (x->sync_trade_count < TRADES_PAGE)
            return ND_OK;
        from = x->sync_trades[TRADES_PAGE - 1].trade_id; /* inclusive: a self-trade's pair */
    }
}

/* Open orders, then a query of every unresolved local order the venue does not hold open. */
static nd_err_t fetch_orders(nd_binance_exec_t *x, view_buf_t *vb, char *err, size_t err_len)
{
    nd_binance_rest_result_t res;
    if (nd_binance_rest_open_orders(x->cfg.rest, x->cfg.symbol, &res, err, err_len) != ND_OK)
        return ND_EIO;
    bool ok = parse_array(x, &res, false);
    nd_binance_rest_result_free(&res);
    if (!ok) {
        snprintf(err, err_len, "binance exec: openOrders unreadable");
        return ND_EIO;
    }
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        const nd_recon_order_t *o = &l->orders[i];
        if ((o->status != ND_RECON_SENT && o->status != ND_RECON_OPEN) || in_open(x, o->clid))
            continue;
        job_t j = {.kind = JOB_QUERY};
        result_t r;
        memcpy(j.clid, o->clid, sizeof j.clid);
        if (prepare_by_clid(x, "GET", j.clid, &j.req) != ND_OK)
            return ND_EIO;
        run_job(x, &j, &r);
        nd_recon_order_t *q = &vb->queried[vb->queried_count++];
        if (r.answered && r.has_order) {
            *q = r.order;
        } else if (r.answered && r.reject == ND_REJECT_VENUE_UNKNOWN_ORDER) {
            *q = *o;
            q->status = ND_RECON_UNKNOWN;
        } else {
            snprintf(err, err_len, "binance exec: query of %s failed (HTTP %ld)", o->clid,
                     r.http_status);
            return ND_EIO;
        }
    }
    return ND_OK;
}

/* Free + locked of the instrument's base and quote from GET /api/v3/account (out[0] base,
 * out[1] quote). Sends: before start, or on the worker. */
static bool read_balances(nd_binance_exec_t *x, nd_recon_asset_t out[2], char *err,
                          size_t err_len)
{
    nd_binance_rest_result_t res;
    if (nd_binance_rest_account(x->cfg.rest, &res, err, err_len) != ND_OK)
        return false;
    uint32_t count = 0, arr = 0;
    bool ok = res.http_status == 200 &&
              nd_json_tokenize(res.body, res.body_len, x->tok, TOKENS_MAX, &count) == ND_OK &&
              x->tok[0].type == ND_J_OBJECT &&
              (arr = nd_json_get(res.body, x->tok, 0, "balances")) != 0 &&
              x->tok[arr].type == ND_J_ARRAY;
    const char *names[2] = {x->cfg.assets.base, x->cfg.assets.quote};
    for (int k = 0; k < 2; k++) {
        memset(&out[k], 0, sizeof out[k]);
        snprintf(out[k].asset, sizeof out[k].asset, "%s", names[k]);
    }
    for (uint32_t i = 0, at = arr + 1; ok && i < x->tok[arr].size; i++, at = x->tok[at].next) {
        uint32_t a = nd_json_get(res.body, x->tok, at, "asset");
        int64_t free_units = 0, locked = 0;
        ok = a && dec_field(res.body, x->tok, at, "free", &free_units) &&
             dec_field(res.body, x->tok, at, "locked", &locked);
        for (int k = 0; ok && k < 2; k++)
            if (nd_json_eq(res.body, &x->tok[a], names[k]))
                out[k].amount = free_units + locked;
    }
    nd_binance_rest_result_free(&res);
    if (!ok)
        snprintf(err, err_len, "binance exec: account unreadable");
    return ok;
}

static nd_err_t fetch_balances(nd_binance_exec_t *x, view_buf_t *vb, char *err, size_t err_len)
{
    return read_balances(x, vb->balances, err, err_len) ? ND_OK : ND_EIO;
}

/* True when the venue has a trade of ours after trade id last (or cannot say). Sends. */
static bool trades_after(nd_binance_exec_t *x, int64_t last)
{
    char q[96], err[256];
    snprintf(q, sizeof q, "symbol=%s&fromId=%" PRId64 "&limit=1", x->cfg.symbol, last + 1);
    nd_binance_rest_result_t res;
    if (nd_binance_rest_call(x->cfg.rest, "GET", "/api/v3/myTrades", q, true, &res, err,
                             sizeof err) != ND_OK)
        return true;
    uint32_t count = 0;
    bool moved = res.http_status != 200 ||
                 nd_json_tokenize(res.body, res.body_len, x->tok, TOKENS_MAX, &count) != ND_OK ||
                 x->tok[0].type != ND_J_ARRAY || x->tok[0].size > 0;
    nd_binance_rest_result_free(&res);
    return moved;
}

/* A journal without balances starts here: the venue's balances are the opening ones and its
 * last trade the watermark (GET myTrades without fromId gives the most recent trades). */
static nd_err_t open_books(nd_binance_exec_t *x, const view_buf_t *vb, int64_t now_ns, char *err,
                           size_t err_len)
{
    char q[64];
    snprintf(q, sizeof q, "symbol=%s&limit=1", x->cfg.symbol);
    nd_binance_rest_result_t res;
    if (nd_binance_rest_call(x->cfg.rest, "GET", "/api/v3/myTrades", q, true, &res, err,
                             err_len) != ND_OK)
        return ND_EIO;
    bool ok = parse_array(x, &res, true);
    nd_binance_rest_result_free(&res);
    if (!ok)
        return ND_EIO;
    nd_journal_rec_t rec;
    for (int k = 0; k < 2; k++) {
        memset(&rec, 0, sizeof rec);
        rec.kind = ND_JOURNAL_OPENING;
        rec.ts_ns = now_ns;
        rec.asset = vb->balances[k];
        (void)nd_oadapter_journal(&x->core, &rec);
    }
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_WATERMARK;
    rec.ts_ns = now_ns;
    rec.trade.trade_id = x->sync_trade_count ? x->sync_trades[0].trade_id : 0;
    (void)nd_oadapter_journal(&x->core, &rec);
    return nd_journal_sync(x->cfg.journal);
}

/* True when the venue has a trade after the last one in vb (the snapshot moved under us). */
static bool trades_moved(nd_binance_exec_t *x, const view_buf_t *vb)
{
    int64_t last = vb->trade_count ? vb->trades[vb->trade_count - 1].trade_id
                                   : x->cfg.local->last_trade_id;
    char q[96], err[256];
    snprintf(q, sizeof q, "symbol=%s&fromId=%" PRId64 "&limit=1", x->cfg.symbol, last + 1);
    nd_binance_rest_result_t res;
    if (nd_binance_rest_call(x->cfg.rest, "GET", "/api/v3/myTrades", q, true, &res, err,
                             sizeof err) != ND_OK)
        return true;
    bool ok = parse_array(x, &res, true);
    nd_binance_rest_result_free(&res);
    return !ok || x->sync_trade_count > 0;
}

/* Fetches a consistent venue view: orders and balances between two looks at the trades that
 * agree (a fill in between would make the balances or an order's state disagree with the
 * trades); on a journal without balances the opening balances and watermark come first. */
static nd_err_t fetch_view(nd_binance_exec_t *x, view_buf_t *vb, nd_recon_venue_t *v,
                           int64_t now_ns, char *err, size_t err_len)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        vb->trade_count = vb->queried_count = 0;
        nd_err_t rc = ND_OK;
        if (!x->cfg.local->has_balances) {
            rc = fetch_balances(x, vb, err, err_len);
            if (rc == ND_OK)
                rc = open_books(x, vb, now_ns, err, err_len);
        }
        if (rc == ND_OK)
            rc = fetch_trades(x, vb, err, err_len);
        if (rc == ND_OK)
            rc = fetch_orders(x, vb, err, err_len);
        if (rc == ND_OK)
            rc = fetch_balances(x, vb, err, err_len);
        if (rc != ND_OK)
            return rc;
        if (attempt < 9 && trades_moved(x, vb))
            continue;
        *v = (nd_recon_venue_t){.open = x->sync_open, .open_count = x->sync_open_count,
                                .queried = vb->queried, .queried_count = vb->queried_count,
                                .trades = vb->trades, .trade_count = vb->trade_count,
                                .balances = vb->balances, .balance_count = 2,
                                .has_balances = true};
        return ND_OK;
    }
    return ND_EIO;
}

/* Bounds the wait for unanswered intents by what the venue says. An intent journaled with no
 * answer (the process died, or the answer was lost) is asked for by client order id right
 * away: an order the venue has is settled (reconciliation takes its state), and only an
 * intent the venue does not know yet, or could not be asked about, might still arrive: for
 * those alone this waits until past their recvWindow (the venue refuses a request that
 * arrives later), so a restart after answered or found intents does not wait at all. */
static void wait_unanswered(nd_binance_exec_t *x)
{
    int64_t until = 0, now = nd_clock_now_ns(x->cfg.clock);
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        int64_t d = l->orders[i].intent_ns + (x->cfg.recv_window_ms + 100) * ND_NS_PER_MS;
        x->st[i].deadline_ns = d;
        if (l->orders[i].status != ND_RECON_SENT || d <= now || d <= until)
            continue;
        if (x->marks_trusted && !marked(x, l->orders[i].clid)) {
            x->stats.never_left++; /* no mark on this boot: it never left */
            continue;
        }
        job_t j = {.kind = JOB_QUERY};
        result_t r;
        memcpy(j.clid, l->orders[i].clid, sizeof j.clid);
        if (prepare_by_clid(x, "GET", j.clid, &j.req) == ND_OK) {
            run_job(x, &j, &r);
            if (r.answered && r.has_order)
                continue; /* at the venue: reconciliation books its state */
        }
        until = d; /* not known there (yet): it may still arrive */
        x->stats.waited++;
    }
    for (now = nd_clock_now_ns(x->cfg.clock); now < until; now = nd_clock_now_ns(x->cfg.clock))
        usleep((useconds_t)((until - now) / 1000 + 1));
}

/* Acts at the venue on one difference (RESEND, CANCEL); the rest needs nothing there. */
static void act(nd_binance_exec_t *x, const nd_recon_diff_t *d, int64_t now_ns)
{
    job_t j;
    memset(&j, 0, sizeof j);
    memcpy(j.clid, d->order.clid, sizeof j.clid);
    if (d->resolution == ND_RESOLVE_RESEND) {
        int idx = nd_oadapter_find_clid(&x->core, d->order.clid);
        const nd_recon_order_t *o = &x->cfg.local->orders[idx];
        nd_binance_order_t bo = {.side = o->side == ND_SIDE_BUY ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK,
                                 .type = o->type == ND_ORDER_MARKET ? ND_BINANCE_MARKET
                                                                     : ND_BINANCE_LIMIT,
                                 .px = o->px, .qty = o->qty};
        snprintf(bo.symbol, sizeof bo.symbol, "%s", x->cfg.symbol);
        memcpy(bo.client_order_id, o->clid, sizeof bo.client_order_id);
        char err[256];
        nd_reject_t why;
        j.kind = JOB_NEW;
        if (nd_binance_rest_prepare_order(x->cfg.rest, &bo, &j.req, &why, err, sizeof err) ==
                ND_OK && why == ND_REJECT_NONE) {
            x->st[idx].deadline_ns = j.req.prepared_ns + (x->cfg.recv_window_ms + 100) * ND_NS_PER_MS;
            run_now(x, &j, now_ns);
        }
    } else if (d->resolution == ND_RESOLVE_CANCEL) {
        result_t r;
        j.kind = JOB_CANCEL;
        if (prepare_by_clid(x, "DELETE", j.clid, &j.req) == ND_OK)
            run_job(x, &j, &r); /* not in the journal: its fills are booked as the account's */
    }
}

/* Cancels every open order of ours (journaled intents), then polls until each one's end and
 * fills are booked. */
static void settle(nd_binance_exec_t *x, bool cancel_open, int64_t now_ns)
{
    nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; cancel_open && i < l->order_count; i++) {
        if (l->orders[i].status != ND_RECON_OPEN)
            continue;
        job_t j = {.kind = JOB_CANCEL};
        memcpy(j.clid, l->orders[i].clid, sizeof j.clid);
        nd_journal_rec_t rec = {.kind = ND_JOURNAL_CANCEL, .ts_ns = now_ns, .order = l->orders[i]};
        if (prepare_by_clid(x, "DELETE", j.clid, &j.req) != ND_OK)
            continue;
        (void)nd_oadapter_journal(&x->core, &rec);
        run_now(x, &j, now_ns);
    }
    for (int round = 0; round < 5; round++) {
        job_t j;
        if (prepare_sync(x, &j) != ND_OK)
            return;
        run_now(x, &j, now_ns);
        bool busy = false;
        for (uint32_t i = 0; i < l->order_count; i++) {
            if (!x->st[i].query_wanted)
                continue;
            j = (job_t){.kind = JOB_QUERY};
            memcpy(j.clid, l->orders[i].clid, sizeof j.clid);
            if (prepare_by_clid(x, "GET", j.clid, &j.req) == ND_OK) {
                x->st[i].query_wanted = false;
                run_now(x, &j, now_ns);
            }
        }
        flush_pending(x, now_ns);
        for (uint32_t i = 0; i < l->order_count; i++)
            busy = busy || x->st[i].has_pending || x->st[i].query_wanted;
        if (!busy)
            return;
    }
}

nd_err_t nd_binance_exec_recover(nd_binance_exec_t *x, const nd_recon_policy_t *policy,
                                 bool cancel_open, nd_recon_diff_t *out, size_t cap, size_t *count,
                                 bool *halt, char *err, size_t err_len)
{
    ND_ASSERT(x != NULL && policy != NULL && count != NULL && halt != NULL);
    ND_ASSERT(!x->core.running);
    *count = 0;
    *halt = false;
    x->policy = *policy;
    marks_open(x);
    wait_unanswered(x);
    nd_free(x->marks);
    x->marks = NULL;
    int64_t now_ns = nd_clock_now_ns(x->cfg.clock);
    view_buf_t vb = {.trades = nd_calloc(ND_RECON_ORDERS_MAX * 4, sizeof *vb.trades),
                     .queried = nd_calloc(ND_RECON_ORDERS_MAX, sizeof *vb.queried)};
    nd_recon_diff_t *diffs = nd_calloc(ND_RECON_DIFFS_MAX, sizeof *diffs);
    nd_recon_venue_t v;
    size_t n = 0;
    nd_err_t rc = vb.trades && vb.queried && diffs ? ND_OK : ND_ENOMEM;
    if (rc == ND_OK)
        rc = fetch_view(x, &vb, &v, now_ns, err, err_len);
    if (rc == ND_OK)
        rc = nd_recon_compare(x->cfg.local, &v, x->cfg.tag, &x->cfg.assets, 1, policy, diffs,
                              ND_RECON_DIFFS_MAX, &n);
    for (size_t i = 0; rc == ND_OK && i < n; i++) {
        nd_journal_rec_t rec;
        nd_journal_rec_of_diff(&diffs[i], now_ns, &rec);
        (void)nd_oadapter_journal(&x->core, &rec); /* journaled, then applied by the fold */
        ND_LOG(ND_LOG_INFO, "venue=binance event=reconcile kind=%s resolution=%s clid=%s "
               "trade_id=%" PRId64, nd_recon_kind_name(diffs[i].kind),
               nd_recon_resolution_name(diffs[i].resolution), diffs[i].order.clid,
               diffs[i].trade.trade_id);
        act(x, &diffs[i], now_ns);
        *halt = *halt || diffs[i].resolution == ND_RESOLVE_HALT;
        if (i < cap)
            out[i] = diffs[i];
    }
    if (rc == ND_OK) {
        settle(x, cancel_open, now_ns);
        rc = nd_journal_sync(x->cfg.journal);
        *count = n;
    }
    nd_free(diffs);
    nd_free(vb.queried);
    nd_free(vb.trades);
    return rc;
}

nd_err_t nd_binance_exec_create(const nd_binance_exec_config_t *config, nd_binance_exec_t **out,
                                char *err, size_t err_len)
{
    ND_ASSERT(config != NULL && out != NULL);
    char probe[ND_CLID_SIZE];
    if (!config->rest || !config->journal || !config->local || !config->clock ||
        !config->symbol || nd_clid_format(config->tag, config->run, 0, 0, probe) != ND_OK ||
        config->queue_max > QUEUE_CAP_MAX || !config->assets.base[0] || !config->assets.quote[0]) {
        snprintf(err, err_len, "binance exec: rest, journal, local view, clock, symbol, assets "
                               "and a tag of 1-6 of [a-z0-9] are required; queue_max <= %d",
                 QUEUE_CAP_MAX);
        return ND_EINVAL;
    }
    nd_binance_exec_t *x = nd_calloc(1, sizeof *x);
    if (!x)
        return ND_ENOMEM;
    x->cfg = *config;
    x->cfg.queue_max = config->queue_max ? config->queue_max : 64;
    x->cfg.recv_window_ms = config->recv_window_ms ? config->recv_window_ms : 5000;
    x->cfg.poll_interval_ns = config->poll_interval_ns ? config->poll_interval_ns
                                                       : ND_NS_PER_SEC;
    nd_recon_policy_default(&x->policy);
    x->mark_fd = -1;
    nd_oadapter_config_t core = {.venue = "binance", .journal = config->journal,
                                 .local = config->local, .assets = config->assets,
                                 .instrument_id = config->instrument_id, .tag = config->tag,
                                 .run = config->run, .queue_max = x->cfg.queue_max,
                                 .job_size = sizeof(job_t), .result_size = sizeof(result_t),
                                 .run_cb = run_cb, .ctx = x, .order_state = x->st,
                                 .order_state_size = sizeof x->st[0]};
    nd_err_t rc = nd_oadapter_init(&x->core, &core, err, err_len);
    x->tok = nd_calloc(TOKENS_MAX, sizeof *x->tok);
    x->gone = nd_calloc(OPEN_MAX, sizeof *x->gone);
    if (rc != ND_OK || !x->tok || !x->gone) {
        nd_binance_exec_destroy(x);
        return rc != ND_OK ? rc : ND_ENOMEM;
    }
    snprintf(x->facts.name, sizeof x->facts.name, "binance");
    x->facts.maker_fee_bps_e2 = config->maker_fee_bps_e2 ? config->maker_fee_bps_e2 : 1000;
    x->facts.taker_fee_bps_e2 = config->taker_fee_bps_e2 ? config->taker_fee_bps_e2 : 1000;
    for (uint32_t i = 0; i < x->cfg.local->order_count; i++)
        x->st[i].deadline_ns = x->cfg.local->orders[i].intent_ns +
                               (x->cfg.recv_window_ms + 100) * ND_NS_PER_MS;
    *out = x;
    return ND_OK;
}

void nd_binance_exec_resync(nd_binance_exec_t *x)
{
    ND_ASSERT(x != NULL);
    x->recon_wanted = true;
    x->next_sync_ns = 0; /* now, unless a sync is in flight (then right after it) */
}

void nd_binance_exec_wake(nd_binance_exec_t *x)
{
    ND_ASSERT(x != NULL);
    sync_soon(x);
}

/* A venue trade of an executionReport, as myTrades would give it. False when the report
 * carries no trade (or one this adapter cannot book exactly: no quote quantity). */
static bool stream_trade(const nd_binance_exec_t *x, const nd_md_event_t *ev,
                         nd_recon_trade_t *t)
{
    const nd_md_order_update_t *o = &ev->u.order;
    char *end = NULL;
    memset(t, 0, sizeof *t);
    if (strcmp(o->exec_type, "TRADE") != 0 || o->trade_id <= 0 || o->last_qty <= 0 ||
        o->last_quote <= 0)
        return false;
    t->venue_order_id = strtoll(o->venue_order_id, &end, 10);
    if (!end || *end != '\0' || t->venue_order_id <= 0)
        return false;
    t->instrument_id = x->cfg.instrument_id;
    t->trade_id = o->trade_id;
    t->side = o->side == ND_MD_SIDE_BID ? ND_SIDE_BUY : ND_SIDE_SELL;
    t->maker = o->maker;
    t->px = o->last_px;
    t->qty = o->last_qty;
    t->quote_qty = o->last_quote;
    t->commission = o->fee;
    t->ts_ns = ev->venue_ts_ns;
    snprintf(t->commission_asset, sizeof t->commission_asset, "%s", o->fee_asset);
    return true;
}

void nd_binance_exec_on_order(nd_binance_exec_t *x, const nd_md_event_t *ev)
{
    ND_ASSERT(x != NULL && ev != NULL);
    ND_ASSERT(ev->kind == ND_MD_ORDER_UPDATE);
    if (strcmp(ev->symbol, x->cfg.symbol) != 0)
        return;
    x->stats.stream_events++;
    if (nd_oadapter_update_room(&x->core) < TRADES_PAGE + 4) {
        sync_soon(x); /* no room now: the poll books it */
        return;
    }
    int64_t now_ns = nd_clock_now_ns(x->cfg.clock);
    nd_recon_trade_t t;
    bool trade = stream_trade(x, ev, &t);
    int idx = nd_oadapter_find_clid(&x->core, ev->u.order.client_order_id);
    nd_recon_order_t vo = {.status = nd_oadapter_status_of((nd_md_order_status_t)ev->u.order.status),
                           .filled_qty = ev->u.order.cum_qty};
    if (idx >= 0 && vo.status != ND_RECON_UNKNOWN && vo.status != ND_RECON_REJECTED) {
        vo.venue_id = strtoll(ev->u.order.venue_order_id, NULL, 10);
        accept(x, idx, vo.venue_id, now_ns); /* the venue has it: OPEN with its id */
    }
    if (trade) {
        int booked = nd_oadapter_book_trade(&x->core, &t, now_ns);
        x->stats.fills += booked > 0;
        x->stats.stream_fills += booked >= 0;
    } else if (strcmp(ev->u.order.exec_type, "TRADE") == 0) {
        sync_soon(x); /* a trade it cannot book exactly: myTrades has it */
    }
    if (idx < 0 || !nd_recon_status_done(vo.status))
        return;
    /* Done at the venue: reported once the fills up to its cumulative quantity are booked
     * (set_pending polls soon only when some are missing). */
    x->st[idx].has_pending = true;
    x->st[idx].pending_status = vo.status;
    x->st[idx].exec_qty = vo.filled_qty;
    if (x->cfg.local->orders[idx].filled_qty < vo.filled_qty)
        sync_soon(x);
    flush_pending(x, now_ns);
}

nd_err_t nd_binance_exec_start(nd_binance_exec_t *x)
{
    ND_ASSERT(x != NULL);
    return nd_oadapter_start(&x->core);
}

void nd_binance_exec_stop(nd_binance_exec_t *x)
{
    if (x)
        nd_oadapter_stop(&x->core); /* queued requests stay unanswered intents */
}

void nd_binance_exec_destroy(nd_binance_exec_t *x)
{
    if (!x)
        return;
    nd_oadapter_deinit(&x->core);
    nd_free(x->loop_tok);
    if (x->mark_fd >= 0)
        close(x->mark_fd);
    nd_free(x->marks);
    nd_free(x->tok);
    nd_free(x->gone);
    nd_free(x);
}
