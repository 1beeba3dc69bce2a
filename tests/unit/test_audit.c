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
