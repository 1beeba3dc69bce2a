/* chaos_check.c: what the chaos runner observes and concludes: samples of the session's
 * status.json (written at once on every module change, and every second), and the invariants
 * over the stopped session's compliance store (its audit chain, its order, fill, breaker and
 * operator records, in seq order: the order the session appended them, the causal order). */
#include "chaos_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int64_t get_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_array(v))
        return (int64_t)json_array_size(v);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static void last_change(json_t *launch, nd__chaos_sample_t *s)
{
    json_t *changes = json_object_get(launch, "changes");
    size_t n = json_array_size(changes);
    if (n == 0)
        return;
    json_t *c = json_array_get(changes, n - 1);
    snprintf(s->last_change, sizeof s->last_change, "%s %s->%s",
             json_string_value(json_object_get(c, "module")) ?: "?",
             json_string_value(json_object_get(c, "from")) ?: "?",
             json_string_value(json_object_get(c, "to")) ?: "?");
    s->last_change_ns = get_int(c, "at_ns");
}

void nd__chaos_sample(const char *status_path, nd__chaos_sample_t *out)
{
    ND_ASSERT(status_path != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->first_order_ms = -1;
    json_error_t jerr;
    json_t *d = json_load_file(status_path, 0, &jerr);
    if (!d)
        return;
    json_t *launch = json_object_get(d, "launch"), *risk = json_object_get(d, "risk");
    json_t *feed = json_object_get(d, "feed"), *orders = json_object_get(d, "orders");
    out->ok = true;
    out->healthy = json_is_true(json_object_get(launch, "healthy"));
    out->paused = json_is_true(json_object_get(launch, "strategies_paused"));
    out->halted = json_is_true(json_object_get(risk, "halted"));
    out->submitted = get_int(orders, "submitted");
    out->fills = get_int(orders, "fills");
    out->open_orders = get_int(d, "open_orders");
    json_t *o;
    size_t k;
    json_array_foreach(json_object_get(d, "open_orders"), k, o) {
        if (!json_is_true(json_object_get(o, "cancel_pending")))
            out->uncancelled++;
        else if (out->cancel_count < sizeof out->cancel_sent_ns / sizeof(int64_t))
            out->cancel_sent_ns[out->cancel_count++] = get_int(o, "cancel_sent_ns");
    }
    const char *eq = json_string_value(json_object_get(json_object_get(d, "account"), "equity"));
    if (eq)
        (void)nd_fixed_parse(eq, strlen(eq), ND_CASH_DECIMALS, &out->equity_e8);
    out->connects = get_int(feed, "connects");
    out->bad = get_int(feed, "bad");
    out->late = get_int(feed, "late");
    out->trips = get_int(risk, "trips");
    out->changes_total = get_int(launch, "changes_total");
    json_t *first = json_object_get(launch, "first_order_ms");
    if (json_is_integer(first))
        out->first_order_ms = (int64_t)json_integer_value(first);
    out->updated_ns = get_int(d, "updated_at_ns");
    last_change(launch, out);
    json_decref(d);
}

/* What one pass over the store found. Segments start at each "launch_start" operator record
 * (a restarted process numbers its orders from 1 again). */
#define SEEN_MAX 65536
typedef struct scan {
    bool paused;
    int64_t submitted_while_paused;
    int64_t first_bad_seq;
    int64_t fills_segment;  /* fill records since the last launch_start */
    int64_t duplicates;
    int64_t dup_seq;
    char dup_id[64];
    int64_t breakers;
    uint64_t seen[SEEN_MAX]; /* open-addressed set of hashed client ids of the segment */
} scan_t;

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h ? h : 1;
}

/* Adds id to the segment's set; false when it was there already. */
static bool seen_add(scan_t *sc, const char *id)
{
    uint64_t h = hash_id(id);
    for (size_t i = h % SEEN_MAX, probes = 0; probes < SEEN_MAX; i = (i + 1) % SEEN_MAX, probes++) {
        if (sc->seen[i] == h)
            return false;
        if (sc->seen[i] == 0) {
            sc->seen[i] = h;
            return true;
        }
    }
    return true; /* full: stop checking rather than report a false duplicate */
}

static void on_order(scan_t *sc, const nd_record_t *rec)
{
    if (strcmp(rec->event, "submitted") != 0 || rec->strategy[0] == '\0')
        return;
    if (sc->paused) {
        if (sc->submitted_while_paused++ == 0)
            sc->first_bad_seq = rec->seq;
    }
    if (rec->client_order_id[0] && !seen_add(sc, rec->client_order_id)) {
        if (sc->duplicates++ == 0) {
            sc->dup_seq = rec->seq;
            snprintf(sc->dup_id, sizeof sc->dup_id, "%s", rec->client_order_id);
        }
    }
}

static nd_err_t on_record(void *ctx, const nd_record_t *rec)
{
    scan_t *sc = ctx;
    switch (rec->kind) {
    case ND_RECORD_OPERATOR:
        if (strcmp(rec->event, "strategies_paused") == 0)
            sc->paused = true;
        else if (strcmp(rec->event, "strategies_resumed") == 0)
            sc->paused = false;
        else if (strcmp(rec->event, "launch_start") == 0) {
            sc->paused = false;
            sc->fills_segment = 0;
            memset(sc->seen, 0, sizeof sc->seen);
        }
        break;
    case ND_RECORD_ORDER: on_order(sc, rec); break;
    case ND_RECORD_FILL: sc->fills_segment++; break;
    case ND_RECORD_BREAKER: sc->breakers++; break;
    default: break;
    }
    return ND_OK;
}

void nd__chaos_set_inv(nd_chaos_result_t *r, int k, bool held, const char *fmt, ...)
{
    r->inv[k].checked = true;
    r->inv[k].held = held;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->inv[k].why, sizeof r->inv[k].why, fmt, ap);
    va_end(ap);
}

static void check_store(const nd__chaos_facts_t *f, nd_chaos_result_t *r, scan_t *sc)
{
    char err[256];
    nd_store_t *s = NULL;
    if (nd_store_open(f->store_url, 0, &s, err, sizeof err) != ND_OK) {
        nd__chaos_set_inv(r, 0, false, "cannot open the store: %s", err);
        return;
    }
    nd_audit_result_t a;
    if (nd_audit_verify(s, &a, err, sizeof err) != ND_OK)
        nd__chaos_set_inv(r, 0, false, "cannot verify: %s", err);
    else if (a.problem != ND_AUDIT_OK)
        nd__chaos_set_inv(r, 0, false, "%s at seq %lld: %s", nd_audit_problem_name(a.problem),
                (long long)a.seq, a.detail);
    else
        nd__chaos_set_inv(r, 0, true, "%lld records verified, head seq %lld", (long long)a.verified,
                (long long)a.head_seq);
    nd_record_filter_t all = {0};
    if (nd_store_scan(s, &all, sc, on_record, err, sizeof err) != ND_OK)
        nd__chaos_set_inv(r, 2, false, "cannot scan the store: %s", err);
    nd_store_close(s);
}

void nd__chaos_check(const nd__chaos_facts_t *f, nd_chaos_result_t *r)
{
    ND_ASSERT(f != NULL && r != NULL && f->last != NULL);
    scan_t *sc = nd_calloc(1, sizeof *sc);
    ND_ASSERT(sc != NULL);
    check_store(f, r, sc);
    const nd__chaos_sample_t *last = f->last;
    if (!last->ok)
        nd__chaos_set_inv(r, 1, false, "no final status.json");
    else
        nd__chaos_set_inv(r, 1, sc->fills_segment >= last->fills,
                "%lld fill records for %lld acknowledged fills", (long long)sc->fills_segment,
                (long long)last->fills);
    if (!r->inv[2].checked)
        nd__chaos_set_inv(r, 2, sc->duplicates == 0,
            "client order id '%s' submitted twice (%lld, seq %lld)",
                sc->dup_id, (long long)sc->duplicates, (long long)sc->dup_seq);
    if (r->inv[2].held)
        snprintf(r->inv[2].why, sizeof r->inv[2].why, "every client order id once");
    bool silent = sc->submitted_while_paused == 0 && f->blind_orders == 0;
    if (sc->submitted_while_paused > 0)
        nd__chaos_set_inv(r, 3, false,
            "%lld strategy orders submitted while paused (first seq %lld)",
                (long long)sc->submitted_while_paused, (long long)sc->first_bad_seq);
    else if (!silent)
        nd__chaos_set_inv(r, 3, false,
            "%lld strategy orders left working, no cancel sent, on a market not seen "
                "for over %lld ms", (long long)f->blind_orders,
                (long long)r->scenario->detect_target_ms);
    else
        nd__chaos_set_inv(r, 3, true, "no strategy order while paused or blind");
    if (f->expect_trip)
        nd__chaos_set_inv(r, 4, sc->breakers > 0,
            "%lld breaker records (this fault must trip one); "
                "halted at the end: %s", (long long)sc->breakers, last->halted ? "yes" : "no");
    else
        nd__chaos_set_inv(r, 4, last->ok && !last->halted,
            "halted at the end: %s, breaker records %lld",
                last->halted ? "yes" : "no", (long long)sc->breakers);
    if (f->expect_trip && last->halted)
        nd__chaos_set_inv(r, 5, true, "halted by a breaker: trading resumes on an operator's reset "
                "(the live policy), not by itself");
    else if (f->died_status >= 0)
        nd__chaos_set_inv(r, 5, false,
            "the session exited during the fault (wait status %d) and nothing "
                "restarted it", f->died_status);
    else
        nd__chaos_set_inv(r, 5, f->submitted_after_removal > 0,
            "%lld orders submitted after the fault was removed%s",
            (long long)f->submitted_after_removal,
            f->restarted ? " (by the restarted session)" : "");
    for (int k = 6; k < ND_CHAOS_INVARIANTS; k++)
        if (!r->inv[k].checked)
            snprintf(r->inv[k].why, sizeof r->inv[k].why,
                     "paper mode has no venue orders (checked with --live)");
    nd_free(sc);
}
