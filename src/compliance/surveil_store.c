/* surveil_store.c: post-trade surveillance over the compliance store: order-event and fill
 * records become surveillance events (nd_store_surv_load), and a scan's alerts go back into
 * the store as alert records with their evidence, followed by one operator record saying
 * that the scan ran (nd_store_record_surv_alerts).
 *
 * The mapping (docs/surveillance.md, "Post-trade scan over the store"):
 *   order "accepted"  -> new (the order reached the venue; "submitted" alone never did);
 *   order "cancelled" -> cancel;  order "amended" -> cancel then new (cancel/replace);
 *   fill              -> fill;    every other record is not a market message and is skipped.
 * account = the record's account; the store keeps no beneficial owner, so owner = account;
 * strategy, venue and symbol (the instrument) are the record's. Prices and quantities are
 * rescaled exactly to ND_SURV_DECIMALS (a value that would lose digits is an error naming its
 * seq, never rounded). Client order ids restart at 1 in every engine run, so inside a run (after
 * a backtest_start operator record, until its backtest_end) an order id is "RUN:ID", RUN being
 * the seq of the run's backtest_start record; outside a run it is the id as recorded. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct load_ctx {
    nd_surv_dict_t *dict;
    nd_store_surv_events_t *out;
    int64_t from_ns;
    int64_t to_ns;      /* 0 = no upper bound */
    int64_t run_seq;    /* seq of the open run's backtest_start record, 0 outside a run */
    char *err;
    size_t err_len;
} load_ctx_t;

static nd_err_t push(load_ctx_t *c, const nd_surv_event_t *e)
{
    nd_store_surv_events_t *o = c->out;
    nd_surv_event_t *slot = nd_array_push(&o->events, &o->_cap, &o->count, sizeof *slot, 4096);
    if (!slot) {
        snprintf(c->err, c->err_len, "out of memory reading %zu events", o->count);
        return ND_ENOMEM;
    }
    *slot = *e;
    return ND_OK;
}

static nd_err_t intern(load_ctx_t *c, const char *text, uint32_t *id)
{
    if (nd_surv_dict_intern(c->dict, text, strlen(text), id) == ND_OK)
        return ND_OK;
    snprintf(c->err, c->err_len, "out of memory interning names");
    return ND_ENOMEM;
}

/* An exact rescale to ND_SURV_DECIMALS: digits that would be lost make it an error. */
static nd_err_t exact(const nd_record_t *rec, const char *what, int64_t v, int scale,
                      int64_t *out, load_ctx_t *c)
{
    int64_t r = 0, back = 0;
    nd_err_t rc = scale < 0 || scale > 18 ? ND_EINVAL
                  : nd_fixed_rescale(v, scale, ND_SURV_DECIMALS, ND_ROUND_TRUNC, &r);
    if (rc == ND_OK && scale > ND_SURV_DECIMALS)
        rc = nd_fixed_rescale(r, ND_SURV_DECIMALS, scale, ND_ROUND_TRUNC, &back) == ND_OK &&
                     back == v ? ND_OK : ND_EPRECISION;
    if (rc != ND_OK) {
        snprintf(c->err, c->err_len, "record seq %lld: %s %lld at scale %d does not fit %d "
                 "decimals exactly", (long long)rec->seq, what, (long long)v, scale,
                 ND_SURV_DECIMALS);
        return rc == ND_EOVERFLOW ? ND_EOVERFLOW : ND_EPRECISION;
    }
    *out = r;
    return ND_OK;
}

/* The names and numbers every event of the record shares; kind is set by the caller. */
static nd_err_t base_event(load_ctx_t *c, const nd_record_t *rec, nd_surv_event_t *e)
{
    memset(e, 0, sizeof *e);
    if ((rec->side != 1 && rec->side != -1) || !rec->account[0] || !rec->instrument[0] ||
        !rec->client_order_id[0]) {
        snprintf(c->err, c->err_len, "record seq %lld: an order or fill needs a side, an "
                 "account, an instrument and an order id", (long long)rec->seq);
        return ND_EINVAL;
    }
    char order[96];
    if (c->run_seq > 0)
        snprintf(order, sizeof order, "%lld:%s", (long long)c->run_seq, rec->client_order_id);
    else
        snprintf(order, sizeof order, "%s", rec->client_order_id);
    e->ts_ns = rec->ts_ns;
    e->side = (int8_t)rec->side;
    nd_err_t rc = intern(c, rec->account, &e->account);
    e->owner = e->account; /* the store keeps no beneficial owner: owner = account */
    if (rc == ND_OK)
        rc = intern(c, rec->strategy, &e->strategy);
    if (rc == ND_OK)
        rc = intern(c, rec->venue, &e->venue);
    if (rc == ND_OK)
        rc = intern(c, rec->instrument, &e->symbol);
    if (rc == ND_OK)
        rc = intern(c, order, &e->order);
    if (rc == ND_OK)
        rc = exact(rec, "price", rec->px, rec->px_scale, &e->px, c);
    if (rc == ND_OK)
        rc = exact(rec, "quantity", rec->qty, rec->qty_scale, &e->qty, c);
    return rc;
}

static nd_err_t on_operator(load_ctx_t *c, const nd_record_t *rec)
{
    if (strcmp(rec->event, "backtest_start") == 0) {
        c->run_seq = rec->seq;
        c->out->runs++;
    } else if (strcmp(rec->event, "backtest_end") == 0) {
        c->run_seq = 0;
    }
    return ND_OK;
}

static nd_err_t on_record(void *ctx, const nd_record_t *rec)
{
    load_ctx_t *c = ctx;
    if (rec->kind == ND_RECORD_OPERATOR)
        return on_operator(c, rec);
    /* The period is applied here, not in the query: run markers carry the wall-clock time of
     * the run, not the market time of its orders, and must be seen whatever the period. */
    if (rec->ts_ns < c->from_ns || (c->to_ns > 0 && rec->ts_ns >= c->to_ns))
        return ND_OK;
    bool fill = rec->kind == ND_RECORD_FILL;
    bool accepted = !fill && strcmp(rec->event, "accepted") == 0;
    bool cancelled = !fill && strcmp(rec->event, "cancelled") == 0;
    bool amended = !fill && strcmp(rec->event, "amended") == 0;
    if (!fill && !accepted && !cancelled && !amended)
        return ND_OK;
    c->out->records++;
    nd_surv_event_t e;
    nd_err_t rc = base_event(c, rec, &e);
    if (rc != ND_OK)
        return rc;
    if (fill && (e.px <= 0 || e.qty <= 0)) {
        snprintf(c->err, c->err_len, "record seq %lld: a fill needs a positive price and "
                 "quantity", (long long)rec->seq);
        return ND_EINVAL;
    }
    e.kind = fill ? ND_SURV_FILL : accepted ? ND_SURV_NEW : ND_SURV_CANCEL;
    rc = push(c, &e);
    if (rc == ND_OK && amended) {
        e.kind = ND_SURV_NEW;
        rc = push(c, &e);
    }
    return rc;
}

nd_err_t nd_store_surv_load(nd_store_t *s, int64_t from_ns, int64_t to_ns, nd_surv_dict_t *dict,
                            nd_store_surv_events_t *out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && dict != NULL);
    ND_ASSERT(out != NULL);
    nd_store_surv_events_t got;
    memset(&got, 0, sizeof got);
    load_ctx_t c = {dict, &got, from_ns, to_ns, 0, err, err_len};
    nd_record_filter_t f;
    memset(&f, 0, sizeof f);
    f.kind_mask = 1u << ND_RECORD_ORDER | 1u << ND_RECORD_FILL | 1u << ND_RECORD_OPERATOR;
    nd_err_t rc = nd_store_scan(s, &f, &c, on_record, err, err_len);
    if (rc != ND_OK) {
        nd_free(got.events);
        return rc;
    }
    ND_ASSERT(got.count <= got._cap);
    *out = got;
    return ND_OK;
}

void nd_store_surv_events_free(nd_store_surv_events_t *ev)
{
    if (!ev)
        return;
    nd_free(ev->events);
    memset(ev, 0, sizeof *ev);
}

/* names joined with commas into buf (truncated to cap, which the alert's limits never reach). */
static void join_names(const nd_surv_dict_t *dict, const uint32_t *ids, uint32_t n, char *buf,
                       size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? "," : "",
                                 nd_surv_dict_name(dict, ids[i]));
}

static nd_err_t record_alert(nd_store_t *s, const nd_surv_alert_t *a, const nd_surv_dict_t *dict,
                             const nd_surv_event_t *events, size_t n, int64_t now_ns, char *err,
                             size_t err_len)
{
    json_t *doc = nd_surv_alert_to_json(a, dict, events, n);
    char iso[40];
    nd_time_format_iso(now_ns, iso, sizeof iso);
    if (doc && json_object_set_new(doc, "scanned_at", json_string(iso)) != 0) {
        json_decref(doc);
        doc = NULL;
    }
    char *evidence = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!evidence) {
        snprintf(err, err_len, "out of memory encoding an alert's evidence");
        return ND_ENOMEM;
    }
    char accounts[ND_SURV_ALERT_ACCOUNTS_MAX * 72], orders[ND_SURV_ALERT_ORDERS_MAX * 100];
    join_names(dict, a->accounts, a->account_count, accounts, sizeof accounts);
    join_names(dict, a->orders, a->order_count, orders, sizeof orders);
    /* The record's time is when the activity ended (when a real-time monitor would have
     * raised it), so a report of the activity's period lists it; the scan time is in the
     * evidence (scanned_at) and in the scan's operator record. */
    nd_alert_record_t rec = {
        .ts_ns = a->to_ns,
        .rule = nd_surv_rule_name(a->rule),
        .jurisdiction = nd_jurisdiction_profile(a->jurisdiction)->code,
        .accounts = accounts,
        .order_ids = orders,
        .instrument = a->symbol == ND_SURV_ID_NONE ? "" : nd_surv_dict_name(dict, a->symbol),
        .from_ns = a->from_ns,
        .to_ns = a->to_ns,
        .reason = a->reason,
        .evidence_json = evidence,
    };
    nd_err_t rc = nd_store_append_alert(s, &rec, NULL, err, err_len);
    free(evidence); /* tidy:allow jansson allocates with the C library */
    return rc;
}

nd_err_t nd_store_record_surv_alerts(nd_store_t *s, const nd_surv_alerts_t *alerts,
                                     const nd_surv_dict_t *dict, const nd_surv_event_t *events,
                                     size_t n, int64_t now_ns, const char *scan_note, char *err,
                                     size_t err_len)
{
    ND_ASSERT(s != NULL && alerts != NULL);
    ND_ASSERT(dict != NULL);
    nd_err_t rc = ND_OK;
    for (size_t i = 0; rc == ND_OK && i < alerts->count; i++)
        rc = record_alert(s, &alerts->items[i], dict, events, n, now_ns, err, err_len);
    if (rc == ND_OK)
        rc = nd_store_append_operator_action(s, now_ns, "surveil", "surveillance_scan",
                                             scan_note ? scan_note : "", err, err_len);
    if (rc == ND_OK)
        rc = nd_store_flush(s, err, err_len);
    return rc;
}
