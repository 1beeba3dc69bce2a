/* retention.c: retention classes, their periods and `retention apply`: deleting what is past
 * retention without breaking the audit chain.
 *
 * Invariants: a record is deleted only when its timestamp is strictly before its class's
 * cutoff; prune records are never deleted; the deletion and the prune record that lists every
 * deleted range (first seq, last seq, hash of the last) commit in one transaction; a chain
 * that does not verify is never pruned, so pruning cannot launder tampering; no period below a
 * class's legal minimum (jurisdiction.c) is applied unless the operator overrides it with a
 * reason, and then the override is recorded in the same transaction as the prune. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const class_names[ND_RETENTION_CLASSES] = {"trades", "logs", "metrics",
                                                              "chaos"};

const char *nd_retention_class_name(nd_retention_class_t cls)
{
    ND_ASSERT((int)cls >= 0 && cls < ND_RETENTION_CLASSES);
    return class_names[cls];
}

int nd_retention_class_of(nd_record_kind_t kind)
{
    switch (kind) {
    case ND_RECORD_LOG: return ND_RETENTION_LOGS;
    case ND_RECORD_METRIC: return ND_RETENTION_METRICS;
    case ND_RECORD_CHAOS: return ND_RETENTION_CHAOS;
    case ND_RECORD_PRUNE:
    case ND_RECORD_PIPELINE: return -1;
    default: return ND_RETENTION_TRADES;
    }
}

void nd_retention_policy_default(nd_retention_policy_t *p)
{
    memset(p, 0, sizeof *p);
    p->keep[ND_RETENTION_TRADES].years = 7; /* SEC 17a-4 / MiFID II record keeping, rounded up */
    p->keep[ND_RETENTION_LOGS].years = 1;
    p->keep[ND_RETENTION_METRICS].years = 5;
    p->keep[ND_RETENTION_CHAOS].days = 90;
    p->jurisdictions = 0;
    p->below_minimum_reason = NULL;
}

void nd_retention_period_format(nd_retention_period_t period, char *buf, size_t cap)
{
    if (period.years > 0 && period.days > 0)
        snprintf(buf, cap, "%dy%dd", (int)period.years, (int)period.days);
    else if (period.years > 0)
        snprintf(buf, cap, "%dy", (int)period.years);
    else if (period.days > 0)
        snprintf(buf, cap, "%dd", (int)period.days);
    else
        snprintf(buf, cap, "0 (keep nothing)");
}

nd_err_t nd_retention_policy_check(const nd_retention_policy_t *policy, int64_t now_ns,
                                   uint32_t *below, char *err, size_t err_len)
{
    ND_ASSERT(policy != NULL);
    uint32_t mask = policy->jurisdictions ? policy->jurisdictions : (1u << ND_JUR_COUNT) - 1;
    uint32_t found = 0;
    for (int c = 0; c < ND_RETENTION_CLASSES; c++) {
        int64_t asked = nd_retention_cutoff_ns(policy->keep[c], now_ns);
        for (int j = 0; j < ND_JUR_COUNT; j++) {
            if (!(mask & ND_JUR_BIT(j)) || (found & (1u << c)))
                continue;
            const char *source = NULL;
            nd_retention_period_t min = nd_retention_legal_minimum((nd_jurisdiction_t)j,
                                                                   (nd_retention_class_t)c,
                                                                   &source);
            /* A later cutoff keeps less: the period asked is shorter than the minimum. */
            if (asked <= nd_retention_cutoff_ns(min, now_ns))
                continue;
            found |= 1u << c;
            if (policy->below_minimum_reason)
                continue;
            char a[32], m[32];
            nd_retention_period_format(policy->keep[c], a, sizeof a);
            nd_retention_period_format(min, m, sizeof m);
            snprintf(err, err_len, "retention of %s: %s asked, below the legal minimum of %s "
                     "under %s (%s); refusing without an override that gives a reason",
                     class_names[c], a, m, nd_jurisdiction_profile((nd_jurisdiction_t)j)->code,
                     source);
            return ND_ERANGE;
        }
    }
    if (policy->below_minimum_reason && policy->below_minimum_reason[0] == '\0') {
        snprintf(err, err_len, "an override of the legal minimum needs a reason");
        return ND_EINVAL;
    }
    if (below)
        *below = found;
    return ND_OK;
}

nd_err_t nd_retention_policy_set(nd_retention_policy_t *p, const char *spec, char *err,
                                 size_t err_len)
{
    const char *eq = strchr(spec, '=');
    int cls = -1;
    for (int k = 0; eq && k < ND_RETENTION_CLASSES; k++)
        if (strlen(class_names[k]) == (size_t)(eq - spec) &&
            strncmp(spec, class_names[k], (size_t)(eq - spec)) == 0)
            cls = k;
    if (cls < 0) {
        snprintf(err, err_len, "'%s': want CLASS=Ny or CLASS=Nd with CLASS one of trades, "
                 "logs, metrics, chaos", spec);
        return ND_EINVAL;
    }
    char *end = NULL;
    long n = strtol(eq + 1, &end, 10);
    if (end == eq + 1 || n < 0 || n > 100000 || (*end != 'y' && *end != 'd') || end[1] != '\0') {
        snprintf(err, err_len, "'%s': the period must be a count of years (7y) or days (90d)",
                 spec);
        return ND_EINVAL;
    }
    p->keep[cls].years = *end == 'y' ? (int32_t)n : 0;
    p->keep[cls].days = *end == 'd' ? (int32_t)n : 0;
    return ND_OK;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int64_t nd_retention_cutoff_ns(nd_retention_period_t period, int64_t now_ns)
{
    ND_ASSERT(period.years >= 0);
    ND_ASSERT(period.days >= 0);
    nd_civil_t c;
    nd_time_to_civil(now_ns, &c);
    c.year -= period.years;
    if (c.month == 2 && c.day == 29 && !is_leap(c.year))
        c.day = 28;
    return nd_time_from_civil(&c) - (int64_t)period.days * ND_NS_PER_DAY;
}

typedef struct range {
    int64_t from;
    int64_t to;
    uint8_t last_hash[ND_HASH_SIZE];
} range_t;

typedef struct prune_ctx {
    int64_t cutoff[ND_RETENTION_CLASSES];
    nd_retention_result_t *out;
    range_t *ranges;
    size_t count;
    size_t cap;
    bool open; /* ranges[count - 1] can still grow */
} prune_ctx_t;

static nd_err_t plan_record(void *ctx, const nd_record_t *rec)
{
    prune_ctx_t *p = ctx;
    int cls = nd_retention_class_of(rec->kind);
    if (cls < 0 || rec->ts_ns >= p->cutoff[cls]) {
        p->out->kept += cls >= 0;
        p->open = false;
        return ND_OK;
    }
    p->out->pruned[cls]++;
    p->out->pruned_total++;
    if (p->open && p->ranges[p->count - 1].to + 1 == rec->seq) {
        p->ranges[p->count - 1].to = rec->seq;
        memcpy(p->ranges[p->count - 1].last_hash, rec->hash, ND_HASH_SIZE);
        return ND_OK;
    }
    range_t *r = nd_array_push(&p->ranges, &p->cap, &p->count, sizeof *r, 64);
    if (!r)
        return ND_ENOMEM;
    r->from = r->to = rec->seq;
    memcpy(r->last_hash, rec->hash, ND_HASH_SIZE);
    p->open = true;
    return ND_OK;
}

/* {"ranges": [[from, to, "hash"]...], "pruned": {...}, "cutoffs": {...}}; caller frees. */
static char *prune_detail(const prune_ctx_t *p)
{
    json_t *doc = json_object(), *ranges = json_array(), *pruned = json_object();
    json_t *cutoffs = json_object();
    for (size_t k = 0; k < p->count; k++) {
        char hex[2 * ND_HASH_SIZE + 1];
        nd_hash_hex(p->ranges[k].last_hash, hex);
        json_array_append_new(ranges, json_pack("[I,I,s]", (json_int_t)p->ranges[k].from,
                                                (json_int_t)p->ranges[k].to, hex));
    }
    for (int c = 0; c < ND_RETENTION_CLASSES; c++) {
        char iso[40];
        nd_time_format_iso(p->cutoff[c], iso, sizeof iso);
        json_object_set_new(pruned, class_names[c], json_integer(p->out->pruned[c]));
        json_object_set_new(cutoffs, class_names[c], json_string(iso));
    }
    json_object_set_new(doc, "ranges", ranges);
    json_object_set_new(doc, "pruned", pruned);
    json_object_set_new(doc, "cutoffs", cutoffs);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

/* One operator record per class kept below its legal minimum: class, period, minimum, the
 * jurisdiction whose minimum it is and the operator's reason. Appended into the prune's batch
 * so the override and what it allowed commit together. */
static nd_err_t write_overrides(nd_store_t *s, const nd_retention_policy_t *policy,
                                uint32_t below, int64_t now_ns, nd_retention_result_t *out,
                                char *err, size_t err_len)
{
    uint32_t mask = policy->jurisdictions ? policy->jurisdictions : (1u << ND_JUR_COUNT) - 1;
    for (int c = 0; c < ND_RETENTION_CLASSES; c++) {
        if (!(below & (1u << c)))
            continue;
        /* The binding minimum: the longest among the jurisdictions (earliest cutoff). */
        int bind = -1;
        int64_t bind_cut = 0;
        for (int j = 0; j < ND_JUR_COUNT; j++) {
            if (!(mask & ND_JUR_BIT(j)))
                continue;
            int64_t cut = nd_retention_cutoff_ns(
                nd_retention_legal_minimum((nd_jurisdiction_t)j, (nd_retention_class_t)c, NULL),
                now_ns);
            if (bind < 0 || cut < bind_cut) {
                bind = j;
                bind_cut = cut;
            }
        }
        ND_ASSERT(bind >= 0);
        const char *source = NULL;
        nd_retention_period_t min = nd_retention_legal_minimum((nd_jurisdiction_t)bind,
                                                               (nd_retention_class_t)c, &source);
        char a[32], m[32], note[768];
        nd_retention_period_format(policy->keep[c], a, sizeof a);
        nd_retention_period_format(min, m, sizeof m);
        json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "class", class_names[c], "period", a,
                                "legal_minimum", m, "jurisdiction",
                                nd_jurisdiction_profile((nd_jurisdiction_t)bind)->code, "source",
                                source, "reason", policy->below_minimum_reason);
        char *detail = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (!detail) {
            snprintf(err, err_len, "out of memory");
            return ND_ENOMEM;
        }
        snprintf(note, sizeof note, "retention of %s set to %s, below the legal minimum of %s "
                 "under %s: %s", class_names[c], a, m,
                 nd_jurisdiction_profile((nd_jurisdiction_t)bind)->code,
                 policy->below_minimum_reason);
        nd_record_t rec;
        memset(&rec, 0, sizeof rec);
        rec.kind = ND_RECORD_OPERATOR;
        rec.ts_ns = now_ns;
        rec.event = "retention_below_legal_minimum";
        rec.account = "retention";
        rec.jurisdiction = nd_jurisdiction_profile((nd_jurisdiction_t)bind)->code;
        rec.reason = note;
        rec.detail = detail;
        nd_err_t rc = nd_store_append(s, &rec, err, err_len);
        free(detail); /* tidy:allow jansson allocates with the C library */
        if (rc != ND_OK)
            return rc;
        out->override_records++;
    }
    return ND_OK;
}

static nd_err_t write_prune(nd_store_t *s, prune_ctx_t *p, int64_t now_ns, char *err,
                            size_t err_len)
{
    char *detail = prune_detail(p);
    if (!detail) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    char reason[96];
    snprintf(reason, sizeof reason, "%lld records past retention in %zu ranges",
             (long long)p->out->pruned_total, p->count);
    nd_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_RECORD_PRUNE;
    rec.ts_ns = now_ns;
    rec.event = "retention";
    rec.reason = reason;
    rec.detail = detail;
    nd_err_t rc = nd_store_append(s, &rec, err, err_len);
    free(detail); /* tidy:allow jansson allocates with the C library */
    for (size_t k = 0; rc == ND_OK && k < p->count; k++)
        rc = nd__store_remove(s, p->ranges[k].from, p->ranges[k].to, err, err_len);
    if (rc == ND_OK)
        rc = nd_store_flush(s, err, err_len);
    if (rc == ND_OK)
        p->out->prune_seq = rec.seq;
    return rc;
}

static nd_err_t check_chain(nd_store_t *s, char *err, size_t err_len)
{
    nd_audit_result_t audit;
    nd_err_t rc = nd_audit_verify(s, &audit, err, err_len);
    if (rc == ND_OK && audit.problem != ND_AUDIT_OK) {
        snprintf(err, err_len, "the audit chain does not verify (%s at seq %lld: %s): "
                 "refusing to prune", nd_audit_problem_name(audit.problem),
                 (long long)audit.seq, audit.detail);
        rc = ND_ESTATE;
    }
    return rc;
}

nd_err_t nd_retention_apply(nd_store_t *s, const nd_retention_policy_t *policy, int64_t now_ns,
                            bool dry_run, nd_retention_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(policy != NULL);
    nd_retention_result_t res;
    memset(&res, 0, sizeof res);
    prune_ctx_t p;
    memset(&p, 0, sizeof p);
    p.out = &res;
    for (int c = 0; c < ND_RETENTION_CLASSES; c++)
        p.cutoff[c] = res.cutoff_ns[c] = nd_retention_cutoff_ns(policy->keep[c], now_ns);
    uint32_t below = 0;
    nd_err_t rc = nd_retention_policy_check(policy, now_ns, &below, err, err_len);
    if (rc == ND_OK)
        rc = check_chain(s, err, err_len);
    if (rc == ND_OK)
        rc = nd_store_scan(s, NULL, &p, plan_record, err, err_len);
    if (rc == ND_ENOMEM)
        snprintf(err, err_len, "out of memory planning the prune");
    res.ranges = (int64_t)p.count;
    /* The override records go first, in the prune's transaction: nothing below a legal
     * minimum is deleted without the record of who allowed it and why. */
    if (rc == ND_OK && !dry_run && below != 0)
        rc = write_overrides(s, policy, below, now_ns, &res, err, err_len);
    if (rc == ND_OK && !dry_run && p.count > 0)
        rc = write_prune(s, &p, now_ns, err, err_len);
    else if (rc == ND_OK && !dry_run && below != 0)
        rc = nd_store_flush(s, err, err_len);
    nd_free(p.ranges);
    if (rc == ND_OK)
        *out = res;
    return rc;
}
