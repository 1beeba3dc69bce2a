/* store_mem.c: the in-memory backend of the compliance store, for tests and simulations.
 *
 * Rows are kept in seq order, each in one allocation holding its encoding (the same row the
 * SQL backends store, so the contract suite and the verifier see one shape). Rows past
 * committed_count and the pending deletions belong to the open batch: commit keeps them,
 * rollback drops them. "mem:?fail_after=N" makes every write after the first N fail, which is
 * how tests prove that a failed write halts trading. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mem_store {
    nd__row_t **rows;
    size_t count;
    size_t committed_count;
    size_t cap;
    int64_t (*removes)[2];
    size_t remove_count;
    size_t remove_cap;
    int64_t writes;
    int64_t fail_after; /* -1: never */
    nd__head_t head;         /* committed (present from the start: an empty store's is seq 0) */
    nd__head_t pending_head; /* written by the open batch */
    bool head_pending;
} mem_store_t;

static nd_err_t mem_open(const char *target, unsigned flags, void **out, char *err,
                         size_t err_len)
{
    (void)flags;
    mem_store_t *m = nd_calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    m->fail_after = -1;
    m->head.present = true;
    if (strncmp(target, "?fail_after=", 12) == 0) {
        char *end = NULL;
        m->fail_after = strtoll(target + 12, &end, 10);
        if (*end != '\0' || m->fail_after < 0) {
            snprintf(err, err_len, "mem: fail_after must be a count");
            nd_free(m);
            return ND_EINVAL;
        }
    } else if (target[0] != '\0') {
        snprintf(err, err_len, "mem: unknown option '%s'", target);
        nd_free(m);
        return ND_EINVAL;
    }
    *out = m;
    return ND_OK;
}

static nd_err_t mem_tail(void *b, int64_t *seq, uint8_t hash[ND_HASH_SIZE], char *err,
                         size_t err_len)
{
    (void)err;
    (void)err_len;
    mem_store_t *m = b;
    *seq = m->count ? m->rows[m->count - 1]->seq : 0;
    if (m->count)
        memcpy(hash, m->rows[m->count - 1]->hash, ND_HASH_SIZE);
    else
        memset(hash, 0, ND_HASH_SIZE);
    return ND_OK;
}

/* One allocation: the row, then its encoding. */
static nd__row_t *copy_row(const nd__row_t *r)
{
    nd__row_t *c = nd_alloc(sizeof *c + r->enc_len);
    if (!c)
        return NULL;
    *c = *r;
    uint8_t *enc = (uint8_t *)(c + 1);
    if (r->enc_len > 0)
        memcpy(enc, r->enc, r->enc_len);
    c->enc = enc;
    return c;
}

static nd_err_t injected_failure(mem_store_t *m, char *err, size_t err_len)
{
    if (m->fail_after < 0 || m->writes < m->fail_after) {
        m->writes++;
        return ND_OK;
    }
    snprintf(err, err_len, "mem: injected write failure after %lld writes",
             (long long)m->fail_after);
    return ND_EIO;
}

static nd_err_t mem_append(void *b, const nd__row_t *r, char *err, size_t err_len)
{
    mem_store_t *m = b;
    ND_ASSERT(m->count == 0 || m->rows[m->count - 1]->seq < r->seq);
    nd_err_t rc = injected_failure(m, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd__row_t **grown = nd_array_grow(m->rows, &m->cap, m->count + 1, sizeof *grown, 256);
    if (!grown) {
        snprintf(err, err_len, "mem: out of memory");
        return ND_ENOMEM;
    }
    m->rows = grown;
    nd__row_t *c = copy_row(r);
    if (!c) {
        snprintf(err, err_len, "mem: out of memory");
        return ND_ENOMEM;
    }
    m->rows[m->count++] = c;
    return ND_OK;
}

static nd_err_t mem_remove(void *b, int64_t from, int64_t to, char *err, size_t err_len)
{
    mem_store_t *m = b;
    nd_err_t rc = injected_failure(m, err, err_len);
    if (rc != ND_OK)
        return rc;
    int64_t(*grown)[2] =
        nd_array_grow(m->removes, &m->remove_cap, m->remove_count + 1, sizeof *grown, 16);
    if (!grown) {
        snprintf(err, err_len, "mem: out of memory");
        return ND_ENOMEM;
    }
    m->removes = grown;
    m->removes[m->remove_count][0] = from;
    m->removes[m->remove_count][1] = to;
    m->remove_count++;
    return ND_OK;
}

static bool removed(const mem_store_t *m, int64_t seq)
{
    for (size_t k = 0; k < m->remove_count; k++)
        if (seq >= m->removes[k][0] && seq <= m->removes[k][1])
            return true;
    return false;
}

static nd_err_t mem_commit(void *b, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    mem_store_t *m = b;
    size_t kept = 0;
    for (size_t k = 0; k < m->count; k++) {
        if (m->remove_count > 0 && removed(m, m->rows[k]->seq))
            nd_free(m->rows[k]);
        else
            m->rows[kept++] = m->rows[k];
    }
    m->count = kept;
    m->committed_count = kept;
    m->remove_count = 0;
    if (m->head_pending)
        m->head = m->pending_head;
    m->head_pending = false;
    return ND_OK;
}

static void mem_rollback(void *b)
{
    mem_store_t *m = b;
    for (size_t k = m->committed_count; k < m->count; k++)
        nd_free(m->rows[k]);
    m->count = m->committed_count;
    m->remove_count = 0;
    m->head_pending = false;
}

static nd_err_t mem_scan(void *b, const nd_record_filter_t *f, void *ctx, nd__row_cb row_cb,
                         char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    mem_store_t *m = b;
    for (size_t k = 0; k < m->count; k++) {
        const nd__row_t *row = m->rows[k];
        if (!nd__store_filter_match(f, row->seq, row->ts_ns, row->kind))
            continue;
        nd_err_t rc = row_cb(ctx, row);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

static void mem_close(void *b)
{
    mem_store_t *m = b;
    if (!m)
        return;
    for (size_t k = 0; k < m->count; k++)
        nd_free(m->rows[k]);
    nd_free(m->rows);
    nd_free(m->removes);
    nd_free(m);
}

static nd_err_t mem_head_get(void *b, nd__head_t *out, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    mem_store_t *m = b;
    *out = m->head;
    out->present = true;
    out->migrated = false;
    return ND_OK;
}

static nd_err_t mem_head_set(void *b, const nd__head_t *head, char *err, size_t err_len)
{
    (void)err;
    (void)err_len;
    mem_store_t *m = b;
    m->pending_head = *head;
    m->pending_head.present = true;
    m->head_pending = true;
    return ND_OK;
}

static const char *mem_head_file(void *b)
{
    (void)b;
    return NULL;
}

const nd__store_vtable_t nd__store_mem = {
    "memory", mem_open, mem_tail, mem_append, mem_remove,
    mem_commit, mem_rollback, mem_scan, mem_close,
    mem_head_get, mem_head_set, mem_head_file,
};
