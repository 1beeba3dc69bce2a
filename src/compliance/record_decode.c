/* record_decode.c: nd_record_decode, the inverse of nd_record_encode, and the header reader
 * the verifier uses to cross-check a row's seq, ts_ns and kind columns.
 *
 * The stored encoding is the only copy of a record's content, so this decoder reads bytes that
 * someone may have edited by hand: every length is checked against the bytes that remain
 * before it is used, nothing is read outside enc[0..len), and a blob that is not exactly one
 * well-formed version-1 encoding is refused with the offset and the reason (the verifier then
 * reports the record as altered). Layout: see audit.c and docs/compliance-store.md. */
#include "store_int.h"

#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

#define HEADER_SIZE (1 + 3 * 8) /* version, seq, ts_ns, kind */
#define FIXED_SIZE (1 + 12 * 8)
#define STRING_COUNT 10

static int64_t get_i64(const uint8_t *p)
{
    uint64_t u = 0;
    for (int k = 0; k < 8; k++)
        u = (u << 8) | p[k];
    return (int64_t)u;
}

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

bool nd__record_header(const uint8_t *enc, size_t len, int64_t *seq, int64_t *ts_ns,
                       int64_t *kind)
{
    if (!enc || len < HEADER_SIZE || enc[0] != 1)
        return false;
    *seq = get_i64(enc + 1);
    *ts_ns = get_i64(enc + 9);
    *kind = get_i64(enc + 17);
    return true;
}

static bool fits_i32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* The twelve integers; false with why in err when one is out of its field's range. */
static bool decode_ints(const uint8_t *enc, nd_record_t *r, char *err, size_t err_len)
{
    int64_t v[12];
    for (int k = 0; k < 12; k++)
        v[k] = get_i64(enc + 1 + 8 * k);
    if (v[2] < 1 || v[2] > ND_RECORD_KIND_MAX) {
        snprintf(err, err_len, "record encoding: kind %lld is not a known kind", (long long)v[2]);
        return false;
    }
    if (!fits_i32(v[3]) || !fits_i32(v[6]) || !fits_i32(v[7])) {
        snprintf(err, err_len, "record encoding: side or a scale does not fit 32 bits");
        return false;
    }
    r->seq = v[0];
    r->ts_ns = v[1];
    r->kind = (nd_record_kind_t)v[2];
    r->side = (int32_t)v[3];
    r->px = v[4];
    r->qty = v[5];
    r->px_scale = (int32_t)v[6];
    r->qty_scale = (int32_t)v[7];
    r->notional = v[8];
    r->fee = v[9];
    r->from_ns = v[10];
    r->to_ns = v[11];
    return true;
}

nd_err_t nd_record_decode(const uint8_t *enc, size_t len, nd_record_t *out, char *text,
                          size_t text_cap, char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(text != NULL || text_cap == 0);
    if (!enc || len < FIXED_SIZE || enc[0] != 1) {
        snprintf(err, err_len, "record encoding: %zu bytes%s: not a version-1 encoding", len,
                 enc && len > 0 && enc[0] != 1 ? " with an unknown version" : "");
        return ND_EPARSE;
    }
    if (text_cap < len) {
        snprintf(err, err_len, "record encoding: text buffer of %zu bytes for %zu", text_cap,
                 len);
        return ND_EINVAL;
    }
    nd_record_t r = *out; /* keeps the caller's hashes */
    if (!decode_ints(enc, &r, err, err_len))
        return ND_EPARSE;
    const char **dst[STRING_COUNT] = {&r.event, &r.account, &r.strategy, &r.venue,
                                      &r.instrument, &r.jurisdiction, &r.client_order_id,
                                      &r.venue_order_id, &r.reason, &r.detail};
    size_t at = FIXED_SIZE, used = 0;
    for (int k = 0; k < STRING_COUNT; k++) {
        if (len - at < 4) {
            snprintf(err, err_len, "record encoding: truncated at byte %zu (string %d's length)",
                     at, k + 1);
            return ND_EPARSE;
        }
        size_t n = get_u32(enc + at);
        at += 4;
        if (n > len - at || memchr(enc + at, '\0', n) != NULL) {
            snprintf(err, err_len, "record encoding: string %d at byte %zu %s", k + 1, at,
                     n > len - at ? "runs past the end" : "holds a NUL byte");
            return ND_EPARSE;
        }
        /* Each string gives up its 4-byte length and gains a terminator, so text never
         * needs more than len bytes. */
        ND_ASSERT(used + n + 1 <= text_cap);
        memcpy(text + used, enc + at, n);
        text[used + n] = '\0';
        *dst[k] = text + used;
        used += n + 1;
        at += n;
    }
    if (at != len) {
        snprintf(err, err_len, "record encoding: %zu bytes left over after byte %zu", len - at,
                 at);
        return ND_EPARSE;
    }
    *out = r;
    return ND_OK;
}
