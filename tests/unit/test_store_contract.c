/* test_store_contract.c: the store contract every backend must pass (SQLite, PostgreSQL,
 * memory): round trips of every column, numbering and chaining, reopening, batches and
 * rollback, filters, typed-append checks, failed writes, retention boundaries, reports, and
 * tampering caught by the verifier (SQLite and PostgreSQL, edited with SQL behind the store's
 * back). The PostgreSQL suite needs NODERR_TEST_PG_URL, which tests/integration/84_store_pg.sh
 * sets after starting a throwaway server; run alone, that suite reports itself skipped. */
#include <criterion/criterion.h>

#include "noderr/backtest.h"
#include "noderr/clock.h"
#include "noderr/store.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAY ND_NS_PER_DAY
/* 2022-05-09T00:00:00Z */
#define T0 (1652054400LL * ND_NS_PER_SEC)

static char url_buf[512];
static char sqlite_file[256];

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_exec(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
              PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

static const char *url_for(const char *backend)
{
    if (strcmp(backend, "mem") == 0)
        return "mem:";
    if (strcmp(backend, "sqlite") == 0) {
        snprintf(sqlite_file, sizeof sqlite_file, "/tmp/nd_store_contract_%d.db", (int)getpid());
        char side[300];
        unlink(sqlite_file);
        snprintf(side, sizeof side, "%s-wal", sqlite_file);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", sqlite_file);
        unlink(side);
        snprintf(side, sizeof side, "%s.head", sqlite_file);
        unlink(side);
        snprintf(side, sizeof side, "%s.head.next", sqlite_file);
        unlink(side);
        snprintf(url_buf, sizeof url_buf, "sqlite:%s", sqlite_file);
        return url_buf;
    }
    const char *pg = getenv("NODERR_TEST_PG_URL");
    if (!pg || !pg[0])
        cr_skip_test("PostgreSQL contract NOT RUN: NODERR_TEST_PG_URL is not set (run "
                     "tests/integration/84_store_pg.sh, which starts a throwaway server)");
    pg_exec(pg, "DROP TABLE IF EXISTS records, schema_migrations, audit_head CASCADE; "
                "DROP FUNCTION IF EXISTS records_append_only() CASCADE");
    snprintf(url_buf, sizeof url_buf, "%s", pg);
    return url_buf;
}

/* Runs SQL on the backend's database behind the store's back (tampering, versions). */
static void raw_sql(const char *backend, const char *url, const char *sql)
{
    if (strcmp(backend, "pg") == 0) {
        pg_exec(url, sql);
        return;
    }
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(sqlite_file, &db), SQLITE_OK);
    char *msg = NULL;
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK, "%s: %s", sql, msg);
    sqlite3_close(db);
}

/* Drops the append-only guard, as someone editing the database directly would. */
static void unlock(const char *backend, const char *url)
{
    raw_sql(backend, url, strcmp(backend, "pg") == 0
                              ? "ALTER TABLE records DISABLE TRIGGER records_append_only"
                              : "DROP TRIGGER IF EXISTS records_append_only");
}

#define CONTRACT(name)                                                                             \
    static void name##_body(const char *backend, const char *url);                                 \
    Test(contract_sqlite, name) { name##_body("sqlite", url_for("sqlite")); }                      \
    Test(contract_pg, name) { name##_body("pg", url_for("pg")); }                                  \
    Test(contract_mem, name) { name##_body("mem", url_for("mem")); }                               \
    static void name##_body(const char *backend, const char *url)

/* Only for backends that persist and can be edited with SQL. */
#define CONTRACT_SQL(name)                                                                         \
    static void name##_body(const char *backend, const char *url);                                 \
    Test(contract_sqlite, name) { name##_body("sqlite", url_for("sqlite")); }                      \
    Test(contract_pg, name) { name##_body("pg", url_for("pg")); }                                  \
    static void name##_body(const char *backend, const char *url)

static nd_store_t *open_store(const char *url)
{
    nd_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_store_open(url, ND_STORE_CREATE, &s, err, sizeof err), ND_OK, "%s", err);
    return s;
}

static char ids[64][24];

/* Order k: alternating buy/sell fills of 0.5 at 100+k, one every hour from T0. */
static void append_fill(nd_store_t *s, int k, int64_t ts_ns)
{
    snprintf(ids[k % 64], sizeof ids[0], "c%d", k);
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.ts_ns = ts_ns;
    r.event = "taker";
    r.account = "acct-1";
    r.strategy = k % 3 == 0 ? "beta" : "alpha";
    r.venue = "sim";
    r.instrument = "BTC/USDT";
    r.client_order_id = ids[k % 64];
    r.venue_order_id = "v1";
    r.side = k % 2 == 0 ? 1 : -1;
    r.px = (100 + k) * 100LL;
    r.px_scale = 2;
    r.qty = 50;
    r.qty_scale = 2;
    r.notional = (100 + k) * 50000000LL; /* 0.5 * (100 + k) at 8 decimals */
    r.fee = 1000000;                      /* 0.01 */
    char err[256] = "";
    cr_assert_eq(nd_store_append_fill(s, &r, err, sizeof err), ND_OK, "%s", err);
}

static void flush(nd_store_t *s)
{
    char err[256] = "";
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_OK, "%s", err);
}

static nd_audit_result_t verify(nd_store_t *s)
{
    nd_audit_result_t a;
    char err[256] = "";
    cr_assert_eq(nd_audit_verify(s, &a, err, sizeof err), ND_OK, "%s", err);
    return a;
}

typedef struct collected {
    int count;
    int64_t seqs[256];
    char last_detail[256];
    char last_event[64];
    int64_t last_px;
    uint8_t hashes[256][ND_HASH_SIZE];
} collected_t;

static nd_err_t collect(void *ctx, const nd_record_t *rec)
{
    collected_t *c = ctx;
    if (c->count < 256) {
        c->seqs[c->count] = rec->seq;
        memcpy(c->hashes[c->count], rec->hash, ND_HASH_SIZE);
    }
    c->count++;
    snprintf(c->last_detail, sizeof c->last_detail, "%s", rec->detail);
    snprintf(c->last_event, sizeof c->last_event, "%s", rec->event);
    c->last_px = rec->px;
    return ND_OK;
}

CONTRACT(empty_store_verifies_zero)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    cr_assert_eq(nd_store_last_seq(s), 0);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK);
    cr_assert_eq(a.verified, 0);
    nd_store_close(s);
}

typedef struct roundtrip {
    nd_record_t want;
    int seen;
} roundtrip_t;

static nd_err_t compare_row(void *ctx, const nd_record_t *got)
{
    roundtrip_t *t = ctx;
    const nd_record_t *w = &t->want;
    t->seen++;
    cr_assert_eq(got->seq, w->seq);
    cr_assert_eq(got->ts_ns, w->ts_ns);
    cr_assert_eq(got->kind, w->kind);
    cr_assert_eq(got->side, w->side);
    cr_assert_str_eq(got->event, w->event);
    cr_assert_str_eq(got->account, w->account);
    cr_assert_str_eq(got->strategy, "");
    cr_assert_str_eq(got->jurisdiction, w->jurisdiction);
    cr_assert_str_eq(got->client_order_id, w->client_order_id);
    cr_assert_str_eq(got->instrument, w->instrument);
    cr_assert_str_eq(got->reason, w->reason);
    cr_assert_str_eq(got->detail, w->detail);
    cr_assert_eq(got->px, w->px);
    cr_assert_eq(got->qty, w->qty);
    cr_assert_eq(got->from_ns, w->from_ns);
    cr_assert_eq(got->to_ns, w->to_ns);
    cr_assert_eq(memcmp(got->prev_hash, w->prev_hash, ND_HASH_SIZE), 0);
    cr_assert_eq(memcmp(got->hash, w->hash, ND_HASH_SIZE), 0);
    uint8_t again[ND_HASH_SIZE];
    cr_assert_eq(nd_record_hash(got, again), ND_OK);
    cr_assert_eq(memcmp(again, got->hash, ND_HASH_SIZE), 0);
    return ND_OK;
}

CONTRACT(every_column_round_trips)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    append_fill(s, 0, T0);
    nd_alert_record_t a = {
        .ts_ns = T0 + 5, .rule = "wash_trading", .jurisdiction = "US",
        .accounts = "a1,a2", .order_ids = "o1,o2", .instrument = "BTC/USDT",
        .from_ns = T0, .to_ns = T0 + 4,
        .reason = "tab\there, newline\nthere, back\\slash, \"quotes\", caf\xc3\xa9",
        .evidence_json = "{\"orders\": [\"o1\", \"o2\"], \"note\": \"x\\ty\"}",
    };
    int64_t seq = 0;
    char err[256] = "";
    cr_assert_eq(nd_store_append_alert(s, &a, &seq, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(seq, 2);
    cr_assert_eq(nd_store_pending(s), 2);
    flush(s);
    cr_assert_eq(nd_store_pending(s), 0);
    roundtrip_t t;
    memset(&t, 0, sizeof t);
    t.want.seq = 2;
    t.want.ts_ns = T0 + 5;
    t.want.kind = ND_RECORD_ALERT;
    t.want.event = "wash_trading";
    t.want.account = "a1,a2";
    t.want.jurisdiction = "US";
    t.want.client_order_id = "o1,o2";
    t.want.instrument = "BTC/USDT";
    t.want.reason = a.reason;
    t.want.detail = a.evidence_json;
    t.want.from_ns = T0;
    t.want.to_ns = T0 + 4;
    nd_store_last_hash(s, t.want.hash);
    collected_t c;
    memset(&c, 0, sizeof c);
    cr_assert_eq(nd_store_scan(s, NULL, &c, collect, err, sizeof err), ND_OK);
    cr_assert_eq(c.count, 2);
    cr_assert_eq(c.seqs[0], 1);
    cr_assert_eq(c.seqs[1], 2);
    memcpy(t.want.prev_hash, c.hashes[0], ND_HASH_SIZE);
    nd_record_filter_t f = {.seq_from = 2};
    cr_assert_eq(nd_store_scan(s, &f, &t, compare_row, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(t.seen, 1);
    nd_audit_result_t v = verify(s);
    cr_assert_eq(v.problem, ND_AUDIT_OK);
    cr_assert_eq(v.verified, 2);
    cr_assert_eq(memcmp(v.head, t.want.hash, ND_HASH_SIZE), 0);
    nd_store_close(s);
}

CONTRACT(filters_select_by_kind_time_and_seq)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    for (int k = 0; k < 6; k++)
        append_fill(s, k, T0 + k * DAY);
    char err[256] = "";
    cr_assert_eq(nd_store_append_operator_action(s, T0 + 2 * DAY, "ops", "kill_switch",
                                                 "manual", err, sizeof err), ND_OK);
    collected_t c;
    memset(&c, 0, sizeof c);
    nd_record_filter_t f = {.ts_from_ns = T0 + DAY, .ts_to_ns = T0 + 3 * DAY,
                            .kind_mask = 1u << ND_RECORD_FILL};
    cr_assert_eq(nd_store_scan(s, &f, &c, collect, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(c.count, 2); /* days 1 and 2; the operator action is not a fill */
    cr_assert_eq(c.seqs[0], 2);
    cr_assert_eq(c.seqs[1], 3);
    memset(&c, 0, sizeof c);
    nd_record_filter_t g = {.seq_from = 5};
    cr_assert_eq(nd_store_scan(s, &g, &c, collect, err, sizeof err), ND_OK);
    cr_assert_eq(c.count, 3);
    cr_assert_str_eq(c.last_event, "kill_switch");
    nd_store_close(s);
}

CONTRACT(typed_appends_check_their_fields)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    char err[256] = "";
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.event = "exploded";
    r.side = 1;
    r.qty = 1;
    r.client_order_id = "1";
    r.instrument = "X/Y";
    cr_assert_eq(nd_store_append_order_event(s, &r, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "exploded") != NULL, "%s", err);
    r.event = "accepted";
    r.side = 0;
    cr_assert_eq(nd_store_append_order_event(s, &r, err, sizeof err), ND_EINVAL);
    r.side = -1;
    r.qty = 0;
    cr_assert_eq(nd_store_append_order_event(s, &r, err, sizeof err), ND_EINVAL);
    r.qty = -1;
    r.event = "filled";
    cr_assert_eq(nd_store_append_order_event(s, &r, err, sizeof err), ND_EINVAL);
    /* What a strategy asked for is kept as asked: a bad request is on record, not a halt. */
    r.event = "submitted";
    cr_assert_eq(nd_store_append_order_event(s, &r, err, sizeof err), ND_OK, "%s", err);
    r.qty = 0;
    r.event = "rejected"; /* a rejection may carry no quantity */
    r.reason = "invalid_quantity";
    cr_assert_eq(nd_store_append_order_event(s, &r, err, sizeof err), ND_OK, "%s", err);
    nd_alert_record_t a = {.rule = "layering", .reason = "why", .evidence_json = "{oops"};
    cr_assert_eq(nd_store_append_alert(s, &a, NULL, err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_store_append_config_change(s, T0, "", "v", NULL, err, sizeof err), ND_EINVAL);
    cr_assert_eq(nd_store_last_seq(s), 2); /* refusals do not consume a seq */
    flush(s);
    cr_assert_eq(verify(s).verified, 2);
    nd_store_close(s);
}

CONTRACT(closing_without_flush_keeps_only_what_was_committed)
{
    nd_store_t *s = open_store(url);
    append_fill(s, 0, T0);
    flush(s);
    append_fill(s, 1, T0 + 1);
    cr_assert_eq(nd_store_last_seq(s), 2);
    nd_store_close(s);
    if (strcmp(backend, "mem") == 0)
        return; /* memory does not outlive the handle */
    s = open_store(url);
    cr_assert_eq(nd_store_last_seq(s), 1);
    append_fill(s, 2, T0 + 2); /* the chain goes on from the durable tail */
    flush(s);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK);
    cr_assert_eq(a.verified, 2);
    nd_store_close(s);
}

CONTRACT(a_failed_write_fails_the_store)
{
    if (strcmp(backend, "mem") == 0)
        url = "mem:?fail_after=3";
    else
        return; /* SQLite's full disk is tested below, with a page cap */
    nd_store_t *s = open_store(url);
    append_fill(s, 0, T0);
    append_fill(s, 1, T0 + 1);
    flush(s);
    append_fill(s, 2, T0 + 2);
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = ND_RECORD_LOG;
    r.event = "x";
    char err[256] = "";
    cr_assert_eq(nd_store_append(s, &r, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "injected") != NULL, "%s", err);
    cr_assert_eq(nd_store_last_seq(s), 2); /* back to the durable tail */
    cr_assert_eq(nd_store_append(s, &r, err, sizeof err), ND_ESTATE);
    cr_assert_eq(nd_store_flush(s, err, sizeof err), ND_ESTATE);
    nd_store_close(s);
}

Test(contract_sqlite, full_database_fails_the_write)
{
    const char *base = url_for("sqlite");
    char url[600];
    snprintf(url, sizeof url, "%s?max_pages=40", base);
    nd_store_t *s = open_store(url);
    nd_err_t rc = ND_OK;
    char err[256] = "";
    char detail[2000];
    memset(detail, 'x', sizeof detail - 1);
    detail[0] = '"';
    detail[sizeof detail - 2] = '"';
    detail[sizeof detail - 1] = 0;
    for (int k = 0; k < 200 && rc == ND_OK; k++) {
        rc = nd_store_append_config_change(s, T0 + k, "k", "v", detail, err, sizeof err);
        if (rc == ND_OK && k % 10 == 9)
            rc = nd_store_flush(s, err, sizeof err);
    }
    cr_assert_eq(rc, ND_EIO);
    cr_assert(strstr(err, "full") != NULL, "%s", err);
    int64_t durable = nd_store_last_seq(s);
    cr_assert(durable > 0 && durable % 10 == 0, "%lld (%s)", (long long)durable, err);
    nd_store_close(s);
    s = open_store(base);
    cr_assert_eq(nd_store_last_seq(s), durable);
    cr_assert_eq(verify(s).verified, durable);
    nd_store_close(s);
}

CONTRACT_SQL(newer_schema_is_refused)
{
    nd_store_t *s = open_store(url);
    nd_store_close(s);
    raw_sql(backend, url, "INSERT INTO schema_migrations (version, applied_at) VALUES "
                          "(99, '2030-01-01')");
    char err[256] = "";
    cr_assert_eq(nd_store_open(url, 0, &s, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "schema version 99 is newer") != NULL, "%s", err);
}

Test(contract_sqlite, missing_file_is_not_created_without_the_flag)
{
    nd_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_store_open("sqlite:/nonexistent/dir/x.db", 0, &s, err, sizeof err),
                 ND_ENOTFOUND);
    cr_assert(strstr(err, "no such database") != NULL, "%s", err);
    cr_assert_eq(nd_store_open("sqlite:", 0, &s, err, sizeof err), ND_EINVAL);
}

/* ---- tampering -------------------------------------------------------------------------- */

static void blob_literal(const char *backend, const uint8_t hash[ND_HASH_SIZE], char *out)
{
    char hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(hash, hex);
    if (strcmp(backend, "pg") == 0)
        sprintf(out, "'\\x%s'::bytea", hex);
    else
        sprintf(out, "X'%s'", hex);
}

static nd_store_t *ten_fills(const char *url)
{
    nd_store_t *s = open_store(url);
    for (int k = 0; k < 10; k++)
        append_fill(s, k, T0 + k * ND_NS_PER_HOUR);
    flush(s);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK);
    cr_assert_eq(a.verified, 10);
    nd_store_close(s);
    return NULL;
}

static void expect_problem(const char *url, nd_audit_problem_t problem, int64_t seq)
{
    nd_store_t *s = open_store(url);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, problem, "got %s at %lld (%s), want %s at %lld",
                 nd_audit_problem_name(a.problem), (long long)a.seq, a.detail,
                 nd_audit_problem_name(problem), (long long)seq);
    cr_assert_eq(a.seq, seq, "%s", a.detail);
    nd_store_close(s);
}

/* Changes the byte at offset (from 0) of seq's stored encoding, in that backend's SQL. */
static void change_byte(const char *backend, const char *url, int64_t seq, int offset)
{
    char sql[512];
    if (strcmp(backend, "pg") == 0)
        snprintf(sql, sizeof sql, "UPDATE records SET encoding = set_byte(encoding, %d, "
                 "(get_byte(encoding, %d) + 1) %% 256) WHERE seq = %lld", offset, offset,
                 (long long)seq);
    else
        snprintf(sql, sizeof sql, "UPDATE records SET encoding = CAST(substr(encoding, 1, %d) || "
                 "CASE WHEN substr(encoding, %d, 1) = X'01' THEN X'02' ELSE X'01' END || "
                 "substr(encoding, %d) AS BLOB) WHERE seq = %lld", offset, offset + 1,
                 offset + 2, (long long)seq);
    raw_sql(backend, url, sql);
}

/* Byte offsets in the encoding (audit.c): the last byte of qty, and inside the strings. */
#define QTY_LOW_BYTE (1 + 6 * 8 - 1)
#define FIRST_STRING_BYTE (1 + 12 * 8 + 4)

CONTRACT_SQL(tamper_update_is_altered)
{
    ten_fills(url);
    unlock(backend, url);
    change_byte(backend, url, 5, QTY_LOW_BYTE);
    expect_problem(url, ND_AUDIT_ALTERED, 5);
}

CONTRACT_SQL(tamper_update_with_rehash_is_altered)
{
    ten_fills(url);
    unlock(backend, url);
    /* The editor knows the algorithm and re-hashes seq 5: seq 6 no longer links to it. */
    change_byte(backend, url, 5, FIRST_STRING_BYTE);
    raw_sql(backend, url, "UPDATE records SET hash = prev_hash WHERE seq = 5");
    expect_problem(url, ND_AUDIT_ALTERED, 5);
}

typedef struct scan_err {
    int seen;
} scan_err_t;

static nd_err_t count_rows(void *ctx, const nd_record_t *rec)
{
    (void)rec;
    ((scan_err_t *)ctx)->seen++;
    return ND_OK;
}

/* A blob that no longer decodes (cut short, or a string length pointing past the end) is
 * reported as altered by the verifier and refused by every reader, never read past its end. */
CONTRACT_SQL(tamper_corrupt_encoding_is_altered_and_refused_by_readers)
{
    ten_fills(url);
    unlock(backend, url);
    raw_sql(backend, url, strcmp(backend, "pg") == 0
                              ? "UPDATE records SET encoding = substring(encoding from 1 for 30) "
                                "WHERE seq = 4"
                              : "UPDATE records SET encoding = substr(encoding, 1, 30) "
                                "WHERE seq = 4");
    expect_problem(url, ND_AUDIT_ALTERED, 4);
    nd_store_t *s = open_store(url);
    scan_err_t c = {0};
    char err[256] = "";
    cr_assert_eq(nd_store_scan(s, NULL, &c, count_rows, err, sizeof err), ND_EIO);
    cr_assert_eq(c.seen, 3);
    cr_assert(strstr(err, "record 4 cannot be read") != NULL, "%s", err);
    nd_store_close(s);
    url_for(backend); /* a fresh database at the same URL */
    ten_fills(url);
    unlock(backend, url);
    for (int k = 0; k < 4; k++)
        change_byte(backend, url, 7, FIRST_STRING_BYTE - 4 + k); /* event's length: huge */
    expect_problem(url, ND_AUDIT_ALTERED, 7);
}

/* The seq, ts_ns and kind columns kept for filtering must say what the encoding says. */
CONTRACT_SQL(tamper_kind_column_is_altered)
{
    ten_fills(url);
    unlock(backend, url);
    raw_sql(backend, url, "UPDATE records SET kind = 1 WHERE seq = 6");
    expect_problem(url, ND_AUDIT_ALTERED, 6);
}

CONTRACT_SQL(old_schema_with_records_is_refused_and_an_empty_one_migrated)
{
    nd_store_t *s = open_store(url);
    nd_store_close(s);
    raw_sql(backend, url, "DELETE FROM schema_migrations WHERE version >= 3; DROP TABLE records; "
                          "DROP TABLE audit_head; "
                          "CREATE TABLE records (seq INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, "
                          "kind INTEGER NOT NULL, event TEXT NOT NULL);"
                          "INSERT INTO records VALUES (1, 5, 2, 'taker')");
    char err[512] = "";
    cr_assert_eq(nd_store_open(url, 0, &s, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "schema version 2 keeps one column per field") != NULL, "%s", err);
    raw_sql(backend, url, "DELETE FROM records");
    s = open_store(url);
    append_fill(s, 1, T0);
    flush(s);
    cr_assert_eq(verify(s).verified, 1);
    nd_store_close(s);
}

/* Regression: deleting the last record, or every record, verified (only --head noticed).
 * The store's own head, written with every commit, catches both; so does deleting the head
 * or rolling it back. */
CONTRACT_SQL(the_stores_head_catches_a_cut_tail_and_a_deleted_chain)
{
    ten_fills(url);
    nd_store_t *s = open_store(url);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.head_seq, 10);
    cr_assert_str_eq(a.head_checked, strcmp(backend, "pg") == 0 ? "table" : "table and head file");
    cr_assert_str_eq(a.signature, "unsigned");
    nd_store_close(s);
    raw_sql(backend, url, "DELETE FROM records WHERE seq >= 9");
    expect_problem(url, ND_AUDIT_DELETED, 9);
    raw_sql(backend, url, "DELETE FROM records");
    expect_problem(url, ND_AUDIT_DELETED, 1);
}

CONTRACT_SQL(the_stores_head_deleted_or_rolled_back_is_caught)
{
    ten_fills(url);
    raw_sql(backend, url, "UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM records "
                          "WHERE seq = 7)");
    expect_problem(url, ND_AUDIT_HEAD, 8);
    raw_sql(backend, url, "DELETE FROM audit_head");
    expect_problem(url, ND_AUDIT_HEAD, 10);
}

CONTRACT_SQL(tamper_delete_is_deleted)
{
    ten_fills(url);
    raw_sql(backend, url, "DELETE FROM records WHERE seq = 5");
    expect_problem(url, ND_AUDIT_DELETED, 5);
}

CONTRACT_SQL(tamper_delete_and_renumber_is_deleted)
{
    ten_fills(url);
    unlock(backend, url);
    raw_sql(backend, url, "DELETE FROM records WHERE seq = 5");
    raw_sql(backend, url, "UPDATE records SET seq = seq + 1000 WHERE seq > 5");
    raw_sql(backend, url, "UPDATE records SET seq = seq - 1001 WHERE seq > 1000");
    expect_problem(url, ND_AUDIT_DELETED, 5);
}

typedef struct grab {
    int64_t seq;
    nd_record_t rec;
    char strings[10][64];
} grab_t;

static nd_err_t grab_one(void *ctx, const nd_record_t *rec)
{
    grab_t *g = ctx;
    if (rec->seq != g->seq)
        return ND_OK;
    g->rec = *rec;
    const char **f[] = {&g->rec.event, &g->rec.account, &g->rec.strategy, &g->rec.venue,
                        &g->rec.instrument, &g->rec.jurisdiction, &g->rec.client_order_id,
                        &g->rec.venue_order_id, &g->rec.reason, &g->rec.detail};
    for (int k = 0; k < 10; k++) {
        snprintf(g->strings[k], sizeof g->strings[k], "%s", *f[k]);
        *f[k] = g->strings[k];
    }
    return ND_OK;
}

CONTRACT_SQL(tamper_insert_with_valid_hash_is_inserted)
{
    ten_fills(url);
    unlock(backend, url);
    /* A forged fill placed at seq 5, correctly linked to seq 4 and correctly hashed. */
    nd_store_t *s = open_store(url);
    grab_t g;
    memset(&g, 0, sizeof g);
    g.seq = 4;
    char err[256];
    cr_assert_eq(nd_store_scan(s, NULL, &g, grab_one, err, sizeof err), ND_OK);
    nd_store_close(s);
    nd_record_t forged = g.rec;
    memcpy(forged.prev_hash, g.rec.hash, ND_HASH_SIZE);
    forged.seq = 5;
    forged.client_order_id = "forged";
    cr_assert_eq(nd_record_hash(&forged, forged.hash), ND_OK);
    raw_sql(backend, url, "UPDATE records SET seq = seq + 1000 WHERE seq >= 5");
    raw_sql(backend, url, "UPDATE records SET seq = seq - 999 WHERE seq > 1000");
    char prev[80], hash[80], sql[2048], enc[600];
    blob_literal(backend, forged.prev_hash, prev);
    blob_literal(backend, forged.hash, hash);
    uint8_t bytes[256];
    size_t n = nd_record_encode(&forged, bytes, sizeof bytes);
    cr_assert(n <= sizeof bytes);
    size_t at = (size_t)sprintf(enc, strcmp(backend, "pg") == 0 ? "'\\x" : "X'");
    for (size_t k = 0; k < n; k++)
        at += (size_t)sprintf(enc + at, "%02x", bytes[k]);
    sprintf(enc + at, "'");
    snprintf(sql, sizeof sql, "INSERT INTO records (seq, ts_ns, kind, prev_hash, hash, encoding) "
             "VALUES (5, %lld, %d, %s, %s, %s)", (long long)forged.ts_ns, (int)forged.kind, prev,
             hash, enc);
    raw_sql(backend, url, sql);
    expect_problem(url, ND_AUDIT_INSERTED, 5);
}

CONTRACT_SQL(tamper_swap_is_reordered)
{
    ten_fills(url);
    unlock(backend, url);
    raw_sql(backend, url, "UPDATE records SET seq = -1 WHERE seq = 5");
    raw_sql(backend, url, "UPDATE records SET seq = 5 WHERE seq = 6");
    raw_sql(backend, url, "UPDATE records SET seq = 6 WHERE seq = -1");
    expect_problem(url, ND_AUDIT_REORDERED, 5);
}

CONTRACT_SQL(tamper_timestamp_is_altered_and_blocks_retention)
{
    ten_fills(url);
    unlock(backend, url);
    raw_sql(backend, url, "UPDATE records SET ts_ns = ts_ns - 1 WHERE seq = 9");
    expect_problem(url, ND_AUDIT_ALTERED, 9);
    nd_store_t *s = open_store(url);
    nd_retention_policy_t p;
    nd_retention_policy_default(&p);
    nd_retention_result_t r;
    char err[256] = "";
    cr_assert_eq(nd_retention_apply(s, &p, T0 + 3650 * DAY, false, &r, err, sizeof err),
                 ND_ESTATE);
    cr_assert(strstr(err, "refusing to prune") != NULL, "%s", err);
    cr_assert_eq(nd_store_last_seq(s), 10);
    nd_store_close(s);
}

/* ---- retention -------------------------------------------------------------------------- */

static void append_kind(nd_store_t *s, nd_record_kind_t kind, int64_t ts_ns)
{
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.ts_ns = ts_ns;
    r.event = nd_record_kind_name(kind);
    r.detail = "{}";
    char err[256] = "";
    cr_assert_eq(nd_store_append(s, &r, err, sizeof err), ND_OK, "%s", err);
}

CONTRACT(retention_prunes_only_past_the_cutoff_and_the_chain_verifies)
{
    (void)backend;
    /* now = 2022-05-09: trades cutoff 2015-05-09, logs 2021-05-09, metrics 2017-05-09,
     * chaos 2022-02-08. */
    const int64_t now = T0;
    nd_retention_policy_t p;
    nd_retention_policy_default(&p);
    const int64_t trades_cut = nd_retention_cutoff_ns(p.keep[ND_RETENTION_TRADES], now);
    cr_assert_eq(trades_cut, 1431129600LL * ND_NS_PER_SEC); /* 2015-05-09T00:00:00Z */
    nd_store_t *s = open_store(url);
    append_fill(s, 0, trades_cut - 1);                 /* 1: pruned */
    append_kind(s, ND_RECORD_CHAOS, now - 91 * DAY);   /* 2: pruned */
    append_fill(s, 1, trades_cut);                     /* 3: kept, exactly at the cutoff */
    append_kind(s, ND_RECORD_LOG, now - 2 * 365 * DAY); /* 4: pruned */
    append_kind(s, ND_RECORD_METRIC, now - 4 * 365 * DAY); /* 5: kept */
    append_kind(s, ND_RECORD_CHAOS, now - 89 * DAY);   /* 6: kept */
    append_kind(s, ND_RECORD_CHAOS, now - 90 * DAY - 1); /* 7: pruned */
    flush(s);
    nd_retention_result_t r;
    char err[256] = "";
    cr_assert_eq(nd_retention_apply(s, &p, now, true, &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(r.pruned_total, 4);
    cr_assert_eq(r.prune_seq, 0);
    cr_assert_eq(nd_store_last_seq(s), 7); /* a dry run changes nothing */
    cr_assert_eq(nd_retention_apply(s, &p, now, false, &r, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(r.pruned_total, 4);
    cr_assert_eq(r.pruned[ND_RETENTION_TRADES], 1);
    cr_assert_eq(r.pruned[ND_RETENTION_LOGS], 1);
    cr_assert_eq(r.pruned[ND_RETENTION_METRICS], 0);
    cr_assert_eq(r.pruned[ND_RETENTION_CHAOS], 2);
    cr_assert_eq(r.ranges, 3); /* [1,2] [4,4] [7,7] */
    cr_assert_eq(r.kept, 3);
    cr_assert_eq(r.prune_seq, 8);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_eq(a.verified, 4); /* 3, 5, 6 and the prune record */
    cr_assert_eq(a.pruned, 4);
    /* 100 days later seq 3 (trades) and seq 6 (chaos) expire: their ranges sit next to the
     * earlier ones and the walk steps over the chain of ranges. */
    cr_assert_eq(nd_retention_apply(s, &p, now + 100 * DAY, false, &r, err, sizeof err), ND_OK);
    cr_assert_eq(r.pruned_total, 2);
    cr_assert_eq(r.prune_seq, 9);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_eq(a.verified, 3); /* 5, 8, 9 */
    cr_assert_eq(a.pruned, 6);
    cr_assert_eq(a.prune_records, 2);
    append_fill(s, 2, now + 101 * DAY); /* and the chain goes on */
    flush(s);
    cr_assert_eq(verify(s).verified, 4);
    nd_store_close(s);
}

CONTRACT_SQL(deleting_a_record_and_faking_nothing_is_still_caught_after_a_prune)
{
    nd_store_t *s = open_store(url);
    append_kind(s, ND_RECORD_CHAOS, T0 - 200 * DAY);
    for (int k = 0; k < 4; k++)
        append_fill(s, k, T0 + k);
    flush(s);
    nd_retention_policy_t p;
    nd_retention_policy_default(&p);
    nd_retention_result_t r;
    char err[256] = "";
    cr_assert_eq(nd_retention_apply(s, &p, T0 + DAY, false, &r, err, sizeof err), ND_OK);
    cr_assert_eq(r.pruned_total, 1);
    nd_store_close(s);
    raw_sql(backend, url, "DELETE FROM records WHERE seq = 3");
    expect_problem(url, ND_AUDIT_DELETED, 3);
}

/* ---- reports ---------------------------------------------------------------------------- */

/* qty in hundredths, px in whole quote units; notional and fee in cash units (1e-8). */
static void fill_at(nd_store_t *s, const char *iso, int side, int64_t qty_e2, int64_t px)
{
    int64_t ts;
    cr_assert_eq(nd_time_parse_iso(iso, &ts), ND_OK, "%s", iso);
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.ts_ns = ts;
    r.event = "taker";
    r.account = "acct-1";
    r.strategy = "alpha";
    r.venue = "sim";
    r.instrument = "BTC/USDT";
    r.client_order_id = "c";
    r.side = side;
    r.px = px * 100;
    r.px_scale = 2;
    r.qty = qty_e2;
    r.qty_scale = 2;
    r.notional = qty_e2 * px * 1000000;  /* qty_e2/100 * px * 1e8 */
    r.fee = r.notional / 1000;           /* 10 bps */
    char err[256] = "";
    cr_assert_eq(nd_store_append_fill(s, &r, err, sizeof err), ND_OK, "%s", err);
}

static json_t *report_json(nd_store_t *s, const char *period_text, const char *jurisdiction)
{
    nd_compliance_period_t p;
    char err[256] = "";
    cr_assert_eq(nd_compliance_period_parse(period_text, &p, err, sizeof err), ND_OK, "%s", err);
    FILE *tmp = tmpfile();
    cr_assert_eq(nd_compliance_report_write(s, &p, jurisdiction, ND_COMPLIANCE_JSON, tmp, err,
                                            sizeof err), ND_OK, "%s", err);
    rewind(tmp);
    json_error_t jerr;
    json_t *doc = json_loadf(tmp, 0, &jerr);
    fclose(tmp);
    cr_assert_not_null(doc, "%s", jerr.text);
    return doc;
}

static const char *jstr(json_t *doc, const char *path1, const char *key)
{
    json_t *v = json_object_get(json_object_get(doc, path1), key);
    cr_assert(json_is_string(v), "%s.%s", path1, key);
    return json_string_value(v);
}

static int64_t jint(json_t *doc, const char *path1, const char *key)
{
    json_t *v = json_object_get(json_object_get(doc, path1), key);
    cr_assert(json_is_integer(v), "%s.%s", path1, key);
    return json_integer_value(v);
}

static void report_fixture(nd_store_t *s)
{
    fill_at(s, "2022-05-08T23:00:00Z", 1, 100, 100);  /* before the day: opens 1 @ 100 */
    fill_at(s, "2022-05-09T10:00:00Z", 1, 100, 110);  /* 2 @ 105 average */
    fill_at(s, "2022-05-09T12:00:00Z", -1, 150, 120); /* sells 1.5: +22.5 */
    fill_at(s, "2022-05-10T00:00:00Z", -1, 50, 130);  /* next day: +12.5 */
    fill_at(s, "2022-06-30T23:59:59.999Z", 1, 10, 100);
    fill_at(s, "2022-07-01T00:00:00Z", 1, 10, 100);
    char err[256] = "";
    nd_alert_record_t us = {.ts_ns = T0 + 11 * ND_NS_PER_HOUR, .rule = "wash_trading",
                            .jurisdiction = "US", .accounts = "a1,a2", .order_ids = "o1,o2",
                            .from_ns = T0, .to_ns = T0 + 1, .reason = "self-match",
                            .evidence_json = "{\"orders\":[\"o1\",\"o2\"]}"};
    nd_alert_record_t eu = us;
    eu.jurisdiction = "EU";
    eu.rule = "layering";
    cr_assert_eq(nd_store_append_alert(s, &us, NULL, err, sizeof err), ND_OK);
    cr_assert_eq(nd_store_append_alert(s, &eu, NULL, err, sizeof err), ND_OK);
    nd_record_t b;
    memset(&b, 0, sizeof b);
    b.ts_ns = T0 + 14 * ND_NS_PER_HOUR;
    b.event = "drawdown";
    b.reason = "drawdown breaker tripped";
    b.detail = "{\"equity\":\"88\"}";
    cr_assert_eq(nd_store_append_breaker(s, &b, err, sizeof err), ND_OK);
    flush(s);
}

CONTRACT(report_daily_uses_cost_from_before_the_period)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    report_fixture(s);
    json_t *doc = report_json(s, "daily:2022-05-09", NULL);
    cr_assert_str_eq(jstr(doc, "period", "from"), "2022-05-09T00:00:00Z");
    cr_assert_str_eq(jstr(doc, "period", "to"), "2022-05-10T00:00:00Z");
    cr_assert_eq(jint(doc, "summary", "fills"), 2);
    cr_assert_str_eq(jstr(doc, "summary", "volume"), "290");
    cr_assert_str_eq(jstr(doc, "summary", "fees"), "0.29");
    cr_assert_str_eq(jstr(doc, "summary", "realized_pnl"), "22.5");
    cr_assert_str_eq(jstr(doc, "summary", "net_pnl"), "22.21");
    cr_assert_eq(jint(doc, "summary", "alerts"), 2);
    cr_assert_eq(jint(doc, "summary", "breaker_events"), 1);
    json_t *g = json_array_get(json_object_get(doc, "by_instrument_strategy"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(g, "buy_qty")), "1");
    cr_assert_str_eq(json_string_value(json_object_get(g, "sell_qty")), "1.5");
    cr_assert_str_eq(json_string_value(json_object_get(g, "position")), "0.5");
    json_t *alert = json_array_get(json_object_get(doc, "alerts"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(alert, "rule")), "wash_trading");
    cr_assert_eq(json_array_size(json_object_get(alert, "accounts")), 2);
    cr_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_object_get(alert, "evidence"), "orders"), 1)),
                     "o2");
    json_decref(doc);
    doc = report_json(s, "daily:2022-05-09", "US");
    cr_assert_eq(jint(doc, "summary", "alerts"), 1);
    json_decref(doc);
    nd_store_close(s);
}

CONTRACT(report_quarter_and_year_boundaries_are_utc)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    report_fixture(s);
    json_t *doc = report_json(s, "monthly:2022-05", NULL);
    cr_assert_eq(jint(doc, "summary", "fills"), 4);
    cr_assert_str_eq(jstr(doc, "summary", "realized_pnl"), "35");
    json_decref(doc);
    doc = report_json(s, "quarterly:2022-Q2", NULL);
    cr_assert_eq(jint(doc, "summary", "fills"), 5); /* 23:59:59.999 on 30 June is Q2 */
    json_decref(doc);
    doc = report_json(s, "quarterly:2022-Q3", NULL);
    cr_assert_eq(jint(doc, "summary", "fills"), 1);
    cr_assert_str_eq(jstr(doc, "period", "to"), "2022-10-01T00:00:00Z");
    json_decref(doc);
    doc = report_json(s, "annual:2022", NULL);
    cr_assert_eq(jint(doc, "summary", "fills"), 6);
    json_decref(doc);
    doc = report_json(s, "quarterly:2022-Q1", NULL);
    cr_assert_eq(jint(doc, "summary", "fills"), 0);
    json_decref(doc);
    nd_store_close(s);
}

/* ---- recording a backtest --------------------------------------------------------------- */

typedef struct kinds {
    int64_t count[ND_RECORD_KIND_MAX + 1];
} kinds_t;

static nd_err_t count_kinds(void *ctx, const nd_record_t *rec)
{
    ((kinds_t *)ctx)->count[rec->kind]++;
    return ND_OK;
}

static nd_err_t run_recorded(const char *url, nd_backtest_result_t *res, char *rec_err,
                             int64_t *records, kinds_t *kinds)
{
    nd_store_t *s = open_store(url);
    nd_backtest_config_t cfg;
    nd_backtest_config_default(&cfg);
    cfg.synth.bars = 3000;
    cfg.strategies[0].def = nd_strategy_find("sma_cross");
    cr_assert_not_null(cfg.strategies[0].def);
    nd_strategy_params_default(cfg.strategies[0].def, cfg.strategies[0].params);
    cfg.strategy_count = 1;
    nd_instrument_t inst;
    nd_instrument_init(&inst, "BTC/USDT", "sim");
    const char *names[1] = {"sma_cross"};
    nd_recorder_t *r = NULL;
    char err[512] = "";
    cr_assert_eq(nd_recorder_create(s, "bt", &inst, 1, names, 1, 16, &r, err, sizeof err), ND_OK);
    cfg.tap.on_event = nd_recorder_on_event;
    cfg.tap.ctx = r;
    nd_err_t rc = nd_backtest_run(&cfg, res, err, sizeof err);
    if (rc == ND_OK)
        rc = nd_recorder_flush(r, err, sizeof err);
    snprintf(rec_err, 400, "%s", nd_recorder_error(r));
    *records = nd_recorder_count(r);
    memset(kinds, 0, sizeof *kinds);
    if (rc == ND_OK)
        cr_assert_eq(nd_store_scan(s, NULL, kinds, count_kinds, err, sizeof err), ND_OK);
    nd_recorder_destroy(r);
    nd_store_close(s);
    return rc;
}

Test(recorder, every_engine_event_is_recorded)
{
    nd_backtest_result_t res;
    char rec_err[400];
    int64_t records;
    kinds_t k;
    cr_assert_eq(run_recorded("mem:", &res, rec_err, &records, &k), ND_OK, "%s", rec_err);
    const nd_engine_stats_t *st = nd_engine_stats(res.engine);
    cr_assert(st->fills > 0);
    cr_assert_eq(k.count[ND_RECORD_FILL], st->fills);
    cr_assert(k.count[ND_RECORD_ORDER] >= 2 * st->orders_accepted); /* submitted + accepted */
    cr_assert_eq(records, k.count[ND_RECORD_ORDER] + k.count[ND_RECORD_FILL] +
                              k.count[ND_RECORD_RISK_REJECT] + k.count[ND_RECORD_BREAKER]);
    nd_backtest_result_free(&res);
}

Test(recorder, a_failed_write_halts_trading)
{
    nd_backtest_result_t res;
    char rec_err[400];
    int64_t records;
    kinds_t k;
    nd_err_t rc = run_recorded("mem:?fail_after=20", &res, rec_err, &records, &k);
    cr_assert_eq(rc, ND_EIO);
    cr_assert(strstr(rec_err, "injected write failure") != NULL, "%s", rec_err);
    cr_assert(records <= 20, "%lld", (long long)records);
    nd_backtest_result_free(&res);
}

/* ---- report arithmetic past int64 --------------------------------------------------------- */

static void huge_fill(nd_store_t *s, int side, int64_t qty, int64_t notional)
{
    nd_record_t r;
    memset(&r, 0, sizeof r);
    r.ts_ns = T0;
    r.event = "taker";
    r.account = "acct-1";
    r.strategy = "alpha";
    r.instrument = "BTC/USDT";
    r.client_order_id = "c";
    r.side = side;
    r.px = 1;
    r.qty = qty;
    r.notional = notional;
    char err[256] = "";
    cr_assert_eq(nd_store_append_fill(s, &r, err, sizeof err), ND_OK, "%s", err);
}

/* Regression: volume and fee totals past int64 were written as the word "overflow", and the
 * instrument/strategy totals were added as JSON int64 (undefined on overflow). They are exact
 * __int128 sums now; a position past int64 makes the report fail naming the record. */
CONTRACT(report_totals_past_int64_are_exact_and_a_position_overflow_is_an_error)
{
    (void)backend;
    nd_store_t *s = open_store(url);
    huge_fill(s, 1, 1, INT64_MAX);
    huge_fill(s, 1, 1, INT64_MAX);
    flush(s);
    json_t *doc = report_json(s, "daily:2022-05-09", NULL);
    /* 2 * (2^63 - 1) cash units = 184467440737.09551614 */
    cr_assert_str_eq(jstr(doc, "summary", "volume"), "184467440737.09551614");
    json_t *by = json_array_get(json_object_get(doc, "by_instrument"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(by, "volume")), "184467440737.09551614");
    json_decref(doc);
    huge_fill(s, 1, INT64_MAX - 1, 1); /* the position 2 + (2^63 - 2) does not fit */
    flush(s);
    nd_compliance_period_t p;
    char err[256] = "";
    cr_assert_eq(nd_compliance_period_parse("daily:2022-05-09", &p, err, sizeof err), ND_OK);
    FILE *tmp = tmpfile();
    cr_assert_eq(nd_compliance_report_write(s, &p, NULL, ND_COMPLIANCE_JSON, tmp, err,
                                            sizeof err), ND_EOVERFLOW);
    cr_assert(strstr(err, "fill record 3") != NULL, "%s", err);
    fclose(tmp);
    nd_store_close(s);
}

/* Regression: a zero-byte (or any non-SQLite) file given as the database got a schema and
 * verified as 0 records. Only a path that does not exist is created. */
Test(contract_sqlite, a_file_that_is_not_a_database_is_refused_and_left_alone)
{
    char path[128], err[512] = "";
    snprintf(path, sizeof path, "/tmp/nd_store_notdb_%d.db", (int)getpid());
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    nd_store_t *s = NULL;
    cr_assert_eq(nd_store_open(path, ND_STORE_CREATE, &s, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "an empty file, not a database") != NULL, "%s", err);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_size, 0, "the empty file was initialised");
    f = fopen(path, "w");
    fputs("id,name\n1,x\n", f);
    fclose(f);
    cr_assert_eq(nd_store_open(path, 0, &s, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "no SQLite header") != NULL, "%s", err);
    unlink(path);
    cr_assert_eq(nd_store_open(path, 0, &s, err, sizeof err), ND_ENOTFOUND);
    cr_assert_eq(access(path, F_OK), -1, "a reader created the file");
}

/* ---- group commit: the recorder's batches, the barrier, crashes -------------------------- */

/* Fill k as the engine reports it: quantity k + 1, so a record's position in the run can be
 * read back from its quantity. */
static nd_event_t fill_event(int k)
{
    nd_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = ND_EVENT_FILL;
    ev.ts_ns = T0 + k * ND_NS_PER_SEC;
    ev.u.fill.client_id = (uint64_t)k + 1;
    ev.u.fill.venue_id = (uint64_t)k + 1;
    ev.u.fill.side = k % 2 ? ND_SIDE_SELL : ND_SIDE_BUY;
    ev.u.fill.px = 100 + k;
    ev.u.fill.qty = k + 1;
    ev.u.fill.notional = (100 + k) * (k + 1);
    ev.u.fill.ts_ns = ev.ts_ns;
    return ev;
}

typedef struct group {
    nd_store_t *store;
    nd_recorder_t *recorder;
    nd_instrument_t inst;
    nd_clock_sim_t clock;
} group_t;

static const char *const group_names[1] = {"alpha"};

static void group_open(group_t *g, const char *url, uint32_t events_max, int64_t interval_ms)
{
    char err[256] = "";
    g->store = open_store(url);
    nd_instrument_init(&g->inst, "BTC/USDT", "sim");
    nd_clock_sim_init(&g->clock, 1000 * ND_NS_PER_SEC);
    cr_assert_eq(nd_recorder_create(g->store, "acct", &g->inst, 1, group_names, 1, events_max,
                                    &g->recorder, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_recorder_set_commit(g->recorder, 0, interval_ms, &g->clock.clock, err,
                                        sizeof err), ND_OK, "%s", err);
}

/* A crash as the store sees it: the handle dropped without the final flush (the open batch
 * is rolled back, as SQLite does with an uncommitted transaction when the process dies). */
static void group_crash(group_t *g)
{
    nd_recorder_destroy(g->recorder);
    nd_store_close(g->store);
    g->recorder = NULL;
    g->store = NULL;
}

static void record(group_t *g, int k)
{
    nd_event_t ev = fill_event(k);
    cr_assert_eq(nd_recorder_on_event(g->recorder, &ev), ND_OK, "%s",
                 nd_recorder_error(g->recorder));
}

typedef struct qtys {
    int count;
    int64_t qty[4096];
} qtys_t;

static nd_err_t collect_qty(void *ctx, const nd_record_t *rec)
{
    qtys_t *q = ctx;
    cr_assert_lt(q->count, 4096);
    q->qty[q->count++] = rec->qty;
    return ND_OK;
}

/* What another process would find in the file while the writer still holds its batch: a
 * second SQLite connection (WAL) sees only committed transactions. */
static int committed_count(void)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_open_v2(sqlite_file, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1, &q, NULL), SQLITE_OK,
                 "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* The records a new handle reads after the writer is gone, in order. */
static int durable_records(const char *url, qtys_t *q)
{
    nd_store_t *s = open_store(url);
    char err[256] = "";
    memset(q, 0, sizeof *q);
    cr_assert_eq(nd_store_scan(s, NULL, q, collect_qty, err, sizeof err), ND_OK, "%s", err);
    nd_store_close(s);
    return q->count;
}

/* After a crash: the chain verifies, with the store's head (table and file) at its end. */
static void assert_verifies(const char *url, int64_t count)
{
    nd_store_t *s = open_store(url);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_eq(a.verified, count);
    cr_assert_eq(a.head_seq, count);
    /* a new store's head file comes with its first commit */
    cr_assert_str_eq(a.head_checked, count > 0 ? "table and head file"
                                               : "table (empty, no head file yet)");
    nd_store_close(s);
}

Test(group_commit, records_wait_for_the_batch_and_the_barrier_commits_before_returning)
{
    const char *url = url_for("sqlite");
    group_t g;
    group_open(&g, url, 1000, 60000);
    qtys_t q;
    for (int k = 0; k < 5; k++)
        record(&g, k);
    cr_assert_eq(committed_count(), 0, "records were committed before the batch filled");
    cr_assert_eq(nd_recorder_commits(g.recorder), 0);
    char err[256] = "";
    cr_assert_eq(nd_recorder_barrier(g.recorder, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_recorder_commits(g.recorder), 1);
    cr_assert_eq(committed_count(), 5, "the barrier returned before its commit");
    /* nothing pending: the barrier costs no commit */
    cr_assert_eq(nd_recorder_barrier(g.recorder, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_recorder_commits(g.recorder), 1);
    record(&g, 5);
    group_crash(&g);
    cr_assert_eq(durable_records(url, &q), 5, "the record after the barrier survived a crash");
    for (int k = 0; k < 5; k++)
        cr_assert_eq(q.qty[k], k + 1);
    assert_verifies(url, 5);
}

/* The barrier's commit fails (its head file cannot be written: PATH.head.next is a
 * directory): it returns the error, the recorder refuses every later event (the engine
 * halts), and the batch is not committed, so no record is durable without its head. */
Test(group_commit, a_failed_barrier_halts_like_a_failed_write)
{
    const char *url = url_for("sqlite");
    char next[300];
    snprintf(next, sizeof next, "%s.head.next", sqlite_file);
    group_t g;
    group_open(&g, url, 1000, 60000);
    for (int k = 0; k < 3; k++)
        record(&g, k);
    cr_assert_eq(mkdir(next, 0700), 0);
    char err[256] = "";
    cr_assert_eq(nd_recorder_barrier(g.recorder, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "head file") != NULL, "%s", err);
    nd_event_t ev = fill_event(3);
    cr_assert_eq(nd_recorder_on_event(g.recorder, &ev), ND_EIO); /* the engine halts */
    cr_assert_str_eq(nd_recorder_error(g.recorder), err);
    group_crash(&g);
    rmdir(next);
    cr_assert_eq(committed_count(), 0);
    assert_verifies(url, 0);
}

Test(group_commit, a_batch_commits_at_n_records_and_a_crash_loses_at_most_the_open_batch)
{
    const char *url = url_for("sqlite");
    group_t g;
    group_open(&g, url, 7, 60000);
    for (int k = 0; k < 50; k++)
        record(&g, k);
    cr_assert_eq(nd_recorder_commits(g.recorder), 7); /* 49 records in 7 batches, 1 open */
    group_crash(&g);
    qtys_t q;
    cr_assert_eq(durable_records(url, &q), 49);
    for (int k = 0; k < 49; k++)
        cr_assert_eq(q.qty[k], k + 1);
    assert_verifies(url, 49);
}

Test(group_commit, a_batch_commits_after_t_ms_at_the_next_callback_or_poll)
{
    const char *url = url_for("sqlite");
    group_t g;
    group_open(&g, url, 1000, 50);
    char err[256] = "";
    record(&g, 0);
    record(&g, 1);
    nd_clock_sim_set(&g.clock, 1000 * ND_NS_PER_SEC + 49 * ND_NS_PER_MS);
    cr_assert_eq(nd_recorder_poll(g.recorder, err, sizeof err), ND_OK, "%s", err);
    record(&g, 2);
    cr_assert_eq(nd_recorder_commits(g.recorder), 0, "committed before the interval");
    nd_clock_sim_set(&g.clock, 1000 * ND_NS_PER_SEC + 50 * ND_NS_PER_MS);
    cr_assert_eq(nd_recorder_poll(g.recorder, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_recorder_commits(g.recorder), 1, "the poll did not commit a due batch");
    /* the interval counts from the batch's first record, and an event also commits */
    record(&g, 3);
    nd_clock_sim_set(&g.clock, 1000 * ND_NS_PER_SEC + 100 * ND_NS_PER_MS);
    record(&g, 4);
    cr_assert_eq(nd_recorder_commits(g.recorder), 2);
    record(&g, 5);
    nd_clock_sim_set(&g.clock, 1000 * ND_NS_PER_SEC + 120 * ND_NS_PER_MS);
    /* a step end is no commit by itself (not even the first: one commit fewer per run, the
     * batch rule bounds what is at risk), and reads the clock only every
     * ND_RECORDER_STEPS_PER_CLOCK steps */
    nd_recorder_on_bar_done(g.recorder, NULL, 0, false);
    cr_assert_eq(nd_recorder_commits(g.recorder), 2);
    record(&g, 6);
    nd_recorder_on_bar_done(g.recorder, NULL, 0, false);
    cr_assert_eq(nd_recorder_commits(g.recorder), 2);
    /* a step end commits a due batch within ND_RECORDER_STEPS_PER_CLOCK steps */
    nd_clock_sim_set(&g.clock, 1000 * ND_NS_PER_SEC + 250 * ND_NS_PER_MS);
    for (uint32_t k = 0; k < ND_RECORDER_STEPS_PER_CLOCK; k++)
        nd_recorder_on_bar_done(g.recorder, NULL, 0, false);
    cr_assert_eq(nd_recorder_commits(g.recorder), 3);
    record(&g, 7);
    group_crash(&g);
    qtys_t q;
    cr_assert_eq(durable_records(url, &q), 7);
    assert_verifies(url, 7);
}

/* A crash between a commit and the head file's rename leaves PATH.head one commit behind and
 * PATH.head.next naming the chain's end: verify accepts it, the next writer completes the
 * rename; without the .next file the stale head is still a fault. */
Test(group_commit, a_crash_between_the_commit_and_the_rename_verifies)
{
    const char *url = url_for("sqlite");
    char head[300], next[300], old[300], cmd[1400];
    snprintf(head, sizeof head, "%s.head", sqlite_file);
    snprintf(next, sizeof next, "%s.head.next", sqlite_file);
    snprintf(old, sizeof old, "%s.old", sqlite_file);
    nd_store_t *s = open_store(url);
    append_fill(s, 0, T0);
    flush(s);
    snprintf(cmd, sizeof cmd, "cp %s %s", head, old);
    cr_assert_eq(system(cmd), 0);
    append_fill(s, 1, T0 + 1);
    flush(s);
    nd_store_close(s);
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s", head, next, old, head);
    cr_assert_eq(system(cmd), 0);
    s = open_store(url);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_str_eq(a.head_checked, "table and head file (pending rename)");
    nd_store_close(s);
    /* the .next file must name the chain's end exactly */
    snprintf(cmd, sizeof cmd, "cp %s %s", old, next);
    cr_assert_eq(system(cmd), 0);
    s = open_store(url);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_HEAD, "%s", a.detail);
    nd_store_close(s);
    /* the next writer (pending rename completed first) brings the head file up to date */
    snprintf(cmd, sizeof cmd, "cp %s %s && cp %s %s", head, next, old, head);
    cr_assert_eq(system(cmd), 0);
    s = open_store(url);
    append_fill(s, 2, T0 + 2);
    flush(s);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_str_eq(a.head_checked, "table and head file");
    nd_store_close(s);
    unlink(old);
}

/* A crash before the commit leaves PATH.head.next ahead of the chain: ignored, PATH.head
 * agrees. With a key, a pending head must be signed like any other. */
Test(group_commit, a_head_next_ahead_is_ignored_and_a_pending_one_must_be_signed)
{
    const char *url = url_for("sqlite");
    char head[300], next[300], old[300], cmd[2000];
    snprintf(head, sizeof head, "%s.head", sqlite_file);
    snprintf(next, sizeof next, "%s.head.next", sqlite_file);
    snprintf(old, sizeof old, "%s.old", sqlite_file);
    setenv("NODERR_AUDIT_KEY", "group-commit-test-key", 1);
    nd_store_t *s = open_store(url);
    append_fill(s, 0, T0);
    flush(s);
    snprintf(cmd, sizeof cmd, "cp %s %s", head, old);
    cr_assert_eq(system(cmd), 0);
    append_fill(s, 1, T0 + 1);
    flush(s);
    nd_store_close(s);
    FILE *f = fopen(next, "w");
    cr_assert_not_null(f);
    fprintf(f, "noderr-audit-head 1\nseq 9\nhash %064d\nmac -\n", 7);
    fclose(f);
    s = open_store(url);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_str_eq(a.head_checked, "table and head file");
    nd_store_close(s);
    /* a signed pending rename is accepted ... */
    snprintf(cmd, sizeof cmd, "cp %s %s.new && cp %s %s && cp %s %s", head, head, head, next,
             old, head);
    cr_assert_eq(system(cmd), 0);
    s = open_store(url);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_str_eq(a.head_checked, "table and head file (pending rename)");
    nd_store_close(s);
    /* ... but not once the .next file lost its signature */
    snprintf(cmd, sizeof cmd, "sed 's/^mac .*/mac -/' %s.new > %s", head, next);
    cr_assert_eq(system(cmd), 0);
    s = open_store(url);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_HEAD, "%s", a.detail);
    nd_store_close(s);
    unsetenv("NODERR_AUDIT_KEY");
    unlink(old);
    snprintf(cmd, sizeof cmd, "%s.new", head);
    unlink(cmd);
}

/* A new store gets its head file with its first commit (two fsyncs fewer per new file):
 * empty and unkeyed it verifies without one; with a key its signed head and file are written
 * at open; once it holds records, a missing head file is a fault again. */
Test(group_commit, a_new_store_gets_its_head_file_with_its_first_commit)
{
    const char *url = url_for("sqlite");
    char head[300];
    snprintf(head, sizeof head, "%s.head", sqlite_file);
    nd_store_t *s = open_store(url);
    cr_assert_eq(access(head, F_OK), -1);
    nd_audit_result_t a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_str_eq(a.head_checked, "table (empty, no head file yet)");
    append_fill(s, 0, T0);
    flush(s);
    cr_assert_eq(access(head, F_OK), 0);
    nd_store_close(s);
    unlink(head);
    s = open_store(url);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_HEAD, "%s", a.detail);
    nd_store_close(s);
    url = url_for("sqlite");
    setenv("NODERR_AUDIT_KEY", "group-commit-test-key", 1);
    s = open_store(url);
    cr_assert_eq(access(head, F_OK), 0, "with a key the signed head is written at open");
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_OK, "%s", a.detail);
    cr_assert_str_eq(a.head_checked, "table and head file");
    nd_store_close(s);
    unlink(head);
    s = open_store(url);
    a = verify(s);
    cr_assert_eq(a.problem, ND_AUDIT_HEAD, "with a key a missing head file is a fault: %s",
                 a.detail);
    nd_store_close(s);
    unsetenv("NODERR_AUDIT_KEY");
}

/* Byte 18 of a SQLite file's header: 1 for a rollback journal, 2 for WAL. */
static int file_format(void)
{
    FILE *f = fopen(sqlite_file, "rb");
    cr_assert_not_null(f);
    unsigned char header[32];
    cr_assert_eq(fread(header, 1, sizeof header, f), sizeof header);
    fclose(f);
    return header[18];
}

static bool side_file(const char *suffix)
{
    char path[300];
    snprintf(path, sizeof path, "%s%s", sqlite_file, suffix);
    return access(path, F_OK) == 0;
}

/* A bulk run's new file (backtest --db) keeps a rollback journal instead of WAL; rows are
 * queued 32 at a time, committed batches are what another connection sees and what survives a
 * crash, in order; the file is left with no journal, and the next open turns it to WAL. Also
 * signed, whose first commit (the head, at open) comes before any head file's directory
 * sync. */
Test(group_commit, a_bulk_store_keeps_a_rollback_journal_and_loses_at_most_the_open_batch)
{
    for (int keyed = 0; keyed < 2; keyed++) {
        const char *url = url_for("sqlite");
        if (keyed)
            setenv("NODERR_AUDIT_KEY", "bulk-test-key", 1);
        group_t g;
        char err[256] = "";
        memset(&g, 0, sizeof g);
        nd_instrument_init(&g.inst, "BTC/USDT", "sim");
        nd_clock_sim_init(&g.clock, 1000 * ND_NS_PER_SEC);
        cr_assert_eq(nd_store_open(url, ND_STORE_CREATE | ND_STORE_BULK, &g.store, err,
                                   sizeof err), ND_OK, "%s", err);
        cr_assert_eq(nd_recorder_create(g.store, "acct", &g.inst, 1, group_names, 1, 40,
                                        &g.recorder, err, sizeof err), ND_OK, "%s", err);
        cr_assert_eq(nd_recorder_set_commit(g.recorder, 0, 60000, &g.clock.clock, err,
                                            sizeof err), ND_OK, "%s", err);
        for (int k = 0; k < 100; k++) {
            record(&g, k);
            if (k == 69)
                cr_assert_eq(committed_count(), 40, "committed past the group rule");
        }
        cr_assert_eq(nd_recorder_commits(g.recorder), 2);
        cr_assert_eq(committed_count(), 80);
        cr_assert_eq(file_format(), 1, "a new bulk file is not in rollback-journal mode");
        cr_assert(!side_file("-wal"), "a bulk store wrote a WAL");
        group_crash(&g);
        cr_assert(!side_file("-journal"), "the journal was left beside the store");
        qtys_t q;
        cr_assert_eq(durable_records(url, &q), 80);
        for (int k = 0; k < 80; k++)
            cr_assert_eq(q.qty[k], k + 1);
        assert_verifies(url, 80);
        cr_assert_eq(file_format(), 2, "reopened, the store is not in WAL mode");
        unsetenv("NODERR_AUDIT_KEY");
    }
}

/* Property: for random batch sizes, intervals, step ends, barriers, polls and crash points,
 * whatever was committed survives the crash exactly (same records, same order, nothing
 * uncommitted), what was lost is at most the open batch, and the chain and both heads
 * verify. */
Test(group_commit, property_committed_records_survive_any_crash_point, .timeout = 120)
{
    for (unsigned seed = 1; seed <= 40; seed++) {
        srand(seed);
        const char *url = url_for("sqlite");
        uint32_t events_max = 1 + (uint32_t)(rand() % 40);
        int64_t interval_ms = 1 + rand() % 20;
        int crash_at = rand() % 300;
        group_t g;
        group_open(&g, url, events_max, interval_ms);
        int64_t now_ns = 1000 * ND_NS_PER_SEC;
        int committed = 0; /* records the recorder has made durable */
        int64_t commits = 0;
        char err[256] = "";
        for (int k = 0; k < crash_at; k++) {
            record(&g, k);
            int action = rand() % 10;
            if (action == 0)
                nd_recorder_on_bar_done(g.recorder, NULL, 0, false);
            else if (action == 1)
                cr_assert_eq(nd_recorder_barrier(g.recorder, err, sizeof err), ND_OK, "%s", err);
            else if (action == 2)
                cr_assert_eq(nd_recorder_poll(g.recorder, err, sizeof err), ND_OK, "%s", err);
            now_ns += (rand() % 4) * ND_NS_PER_MS;
            nd_clock_sim_set(&g.clock, now_ns);
            if (nd_recorder_commits(g.recorder) != commits) {
                commits = nd_recorder_commits(g.recorder);
                committed = k + 1;
            }
            if (action == 1)
                cr_assert_eq(committed, k + 1, "seed %u: the barrier left records pending",
                             seed);
        }
        group_crash(&g);
        qtys_t q;
        int found = durable_records(url, &q);
        cr_assert_eq(found, committed, "seed %u (N=%u, T=%lld ms, crash at %d): %d records "
                     "found, %d committed", seed, events_max, (long long)interval_ms, crash_at,
                     found, committed);
        cr_assert_lt(crash_at - found, (int)events_max > 0 ? (int)events_max : 1,
                     "seed %u: lost more than the open batch", seed);
        for (int k = 0; k < found; k++)
            cr_assert_eq(q.qty[k], k + 1, "seed %u: record %d", seed, k);
        if (found > 0)
            assert_verifies(url, found);
    }
}
