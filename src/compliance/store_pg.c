/* store_pg.c: the PostgreSQL backend of the compliance store, through libpq (the only file
 * that includes libpq-fe.h).
 *
 * Same rows as SQLite (seq, ts_ns, kind, and bytea for the hashes and the canonical encoding). A batch is buffered in
 * COPY text format and sent at commit as one transaction: COPY of the new rows, then the
 * deletions, then COMMIT; so a failed write is seen at commit and nothing of the batch lands.
 * The schema is versioned like SQLite's: schema_migrations, applied under an advisory lock so
 * that two processes opening a fresh database at once do not race. Scans stream rows in
 * single-row mode with binary results, so memory does not grow with the table and nothing is
 * parsed from text. */
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
    nd__head_t head;    /* written at the batch's commit when head_pending */
    bool head_pending;
    bool head_migrated; /* this open created audit_head (migration 4) */
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
    /* 3: a record is its canonical encoding (bytea: the hashed bytes, the only copy of its
     * content) beside seq, ts_ns and kind for filtering. Applied only to a table without
     * records (migrate() refuses the others); dropping the table drops its trigger. */
    "DROP TABLE records;"
    "CREATE TABLE records (seq bigint PRIMARY KEY, ts_ns bigint NOT NULL, kind integer NOT NULL, "
    "prev_hash bytea NOT NULL, hash bytea NOT NULL, encoding bytea NOT NULL);"
    "CREATE INDEX records_kind_ts ON records (kind, ts_ns);"
    "CREATE TRIGGER records_append_only BEFORE UPDATE ON records FOR EACH ROW "
    "EXECUTE FUNCTION records_append_only();",
    /* 4: the store's own head (last seq and hash, and its HMAC when a key is set), rewritten
     * in the transaction of every batch (see store_sqlite.c); started from the current tail. */
    "CREATE TABLE audit_head (id integer PRIMARY KEY CHECK (id = 1), seq bigint NOT NULL, "
    "hash bytea NOT NULL, mac bytea NOT NULL);"
    "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, "
    "coalesce((SELECT max(seq) FROM records), 0), "
    "coalesce((SELECT hash FROM records ORDER BY seq DESC LIMIT 1), "
    "decode(repeat('00', 32), 'hex')), ''::bytea);",
};
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
ND_STATIC_ASSERT(MIGRATION_COUNT == ND__STORE_SCHEMA_VERSION, "a migration per version");

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

/* Versions 1 and 2 kept a column per field; their records are not converted (see
 * ND__STORE_OLD_SCHEMA_TEXT), an empty table is simply replaced. */
static nd_err_t refuse_old_records(pg_store_t *pg, int version, char *err, size_t err_len)
{
    PGresult *res = PQexec(pg->conn, "SELECT EXISTS (SELECT 1 FROM records)");
    nd_err_t rc = ND_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = pg_error(pg, "reading an old schema", res, err, err_len);
    } else if (PQgetvalue(res, 0, 0)[0] == 't') {
        char why[400];
        snprintf(why, sizeof why, ND__STORE_OLD_SCHEMA_TEXT, version);
        snprintf(err, err_len, "postgresql: %s", why);
        rc = ND_EIO;
    }
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
    if (rc == ND_OK && version >= 1 && version < 3)
        rc = refuse_old_records(pg, version, err, err_len);
    for (int v = version + 1; rc == ND_OK && v <= MIGRATION_COUNT; v++) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations (version) VALUES (%d)", v);
        rc = exec_cmd(pg, migrations[v - 1], "migrating the schema", err, err_len);
        pg->head_migrated = pg->head_migrated || v == 4;
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
    char *grown = nd_array_grow(pg->copy_buf, &pg->copy_cap, pg->copy_len + more, 1, 65536);
    if (!grown)
        return false;
    pg->copy_buf = grown;
    return true;
}

static void put_int(pg_store_t *pg, int64_t v, char sep)
{
    pg->copy_len += (size_t)sprintf(pg->copy_buf + pg->copy_len, "%lld%c", (long long)v, sep);
}

/* A bytea in COPY text format: \\x then the hex digits (the backslash itself escaped). */
static void put_bytes(pg_store_t *pg, const uint8_t *bytes, size_t len, char sep)
{
    static const char digits[] = "0123456789abcdef";
    char *p = pg->copy_buf + pg->copy_len;
    *p++ = '\\';
    *p++ = '\\';
    *p++ = 'x';
    for (size_t k = 0; k < len; k++) {
        *p++ = digits[bytes[k] >> 4];
        *p++ = digits[bytes[k] & 15];
    }
    *p++ = sep;
    pg->copy_len = (size_t)(p - pg->copy_buf);
}

static nd_err_t pg_append(void *b, const nd__row_t *r, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    size_t need = 3 * 24 + 3 * 4 + 2 * (2 * ND_HASH_SIZE + r->enc_len);
    if (!reserve(pg, need)) {
        snprintf(err, err_len, "postgresql: out of memory buffering record %lld",
                 (long long)r->seq);
        return ND_ENOMEM;
    }
    put_int(pg, r->seq, '\t');
    put_int(pg, r->ts_ns, '\t');
    put_int(pg, r->kind, '\t');
    put_bytes(pg, r->prev_hash, ND_HASH_SIZE, '\t');
    put_bytes(pg, r->hash, ND_HASH_SIZE, '\t');
    put_bytes(pg, r->enc, r->enc_len, '\n');
    return ND_OK;
}

static nd_err_t pg_remove(void *b, int64_t from, int64_t to, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    int64_t(*grown)[2] =
        nd_array_grow(pg->removes, &pg->remove_cap, pg->remove_count + 1, sizeof *grown, 16);
    if (!grown) {
        snprintf(err, err_len, "postgresql: out of memory");
        return ND_ENOMEM;
    }
    pg->removes = grown;
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

static void hex_into(char *out, const uint8_t *bytes, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < len; k++) {
        out[2 * k] = digits[bytes[k] >> 4];
        out[2 * k + 1] = digits[bytes[k] & 15];
    }
    out[2 * len] = '\0';
}

/* The head row, upserted inside the batch's transaction. */
static nd_err_t send_head(pg_store_t *pg, char *err, size_t err_len)
{
    char hash[2 * ND_HASH_SIZE + 1], mac[2 * ND_HASH_SIZE + 1], sql[512];
    hex_into(hash, pg->head.hash, ND_HASH_SIZE);
    hex_into(mac, pg->head.mac, pg->head.has_mac ? ND_HASH_SIZE : 0);
    snprintf(sql, sizeof sql, "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, %lld, "
             "'\\x%s'::bytea, '\\x%s'::bytea) ON CONFLICT (id) DO UPDATE SET seq = "
             "EXCLUDED.seq, hash = EXCLUDED.hash, mac = EXCLUDED.mac",
             (long long)pg->head.seq, hash, mac);
    return exec_cmd(pg, sql, "writing the head", err, err_len);
}

static nd_err_t pg_head_get(void *b, nd__head_t *out, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    memset(out, 0, sizeof *out);
    out->migrated = pg->head_migrated;
    /* to_regclass: a dropped audit_head table is a missing head, not an I/O error. */
    PGresult *res = PQexec(pg->conn, "SELECT to_regclass('audit_head') IS NOT NULL");
    bool exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                  PQgetvalue(res, 0, 0)[0] == 't';
    nd_err_t rc = PQresultStatus(res) == PGRES_TUPLES_OK
                      ? ND_OK
                      : pg_error(pg, "reading the head", res, err, err_len);
    PQclear(res);
    if (rc != ND_OK || !exists)
        return rc;
    res = PQexec(pg->conn, "SELECT seq, hash, mac FROM audit_head WHERE id = 1");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_error(pg, "reading the head", res, err, err_len);
    } else if (PQntuples(res) == 1) {
        out->present = true;
        out->seq = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        parse_bytea(PQgetvalue(res, 0, 1), out->hash);
        const char *mac = PQgetvalue(res, 0, 2);
        out->has_mac = strlen(mac) == 2 + 2 * ND_HASH_SIZE;
        if (out->has_mac)
            parse_bytea(mac, out->mac);
    }
    PQclear(res);
    return rc;
}

static nd_err_t pg_head_set(void *b, const nd__head_t *head, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    pg_store_t *pg = b;
    pg->head = *head;
    pg->head_pending = true;
    return ND_OK;
}

/* PostgreSQL keeps its head in the audit_head table only: there is no file beside a server
 * database that this process could be trusted to own. */
static const char *pg_head_file(void *b)
{
    (void)b;
    return NULL;
}

static nd_err_t pg_commit(void *b, char *err, size_t err_len)
{
    pg_store_t *pg = b;
    if (pg->copy_len == 0 && pg->remove_count == 0 && !pg->head_pending)
        return ND_OK;
    nd_err_t rc = exec_cmd(pg, "BEGIN", "starting a batch", err, err_len);
    if (rc == ND_OK && pg->copy_len > 0)
        rc = send_copy(pg, err, err_len);
    if (rc == ND_OK && pg->remove_count > 0)
        rc = send_removes(pg, err, err_len);
    if (rc == ND_OK && pg->head_pending)
        rc = send_head(pg, err, err_len);
    pg->head_pending = false;
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
    pg->head_pending = false;
}

/* A big-endian integer of 4 or 8 bytes (binary results: integer and bigint). */
static int64_t binary_int(const PGresult *res, int col)
{
    const uint8_t *p = (const uint8_t *)PQgetvalue(res, 0, col);
    int n = PQgetlength(res, 0, col);
    if (n != 4 && n != 8)
        return 0;
    uint64_t u = 0;
    for (int k = 0; k < n; k++)
        u = (u << 8) | p[k];
    return n == 4 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
}

static void binary_hash(const PGresult *res, int col, uint8_t out[ND_HASH_SIZE])
{
    int n = PQgetlength(res, 0, col);
    memset(out, 0, ND_HASH_SIZE);
    memcpy(out, PQgetvalue(res, 0, col), n < ND_HASH_SIZE ? (size_t)n : ND_HASH_SIZE);
}

static void read_row(const PGresult *res, nd__row_t *r)
{
    r->seq = binary_int(res, 0);
    r->ts_ns = binary_int(res, 1);
    r->kind = binary_int(res, 2);
    binary_hash(res, 3, r->prev_hash);
    binary_hash(res, 4, r->hash);
    r->enc = (const uint8_t *)PQgetvalue(res, 0, 5);
    r->enc_len = (size_t)PQgetlength(res, 0, 5);
}

static nd_err_t pg_scan(void *b, const nd_record_filter_t *f, void *ctx, nd__row_cb row_cb,
                        char *err, size_t err_len)
{
    pg_store_t *pg = b;
    char sql[1024];
    nd__store_select_sql(f, sql, sizeof sql);
    /* Binary results: integers arrive as big-endian bytes and bytea as its bytes, so nothing
     * is parsed from text. */
    if (!PQsendQueryParams(pg->conn, sql, 0, NULL, NULL, NULL, NULL, 1) ||
        !PQsetSingleRowMode(pg->conn))
        return pg_error(pg, "reading records", NULL, err, err_len);
    nd_err_t rc = ND_OK;
    PGresult *res;
    nd__row_t row;
    /* Every result is consumed, also after the callback stopped, to leave the connection idle. */
    while ((res = PQgetResult(pg->conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (rc == ND_OK && st == PGRES_SINGLE_TUPLE) {
            read_row(res, &row);
            rc = row_cb(ctx, &row);
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
    pg_head_get, pg_head_set, pg_head_file,
};
