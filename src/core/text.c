/* text.c: quoting outside bytes in messages, the byte order mark, and durations (text.h). */
#include "noderr/text.h"

#include "noderr/assert.h"
#include "noderr/clock.h"

#include <stdio.h>
#include <string.h>

char *nd_text_escape(const char *text, size_t len, char *out, size_t cap)
{
    ND_ASSERT(out != NULL && cap >= 8);
    ND_ASSERT(text != NULL || len == 0);
    static const char hex[] = "0123456789abcdef";
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        char piece[4];
        size_t plen = 0;
        if (c == '\\') {
            piece[plen++] = '\\';
            piece[plen++] = '\\';
        } else if (c >= 0x20 && c < 0x7f) {
            piece[plen++] = (char)c;
        } else {
            piece[0] = '\\';
            piece[1] = 'x';
            piece[2] = hex[c >> 4];
            piece[3] = hex[c & 15];
            plen = 4;
        }
        if (w + plen + 4 > cap) { /* room for "..." and the NUL */
            memcpy(out + w, "...", 3);
            w += 3;
            break;
        }
        memcpy(out + w, piece, plen);
        w += plen;
    }
    out[w] = '\0';
    return out;
}

size_t nd_text_bom_len(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

nd_err_t nd_span_parse(const char *text, size_t len, unsigned flags, nd_span_t *out, char *err,
                       size_t err_len)
{
    ND_ASSERT(text != NULL && out != NULL);
    const char *expected = (flags & ND_SPAN_BARS_OK)
                               ? "a whole number with a unit m, h, d or w, or a number of bars"
                               : "a whole number with a unit m, h, d or w";
    size_t k = 0;
    int64_t n = 0;
    bool too_big = false;
    for (; k < len && text[k] >= '0' && text[k] <= '9'; k++) {
        /* Saturate instead of wrapping: the bound check below reports it. */
        if (!too_big && (__builtin_mul_overflow(n, 10, &n) ||
                         __builtin_add_overflow(n, text[k] - '0', &n)))
            too_big = true;
    }
    int64_t unit = 0;
    if (k == 0 || k + 1 < len) {
        unit = -1;
    } else if (k == len) {
        unit = (flags & ND_SPAN_BARS_OK) ? 1 : -1;
    } else {
        switch (text[k]) {
        case 'm': unit = ND_NS_PER_MIN; break;
        case 'h': unit = ND_NS_PER_HOUR; break;
        case 'd': unit = ND_NS_PER_DAY; break;
        case 'w': unit = 7 * ND_NS_PER_DAY; break;
        default: unit = -1; break;
        }
    }
    char shown[48];
    if (unit < 0) {
        nd_err_put(err, err_len, "'%s' is not %s", nd_text_escape(text, len, shown, sizeof shown),
                expected);
        return ND_EPARSE;
    }
    bool bars = unit == 1;
    int64_t max = bars ? ND_SPAN_BARS_MAX : ND_SPAN_NS_MAX, v = 0;
    if (!too_big && n > 0 && !__builtin_mul_overflow(n, unit, &v) && v <= max) {
        out->value = v;
        out->bars = bars;
        return ND_OK;
    }
    nd_text_escape(text, len, shown, sizeof shown);
    if (!too_big && n == 0)
        nd_err_put(err, err_len, "'%s' must be positive", shown);
    else if (bars)
        nd_err_put(err, err_len, "'%s' is more than %lld bars", shown, (long long)ND_SPAN_BARS_MAX);
    else
        nd_err_put(err, err_len, "'%s' is longer than 100 years (36525d)", shown);
    return ND_ERANGE;
}
