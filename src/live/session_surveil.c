/* session_surveil.c: a session's post-trade surveillance (surveillance.h; docs/live.md
 * "compliance.surveil_every_ms", docs/monitoring.md "Compliance alerts").
 *
 * With compliance.profile, a store and compliance.surveil_every_ms, the session scans its own
 * order events and fills every period, as `noderr surveil --db URL --record` does: the
 * recorder's batch is flushed, the records since the session started are read back from the
 * store (nd_store_surv_load), every rule of the profile runs over them (nd_surv_scan: high
 * frequency, large volume, wash trading, layering, pattern day trading), and each alert not
 * raised by an earlier scan of this session is recorded with its evidence in the store
 * (nd_store_record_surv_alerts: alert records, then a surveillance_scan operator record). The
 * new alerts go into the status document's "compliance" object (so to `noderr status`, the
 * dashboard's snapshot and its panel) and count in noderr_surveillance_alerts_total{rule}.
 *
 * It runs on the session's loop between events, never inside one: the engine's hot path does
 * not change. A scan costs O(records since the start) (millions of events a second; the
 * store's read dominates). Invariants: seen holds the keys of every alert recorded by this
 * session (rule, jurisdiction, owner, symbol, start of the evidence), so an alert is recorded
 * once however many scans see it; alerts keeps the newest ND_LIVE_SURV_KEEP for the status. */
#include "live_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"
#include "noderr/scenario.h" /* nd_json_time */
#include "noderr/surveillance.h"

#include <stdio.h>
#include <string.h>

/* Distinct alerts one session records; past it a scan still runs and logs, records no more. */
#define ND_LIVE_SURV_SEEN_MAX 4096
/* Records from this long before the session's start are read too: an exchange's event times
 * may trail the local clock a little. */
#define ND_LIVE_SURV_LOOKBACK_NS (60 * ND_NS_PER_SEC)

struct nd__live_surveil {
    uv_timer_t timer;
    bool timer_on;
    const nd_surv_profile_t *profile;
    uint64_t counts[ND_SURV_RULE_COUNT];
    uint64_t scans, events_scanned, failures;
    /* The newest ND_LIVE_SURV_KEEP for the status: a ring, alert_head the oldest. */
    nd__live_surv_alert_t alerts[ND_LIVE_SURV_KEEP];
    uint32_t alert_head, alert_count;
    uint64_t seen[ND_LIVE_SURV_SEEN_MAX];
    uint32_t seen_count;
};

/* FNV-1a of the alert's identity, the names rather than a scan's dictionary ids. */
static uint64_t alert_key(const nd_surv_alert_t *a, const nd_surv_dict_t *dict)
{
    char text[512];
    int n = snprintf(text, sizeof text, "%d|%d|%s|%s|%lld", (int)a->rule, (int)a->jurisdiction,
                     nd_surv_dict_name(dict, a->owner), nd_surv_dict_name(dict, a->symbol),
                     (long long)a->from_ns);
    uint64_t h = 14695981039346656037ull;
    for (int k = 0; k < n && k < (int)sizeof text; k++)
        h = (h ^ (uint8_t)text[k]) * 1099511628211ull;
    return h;
}

static bool seen_before(nd__live_surveil_t *v, uint64_t key)
{
    for (uint32_t k = 0; k < v->seen_count; k++)
        if (v->seen[k] == key)
            return true;
    return false;
}

/* The status document's view of one alert, kept with its names (the scan's dictionary does not
 * outlive the scan): what the dashboard's panel shows (at, rule, detail) and what names it. */
static void alert_keep(nd__live_surv_alert_t *out, const nd_surv_alert_t *a,
                       const nd_surv_dict_t *dict)
{
    size_t used = 0;
    out->accounts[0] = '\0';
    for (uint32_t k = 0; k < a->account_count && used < sizeof out->accounts; k++)
        used += (size_t)snprintf(out->accounts + used, sizeof out->accounts - used, "%s%s",
                                 k ? "," : "", nd_surv_dict_name(dict, a->accounts[k]));
    out->at_ns = a->to_ns;
    out->from_ns = a->from_ns;
    out->rule = (int)a->rule;
    out->jurisdiction = (int)a->jurisdiction;
    snprintf(out->symbol, sizeof out->symbol, "%s",
             a->symbol == ND_SURV_ID_NONE ? "" : nd_surv_dict_name(dict, a->symbol));
    snprintf(out->detail, sizeof out->detail, "%s", a->reason);
}

static json_t *alert_json(const nd__live_surv_alert_t *a)
{
    json_t *j = json_object();
    json_object_set_new(j, "at", nd_json_time(a->at_ns));
    json_object_set_new(j, "from", nd_json_time(a->from_ns));
    json_object_set_new(j, "rule", json_string(nd_surv_rule_name((nd_surv_rule_t)a->rule)));
    json_object_set_new(j, "jurisdiction",
                        json_string(nd_jurisdiction_profile((nd_jurisdiction_t)a->jurisdiction)
                                        ->code));
    json_object_set_new(j, "symbol", json_string(a->symbol));
    json_object_set_new(j, "accounts", json_string(a->accounts));
    json_object_set_new(j, "detail", json_string(a->detail));
    return j;
}

/* Keeps only the alerts no earlier scan raised (in place), noting them as seen, into the
 * status list and the counts. */
static void keep_new(nd__live_surveil_t *v, nd_surv_alerts_t *alerts, const nd_surv_dict_t *dict)
{
    size_t kept = 0;
    for (size_t i = 0; i < alerts->count; i++) {
        const nd_surv_alert_t *a = &alerts->items[i];
        uint64_t key = alert_key(a, dict);
        if (seen_before(v, key) || v->seen_count == ND_LIVE_SURV_SEEN_MAX)
            continue;
        v->seen[v->seen_count++] = key;
        v->counts[a->rule]++;
        if (v->alert_count == ND_LIVE_SURV_KEEP) { /* the oldest makes room */
            v->alert_head = (v->alert_head + 1) % ND_LIVE_SURV_KEEP;
            v->alert_count--;
        }
        alert_keep(&v->alerts[(v->alert_head + v->alert_count) % ND_LIVE_SURV_KEEP], a, dict);
        v->alert_count++;
        ND_LOG(ND_LOG_WARN, "event=surveillance_alert rule=%s jurisdiction=%s reason=\"%s\"",
               nd_surv_rule_name(a->rule), nd_jurisdiction_profile(a->jurisdiction)->code,
               a->reason);
        if (kept != i)
            alerts->items[kept] = *a;
        kept++;
    }
    alerts->count = kept;
}

/* One scan: flush, read back, scan, record the new alerts. Store errors stop the session (a
 * finding that cannot be recorded must not be lost silently); a scan error is logged. */
static nd_err_t scan(nd_live_session_t *s, nd__live_surveil_t *v, nd_surv_dict_t *dict,
                     nd_surv_alerts_t *alerts, char *err, size_t err_len)
{
    nd_err_t rc = nd_recorder_flush(s->recorder, err, err_len);
    nd_store_surv_events_t ev = {0};
    if (rc == ND_OK)
        rc = nd_store_surv_load(s->store, s->started_ns - ND_LIVE_SURV_LOOKBACK_NS, 0, dict,
                                &ev, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_surv_options_t opt = {0};
    const nd_surv_profile_t *profiles[1] = {v->profile};
    rc = nd_surv_scan(ev.events, ev.count, profiles, 1, &opt, alerts, err, err_len);
    v->scans++;
    v->events_scanned = ev.count;
    if (rc == ND_OK)
        keep_new(v, alerts, dict);
    if (rc == ND_OK && alerts->count > 0) {
        char note[160];
        snprintf(note, sizeof note, "session %s: %zu events since its start, %zu new alerts",
                 s->cfg->name, ev.count, alerts->count);
        rc = nd_store_record_surv_alerts(s->store, alerts, dict, ev.events, ev.count,
                                         nd_clock_now_ns(s->clock), note, err, err_len);
    }
    nd_store_surv_events_free(&ev);
    return rc;
}

static void on_surveil_timer(uv_timer_t *t)
{
    nd_live_session_t *s = t->data;
    nd__live_surveil_t *v = s->surveil;
    if (s->fatal != ND_OK || s->stopping)
        return;
    nd_surv_dict_t *dict = NULL;
    nd_surv_alerts_t alerts;
    nd_surv_alerts_init(&alerts);
    char err[512] = "";
    nd_err_t rc = nd_surv_dict_create(&dict);
    if (rc == ND_OK)
        rc = scan(s, v, dict, &alerts, err, sizeof err);
    if (rc != ND_OK) {
        v->failures++;
        ND_LOG(ND_LOG_ERR, "event=surveillance_failed why=\"%s\"", err[0] ? err : nd_strerror(rc));
    }
    if (rc == ND_EIO) { /* the store: as any store failure, the session stops */
        s->fatal = ND_EIO;
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "surveillance: %.200s", err);
        uv_stop(&s->loop);
    }
    nd_surv_alerts_deinit(&alerts);
    nd_surv_dict_destroy(dict);
}

nd_err_t nd__live_surveil_open(nd_live_session_t *s, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL && s->loop_ready);
    const nd_live_config_t *cfg = s->cfg;
    if (!cfg->surveil_every_ns)
        return ND_OK;
    ND_ASSERT(s->store != NULL && s->recorder != NULL); /* the config needs a store */
    nd_jurisdiction_t j;
    if (nd_jurisdiction_parse(cfg->compliance_profile, strlen(cfg->compliance_profile), &j) !=
        ND_OK) {
        nd_err_put(err, err_len, "compliance.profile: '%s' is not a jurisdiction",
                   cfg->compliance_profile);
        return ND_EINVAL;
    }
    nd__live_surveil_t *v = nd_calloc(1, sizeof *v);
    if (!v)
        return ND_ENOMEM;
    v->profile = nd_jurisdiction_profile(j);
    s->surveil = v;
    uv_timer_init(&s->loop, &v->timer);
    v->timer.data = s;
    v->timer_on = true;
    uint64_t every_ms = (uint64_t)(cfg->surveil_every_ns / ND_NS_PER_MS);
    uv_timer_start(&v->timer, on_surveil_timer, every_ms, every_ms);
    ND_LOG(ND_LOG_INFO, "event=surveillance_on profile=%s every_ms=%llu", v->profile->code,
           (unsigned long long)every_ms);
    return ND_OK;
}

/* The timer's memory is the state's: it is freed in the close callback. */
static void on_timer_closed(uv_handle_t *h)
{
    nd_live_session_t *s = h->data;
    nd_free(s->surveil);
    s->surveil = NULL;
}

void nd__live_surveil_close(nd_live_session_t *s)
{
    nd__live_surveil_t *v = s->surveil;
    if (!v || !v->timer_on)
        return;
    v->timer_on = false;
    uv_close((uv_handle_t *)&v->timer, on_timer_closed);
}

void nd__live_surveil_fill(const nd_live_session_t *s, nd__live_surv_figures_t *f)
{
    const nd__live_surveil_t *v = s->surveil;
    f->on = v != NULL;
    if (!v)
        return;
    f->profile = v->profile->code;
    f->scans = v->scans;
    f->events_scanned = v->events_scanned;
    f->failures = v->failures;
    memcpy(f->counts, v->counts, sizeof f->counts);
    f->alert_count = v->alert_count;
    for (uint32_t k = 0; k < v->alert_count; k++)
        f->alerts[k] = v->alerts[(v->alert_head + k) % ND_LIVE_SURV_KEEP];
}

json_t *nd__live_surveil_format(const nd__live_surv_figures_t *f)
{
    if (!f->on)
        return NULL;
    ND_ASSERT(f->alert_count <= ND_LIVE_SURV_KEEP);
    json_t *j = json_object();
    json_object_set_new(j, "profile", json_string(f->profile));
    json_object_set_new(j, "scans", json_integer((json_int_t)f->scans));
    json_object_set_new(j, "events_scanned", json_integer((json_int_t)f->events_scanned));
    json_object_set_new(j, "scan_failures", json_integer((json_int_t)f->failures));
    uint64_t total = 0;
    json_t *by_rule = json_object();
    for (int r = 0; r < ND_SURV_RULE_COUNT; r++) {
        total += f->counts[r];
        json_object_set_new(by_rule, nd_surv_rule_name((nd_surv_rule_t)r),
                            json_integer((json_int_t)f->counts[r]));
    }
    json_object_set_new(j, "alerts_total", json_integer((json_int_t)total));
    json_object_set_new(j, "alerts_by_rule", by_rule);
    json_t *list = json_array();
    for (uint32_t k = 0; k < f->alert_count; k++)
        json_array_append_new(list, alert_json(&f->alerts[k]));
    json_object_set_new(j, "alerts", list);
    return j;
}

json_t *nd__live_surveil_json(const nd_live_session_t *s)
{
    if (!s->surveil)
        return NULL;
    nd__live_surv_figures_t *f = nd_alloc(sizeof *f);
    nd__live_surveil_fill(s, f);
    json_t *j = nd__live_surveil_format(f);
    nd_free(f);
    return j;
}

uint64_t nd__live_surveil_alerts(const nd_live_session_t *s, int rule)
{
    ND_ASSERT(rule >= 0 && rule < ND_SURV_RULE_COUNT);
    return s->surveil ? s->surveil->counts[rule] : 0;
}
