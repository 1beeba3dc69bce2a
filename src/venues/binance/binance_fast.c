/* binance_fast.c: the single-pass decoder for the messages that make up nearly all of a
 * Binance market feed: trade, aggTrade and depthUpdate, raw or in a combined-stream envelope.
 *
 * It reads the bytes once, left to right, and parses each decimal string straight into fixed
 * point as it passes (eight fractional digits at once when Binance sends exactly eight, which
 * it always does), with no tokens, no key lookups and no second scan. It accepts only a strict
 * subset of JSON: compact (no whitespace), no string escapes, one-character keys in the data
 * object with "e" first, integers without fraction or exponent. Anything else, valid or not,
 * makes it return false having changed nothing, and the generic decoder (binance_decode.c)
 * takes the message; so the fast path never decides that input is bad and the bad-input
 * accounting stays in one place. Invariant: an event is emitted only when the generic decoder
 * would have emitted the same event for the same bytes. */
#include "binance_int.h"

#include "noderr/assert.h"

#include <string.h>

typedef enum fkind { FK_TRADE = 0, FK_AGG = 1, FK_DEPTH = 2 } fkind_t;

/* A cursor over the message; `end` is one past its last byte. */
typedef struct fcur {
    const char *p, *end;
} fcur_t;

static inline bool take(fcur_t *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static inline bool is_digit(char ch)
{
    return (unsigned)(ch - '0') < 10u;
}

/* A JSON integer (no fraction, exponent or leading zero) of at most 18 digits. */
static inline bool take_int(fcur_t *c, int64_t *out)
{
    const char *p = c->p, *end = c->end;
    bool neg = p < end && *p == '-';
    p += neg;
    const char *d0 = p;
    uint64_t v = 0;
    while (p < end && is_digit(*p))
        v = v * 10 + (uint64_t)(*p++ - '0');
    size_t n = (size_t)(p - d0);
    if (n == 0 || n > 18 || (n > 1 && *d0 == '0'))
        return false;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    c->p = p;
    return true;
}

/* Venue times as get_time in binance_decode.c: ms, or us with timeUnit=MICROSECOND. */
static inline bool take_time(fcur_t *c, int64_t *out_ns)
{
    int64_t v;
    if (!take_int(c, &v) || v < 0 || v >= 9000000000000000LL)
        return false;
    *out_ns = v < 9000000000000LL ? v * ND_NS_PER_MS : v * ND_NS_PER_US;
    return true;
}

/* Eight ASCII digits at p as a number, or -1 when any byte is not a digit (the SWAR form of
 * the digit loop: three multiplies instead of eight dependent ones). */
static inline int64_t eight_digits(const char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    if ((((v & 0xF0F0F0F0F0F0F0F0ULL) |
          (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) !=
         0x3333333333333333ULL))
        return -1;
    v -= 0x3030303030303030ULL;
    v = (v * 10) + (v >> 8);
    v = (((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
    return (int64_t)v;
#else
    int64_t v = 0;
    for (int i = 0; i < 8; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
#endif
}

static const int64_t frac_scale[9] = {100000000, 10000000, 1000000, 100000, 10000,
                                      1000,      100,      10,      1};

/* A decimal string's body and closing quote ("86620.48000000""), into 1e-8 units exactly:
 * at most 10 integer digits (so no overflow), extra fractional digits must be zeros. */
static inline bool take_dec(fcur_t *c, int64_t *out)
{
    const char *p = c->p, *end = c->end;
    const char *d0 = p;
    uint64_t ip = 0;
    while (p < end && is_digit(*p))
        ip = ip * 10 + (uint64_t)(*p++ - '0');
    if (p == d0 || p - d0 > 10)
        return false;
    int64_t frac = 0;
    if (p < end && *p == '.') {
        p++;
        int64_t eight;
        if (end - p > 8 && p[8] == '"' && (eight = eight_digits(p)) >= 0) {
            frac = eight;
            p += 8;
        } else {
            int nf = 0;
            for (; p < end && is_digit(*p); p++) {
                if (nf < 8)
                    frac = frac * 10 + (*p - '0'), nf++;
                else if (*p != '0')
                    return false;
            }
            frac *= frac_scale[nf];
        }
    }
    if (p >= end || *p != '"')
        return false;
    *out = (int64_t)ip * 100000000 + frac;
    c->p = p + 1;
    return true;
}

/* A string's body and closing quote, without escapes or control bytes; span in *s, *n. */
static inline bool take_str(fcur_t *c, const char **s, size_t *n)
{
    const char *q = memchr(c->p, '"', (size_t)(c->end - c->p));
    if (!q)
        return false;
    for (const char *k = c->p; k < q; k++)
        if ((unsigned char)*k < 0x20 || *k == '\\')
            return false;
    *s = c->p;
    *n = (size_t)(q - c->p);
    c->p = q + 1;
    return true;
}

static inline bool take_bool(fcur_t *c, bool *out)
{
    if (take(c, "true", 4))
        return *out = true, true;
    if (take(c, "false", 5))
        return *out = false, true;
    return false;
}

/* A value of a key the decoder ignores ("M", the old "b"/"a" order ids of trades): only
 * the simple kinds; a nested value sends the message to the generic path. */
static bool skip_value(fcur_t *c)
{
    const char *s;
    size_t n;
    int64_t v;
    bool b;
    if (c->p < c->end && *c->p == '"')
        return c->p++, take_str(c, &s, &n);
    if (take(c, "null", 4))
        return true;
    return take_bool(c, &b) || take_int(c, &v);
}

/* [["px","qty"],...] into d->levels from *n on, with the given side. */
static bool take_levels(fcur_t *c, nd_binance_decoder_t *d, uint8_t side, uint32_t *n)
{
    if (!take(c, "[", 1))
        return false;
    if (take(c, "]", 1))
        return true;
    uint32_t first = *n;
    for (;;) {
        if (*n >= d->level_cap || *n - first >= UINT16_MAX)
            return false;
        nd_md_level_t *l = &d->levels[*n];
        if (!take(c, "[\"", 2) || !take_dec(c, &l->px) || !take(c, ",\"", 2) ||
            !take_dec(c, &l->qty) || !take(c, "]", 1) || l->px <= 0)
            return false;
        l->side = side;
        (*n)++;
        if (take(c, "]", 1))
            return true;
        if (!take(c, ",", 1))
            return false;
    }
}

/* Field bits: which one-character keys were seen, to catch a missing or repeated key. */
#define BIT(k) (1ULL << ((k) - 'A'))

/* One member of the data object, cursor on its key's opening quote. */
static bool take_member(fcur_t *c, fkind_t kind, nd_binance_decoder_t *d, nd_md_event_t *e,
                        uint64_t *seen, uint32_t *n, bool *buyer_maker)
{
    if (c->end - c->p < 4 || c->p[0] != '"' || c->p[2] != '"' || c->p[3] != ':')
        return false;
    char k = c->p[1];
    c->p += 4;
    if ((unsigned char)k < 0x20 || k == '\\' || k == '"')
        return false;
    if (k < 'A' || k > 'z')
        return skip_value(c);
    if (*seen & BIT(k))
        return false; /* a repeated key: the generic decoder knows which one wins */
    *seen |= BIT(k);
    nd_md_trade_t *t = &e->u.trade;
    nd_md_book_update_t *b = &e->u.book;
    const char *s;
    size_t len;
    switch (k) {
    case 'E': return take_time(c, &e->venue_ts_ns);
    case 's':
        /* A symbol that does not fit is the generic decoder's to refuse: never cut here. */
        if (!take(c, "\"", 1) || !take_str(c, &s, &len) || len >= sizeof e->symbol)
            return false;
        memcpy(e->symbol, s, len);
        e->symbol[len] = '\0';
        return true;
    default: break;
    }
    if (kind == FK_DEPTH) {
        switch (k) {
        case 'U': return take_int(c, &b->first_update_id);
        case 'u': return take_int(c, &b->last_update_id);
        case 'b': return take_levels(c, d, ND_MD_SIDE_BID, n);
        case 'a': return take_levels(c, d, ND_MD_SIDE_ASK, n);
        case 'e': return false;
        default: return skip_value(c);
        }
    }
    switch (k) {
    case 'p': return take(c, "\"", 1) && take_dec(c, &t->px);
    case 'q': return take(c, "\"", 1) && take_dec(c, &t->qty);
    case 'T': return take_time(c, &t->trade_ts_ns);
    case 'm': return take_bool(c, buyer_maker);
    case 't': return kind == FK_TRADE ? take_int(c, &t->trade_id) : skip_value(c);
    case 'a': return kind == FK_AGG ? take_int(c, &t->trade_id) : skip_value(c);
    case 'f': return kind == FK_AGG ? take_int(c, &t->first_trade_id) : skip_value(c);
    case 'l': return kind == FK_AGG ? take_int(c, &t->last_trade_id) : skip_value(c);
    case 'e': return false;
    default: return skip_value(c);
    }
}

/* The fields each kind must carry, as the generic decoder requires them. */
static const uint64_t need[3] = {
    BIT('s') | BIT('E') | BIT('p') | BIT('q') | BIT('T') | BIT('m') | BIT('t'),
    BIT('s') | BIT('E') | BIT('p') | BIT('q') | BIT('T') | BIT('m') | BIT('a') | BIT('f') |
        BIT('l'),
    BIT('s') | BIT('E') | BIT('U') | BIT('u') | BIT('b') | BIT('a'),
};

/* The data object from just after its `{"e":"`, through its closing brace. */
static bool take_data(fcur_t *c, nd_binance_decoder_t *d, nd_md_event_t *e)
{
    fkind_t kind;
    if (take(c, "trade\"", 6))
        kind = FK_TRADE;
    else if (take(c, "depthUpdate\"", 12))
        kind = FK_DEPTH;
    else if (take(c, "aggTrade\"", 9))
        kind = FK_AGG;
    else
        return false;
    uint64_t seen = 0;
    uint32_t n = 0;
    bool buyer_maker = false;
    while (!take(c, "}", 1))
        if (!take(c, ",", 1) || !take_member(c, kind, d, e, &seen, &n, &buyer_maker))
            return false;
    if ((seen & need[kind]) != need[kind])
        return false;
    if (kind == FK_DEPTH) {
        nd_md_book_update_t *b = &e->u.book;
        if (b->first_update_id > b->last_update_id || b->first_update_id < 0)
            return false;
        e->kind = ND_MD_BOOK_UPDATE;
        b->levels = d->levels;
        b->level_count = n;
        return true;
    }
    nd_md_trade_t *t = &e->u.trade;
    if (t->px <= 0 || t->qty <= 0)
        return false;
    if (kind == FK_TRADE)
        t->first_trade_id = t->last_trade_id = t->trade_id;
    /* m: the buyer was the maker, so the seller took liquidity. */
    t->aggressor = buyer_maker ? ND_MD_SIDE_ASK : ND_MD_SIDE_BID;
    t->aggregate = kind == FK_AGG;
    e->kind = ND_MD_TRADE;
    return true;
}

/* The symbol of a stream name, as stream_symbol in binance_decode.c; false when it does not
 * fit (the generic decoder refuses it). */
static bool stream_symbol(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    if (n > 0 && s[0] == '!')
        n = 0;
    for (size_t i = 0; i < n && s[i] != '@'; i++) {
        if (k + 1 >= cap)
            return false;
        char ch = s[i];
        buf[k++] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
    }
    buf[k] = '\0';
    return true;
}

bool nd__binance_fast_decode(nd_binance_decoder_t *d, const char *msg, size_t len,
                             int64_t recv_ns, nd_md_sink_cb sink, void *ctx)
{
    ND_ASSERT(d != NULL && sink != NULL);
    ND_ASSERT(msg != NULL || len == 0);
    fcur_t c = {msg, msg + len};
    nd_md_event_t e;
    memset(&e, 0, sizeof e);
    e.venue = ND_VENUE_BINANCE;
    e.recv_ts_ns = recv_ns;
    bool wrapped = take(&c, "{\"stream\":\"", 11);
    if (wrapped) {
        const char *s;
        size_t n;
        if (!take_str(&c, &s, &n) || !take(&c, ",\"data\":", 8) ||
            !stream_symbol(s, n, e.symbol, sizeof e.symbol))
            return false;
    }
    if (!take(&c, "{\"e\":\"", 6) || !take_data(&c, d, &e))
        return false;
    if (wrapped && !take(&c, "}", 1))
        return false;
    if (c.p != c.end)
        return false;
    d->counters.events++;
    d->fast_hits++;
    sink(ctx, &e);
    return true;
}
