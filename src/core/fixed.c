/* fixed.c: exact decimal parsing, formatting and overflow-checked arithmetic on int64 fixed
 * point. Invariant: no function here ever performs a signed operation that can overflow; every
 * product is formed in __int128 and narrowed with a range check. */
#include "noderr/fixed.h"
#include "noderr/assert.h"

#include <string.h>

static const int64_t pow10_table[ND_DECIMALS_MAX + 1] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL,
};

int64_t nd_pow10(int n)
{
    ND_ASSERT(n >= 0);
    ND_ASSERT(n <= ND_DECIMALS_MAX);
    return pow10_table[n];
}

nd_err_t nd_fixed_parse(const char *text, size_t len, int decimals, int64_t *out)
{
    ND_ASSERT(text != NULL || len == 0);
    ND_ASSERT(decimals >= 0 && decimals <= ND_DECIMALS_MAX);
    size_t i = 0;
    int negative = 0;
    if (i < len && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        i++;
    }
    /* Accumulate the magnitude in 128 bits and allow 2^63 so that INT64_MIN parses too. */
    __int128 acc = 0;
    int digits = 0, frac_digits = 0, seen_point = 0, lost_precision = 0;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.') {
            if (seen_point)
                return ND_EPARSE;
            seen_point = 1;
            continue;
        }
        if (c < '0' || c > '9')
            return ND_EPARSE;
        digits++;
        if (seen_point) {
            if (frac_digits == decimals) {
                /* Keep scanning: "1.2.3" is malformed, not merely too precise. */
                lost_precision |= c != '0';
                continue;
            }
            frac_digits++;
        }
        acc = acc * 10 + (c - '0');
        if (acc > (__int128)INT64_MAX + 1)
            return ND_EOVERFLOW;
    }
    if (digits == 0)
        return ND_EPARSE;
    if (lost_precision)
        return ND_EPRECISION;
    acc *= pow10_table[decimals - frac_digits];
    if (negative)
        acc = -acc;
    if (acc > INT64_MAX || acc < INT64_MIN)
        return ND_EOVERFLOW;
    *out = (int64_t)acc;
    return ND_OK;
}

size_t nd_fixed_format(int64_t value, int decimals, char *buf, size_t cap)
{
    ND_ASSERT(decimals >= 0 && decimals <= ND_DECIMALS_MAX);
    ND_ASSERT(cap >= 22);
    char tmp[48];
    size_t n = 0;
    /* Work on the magnitude in unsigned 64 bits: -INT64_MIN does not fit an int64. */
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    uint64_t scale = (uint64_t)pow10_table[decimals];
    uint64_t whole = mag / scale, frac = mag % scale;
    int frac_len = decimals;
    while (frac_len > 0 && frac % 10 == 0) {
        frac /= 10;
        frac_len--;
    }
    for (int k = 0; k < frac_len; k++) {
        tmp[n++] = (char)('0' + frac % 10);
        frac /= 10;
    }
    if (frac_len > 0)
        tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole > 0);
    if (value < 0)
        tmp[n++] = '-';
    size_t len = n < cap ? n : cap - 1;
    for (size_t k = 0; k < len; k++)
        buf[k] = tmp[n - 1 - k];
    buf[len] = '\0';
    return len;
}

double nd_fixed_to_double(int64_t value, int decimals)
{
    ND_ASSERT(decimals >= 0 && decimals <= ND_DECIMALS_MAX);
    return (double)value / (double)pow10_table[decimals];
}

nd_err_t nd_fixed_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return ND_EOVERFLOW;
    *out = r;
    return ND_OK;
}

nd_err_t nd_fixed_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return ND_EOVERFLOW;
    *out = r;
    return ND_OK;
}

#if defined(__x86_64__) && defined(__GNUC__)
/* nd_fixed_div128 when the quotient's magnitude fits 64 bits (every case that does not
 * overflow): one 128-by-64 divq of the magnitudes instead of libgcc's __divmodti4, the
 * rounding on the magnitudes (C's division truncates toward zero, so |q| and |r| are the
 * magnitudes' quotient and remainder), the same results. */
static nd_err_t div128_narrow(uint64_t lo, uint64_t hi, uint64_t d, int positive,
                              nd_round_t mode, int64_t *out)
{
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d) : "cc");
    unsigned __int128 m = q; /* the rounded magnitude, q + 1 at most */
    if (r != 0) {
        switch (mode) {
        case ND_ROUND_TRUNC: break;
        case ND_ROUND_DOWN: m += !positive; break;
        case ND_ROUND_UP: m += positive; break;
        case ND_ROUND_HALF_EVEN: m += 2 * r > d || (2 * r == d && (q & 1) != 0); break;
        }
    }
    if (m > (unsigned __int128)INT64_MAX + !positive)
        return ND_EOVERFLOW;
    *out = positive ? (int64_t)m : (int64_t)(0 - (uint64_t)m);
    return ND_OK;
}
#endif

nd_err_t nd_fixed_div128(__int128 num, int64_t den, nd_round_t mode, int64_t *out)
{
    if (den == 0)
        return ND_EINVAL;
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned __int128 un = num < 0 ? -(unsigned __int128)num : (unsigned __int128)num;
    uint64_t ud = den < 0 ? 0 - (uint64_t)den : (uint64_t)den; /* r < ud <= 2^63: 2r fits */
    if ((uint64_t)(un >> 64) < ud)
        return div128_narrow((uint64_t)un, (uint64_t)(un >> 64), ud, (num < 0) == (den < 0),
                             mode, out);
#endif
    __int128 q = num / den, r = num % den;
    if (r != 0) {
        int positive = (num < 0) == (den < 0); /* sign of the exact quotient */
        switch (mode) {
        case ND_ROUND_TRUNC:
            break;
        case ND_ROUND_DOWN:
            if (!positive)
                q -= 1;
            break;
        case ND_ROUND_UP:
            if (positive)
                q += 1;
            break;
        case ND_ROUND_HALF_EVEN: {
            __int128 twice = (r < 0 ? -r : r) * 2, d = den < 0 ? -(__int128)den : den;
            if (twice > d || (twice == d && (q & 1) != 0))
                q += positive ? 1 : -1;
            break;
        }
        }
    }
    if (q > INT64_MAX || q < INT64_MIN)
        return ND_EOVERFLOW;
    *out = (int64_t)q;
    return ND_OK;
}

nd_err_t nd_fixed_mul_div(int64_t a, int64_t b, int64_t c, nd_round_t mode, int64_t *out)
{
    /* |a*b| < 2^126, so the 128-bit product itself can never overflow. */
    return nd_fixed_div128((__int128)a * b, c, mode, out);
}

nd_err_t nd_fixed_rescale(int64_t value, int from, int to, nd_round_t mode, int64_t *out)
{
    ND_ASSERT(from >= 0 && from <= ND_DECIMALS_MAX);
    ND_ASSERT(to >= 0 && to <= ND_DECIMALS_MAX);
    if (to >= from) {
        int64_t r;
        if (__builtin_mul_overflow(value, pow10_table[to - from], &r))
            return ND_EOVERFLOW;
        *out = r;
        return ND_OK;
    }
    return nd_fixed_div128(value, pow10_table[from - to], mode, out);
}

int64_t nd_fixed_floor_to(int64_t value, int64_t step)
{
    ND_ASSERT(step > 0);
    int64_t r = value % step;
    if (r < 0)
        r += step;
    /* Only near INT64_MIN can the multiple below value fall outside int64 (INT64_MIN with
     * step 3); that is a caller bug, so abort rather than wrap through undefined behaviour. */
    int64_t floored;
    ND_ASSERT(!__builtin_sub_overflow(value, r, &floored));
    return floored;
}
