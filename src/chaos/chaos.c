/* chaos.c: the chaos suite's scenario table, the resilience score, the verdict and the results
 * as JSON and as chaos records of the compliance store. Pure except nd_chaos_store. The score's
 * formula is documented in chaos.h and docs/chaos.md; change both together. */
#include "noderr/chaos.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/store.h"

#include <jansson.h>
#include <string.h>

/* The 14 scenarios in its 5 categories. Detection targets: 1 s for the data and
 * network faults (the target); 0 where noticing is not required (a slow CPU is not an
 * outage). Recovery targets: 1 s for a connector or the store, 5 s for a killed process. */
static const nd_chaos_scenario_t scenarios[ND_CHAOS_SCENARIOS] = {
    {"connector_killed", 1, ND_CHAOS_MODULE,
     "exchange-sim closes every market-stream connection (admin fault disconnect)",
     "the feed reconnects and the strategies trade again", 1000, 1000, true, false, true},
    {"store_writer_killed", 2, ND_CHAOS_MODULE,
     "the store writer's database connection is killed mid-batch (the session's chaos fault "
     "signal)",
     "the health check fails the store module, its restart reopens the database and writes "
     "what it held; nothing is lost", 1000, 1000, true, false, false},
    {"process_killed", 3, ND_CHAOS_MODULE,
     "SIGKILL of the launch process, restarted by the runner (as systemd would)",
     "the restarted session verifies its chain, resumes and trades within 5 s", 0, 5000, true,
     false, true},
    {"price_spike", 4, ND_CHAOS_DATA,
     "one trade print 20% above the market (admin fault spike)",
     "a breaker (data integrity or anomaly) trips; nothing trades on the print", 1000, 1000,
     true, false, false},
    {"stale_feed", 5, ND_CHAOS_DATA,
     "market updates stop, the connection stays up (admin fault stale)",
     "the feed fails, the strategies pause with nothing working, then resume", 1000, 1000, true,
     false, true},
    {"corrupt_messages", 6, ND_CHAOS_DATA,
     "duplicated, reordered and dropped messages and a depth sequence gap",
     "the feed notices and goes on; nothing is ordered twice", 1000, 1000, true, false, false},
    {"latency_jitter", 7, ND_CHAOS_NETWORK,
     "tc netem on the namespace's loopback: 150 ms delay, 100 ms jitter",
     "the session keeps trading; late messages are counted", 0, 1000, true, true, false},
    {"venue_partition", 8, ND_CHAOS_NETWORK,
     "tc netem loss 100% on the namespace's loopback (SIGSTOP of the venue without root)",
     "the feed fails, the strategies pause, then resume when the network is back", 1000, 1000,
     true, false, true},
    {"packet_loss", 9, ND_CHAOS_NETWORK,
     "tc netem loss 30% on the namespace's loopback",
     "TCP retransmits; the session notices or rides it out and trades after", 0, 1000, true,
     true, false},
    {"flash_crash", 10, ND_CHAOS_MARKET,
     "the market falls 30% then recovers half of it (admin fault crash)",
     "a breaker (drawdown or anomaly) trips and the engine halts with nothing working", 1000, 1000, true,
     false, false},
    {"liquidity_crisis", 11, ND_CHAOS_MARKET,
     "the book thins to 3% of its depth, spreads widen 20x (admin fault thin)",
     "orders stay within limits; trading resumes when depth returns", 0, 1000, true, false,
     false},
    {"cpu_starvation", 12, ND_CHAOS_RESOURCE,
     "the session's cgroup gets 5% of one CPU (cgroup cpu quota)",
     "the session survives and trades at full speed once the quota is lifted", 0, 1000, true,
     true, false},
    {"memory_pressure", 13, ND_CHAOS_RESOURCE,
     "the session's cgroup memory limit is set 16 MiB above its working set",
     "the session survives (no OOM kill) and trades on", 0, 1000, true, true, false},
    {"disk_full", 14, ND_CHAOS_RESOURCE,
     "the tmpfs under the store is filled to the last byte",
     "the store module fails, nothing acknowledged is lost, it recovers when space returns",
     1000, 1000, true, true, false},
};

static const char *const invariant_names[ND_CHAOS_INVARIANTS] = {
    "audit_chain", "fills_recorded", "no_duplicate", "halted_silent", "breakers", "resumed",
    "venue_orders", "venue_position"};

const nd_chaos_scenario_t *nd_chaos_scenarios(size_t *count)
{
    ND_ASSERT(count != NULL);
    *count = ND_CHAOS_SCENARIOS;
    return scenarios;
}

const nd_chaos_scenario_t *nd_chaos_find(const char *name)
{
    ND_ASSERT(name != NULL);
    for (size_t i = 0; i < ND_CHAOS_SCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

const char *nd_chaos_category_name(nd_chaos_category_t c)
{
    static const char *const names[] = {"module", "data", "network", "market", "resource"};
    return (unsigned)c < 5 ? names[c] : "unknown";
}

const char *nd_chaos_status_name(nd_chaos_status_t s)
{
    static const char *const names[] = {"pass", "fail", "skip", "not implemented", "error"};
    return (unsigned)s < 5 ? names[s] : "unknown";
}

nd_err_t nd_chaos_defect_parse(const char *text, nd_chaos_defect_t *out)
{
    ND_ASSERT(text != NULL && out != NULL);
    if (strcmp(text, "none") == 0)
        *out = ND_CHAOS_DEFECT_NONE;
    else if (strcmp(text, "no-stale-detect") == 0)
        *out = ND_CHAOS_DEFECT_STALE_DETECT;
    else if (strcmp(text, "no-restart") == 0)
        *out = ND_CHAOS_DEFECT_NO_RESTART;
    else if (strcmp(text, "no-cancel-on-stop") == 0)
        *out = ND_CHAOS_DEFECT_NO_CANCEL;
    else
        return ND_EINVAL;
    return ND_OK;
}

static const char *defect_name(nd_chaos_defect_t d)
{
    return d == ND_CHAOS_DEFECT_STALE_DETECT ? "no-stale-detect"
           : d == ND_CHAOS_DEFECT_NO_RESTART ? "no-restart"
           : d == ND_CHAOS_DEFECT_NO_CANCEL  ? "no-cancel-on-stop"
                                             : "none";
}

void nd_chaos_result_init(nd_chaos_result_t *r, const nd_chaos_scenario_t *sc)
{
    ND_ASSERT(r != NULL && sc != NULL);
    memset(r, 0, sizeof *r);
    r->scenario = sc;
    r->detect_ms = -1;
    r->recover_ms = -1;
    r->score = -1;
    for (int i = 0; i < ND_CHAOS_INVARIANTS; i++)
        r->inv[i].name = invariant_names[i];
}

/* Points for a time against its target: full within it, then linearly down to 0 at 4x. */
static int time_points(int64_t ms, int64_t target_ms, int full)
{
    if (target_ms <= 0)
        return full;
    if (ms < 0)
        return 0;
    if (ms <= target_ms)
        return full;
    if (ms >= 4 * target_ms)
        return 0;
    return (int)((int64_t)full * (4 * target_ms - ms) / (3 * target_ms));
}

int nd_chaos_score(const nd_chaos_result_t *r)
{
    ND_ASSERT(r != NULL && r->scenario != NULL);
    if (r->status == ND_CHAOS_SKIP || r->status == ND_CHAOS_NOT_IMPLEMENTED ||
        r->status == ND_CHAOS_ERROR)
        return -1;
    int score = r->recovered ? 40 : 0;
    int checked = 0, held = 0;
    for (int i = 0; i < ND_CHAOS_INVARIANTS; i++) {
        checked += r->inv[i].checked;
        held += r->inv[i].checked && r->inv[i].held;
    }
    score += checked == 0 ? 30 : 30 * held / checked;
    score += time_points(r->detect_ms, r->scenario->detect_target_ms, 15);
    score += r->recovered ? time_points(r->recover_ms, r->scenario->recover_target_ms, 10) : 0;
    if (r->orders_baseline <= 0)
        score += 5;
    else
        score += (int)(5 * (r->orders_fault < r->orders_baseline ? r->orders_fault
                                                                 : r->orders_baseline) /
                       r->orders_baseline);
    ND_ASSERT(score >= 0 && score <= 100);
    return score;
}

int nd_chaos_score_overall(const nd_chaos_result_t *results, size_t n)
{
    int64_t sum = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        if (results[i].score < 0)
            continue;
        sum += results[i].score;
        count++;
    }
    return count == 0 ? -1 : (int)((sum + count / 2) / count);
}

void nd_chaos_judge(nd_chaos_result_t *r)
{
    ND_ASSERT(r != NULL);
    if (r->status == ND_CHAOS_PASS || r->status == ND_CHAOS_FAIL) {
        r->status = ND_CHAOS_PASS;
        r->reason[0] = '\0';
        for (int i = 0; i < ND_CHAOS_INVARIANTS && r->status == ND_CHAOS_PASS; i++) {
            if (r->inv[i].checked && !r->inv[i].held) {
                r->status = ND_CHAOS_FAIL;
                snprintf(r->reason, sizeof r->reason, "invariant %s broken: %s", r->inv[i].name,
                         r->inv[i].why);
            }
        }
        if (r->status == ND_CHAOS_PASS && !r->recovered) {
            r->status = ND_CHAOS_FAIL;
            snprintf(r->reason, sizeof r->reason, "not recovered");
        }
        if (r->status == ND_CHAOS_PASS && r->scenario->detect_target_ms > 0 && r->detect_ms < 0) {
            r->status = ND_CHAOS_FAIL;
            snprintf(r->reason, sizeof r->reason, "the fault was never detected");
        }
    }
    r->score = nd_chaos_score(r);
}

static json_t *ms_or_null(int64_t ms)
{
    return ms < 0 ? json_null() : json_integer(ms);
}

static json_t *result_json(const nd_chaos_result_t *r)
{
    const nd_chaos_scenario_t *sc = r->scenario;
    json_t *j = json_object(), *inv = json_array();
    json_object_set_new(j, "name", json_string(sc->name));
    json_object_set_new(j, "number", json_integer(sc->number));
    json_object_set_new(j, "category", json_string(nd_chaos_category_name(sc->category)));
    json_object_set_new(j, "fault", json_string(sc->fault));
    json_object_set_new(j, "status", json_string(nd_chaos_status_name(r->status)));
    json_object_set_new(j, "reason", json_string(r->reason));
    json_object_set_new(j, "detected_by", json_string(r->detected_by));
    json_object_set_new(j, "detect_ms", ms_or_null(r->detect_ms));
    json_object_set_new(j, "detect_target_ms", json_integer(sc->detect_target_ms));
    json_object_set_new(j, "recovered", json_boolean(r->recovered));
    json_object_set_new(j, "recover_ms", ms_or_null(r->recover_ms));
    json_object_set_new(j, "recover_target_ms", json_integer(sc->recover_target_ms));
    json_object_set_new(j, "orders_fault", json_integer(r->orders_fault));
    json_object_set_new(j, "orders_baseline", json_integer(r->orders_baseline));
    json_object_set_new(j, "pnl_fault", json_real((double)r->pnl_fault_e8 / 1e8));
    json_object_set_new(j, "pnl_baseline", json_real((double)r->pnl_baseline_e8 / 1e8));
    json_object_set_new(j, "elapsed_ms", json_integer(r->elapsed_ms));
    json_object_set_new(j, "score", r->score < 0 ? json_null() : json_integer(r->score));
    for (int i = 0; i < ND_CHAOS_INVARIANTS; i++) {
        const nd_chaos_invariant_t *v = &r->inv[i];
        json_array_append_new(inv, json_pack("{s:s,s:b,s:b,s:s}", "name", v->name, "checked",
                                             v->checked, "held", v->held, "why", v->why));
    }
    json_object_set_new(j, "invariants", inv);
    return j;
}

static json_t *suite_json(const nd_chaos_options_t *opt, const nd_chaos_result_t *results,
                          size_t n)
{
    int counts[5] = {0};
    json_t *doc = json_object(), *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        counts[results[i].status]++;
        json_array_append_new(arr, result_json(&results[i]));
    }
    int overall = nd_chaos_score_overall(results, n);
    json_object_set_new(doc, "seed", json_integer((json_int_t)opt->seed));
    json_object_set_new(doc, "short", json_boolean(opt->short_run));
    json_object_set_new(doc, "live", json_boolean(opt->live));
    json_object_set_new(doc, "defect", json_string(defect_name(opt->defect)));
    json_object_set_new(doc, "score", overall < 0 ? json_null() : json_integer(overall));
    json_object_set_new(doc, "passed", json_integer(counts[ND_CHAOS_PASS]));
    json_object_set_new(doc, "failed", json_integer(counts[ND_CHAOS_FAIL]));
    json_object_set_new(doc, "skipped", json_integer(counts[ND_CHAOS_SKIP]));
    json_object_set_new(doc, "not_implemented", json_integer(counts[ND_CHAOS_NOT_IMPLEMENTED]));
    json_object_set_new(doc, "errors", json_integer(counts[ND_CHAOS_ERROR]));
    json_object_set_new(doc, "scenarios", arr);
    return doc;
}

static char *dump(json_t *doc)
{
    if (!doc)
        return NULL;
    size_t len = json_dumpb(doc, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(10));
    char *text = nd_alloc(len + 1);
    if (text) {
        json_dumpb(doc, text, len, JSON_COMPACT | JSON_REAL_PRECISION(10));
        text[len] = '\0';
    }
    json_decref(doc);
    return text;
}

char *nd_chaos_json(const nd_chaos_options_t *opt, const nd_chaos_result_t *results, size_t n)
{
    ND_ASSERT(opt != NULL && (results != NULL || n == 0));
    return dump(suite_json(opt, results, n));
}

static nd_err_t append_chaos(nd_store_t *s, int64_t now_ns, const char *event, const char *reason,
                             char *detail, char *err, size_t err_len)
{
    if (!detail) {
        nd_err_put(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    nd_record_t rec = {.ts_ns = now_ns, .kind = ND_RECORD_CHAOS, .event = event,
                       .account = "chaos", .reason = reason, .detail = detail};
    nd_err_t rc = nd_store_append(s, &rec, err, err_len);
    nd_free(detail);
    return rc;
}

nd_err_t nd_chaos_store(const char *url, const nd_chaos_options_t *opt,
                        const nd_chaos_result_t *results, size_t n, int64_t now_ns, char *err,
                        size_t err_len)
{
    ND_ASSERT(url != NULL && opt != NULL);
    nd_store_t *s = NULL;
    nd_err_t rc = nd_store_open(url, ND_STORE_CREATE, &s, err, err_len);
    if (rc != ND_OK)
        return rc;
    char reason[96];
    for (size_t i = 0; i < n && rc == ND_OK; i++) {
        const nd_chaos_result_t *r = &results[i];
        if (r->status == ND_CHAOS_NOT_IMPLEMENTED)
            continue;
        snprintf(reason, sizeof reason, "%s score %d", nd_chaos_status_name(r->status), r->score);
        rc = append_chaos(s, now_ns, r->scenario->name, reason, dump(result_json(r)), err,
                          err_len);
    }
    if (rc == ND_OK) {
        json_t *doc = suite_json(opt, results, n);
        json_object_del(doc, "scenarios");
        snprintf(reason, sizeof reason, "suite score %d", nd_chaos_score_overall(results, n));
        rc = append_chaos(s, now_ns, "suite", reason, dump(doc), err, err_len);
    }
    if (rc == ND_OK)
        rc = nd_store_flush(s, err, err_len);
    nd_store_close(s);
    return rc;
}
