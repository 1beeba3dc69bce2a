/* store_sqlite.c: the SQLite backend of the compliance store (the embedded default).
 *
 * One table of records keyed by seq (each record's canonical encoding as a blob, beside seq,
 * ts_ns, kind and the two hashes), WAL journal, synchronous=FULL so that a commit is on disk
 * when nd_store_flush returns (a new file is initialised unsynced and synced once:
 * sync_created). The schema is versioned: schema_migrations lists the versions
 * applied, and open applies the missing ones in one transaction (refusing a database newer
 * than this program, and one of schema 1 or 2 that holds records). Appends run inside one
 * open transaction per batch, queued and written INSERT_ROWS rows per cached prepared
 * statement (the rest row by row before the commit); commit ends it. Only this file includes
 * sqlite3.h. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Rows per multi-row INSERT: a statement's own cost (step, halt, reset) was a fifth of an
 * append's SQLite time when each row had its own; 32 rows bind 192 parameters. */
#define INSERT_ROWS 32

/* A row appended to the open batch and not yet handed to SQLite: its columns, with the
 * encoding at off in the store's row buffer. */
typedef struct queued_row {
    int64_t seq, ts_ns, kind;
    uint8_t prev_hash[ND_HASH_SIZE];
    uint8_t hash[ND_HASH_SIZE];
    size_t off, len;
} queued_row_t;

typedef struct sqlite_store {
    sqlite3 *db;
    sqlite3_stmt *insert;
    sqlite3_stmt *insert_many; /* INSERT_ROWS rows at once */
    sqlite3_stmt *remove;
    /* Appends are queued and written INSERT_ROWS at a time; the rest before anything else the
     * batch does (a deletion, the head, a scan) and before its commit, so rows reach SQLite in
     * seq order and a commit holds every row appended before it. */
    queued_row_t queue[INSERT_ROWS];
    uint32_t queued;
    uint8_t *queue_enc;
    size_t queue_enc_len, queue_enc_cap;
    bool in_tx;
    bool head_migrated; /* this open created audit_head (migration 4) */
    bool rollback_journal; /* a new bulk file (ND_STORE_BULK): TRUNCATE journal, not WAL */
    /* A new file's fsync, run on a thread of its own while the caller goes on (a backtest
     * computes meanwhile); joined before the first head is written, i.e. before the first
     * commit and its directory fsync, which makes the file's name durable. */
    pthread_t created_sync;
    bool created_sync_running;
    int created_sync_errno;
    char path[1024];
    char head_path[1040]; /* path + ".head": the head file beside the database */
} sqlite_store_t;

/* Version n of the schema is migrations[n - 1]; never edit one, add the next. */
static const char *const migrations[] = {
    /* 1: the records table and the index reports and the verifier's prune lookup use. */
    "CREATE TABLE records (seq INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, "
    "kind INTEGER NOT NULL, side INTEGER NOT NULL, event TEXT NOT NULL, account TEXT NOT NULL, "
    "strategy TEXT NOT NULL, venue TEXT NOT NULL, instrument TEXT NOT NULL, "
    "jurisdiction TEXT NOT NULL, client_order_id TEXT NOT NULL, venue_order_id TEXT NOT NULL, "
    "px INTEGER NOT NULL, qty INTEGER NOT NULL, px_scale INTEGER NOT NULL, "
    "qty_scale INTEGER NOT NULL, notional INTEGER NOT NULL, fee INTEGER NOT NULL, "
    "from_ns INTEGER NOT NULL, to_ns INTEGER NOT NULL, reason TEXT NOT NULL, "
    "detail TEXT NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE INDEX records_kind_ts ON records (kind, ts_ns);",
    /* 2: records are append-only; an UPDATE through SQLite is refused (the chain still catches
     * one made by someone who drops the trigger). */
    "CREATE TRIGGER records_append_only BEFORE UPDATE ON records "
    "BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;",
    /* 3: a record is its canonical encoding (the hashed bytes, the only copy of its content)
     * beside seq, ts_ns and kind for filtering; readers decode it. Applied only to a table
     * without records (migrate() refuses the others). */
    "DROP TRIGGER IF EXISTS records_append_only; DROP TABLE records;"
    "CREATE TABLE records (seq INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, "
    "kind INTEGER NOT NULL, prev_hash BLOB NOT NULL, hash BLOB NOT NULL, "
    "encoding BLOB NOT NULL);"
    "CREATE INDEX records_kind_ts ON records (kind, ts_ns);"
    "CREATE TRIGGER records_append_only BEFORE UPDATE ON records "
    "BEGIN SELECT RAISE(ABORT, 'records are append-only'); END;",
    /* 4: the store's own head (last seq and hash, and its HMAC when a key is set), rewritten
     * in the transaction of every batch, so that deleting the last records or all of them is
     * caught without a hash noted elsewhere. Started from the current tail (trusted once, at
     * this migration); an empty store's head is seq 0, so a missing row is itself a fault. */
    "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, "
    "hash BLOB NOT NULL, mac BLOB NOT NULL);"
    "INSERT INTO audit_head (id, seq, hash, mac) VALUES (1, "
    "coalesce((SELECT max(seq) FROM records), 0), "
    "coalesce((SELECT hash FROM records ORDER BY seq DESC LIMIT 1), zeroblob(32)), x'');",
};
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))
ND_STATIC_ASSERT(MIGRATION_COUNT == ND__STORE_SCHEMA_VERSION, "a migration per version");

static nd_err_t db_error(sqlite_store_t *st, const char *what, char *err, size_t err_len)
{
    snprintf(err, err_len, "sqlite %s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
    return ND_EIO;
}

static nd_err_t exec_sql(sqlite_store_t *st, const char *sql, char *err, size_t err_len)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return ND_OK;
    snprintf(err, err_len, "sqlite %s: %s", st->path, msg ? msg : sqlite3_errmsg(st->db));
    sqlite3_free(msg);
    return ND_EIO;
}

static nd_err_t schema_version(sqlite_store_t *st, int *version, char *err, size_t err_len)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                           -1, &q, NULL) != SQLITE_OK)
        return db_error(st, "reading the schema version", err, err_len);
    int rc = sqlite3_step(q);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return db_error(st, "reading the schema version", err, err_len);
    return ND_OK;
}

/* Versions 1 and 2 kept a column per field; their records are not converted (see
 * ND__STORE_OLD_SCHEMA_TEXT), an empty table is simply replaced. */
static nd_err_t refuse_old_records(sqlite_store_t *st, int version, char *err, size_t err_len)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT EXISTS (SELECT 1 FROM records)", -1, &q, NULL) !=
        SQLITE_OK)
        return db_error(st, "reading an old schema", err, err_len);
    int step = sqlite3_step(q);
    bool any = step == SQLITE_ROW && sqlite3_column_int(q, 0) != 0;
    sqlite3_finalize(q);
    if (step != SQLITE_ROW)
        return db_error(st, "reading an old schema", err, err_len);
    if (!any)
        return ND_OK;
    char why[400];
    snprintf(why, sizeof why, ND__STORE_OLD_SCHEMA_TEXT, version);
    snprintf(err, err_len, "sqlite %s: %s", st->path, why);
    return ND_EIO;
}

static nd_err_t migrate(sqlite_store_t *st, char *err, size_t err_len)
{
    nd_err_t rc = exec_sql(st, "BEGIN IMMEDIATE; CREATE TABLE IF NOT EXISTS schema_migrations "
                           "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);",
                           err, err_len);
    int version = 0;
    if (rc == ND_OK)
        rc = schema_version(st, &version, err, err_len);
    if (rc == ND_OK && version > MIGRATION_COUNT) {
        snprintf(err, err_len, "sqlite %s: schema version %d is newer than this program's (%d)",
                 st->path, version, MIGRATION_COUNT);
        rc = ND_EIO;
    }
    if (rc == ND_OK && version >= 1 && version < 3)
        rc = refuse_old_records(st, version, err, err_len);
    for (int v = version + 1; rc == ND_OK && v <= MIGRATION_COUNT; v++) {
        char sql[128];
        rc = exec_sql(st, migrations[v - 1], err, err_len);
        st->head_migrated = st->head_migrated || v == 4;
        snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, "
                 "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', 'now'))", v);
        if (rc == ND_OK)
            rc = exec_sql(st, sql, err, err_len);
    }
    if (rc == ND_OK)
        return exec_sql(st, "COMMIT", err, err_len);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Splits "PATH?max_pages=N" into the path and the page cap (0 = none). */
static nd_err_t parse_target(const char *target, sqlite_store_t *st, long long *max_pages,
                             char *err, size_t err_len)
{
    const char *q = strstr(target, "?max_pages=");
    size_t len = q ? (size_t)(q - target) : strlen(target);
    if (len == 0 || len >= sizeof st->path) {
        snprintf(err, err_len, "sqlite: '%s' is not a usable path", target);
        return ND_EINVAL;
    }
    memcpy(st->path, target, len);
    st->path[len] = '\0';
    snprintf(st->head_path, sizeof st->head_path, "%s.head", st->path);
    *max_pages = 0;
    if (q) {
        char *end = NULL;
        *max_pages = strtoll(q + 11, &end, 10);
        if (*end != '\0' || *max_pages <= 0) {
            snprintf(err, err_len, "sqlite %s: max_pages must be a positive integer", st->path);
            return ND_EINVAL;
        }
    }
    return ND_OK;
}

static nd_err_t check_foreign(sqlite_store_t *st, char *err, size_t err_len);

/* SQLite's unix VFS fsyncs the directory of a WAL (or journal) file the first time it syncs it
 * on a connection: one more fsync per store connection, the slowest of a `backtest --db` run
 * (13 ms of its ten fsyncs here). It is redundant: store.c fsyncs the directory holding the
 * database, its WAL and the head file before every commit (the head file's step 1), and the
 * WAL exists from the connection's first transaction, before any commit; a commit made before
 * that directory fsync (a new store's first head, signed) leaves, if lost, the store as it was
 * before that open. So the VFS is told it cannot open directories, which it takes as "skip the
 * directory sync" (SQLITE_CANTOPEN there is not an error); only the store uses SQLite in this
 * process. Set once, before the first connection. */
static int no_directory(const char *path, int *fd)
{
    (void)path;
    *fd = -1;
    return SQLITE_CANTOPEN;
}

static void skip_directory_syncs(void)
{
    /* SQLite's memory statistics take a global mutex on every allocation (a few per INSERT):
     * ~4 M instructions of a 3,540-record `backtest --db`; nothing reads them. Only valid before
     * SQLite initialises, i.e. before the first connection: here. */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_vfs *vfs = sqlite3_vfs_find("unix");
    if (vfs && vfs->iVersion >= 3 && vfs->xSetSystemCall)
        (void)vfs->xSetSystemCall(vfs, "openDirectory", (sqlite3_syscall_ptr)no_directory);
}

/* fsync of path (any descriptor of the file flushes its pages). */
static bool sync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    bool ok = fd >= 0 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A database this open created was initialised (WAL switch, migrations) with
 * synchronous=OFF: SQLite would otherwise sync a rollback journal, the file, the new WAL and
 * the directory several times over (seven fsyncs, each a few ms on a busy disk, for every
 * `backtest --db` into a new file). It is made durable once: the file (its header: an empty
 * file would be refused at the next open), by a thread of its own, so that the run goes on
 * meanwhile; the first head written (before the first commit) waits for it (join_created).
 * Its name and the WAL's are made durable by the directory fsync of the first commit (store.c
 * syncs the directory of the head file, this file's, before every commit, after the head is
 * staged); lost before that, the store was empty. The migrations sit in the WAL, synced by the
 * first commit; lost before that, the next open applies them again. A new bulk file
 * (ND_STORE_BULK: rollback journal) has its migrations checkpointed into the file itself,
 * synced here, and the directory is synced after it (the journal's name); a power loss before
 * that can leave the new, empty file unreadable. Then every commit is synchronous=FULL. */
static void *created_sync_thread(void *arg)
{
    sqlite_store_t *st = arg;
    bool ok = sync_path(st->path, O_RDONLY);
    /* A rollback journal's name must be durable before a commit overwrites database pages
     * (SQLite's own directory sync is skipped): the first commit, which may come before any
     * head file's directory sync (a new store's signed head), waits for this. */
    if (ok && st->rollback_journal)
        ok = nd__store_sync_dir_of(st->path);
    st->created_sync_errno = ok ? 0 : (errno ? errno : EIO);
    return NULL;
}

static nd_err_t sync_created(sqlite_store_t *st, char *err, size_t err_len)
{
    nd_err_t rc = exec_sql(st, "PRAGMA synchronous=FULL", err, err_len);
    if (rc != ND_OK)
        return rc;
    if (pthread_create(&st->created_sync, NULL, created_sync_thread, st) == 0) {
        st->created_sync_running = true;
        return ND_OK;
    }
    bool ok = sync_path(st->path, O_RDONLY) &&
              (!st->rollback_journal || nd__store_sync_dir_of(st->path));
    st->created_sync_errno = ok ? 0 : (errno ? errno : EIO);
    if (ok)
        return ND_OK;
    snprintf(err, err_len, "sqlite %s: syncing the new database: %s", st->path,
             strerror(st->created_sync_errno));
    return ND_EIO;
}

/* Waits for a new file's fsync; ND_EIO when it failed. */
static nd_err_t join_created(sqlite_store_t *st, char *err, size_t err_len)
{
    if (st->created_sync_running) {
        pthread_join(st->created_sync, NULL);
        st->created_sync_running = false;
    }
    if (st->created_sync_errno == 0)
        return ND_OK;
    snprintf(err, err_len, "sqlite %s: syncing the new database: %s", st->path,
             strerror(st->created_sync_errno));
    return ND_EIO;
}

static int prepare_insert_many(sqlite_store_t *st)
{
    static const char values[] = "(?,?,?,?,?,?)";
    char sql[128 + INSERT_ROWS * sizeof values];
    size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO records (" ND__STORE_COLUMNS
                                ") VALUES %s", values);
    for (int k = 1; k < INSERT_ROWS; k++)
        n += (size_t)snprintf(sql + n, sizeof sql - n, ",%s", values);
    ND_ASSERT(n < sizeof sql);
    return sqlite3_prepare_v3(st->db, sql, (int)n, SQLITE_PREPARE_PERSISTENT, &st->insert_many,
                              NULL);
}

/* The journal of the connection. An existing file, or a new one of a writer that commits
 * often (a session's barriers), gets WAL: a commit appends to the WAL and syncs it once. A new
 * file of a bulk run (ND_STORE_BULK) then gets a rollback journal in TRUNCATE mode (below,
 * once migrated): its records go
 * to the database file once, where WAL wrote them twice (WAL, then the checkpoint at close:
 * 1.1 MB each for 3,540 records, and their writeback), at the price of a few syncs of a journal
 * that holds only the pages a commit overwrites (page 1, roots, interior pages). Durable at
 * commit either way (synchronous=FULL: the journal, the database, then the journal truncated
 * and synced, the commit point). No cache spill, so database pages are written only by a
 * commit, after the head's step 1 has synced the directory holding the journal (SQLite's own
 * directory syncs are skipped: skip_directory_syncs); a batch is bounded by the recorder's
 * group rule. Readers of a rollback-journal file wait for a commit (busy timeout). */
static const char *journal_pragmas(bool created)
{
    return created ? "PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL;"
                   : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
}

/* A new bulk file leaves WAL once migrated: created in WAL like every new file, so that a kill
 * during the migrations leaves a database that the next open migrates (in a rollback journal
 * the first transaction of an empty file rolls back to zero bytes, a file the store refuses);
 * leaving WAL checkpoints the few schema pages into the file and deletes the WAL. */
static const char *const bulk_pragmas = "PRAGMA journal_mode=TRUNCATE; PRAGMA cache_spill=OFF;";

static nd_err_t configure(sqlite_store_t *st, long long max_pages, bool created, unsigned flags,
                          char *err, size_t err_len)
{
    bool small = (flags & ND_STORE_SMALL_CACHE) != 0;
    st->rollback_journal = created && (flags & ND_STORE_BULK);
    nd_err_t rc = check_foreign(st, err, err_len);
    if (rc == ND_OK)
        rc = exec_sql(st, journal_pragmas(created), err, err_len);
    /* 64 MiB of page cache for bulk runs (backtest --db); a session appends and rarely reads
     * back, and its memory budget is tight (ND_STORE_SMALL_CACHE: 8 MiB). */
    if (rc == ND_OK)
        rc = exec_sql(st, small ? "PRAGMA cache_size=-8192;" : "PRAGMA cache_size=-65536;", err,
                      err_len);
    sqlite3_busy_timeout(st->db, 5000);
    if (rc == ND_OK && max_pages > 0) {
        char sql[96];
        snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", max_pages);
        rc = exec_sql(st, sql, err, err_len);
    }
    if (rc == ND_OK)
        rc = migrate(st, err, err_len);
    if (rc == ND_OK && st->rollback_journal)
        rc = exec_sql(st, bulk_pragmas, err, err_len);
    if (rc == ND_OK && created)
        rc = sync_created(st, err, err_len);
    if (rc == ND_OK &&
        (sqlite3_prepare_v3(st->db, "INSERT INTO records (" ND__STORE_COLUMNS ") VALUES "
                            "(?,?,?,?,?,?)",
                            -1, SQLITE_PREPARE_PERSISTENT, &st->insert, NULL) != SQLITE_OK ||
         prepare_insert_many(st) != SQLITE_OK ||
         sqlite3_prepare_v3(st->db, "DELETE FROM records WHERE seq BETWEEN ? AND ?", -1,
                            SQLITE_PREPARE_PERSISTENT, &st->remove, NULL) != SQLITE_OK))
        rc = db_error(st, "preparing statements", err, err_len);
    return rc;
}

static void sqlite_close(void *b)
{
    sqlite_store_t *st = b;
    if (!st)
        return;
    if (st->created_sync_running)
        pthread_join(st->created_sync, NULL);
    sqlite3_finalize(st->insert);
    sqlite3_finalize(st->insert_many);
    sqlite3_finalize(st->remove);
    /* A TRUNCATE journal stays as an empty file; leaving that mode deletes it (not in a
     * transaction: one still open is rolled back by the close). */
    if (st->rollback_journal && st->db && sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
    sqlite3_close(st->db);
    nd_free(st->queue_enc);
    nd_free(st);
}

/* An existing path must already be a SQLite database: SQLite would otherwise happily give an
 * empty (zero-byte) file a schema, and the store would then "verify" 0 records; only a path
 * that does not exist is created. Checked before SQLite touches the file: a regular file
 * whose first 16 bytes are SQLite's header ("SQLite format 3\0"). O_NONBLOCK so that a FIFO
 * given as --db is refused instead of blocking the open. */
static nd_err_t check_existing_file(const char *path, char *err, size_t err_len)
{
    static const char magic[16] = "SQLite format 3";
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "sqlite %s: cannot open: %s", path, strerror(errno));
        return ND_EIO;
    }
    struct stat sb;
    const char *why = NULL;
    char head[16];
    if (fstat(fd, &sb) != 0)
        why = strerror(errno);
    else if (S_ISDIR(sb.st_mode))
        why = "a directory, not a database";
    else if (!S_ISREG(sb.st_mode))
        why = "not a regular file, not a database";
    else if (sb.st_size == 0)
        why = "an empty file, not a database (refusing to initialise an existing file: give a "
              "path that does not exist to create a store)";
    else if (read(fd, head, sizeof head) != (ssize_t)sizeof head ||
             memcmp(head, magic, sizeof magic) != 0)
        why = "not a database (no SQLite header; refusing to initialise an existing file)";
    close(fd);
    if (!why)
        return ND_OK;
    snprintf(err, err_len, "sqlite %s: %s", path, why);
    return ND_EINVAL;
}

/* A SQLite database that holds tables but no schema_migrations is some other program's: the
 * store does not add its tables to it. */
static nd_err_t check_foreign(sqlite_store_t *st, char *err, size_t err_len)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT (SELECT count(*) FROM sqlite_master WHERE name NOT "
                           "LIKE 'sqlite_%'), (SELECT count(*) FROM sqlite_master WHERE name = "
                           "'schema_migrations')", -1, &q, NULL) != SQLITE_OK)
        return db_error(st, "not a database", err, err_len);
    int step = sqlite3_step(q);
    int tables = step == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
    int ours = step == SQLITE_ROW ? sqlite3_column_int(q, 1) : 0;
    sqlite3_finalize(q);
    if (step != SQLITE_ROW)
        return db_error(st, "not a database", err, err_len);
    if (tables > 0 && ours == 0) {
        snprintf(err, err_len, "sqlite %s: a SQLite database of another program (no "
                 "schema_migrations table), not a noderr store", st->path);
        return ND_EINVAL;
    }
    return ND_OK;
}

static nd_err_t sqlite_open(const char *target, unsigned flags, void **out, char *err,
                            size_t err_len)
{
    sqlite_store_t *st = nd_calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    long long max_pages = 0;
    nd_err_t rc = parse_target(target, st, &max_pages, err, err_len);
    bool exists = rc == ND_OK && access(st->path, F_OK) == 0;
    if (rc == ND_OK && !(flags & ND_STORE_CREATE) && !exists) {
        snprintf(err, err_len, "sqlite %s: no such database", st->path);
        rc = ND_ENOTFOUND;
    }
    if (rc == ND_OK && exists)
        rc = check_existing_file(st->path, err, err_len);
    static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;
    pthread_once(&vfs_once, skip_directory_syncs);
    if (rc == ND_OK) {
        /* NOMUTEX: a store handle belongs to one thread, so SQLite's per-call locking is
         * pure cost on the append path. */
        int mode = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                   ((flags & ND_STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
        if (sqlite3_open_v2(st->path, &st->db, mode, NULL) != SQLITE_OK)
            rc = db_error(st, "cannot open", err, err_len);
    }
    if (rc == ND_OK)
        rc = configure(st, max_pages, !exists, flags, err, err_len);
    if (rc != ND_OK) {
        sqlite_close(st);
        return rc;
    }
    *out = st;
    return ND_OK;
}

static void copy_hash(sqlite3_stmt *q, int col, uint8_t out[ND_HASH_SIZE])
{
    memset(out, 0, ND_HASH_SIZE);
    int n = sqlite3_column_bytes(q, col);
    const void *blob = sqlite3_column_blob(q, col);
    if (blob)
        memcpy(out, blob, n < ND_HASH_SIZE ? (size_t)n : ND_HASH_SIZE);
}

static nd_err_t sqlite_tail(void *b, int64_t *seq, uint8_t hash[ND_HASH_SIZE], char *err,
                            size_t err_len)
{
    sqlite_store_t *st = b;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return db_error(st, "reading the chain's tail", err, err_len);
    int rc = sqlite3_step(q);
    *seq = 0;
    memset(hash, 0, ND_HASH_SIZE);
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(q, 0);
        copy_hash(q, 1, hash);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(st, "reading the chain's tail", err, err_len);
    return ND_OK;
}

static nd_err_t begin_batch(sqlite_store_t *st, char *err, size_t err_len)
{
    /* SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR):
     * then the batch is gone and a new one begins, never rows in autocommit. */
    if (st->in_tx && !sqlite3_get_autocommit(st->db))
        return ND_OK;
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(st, "starting a batch", err, err_len);
    st->in_tx = true;
    return ND_OK;
}

/* Binds queued row k as the row at parameter offset base of q. */
static void bind_row(sqlite_store_t *st, sqlite3_stmt *q, int base, uint32_t k)
{
    const queued_row_t *r = &st->queue[k];
    sqlite3_bind_int64(q, base + 1, r->seq);
    sqlite3_bind_int64(q, base + 2, r->ts_ns);
    sqlite3_bind_int64(q, base + 3, r->kind);
    sqlite3_bind_blob(q, base + 4, r->prev_hash, ND_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(q, base + 5, r->hash, ND_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(q, base + 6, st->queue_enc + r->off, (int)r->len, SQLITE_STATIC);
}

/* Hands the queued rows to SQLite: a full queue in one statement, a shorter one row by row.
 * The queue is empty afterwards, written or not (a failure fails or drops the batch). */
static nd_err_t write_queued(sqlite_store_t *st, char *err, size_t err_len)
{
    uint32_t count = st->queued;
    if (count == 0)
        return ND_OK;
    st->queued = 0;
    st->queue_enc_len = 0;
    int step = SQLITE_DONE;
    if (count == INSERT_ROWS) {
        for (uint32_t k = 0; k < count; k++)
            bind_row(st, st->insert_many, 6 * (int)k, k);
        step = sqlite3_step(st->insert_many);
        sqlite3_reset(st->insert_many);
    }
    for (uint32_t k = 0; count < INSERT_ROWS && k < count && step == SQLITE_DONE; k++) {
        bind_row(st, st->insert, 0, k);
        step = sqlite3_step(st->insert);
        sqlite3_reset(st->insert);
    }
    if (step == SQLITE_DONE)
        return ND_OK;
    char what[80];
    snprintf(what, sizeof what, "writing records %lld to %lld", (long long)st->queue[0].seq,
             (long long)st->queue[count - 1].seq);
    return db_error(st, what, err, err_len);
}

/* Queues the row (its encoding copied: the caller reuses its buffer); a full queue is
 * written. */
static nd_err_t sqlite_append(void *b, const nd__row_t *r, char *err, size_t err_len)
{
    sqlite_store_t *st = b;
    nd_err_t rc = begin_batch(st, err, err_len);
    if (rc != ND_OK)
        return rc;
    ND_ASSERT(r->enc_len <= INT32_MAX);
    uint8_t *grown = nd_array_grow(st->queue_enc, &st->queue_enc_cap,
                                   st->queue_enc_len + r->enc_len, 1, 16384);
    if (!grown) {
        snprintf(err, err_len, "sqlite %s: out of memory queueing record %lld", st->path,
                 (long long)r->seq);
        return ND_ENOMEM;
    }
    st->queue_enc = grown;
    queued_row_t *q = &st->queue[st->queued++];
    *q = (queued_row_t){r->seq, r->ts_ns, r->kind, {0}, {0}, st->queue_enc_len, r->enc_len};
    memcpy(q->prev_hash, r->prev_hash, ND_HASH_SIZE);
    memcpy(q->hash, r->hash, ND_HASH_SIZE);
    memcpy(st->queue_enc + st->queue_enc_len, r->enc, r->enc_len);
    st->queue_enc_len += r->enc_len;
    return st->queued == INSERT_ROWS ? write_queued(st, err, err_len) : ND_OK;
}

static nd_err_t sqlite_remove(void *b, int64_t from, int64_t to, char *err, size_t err_len)
{
    sqlite_store_t *st = b;
    nd_err_t rc = begin_batch(st, err, err_len);
    if (rc == ND_OK)
        rc = write_queued(st, err, err_len);
    if (rc != ND_OK)
        return rc;
    sqlite3_bind_int64(st->remove, 1, from);
    sqlite3_bind_int64(st->remove, 2, to);
    int step = sqlite3_step(st->remove);
    sqlite3_reset(st->remove);
    return step == SQLITE_DONE ? ND_OK : db_error(st, "pruning records", err, err_len);
}

static nd_err_t sqlite_commit(void *b, char *err, size_t err_len)
{
    sqlite_store_t *st = b;
    if (!st->in_tx)
        return ND_OK;
    nd_err_t rc = write_queued(st, err, err_len);
    if (rc != ND_OK)
        return rc;
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(st, "committing a batch", err, err_len);
    st->in_tx = false;
    return ND_OK;
}

static void sqlite_rollback(void *b)
{
    sqlite_store_t *st = b;
    st->queued = 0;
    st->queue_enc_len = 0;
    if (st->in_tx)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = false;
}

/* The row's columns as stored: blobs read as blobs (no text conversion). */
static void read_row(sqlite3_stmt *q, nd__row_t *r)
{
    r->seq = sqlite3_column_int64(q, 0);
    r->ts_ns = sqlite3_column_int64(q, 1);
    r->kind = sqlite3_column_int64(q, 2);
    copy_hash(q, 3, r->prev_hash);
    copy_hash(q, 4, r->hash);
    r->enc = sqlite3_column_blob(q, 5);
    int n = sqlite3_column_bytes(q, 5);
    r->enc_len = r->enc && n > 0 ? (size_t)n : 0;
}

static nd_err_t sqlite_scan(void *b, const nd_record_filter_t *f, void *ctx, nd__row_cb row_cb,
                            char *err, size_t err_len)
{
    sqlite_store_t *st = b;
    nd_err_t rc = write_queued(st, err, err_len);
    if (rc != ND_OK)
        return rc;
    char sql[1024];
    nd__store_select_sql(f, sql, sizeof sql);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return db_error(st, "reading records", err, err_len);
    int step;
    nd__row_t row;
    while (rc == ND_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        read_row(q, &row);
        rc = row_cb(ctx, &row);
    }
    if (rc == ND_OK && step != SQLITE_DONE)
        rc = db_error(st, "reading records", err, err_len);
    sqlite3_finalize(q);
    return rc;
}

static nd_err_t sqlite_head_get(void *b, nd__head_t *out, char *err, size_t err_len)
{
    sqlite_store_t *st = b;
    memset(out, 0, sizeof *out);
    out->migrated = st->head_migrated;
    sqlite3_stmt *q = NULL;
    /* A dropped audit_head table is a missing head, not an I/O error. */
    if (sqlite3_prepare_v2(st->db, "SELECT seq, hash, mac FROM audit_head WHERE id = 1", -1, &q,
                           NULL) != SQLITE_OK)
        return ND_OK;
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        out->present = true;
        out->seq = sqlite3_column_int64(q, 0);
        copy_hash(q, 1, out->hash);
        out->has_mac = sqlite3_column_bytes(q, 2) == ND_HASH_SIZE;
        if (out->has_mac)
            copy_hash(q, 2, out->mac);
    }
    sqlite3_finalize(q);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_error(st, "reading the head", err, err_len);
    return ND_OK;
}

static nd_err_t sqlite_head_set(void *b, const nd__head_t *head, char *err, size_t err_len)
{
    sqlite_store_t *st = b;
    /* Every commit that writes the head file stages the head first: the new file's own fsync
     * must be done before that commit's directory fsync makes its name durable. */
    nd_err_t rc = join_created(st, err, err_len);
    if (rc == ND_OK)
        rc = begin_batch(st, err, err_len);
    if (rc == ND_OK)
        rc = write_queued(st, err, err_len);
    if (rc != ND_OK)
        return rc;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO audit_head (id, seq, hash, mac) "
                           "VALUES (1, ?, ?, ?)", -1, &q, NULL) != SQLITE_OK)
        return db_error(st, "writing the head", err, err_len);
    sqlite3_bind_int64(q, 1, head->seq);
    sqlite3_bind_blob(q, 2, head->hash, ND_HASH_SIZE, SQLITE_STATIC);
    sqlite3_bind_blob(q, 3, head->mac, head->has_mac ? ND_HASH_SIZE : 0, SQLITE_STATIC);
    int step = sqlite3_step(q);
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? ND_OK : db_error(st, "writing the head", err, err_len);
}

static const char *sqlite_head_file(void *b)
{
    sqlite_store_t *st = b;
    return st->head_path;
}

const nd__store_vtable_t nd__store_sqlite = {
    "sqlite", sqlite_open, sqlite_tail, sqlite_append, sqlite_remove,
    sqlite_commit, sqlite_rollback, sqlite_scan, sqlite_close,
    sqlite_head_get, sqlite_head_set, sqlite_head_file,
};
