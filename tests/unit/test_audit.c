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
    bad[1 + 2 * 8 + 7] = 12; /* kind 12 */
    cr_assert_eq(nd_record_decode(bad, n, &d, text, n, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "kind 12") != NULL, "%s", err);
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
