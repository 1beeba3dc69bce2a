/* store_pg.c: the PostgreSQL backend of the compliance store, through libpq (the only file
 * that includes libpq-fe.h).
 *
 * Same rows as SQLite (bigint for every integer, bytea for hashes). A batch is buffered in
 * COPY text format and sent at commit as one transaction: COPY of the new rows, then the
 * deletions, then COMMIT; so a failed write is seen at commit and nothing of the batch lands.
 * The schema is versioned like SQLite's: schema_migrations, applied under an advisory lock so
 * that two processes opening a fresh database at once do not race. Scans stream rows in
 * single-row mode, so memory does not grow with the table. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pg_store {
    PGconn *conn;
    char *copy_buf;     /* the batch's rows in COPY text format */
    size_t copy_len;
    size_t copy_cap;
    int64_t (*removes)[2];
    size_t remove_count;
    size_t remove_cap;
} pg_store_t;

static const char *const migrations[] = {
    "CREATE TABLE records (seq bigint PRIMARY KEY, ts_ns bigint NOT NULL, kind integer NOT NULL, "
    "side integer NOT NULL, event text NOT NULL, account text NOT NULL, strategy text NOT NULL, "
    "venue text NOT NULL, instrument text NOT NULL, jurisdiction text NOT NULL, "
    "client_order_id text NOT NULL, venue_order_id text NOT NULL, px bigint NOT NULL, "
    "qty bigint NOT NULL, px_scale integer NOT NULL, qty_scale integer NOT NULL, "
    "notional bigint NOT NULL, fee bigint NOT NULL, from_ns bigint NOT NULL, "
    "to_ns bigint NOT NULL, reason text NOT NULL, detail text NOT NULL, "
    "prev_hash bytea NOT NULL, hash bytea NOT NULL);"
    "CREATE INDEX records_kind_ts ON records (kind, ts_ns);",
    "CREATE FUNCTION records_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'records are append-only'; END $$;"
    "CREATE TRIGGER records_append_only BEFORE UPDATE ON records FOR EACH ROW "
    "EXECUTE FUNCTION records_append_only();",
};
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
ND_STATIC_ASSERT(MIGRATION_COUNT >= ND__STORE_SCHEMA_VERSION, "a migration per version");

/* The first line of libpq's message (they end in a newline). */
static nd_err_t pg_error(pg_store_t *pg, const char *what, const PGresult *res, char *err,
                         size_t err_len)
{
    const char *msg = res ? PQresultErrorMessage(res) : "";
    if (!msg[0])
        msg = PQerrorMessage(pg->conn);
    size_t len = strcspn(msg, "\n");
    snprintf(err, err_len, "postgresql: %s: %.*s", what, (int)len, msg);
    return ND_EIO;
}

static nd_err_t exec_cmd(pg_store_t *pg, const char *sql, const char *what, char *err,
                         size_t err_len)
{
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    nd_err_t rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                      ? ND_OK
                      : pg_error(pg, what, res, err, err_len);
    PQclear(res);
    return rc;
}

static nd_err_t migrate(pg_store_t *pg, char *err, size_t err_len)
{
    nd_err_t rc = exec_cmd(pg, "BEGIN; SELECT pg_advisory_xact_lock(7361092); "
                           "CREATE TABLE IF NOT EXISTS schema_migrations (version integer "
                           "PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                           "creating schema_migrations", err, err_len);
    int version = -1;
    if (rc == ND_OK) {
        PGresult *res = PQexec(pg->conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            version = atoi(PQgetvalue(res, 0, 0));
        else
            rc = pg_error(pg, "reading the schema version", res, err, err_len);
        PQclear(res);
    }
    if (rc == ND_OK && version > MIGRATION_COUNT) {
        snprintf(err, err_len, "postgresql: schema version %d is newer than this program's (%d)",
                 version, MIGRATION_COUNT);
        rc = ND_EIO;
    }
    for (int v = version + 1; rc == ND_OK && v <= MIGRATION_COUNT; v++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations (version) VALUES (%d)", v);
        rc = exec_cmd(pg, migrations[v - 1], "migrating the schema", err, err_len);
        if (rc == ND_OK)
            rc = exec_cmd(pg, sql, "recording a migration", err, err_len);
    }
    if (rc == ND_OK)
        return exec_cmd(pg, "COMMIT", "committing the migrations", err, err_len);
    PQclear(PQexec(pg->conn, "ROLLBACK"));
    return rc;
}

static void pg_close(void *b)
{
    pg_store_t *pg = b;
    if (!pg)
        return;
    PQfinish(pg->conn);
    nd_free(pg->copy_buf);
    nd_free(pg->removes);
    nd_free(pg);
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* NOTICEs ("relation already exists, skipping") are not errors */
}

static nd_err_t pg_open(const char *target, unsigned flags, void **out, char *err,
                        size_t err_len)
{
    (void)flags; /* the database must exist: creating one is the operator's job */
    pg_store_t *pg = nd_calloc(1, sizeof *pg);
    if (!pg) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    pg->conn = PQconnectdb(target);
    nd_err_t rc = ND_OK;
    if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
        const char *msg = pg->conn ? PQerrorMessage(pg->conn) : "out of memory";
        snprintf(err, err_len, "postgresql: cannot connect: %.*s", (int)strcspn(msg, "\n"), msg);
        rc = ND_EIO;
    }
    if (rc == ND_OK) {
        PQsetNoticeProcessor(pg->conn, quiet_notice, NULL);
        rc = migrate(pg, err, err_len);
    }
    if (rc != ND_OK) {
        pg_close(pg);
        return rc;
    }
    *out = pg;
    return ND_OK;
}

static void parse_bytea(const char *text, uint8_t out[ND_HASH_SIZE])
{
    memset(out, 0, ND_HASH_SIZE);
    if (text[0] != '\\' || text[1] != 'x')
        return;
    text += 2;
    for (int k = 0; k < ND_HASH_SIZE && text[0] && text[1]; k++, text += 2) {
        char pair[3] = {text[0], text[1], 0};
        out[k] = (uint8_t)strtoul(pair, NULL, 16);
    }
}

static nd_err_t pg_tail(void *b, int64_t *seq, uint8_t hash[ND_HASH_SIZE], char *err,
                        size_t err_len)
{
    pg_store_t *pg = b;
    PGresult *res = PQexec(pg->conn, "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
    nd_err_t rc = ND_OK;
    *seq = 0;
    memset(hash, 0, ND_HASH_SIZE);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_error(pg, "reading the chain's tail", res, err, err_len);
    else if (PQntuples(res) == 1) {
        *seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        parse_bytea(PQgetvalue(res, 0, 1), hash);
    }
    PQclear(res);
    return rc;
}

static bool reserve(pg_store_t *pg, size_t more)
{
    if (pg->copy_len + more <= pg->copy_cap)
        return true;
    size_t cap = pg->copy_cap ? pg->copy_cap : 65536;
    while (cap < pg->copy_len + more)
        cap *= 2;
    char *grown = nd_realloc(pg->copy_buf, cap);
    if (!grown)
        return false;
    pg->copy_buf = grown;
    pg->copy_cap = cap;
    return true;
}

/* Appends text escaped for COPY's text format, then the separator. */
static void put_text(pg_store_t *pg, const char *text, char sep)
{
    char *p = pg->copy_buf + pg->copy_len;
    for (; *text; text++) {
        char c = *text;
        if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
            *p++ = '\\';
            c = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
        *p++ = c;
    }
    *p++ = sep;
    pg->copy_len = (size_t)(p - pg->copy_buf);
}

static void put_int(pg_store_t *pg, int64_t v, char sep)
{
    pg->copy_len += (size_t)sprintf(pg->copy_buf + pg->copy_len, "%lld%c", (long long)v, sep);
}

static void put_hash(pg_store_t *pg, const uint8_t hash[ND_HASH_SIZE], char sep)
{
    char hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(hash, hex);
    pg->copy_len += (size_t)sprintf(pg->copy_buf + pg->copy_len, "\\\\x%s%c", hex, sep);
}

static nd_err_t pg_append(void *b, const nd_record_t *r, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    const char *texts[] = {r->event, r->account, r->strategy, r->venue, r->instrument,
                           r->jurisdiction, r->client_order_id, r->venue_order_id, r->reason,
                           r->detail};
    size_t need = 20 * 24 + 2 * 80;
    for (int k = 0; k < 10; k++)
        need += 2 * strlen(texts[k]) + 1;
    if (!reserve(pg, need)) {
        snprintf(err, err_len, "postgresql: out of memory buffering record %lld",
                 (long long)r->seq);
        return ND_ENOMEM;
    }
    const int64_t head[] = {r->seq, r->ts_ns, r->kind, r->side};
    for (int k = 0; k < 4; k++)
        put_int(pg, head[k], '\t');
    for (int k = 0; k < 8; k++)
        put_text(pg, texts[k], '\t');
    const int64_t nums[] = {r->px, r->qty, r->px_scale, r->qty_scale, r->notional, r->fee,
                            r->from_ns, r->to_ns};
    for (int k = 0; k < 8; k++)
        put_int(pg, nums[k], '\t');
    put_text(pg, r->reason, '\t');
    put_text(pg, r->detail, '\t');
    put_hash(pg, r->prev_hash, '\t');
    put_hash(pg, r->hash, '\n');
    return ND_OK;
}

static nd_err_t pg_remove(void *b, int64_t from, int64_t to, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    if (pg->remove_count == pg->remove_cap) {
        size_t cap = pg->remove_cap ? pg->remove_cap * 2 : 16;
        int64_t(*grown)[2] = nd_realloc(pg->removes, cap * sizeof *grown);
        if (!grown) {
            snprintf(err, err_len, "postgresql: out of memory");
            return ND_ENOMEM;
        }
        pg->removes = grown;
        pg->remove_cap = cap;
    }
    pg->removes[pg->remove_count][0] = from;
    pg->removes[pg->remove_count][1] = to;
    pg->remove_count++;
    return ND_OK;
}

static nd_err_t send_copy(pg_store_t *pg, char *err, size_t err_len)
{
    PGresult *res = PQexec(pg->conn, "COPY records (" ND__STORE_COLUMNS ") FROM STDIN");
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        nd_err_t rc = pg_error(pg, "starting COPY", res, err, err_len);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (PQputCopyData(pg->conn, pg->copy_buf, (int)pg->copy_len) != 1 ||
        PQputCopyEnd(pg->conn, NULL) != 1)
        return pg_error(pg, "sending records", NULL, err, err_len);
    nd_err_t rc = ND_OK;
    while ((res = PQgetResult(pg->conn)) != NULL) {
        if (rc == ND_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_error(pg, "writing records", res, err, err_len);
        PQclear(res);
    }
    return rc;
}

/* Deletes the batch's ranges, a thousand ranges a statement. */
static nd_err_t send_removes(pg_store_t *pg, char *err, size_t err_len)
{
    nd_err_t rc = ND_OK;
    char *sql = nd_alloc(128 + 48 * 1000);
    if (!sql) {
        snprintf(err, err_len, "postgresql: out of memory");
        return ND_ENOMEM;
    }
    for (size_t k = 0; rc == ND_OK && k < pg->remove_count; k += 1000) {
        size_t n = (size_t)sprintf(sql, "DELETE FROM records r USING (VALUES ");
        for (size_t j = k; j < pg->remove_count && j < k + 1000; j++)
            n += (size_t)sprintf(sql + n, "%s(%lld::bigint,%lld::bigint)", j > k ? "," : "",
                                 (long long)pg->removes[j][0], (long long)pg->removes[j][1]);
        sprintf(sql + n, ") AS v(lo, hi) WHERE r.seq BETWEEN v.lo AND v.hi");
        rc = exec_cmd(pg, sql, "pruning records", err, err_len);
    }
    nd_free(sql);
    return rc;
}

static nd_err_t pg_commit(void *b, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    if (pg->copy_len == 0 && pg->remove_count == 0)
        return ND_OK;
    nd_err_t rc = exec_cmd(pg, "BEGIN", "starting a batch", err, err_len);
    if (rc == ND_OK && pg->copy_len > 0)
        rc = send_copy(pg, err, err_len);
    if (rc == ND_OK && pg->remove_count > 0)
        rc = send_removes(pg, err, err_len);
    if (rc == ND_OK)
        rc = exec_cmd(pg, "COMMIT", "committing a batch", err, err_len);
    if (rc != ND_OK)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    pg->copy_len = 0;
    pg->remove_count = 0;
    return rc;
}

static void pg_rollback(void *b)
{
    pg_store_t *pg = b;
    pg->copy_len = 0;
    pg->remove_count = 0;
}

static void read_row(const PGresult *res, nd_record_t *r)
{
    r->seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    r->ts_ns = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    r->kind = (nd_record_kind_t)strtol(PQgetvalue(res, 0, 2), NULL, 10);
    r->side = (int32_t)strtol(PQgetvalue(res, 0, 3), NULL, 10);
    const char **texts[] = {&r->event, &r->account, &r->strategy, &r->venue, &r->instrument,
                            &r->jurisdiction, &r->client_order_id, &r->venue_order_id};
    for (int k = 0; k < 8; k++)
        *texts[k] = PQgetvalue(res, 0, k + 4);
    int64_t *nums[] = {&r->px, &r->qty, NULL, NULL, &r->notional, &r->fee, &r->from_ns,
                       &r->to_ns};
    for (int k = 0; k < 8; k++)
        if (nums[k])
            *nums[k] = strtoll(PQgetvalue(res, 0, k + 12), NULL, 10);
    r->px_scale = (int32_t)strtol(PQgetvalue(res, 0, 14), NULL, 10);
    r->qty_scale = (int32_t)strtol(PQgetvalue(res, 0, 15), NULL, 10);
    r->reason = PQgetvalue(res, 0, 20);
    r->detail = PQgetvalue(res, 0, 21);
    parse_bytea(PQgetvalue(res, 0, 22), r->prev_hash);
    parse_bytea(PQgetvalue(res, 0, 23), r->hash);
}

static nd_err_t pg_scan(void *b, const nd_record_filter_t *f, void *ctx, nd_record_cb record_cb,
                        char *err, size_t err_len)
{
    pg_store_t *pg = b;
    char sql[1024];
    nd__store_select_sql(f, sql, sizeof sql);
    if (!PQsendQuery(pg->conn, sql) || !PQsetSingleRowMode(pg->conn))
        return pg_error(pg, "reading records", NULL, err, err_len);
    nd_err_t rc = ND_OK;
    PGresult *res;
    nd_record_t rec;
    /* Every result is consumed, also after the callback stopped, to leave the connection idle. */
    while ((res = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == ND_OK && st == PGRES_SINGLE_TUPLE) {
            read_row(res, &rec);
            rc = record_cb(ctx, &rec);
        } else if (rc == ND_OK && st != PGRES_TUPLES_OK) {
            rc = pg_error(pg, "reading records", res, err, err_len);
        }
        PQclear(res);
    }
    return rc;
}

const nd__store_vtable_t nd__store_pg = {
    "postgresql", pg_open, pg_tail, pg_append, pg_remove,
    pg_commit, pg_rollback, pg_scan, pg_close,
};
