/* store_int.h: what the compliance store's generic layer shares with its backends.
 *
 * A backend only keeps rows: it never numbers or hashes them. The generic layer (store.c)
 * assigns seq, links and hashes every record, and hands the complete row to the backend's
 * append inside a batch that commit makes durable. Rows come back from scan in increasing seq
 * order with every string non-NULL. Only store_pg.c includes libpq-fe.h, only store_sqlite.c
 * includes sqlite3.h. */
#ifndef NODERR_STORE_INT_H
#define NODERR_STORE_INT_H

#include "noderr/store.h"

#include <openssl/evp.h>

typedef struct nd__store_vtable {
    const char *name;
    /* Opens target (the URL without its scheme) and runs the migrations. */
    nd_err_t (*open)(const char *target, unsigned flags, void **out, char *err, size_t err_len);
    /* The last stored row's seq and hash; 0 and zeros when empty. */
    nd_err_t (*tail)(void *b, int64_t *seq, uint8_t hash[ND_HASH_SIZE], char *err, size_t err_len);
    /* Adds a row to the open batch (starting one when needed). */
    nd_err_t (*append)(void *b, const nd_record_t *rec, char *err, size_t err_len);
    /* Deletes rows seq_from..seq_to inside the open batch. */
    nd_err_t (*remove)(void *b, int64_t seq_from, int64_t seq_to, char *err, size_t err_len);
    /* Commits the open batch (a no-op without one). */
    nd_err_t (*commit)(void *b, char *err, size_t err_len);
    /* Drops the open batch. */
    void (*rollback)(void *b);
    nd_err_t (*scan)(void *b, const nd_record_filter_t *filter, void *ctx, nd_record_cb record_cb,
                     char *err, size_t err_len);
    void (*close)(void *b);
} nd__store_vtable_t;

extern const nd__store_vtable_t nd__store_sqlite;
extern const nd__store_vtable_t nd__store_pg;
extern const nd__store_vtable_t nd__store_mem;

/* The columns every backend stores, in this order (also the SQL column order). */
#define ND__STORE_COLUMNS                                                                          \
    "seq, ts_ns, kind, side, event, account, strategy, venue, instrument, jurisdiction, "          \
    "client_order_id, venue_order_id, px, qty, px_scale, qty_scale, notional, fee, from_ns, "      \
    "to_ns, reason, detail, prev_hash, hash"
#define ND__STORE_COLUMN_COUNT 24

/* The schema version this program writes; backends refuse a newer database. */
#define ND__STORE_SCHEMA_VERSION 1

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

/* True when rec passes filter (for backends that filter in C). */
bool nd__store_filter_match(const nd_record_filter_t *filter, const nd_record_t *rec);

/* The SQL SELECT of a scan (both SQL backends): the columns above, filtered, ORDER BY seq. */
void nd__store_select_sql(const nd_record_filter_t *filter, char *sql, size_t cap);

/* Retention's hooks: delete a range inside the current batch (a failure fails the store), and
 * drop the pending batch without failing the store (a dry run never writes). */
nd_err_t nd__store_remove(nd_store_t *s, int64_t seq_from, int64_t seq_to, char *err,
                          size_t err_len);
void nd__store_rollback(nd_store_t *s);

#endif
