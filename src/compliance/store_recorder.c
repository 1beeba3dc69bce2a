/* store_recorder.c: the engine listener that records a run in the compliance store.
 *
 * Every engine event becomes records in the order the engine emitted them: an order's first
 * event (accepted or rejected) is preceded by its "submitted" record at its decision time; a
 * rejection by a risk check is a risk_reject record, any other rejection an order record;
 * fills and breaker trips get their own kinds.
 *
 * Group commit: records accumulate in the store's open batch and are committed when
 * events_max are pending, or at the first engine callback (an event or the end of a step) at
 * which the oldest pending record is interval_ms old on the recorder's monotonic clock (step
 * ends check it every ND_RECORDER_STEPS_PER_CLOCK steps), or by
 * nd_recorder_barrier / nd_recorder_poll / nd_recorder_flush. A commit costs a few fsyncs
 * (WAL, head file, directory), so committing every engine step made --db ~180x slower than
 * the backtest itself; a batch costs the same few fsyncs for thousands of records. A store
 * that cannot be written at all is refused when it is opened; one that fills up is found at
 * the next commit, within the interval. What a crash
 * can lose is the open batch: at most events_max records, at most interval_ms old (while the
 * engine calls in); docs/compliance-store.md has the durability contract, including why an
 * order sent to a venue is never among them (the barrier before sending).
 *
 * The first failed write or commit is kept and every later event is refused, so the engine
 * halts; unless the store holds (nd_store_set_hold: sessions): then a failed commit leaves the
 * records held and the store down, events go on being recorded into memory, and the commits
 * the group rule asks for are retried with a backoff (ND_RECORDER_RETRY_MIN_MS doubling up to
 * ND_RECORDER_RETRY_MAX_MS; nd_recorder_flush and _barrier always try); only a store that
 * refuses a record (its bound reached: ND_EFULL) or fails for good halts the engine. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"

#include <stdio.h>
#include <string.h>

struct nd_recorder {
    nd_store_t *store;
    const char *account;
    const nd_instrument_t *instruments;
    uint32_t instrument_count;
    const char *const *strategy_names;
    uint32_t strategy_count;
    uint32_t events_max;        /* commit when this many records are pending */
    int64_t interval_ns;        /* ... or when the oldest pending one is this old */
    nd_clock_t *clock;          /* monotonic reading for interval_ns (borrowed) */
    int64_t batch_start_ns;     /* clock reading when the open batch got its first record */
    bool batch_open;            /* the recorder appended since the last commit */
    uint32_t steps_unchecked;   /* steps ended since the interval was last checked there */
    int64_t retry_at_ns;        /* the store is down: no automatic commit before this */
    int64_t backoff_ns;         /* the wait after the last failed commit (0: none failed) */
    int64_t records;
    int64_t commits;
    char error[384];
};

nd_err_t nd_recorder_create(nd_store_t *s, const char *account, const nd_instrument_t *instruments,
                            uint32_t instrument_count, const char *const *strategy_names,
                            uint32_t strategy_count, uint32_t batch_max, nd_recorder_t **out,
                            char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    if (instrument_count == 0 || !instruments || !account || !account[0]) {
        snprintf(err, err_len, "recorder: an account and at least one instrument are required");
        return ND_EINVAL;
    }
    nd_recorder_t *r = nd_calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    r->store = s;
    r->account = account;
    r->instruments = instruments;
    r->instrument_count = instrument_count;
    r->strategy_names = strategy_names;
    r->strategy_count = strategy_count;
    r->events_max = batch_max ? batch_max : ND_RECORDER_EVENTS_DEFAULT;
    r->interval_ns = ND_RECORDER_INTERVAL_MS_DEFAULT * ND_NS_PER_MS;
    r->clock = nd_clock_os();
    *out = r;
    return ND_OK;
}

void nd_recorder_destroy(nd_recorder_t *r)
{
    nd_free(r);
}

const char *nd_recorder_error(const nd_recorder_t *r)
{
    return r->error;
}

int64_t nd_recorder_count(const nd_recorder_t *r)
{
    return r->records;
}

int64_t nd_recorder_commits(const nd_recorder_t *r)
{
    return r->commits;
}

nd_err_t nd_recorder_set_commit(nd_recorder_t *r, uint32_t events_max, int64_t interval_ms,
                                nd_clock_t *clock, char *err, size_t err_len)
{
    ND_ASSERT(r != NULL);
    if (interval_ms < 0 || interval_ms > ND_RECORDER_INTERVAL_MS_MAX) {
        snprintf(err, err_len, "recorder: the commit interval must be 1 to %lld ms, not %lld",
                 (long long)ND_RECORDER_INTERVAL_MS_MAX, (long long)interval_ms);
        return ND_EINVAL;
    }
    if (events_max > 0)
        r->events_max = events_max;
    if (interval_ms > 0)
        r->interval_ns = interval_ms * ND_NS_PER_MS;
    if (clock)
        r->clock = clock;
    return ND_OK;
}

/* Commits the open batch. A failure is kept (every later event is refused: trading halts),
 * except on a holding store that is down: the records stay held, the next automatic commit
 * waits for the backoff, and ND_EIO says so without halting anything. */
static nd_err_t commit_batch(nd_recorder_t *r, char *err, size_t err_len)
{
    char why[320] = "";
    bool any = nd_store_pending(r->store) > 0;
    nd_err_t rc = nd_store_flush(r->store, why, sizeof why);
    if (rc == ND_EIO && nd_store_hold_max(r->store) > 0) {
        int64_t min = ND_RECORDER_RETRY_MIN_MS * ND_NS_PER_MS;
        int64_t max = ND_RECORDER_RETRY_MAX_MS * ND_NS_PER_MS;
        r->backoff_ns = r->backoff_ns == 0 ? min : r->backoff_ns * 2 > max ? max : r->backoff_ns * 2;
        r->retry_at_ns = nd_clock_mono_ns(r->clock) + r->backoff_ns;
        if (err)
            snprintf(err, err_len, "store down, %lld records held: %s",
                     (long long)nd_store_held(r->store), why);
        return ND_EIO;
    }
    if (rc != ND_OK) {
        snprintf(r->error, sizeof r->error, "%s", why[0] ? why : nd_strerror(rc));
        if (err)
            snprintf(err, err_len, "%s", r->error);
        return ND_EIO;
    }
    r->commits += any;
    r->batch_open = false;
    r->backoff_ns = 0;
    r->retry_at_ns = 0;
    return ND_OK;
}

/* The store is down and its backoff has not passed: automatic commits wait. */
static bool retry_waits(const nd_recorder_t *r)
{
    return r->retry_at_ns != 0 && nd_clock_mono_ns(r->clock) < r->retry_at_ns;
}

/* The interval rule: the open batch's oldest record has waited interval_ns. */
static bool batch_due(const nd_recorder_t *r)
{
    return r->batch_open && nd_clock_mono_ns(r->clock) - r->batch_start_ns >= r->interval_ns;
}

static const char *strategy_name(const nd_recorder_t *r, uint32_t index)
{
    if (index == ND_STRATEGY_RISK)
        return "risk";
    return index < r->strategy_count && r->strategy_names ? r->strategy_names[index] : "unknown";
}

static bool is_risk_reason(nd_reject_t reason)
{
    return reason >= ND_REJECT_HALTED && reason <= ND_REJECT_INSUFFICIENT_POSITION;
}

/* The audit event of an order status: the order module's one name table, except that a new
 * order is recorded as "submitted" (the name every stored chain already holds). */
static const char *order_event_name(nd_order_status_t status)
{
    return status == ND_ORDER_NEW ? "submitted" : nd_order_status_name(status);
}

/* The decimal digits of v at out (no terminator); returns their count. The recorder writes
 * two ids per record and an order's detail: snprintf was a fifth of its own cost. */
static size_t put_decimal(char *out, uint64_t v)
{
    char rev[20];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t k = 0; k < n; k++)
        out[k] = rev[n - 1 - k];
    return n;
}

/* "%llu" of v into out (at least 21 bytes). */
static void format_id(char out[24], uint64_t v)
{
    out[put_decimal(out, v)] = '\0';
}

/* An order's detail, {"type":"<type>","filled_qty":<filled_qty>}, into out (cap >= 96). */
static void order_detail(char *out, size_t cap, const char *type, int64_t filled_qty)
{
    static const char head[] = "{\"type\":\"", mid[] = "\",\"filled_qty\":";
    size_t type_len = strlen(type), n = 0;
    ND_ASSERT(type_len + sizeof head + sizeof mid + 22 <= cap);
    memcpy(out, head, sizeof head - 1);
    n += sizeof head - 1;
    memcpy(out + n, type, type_len);
    n += type_len;
    memcpy(out + n, mid, sizeof mid - 1);
    n += sizeof mid - 1;
    if (filled_qty < 0)
        out[n++] = '-';
    n += put_decimal(out + n, filled_qty < 0 ? 0u - (uint64_t)filled_qty : (uint64_t)filled_qty);
    out[n++] = '}';
    out[n] = '\0';
}

/* Fills the columns an order and a fill share. ids must outlive rec. */
static void base_record(const nd_recorder_t *r, nd_record_t *rec, int64_t ts_ns,
                        uint32_t instrument_id, uint32_t strategy_index, nd_side_t side,
                        char ids[2][24], uint64_t client_id, uint64_t venue_id)
{
    const nd_instrument_t *inst =
        &r->instruments[instrument_id < r->instrument_count ? instrument_id : 0];
    memset(rec, 0, sizeof *rec);
    format_id(ids[0], client_id);
    format_id(ids[1], venue_id);
    rec->ts_ns = ts_ns;
    rec->account = r->account;
    rec->strategy = strategy_name(r, strategy_index);
    rec->venue = inst->venue;
    rec->instrument = inst->symbol;
    rec->side = side == ND_SIDE_BUY ? 1 : -1;
    rec->client_order_id = ids[0];
    rec->venue_order_id = venue_id ? ids[1] : "";
    rec->px_scale = inst->px_decimals;
    rec->qty_scale = inst->qty_decimals;
}

static nd_err_t record_order(nd_recorder_t *r, const nd_event_t *ev, char *err, size_t err_len)
{
    const nd_order_t *o = &ev->u.order;
    char ids[2][24], detail[96];
    nd_record_t rec;
    base_record(r, &rec, ev->ts_ns, o->instrument_id, o->strategy_index, o->side, ids,
                o->client_id, o->venue_id);
    rec.px = o->px;
    rec.qty = o->qty;
    rec.notional = o->fill_notional;
    rec.fee = o->fees;
    order_detail(detail, sizeof detail, nd_order_type_name(o->type), o->filled_qty);
    rec.detail = detail;
    nd_err_t rc = ND_OK;
    /* An order's first record is "submitted" at its decision time: its own event when a venue
     * with latency showed it NEW first (announced), else written before its answer. */
    bool first = ev->kind == ND_EVENT_ORDER && !o->_announced &&
                 (o->status == ND_ORDER_ACCEPTED || o->status == ND_ORDER_REJECTED);
    if (first) {
        rec.event = "submitted";
        rec.ts_ns = o->created_ns;
        rc = nd_store_append_order_event(r->store, &rec, err, err_len);
        rec.ts_ns = ev->ts_ns;
        r->records += rc == ND_OK;
    }
    rec.event = ev->kind == ND_EVENT_ORDER_AMENDED ? "amended" : order_event_name(o->status);
    if (rc == ND_OK && o->status == ND_ORDER_REJECTED) {
        rec.reason = nd_reject_name(o->reject_reason);
        rc = is_risk_reason(o->reject_reason)
                 ? nd_store_append_risk_reject(r->store, &rec, err, err_len)
                 : nd_store_append_order_event(r->store, &rec, err, err_len);
    } else if (rc == ND_OK) {
        rc = nd_store_append_order_event(r->store, &rec, err, err_len);
    }
    return rc;
}

static nd_err_t record_fill(nd_recorder_t *r, const nd_event_t *ev, char *err, size_t err_len)
{
    const nd_fill_t *f = &ev->u.fill;
    char ids[2][24];
    nd_record_t rec;
    base_record(r, &rec, f->ts_ns, f->instrument_id, f->strategy_index, f->side, ids,
                f->client_id, f->venue_id);
    rec.event = f->maker ? "maker" : "taker";
    rec.px = f->px;
    rec.qty = f->qty;
    rec.notional = f->notional;
    rec.fee = f->fee;
    return nd_store_append_fill(r->store, &rec, err, err_len);
}

/* The anomaly trip's inputs as JSON members: the confidence, the evidence, and per score that
 * took part its input (x 10^6) and robust z (x 1000); the dominant one first. */
static void anomaly_detail(const nd_breaker_event_t *b, char *buf, size_t cap)
{
    const nd_breaker_detail_t *d = &b->detail;
    size_t used = (size_t)snprintf(buf, cap, ",\"instrument_id\":%u,\"top\":\"%s\","
                                   "\"evidence_e3\":%lld,\"inputs\":{", d->instrument_id,
                                   nd_anomaly_input_name((nd_anomaly_input_t)d->input),
                                   (long long)d->evidence_e3);
    bool first = true;
    for (int k = 0; k < ND_ANOMALY_SCORES && used < cap; k++) {
        if (!(d->scored & (1u << k)))
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s\"%s\":{\"value_e6\":%lld,"
                                 "\"z_e3\":%d}", first ? "" : ",",
                                 nd_anomaly_input_name((nd_anomaly_input_t)k),
                                 (long long)d->value_e6[k], (int)d->z_e3[k]);
        first = false;
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "}");
}

/* The reason line: a loss against its threshold, or what tripped a data-integrity or anomaly
 * breaker. */
static void breaker_reason(const nd_breaker_event_t *b, char *buf, size_t cap)
{
    if (b->kind == ND_BREAKER_ANOMALY && b->detail.input == ND_ANOMALY_FAST_MOVE) {
        /* The fast-move rule is not a score: its line says the move (the return slot) and its
         * size against the rule's threshold (z_e3), not a confidence (nd_risk_fast_move). */
        int64_t move = b->detail.value_e6[ND_ANOMALY_RETURN];
        int64_t mag = move < 0 ? -move : move, times = b->detail.z_e3[ND_ANOMALY_RETURN];
        int64_t tmag = times < 0 ? -times : times;
        snprintf(buf, cap, "anomaly breaker tripped: fast move %s%lld.%04lld%% within the window, "
                 "%lld.%03lld x the rule's threshold (by fast_move)", move < 0 ? "-" : "+",
                 (long long)(mag / 10000), (long long)(mag % 10000), (long long)(tmag / 1000),
                 (long long)(tmag % 1000));
    } else if (b->kind == ND_BREAKER_ANOMALY)
        snprintf(buf, cap, "anomaly breaker tripped: confidence %lld.%06lld >= %lld.%04lld "
                 "(by %s)", (long long)(b->measured_e6 / 1000000),
                 (long long)(b->measured_e6 % 1000000), (long long)(b->threshold_pct_e2 / 10000),
                 (long long)(b->threshold_pct_e2 % 10000),
                 nd_anomaly_input_name((nd_anomaly_input_t)b->detail.input));
    else if (b->kind == ND_BREAKER_DATA_INTEGRITY)
        snprintf(buf, cap, "data_integrity breaker tripped: %s, measured %lld (millionths)",
                 nd_integrity_input_name((nd_integrity_input_t)b->detail.input),
                 (long long)b->measured_e6);
    else
        snprintf(buf, cap, "%s breaker tripped: loss %lld.%04lld%% against %lld.%02lld%%",
                 nd_breaker_kind_name(b->kind), (long long)(b->measured_e6 / 10000),
                 (long long)(b->measured_e6 % 10000), (long long)(b->threshold_pct_e2 / 100),
                 (long long)(b->threshold_pct_e2 % 100));
}

static nd_err_t record_breaker(nd_recorder_t *r, const nd_event_t *ev, char *err, size_t err_len)
{
    const nd_breaker_event_t *b = &ev->u.breaker;
    char equity[32], reference[32], reason[160], detail[1024], extra[768];
    nd_fixed_format(b->equity, ND_CASH_DECIMALS, equity, sizeof equity);
    nd_fixed_format(b->reference, ND_CASH_DECIMALS, reference, sizeof reference);
    breaker_reason(b, reason, sizeof reason);
    extra[0] = '\0';
    if (b->kind == ND_BREAKER_ANOMALY)
        anomaly_detail(b, extra, sizeof extra);
    else if (b->kind == ND_BREAKER_DATA_INTEGRITY)
        snprintf(extra, sizeof extra, ",\"input\":\"%s\"",
                 nd_integrity_input_name((nd_integrity_input_t)b->detail.input));
    snprintf(detail, sizeof detail, "{\"equity\":\"%s\",\"reference\":\"%s\",\"measured_e6\":%lld,"
             "\"threshold_pct_e2\":%lld%s}", equity, reference, (long long)b->measured_e6,
             (long long)b->threshold_pct_e2, extra);
    nd_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.ts_ns = b->ts_ns;
    rec.event = nd_breaker_kind_name(b->kind);
    rec.account = r->account;
    rec.reason = reason;
    rec.detail = detail;
    return nd_store_append_breaker(r->store, &rec, err, err_len);
}

nd_err_t nd_recorder_on_event(void *ctx, const nd_event_t *ev)
{
    nd_recorder_t *r = ctx;
    ND_ASSERT(r != NULL);
    ND_ASSERT(ev != NULL);
    if (r->error[0])
        return ND_EIO;
    nd_err_t rc = ND_EINVAL;
    char err[320] = "";
    switch (ev->kind) {
    case ND_EVENT_ORDER:
    case ND_EVENT_ORDER_AMENDED: rc = record_order(r, ev, err, sizeof err); break;
    case ND_EVENT_FILL: rc = record_fill(r, ev, err, sizeof err); break;
    case ND_EVENT_BREAKER: rc = record_breaker(r, ev, err, sizeof err); break;
    }
    if (rc != ND_OK) {
        snprintf(r->error, sizeof r->error, "%s", err[0] ? err : nd_strerror(rc));
        return ND_EIO;
    }
    r->records++;
    if (!r->batch_open) {
        r->batch_open = true;
        r->batch_start_ns = nd_clock_mono_ns(r->clock);
    }
    if ((nd_store_pending(r->store) >= (int64_t)r->events_max || batch_due(r)) &&
        !retry_waits(r))
        commit_batch(r, NULL, 0);
    return r->error[0] ? ND_EIO : ND_OK;
}

void nd_recorder_on_bar_done(void *ctx, const nd_bar_t *bar, __int128 equity_ext,
                             bool in_market)
{
    (void)bar;
    (void)equity_ext;
    (void)in_market;
    nd_recorder_t *r = ctx;
    ND_ASSERT(r != NULL);
    if (r->error[0] || !r->batch_open)
        return;
    /* The clock is read every ND_RECORDER_STEPS_PER_CLOCK steps, not every step: a backtest
     * runs ~1 M steps/s and the read was the recorder's largest cost after SQLite. */
    if (++r->steps_unchecked < ND_RECORDER_STEPS_PER_CLOCK)
        return;
    r->steps_unchecked = 0;
    if (batch_due(r) && !retry_waits(r))
        commit_batch(r, NULL, 0);
}

nd_err_t nd_recorder_flush(nd_recorder_t *r, char *err, size_t err_len)
{
    ND_ASSERT(r != NULL);
    if (r->error[0]) {
        snprintf(err, err_len, "%s", r->error);
        return ND_EIO;
    }
    return commit_batch(r, err, err_len);
}

nd_err_t nd_recorder_barrier(nd_recorder_t *r, char *err, size_t err_len)
{
    ND_ASSERT(r != NULL);
    if (r->error[0]) {
        snprintf(err, err_len, "%s", r->error);
        return ND_EIO;
    }
    /* Nothing appended since the last commit: everything recorded is already durable. */
    if (!r->batch_open && nd_store_pending(r->store) == 0)
        return ND_OK;
    nd_err_t rc = commit_batch(r, err, err_len);
    ND_ASSERT(rc != ND_OK || nd_store_pending(r->store) == 0);
    return rc;
}

nd_err_t nd_recorder_poll(nd_recorder_t *r, char *err, size_t err_len)
{
    ND_ASSERT(r != NULL);
    if (r->error[0]) {
        snprintf(err, err_len, "%s", r->error);
        return ND_EIO;
    }
    if (retry_waits(r)) {
        snprintf(err, err_len, "store down, %lld records held, retrying: %s",
                 (long long)nd_store_held(r->store), nd_store_failure(r->store));
        return ND_EIO;
    }
    return batch_due(r) ? commit_batch(r, err, err_len) : ND_OK;
}
