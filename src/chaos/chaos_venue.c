/* chaos_venue.c: the venue-side invariants of a live chaos run (--live), checked after the
 * session stopped and before exchange-sim does: the session's orders (the client order ids its
 * store says it submitted) against exchange-sim's own (GET /api/v3/order by origClientOrderId,
 * openOrders, myTrades), and its final position and cash (status.json) against exchange-sim's
 * account. Every call goes through the project's Binance REST client (binance_rest.c) signed
 * with the run's generated HMAC key, straight to exchange-sim (never through the fault proxy).
 * Bounded: at most VENUE_IDS_MAX ids are looked up (the rest counted, not checked). */
#include "chaos_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/binance.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VENUE_IDS_MAX 2048
#define VENUE_ID_LEN 48

/* The client order ids of the session's new-order intents, in journal order, each once; those
 * the venue refused or the session dropped (never an order there) are marked. */
typedef struct ids {
    char id[VENUE_IDS_MAX][VENUE_ID_LEN];
    bool rejected[VENUE_IDS_MAX];
    int64_t order_id[VENUE_IDS_MAX]; /* the venue's, 0 when not found */
    size_t n;
    int64_t over; /* ids past VENUE_IDS_MAX */
} ids_t;

static long find_id(const ids_t *ids, const char *id)
{
    for (size_t i = 0; i < ids->n; i++)
        if (strcmp(ids->id[i], id) == 0)
            return (long)i;
    return -1;
}

/* The journal's replay: every new-order intent's clid once; a refused or dropped one marked. */
static void on_journal(void *ctx, const nd_journal_rec_t *rec)
{
    ids_t *ids = ctx;
    if (rec->kind != ND_JOURNAL_NEW && rec->kind != ND_JOURNAL_STATUS)
        return;
    long at = find_id(ids, rec->order.clid);
    if (rec->kind == ND_JOURNAL_NEW && at < 0) {
        if (ids->n == VENUE_IDS_MAX) {
            ids->over++;
            return;
        }
        at = (long)ids->n++;
        snprintf(ids->id[at], VENUE_ID_LEN, "%s", rec->order.clid);
    }
    if (at >= 0 && rec->kind == ND_JOURNAL_STATUS &&
        (rec->order.status == ND_RECON_REJECTED || rec->order.status == ND_RECON_DROPPED))
        ids->rejected[at] = true;
}

/* A signed GET answered 200 with a JSON body: the document (json_decref), else NULL with why. */
static json_t *venue_get(nd_binance_rest_t *rest, const char *path, const char *query,
                         long *http_status, char *err, size_t err_len)
{
    nd_binance_rest_result_t res;
    *http_status = 0;
    if (nd_binance_rest_call(rest, "GET", path, query, true, &res, err, err_len) != ND_OK)
        return NULL;
    *http_status = res.http_status;
    json_error_t jerr;
    json_t *d = res.http_status == 200 ? json_loadb(res.body, res.body_len, 0, &jerr) : NULL;
    if (!d)
        snprintf(err, err_len, "%s: HTTP %ld %s", path, res.http_status, res.venue_msg);
    nd_binance_rest_result_free(&res);
    return d;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Looks every accepted id up at the venue: *lost not found, *open still open there, and the
 * venue orders matched to two of our ids (*twice). */
static nd_err_t lookup_ids(nd_binance_rest_t *rest, const char *symbol, ids_t *ids,
                           int64_t *lost, int64_t *open, int64_t *twice, char *first_lost,
                           size_t cap, char *err, size_t err_len)
{
    int64_t found[VENUE_IDS_MAX];
    size_t nfound = 0;
    for (size_t i = 0; i < ids->n; i++) {
        if (ids->rejected[i])
            continue;
        char query[160];
        long http = 0;
        snprintf(query, sizeof query, "symbol=%s&origClientOrderId=%s", symbol, ids->id[i]);
        json_t *d = venue_get(rest, "/api/v3/order", query, &http, err, err_len);
        if (!d && http != 400)
            return ND_EIO;
        if (!d) {
            if ((*lost)++ == 0)
                snprintf(first_lost, cap, "%s", ids->id[i]);
            continue;
        }
        ids->order_id[i] = (int64_t)json_integer_value(json_object_get(d, "orderId"));
        found[nfound++] = ids->order_id[i];
        const char *st = json_string_value(json_object_get(d, "status")) ?: "";
        *open += strcmp(st, "NEW") == 0 || strcmp(st, "PARTIALLY_FILLED") == 0;
        json_decref(d);
    }
    qsort(found, nfound, sizeof found[0], cmp_i64);
    for (size_t i = 1; i < nfound; i++)
        *twice += found[i] == found[i - 1];
    return ND_OK;
}

/* Venue orders (open, or traded) that no submitted id of ours names. */
static nd_err_t unknown_orders(nd_binance_rest_t *rest, const char *symbol, const ids_t *ids,
                               int64_t *open_orders, int64_t *unknown, char *err, size_t err_len)
{
    char query[96];
    long http = 0;
    snprintf(query, sizeof query, "symbol=%s", symbol);
    json_t *open = venue_get(rest, "/api/v3/openOrders", query, &http, err, err_len);
    snprintf(query, sizeof query, "symbol=%s&limit=1000", symbol);
    json_t *trades = open ? venue_get(rest, "/api/v3/myTrades", query, &http, err, err_len) : NULL;
    nd_err_t rc = open && trades ? ND_OK : ND_EIO;
    *open_orders = (int64_t)json_array_size(open);
    json_t *lists[2] = {open, trades};
    for (int l = 0; rc == ND_OK && l < 2; l++) {
        size_t k;
        json_t *o;
        json_array_foreach(lists[l], k, o) {
            int64_t order_id = (int64_t)json_integer_value(json_object_get(o, "orderId"));
            bool ours = false;
            for (size_t i = 0; i < ids->n && !ours; i++)
                ours = ids->order_id[i] == order_id;
            *unknown += !ours;
        }
    }
    json_decref(open);
    json_decref(trades);
    return rc;
}

static void check_orders(nd_binance_rest_t *rest, const nd__chaos_venue_facts_t *f, ids_t *ids,
                         nd_chaos_result_t *r)
{
    char err[256] = "", first_lost[VENUE_ID_LEN] = "";
    int64_t lost = 0, open = 0, twice = 0, open_orders = 0, unknown = 0, rejected = 0;
    for (size_t i = 0; i < ids->n; i++)
        rejected += ids->rejected[i];
    if (lookup_ids(rest, f->symbol, ids, &lost, &open, &twice, first_lost, sizeof first_lost,
                   err, sizeof err) != ND_OK ||
        unknown_orders(rest, f->symbol, ids, &open_orders, &unknown, err, sizeof err) != ND_OK) {
        nd__chaos_set_inv(r, 6, false, "cannot ask exchange-sim: %.150s", err);
        return;
    }
    int64_t sent = (int64_t)ids->n - rejected;
    if (sent == 0)
        nd__chaos_set_inv(r, 6, false, "the journal names no order sent to the venue");
    else if (lost > 0)
        nd__chaos_set_inv(r, 6, false,
            "%lld of %lld orders the session sent are not at exchange-sim "
                "(first %s)", (long long)lost, (long long)sent, first_lost);
    else if (twice > 0 || unknown > 0)
        nd__chaos_set_inv(r, 6, false,
            "duplicated at exchange-sim: %lld venue orders under two of our ids, "
                "%lld open or traded orders under none", (long long)twice, (long long)unknown);
    else if (open > 0 || open_orders > 0)
        nd__chaos_set_inv(r, 6, false,
            "%lld of our orders left open at exchange-sim after the stop "
                "(%lld in openOrders)", (long long)open, (long long)open_orders);
    else
        nd__chaos_set_inv(r, 6, true,
            "%lld orders sent, each once at exchange-sim, none open after the "
                "stop (%lld refused, %lld not looked up)", (long long)sent, (long long)rejected,
                (long long)ids->over);
}

/* free + locked of asset in an account document, 1e-8 units; false when absent. */
static bool balance_of(json_t *account, const char *asset, int64_t *out)
{
    size_t k;
    json_t *b;
    json_array_foreach(json_object_get(account, "balances"), k, b) {
        if (strcmp(json_string_value(json_object_get(b, "asset")) ?: "", asset) != 0)
            continue;
        const char *f = json_string_value(json_object_get(b, "free")) ?: "";
        const char *l = json_string_value(json_object_get(b, "locked")) ?: "0";
        int64_t free_e8 = 0, locked_e8 = 0;
        if (nd_fixed_parse(f, strlen(f), 8, &free_e8) != ND_OK ||
            nd_fixed_parse(l, strlen(l), 8, &locked_e8) != ND_OK)
            return false;
        *out = free_e8 + locked_e8;
        return true;
    }
    return false;
}

/* The session's final position (first instrument) and cash from status.json, 1e-8 units. */
static bool session_holdings(const char *status_path, int64_t *qty, int64_t *cash)
{
    json_error_t jerr;
    json_t *d = json_load_file(status_path, 0, &jerr);
    const char *q = json_string_value(
        json_object_get(json_array_get(json_object_get(d, "positions"), 0), "qty"));
    const char *c = json_string_value(json_object_get(json_object_get(d, "account"), "cash"));
    bool ok = q && c && nd_fixed_parse(q, strlen(q), 8, qty) == ND_OK &&
              nd_fixed_parse(c, strlen(c), 8, cash) == ND_OK;
    json_decref(d);
    return ok;
}

static void check_position(nd_binance_rest_t *rest, const nd__chaos_venue_facts_t *f,
                           nd_chaos_result_t *r)
{
    char err[256] = "", sq[32], sc[32], vq[32], vc[32];
    long http = 0;
    int64_t qty = 0, cash = 0, base = 0, quote = 0;
    if (!session_holdings(f->status_path, &qty, &cash)) {
        nd__chaos_set_inv(r, 7, false, "no final position and cash in %.150s", f->status_path);
        return;
    }
    json_t *acct = venue_get(rest, "/api/v3/account", "", &http, err, sizeof err);
    bool ok = acct && balance_of(acct, f->base, &base) && balance_of(acct, f->quote, &quote);
    json_decref(acct);
    if (!ok) {
        nd__chaos_set_inv(r, 7, false, "cannot read exchange-sim's account: %.150s", err);
        return;
    }
    nd_fixed_format(qty, 8, sq, sizeof sq);
    nd_fixed_format(cash, 8, sc, sizeof sc);
    nd_fixed_format(base, 8, vq, sizeof vq);
    nd_fixed_format(quote, 8, vc, sizeof vc);
    nd__chaos_set_inv(r, 7, qty == base && cash == quote,
        "session %s %s, %s %s; exchange-sim %s %s, %s %s",
            f->base, sq, f->quote, sc, f->base, vq, f->quote, vc);
}

void nd__chaos_venue_check(const nd__chaos_venue_facts_t *f, nd_chaos_result_t *r)
{
    ND_ASSERT(f != NULL && r != NULL);
    ND_ASSERT(f->rest_url != NULL && f->secret != NULL);
    char err[256] = "";
    nd_binance_rest_t *rest = NULL;
    nd_binance_rest_config_t rc = {.base_url = f->rest_url, .secret = f->secret,
                                   .weight_limit_1m = 1000000};
    if (nd_binance_rest_create(&rc, nd_clock_os(), &rest, err, sizeof err) != ND_OK) {
        nd__chaos_set_inv(r, 6, false, "no REST client: %.150s", err);
        nd__chaos_set_inv(r, 7, false, "no REST client: %.150s", err);
        return;
    }
    ids_t *ids = nd_calloc(1, sizeof *ids);
    ND_ASSERT(ids != NULL);
    nd_journal_t *j = NULL;
    if (nd_journal_open(f->journal_path, on_journal, ids, &j, err, sizeof err) != ND_OK)
        nd__chaos_set_inv(r, 6, false, "cannot read the session's journal: %.150s", err);
    else
        check_orders(rest, f, ids, r);
    if (j)
        nd_journal_close(j);
    check_position(rest, f, r);
    nd_free(ids);
    nd_binance_rest_destroy(rest);
}
