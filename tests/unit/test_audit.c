/* test_audit.c: the audit chain's canonical encoding and hashes against vectors computed
 * independently (Python's hashlib over the documented layout), the store computing the same
 * hashes on append, retention cutoffs (calendar years, 29 February) and report periods. */
#include <criterion/criterion.h>

#include "noderr/clock.h"
#include "noderr/store.h"

#include <string.h>

static nd_record_t first_record(void)
{
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.seq = 1;
    r.ts_ns = 1000;
    r.kind = ND_RECORD_FILL;
    r.side = 1;
    r.event = "taker";
    r.account = "a";
    r.instrument = "BTC/USDT";
    r.client_order_id = "7";
    r.px = 12345;
    r.qty = 2;
    r.px_scale = 2;
    r.notional = 24690000000;
    return r;
}

Test(audit, encoding_layout)
{
    nd_record_t r = first_record();
    uint8_t buf[256];
    size_t n = nd_record_encode(&r, buf, sizeof buf);
    cr_assert_eq(n, 152); /* 1 + 12 * 8 + 10 * 4 + 5 + 1 + 8 + 1 */
    cr_assert_eq(buf[0], 1);
    for (int k = 1; k < 8; k++)
        cr_assert_eq(buf[k], 0);
    cr_assert_eq(buf[8], 1); /* seq 1, big-endian */
    cr_assert_eq(buf[9 + 6], 0x03);
    cr_assert_eq(buf[9 + 7], 0xe8); /* ts 1000 */
    cr_assert_eq(nd_record_encode(&r, buf, 10), 152); /* too small: size only */
}

Test(audit, hash_vectors)
{
    nd_record_t r = first_record();
    uint8_t h[ND_HASH_SIZE];
    char hex[2 * ND_HASH_SIZE + 1];
    cr_assert_eq(nd_record_hash(&r, h), ND_OK);
    nd_hash_hex(h, hex);
    cr_assert_str_eq(hex, "ef2d5f3d7cfc0f9f0245514f6b6f6aa42bf39c814da8ac2a077d0f1cd6bf4d1b");
    nd_record_t r2;
    memset(&r2, 0, sizeof r2);
    r2.seq = 2;
    r2.ts_ns = 2000;
    r2.kind = ND_RECORD_ORDER;
    r2.side = -1;
    r2.event = "rejected";
    r2.account = "a";
    r2.strategy = "s";
    r2.venue = "sim";
    r2.instrument = "BTC/USDT";
    r2.client_order_id = "8";
    r2.qty = 5;
    r2.px_scale = 8;
    r2.qty_scale = 8;
    r2.reason = "halted";
    r2.detail = "{}";
    memcpy(r2.prev_hash, h, ND_HASH_SIZE);
    cr_assert_eq(nd_record_hash(&r2, h), ND_OK);
    nd_hash_hex(h, hex);
    cr_assert_str_eq(hex, "6f1c51c53cf7166db0fc7f1249e4944750fed92225a64e7aa2d849d59002e3c2");
}

Test(audit, store_appends_hash_the_same_way)
{
    nd_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_store_open("mem:", 0, &s, err, sizeof err), ND_OK);
    nd_record_t r = first_record();
    cr_assert_eq(nd_store_append_fill(s, &r, err, sizeof err), ND_OK, "%s", err);
    char hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(r.hash, hex);
    cr_assert_str_eq(hex, "ef2d5f3d7cfc0f9f0245514f6b6f6aa42bf39c814da8ac2a077d0f1cd6bf4d1b");
    for (int k = 0; k < ND_HASH_SIZE; k++)
        cr_assert_eq(r.prev_hash[k], 0);
    nd_store_close(s);
}

static int64_t iso(const char *text)
{
    int64_t ns = 0;
    cr_assert_eq(nd_time_parse_iso(text, &ns), ND_OK, "%s", text);
    return ns;
}

Test(retention, cutoffs_are_calendar_years_then_days)
{
    nd_retention_period_t seven = {7, 0}, one = {1, 0}, ninety = {0, 90};
    cr_assert_eq(nd_retention_cutoff_ns(seven, iso("2022-05-09T12:30:00Z")),
                 iso("2015-05-09T12:30:00Z"));
    cr_assert_eq(nd_retention_cutoff_ns(one, iso("2024-02-29T00:00:00Z")),
                 iso("2023-02-28T00:00:00Z"));
    cr_assert_eq(nd_retention_cutoff_ns(ninety, iso("2022-05-09T00:00:00Z")),
                 iso("2022-02-08T00:00:00Z"));
}

Test(retention, policy_specs)
{
    nd_retention_policy_t p;
    nd_retention_policy_default(&p);
    cr_assert_eq(p.keep[ND_RETENTION_TRADES].years, 7);
    cr_assert_eq(p.keep[ND_RETENTION_METRICS].years, 5);
    cr_assert_eq(p.keep[ND_RETENTION_LOGS].years, 1);
    cr_assert_eq(p.keep[ND_RETENTION_CHAOS].days, 90);
    char err[256];
    cr_assert_eq(nd_retention_policy_set(&p, "chaos=30d", err, sizeof err), ND_OK);
    cr_assert_eq(p.keep[ND_RETENTION_CHAOS].days, 30);
    cr_assert_eq(nd_retention_policy_set(&p, "logs=2y", err, sizeof err), ND_OK);
    cr_assert_eq(p.keep[ND_RETENTION_LOGS].years, 2);
    cr_assert_eq(nd_retention_policy_set(&p, "trade=7y", err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_retention_policy_set(&p, "trades=7", err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_retention_policy_set(&p, "trades=-1y", err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_retention_class_of(ND_RECORD_PRUNE), -1);
    cr_assert_eq(nd_retention_class_of(ND_RECORD_ALERT), ND_RETENTION_TRADES);
}

/* Regression: `retention apply --keep trades=0y` deleted every trade record. A period below a
 * class's legal minimum is refused naming the class, the period and the minimum; an override
 * needs a reason; a period at or above the minimum passes. */
Test(retention, legal_minimum_refuses_a_shorter_period)
{
    const int64_t now = iso("2031-03-01T00:00:00Z");
    nd_retention_policy_t p;
    nd_retention_policy_default(&p);
    char err[512] = "";
    uint32_t below = 99;
    cr_assert_eq(nd_retention_policy_check(&p, now, &below, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(below, 0);
    for (int j = 0; j < ND_JUR_COUNT; j++) {
        const char *source = NULL;
        nd_retention_period_t m = nd_retention_legal_minimum((nd_jurisdiction_t)j,
                                                             ND_RETENTION_TRADES, &source);
        cr_assert_eq(m.years, 7);
        cr_assert(source != NULL && source[0] != '\0');
    }
    cr_assert_eq(nd_retention_policy_set(&p, "trades=0y", err, sizeof err), ND_OK);
    cr_assert_eq(nd_retention_policy_check(&p, now, &below, err, sizeof err), ND_ERANGE);
    cr_assert(strstr(err, "retention of trades") != NULL, "%s", err);
    cr_assert(strstr(err, "0 (keep nothing) asked") != NULL, "%s", err);
    cr_assert(strstr(err, "legal minimum of 7y") != NULL, "%s", err);
    /* One day short of seven years is still short. */
    cr_assert_eq(nd_retention_policy_set(&p, "trades=2555d", err, sizeof err), ND_OK);
    cr_assert_eq(nd_retention_policy_check(&p, now, NULL, err, sizeof err), ND_ERANGE);
    cr_assert(strstr(err, "2555d asked") != NULL, "%s", err);
    cr_assert_eq(nd_retention_policy_set(&p, "trades=8y", err, sizeof err), ND_OK);
    cr_assert_eq(nd_retention_policy_check(&p, now, NULL, err, sizeof err), ND_OK, "%s", err);
    /* Classes without a rule have no minimum. */
    cr_assert_eq(nd_retention_policy_set(&p, "chaos=0d", err, sizeof err), ND_OK);
    cr_assert_eq(nd_retention_policy_set(&p, "logs=1d", err, sizeof err), ND_OK);
    cr_assert_eq(nd_retention_policy_check(&p, now, NULL, err, sizeof err), ND_OK, "%s", err);
    /* The override: a reason is required; the classes below are reported. */
    cr_assert_eq(nd_retention_policy_set(&p, "trades=1y", err, sizeof err), ND_OK);
    p.below_minimum_reason = "";
    cr_assert_eq(nd_retention_policy_check(&p, now, NULL, err, sizeof err), ND_EINVAL);
    p.below_minimum_reason = "court order 42";
    cr_assert_eq(nd_retention_policy_check(&p, now, &below, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(below, 1u << ND_RETENTION_TRADES);
}

static nd_err_t find_override(void *ctx, const nd_record_t *rec)
{
    if (rec->kind == ND_RECORD_OPERATOR && strcmp(rec->event, "retention_below_legal_minimum") == 0) {
        cr_assert(strstr(rec->reason, "retention of trades set to 0 (keep nothing), below the "
                                      "legal minimum of 7y under UK: test data") != NULL,
                  "%s", rec->reason);
        cr_assert(strstr(rec->detail, "\"legal_minimum\":\"7y\"") != NULL, "%s", rec->detail);
        *(int64_t *)ctx = rec->seq;
    }
    return ND_OK;
}

/* The override reaches the chain: an operator record naming class, period, minimum and
 * reason, in the prune's transaction; without it nothing is deleted. */
Test(retention, override_is_recorded_in_the_chain)
{
    nd_store_t *s = NULL;
    char err[512] = "";
    cr_assert_eq(nd_store_open("mem:", 0, &s, err, sizeof err), ND_OK, "%s", err);
    for (int k = 0; k < 3; k++)
        cr_assert_eq(nd_store_append_operator_action(s, iso("2024-01-01T00:00:00Z") + k, "op",
                                                     "start", "", err, sizeof err), ND_OK);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK);
    nd_retention_policy_t p;
    nd_retention_policy_default(&p);
    cr_assert_eq(nd_retention_policy_set(&p, "trades=0y", err, sizeof err), ND_OK);
    nd_retention_result_t r;
    const int64_t now = iso("2025-01-01T00:00:00Z");
    cr_assert_eq(nd_retention_apply(s, &p, now, false, &r, err, sizeof err), ND_ERANGE);
    cr_assert_eq(nd_store_last_seq(s), 3);
    p.below_minimum_reason = "test data";
    p.jurisdictions = ND_JUR_BIT(ND_JUR_UK);
    cr_assert_eq(nd_retention_apply(s, &p, now, false, &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(r.pruned_total, 3);
    cr_assert_eq(r.override_records, 1);
    cr_assert_eq(r.prune_seq, 5);
    nd_audit_result_t a;
    cr_assert_eq(nd_audit_verify(s, &a, err, sizeof err), ND_OK);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_eq(a.verified, 2);
    int64_t seq = 0;
    cr_assert_eq(nd_store_scan(s, NULL, &seq, find_override, err, sizeof err), ND_OK);
    cr_assert_eq(seq, 4);
    nd_store_close(s);
}

Test(report, periods)
{
    nd_compliance_period_t p;
    char err[256];
    cr_assert_eq(nd_compliance_period_parse("quarterly:2022-Q4", &p, err, sizeof err), ND_OK);
    cr_assert_eq(p.from_ns, iso("2022-10-01T00:00:00Z"));
    cr_assert_eq(p.to_ns, iso("2023-01-01T00:00:00Z"));
    cr_assert_eq(nd_compliance_period_parse("monthly:2022-12", &p, err, sizeof err), ND_OK);
    cr_assert_eq(p.to_ns, iso("2023-01-01T00:00:00Z"));
    cr_assert_eq(nd_compliance_period_parse("daily:2024-02-29", &p, err, sizeof err), ND_OK);
    cr_assert_eq(p.to_ns, iso("2024-03-01T00:00:00Z"));
    cr_assert_eq(nd_compliance_period_parse("annual:2022", &p, err, sizeof err), ND_OK);
    cr_assert_eq(p.from_ns, iso("2022-01-01T00:00:00Z"));
    const char *bad[] = {"daily:2023-02-29", "monthly:2022-13", "quarterly:2022-Q5",
                         "annual:22", "weekly:2022-01", "daily:2022-5-9", "2022"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_assert_eq(nd_compliance_period_parse(bad[k], &p, err, sizeof err), ND_EINVAL, "%s",
                     bad[k]);
}

/* ---- nd_record_decode: the inverse of nd_record_encode, strict on bytes edited by hand ---- */

static nd_record_t full_record(void)
{
    nd_record_t r = first_record();
    r.seq = 77;
    r.kind = ND_RECORD_ALERT;
    r.side = -1;
    r.strategy = "sma";
    r.venue = "sim";
    r.jurisdiction = "EU";
    r.venue_order_id = "v\t9";
    r.px = -5;
    r.qty_scale = 8;
    r.fee = INT64_MIN;
    r.from_ns = INT64_MAX;
    r.to_ns = -1;
    r.reason = "caf\xc3\xa9, \"quoted\"\nnext line";
    r.detail = "{\"a\": [1, 2]}";
    return r;
}

Test(record_decode, round_trip)
{
    nd_record_t r = full_record();
    uint8_t enc[512], again[512];
    size_t n = nd_record_encode(&r, enc, sizeof enc);
    cr_assert(n < sizeof enc);
    nd_record_t d;
    memset(&d, 0, sizeof d);
    d.hash[0] = 0xab; /* the hashes are not in the encoding: left as they were */
    char text[512], err[160] = "";
    cr_assert_eq(nd_record_decode(enc, n, &d, text, n, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(d.hash[0], 0xab);
    cr_assert_eq(d.seq, 77);
    cr_assert_eq(d.kind, ND_RECORD_ALERT);
    cr_assert_eq(d.side, -1);
    cr_assert_eq(d.px, -5);
    cr_assert_eq(d.px_scale, 2);
    cr_assert_eq(d.qty_scale, 8);
    cr_assert_eq(d.fee, INT64_MIN);
    cr_assert_eq(d.from_ns, INT64_MAX);
    cr_assert_eq(d.to_ns, -1);
    cr_assert_str_eq(d.event, "taker");
    cr_assert_str_eq(d.account, "a");
    cr_assert_str_eq(d.jurisdiction, "EU");
    cr_assert_str_eq(d.venue_order_id, "v\t9");
    cr_assert_str_eq(d.reason, "caf\xc3\xa9, \"quoted\"\nnext line");
    cr_assert_str_eq(d.detail, "{\"a\": [1, 2]}");
    cr_assert_eq(nd_record_encode(&d, again, sizeof again), n);
    cr_assert_eq(memcmp(enc, again, n), 0);
}

Test(record_decode, every_truncation_and_extension_is_refused)
{
    nd_record_t r = full_record();
    uint8_t enc[513];
    size_t n = nd_record_encode(&r, enc, sizeof enc);
    char text[600], err[160];
    nd_record_t d;
    memset(&d, 0, sizeof d);
    for (size_t len = 0; len < n; len++)
        cr_assert_eq(nd_record_decode(enc, len, &d, text, sizeof text, err, sizeof err),
                     ND_EPARSE, "length %zu", len);
    enc[n] = 0;
    cr_assert_eq(nd_record_decode(enc, n + 1, &d, text, sizeof text, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "1 bytes left over") != NULL, "%s", err);
    cr_assert_eq(d.seq, 0); /* *out untouched on failure */
    cr_assert_eq(nd_record_decode(enc, n, &d, text, n - 1, err, sizeof err), ND_EINVAL);
}

Test(record_decode, bad_fields_are_named)
{
    nd_record_t r = full_record();
    uint8_t enc[512];
    size_t n = nd_record_encode(&r, enc, sizeof enc);
    char text[512], err[160];
    nd_record_t d;
    memset(&d, 0, sizeof d);
    uint8_t bad[512];
    memcpy(bad, enc, n);
    bad[0] = 2; /* version */
    cr_assert_eq(nd_record_decode(bad, n, &d, text, n, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "unknown version") != NULL, "%s", err);
    memcpy(bad, enc, n);
    bad[1 + 2 * 8 + 7] = ND_RECORD_KIND_MAX + 1; /* the first unknown kind (13) */
    cr_assert_eq(nd_record_decode(bad, n, &d, text, n, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "kind 13") != NULL, "%s", err);
    memcpy(bad, enc, n);
    bad[1 + 3 * 8 + 3] = 1; /* side 2^32 - 1 + 1 << 32: does not fit 32 bits */
    cr_assert_eq(nd_record_decode(bad, n, &d, text, n, err, sizeof err), ND_EPARSE);
    memcpy(bad, enc, n);
    bad[1 + 12 * 8] = 0xff; /* event's length: about 4 GB, past the end */
    cr_assert_eq(nd_record_decode(bad, n, &d, text, n, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "string 1 at byte 101 runs past the end") != NULL, "%s", err);
    memcpy(bad, enc, n);
    bad[1 + 12 * 8 + 4] = 0; /* a NUL inside event */
    cr_assert_eq(nd_record_decode(bad, n, &d, text, n, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "NUL") != NULL, "%s", err);
    cr_assert_eq(nd_record_decode(NULL, 0, &d, text, n, err, sizeof err), ND_EPARSE);
}

/* The head's HMAC against a vector computed independently with Python's hmac module:
 * hmac.new(b"integration-test-key", b"noderr-audit-head-v1" + struct.pack(">q", 1234) +
 * bytes(range(32)), hashlib.sha256). */
#include "compliance/store_int.h"

Test(audit, head_mac_matches_an_independent_hmac)
{
    static const char key[] = "integration-test-key";
    uint8_t hash[ND_HASH_SIZE], mac[ND_HASH_SIZE];
    for (int k = 0; k < ND_HASH_SIZE; k++)
        hash[k] = (uint8_t)k;
    cr_assert_eq(nd__head_mac((const uint8_t *)key, sizeof key - 1, 1234, hash, mac), ND_OK);
    char hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(mac, hex);
    cr_assert_str_eq(hex, "e94859ba36dd729b8eb59d8bfbfdd13eea525b724f19b57825b993809ce8f530");
}

/* ---- simulation: the audit chain and retention under random histories and tampering -------
 *
 * Each seed builds a random history in a SQLite store (on /dev/shm when there, so fsync costs
 * nothing): batches of random records of every retention class at random times, random
 * retention runs at random "now"s with random periods (some below the legal minimum), then at
 * most one random tampering through SQL behind the store's back (edit, edit and re-hash, delete,
 * insert in the middle, append a well-formed record without the head, reorder, cut the tail,
 * delete everything, delete or roll back the head). Invariants, checked at every step:
 *   - verify passes on every untampered store, and fails after every tampering;
 *   - a retention run below a legal minimum changes nothing (ND_ERANGE);
 *   - no record younger than its class's legal minimum (or its policy period) is ever pruned,
 *     every record older than its policy period is, and the prune record is the chain's last.
 * A failure prints the seed: rerun with ND_AUDIT_SIM_SEED=N. */
#include "noderr/alloc.h"
#include "noderr/rand.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#define SIM_SEEDS 300
#define SIM_RECORDS_MAX 512
#define SIM_YEAR (365 * ND_NS_PER_DAY)

typedef struct sim_rec {
    int64_t seq;
    int64_t ts_ns;
    int kind;
} sim_rec_t;

typedef struct sim_state {
    sim_rec_t recs[SIM_RECORDS_MAX];
    size_t count;
} sim_state_t;

static char sim_path[256];
/* What the seeds exercised (printed, so a run that tests nothing shows it). */
static struct {
    int prunes, refused, pruned_records, tampered, untampered, forged;
} sim_stats;

static nd_err_t sim_collect(void *ctx, const nd_record_t *rec)
{
    sim_state_t *st = ctx;
    cr_assert_lt(st->count, SIM_RECORDS_MAX);
    st->recs[st->count++] = (sim_rec_t){rec->seq, rec->ts_ns, (int)rec->kind};
    return ND_OK;
}

static void sim_snapshot(nd_store_t *s, sim_state_t *st)
{
    char err[256] = "";
    st->count = 0;
    cr_assert_eq(nd_store_scan(s, NULL, st, sim_collect, err, sizeof err), ND_OK, "%s", err);
}

static void sim_verify_ok(nd_store_t *s, uint64_t seed, const char *when)
{
    nd_audit_result_t a;
    char err[256] = "";
    cr_assert_eq(nd_audit_verify(s, &a, err, sizeof err), ND_OK, "seed %llu: %s",
                 (unsigned long long)seed, err);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "seed %llu, %s: %s at %lld: %s",
                 (unsigned long long)seed, when, nd_audit_problem_name(a.problem),
                 (long long)a.seq, a.detail);
}

static void sim_append(nd_store_t *s, nd_rand_t *rng, int64_t now)
{
    static const nd_record_kind_t kinds[] = {ND_RECORD_FILL, ND_RECORD_ORDER, ND_RECORD_LOG,
                                             ND_RECORD_METRIC, ND_RECORD_CHAOS,
                                             ND_RECORD_OPERATOR, ND_RECORD_CONFIG};
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = kinds[nd_rand_below(rng, sizeof kinds / sizeof kinds[0])];
    r.ts_ns = now - (int64_t)nd_rand_below(rng, (uint64_t)(10 * SIM_YEAR));
    r.event = nd_record_kind_name(r.kind);
    r.account = "sim";
    r.qty = (int64_t)nd_rand_below(rng, 1000) + 1;
    r.detail = "{}";
    char err[256] = "";
    cr_assert_eq(nd_store_append(s, &r, err, sizeof err), ND_OK, "%s", err);
}

/* A random period per class: trades around the 7-year minimum, the others anything. */
static void sim_policy(nd_rand_t *rng, nd_retention_policy_t *p)
{
    static const int trade_years[] = {0, 1, 6, 7, 7, 8, 10};
    nd_retention_policy_default(p);
    p->keep[ND_RETENTION_TRADES].years = trade_years[nd_rand_below(rng, 7)];
    p->keep[ND_RETENTION_TRADES].days = (int32_t)nd_rand_below(rng, 3) == 0 ? 30 : 0;
    for (int c = ND_RETENTION_LOGS; c < ND_RETENTION_CLASSES; c++) {
        p->keep[c].years = (int32_t)nd_rand_below(rng, 3);
        p->keep[c].days = (int32_t)nd_rand_below(rng, 400);
    }
}

/* The strictest legal minimum's cutoff of a class at now (every jurisdiction binds). */
static int64_t sim_legal_cutoff(int cls, int64_t now)
{
    int64_t cut = INT64_MAX;
    for (int j = 0; j < ND_JUR_COUNT; j++) {
        int64_t c = nd_retention_cutoff_ns(
            nd_retention_legal_minimum((nd_jurisdiction_t)j, (nd_retention_class_t)cls, NULL), now);
        cut = c < cut ? c : cut;
    }
    return cut;
}

/* The prune record's detail lists exactly the seqs that disappeared, as ranges. */
typedef struct sim_prune_detail {
    int64_t seq;
    char detail[16384];
} sim_prune_detail_t;

static nd_err_t sim_find_detail(void *ctx, const nd_record_t *rec)
{
    sim_prune_detail_t *d = ctx;
    if (rec->seq == d->seq)
        snprintf(d->detail, sizeof d->detail, "%s", rec->detail);
    return ND_OK;
}

static bool sim_present(const sim_state_t *st, int64_t seq);

static void sim_check_ranges(nd_store_t *s, int64_t prune_seq, const sim_state_t *before,
                             const sim_state_t *after, uint64_t seed)
{
    sim_prune_detail_t *d = nd_alloc(sizeof *d);
    cr_assert_not_null(d);
    d->seq = prune_seq;
    d->detail[0] = '\0';
    char err[256] = "";
    nd_record_filter_t f = {.seq_from = prune_seq};
    cr_assert_eq(nd_store_scan(s, &f, d, sim_find_detail, err, sizeof err), ND_OK, "%s", err);
    json_error_t jerr;
    json_t *doc = json_loads(d->detail, 0, &jerr);
    cr_assert_not_null(doc, "seed %llu: prune detail: %s", (unsigned long long)seed, jerr.text);
    int64_t listed = 0;
    size_t k;
    json_t *range;
    json_array_foreach(json_object_get(doc, "ranges"), k, range) {
        int64_t from = json_integer_value(json_array_get(range, 0));
        int64_t to = json_integer_value(json_array_get(range, 1));
        for (int64_t q = from; q <= to; q++) {
            cr_assert(sim_present(before, q) && !sim_present(after, q),
                      "seed %llu: range [%lld, %lld] lists %lld, which was not pruned",
                      (unsigned long long)seed, (long long)from, (long long)to, (long long)q);
            listed++;
        }
    }
    json_decref(doc);
    nd_free(d);
    int64_t gone = 0;
    for (size_t j = 0; j < before->count; j++)
        gone += !sim_present(after, before->recs[j].seq);
    cr_assert_eq(listed, gone, "seed %llu: the prune record lists %lld of %lld pruned records",
                 (unsigned long long)seed, (long long)listed, (long long)gone);
}

static bool sim_present(const sim_state_t *st, int64_t seq)
{
    for (size_t k = 0; k < st->count; k++)
        if (st->recs[k].seq == seq)
            return true;
    return false;
}

static void sim_prune(nd_store_t *s, nd_rand_t *rng, int64_t now, uint64_t seed)
{
    nd_retention_policy_t p;
    sim_policy(rng, &p);
    sim_state_t *before = nd_alloc(sizeof *before), *after = nd_alloc(sizeof *after);
    cr_assert(before && after);
    sim_snapshot(s, before);
    int64_t last = nd_store_last_seq(s);
    nd_retention_result_t r;
    char err[512] = "";
    bool legal = nd_retention_policy_check(&p, now, NULL, err, sizeof err) == ND_OK;
    nd_err_t rc = nd_retention_apply(s, &p, now, false, &r, err, sizeof err);
    if (!legal) {
        cr_assert_eq(rc, ND_ERANGE, "seed %llu: %s", (unsigned long long)seed, err);
        cr_assert_eq(nd_store_last_seq(s), last, "seed %llu: a refused prune wrote",
                     (unsigned long long)seed);
        sim_stats.refused++;
        nd_free(before);
        nd_free(after);
        return;
    }
    cr_assert_eq(rc, ND_OK, "seed %llu: %s", (unsigned long long)seed, err);
    sim_stats.prunes++;
    sim_stats.pruned_records += (int)r.pruned_total;
    sim_snapshot(s, after);
    for (size_t k = 0; k < before->count; k++) {
        const sim_rec_t *b = &before->recs[k];
        int cls = nd_retention_class_of((nd_record_kind_t)b->kind);
        bool kept = sim_present(after, b->seq);
        if (cls < 0) {
            cr_assert(kept, "seed %llu: prune record %lld pruned", (unsigned long long)seed,
                      (long long)b->seq);
            continue;
        }
        bool past = b->ts_ns < nd_retention_cutoff_ns(p.keep[cls], now);
        cr_assert_eq(kept, !past, "seed %llu: record %lld (class %d) kept=%d past=%d",
                     (unsigned long long)seed, (long long)b->seq, cls, kept, past);
        cr_assert(kept || b->ts_ns < sim_legal_cutoff(cls, now),
                  "seed %llu: record %lld pruned inside its legal minimum",
                  (unsigned long long)seed, (long long)b->seq);
    }
    if (r.pruned_total > 0) {
        const sim_rec_t *tail = &after->recs[after->count - 1];
        cr_assert_eq(tail->kind, ND_RECORD_PRUNE, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(tail->seq, r.prune_seq, "seed %llu", (unsigned long long)seed);
        sim_check_ranges(s, r.prune_seq, before, after, seed);
    }
    nd_free(before);
    nd_free(after);
    sim_verify_ok(s, seed, "after a prune");
}

static void sim_sql(const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(sim_path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_close(db);
}

/* Cuts the last record and rewrites both heads to the one before it, as someone without the
 * key would: consistent, with macs of the right shape but wrong. Only a keyed store
 * catches this (docs: what the head cannot catch without a key). */
static const char *sim_forge_heads(const sim_state_t *st)
{
    int64_t last = st->recs[st->count - 1].seq, prev = st->recs[st->count - 2].seq;
    char sql[512];
    snprintf(sql, sizeof sql, "DELETE FROM records WHERE seq = %lld; UPDATE audit_head SET "
             "seq = %lld, hash = (SELECT hash FROM records WHERE seq = %lld), mac = "
             "randomblob(32)", (long long)last, (long long)prev, (long long)prev);
    sim_sql(sql);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_open(sim_path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT lower(hex(hash)) FROM audit_head", -1, &q, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    char head[400], text[200];
    /* A mac of the right shape, so only the signature check can tell. */
    snprintf(text, sizeof text, "noderr-audit-head 1\nseq %lld\nhash %s\nmac %s%s\n",
             (long long)prev, (const char *)sqlite3_column_text(q, 0),
             "abababababababababababababababab", "abababababababababababababababab");
    sqlite3_finalize(q);
    sqlite3_close(db);
    snprintf(head, sizeof head, "%s.head", sim_path);
    FILE *f = fopen(head, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return "cut the tail and forge both heads without the key";
}

/* One random tampering; returns its name, or NULL when the store is too small for it. */
static const char *sim_tamper(nd_rand_t *rng, const sim_state_t *st, bool keyed)
{
    if (st->count < 2)
        return NULL;
    if (keyed && nd_rand_below(rng, 4) == 0)
        return sim_forge_heads(st);
    char sql[1024];
    size_t k = (size_t)nd_rand_below(rng, st->count);
    int64_t seq = st->recs[k].seq, last = st->recs[st->count - 1].seq;
    const char *name = NULL;
    switch (nd_rand_below(rng, 9)) {
    case 0:
        name = "edit";
        snprintf(sql, sizeof sql, "UPDATE records SET encoding = CAST(substr(encoding, 1, 40) || "
                 "CASE WHEN substr(encoding, 41, 1) = X'01' THEN X'02' ELSE X'01' END || "
                 "substr(encoding, 42) AS BLOB) WHERE seq = %lld", (long long)seq);
        break;
    case 1:
        name = "edit and re-hash (the link of the next record, or the head, breaks)";
        snprintf(sql, sizeof sql, "UPDATE records SET encoding = CAST(substr(encoding, 1, 40) || "
                 "CASE WHEN substr(encoding, 41, 1) = X'01' THEN X'02' ELSE X'01' END || "
                 "substr(encoding, 42) AS BLOB), hash = randomblob(32) WHERE seq = %lld",
                 (long long)seq);
        break;
    case 2:
        name = "delete";
        snprintf(sql, sizeof sql, "DELETE FROM records WHERE seq = %lld", (long long)seq);
        break;
    case 3:
        name = "insert a copy in the middle";
        snprintf(sql, sizeof sql, "UPDATE records SET seq = seq + 100000 WHERE seq > %lld; "
                 "UPDATE records SET seq = seq - 99999 WHERE seq > 100000; "
                 "INSERT INTO records SELECT %lld, ts_ns, kind, prev_hash, hash, encoding "
                 "FROM records WHERE seq = %lld", (long long)seq, (long long)seq + 1,
                 (long long)seq);
        break;
    case 4:
        name = "append a copy of the last record at the end, without the head";
        snprintf(sql, sizeof sql, "INSERT INTO records SELECT %lld, ts_ns, kind, hash, hash, "
                 "encoding FROM records WHERE seq = %lld", (long long)last + 1, (long long)last);
        break;
    case 5:
        if (k + 1 >= st->count)
            return NULL;
        name = "reorder two neighbours";
        snprintf(sql, sizeof sql, "UPDATE records SET seq = -1 WHERE seq = %lld; UPDATE records "
                 "SET seq = %lld WHERE seq = %lld; UPDATE records SET seq = %lld WHERE seq = -1",
                 (long long)seq, (long long)seq, (long long)st->recs[k + 1].seq,
                 (long long)st->recs[k + 1].seq);
        break;
    case 6:
        name = "cut the tail";
        snprintf(sql, sizeof sql, "DELETE FROM records WHERE seq >= %lld", (long long)seq);
        break;
    case 7:
        name = "delete every record";
        snprintf(sql, sizeof sql, "DELETE FROM records");
        break;
    default:
        name = k % 2 ? "delete the head" : "roll the head back";
        snprintf(sql, sizeof sql, k % 2 ? "DELETE FROM audit_head"
                 : "UPDATE audit_head SET seq = seq - 1, hash = coalesce((SELECT hash FROM "
                   "records WHERE seq = audit_head.seq - 1), zeroblob(32))");
        break;
    }
    char full[1200];
    snprintf(full, sizeof full, "DROP TRIGGER IF EXISTS records_append_only; %s", sql);
    sim_sql(full);
    return name;
}

static void sim_remove_files(void)
{
    const char *suffix[] = {"", "-wal", "-shm", ".head", ".head.tmp"};
    for (size_t k = 0; k < sizeof suffix / sizeof suffix[0]; k++) {
        char p[300];
        snprintf(p, sizeof p, "%s%s", sim_path, suffix[k]);
        unlink(p);
    }
}

static void sim_run(uint64_t seed)
{
    nd_rand_t rng;
    nd_rand_init(&rng, seed);
    sim_remove_files();
    /* Half the seeds sign their heads (the key is read at open and at verify). */
    bool keyed = nd_rand_below(&rng, 2) == 0;
    if (keyed)
        setenv("NODERR_AUDIT_KEY", "audit-sim-key", 1);
    else
        unsetenv("NODERR_AUDIT_KEY");
    char url[300], err[512] = "";
    snprintf(url, sizeof url, "sqlite:%s", sim_path);
    nd_store_t *s = NULL;
    cr_assert_eq(nd_store_open(url, ND_STORE_CREATE, &s, err, sizeof err), ND_OK, "%s", err);
    int64_t now = iso("2030-01-01T00:00:00Z");
    int rounds = 1 + (int)nd_rand_below(&rng, 4);
    for (int round = 0; round < rounds; round++) {
        int n = 1 + (int)nd_rand_below(&rng, 30);
        for (int k = 0; k < n; k++) {
            sim_append(s, &rng, now);
            if (nd_rand_below(&rng, 8) == 0)
                cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
        }
        cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
        sim_verify_ok(s, seed, "after appends");
        now += (int64_t)nd_rand_below(&rng, (uint64_t)(8 * SIM_YEAR));
        if (nd_rand_below(&rng, 3) != 0)
            sim_prune(s, &rng, now, seed);
    }
    sim_state_t *st = nd_alloc(sizeof *st);
    cr_assert_not_null(st);
    sim_snapshot(s, st);
    nd_store_close(s);
    const char *tamper = nd_rand_below(&rng, 5) == 0 ? NULL : sim_tamper(&rng, st, keyed);
    sim_stats.forged += tamper && strstr(tamper, "forge") != NULL;
    nd_free(st);
    cr_assert_eq(nd_store_open(url, 0, &s, err, sizeof err), ND_OK, "%s", err);
    nd_audit_result_t a;
    cr_assert_eq(nd_audit_verify(s, &a, err, sizeof err), ND_OK, "seed %llu: %s",
                 (unsigned long long)seed, err);
    sim_stats.tampered += tamper != NULL;
    sim_stats.untampered += tamper == NULL;
    if (tamper)
        cr_assert_neq(a.problem, ND_AUDIT_OK, "seed %llu: tampering '%s' was not caught",
                      (unsigned long long)seed, tamper);
    else
        cr_assert_eq(a.problem, ND_AUDIT_OK, "seed %llu: untampered store fails: %s",
                     (unsigned long long)seed, a.detail);
    nd_store_close(s);
}

Test(audit_sim, random_histories_prunes_and_tampering, .timeout = 240)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(sim_path, sizeof sim_path, "%s/nd_audit_sim_%d.db", dir, (int)getpid());
    const char *one = getenv("ND_AUDIT_SIM_SEED");
    uint64_t from = one ? strtoull(one, NULL, 10) : 1, to = one ? from + 1 : 1 + SIM_SEEDS;
    cr_log_info("audit_sim: seeds %llu..%llu (ND_AUDIT_SIM_SEED=N reruns one)",
                (unsigned long long)from, (unsigned long long)to - 1);
    for (uint64_t seed = from; seed < to; seed++)
        sim_run(seed);
    sim_remove_files();
    unsetenv("NODERR_AUDIT_KEY");
    cr_log_info("audit_sim: %d prunes (%d records), %d refused below a legal minimum, %d "
                "tampered stores caught (%d with both heads forged under a key), %d "
                "untampered verified", sim_stats.prunes, sim_stats.pruned_records,
                sim_stats.refused, sim_stats.tampered, sim_stats.forged, sim_stats.untampered);
    cr_assert_gt(sim_stats.forged, 10);
    cr_assert_gt(sim_stats.prunes, SIM_SEEDS / 4);
    cr_assert_gt(sim_stats.refused, SIM_SEEDS / 4);
    cr_assert_gt(sim_stats.tampered, SIM_SEEDS / 2);
    cr_assert_gt(sim_stats.untampered, SIM_SEEDS / 10);
}
