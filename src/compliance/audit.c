/* audit.c: the audit chain: the canonical encoding of a record, its SHA-256 link, and the
 * verifier that walks a store and names the first record altered, deleted, inserted or
 * reordered.
 *
 * Encoding (version 1), all integers big-endian:
 *   u8 version = 1;
 *   i64 seq, ts_ns, kind, side, px, qty, px_scale, qty_scale, notional, fee, from_ns, to_ns;
 *   then for event, account, strategy, venue, instrument, jurisdiction, client_order_id,
 *   venue_order_id, reason, detail: u32 byte length, the bytes (no terminator).
 * hash = SHA-256(prev_hash (32 bytes) || encoding); the first record's prev_hash is 32 zeros.
 * seq sits at bytes 1..8, which the verifier patches to test where a moved record came from.
 * The store keeps this encoding as the record (schema 3): the verifier hashes the stored bytes
 * as they are, after checking that the seq, ts_ns and kind columns say what the header says,
 * and decodes only prune records (for their ranges). */
/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but for the ~220-byte
 * inputs of the chain they cost 0.30 us a record against 0.42 us through a reused EVP_MD_CTX
 * (measured): that difference is a quarter of audit verify's CPU time. EVP is the fallback
 * when the deprecated API is compiled out. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "store_int.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/text.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENCODING_VERSION 1
#define SEQ_OFFSET 1
#define HEADER_SIZE (1 + 3 * 8) /* version, seq, ts_ns, kind */
/* How far a renumbered record is searched for (records deleted or moved at once). */
#define RESEQ_WINDOW 64

static uint8_t *put_i64(uint8_t *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int k = 7; k >= 0; k--) {
        p[k] = (uint8_t)(u & 0xffu);
        u >>= 8;
    }
    return p + 8;
}

static uint8_t *put_str(uint8_t *p, const char *text, size_t len)
{
    uint32_t n = (uint32_t)len;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    if (len > 0)
        memcpy(p + 4, text, len);
    return p + 4 + len;
}

size_t nd_record_encode(const nd_record_t *rec, uint8_t *buf, size_t cap)
{
    ND_ASSERT(rec != NULL);
    const char *strings[10] = {rec->event, rec->account, rec->strategy, rec->venue,
                               rec->instrument, rec->jurisdiction, rec->client_order_id,
                               rec->venue_order_id, rec->reason, rec->detail};
    size_t lens[10];
    size_t size = 1 + 12 * 8;
    for (int k = 0; k < 10; k++) {
        lens[k] = strings[k] ? strlen(strings[k]) : 0;
        ND_ASSERT(lens[k] <= UINT32_MAX);
        size += 4 + lens[k];
    }
    if (!buf || cap < size)
        return size;
    uint8_t *p = buf;
    *p++ = ENCODING_VERSION;
    const int64_t ints[12] = {rec->seq, rec->ts_ns, (int64_t)rec->kind, rec->side, rec->px,
                              rec->qty, rec->px_scale, rec->qty_scale, rec->notional, rec->fee,
                              rec->from_ns, rec->to_ns};
    for (int k = 0; k < 12; k++)
        p = put_i64(p, ints[k]);
    for (int k = 0; k < 10; k++)
        p = put_str(p, strings[k], lens[k]);
    ND_ASSERT((size_t)(p - buf) == size);
    return size;
}

/* With the deprecated API the EVP objects are not needed, and not fetched: EVP_MD_fetch
 * initialises OpenSSL (its configuration file, the default provider), ~5 M instructions and
 * 1-2 ms, a tenth of what `backtest --db` added to a 35k-bar run (bench/RESULTS.md). */
nd_err_t nd__hasher_init(nd__hasher_t *h)
{
    memset(h, 0, sizeof *h);
#ifdef OPENSSL_NO_DEPRECATED_3_0
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    bool evp_ok = h->md && h->ctx;
#else
    bool evp_ok = true;
#endif
    h->cap = 1024;
    h->buf = nd_alloc(h->cap);
    if (!evp_ok || !h->buf) {
        nd__hasher_deinit(h);
        return ND_ENOMEM;
    }
    return ND_OK;
}

void nd__hasher_deinit(nd__hasher_t *h)
{
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    nd_free(h->buf);
    memset(h, 0, sizeof *h);
}

nd_err_t nd__hasher_digest(nd__hasher_t *h, const uint8_t prev[ND_HASH_SIZE], const uint8_t *enc,
                           size_t len, uint8_t out[ND_HASH_SIZE])
{
#ifndef OPENSSL_NO_DEPRECATED_3_0
    (void)h;
    SHA256_CTX c;
    if (SHA256_Init(&c) != 1 || SHA256_Update(&c, prev, ND_HASH_SIZE) != 1 ||
        SHA256_Update(&c, enc, len) != 1 || SHA256_Final(out, &c) != 1)
        return ND_EIO;
    return ND_OK;
#else
    unsigned int n = 0;
    if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
        EVP_DigestUpdate(h->ctx, prev, ND_HASH_SIZE) != 1 ||
        EVP_DigestUpdate(h->ctx, enc, len) != 1 || EVP_DigestFinal_ex(h->ctx, out, &n) != 1)
        return ND_EIO;
    ND_ASSERT(n == ND_HASH_SIZE);
    return ND_OK;
#endif
}

size_t nd__hasher_encode(nd__hasher_t *h, const nd_record_t *rec)
{
    size_t need = nd_record_encode(rec, h->buf, h->cap);
    if (need > h->cap) {
        size_t cap = need * 2;
        uint8_t *grown = nd_realloc(h->buf, cap);
        if (!grown)
            return 0;
        h->buf = grown;
        h->cap = cap;
        nd_record_encode(rec, h->buf, h->cap);
    }
    return need;
}

nd_err_t nd__hasher_hash(nd__hasher_t *h, const nd_record_t *rec, uint8_t out[ND_HASH_SIZE])
{
    ND_ASSERT(h->buf != NULL);
    size_t len = nd__hasher_encode(h, rec);
    if (len == 0)
        return ND_ENOMEM;
    return nd__hasher_digest(h, rec->prev_hash, h->buf, len, out);
}

nd_err_t nd_record_hash(const nd_record_t *rec, uint8_t out[ND_HASH_SIZE])
{
    nd__hasher_t h;
    nd_err_t rc = nd__hasher_init(&h);
    if (rc == ND_OK)
        rc = nd__hasher_hash(&h, rec, out);
    nd__hasher_deinit(&h);
    return rc;
}

void nd_hash_hex(const uint8_t hash[ND_HASH_SIZE], char buf[2 * ND_HASH_SIZE + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (int k = 0; k < ND_HASH_SIZE; k++) {
        buf[2 * k] = digits[hash[k] >> 4];
        buf[2 * k + 1] = digits[hash[k] & 15];
    }
    buf[2 * ND_HASH_SIZE] = '\0';
}

/* One lowercase hex digit (hashes are written so), else -1. */
static int lower_hex_digit(char c)
{
    return c >= 'A' && c <= 'F' ? -1 : nd_hex_digit(c);
}

bool nd__hash_parse_hex(const char *text, uint8_t out[ND_HASH_SIZE])
{
    if (!text || strlen(text) != 2 * ND_HASH_SIZE)
        return false;
    for (int k = 0; k < ND_HASH_SIZE; k++) {
        int hi = lower_hex_digit(text[2 * k]), lo = lower_hex_digit(text[2 * k + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[k] = (uint8_t)(hi * 16 + lo);
    }
    return true;
}

const char *nd_audit_problem_name(nd_audit_problem_t problem)
{
    switch (problem) {
    case ND_AUDIT_OK: return "ok";
    case ND_AUDIT_ALTERED: return "altered";
    case ND_AUDIT_DELETED: return "deleted";
    case ND_AUDIT_INSERTED: return "inserted";
    case ND_AUDIT_REORDERED: return "reordered";
    case ND_AUDIT_HEAD: return "head";
    }
    return "unknown";
}

/* ---- the walk --------------------------------------------------------------------------- */

typedef struct prune_range {
    int64_t from;
    int64_t to;
    int64_t by_seq; /* the prune record that lists it */
    uint8_t last_hash[ND_HASH_SIZE];
} prune_range_t;

typedef struct walk {
    nd__hasher_t hasher;
    prune_range_t *ranges;
    size_t range_count;
    size_t range_cap;
    size_t range_next;
    int64_t expected;
    uint8_t prev[ND_HASH_SIZE];
    nd_audit_result_t *out;
    /* the failing record, kept for the classification pass */
    bool link_failed;
    uint8_t bad_prev[ND_HASH_SIZE];
    uint8_t bad_hash[ND_HASH_SIZE];
    uint8_t *bad_enc;
    size_t bad_len;
    int64_t found_seq; /* classification: seq whose stored hash is bad_prev, 0 = none */
} walk_t;

static nd_err_t add_range(walk_t *w, int64_t from, int64_t to, const char *hex, int64_t by_seq)
{
    prune_range_t *grown =
        nd_array_grow(w->ranges, &w->range_cap, w->range_count + 1, sizeof *grown, 64);
    if (!grown)
        return ND_ENOMEM;
    w->ranges = grown;
    prune_range_t *r = &w->ranges[w->range_count];
    /* A malformed range, or one listed before its records, is ignored: the gap it claims to
     * cover is then reported as a deletion. */
    if (from < 1 || to < from || to >= by_seq || !nd__hash_parse_hex(hex, r->last_hash))
        return ND_OK;
    r->from = from;
    r->to = to;
    r->by_seq = by_seq;
    w->range_count++;
    return ND_OK;
}

/* Reads the ranges of one prune record. A record that does not decode lists nothing: the walk
 * then reports it as altered, or the gap it claimed to cover as deleted. */
static nd_err_t collect_ranges(void *ctx, const nd__row_t *row)
{
    walk_t *w = ctx;
    w->out->prune_records++;
    char *text = nd_alloc(row->enc_len + 1);
    if (!text)
        return ND_ENOMEM;
    nd_record_t rec;
    memset(&rec, 0, sizeof rec);
    char why[160];
    json_t *doc = NULL;
    if (nd_record_decode(row->enc, row->enc_len, &rec, text, row->enc_len + 1, why,
                         sizeof why) == ND_OK && rec.kind == ND_RECORD_PRUNE &&
        rec.seq == row->seq) {
        json_error_t jerr;
        doc = json_loads(rec.detail, 0, &jerr);
    }
    json_t *ranges = doc ? json_object_get(doc, "ranges") : NULL;
    size_t k;
    json_t *item;
    nd_err_t rc = ND_OK;
    json_array_foreach(ranges, k, item) {
        json_t *a = json_array_get(item, 0), *b = json_array_get(item, 1);
        json_t *h = json_array_get(item, 2);
        if (rc == ND_OK && json_is_integer(a) && json_is_integer(b) && json_is_string(h))
            rc = add_range(w, json_integer_value(a), json_integer_value(b), json_string_value(h),
                           row->seq);
    }
    json_decref(doc);
    nd_free(text);
    return rc;
}

static int compare_ranges(const void *a, const void *b)
{
    const prune_range_t *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* Steps over prune ranges starting exactly at the expected seq. */
static void skip_pruned(walk_t *w, int64_t seq)
{
    while (w->expected < seq) {
        while (w->range_next < w->range_count && w->ranges[w->range_next].from < w->expected)
            w->range_next++;
        if (w->range_next == w->range_count || w->ranges[w->range_next].from != w->expected)
            return;
        const prune_range_t *r = &w->ranges[w->range_next++];
        w->out->pruned += r->to - r->from + 1;
        w->expected = r->to + 1;
        memcpy(w->prev, r->last_hash, ND_HASH_SIZE);
    }
}

static nd_err_t stop_at(walk_t *w, nd_audit_problem_t problem, int64_t seq, const char *detail)
{
    w->out->problem = problem;
    w->out->seq = seq;
    snprintf(w->out->detail, sizeof w->out->detail, "%s", detail);
    return ND_EDECLINED;
}

/* Keeps the failing row for classify(): its encoding with the seq, ts_ns and kind columns
 * written over the header, so that a record edited through its columns hashes (and is searched
 * for under other seqs) exactly as the content the columns claim. */
static nd_err_t keep_failing(walk_t *w, const nd__row_t *row, bool link_failed)
{
    w->link_failed = link_failed;
    w->out->seq = row->seq;
    memcpy(w->bad_prev, row->prev_hash, ND_HASH_SIZE);
    memcpy(w->bad_hash, row->hash, ND_HASH_SIZE);
    w->bad_enc = nd_alloc(row->enc_len > 0 ? row->enc_len : 1);
    if (!w->bad_enc)
        return ND_ENOMEM;
    if (row->enc_len > 0)
        memcpy(w->bad_enc, row->enc, row->enc_len);
    w->bad_len = row->enc_len;
    if (w->bad_len >= HEADER_SIZE && w->bad_enc[0] == ENCODING_VERSION) {
        put_i64(w->bad_enc + SEQ_OFFSET, row->seq);
        put_i64(w->bad_enc + SEQ_OFFSET + 8, row->ts_ns);
        put_i64(w->bad_enc + SEQ_OFFSET + 16, row->kind);
    }
    w->out->problem = ND_AUDIT_ALTERED; /* refined by classify() */
    return ND_EDECLINED;
}

/* True when the row's seq, ts_ns and kind columns say what its encoding's header says. */
static bool columns_match(const nd__row_t *row)
{
    int64_t seq, ts_ns, kind;
    return nd__record_header(row->enc, row->enc_len, &seq, &ts_ns, &kind) && seq == row->seq &&
           ts_ns == row->ts_ns && kind == row->kind;
}

static nd_err_t walk_record(void *ctx, const nd__row_t *row)
{
    walk_t *w = ctx;
    char text[160];
    if (row->seq > w->expected)
        skip_pruned(w, row->seq);
    if (row->seq > w->expected) {
        snprintf(text, sizeof text, "seq %lld..%lld missing and no prune record covers it",
                 (long long)w->expected, (long long)row->seq - 1);
        return stop_at(w, ND_AUDIT_DELETED, w->expected, text);
    }
    if (row->seq < w->expected) {
        snprintf(text, sizeof text, "seq %lld appears again after seq %lld",
                 (long long)row->seq, (long long)w->expected - 1);
        return stop_at(w, ND_AUDIT_INSERTED, row->seq, text);
    }
    if (memcmp(row->prev_hash, w->prev, ND_HASH_SIZE) != 0)
        return keep_failing(w, row, true);
    /* The columns must agree with the hashed header, then the stored bytes are hashed as
     * they are: a record whose hash matches is exactly what was appended. */
    if (!columns_match(row))
        return keep_failing(w, row, false);
    uint8_t hash[ND_HASH_SIZE];
    if (nd__hasher_digest(&w->hasher, w->prev, row->enc, row->enc_len, hash) != ND_OK)
        return ND_EIO;
    if (memcmp(hash, row->hash, ND_HASH_SIZE) != 0)
        return keep_failing(w, row, false);
    memcpy(w->prev, row->hash, ND_HASH_SIZE);
    memcpy(w->out->head, row->hash, ND_HASH_SIZE);
    w->out->last_seq = row->seq;
    w->out->verified++;
    w->expected++;
    return ND_OK;
}

static nd_err_t find_prev(void *ctx, const nd__row_t *row)
{
    walk_t *w = ctx;
    if (memcmp(row->hash, w->bad_prev, ND_HASH_SIZE) == 0) {
        w->found_seq = row->seq;
        return ND_EDECLINED;
    }
    return ND_OK;
}

/* The seq the failing record hashes correctly under, or 0: where it was first appended. */
static int64_t original_seq(walk_t *w, int64_t seq)
{
    if (w->bad_len < HEADER_SIZE)
        return 0;
    for (int64_t d = 1; d <= RESEQ_WINDOW; d++) {
        for (int sign = 1; sign >= -1; sign -= 2) {
            int64_t cand = seq + sign * d;
            if (cand < 1)
                continue;
            put_i64(w->bad_enc + SEQ_OFFSET, cand);
            uint8_t hash[ND_HASH_SIZE];
            if (nd__hasher_digest(&w->hasher, w->bad_prev, w->bad_enc, w->bad_len, hash) == ND_OK &&
                memcmp(hash, w->bad_hash, ND_HASH_SIZE) == 0)
                return cand;
        }
    }
    return 0;
}

static void classify_link(walk_t *w, int64_t seq, int64_t p)
{
    char text[200];
    /* The record just verified (seq - 1) has exactly this record's hash: a duplicated row. */
    if (p == seq - 2 && memcmp(w->prev, w->bad_hash, ND_HASH_SIZE) == 0) {
        snprintf(text, sizeof text, "seq %lld is a copy of seq %lld (it links and hashes as "
                 "that record)", (long long)seq, (long long)p + 1);
        stop_at(w, ND_AUDIT_INSERTED, seq, text);
        return;
    }
    if (p > 0 && p < seq - 1) {
        snprintf(text, sizeof text, "seq %lld links back to seq %lld: seq %lld..%lld were never "
                 "appended to the chain", (long long)seq, (long long)p, (long long)p + 1,
                 (long long)seq - 1);
        stop_at(w, ND_AUDIT_INSERTED, p + 1, text);
        return;
    }
    if (p >= seq) {
        snprintf(text, sizeof text, "seq %lld links to seq %lld, which is stored after it",
                 (long long)seq, (long long)p);
        stop_at(w, ND_AUDIT_REORDERED, seq, text);
        return;
    }
    int64_t orig = original_seq(w, seq);
    if (orig > seq) {
        snprintf(text, sizeof text, "the record stored as seq %lld was appended as seq %lld: "
                 "%lld record(s) before it were deleted and the rest renumbered",
                 (long long)seq, (long long)orig, (long long)(orig - seq));
        stop_at(w, ND_AUDIT_DELETED, seq, text);
    } else if (orig > 0) {
        snprintf(text, sizeof text, "the record stored as seq %lld was appended as seq %lld: "
                 "records were inserted before it", (long long)seq, (long long)orig);
        stop_at(w, ND_AUDIT_INSERTED, orig, text);
    } else {
        int64_t at = seq > 1 ? seq - 1 : seq;
        snprintf(text, sizeof text, "seq %lld no longer links to seq %lld: seq %lld was changed "
                 "and re-hashed", (long long)seq, (long long)at, (long long)at);
        stop_at(w, ND_AUDIT_ALTERED, at, text);
    }
}

static void classify(walk_t *w, nd_store_t *s)
{
    int64_t seq = w->out->seq;
    ND_ASSERT(w->bad_enc != NULL);
    w->found_seq = 0;
    char err[64];
    nd__store_scan_rows(s, NULL, w, find_prev, err, sizeof err);
    if (w->link_failed) {
        classify_link(w, seq, w->found_seq);
        return;
    }
    char text[200];
    int64_t orig = original_seq(w, seq);
    if (orig > 0) {
        snprintf(text, sizeof text, "the record stored as seq %lld was appended as seq %lld",
                 (long long)seq, (long long)orig);
        stop_at(w, ND_AUDIT_REORDERED, seq, text);
    } else {
        snprintf(text, sizeof text, "the content of seq %lld does not match its hash",
                 (long long)seq);
        stop_at(w, ND_AUDIT_ALTERED, seq, text);
    }
}

/* ---- the store's head -------------------------------------------------------------------- */

/* The key file must be private: a key others can read signs nothing. */
static nd_err_t read_key_file(const char *path, uint8_t *key, size_t cap, size_t *key_len,
                              char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat sb;
    const char *why = NULL;
    ssize_t n = 0;
    if (fd < 0)
        why = strerror(errno);
    else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        why = "not a regular file";
    else if ((sb.st_mode & 077) != 0)
        why = "readable or writable by group or others (chmod 600 it)";
    else if (sb.st_size < 1 || (size_t)sb.st_size > cap)
        why = "empty or larger than 4096 bytes";
    else if ((n = read(fd, key, cap)) != (ssize_t)sb.st_size)
        why = "cannot be read whole";
    if (fd >= 0)
        close(fd);
    if (why) {
        snprintf(err, err_len, "NODERR_AUDIT_KEY_FILE %s: %s", path, why);
        return ND_EINVAL;
    }
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--; /* a key written by echo keeps no line ending */
    if (n == 0) {
        snprintf(err, err_len, "NODERR_AUDIT_KEY_FILE %s: the key is empty", path);
        return ND_EINVAL;
    }
    *key_len = (size_t)n;
    return ND_OK;
}

nd_err_t nd__audit_key(uint8_t *key, size_t cap, size_t *key_len, char *err, size_t err_len)
{
    *key_len = 0;
    const char *text = getenv("NODERR_AUDIT_KEY");
    const char *path = getenv("NODERR_AUDIT_KEY_FILE");
    if (text && text[0]) {
        size_t len = strlen(text);
        if (len > cap) {
            snprintf(err, err_len, "NODERR_AUDIT_KEY is longer than %zu bytes", cap);
            return ND_EINVAL;
        }
        memcpy(key, text, len);
        *key_len = len;
        return ND_OK;
    }
    if (path && path[0])
        return read_key_file(path, key, cap, key_len, err, err_len);
    return ND_OK;
}

nd_err_t nd__head_mac(const uint8_t *key, size_t key_len, int64_t seq,
                      const uint8_t hash[ND_HASH_SIZE], uint8_t out[ND_HASH_SIZE])
{
    static const char label[] = "noderr-audit-head-v1";
    uint8_t msg[sizeof label - 1 + 8 + ND_HASH_SIZE];
    memcpy(msg, label, sizeof label - 1);
    put_i64(msg + sizeof label - 1, seq);
    memcpy(msg + sizeof label - 1 + 8, hash, ND_HASH_SIZE);
    unsigned int n = 0;
    ND_ASSERT(key_len > 0 && key_len <= INT32_MAX);
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, sizeof msg, out, &n) || n != ND_HASH_SIZE)
        return ND_EIO;
    return ND_OK;
}

typedef struct hash_at {
    int64_t seq;
    bool found;
    uint8_t hash[ND_HASH_SIZE];
} hash_at_t;

static nd_err_t first_row(void *ctx, const nd__row_t *row)
{
    hash_at_t *h = ctx;
    h->found = row->seq == h->seq;
    memcpy(h->hash, row->hash, ND_HASH_SIZE);
    return ND_EDECLINED;
}

static void head_fault(nd_audit_result_t *r, nd_audit_problem_t problem, int64_t seq,
                       const char *detail)
{
    r->problem = problem;
    r->seq = seq;
    /* A long head-file path can make the line longer than detail holds: it is shortened
     * there (the message only), explicitly rather than through a truncating snprintf. */
    size_t n = strlen(detail);
    if (n >= sizeof r->detail)
        n = sizeof r->detail - 1;
    memcpy(r->detail, detail, n);
    r->detail[n] = '\0';
}

/* Does a head (the table's or the file's, named by `where`) agree with the chain just walked?
 * Sets the problem and returns false when not. */
static bool head_matches(nd_store_t *s, const nd__head_t *h, const char *where,
                         const uint8_t *key, size_t key_len, nd_audit_result_t *r)
{
    char text[1400], hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(h->hash, hex);
    uint8_t mac[ND_HASH_SIZE];
    if (key_len > 0 && !h->has_mac) {
        snprintf(text, sizeof text, "the %s is not signed although a key is set: it was "
                 "written without the key, or replaced", where);
        head_fault(r, ND_AUDIT_HEAD, h->seq, text);
        return false;
    }
    if (key_len > 0 && (nd__head_mac(key, key_len, h->seq, h->hash, mac) != ND_OK ||
                        memcmp(mac, h->mac, ND_HASH_SIZE) != 0)) {
        snprintf(text, sizeof text, "the %s's signature does not match the key: it was "
                 "forged or edited (or the key is not the one it was written with)", where);
        head_fault(r, ND_AUDIT_HEAD, h->seq, text);
        return false;
    }
    if (h->seq > r->last_seq) {
        snprintf(text, sizeof text, "the %s names seq %lld (hash %.16s...) but the chain ends "
                 "at seq %lld: %s", where, (long long)h->seq, hex, (long long)r->last_seq,
                 r->last_seq == 0 ? "every record was deleted" : "records at the end were "
                 "deleted");
        head_fault(r, ND_AUDIT_DELETED, r->last_seq + 1, text);
        return false;
    }
    if (h->seq == r->last_seq && memcmp(h->hash, r->head, ND_HASH_SIZE) != 0) {
        snprintf(text, sizeof text, "the last record (seq %lld) is not the one the %s names "
                 "(hash %.16s...): it was replaced", (long long)h->seq, where, hex);
        head_fault(r, ND_AUDIT_ALTERED, h->seq, text);
        return false;
    }
    if (h->seq < r->last_seq) {
        hash_at_t at = {h->seq, false, {0}};
        nd_record_filter_t f = {.seq_from = h->seq};
        char err[64];
        if (h->seq > 0)
            nd__store_scan_rows(s, &f, &at, first_row, err, sizeof err);
        bool known = h->seq == 0 || (at.found && memcmp(at.hash, h->hash, ND_HASH_SIZE) == 0);
        snprintf(text, sizeof text, "the %s names seq %lld but the chain goes on to seq %lld: "
                 "%s", where, (long long)h->seq, (long long)r->last_seq,
                 known ? "the head was rolled back, or the records after it were added "
                         "behind the store's back"
                       : "the head names a record the chain does not hold");
        head_fault(r, ND_AUDIT_HEAD, h->seq + 1, text);
        return false;
    }
    return true;
}

/* A writer that died between a commit and the rename of its head file leaves PATH.head one
 * commit behind (or missing, at the first commit) and PATH.head.next naming exactly the chain's
 * end (store.c writes and fsyncs it before committing). That state is accepted: the head file
 * it would have become agrees with the chain (and its signature with the key), and the old
 * file, when present, names a record of the chain. Anyone able to write PATH.head.next could
 * write PATH.head itself, so this accepts nothing a forged head file would not. */
static bool pending_head_agrees(nd_store_t *s, const nd__store_heads_t *heads,
                                const uint8_t *key, size_t key_len, const nd_audit_result_t *r)
{
    bool behind = heads->file_state == -1 ||
                  (heads->file_state == 1 && heads->file.seq < r->last_seq);
    const nd__head_t *n = &heads->next;
    if (!behind || heads->next_state != 1 || n->seq != r->last_seq ||
        memcmp(n->hash, r->head, ND_HASH_SIZE) != 0)
        return false;
    uint8_t mac[ND_HASH_SIZE];
    if (key_len > 0 && (!n->has_mac || nd__head_mac(key, key_len, n->seq, n->hash, mac) != ND_OK ||
                        memcmp(mac, n->mac, ND_HASH_SIZE) != 0))
        return false;
    if (heads->file_state == -1 || heads->file.seq == 0)
        return true; /* the first commit's rename, or the empty store's head */
    hash_at_t at = {heads->file.seq, false, {0}};
    nd_record_filter_t f = {.seq_from = heads->file.seq};
    char err[64];
    nd__store_scan_rows(s, &f, &at, first_row, err, sizeof err);
    return at.found && memcmp(at.hash, heads->file.hash, ND_HASH_SIZE) == 0;
}

/* After a clean walk: the chain must end at the head the store wrote with its last commit. */
static nd_err_t check_heads(nd_store_t *s, nd_audit_result_t *r, char *err, size_t err_len)
{
    uint8_t key[4096];
    size_t key_len = 0;
    nd_err_t rc = nd__audit_key(key, sizeof key, &key_len, err, err_len);
    nd__store_heads_t heads;
    if (rc == ND_OK)
        rc = nd__store_heads(s, &heads, err, err_len);
    if (rc != ND_OK)
        return rc;
    r->head_seq = heads.table.seq;
    snprintf(r->head_checked, sizeof r->head_checked, "%s",
             heads.file_state == 0 ? "table" : "table and head file");
    snprintf(r->signature, sizeof r->signature, "%s",
             key_len > 0 ? "verified" : heads.table.has_mac ? "not checked (no key)"
                                                            : "unsigned");
    char where[1100];
    if (!heads.table.present) {
        head_fault(r, ND_AUDIT_HEAD, r->last_seq, "the store's head (table audit_head) is "
                   "missing: it was deleted");
        return ND_OK;
    }
    if (!head_matches(s, &heads.table, "store's head (table audit_head)", key, key_len, r))
        return ND_OK;
    snprintf(where, sizeof where, "head file %s", heads.file_path);
    if (heads.file_state != 0 && pending_head_agrees(s, &heads, key, key_len, r)) {
        snprintf(r->head_checked, sizeof r->head_checked, "table and head file (pending rename)");
        return ND_OK;
    }
    /* A new store before its first commit (store.c init_head): no head file yet, nothing to
     * name. Only without a key, where an empty head file would be as forgeable. */
    if (heads.file_state == -1 && key_len == 0 && r->last_seq == 0 && heads.table.seq == 0 &&
        !heads.table.has_mac) {
        snprintf(r->head_checked, sizeof r->head_checked, "table (empty, no head file yet)");
        return ND_OK;
    }
    if (heads.file_state == -1 || heads.file_state == -2) {
        char text[1400];
        snprintf(text, sizeof text, "the %s is %s%s", where,
                 heads.file_state == -1 ? "missing: it was deleted" : "unreadable: ",
                 heads.file_state == -1 ? "" : heads.file_why);
        head_fault(r, ND_AUDIT_HEAD, r->last_seq, text);
        return ND_OK;
    }
    if (heads.file_state == 1)
        head_matches(s, &heads.file, where, key, key_len, r);
    return ND_OK;
}

nd_err_t nd_audit_verify(nd_store_t *s, nd_audit_result_t *out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    nd_audit_result_t res;
    memset(&res, 0, sizeof res);
    walk_t w;
    memset(&w, 0, sizeof w);
    w.out = &res;
    w.expected = 1;
    if (nd__hasher_init(&w.hasher) != ND_OK) {
        snprintf(err, err_len, "cannot set up SHA-256 (OpenSSL)");
        return ND_ENOMEM;
    }
    nd_record_filter_t prunes;
    memset(&prunes, 0, sizeof prunes);
    prunes.kind_mask = 1u << ND_RECORD_PRUNE;
    nd_err_t rc = nd__store_scan_rows(s, &prunes, &w, collect_ranges, err, err_len);
    if (rc == ND_OK) {
        if (w.range_count > 0) /* qsort wants a non-NULL base even for nothing */
            qsort(w.ranges, w.range_count, sizeof *w.ranges, compare_ranges);
        rc = nd__store_scan_rows(s, NULL, &w, walk_record, err, err_len);
    }
    if (rc == ND_EDECLINED) {
        if (w.bad_enc)
            classify(&w, s);
        rc = ND_OK;
    } else if (rc == ND_OK) {
        rc = check_heads(s, &res, err, err_len);
    }
    nd_free(w.bad_enc);
    nd_free(w.ranges);
    nd__hasher_deinit(&w.hasher);
    if (rc == ND_OK)
        *out = res;
    return rc;
}
