/* fixed.h: integer fixed-point arithmetic for prices, quantities and cash.
 *
 * A fixed-point value is an int64_t count of 10^-decimals units; the scale lives with the
 * value's owner (an instrument carries px_decimals and qty_decimals, cash is always
 * ND_CASH_DECIMALS). Products go through __int128 and every operation that can overflow
 * returns ND_EOVERFLOW instead of wrapping: overflow is a reported error, never undefined
 * behaviour. Floats appear only when formatting for people or statistics. */
#ifndef NODERR_FIXED_H
#define NODERR_FIXED_H

#include "noderr/err.h"

#include <stddef.h>
#include <stdint.h>

/* Cash (and every money amount: fees, P&L, notional) is held in 10^-8 of the quote asset:
 * Binance quotes every balance to 8 decimals, and int64 at 1e-8 still holds 92 billion. */
#define ND_CASH_DECIMALS 8
/* The largest scale any value may use: 10^18 is the largest power of ten in an int64. */
#define ND_DECIMALS_MAX 18

typedef enum nd_round {
    ND_ROUND_DOWN = 0,  /* toward negative infinity (floor) */
    ND_ROUND_UP = 1,    /* toward positive infinity (ceiling) */
    ND_ROUND_HALF_EVEN = 2, /* to nearest, ties to even: unbiased for reporting */
    ND_ROUND_TRUNC = 3  /* toward zero */
} nd_round_t;

/* 10^n for n in [0, 18]. */
int64_t nd_pow10(int n);

/* Parses a plain decimal ("-12.3400", "7", ".5") into units of 10^-decimals.
 * Digits beyond the scale are accepted only when they are zeros ("1.2300" at 2 decimals);
 * otherwise ND_EPRECISION, so that no price is silently rounded. Returns ND_EPARSE on
 * anything but an optional sign, digits and one point; ND_EOVERFLOW past int64. */
nd_err_t nd_fixed_parse(const char *text, size_t len, int decimals, int64_t *out /* OUT */);

/* Writes value (10^-decimals units) as a plain decimal with trailing fractional zeros trimmed
 * ("12.5", "-0.00000001", "7"). Returns the length written, excluding the NUL; the buffer
 * needs at most 22 bytes. */
size_t nd_fixed_format(int64_t value, int decimals, char *buf, size_t cap);

/* Converts to double for statistics and display only. */
double nd_fixed_to_double(int64_t value, int decimals);

/* (double)v bit for bit (round to nearest, ties to even), mostly without libgcc's
 * __floattidf: an int64 converts directly, 2^63 <= |v| < 2^64 as a uint64, and up to 2^73 as
 * |v| / 2^10 with the ten dropped bits folded into its lowest bit (a sticky bit: with at least
 * 55 significant bits left, that bit lies below the rounding bit, so the one rounding to 53
 * bits is the same), times 2^10 exactly. Larger values go through (double)v. For statistics
 * and display of exact equities. */
static inline double nd_i128_to_double(__int128 v)
{
    int64_t narrow = (int64_t)v;
    if (narrow == v)
        return (double)narrow;
    unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
    uint64_t hi = (uint64_t)(u >> 64), lo = (uint64_t)u;
    double d;
    if (hi == 0)
        d = (double)lo;
    else if (hi < ((uint64_t)1 << 9))
        d = (double)(int64_t)((uint64_t)(u >> 10) | ((lo & 1023) != 0)) * 1024.0;
    else
        return (double)v;
    return v < 0 ? -d : d;
}

/* out = a + b, or ND_EOVERFLOW. */
nd_err_t nd_fixed_add(int64_t a, int64_t b, int64_t *out /* OUT */);
/* out = a - b, or ND_EOVERFLOW. */
nd_err_t nd_fixed_sub(int64_t a, int64_t b, int64_t *out /* OUT */);

/* out = a * b / c rounded as asked, through a 128-bit product; ND_EINVAL when c == 0,
 * ND_EOVERFLOW when the result does not fit an int64. */
nd_err_t nd_fixed_mul_div(int64_t a, int64_t b, int64_t c, nd_round_t mode, int64_t *out /* OUT */);

/* out = num / den for 128-bit num, rounded as asked; ND_EOVERFLOW when out of int64 range. */
nd_err_t nd_fixed_div128(__int128 num, int64_t den, nd_round_t mode, int64_t *out /* OUT */);

/* Rescales value from decimals `from` to decimals `to`, rounding as asked when precision is
 * lost; ND_EOVERFLOW when scaling up overflows. */
nd_err_t nd_fixed_rescale(int64_t value, int from, int to, nd_round_t mode, int64_t *out /* OUT */);

/* Rounds value down (toward zero for positive values) to a multiple of step (> 0). */
int64_t nd_fixed_floor_to(int64_t value, int64_t step);

#endif
