/* test_core_fixed.c: fixed-point parsing, formatting and overflow-checked arithmetic
 * (include/noderr/fixed.h). Every expected value is worked out by hand in the comment beside it;
 * every refused call is checked to leave its out-param untouched. */
#include "noderr/fixed.h"
#include "noderr/rand.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

/* A value no test expects, written into out-params to prove a refusal did not touch them. */
#define SENTINEL ((int64_t)0x5A5A5A5A5A5A5A5ALL)

/* Parses a NUL-terminated string; keeps the tables below readable. */
static nd_err_t parse(const char *text, int decimals, int64_t *out)
{
    return nd_fixed_parse(text, strlen(text), decimals, out);
}

static void expect_parse(const char *text, int decimals, int64_t want)
{
    int64_t v = SENTINEL;
    nd_err_t rc = parse(text, decimals, &v);
    cr_assert_eq(rc, ND_OK, "parse(\"%s\", %d) = %s", text, decimals, nd_err_name(rc));
    cr_assert_eq(v, want, "parse(\"%s\", %d) = %lld, want %lld", text, decimals, (long long)v,
                 (long long)want);
}

static void expect_parse_err(const char *text, int decimals, nd_err_t want)
{
    int64_t v = SENTINEL;
    nd_err_t rc = parse(text, decimals, &v);
    cr_assert_eq(rc, want, "parse(\"%s\", %d) = %s, want %s", text, decimals, nd_err_name(rc),
                 nd_err_name(want));
    cr_assert_eq(v, SENTINEL, "parse(\"%s\") wrote its out-param on failure", text);
}

Test(fixed, pow10)
{
    cr_assert_eq(nd_pow10(0), 1);
    cr_assert_eq(nd_pow10(1), 10);
    cr_assert_eq(nd_pow10(2), 100);
    cr_assert_eq(nd_pow10(8), 100000000);
    cr_assert_eq(nd_pow10(9), 1000000000);
    cr_assert_eq(nd_pow10(18), 1000000000000000000LL);
    int64_t p = 1;
    for (int n = 0; n <= ND_DECIMALS_MAX; n++) {
        cr_assert_eq(nd_pow10(n), p, "pow10(%d)", n);
        if (n < ND_DECIMALS_MAX)
            p *= 10;
    }
}

Test(fixed, pow10_out_of_range_aborts, .signal = SIGABRT)
{
    (void)nd_pow10(ND_DECIMALS_MAX + 1);
}

Test(fixed, parse_plain)
{
    expect_parse("0", 0, 0);
    expect_parse("0", 8, 0);
    expect_parse("-0", 2, 0);
    expect_parse("+0", 2, 0);
    expect_parse("7", 0, 7);
    expect_parse("7", 2, 700);
    expect_parse("7", 8, 700000000);
    expect_parse("7.", 2, 700);
    expect_parse(".5", 2, 50);
    expect_parse("-.5", 2, -50);
    expect_parse("+1.25", 2, 125);
    expect_parse("-12.34", 2, -1234);
    expect_parse("-12.3400", 2, -1234);
    expect_parse("1.2300", 2, 123);
    expect_parse("1.0", 0, 1);
    expect_parse(".0", 0, 0);
    expect_parse("0.00000001", 8, 1);
    expect_parse("-0.00000001", 8, -1);
    expect_parse("123.45", 8, 12345000000);
    expect_parse("007.50", 1, 75);
    /* Leading zeros never count towards overflow: the value is 1 unit. */
    expect_parse("000000000000000000000000000000001", 0, 1);
    expect_parse("0.000000000000000001", 18, 1);
    /* Zeros past the scale are free, however many. */
    expect_parse("2.50000000000000000000000000", 1, 25);
}

Test(fixed, parse_respects_len)
{
    int64_t v = SENTINEL;
    /* Only the first three bytes are read, so no NUL is needed and "45" is ignored. */
    cr_assert_eq(nd_fixed_parse("12345", 3, 0, &v), ND_OK);
    cr_assert_eq(v, 123);
    cr_assert_eq(nd_fixed_parse("1.25xyz", 4, 2, &v), ND_OK);
    cr_assert_eq(v, 125);
    v = SENTINEL;
    cr_assert_eq(nd_fixed_parse("12345", 0, 0, &v), ND_EPARSE);
    cr_assert_eq(v, SENTINEL);
    cr_assert_eq(nd_fixed_parse(NULL, 0, 2, &v), ND_EPARSE);
    cr_assert_eq(v, SENTINEL);
}

Test(fixed, parse_precision)
{
    expect_parse_err("1.234", 2, ND_EPRECISION);
    expect_parse_err("1.2301", 2, ND_EPRECISION);
    expect_parse_err("-0.001", 2, ND_EPRECISION);
    expect_parse_err("1.5", 0, ND_EPRECISION);
    expect_parse_err("0.000000001", 8, ND_EPRECISION);
    expect_parse_err("0.0000000000000000001", 18, ND_EPRECISION);
    /* Malformed text is ND_EPARSE even when an excess digit comes first. */
    expect_parse_err("1.234x", 2, ND_EPARSE);
    expect_parse_err("1.2.3", 0, ND_EPARSE);
    expect_parse_err("1.239.", 2, ND_EPARSE);
}

Test(fixed, parse_malformed)
{
    static const char *const bad[] = {
        "", "-", "+", ".", "-.", "+.", "1..2", "1.2.3", "..", "1e5", "1E5", " 1", "1 ", "1,5",
        "abc", "--1", "+-1", "1-", "0x10", "1_000", "\t1", "inf", "nan",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_parse_err(bad[i], 2, ND_EPARSE);
        expect_parse_err(bad[i], 0, ND_EPARSE);
    }
}

Test(fixed, parse_int64_edges)
{
    expect_parse("9223372036854775807", 0, INT64_MAX);
    expect_parse("+9223372036854775807", 0, INT64_MAX);
    expect_parse("-9223372036854775808", 0, INT64_MIN);
    expect_parse("-9223372036854775807", 0, INT64_MIN + 1);
    expect_parse_err("9223372036854775808", 0, ND_EOVERFLOW);
    expect_parse_err("-9223372036854775809", 0, ND_EOVERFLOW);
    expect_parse_err("99999999999999999999999999999999999999999999", 0, ND_EOVERFLOW);
    expect_parse_err("-99999999999999999999999999999999999999999999", 0, ND_EOVERFLOW);
    /* The same edges spread across a point: 92233720368.54775807 at 8 decimals. */
    expect_parse("92233720368.54775807", 8, INT64_MAX);
    expect_parse("-92233720368.54775808", 8, INT64_MIN);
    expect_parse_err("92233720368.54775808", 8, ND_EOVERFLOW);
    expect_parse_err("-92233720368.54775809", 8, ND_EOVERFLOW);
    /* Overflow found only after scaling: 92233720369 whole units at 8 decimals. */
    expect_parse_err("92233720369", 8, ND_EOVERFLOW);
    expect_parse("92233720368", 8, 9223372036800000000LL);
}

Test(fixed, parse_big_at_18_decimals)
{
    expect_parse("1", 18, 1000000000000000000LL);
    expect_parse("9", 18, 9000000000000000000LL);
    expect_parse("-9", 18, -9000000000000000000LL);
    expect_parse("9.223372036854775807", 18, INT64_MAX);
    expect_parse("-9.223372036854775808", 18, INT64_MIN);
    expect_parse_err("9.223372036854775808", 18, ND_EOVERFLOW);
    expect_parse_err("9.3", 18, ND_EOVERFLOW);
    expect_parse_err("10", 18, ND_EOVERFLOW);
    expect_parse_err("-10", 18, ND_EOVERFLOW);
    expect_parse_err("123456789", 18, ND_EOVERFLOW);
}

static void expect_format(int64_t value, int decimals, const char *want)
{
    char buf[32];
    memset(buf, 'x', sizeof buf);
    size_t n = nd_fixed_format(value, decimals, buf, sizeof buf);
    cr_assert_str_eq(buf, want, "format(%lld, %d)", (long long)value, decimals);
    cr_assert_eq(n, strlen(want), "format(%lld, %d) length", (long long)value, decimals);
}

Test(fixed, format)
{
    expect_format(0, 0, "0");
    expect_format(0, 8, "0");
    expect_format(7, 0, "7");
    expect_format(700, 2, "7");
    expect_format(1250, 2, "12.5");
    expect_format(-1234, 2, "-12.34");
    expect_format(-1200, 2, "-12");
    expect_format(1, 8, "0.00000001");
    expect_format(-1, 8, "-0.00000001");
    expect_format(10, 8, "0.0000001");
    expect_format(50, 2, "0.5");
    expect_format(-50, 2, "-0.5");
    expect_format(100000001, 8, "1.00000001");
    expect_format(12345000000, 8, "123.45");
    expect_format(INT64_MAX, 0, "9223372036854775807");
    expect_format(INT64_MIN, 0, "-9223372036854775808");
    expect_format(INT64_MAX, 8, "92233720368.54775807");
    expect_format(INT64_MIN, 8, "-92233720368.54775808");
    expect_format(INT64_MIN, 18, "-9.223372036854775808");
    expect_format(1, 18, "0.000000000000000001");
    expect_format(1000000000000000000LL, 18, "1");
}

Test(fixed, format_fits_22_bytes)
{
    /* The longest output, INT64_MIN at 18 decimals, is 21 characters plus the NUL. */
    char buf[22];
    size_t n = nd_fixed_format(INT64_MIN, 18, buf, sizeof buf);
    cr_assert_eq(n, 21);
    cr_assert_str_eq(buf, "-9.223372036854775808");
}

Test(fixed, format_parse_round_trip)
{
    static const int64_t fixed_values[] = {
        0, 1, -1, 9, 10, -10, 99, 100, 12345, -12345, 100000000, -100000000,
        INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
    };
    char buf[32];
    for (int d = 0; d <= ND_DECIMALS_MAX; d++) {
        for (size_t i = 0; i < sizeof fixed_values / sizeof fixed_values[0]; i++) {
            nd_fixed_format(fixed_values[i], d, buf, sizeof buf);
            expect_parse(buf, d, fixed_values[i]);
        }
    }
    /* Random values, seed printed on failure through the assert message. */
    nd_rand_t rng;
    nd_rand_init(&rng, 20240601);
    for (int k = 0; k < 20000; k++) {
        int64_t v = (int64_t)nd_rand_next(&rng) >> (int)nd_rand_below(&rng, 64);
        int d = (int)nd_rand_below(&rng, ND_DECIMALS_MAX + 1);
        nd_fixed_format(v, d, buf, sizeof buf);
        int64_t back = SENTINEL;
        cr_assert_eq(parse(buf, d, &back), ND_OK, "seed 20240601: \"%s\" at %d", buf, d);
        cr_assert_eq(back, v, "seed 20240601: \"%s\" at %d", buf, d);
        /* Trimmed: a fractional part never ends in 0 and never leaves a bare point. */
        size_t n = strlen(buf);
        if (strchr(buf, '.')) {
            cr_assert_neq(buf[n - 1], '0', "untrimmed \"%s\"", buf);
            cr_assert_neq(buf[n - 1], '.', "bare point \"%s\"", buf);
        }
    }
}

Test(fixed, to_double)
{
    cr_assert_eq(nd_fixed_to_double(12345, 2), 123.45);
    cr_assert_eq(nd_fixed_to_double(-50, 2), -0.5);
    cr_assert_eq(nd_fixed_to_double(0, 8), 0.0);
    cr_assert_eq(nd_fixed_to_double(7, 0), 7.0);
}

Test(fixed, add_sub)
{
    int64_t v = SENTINEL;
    cr_assert_eq(nd_fixed_add(2, 3, &v), ND_OK);
    cr_assert_eq(v, 5);
    cr_assert_eq(nd_fixed_add(INT64_MAX, 0, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_add(INT64_MAX, INT64_MIN, &v), ND_OK);
    cr_assert_eq(v, -1);
    cr_assert_eq(nd_fixed_add(INT64_MIN, 0, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(nd_fixed_add(INT64_MAX - 1, 1, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_sub(5, 7, &v), ND_OK);
    cr_assert_eq(v, -2);
    cr_assert_eq(nd_fixed_sub(-1, INT64_MIN, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_sub(INT64_MIN + 1, 1, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(nd_fixed_sub(0, INT64_MAX, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN + 1);

    v = SENTINEL;
    cr_assert_eq(nd_fixed_add(INT64_MAX, 1, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_add(1, INT64_MAX, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_add(INT64_MIN, -1, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_add(INT64_MAX, INT64_MAX, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_add(INT64_MIN, INT64_MIN, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_sub(INT64_MIN, 1, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_sub(0, INT64_MIN, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_sub(INT64_MAX, -1, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_sub(INT64_MAX, INT64_MIN, &v), ND_EOVERFLOW);
    cr_assert_eq(v, SENTINEL);
}

/* One row: a * b / c and the expected result in each rounding mode. */
struct mul_div_case {
    int64_t a, b, c;
    int64_t down, up, half_even, trunc;
};

static const struct mul_div_case mul_div_cases[] = {
    /* 3.5 and its mirror images: floor, ceiling, nearest-even, toward zero. */
    {7, 1, 2, 3, 4, 4, 3},
    {-7, 1, 2, -4, -3, -4, -3},
    {7, 1, -2, -4, -3, -4, -3},
    {-7, 1, -2, 3, 4, 4, 3},
    {7, -1, 2, -4, -3, -4, -3},
    /* 2.5: the tie goes to the even 2; -2.5 goes to -2. */
    {5, 1, 2, 2, 3, 2, 2},
    {-5, 1, 2, -3, -2, -2, -2},
    {5, 1, -2, -3, -2, -2, -2},
    {-5, -1, -2, -3, -2, -2, -2},
    /* 1.5 ties to 2, -1.5 to -2; 0.5 ties to 0. */
    {3, 1, 2, 1, 2, 2, 1},
    {-3, 1, 2, -2, -1, -2, -1},
    {1, 1, 2, 0, 1, 0, 0},
    {-1, 1, 2, -1, 0, 0, 0},
    /* 15/10 = 1.5 -> 2, 25/10 = 2.5 -> 2, 35/10 = 3.5 -> 4. */
    {15, 1, 10, 1, 2, 2, 1},
    {25, 1, 10, 2, 3, 2, 2},
    {35, 1, 10, 3, 4, 4, 3},
    /* 7/3 = 2.33 and 8/3 = 2.67: no tie, nearest wins. */
    {7, 1, 3, 2, 3, 2, 2},
    {-7, 1, 3, -3, -2, -2, -2},
    {8, 1, 3, 2, 3, 3, 2},
    {-8, 1, 3, -3, -2, -3, -2},
    /* Exact results are never moved. */
    {6, 1, 3, 2, 2, 2, 2},
    {-6, 1, 3, -2, -2, -2, -2},
    {0, 5, 7, 0, 0, 0, 0},
    {0, -5, 7, 0, 0, 0, 0},
    /* 123.45 (2 decimals) * 0.5 (8 decimals) / 10^2 = 61.725 at 8 decimals, exact. */
    {12345, 50000000, 100, 6172500000, 6172500000, 6172500000, 6172500000},
    /* 0.33333333 * 3.00000001 at 8 decimals: the product 9999999933333333e-16 is
     * 0.9999999933333333, so 0.99999999 unless rounded up. */
    {33333333, 300000001, 100000000, 99999999, 100000000, 99999999, 99999999},
    /* The 128-bit product carries INT64_MAX * 4, which divides back into range:
     * (2^63 - 1) / 2 = 4611686018427387903.5. */
    {INT64_MAX, 4, 8, 4611686018427387903LL, 4611686018427387904LL, 4611686018427387904LL,
     4611686018427387903LL},
    {INT64_MIN, 4, 8, -4611686018427387904LL, -4611686018427387904LL, -4611686018427387904LL,
     -4611686018427387904LL},
    {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX},
    {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN},
    {INT64_MIN, 1, 1, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN},
    {INT64_MIN, -1, -1, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN},
    {INT64_MAX, -1, 1, INT64_MIN + 1, INT64_MIN + 1, INT64_MIN + 1, INT64_MIN + 1},
};

Test(fixed, mul_div_rounding_modes)
{
    for (size_t i = 0; i < sizeof mul_div_cases / sizeof mul_div_cases[0]; i++) {
        const struct mul_div_case *t = &mul_div_cases[i];
        const nd_round_t modes[4] = {ND_ROUND_DOWN, ND_ROUND_UP, ND_ROUND_HALF_EVEN,
                                     ND_ROUND_TRUNC};
        const int64_t want[4] = {t->down, t->up, t->half_even, t->trunc};
        for (int m = 0; m < 4; m++) {
            int64_t v = SENTINEL;
            nd_err_t rc = nd_fixed_mul_div(t->a, t->b, t->c, modes[m], &v);
            cr_assert_eq(rc, ND_OK, "row %zu mode %d: %s", i, m, nd_err_name(rc));
            cr_assert_eq(v, want[m], "row %zu (%lld*%lld/%lld) mode %d: %lld, want %lld", i,
                         (long long)t->a, (long long)t->b, (long long)t->c, m, (long long)v,
                         (long long)want[m]);
        }
    }
}

Test(fixed, mul_div_divide_by_zero)
{
    for (int m = ND_ROUND_DOWN; m <= ND_ROUND_TRUNC; m++) {
        int64_t v = SENTINEL;
        cr_assert_eq(nd_fixed_mul_div(7, 1, 0, (nd_round_t)m, &v), ND_EINVAL);
        cr_assert_eq(nd_fixed_mul_div(0, 0, 0, (nd_round_t)m, &v), ND_EINVAL);
        cr_assert_eq(nd_fixed_div128(5, 0, (nd_round_t)m, &v), ND_EINVAL);
        cr_assert_eq(v, SENTINEL);
    }
}

Test(fixed, mul_div_overflow)
{
    int64_t v = SENTINEL;
    cr_assert_eq(nd_fixed_mul_div(INT64_MAX, 2, 1, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_mul_div(INT64_MAX, INT64_MAX, 1, ND_ROUND_DOWN, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_mul_div(INT64_MIN, INT64_MIN, INT64_MAX, ND_ROUND_DOWN, &v),
                 ND_EOVERFLOW);
    /* -INT64_MIN is 2^63, one past INT64_MAX. */
    cr_assert_eq(nd_fixed_mul_div(INT64_MIN, -1, 1, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_mul_div(INT64_MIN, 1, -1, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_mul_div(INT64_MIN, 2, 1, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(v, SENTINEL);

    /* (2^32 - 1)(2^32 + 1) / 2 = (2^64 - 1) / 2 = INT64_MAX + 0.5: truncating or flooring fits,
     * rounding up (or half-even, since INT64_MAX is odd) steps one past the edge. */
    const int64_t a = 4294967295LL, b = 4294967297LL;
    cr_assert_eq(nd_fixed_mul_div(a, b, 2, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_mul_div(a, b, 2, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    v = SENTINEL;
    cr_assert_eq(nd_fixed_mul_div(a, b, 2, ND_ROUND_UP, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_mul_div(a, b, 2, ND_ROUND_HALF_EVEN, &v), ND_EOVERFLOW);
    cr_assert_eq(v, SENTINEL);
    /* The mirror: -(2^64 - 1) / 2 = INT64_MIN + 0.5 rounds up into range, down past it. */
    cr_assert_eq(nd_fixed_mul_div(-a, b, 2, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN + 1);
    cr_assert_eq(nd_fixed_mul_div(-a, b, 2, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(nd_fixed_mul_div(-a, b, 2, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN);
    v = SENTINEL;
    cr_assert_eq(nd_fixed_mul_div(-a, b, 4, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, -4611686018427387904LL);
}

Test(fixed, div128)
{
    int64_t v = SENTINEL;
    const __int128 big = (__int128)INT64_MAX * 1000;
    cr_assert_eq(nd_fixed_div128(big, 1000, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_div128(big + 999, 1000, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    v = SENTINEL;
    cr_assert_eq(nd_fixed_div128(big + 1, 1000, ND_ROUND_UP, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_div128(big + 500, 1000, ND_ROUND_HALF_EVEN, &v), ND_EOVERFLOW);
    cr_assert_eq(v, SENTINEL);
    cr_assert_eq(nd_fixed_div128(big + 499, 1000, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_div128(-(__int128)11, 4, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -3); /* -2.75 */
    cr_assert_eq(nd_fixed_div128(-(__int128)10, 4, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -2); /* -2.5 ties to even */
    cr_assert_eq(nd_fixed_div128(-(__int128)9, 4, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -2); /* -2.25 */
}

Test(fixed, rescale_up)
{
    int64_t v = SENTINEL;
    /* 123.45 at 8 decimals. */
    cr_assert_eq(nd_fixed_rescale(12345, 2, 8, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, 12345000000);
    cr_assert_eq(nd_fixed_rescale(-12345, 2, 8, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, -12345000000);
    cr_assert_eq(nd_fixed_rescale(1, 0, 18, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, 1000000000000000000LL);
    cr_assert_eq(nd_fixed_rescale(-9, 0, 18, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, -9000000000000000000LL);
    cr_assert_eq(nd_fixed_rescale(INT64_MAX, 5, 5, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(nd_fixed_rescale(INT64_MIN, 0, 0, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, INT64_MIN);
    cr_assert_eq(nd_fixed_rescale(922337203685477580LL, 0, 1, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, 9223372036854775800LL);

    v = SENTINEL;
    cr_assert_eq(nd_fixed_rescale(10, 0, 18, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_rescale(-10, 0, 18, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_rescale(INT64_MAX, 0, 1, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_rescale(INT64_MIN, 3, 4, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(nd_fixed_rescale(922337203685477581LL, 0, 1, ND_ROUND_TRUNC, &v), ND_EOVERFLOW);
    cr_assert_eq(v, SENTINEL);
}

Test(fixed, rescale_down_rounds)
{
    int64_t v = SENTINEL;
    /* 123.45 to whole units. */
    cr_assert_eq(nd_fixed_rescale(12345, 2, 0, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, 123);
    cr_assert_eq(nd_fixed_rescale(12345, 2, 0, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, 124);
    cr_assert_eq(nd_fixed_rescale(12345, 2, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, 123);
    cr_assert_eq(nd_fixed_rescale(12345, 2, 0, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, 123);
    /* -123.45 to whole units. */
    cr_assert_eq(nd_fixed_rescale(-12345, 2, 0, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, -124);
    cr_assert_eq(nd_fixed_rescale(-12345, 2, 0, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, -123);
    cr_assert_eq(nd_fixed_rescale(-12345, 2, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -123);
    cr_assert_eq(nd_fixed_rescale(-12345, 2, 0, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, -123);
    /* Ties at one decimal: 12.5 -> 12, 13.5 -> 14, -12.5 -> -12 under half-even. */
    cr_assert_eq(nd_fixed_rescale(125, 1, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, 12);
    cr_assert_eq(nd_fixed_rescale(135, 1, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, 14);
    cr_assert_eq(nd_fixed_rescale(-125, 1, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -12);
    cr_assert_eq(nd_fixed_rescale(-135, 1, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -14);
    /* Exact: 1.2350 at 4 decimals is 1.235 at 3. */
    cr_assert_eq(nd_fixed_rescale(12350, 4, 3, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, 1235);
    /* 0.00000001 at 8 decimals to 2: 0 or 0.01 depending on the mode. */
    cr_assert_eq(nd_fixed_rescale(1, 8, 2, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, 0);
    cr_assert_eq(nd_fixed_rescale(1, 8, 2, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, 1);
    cr_assert_eq(nd_fixed_rescale(-1, 8, 2, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, -1);
    cr_assert_eq(nd_fixed_rescale(-1, 8, 2, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, 0);
    /* INT64_MIN at 18 decimals is -9.22...: floor -10, toward zero -9, nearest -9. */
    cr_assert_eq(nd_fixed_rescale(INT64_MIN, 18, 0, ND_ROUND_DOWN, &v), ND_OK);
    cr_assert_eq(v, -10);
    cr_assert_eq(nd_fixed_rescale(INT64_MIN, 18, 0, ND_ROUND_TRUNC, &v), ND_OK);
    cr_assert_eq(v, -9);
    cr_assert_eq(nd_fixed_rescale(INT64_MIN, 18, 0, ND_ROUND_HALF_EVEN, &v), ND_OK);
    cr_assert_eq(v, -9);
    cr_assert_eq(nd_fixed_rescale(INT64_MAX, 18, 0, ND_ROUND_UP, &v), ND_OK);
    cr_assert_eq(v, 10);
}

Test(fixed, floor_to)
{
    cr_assert_eq(nd_fixed_floor_to(17, 5), 15);
    cr_assert_eq(nd_fixed_floor_to(15, 5), 15);
    cr_assert_eq(nd_fixed_floor_to(4, 5), 0);
    cr_assert_eq(nd_fixed_floor_to(0, 5), 0);
    cr_assert_eq(nd_fixed_floor_to(123456789, 1000), 123456000);
    cr_assert_eq(nd_fixed_floor_to(7, 1), 7);
    /* Negative values go down, away from zero: the floor, not truncation. */
    cr_assert_eq(nd_fixed_floor_to(-1, 5), -5);
    cr_assert_eq(nd_fixed_floor_to(-5, 5), -5);
    cr_assert_eq(nd_fixed_floor_to(-7, 5), -10);
    cr_assert_eq(nd_fixed_floor_to(-10, 5), -10);
    cr_assert_eq(nd_fixed_floor_to(-123456789, 1000), -123457000);
    cr_assert_eq(nd_fixed_floor_to(INT64_MAX, 1), INT64_MAX);
    cr_assert_eq(nd_fixed_floor_to(INT64_MAX, 10), 9223372036854775800LL);
    cr_assert_eq(nd_fixed_floor_to(INT64_MAX, INT64_MAX), INT64_MAX);
    cr_assert_eq(nd_fixed_floor_to(INT64_MIN, 2), INT64_MIN);
    cr_assert_eq(nd_fixed_floor_to(INT64_MIN + 1, 2), INT64_MIN);
    cr_assert_eq(nd_fixed_floor_to(INT64_MIN + 1, INT64_MAX), INT64_MIN + 1);
}

Test(fixed, floor_to_zero_step_aborts, .signal = SIGABRT)
{
    (void)nd_fixed_floor_to(5, 0);
}

Test(fixed, floor_to_below_int64_aborts, .signal = SIGABRT)
{
    /* INT64_MIN = -3 * 3074457345618258602 - 2: the multiple of 3 below it is not an int64. */
    (void)nd_fixed_floor_to(INT64_MIN, 3);
}

/* The 128-bit division as written before its divq path: the reference for the test below. */
static nd_err_t div128_reference(__int128 num, int64_t den, nd_round_t mode, int64_t *out)
{
    if (den == 0)
        return ND_EINVAL;
    __int128 q = num / den, r = num % den;
    if (r != 0) {
        int positive = (num < 0) == (den < 0);
        if (mode == ND_ROUND_DOWN && !positive)
            q -= 1;
        if (mode == ND_ROUND_UP && positive)
            q += 1;
        if (mode == ND_ROUND_HALF_EVEN) {
            __int128 twice = (r < 0 ? -r : r) * 2, d = den < 0 ? -(__int128)den : den;
            if (twice > d || (twice == d && (q & 1) != 0))
                q += positive ? 1 : -1;
        }
    }
    if (q > INT64_MAX || q < INT64_MIN)
        return ND_EOVERFLOW;
    *out = (int64_t)q;
    return ND_OK;
}

/* nd_fixed_div128 (a divq of the magnitudes when the quotient fits 64 bits) agrees with the
 * plain __int128 division in code and value: every rounding mode, both signs, ties, the
 * int64 edges (INT64_MIN divisor and quotient, one past INT64_MAX) and random magnitudes. */
Test(fixed, div128_agrees_with_int128_division)
{
    const __int128 nums[] = {0, 1, -1, 5, -5, 7, -7, INT64_MAX, INT64_MIN,
                             (__int128)INT64_MAX * 2 + 1, (__int128)INT64_MIN * 2,
                             (__int128)INT64_MAX * 10 + 5, (__int128)INT64_MIN * 10 - 5,
                             (__int128)INT64_MAX * INT64_MAX, (__int128)INT64_MIN * INT64_MIN};
    const int64_t dens[] = {1, -1, 2, -2, 10, -10, 3, INT64_MAX, INT64_MIN, 1000000007};
    uint64_t s = 0x9E3779B97F4A7C15ULL;
    for (int k = 0; k < 400000; k++) {
        __int128 num;
        int64_t den;
        if (k < (int)(sizeof nums / sizeof nums[0] * (sizeof dens / sizeof dens[0]))) {
            num = nums[k % (int)(sizeof nums / sizeof nums[0])];
            den = dens[k / (int)(sizeof nums / sizeof nums[0])];
        } else {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            uint64_t a = s;
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            num = (__int128)(((unsigned __int128)a << 64) | s) >> (int)(a % 127);
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            den = (int64_t)s >> (int)(a % 64);
            if (k % 5 == 0 && den != 0) /* exact halves and multiples: ties and zero remainders */
                num = (__int128)den * (int64_t)(a >> 3) + (k % 10 == 0 ? den / 2 : 0);
        }
        for (int mode = 0; mode < 4; mode++) {
            int64_t want = 0, got = 0;
            nd_err_t want_rc = div128_reference(num, den, (nd_round_t)mode, &want);
            nd_err_t got_rc = nd_fixed_div128(num, den, (nd_round_t)mode, &got);
            cr_assert_eq(got_rc, want_rc, "case %d mode %d", k, mode);
            cr_assert_eq(got, want, "case %d mode %d", k, mode);
        }
    }
}

/* nd_i128_to_double gives (double)v bit for bit: the edges of its three ways (2^63, 2^64,
 * 2^73), ties and sticky bits far below the rounding bit, and a million random values of every
 * magnitude and both signs. */
Test(fixed, i128_to_double_is_the_exact_conversion)
{
    const __int128 one = 1;
    const __int128 edges[] = {
        0, 1, -1, INT64_MAX, INT64_MIN, (__int128)INT64_MAX + 1, (__int128)INT64_MIN - 1,
        (one << 64) - 1, one << 64, (one << 64) + 1, -(one << 64), (one << 64) + 2048,
        (one << 64) + 2049, (one << 64) + 4096 + 2048, (one << 73) - 1, one << 73,
        -(one << 73) + 1, (one << 72) + (one << 19) + 1, (one << 72) + (one << 19),
        (one << 72) + (one << 19) + (one << 20), ((one << 53) + 1) << 11,
        (((one << 53) + 1) << 10) + 1, (__int128)(((unsigned __int128)1 << 127) - 1),
        (__int128)((unsigned __int128)1 << 127), /* the most negative */
    };
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++) {
        double want = (double)edges[k], got = nd_i128_to_double(edges[k]);
        cr_assert(memcmp(&want, &got, sizeof want) == 0, "edge %zu: %a != %a", k, got, want);
    }
    uint64_t s = 88172645463325252ULL;
    for (int k = 0; k < 1000000; k++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint64_t lo = s;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        __int128 v = (__int128)(((unsigned __int128)s << 64) | lo);
        v >>= (int)(k % 2 ? 54 + s % 10 : s % 127); /* half of them between 2^64 and 2^74 */
        if (k % 3 == 0) /* runs of zeros below the rounding bit: ties and sticky bits */
            v = (__int128)((unsigned __int128)v & (~(unsigned __int128)0 << (int)(lo % 40)));
        if (k % 7 == 0) /* exact ties at 2^64..2^73: a one just below 53 significant bits */
            v = (__int128)(((unsigned __int128)(lo | (one << 52)) >> 0) << (int)(12 + s % 9)) +
                ((__int128)1 << (int)(11 + s % 9));
        double want = (double)v, got = nd_i128_to_double(v);
        cr_assert(memcmp(&want, &got, sizeof want) == 0, "random %d: %a != %a", k, got, want);
    }
}
