/* store_int.h: what the compliance store's generic layer shares with its backends.
 *
 * A backend only keeps rows: it never numbers or hashes them. The generic layer (store.c)
 * assigns seq, links and hashes every record, and hands the backend a row (the canonical
 * encoding, seq, ts_ns, kind and the two hashes) inside a batch that commit makes durable. Rows
 * come back from scan in increasing seq order, undecoded; store.c decodes them for
 * nd_store_scan and the verifier hashes them as stored. Only store_pg.c includes libpq-fe.h, only store_sqlite.c
 * includes sqlite3.h. */
#ifndef NODERR_STORE_INT_H
#define NODERR_STORE_INT_H

#include "noderr/store.h"

#include <openssl/evp.h>

/* One stored row as a backend keeps it: the record's canonical encoding (the only copy of its
 * content) and the columns kept beside it, seq, ts_ns and kind for filtering and the two
 * hashes. Hashes read back are zero-padded or cut to 32 bytes; enc points into the backend's
 * buffer and is valid only during the callback. */
typedef struct nd__row {
    int64_t seq;
    int64_t ts_ns;
    int64_t kind;
    uint8_t prev_hash[ND_HASH_SIZE];
    uint8_t hash[ND_HASH_SIZE];
    const uint8_t *enc;
    size_t enc_len;
} nd__row_t;

typedef nd_err_t (*nd__row_cb)(void *ctx, const nd__row_t *row);

/* The store's own record of where the chain ends, written by the generic layer in the same
 * transaction as every batch (a separate table in the SQL backends), so that deleting the
 * last records, or all of them, leaves a head that the chain no longer reaches. mac is
 * HMAC-SHA256 of the head under the operator's key (all zero and has_mac false without a
 * key). */
typedef struct nd__head {
    bool present;               /* head_get: false when the head row is missing */
    bool migrated;              /* head_get: the head was created by this open's migration */
    bool has_mac;
    int64_t seq;
    uint8_t hash[ND_HASH_SIZE];
    uint8_t mac[ND_HASH_SIZE];
} nd__head_t;

typedef struct nd__store_vtable {
    const char *name;
    /* Opens target (the URL without its scheme) and runs the migrations. */
    nd_err_t (*open)(const char *target, unsigned flags, void **out, char *err, size_t err_len);
    /* The last stored row's seq and hash; 0 and zeros when empty. */
    nd_err_t (*tail)(void *b, int64_t *seq, uint8_t hash[ND_HASH_SIZE], char *err, size_t err_len);
    /* Adds a row to the open batch (starting one when needed). */
    nd_err_t (*append)(void *b, const nd__row_t *row, char *err, size_t err_len);
    /* Deletes rows seq_from..seq_to inside the open batch. */
    nd_err_t (*remove)(void *b, int64_t seq_from, int64_t seq_to, char *err, size_t err_len);
    /* Commits the open batch (a no-op without one). */
    nd_err_t (*commit)(void *b, char *err, size_t err_len);
    /* Drops the open batch. */
    void (*rollback)(void *b);
    /* Streams the rows matching filter (on the seq, ts_ns and kind columns) in seq order. */
    nd_err_t (*scan)(void *b, const nd_record_filter_t *filter, void *ctx, nd__row_cb row_cb,
                     char *err, size_t err_len);
    void (*close)(void *b);
    /* The stored head (out->present false when its row is missing). */
    nd_err_t (*head_get)(void *b, nd__head_t *out, char *err, size_t err_len);
    /* Writes the head inside the open batch (starting one when needed); commit makes it
     * durable together with the batch's rows. */
    nd_err_t (*head_set)(void *b, const nd__head_t *head, char *err, size_t err_len);
    /* The head file kept outside the database (SQLite: "PATH.head"), or NULL for none. */
    const char *(*head_file)(void *b);
} nd__store_vtable_t;

extern const nd__store_vtable_t nd__store_sqlite;
extern const nd__store_vtable_t nd__store_pg;
extern const nd__store_vtable_t nd__store_mem;

/* The columns both SQL backends store, in this order (also the SQL column order). */
#define ND__STORE_COLUMNS "seq, ts_ns, kind, prev_hash, hash, encoding"
#define ND__STORE_COLUMN_COUNT 6

/* The schema version this program writes; backends refuse a newer database, and an older one
 * (versions 1 and 2 kept a column per field) unless it holds no records. */
#define ND__STORE_SCHEMA_VERSION 4

/* Why an older database holding records is refused (backends prefix their name and path). */
#define ND__STORE_OLD_SCHEMA_TEXT                                                                  \
    "schema version %d keeps one column per field, this program (schema 3) keeps each "          \
    "record's canonical encoding, and it does not convert a database that holds records: "       \
    "verify and keep it with the noderr that wrote it, or record into a new database "           \
    "(docs/compliance-store.md)"

/* A reusable SHA-256 context and encoding buffer (the hot path of append and verify). */
typedef struct nd__hasher {
    EVP_MD_CTX *ctx;
    EVP_MD *md;
    uint8_t *buf;
    size_t cap;
} nd__hasher_t;

nd_err_t nd__hasher_init(nd__hasher_t *h);
void nd__hasher_deinit(nd__hasher_t *h);
/* SHA-256(rec->prev_hash || encode(rec)) into out. ND_ENOMEM or ND_EIO (OpenSSL). */
nd_err_t nd__hasher_hash(nd__hasher_t *h, const nd_record_t *rec, uint8_t out[ND_HASH_SIZE]);
/* Encodes rec into h->buf (grown as needed); returns the size, or 0 when out of memory. */
size_t nd__hasher_encode(nd__hasher_t *h, const nd_record_t *rec);
/* SHA-256(prev || enc[0..len)) into out. ND_EIO when OpenSSL fails. */
nd_err_t nd__hasher_digest(nd__hasher_t *h, const uint8_t prev[ND_HASH_SIZE], const uint8_t *enc,
                           size_t len, uint8_t out[ND_HASH_SIZE]);

/* Reads the header of a version-1 encoding (seq, ts_ns, kind); false when enc is shorter than
 * the header or not version 1. */
bool nd__record_header(const uint8_t *enc, size_t len, int64_t *seq, int64_t *ts_ns,
                       int64_t *kind);

/* True when a row with these columns passes filter (for backends that filter in C). */
bool nd__store_filter_match(const nd_record_filter_t *filter, int64_t seq, int64_t ts_ns,
                            int64_t kind);

/* The SQL SELECT of a scan (both SQL backends): the columns above, filtered, ORDER BY seq. */
void nd__store_select_sql(const nd_record_filter_t *filter, char *sql, size_t cap);

/* fsync of the directory holding path (a create or rename there made durable); false when it
 * failed (errno says why). */
bool nd__store_sync_dir_of(const char *path);

/* Tests: every backend write (append, head file, commit) fails with probability pct percent,
 * from a seeded generator (0: never). */
void nd__store_set_faults(nd_store_t *s, uint32_t pct, uint64_t seed);

/* Retention's hooks: delete a range inside the current batch (a failure fails the store), and
 * drop the pending batch without failing the store (a dry run never writes). */
nd_err_t nd__store_remove(nd_store_t *s, int64_t seq_from, int64_t seq_to, char *err,
                          size_t err_len);
void nd__store_rollback(nd_store_t *s);

/* The head as the store keeps it: the table's (or the memory backend's) and the head file's.
 * file_state: 0 no head file for this backend, 1 read, -1 missing, -2 unreadable or
 * malformed (why in file_why). next/next_state: PATH.head.next, the head a commit wrote
 * before committing (same states; it matters only when the writer died between the commit
 * and the rename, when it names the chain's end and PATH.head is behind). Errors: ND_EIO
 * reading the database. */
typedef struct nd__store_heads {
    nd__head_t table;
    nd__head_t file;
    nd__head_t next;
    int file_state;
    int next_state;
    char file_path[1040];
    char file_why[160];
} nd__store_heads_t;

nd_err_t nd__store_heads(nd_store_t *s, nd__store_heads_t *out /* OUT */, char *err,
                         size_t err_len);

/* The operator's HMAC key: NODERR_AUDIT_KEY (the variable's bytes) or the file named by
 * NODERR_AUDIT_KEY_FILE (mode 0600 or stricter, at most 4096 bytes). key_len 0: no key.
 * ND_EINVAL naming the problem when the file is unreadable, empty or open to others. */
nd_err_t nd__audit_key(uint8_t *key, size_t cap, size_t *key_len /* OUT */, char *err,
                       size_t err_len);

/* Parses 64 lowercase hex digits (and nothing after them) into a hash; false when text is not
 * exactly that. */
bool nd__hash_parse_hex(const char *text, uint8_t out[ND_HASH_SIZE]);

/* HMAC-SHA256(key, "noderr-audit-head-v1" || seq (8 bytes, big-endian) || hash). */
nd_err_t nd__head_mac(const uint8_t *key, size_t key_len, int64_t seq,
                      const uint8_t hash[ND_HASH_SIZE], uint8_t out[ND_HASH_SIZE]);

/* Flushes pending records, then streams the stored rows matching filter undecoded (the
 * verifier: it hashes the stored encoding as it is). Errors as nd_store_scan. */
nd_err_t nd__store_scan_rows(nd_store_t *s, const nd_record_filter_t *filter, void *ctx,
                             nd__row_cb row_cb, char *err, size_t err_len);

#endif
