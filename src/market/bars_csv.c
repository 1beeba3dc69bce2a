/* bars_csv.c: streaming bar loaders for the plain CSV format (ts,open,high,low,close,volume)
 * and Binance's kline CSV.
 *
 * A source reads its file through one 1 MiB buffer and hands out one validated bar per call,
 * so memory stays flat whatever the file size. Invariants: every bar handed out has passed
 * every row check (column count, well-formed numbers within the instrument's scales,
 * high >= max(open, close), low <= min(open, close), low > 0, volume >= 0, time strictly
 * increasing); the first bad row ends the source for good, with "PATH:LINE: reason" in err
 * and the same error code returned by every later call. docs/data-formats.md is the spec.
 * Three paths parse a row and agree on every byte of input: the row-plan path (CSV and kline on
 * x86-64 with AVX2), the scalar in-buffer path (fast_next) and the careful line path (slow_row),
 * which alone words errors; each hands what it does not take to the next. */
#include "market/market_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/limits.h"
#include "noderr/market.h"
#include "noderr/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* 128 KiB reads amortise the syscall (~2,000 typical rows each) while the buffer stays in L2
 * and costs 32 first-touch page faults, where 1 MiB cost 256: a fault takes several
 * microseconds in a VM, a whole backtest's worth of parsing 100k rows (bench/RESULTS.md). */
#define READ_BUF_SIZE ((size_t)128 << 10)
/* Files up to 256 MiB (4.5 M typical rows) are mapped instead (nd__lines_map): no copy out of
 * the page cache. Beyond that they stream through the buffer, so that a large file's pages are
 * not all held mapped at once. */
#define MAP_SIZE_MAX ((size_t)256 << 20)
#define CSV_COLUMNS 6
#define KLINE_COLUMNS 12
/* One more than the widest format so that surplus columns are counted, not silently merged. */
#define FIELDS_MAX (KLINE_COLUMNS + 1)
/* Kline open times at or above 10^14 are microseconds (10^14 us is 1973-03-03, while 10^14 ms
 * is the year 5138), so one threshold tells the two units apart for every real file. */
#define KLINE_US_MIN 100000000000000LL
/* How much of a bad field is quoted back in an error message. */
#define QUOTE_MAX 40

ND_STATIC_ASSERT(READ_BUF_SIZE > 2 * ND_LINE_MAX, "a full line always fits the read buffer");

static const int64_t pow10_table[ND_DECIMALS_MAX + 1] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL,
};

static const char csv_header[] = "ts,open,high,low,close,volume";
static const char kline_header_prefix[] = "open_time,";

typedef struct csv_source {
    nd_bar_source_t base; /* first member: the public pointer converts back to this struct */
    nd__lines_t lines;    /* READ_BUF_SIZE bytes of buffer, ND_LINE_MAX long lines at most */
    char *path;
    nd_bar_format_t format;
    int px_decimals;
    int qty_decimals;
    uint32_t instrument_id;
    uint64_t id_word;     /* instrument_id then _reserved (0) as one nd_bar_t word, for plan_row */
    int64_t prev_ts_ns;
    int64_t prev_ts_raw;  /* the previous row's time as written in the file, for messages; not
                           * kept by plan_row: a CSV time is prev_ts_ns / 10^6 (prev_raw) */
    nd_err_t status;      /* ND_OK while reading, then the sticky end (ND_EEOF or an error) */
    struct csv_plan *plans; /* the row-plan cache (plan_next), NULL when that path is off */
} csv_source_t;

/* Ends the source with code and writes "PATH:LINE: reason" into its err. */
/* Ends the source with code and "PATH:LINE: reason" (market_int.h). */
#define row_fail(s, code, ...)                                                                     \
    nd__market_fail((s)->base.err, sizeof (s)->base.err, &(s)->status, (s)->path,                \
                    (s)->lines.line_number, code, __VA_ARGS__)

/* A read of the line reader, its failures worded for this source. */
#define checked(s, rc)                                                                             \
    nd__lines_check(&(s)->lines, rc, (s)->path, (s)->base.err, sizeof (s)->base.err, &(s)->status)


/* Reads a run of digits; *count is its length, *value its low 64 bits (only meaningful when
 * count <= 19). */
static inline const char *digit_run(const char *p, const char *end, uint64_t *value /* OUT */,
                                    size_t *count /* OUT */)
{
    const char *start = p;
    uint64_t acc = 0;
    for (; p < end; p++) {
        unsigned digit = (unsigned)(unsigned char)*p - '0';
        if (digit > 9)
            break;
        acc = acc * 10 + digit;
    }
    *value = acc;
    *count = (size_t)(p - start);
    return p;
}

/* Fast-path scan of an unsigned plain decimal of at most 18 digits and at most `decimals`
 * fraction digits, stopping at the first other byte; NULL when the text needs the full parser
 * (or is wrong: the slow path then finds and words the error). */
static inline const char *scan_fixed(const char *p, const char *end, int decimals,
                                     int64_t *out /* OUT */)
{
    uint64_t acc;
    size_t whole_digits, frac_digits = 0;
    p = digit_run(p, end, &acc, &whole_digits);
    if (p < end && *p == '.') {
        /* Continue the same accumulator through the fraction. */
        const char *frac = ++p;
        for (; p < end; p++) {
            unsigned digit = (unsigned)(unsigned char)*p - '0';
            if (digit > 9)
                break;
            acc = acc * 10 + digit;
        }
        frac_digits = (size_t)(p - frac);
    }
    size_t digits = whole_digits + frac_digits;
    if (digits == 0 || digits > 18 || frac_digits > (size_t)decimals)
        return NULL;
    int64_t value;
    if (__builtin_mul_overflow((int64_t)acc, pow10_table[decimals - (int)frac_digits], &value))
        return NULL;
    *out = value;
    return p;
}

/* Scans one field that must be followed by a comma; NULL if it is not. */
static inline const char *scan_column(const char *p, const char *end, int decimals,
                                      int64_t *out /* OUT */)
{
    p = scan_fixed(p, end, decimals, out);
    return p != NULL && p < end && *p == ',' ? p + 1 : NULL;
}

/* nd_fixed_parse with a fast path for the common case: unsigned, at most 18 digits and no more
 * fraction digits than the scale. Everything else (signs, long inputs, surplus zeros, errors)
 * goes to nd_fixed_parse, so the accepted language and the results are exactly the same. */
static nd_err_t parse_fixed(const char *text, size_t len, int decimals, int64_t *out /* OUT */)
{
    ND_ASSERT(decimals >= 0);
    ND_ASSERT(decimals <= ND_DECIMALS_MAX);
    uint64_t acc = 0;
    size_t i = 0, point = len;
    for (; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)text[i] - '0';
        if (digit <= 9) {
            acc = acc * 10 + digit;
            continue;
        }
        if (text[i] != '.' || point != len)
            break;
        point = i;
    }
    size_t digits = point == len ? len : len - 1;
    size_t frac = point == len ? 0 : len - point - 1;
    if (i == len && digits > 0 && digits <= 18 && frac <= (size_t)decimals) {
        int64_t value;
        if (__builtin_mul_overflow((int64_t)acc, pow10_table[decimals - (int)frac], &value))
            return ND_EOVERFLOW;
        *out = value;
        return ND_OK;
    }
    return nd_fixed_parse(text, len, decimals, out);
}

/* Parses an unsigned integer of 1 to 18 digits; -1 on anything else. */
static int parse_uint(const char *text, size_t len, int64_t *out /* OUT */)
{
    if (len == 0 || len > 18)
        return -1;
    int64_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)text[i] - '0';
        if (digit > 9)
            return -1;
        acc = acc * 10 + (int64_t)digit;
    }
    *out = acc;
    return 0;
}

/* Checks that a field we do not keep (kline extras) is a plain decimal: digits, one point. */
static int is_decimal(const char *text, size_t len)
{
    size_t digits = 0, points = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] >= '0' && text[i] <= '9')
            digits++;
        else if (text[i] == '.')
            points++;
        else
            return 0;
    }
    return digits > 0 && points <= 1;
}

/* Parses one price or volume column, or ends the source with the reason. */
static nd_err_t parse_column(csv_source_t *s, const nd__field_t *f, const char *name, int decimals,
                             const char *scale_name, int64_t *out /* OUT */)
{
    nd_err_t rc = parse_fixed(f->text, f->len, decimals, out);
    if (rc == ND_OK)
        return ND_OK;
    int shown = f->len > QUOTE_MAX ? QUOTE_MAX : (int)f->len;
    if (rc == ND_EPRECISION)
        return row_fail(s, rc, "%s %.*s has more decimals than the %s scale (%d)", name, shown,
                        f->text, scale_name, decimals);
    if (rc == ND_EOVERFLOW)
        return row_fail(s, rc, "%s %.*s out of range", name, shown, f->text);
    char quoted[4 * QUOTE_MAX + 4]; /* a NUL or control byte is shown, not hidden */
    return row_fail(s, ND_EPARSE, "%s: malformed number '%s'", name,
                    nd_text_escape(f->text, f->len, quoted, sizeof quoted));
}

/* Parses the open time into ns, applying the format's unit rule. */
static nd_err_t parse_time(csv_source_t *s, const nd__field_t *f, int64_t *ts_ns /* OUT */,
                           int64_t *raw /* OUT */)
{
    const char *name = s->format == ND_BAR_FORMAT_CSV ? "ts" : "open_time";
    int shown = f->len > QUOTE_MAX ? QUOTE_MAX : (int)f->len;
    int64_t value;
    if (parse_uint(f->text, f->len, &value) != 0) {
        if (f->len > 18 && is_decimal(f->text, f->len) && memchr(f->text, '.', f->len) == NULL)
            return row_fail(s, ND_ERANGE, "%s %.*s out of range", name, shown, f->text);
        return row_fail(s, ND_EPARSE, "%s: malformed integer '%.*s'", name, shown, f->text);
    }
    int64_t unit_ns = 1000000; /* milliseconds */
    if (s->format == ND_BAR_FORMAT_KLINE && value >= KLINE_US_MIN)
        unit_ns = 1000; /* microseconds */
    if (value > INT64_MAX / unit_ns)
        return row_fail(s, ND_ERANGE, "%s %.*s out of range", name, shown, f->text);
    *ts_ns = value * unit_ns;
    *raw = value;
    return ND_OK;
}

/* Formats a fixed-point value for a message. */
static const char *fmt_fixed(int64_t value, int decimals, char *buf)
{
    nd_fixed_format(value, decimals, buf, 24);
    return buf;
}

/* Applies the OHLCV consistency rules to a parsed bar. */
static nd_err_t check_ohlcv(csv_source_t *s, const nd_bar_t *b)
{
    char x[24], y[24];
    int pd = s->px_decimals;
    if (b->high < b->low)
        return row_fail(s, ND_EPARSE, "high %s below low %s", fmt_fixed(b->high, pd, x),
                        fmt_fixed(b->low, pd, y));
    if (b->high < b->open)
        return row_fail(s, ND_EPARSE, "high %s below open %s", fmt_fixed(b->high, pd, x),
                        fmt_fixed(b->open, pd, y));
    if (b->high < b->close)
        return row_fail(s, ND_EPARSE, "high %s below close %s", fmt_fixed(b->high, pd, x),
                        fmt_fixed(b->close, pd, y));
    if (b->low > b->open)
        return row_fail(s, ND_EPARSE, "low %s above open %s", fmt_fixed(b->low, pd, x),
                        fmt_fixed(b->open, pd, y));
    if (b->low > b->close)
        return row_fail(s, ND_EPARSE, "low %s above close %s", fmt_fixed(b->low, pd, x),
                        fmt_fixed(b->close, pd, y));
    if (b->low <= 0)
        return row_fail(s, ND_EPARSE, "low %s not positive", fmt_fixed(b->low, pd, x));
    if (b->volume < 0)
        return row_fail(s, ND_EPARSE, "volume %s negative",
                        fmt_fixed(b->volume, s->qty_decimals, x));
    return ND_OK;
}

/* Checks the kline columns we do not keep: close time, quote volume, trades and the two taker
 * volumes must be plain non-negative decimals; the last column is documented as ignored. */
static nd_err_t check_kline_extras(csv_source_t *s, const nd__field_t *fields)
{
    static const char *const names[] = {"close_time", "quote_volume", "trades",
                                        "taker_buy_volume", "taker_buy_quote_volume"};
    for (int k = 0; k < 5; k++) {
        const nd__field_t *f = &fields[6 + k];
        if (!is_decimal(f->text, f->len)) {
            char quoted[4 * QUOTE_MAX + 4];
            return row_fail(s, ND_EPARSE, "%s: malformed number '%s'", names[k],
                            nd_text_escape(f->text, f->len, quoted, sizeof quoted));
        }
    }
    return ND_OK;
}

/* Scans the kline tail after the volume's comma: five plain decimals each followed by a comma,
 * then the ignored last column, which must not hold another comma. 0 on any deviation. */
static int scan_kline_tail(const char *p, const char *end)
{
    for (int k = 0; k < 5; k++) {
        const char *start = p;
        int points = 0;
        for (; p < end && *p != ','; p++) {
            points += *p == '.';
            if ((*p < '0' || *p > '9') && *p != '.')
                return 0;
        }
        if (p == end || p - start == points || points > 1)
            return 0;
        p++;
    }
    return memchr(p, ',', (size_t)(end - p)) == NULL;
}

/* One pass over a well-formed row in its common shape. 0 sends the row to slow_row, which
 * accepts the rarer forms (signs, surplus zeros, long numbers) or words the error. */
static int fast_row(const csv_source_t *s, const char *line, size_t len, nd_bar_t *b /* OUT */,
                    int64_t *raw /* OUT */)
{
    const char *p, *end = line + len;
    uint64_t ts_digits;
    size_t ts_len;
    const char *q = digit_run(line, end, &ts_digits, &ts_len);
    if (ts_len == 0 || ts_len > 18 || q == end || *q != ',')
        return 0;
    int64_t ts = (int64_t)ts_digits;
    int pd = s->px_decimals, qd = s->qty_decimals;
    p = q + 1;
    if ((p = scan_column(p, end, pd, &b->open)) == NULL ||
        (p = scan_column(p, end, pd, &b->high)) == NULL ||
        (p = scan_column(p, end, pd, &b->low)) == NULL ||
        (p = scan_column(p, end, pd, &b->close)) == NULL)
        return 0;
    if (s->format == ND_BAR_FORMAT_CSV) {
        if (scan_fixed(p, end, qd, &b->volume) != end)
            return 0;
    } else if ((p = scan_column(p, end, qd, &b->volume)) == NULL || !scan_kline_tail(p, end)) {
        return 0;
    }
    int64_t unit_ns = 1000000; /* milliseconds */
    if (s->format == ND_BAR_FORMAT_KLINE && ts >= KLINE_US_MIN)
        unit_ns = 1000; /* microseconds */
    if (ts > INT64_MAX / unit_ns)
        return 0;
    b->ts_ns = ts * unit_ns;
    *raw = ts;
    return 1;
}

/* The in-buffer fast path (fast_next) parses a row straight from the read buffer, eight bytes
 * at a time, and needs FAST_WINDOW bytes ahead of the row so that no load passes the buffer's
 * data: a row it accepts is at most 17 + 10 * 34 bytes before the ignored kline column, whose
 * scan stops at the window's end. Smaller than ND_LINE_MAX, so an accepted row is never one
 * the line reader would call too long. */
#define FAST_WINDOW 512
/* The fast path's helpers must fold into fast_next: a call per number costs more than it parses. */
#define ND_FAST_INLINE inline __attribute__((always_inline))
ND_STATIC_ASSERT(FAST_WINDOW <= ND_LINE_MAX, "a fast-path row is never over the line limit");
ND_STATIC_ASSERT(FAST_WINDOW < READ_BUF_SIZE, "the window fits the read buffer");

/* Eight bytes loaded little-endian (the first byte lowest) and XORed with '0', which maps
 * exactly '0'..'9' to 0..9. */
static ND_FAST_INLINE uint64_t swar_load(const char *p)
{
    uint64_t word;
    memcpy(&word, p, sizeof word);
    return word ^ 0x3030303030303030ULL;
}

/* A flag (0x80) on each byte of x that is not a digit: its high bit is set, or adding 0x76
 * carries into its high bit (10..127 do, 0..9 do not). Only a byte of 0x8A or more carries
 * into the byte above, and such a byte is flagged itself: the first two flags are exact when
 * the first is a point, the first always. */
static ND_FAST_INLINE uint64_t swar_flags(uint64_t x)
{
    return ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL;
}

/* How many of the 8 bytes of x lead as digits (0..8). */
static ND_FAST_INLINE unsigned swar_count(uint64_t x)
{
    uint64_t flags = swar_flags(x);
    return flags ? (unsigned)__builtin_ctzll(flags) >> 3 : 8;
}

/* The value of the first count (1..8) digit bytes of x. */
static ND_FAST_INLINE uint64_t swar_value(uint64_t x, unsigned count)
{
    /* Push the non-digits out of the top; zeros come in as leading zero digits. */
    x <<= 8 * (8 - count);
    /* Pairs, then fours, then eight: the classic SWAR reduction of eight decimal digits. */
    x = (x * 10) + (x >> 8);
    return (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
            (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >> 32;
}

/* The digits leading the 8 bytes at p: how many (0..8) and their value. */
static ND_FAST_INLINE unsigned swar_digits8(const char *p, uint64_t *value /* OUT */)
{
    uint64_t x = swar_load(p);
    unsigned count = swar_count(x);
    *value = count == 0 ? 0 : swar_value(x, count);
    return count;
}

/* A run of up to 16 digits at p, read in two loads; *count is 17 when the run is longer (the
 * caller falls back). Reads at most 16 bytes from p. */
static ND_FAST_INLINE const char *swar_run(const char *p, uint64_t *value /* OUT */,
                                   unsigned *count /* OUT */)
{
    uint64_t high, low;
    unsigned n = swar_digits8(p, &high);
    if (n < 8) {
        *value = high;
        *count = n;
        return p + n;
    }
    unsigned m = swar_digits8(p + 8, &low);
    *value = high * (uint64_t)pow10_table[m] + low;
    *count = m == 8 ? 17 : 8 + m;
    return p + 8 + m;
}

/* An unsigned plain decimal in the fast path's shape: at most 16 digits on each side of the
 * point and no more fraction digits than the scale. NULL sends the row to the careful path,
 * which accepts the rarer forms (signs, surplus zeros, long numbers) or words the error; when
 * this accepts, the value is exactly nd_fixed_parse's. Reads at most 33 bytes from p. */
static ND_FAST_INLINE const char *fast_fixed(const char *p, int decimals, int64_t *out /* OUT */)
{
    /* The commonest shape, "7195.24": digits, a point and digits ending within 9 bytes. One
     * flag word gives the point (the first non-digit) and the end (the second, or byte 8 when
     * there is none in the word and that byte is not a digit either); the point's byte is
     * squeezed out (the bytes above it move down one) so that one conversion reads all the
     * digits. */
    uint64_t x = swar_load(p);
    uint64_t flags = swar_flags(x);
    unsigned point = (unsigned)__builtin_ctzll(flags | ((uint64_t)1 << 63)) >> 3;
    if (point > 0 && p[point] == '.') {
        uint64_t rest = flags & (flags - 1);
        unsigned end = rest ? (unsigned)__builtin_ctzll(rest) >> 3 : 8;
        unsigned frac_count = end - point - 1;
        if (frac_count <= (unsigned)decimals &&
            (rest != 0 || (unsigned)(unsigned char)p[8] - '0' > 9)) {
            uint64_t low_mask = ((uint64_t)1 << (8 * point)) - 1;
            uint64_t merged = (x & low_mask) | ((x >> 8) & ~low_mask);
            int64_t value;
            if (__builtin_mul_overflow((int64_t)swar_value(merged, end - 1),
                                       pow10_table[decimals - (int)frac_count], &value))
                return NULL;
            *out = value;
            return p + end;
        }
    }
    uint64_t whole, frac = 0;
    unsigned whole_count, frac_count = 0;
    p = swar_run(p, &whole, &whole_count);
    if (*p == '.')
        p = swar_run(p + 1, &frac, &frac_count);
    if (whole_count + frac_count == 0 || whole_count > 16 || frac_count > 16 ||
        frac_count > (unsigned)decimals)
        return NULL;
    int64_t scaled, value;
    if (__builtin_mul_overflow((int64_t)whole, pow10_table[decimals], &scaled))
        return NULL;
    /* frac < 10^frac_count, so this product stays below 10^decimals. */
    if (__builtin_add_overflow(scaled, (int64_t)frac * pow10_table[decimals - (int)frac_count],
                               &value))
        return NULL;
    *out = value;
    return p;
}

/* fast_fixed followed by a comma; NULL otherwise. Reads at most 34 bytes from p. */
static ND_FAST_INLINE const char *fast_column(const char *p, int decimals, int64_t *out /* OUT */)
{
    p = fast_fixed(p, decimals, out);
    return p != NULL && *p == ',' ? p + 1 : NULL;
}

/* The kline tail after the volume's comma, as check_kline_extras and scan_kline_tail accept
 * it (five plain decimals each followed by a comma, then the ignored column without a comma),
 * up to its '\n'; NULL on any deviation or when the '\n' is not before end. */
static inline const char *fast_kline_tail(const char *p, const char *end)
{
    for (int k = 0; k < 5; k++) {
        uint64_t ignored;
        unsigned whole_count, frac_count = 0;
        p = swar_run(p, &ignored, &whole_count);
        if (*p == '.')
            p = swar_run(p + 1, &ignored, &frac_count);
        if (whole_count + frac_count == 0 || whole_count > 16 || frac_count > 16 || *p != ',')
            return NULL;
        p++;
    }
    for (; p < end && *p != '\n'; p++)
        if (*p == ',')
            return NULL;
    return p < end ? p : NULL;
}

/* Parses the row at the start of the line reader's window in place, in one pass with no line
 * search of its own. 0 when the row is not in the common shape or the window is short (near a
 * refill or the end of the file): nothing is consumed and the line-based path takes over. */
static int fast_next(csv_source_t *s, nd_bar_t *b /* OUT */, int64_t *raw /* OUT */)
{
    size_t avail;
    const char *start = nd__lines_peek(&s->lines, &avail), *p;
    if (avail < FAST_WINDOW)
        return 0;
    uint64_t ts;
    unsigned ts_count;
    p = swar_run(start, &ts, &ts_count);
    if (ts_count == 0 || ts_count > 16 || *p != ',')
        return 0;
    int pd = s->px_decimals, qd = s->qty_decimals;
    if ((p = fast_column(p + 1, pd, &b->open)) == NULL ||
        (p = fast_column(p, pd, &b->high)) == NULL || (p = fast_column(p, pd, &b->low)) == NULL ||
        (p = fast_column(p, pd, &b->close)) == NULL || (p = fast_fixed(p, qd, &b->volume)) == NULL)
        return 0;
    if (s->format == ND_BAR_FORMAT_KLINE) {
        if (*p != ',' || (p = fast_kline_tail(p + 1, start + FAST_WINDOW)) == NULL)
            return 0;
    } else {
        p += *p == '\r'; /* the line reader strips one '\r' before the '\n' */
        if (*p != '\n')
            return 0;
    }
    /* 16 digits stay below 10^16, so the products below cannot overflow. */
    int64_t unit_ns = 1000000; /* milliseconds */
    if (s->format == ND_BAR_FORMAT_KLINE && (int64_t)ts >= KLINE_US_MIN)
        unit_ns = 1000; /* microseconds */
    if ((int64_t)ts > INT64_MAX / unit_ns)
        return 0;
    b->ts_ns = (int64_t)ts * unit_ns;
    *raw = (int64_t)ts;
    nd__lines_consume(&s->lines, (size_t)(p + 1 - start));
    return 1;
}

/* The row-plan cache has 1 << PLAN_BITS slots of 128 bytes in sets of two (64 KiB per CSV
 * source) for rows whose end lies within their first 63 bytes: 345 misses over BTCUSDT-1h's
 * 35,031 rows (314 shapes); as many again follow for longer rows (eight-decimal prices), so
 * that the short rows' look-up compares two key words, not three. */
#define PLAN_BITS 9
ND_STATIC_ASSERT(offsetof(nd_bar_t, _reserved) == offsetof(nd_bar_t, instrument_id) + 4,
                 "instrument_id and _reserved are stored as one word");
ND_STATIC_ASSERT(offsetof(nd_bar_t, high) == offsetof(nd_bar_t, open) + 8 &&
                     offsetof(nd_bar_t, low) == offsetof(nd_bar_t, open) + 16 &&
                     offsetof(nd_bar_t, close) == offsetof(nd_bar_t, open) + 24,
                 "open, high, low and close are stored with one 32-byte store");

#if defined(__x86_64__) && defined(__GNUC__)
/* The row-plan path (x86-64 with AVX2, BMI1/2, POPCNT and SSE4.2, checked at run time once per
 * source; CSV and kline sources; other CPUs use csv_next alone). A row's shape is where its
 * commas, points and newline are (a kline row's: of its first six columns, its tail checked apart
 * on bit masks). Shapes repeat (BTCUSDT-1h's 35,031 rows
 * have 314), so the first row of a shape has a plan built and cached: for each column, where its
 * 16-byte load starts and the byte shuffle that puts its digits in a fixed slot (whole part
 * right-aligned before byte 16 - decimals, fraction after it, zeros elsewhere), checked once
 * against the same limits as the fast path (at most 16 - decimals whole and decimals fraction
 * digits, so the value is exactly nd_fixed_parse's and below 10^16; a volume may have two whole
 * digits more, or one or two when its bytes pass the load's 16, read apart on a wide-volume plan).
 * A row then costs two 32-byte loads classified with compares (three for a row of eight-decimal
 * prices, whose six columns end past byte 62, read in long-row mode: next_long), a hash of its
 * shape, six shuffles and one vector conversion of the six slots, about 140 instructions. The
 * path only accepts rows: a shape it cannot take, and any row that breaks a rule, goes to
 * csv_next (fast_next, then the careful path), which accepts or words the error exactly as
 * without it (bench/RESULTS.md has the differential checks). */
#include <immintrin.h>

#define ND_ROW_SIMD __attribute__((target("avx2,bmi,bmi2,popcnt,sse4.2")))
#define ND_SIMD_INLINE inline __attribute__((always_inline, target("avx2,bmi,bmi2,popcnt,sse4.2")))

/* A row shape, the key of its plan: bit i of ends and points is byte i of the row (bytes 0-63),
 * hi the bits of bytes 64-95 (ends in its low half, points in its high half). hi is 0 exactly
 * for a short row (its end within its first 63 bytes: bit 63 of its ends is never set) and
 * holds the end's bit for a long one (whose end is at most byte 94: bit 31 of hi is never set);
 * those free bits mark wide-volume plans (plan_wide_key). */
typedef struct plan_key {
    uint64_t ends;   /* the commas' bits and the row end's bit (a kline row: its sixth comma) */
    uint64_t points; /* the points' bits */
    uint64_t hi;
} plan_key_t;

typedef struct csv_plan {
    uint64_t ends;     /* key (plan_key_t); 0 in an empty slot */
    uint64_t points;
    uint64_t hi;
    uint8_t off[6];    /* where column k's 16-byte load starts (column 0, the time, at 0) */
    uint8_t vol_top;   /* leading volume digits (0-2) left out of its slot, just before off[5] */
    uint8_t vol_exp;   /* the power of ten of the last of them: the volume's other digits */
    uint8_t ctrl[3][32]; /* shuffles: [open | low], [high | close], [volume | time] */
} csv_plan_t;
ND_STATIC_ASSERT(sizeof(csv_plan_t) == 128, "a plan is two cache lines");

/* The vectors the plan path compares and multiplies with, read from memory (as operands, not
 * rebuilt by broadcasts on every row). */
#define R4(v) v, v, v, v
#define R32(v) R4(v), R4(v), R4(v), R4(v), R4(v), R4(v), R4(v), R4(v)
typedef struct plan_consts {
    int8_t comma[32], point[32], shift[32], top[32], low4[32];
    int64_t one[4];
} plan_consts_t;
static const plan_consts_t plan_k __attribute__((aligned(32))) = {
    {R32(',')}, {R32('.')}, {R32(0x46)}, {R32(0x75)}, {R32(0x0F)}, {1, 1, 1, 1},
};
/* The table through a pointer the compiler cannot see through (the empty asm), so that it
 * loads the vectors instead of rebuilding them from immediates. */
static inline const plan_consts_t *plan_consts(void)
{
    const plan_consts_t *k = &plan_k;
    __asm__("" : "+r"(k));
    return k;
}
#define PLAN_K(k, name) _mm256_load_si256((const __m256i *)(const void *)(k)->name)

/* Which shuffle (and which half of it) column k's slot is: slot / 2 the shuffle, slot % 2 the
 * half (time: 5, the high half of [volume | time]; open: 0, the low half of [open | low]). */
static const uint8_t plan_slot[6] = {5, 0, 2, 1, 3, 4};

/* The shuffle of a column, from three sliding 16-byte windows (loads at offsets 0..16):
 * plan_idx[16 - a + j] = j - a (negative, so zero under pshufb, for j < a), plan_past[16 - point
 * + j] = 1 for j >= point (the point's byte skipped), plan_tail[16 - e + j] = 0x80 for j >= e. */
#define IOTA16(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10,       \
                  b + 11, b + 12, b + 13, b + 14, b + 15
static const int8_t plan_idx[32] = {IOTA16(-16), IOTA16(0)};
static const int8_t plan_past[32] = {R4(0), R4(0), R4(0), R4(0), R4(1), R4(1), R4(1), R4(1)};
static const uint8_t plan_tail[32] = {R4(0), R4(0), R4(0), R4(0),
                                      R4(0x80), R4(0x80), R4(0x80), R4(0x80)};
#define PLAN_WIN(table, at) _mm_loadu_si128((const __m128i *)(const void *)((table) + (at)))

/* Fills column k of plan for the field [start, stop) whose first point is at q (stop when it
 * has none) and which holds npoints points; 0 when the field is not in the shape the plan path
 * takes. */
static ND_SIMD_INLINE int plan_column(csv_plan_t *plan, int k, unsigned start, unsigned stop,
                                      unsigned q, int npoints, int decimals)
{
    int whole = (int)(q - start), frac = npoints ? (int)(stop - q - 1) : 0;
    if (npoints > 1 || (k == 0 && npoints) || whole + frac == 0 || whole > 16 - decimals ||
        frac > decimals || stop - start > 16)
        return 0;
    /* Slot byte j in [point - whole, point + frac) takes load byte j - (point - whole), plus one
     * from the point on (past the point); bytes outside are zero (0x80). */
    int point = 16 - decimals, a = point - whole, e = point + frac;
    __m128i ctrl = _mm_or_si128(_mm_add_epi8(PLAN_WIN(plan_idx, 16 - a),
                                             PLAN_WIN(plan_past, 16 - point)),
                                PLAN_WIN(plan_tail, 16 - e));
    _mm_storeu_si128((__m128i *)(void *)&plan->ctrl[plan_slot[k] / 2][16 * (plan_slot[k] % 2)],
                     ctrl);
    plan->off[k] = (uint8_t)start;
    return 1;
}

/* The key of a wide-volume plan for the row shape key: a bit that no row's key has is set
 * (plan_key_t), so the hit path never meets such a plan; its rows take plan_row's wide variant,
 * reached from plan_miss (off the hit path). */
static inline plan_key_t plan_wide_key(const plan_key_t *key)
{
    plan_key_t wide = *key;
    if (key->hi == 0)
        wide.ends |= (uint64_t)1 << 63;
    else
        wide.hi |= (uint64_t)1 << 31;
    return wide;
}

/* Builds the plan of a row shape into slot; 0 when the row is not six plain columns (slot is
 * then partly written). A volume with up to two whole digits more than its slot holds (17 or 18
 * digits: below 10^18, exact in an int64) keeps its leading digits out of the slot, read apart;
 * such a plan has the wide key (plan_wide_key). The key's bits are read a word at a time (bytes
 * 0-63, then 64-95 once the first word's ends are used up): a short row's misses cost what they
 * did before long rows (128-bit masks doubled them). */
static ND_SIMD_INLINE int plan_build_in(const csv_source_t *s, csv_plan_t *slot,
                                        const plan_key_t *key, int is_long)
{
    uint64_t ends[2] = {key->ends, key->hi & 0xFFFFFFFFu}, pts[2] = {key->points, key->hi >> 32};
    if (__builtin_popcountll(ends[0]) + __builtin_popcountll(ends[1]) != CSV_COLUMNS)
        return 0;
    unsigned start = 0, w = 0;
    slot->vol_top = 0;
#pragma GCC unroll 6
    for (int k = 0; k < CSV_COLUMNS; k++) {
        if (is_long && ends[w] == 0)
            w = 1; /* ends[1] holds the rest (the count above) */
        unsigned stop = 64 * w + (unsigned)_tzcnt_u64(ends[w]);
        ends[w] = _blsr_u64(ends[w]);
        /* The column's points: those of its word before its end, and when it ends in the
         * second word, any left in the first (earlier columns' points are gone). */
        uint64_t here = _bzhi_u64(pts[w], stop - 64 * w), first = w ? pts[0] : 0;
        pts[w] ^= here;
        pts[0] ^= first;
        int npoints = __builtin_popcountll(here) + __builtin_popcountll(first);
        unsigned q = first ? (unsigned)_tzcnt_u64(first)
                     : here ? 64 * w + (unsigned)_tzcnt_u64(here) : stop;
        int decimals = k == 0 ? 0 : k == 5 ? s->qty_decimals : s->px_decimals;
        if (k == 5) {
            /* Whole digits beyond the slot's, or bytes beyond the 16-byte load (an eight-digit
             * volume at eight decimals is 17 bytes): one or two leading digits read apart. */
            int whole = (int)(q - start), over = whole - (16 - decimals);
            if ((int)(stop - start) - 16 > over)
                over = (int)(stop - start) - 16;
            if (over > 0 && over <= 2 && over <= whole && decimals <= 16) {
                slot->vol_top = (uint8_t)over;
                slot->vol_exp = (uint8_t)(whole - over + decimals);
                start += (unsigned)over;
            }
        }
        if (!plan_column(slot, k, start, stop, q, npoints, decimals))
            return 0;
        start = stop + 1;
    }
    plan_key_t stored = slot->vol_top ? plan_wide_key(key) : *key;
    slot->ends = stored.ends;
    slot->points = stored.points;
    slot->hi = stored.hi;
    return 1;
}

/* plan_build_in with a constant is_long: a short row's build on plain 64-bit words. */
static ND_SIMD_INLINE int plan_build(const csv_source_t *s, csv_plan_t *slot, const plan_key_t *key)
{
    return key->hi != 0 ? plan_build_in(s, slot, key, 1) : plan_build_in(s, slot, key, 0);
}

/* A plan for a shape the plan path cannot take: every shuffle gives zeros, so each row of the
 * shape reads as low = 0, which plan_row refuses, and goes to csv_next without being planned
 * again. */
static ND_ROW_SIMD void plan_refuse(csv_plan_t *slot, const plan_key_t *key)
{
    memset(slot, 0x80, sizeof *slot);
    memset(slot->off, 0, sizeof slot->off);
    slot->vol_top = 0;
    slot->ends = key->ends;
    slot->points = key->points;
    slot->hi = key->hi;
}

/* *dst = *src in four 32-byte moves. */
static ND_SIMD_INLINE void plan_copy(csv_plan_t *dst, const csv_plan_t *src)
{
    const __m256i *from = (const __m256i *)(const void *)src;
    __m256i *to = (__m256i *)(void *)dst;
    __m256i a = _mm256_loadu_si256(from), b = _mm256_loadu_si256(from + 1);
    __m256i c = _mm256_loadu_si256(from + 2), d = _mm256_loadu_si256(from + 3);
    _mm256_storeu_si256(to, a);
    _mm256_storeu_si256(to + 1, b);
    _mm256_storeu_si256(to + 2, c);
    _mm256_storeu_si256(to + 3, d);
}

/* The 64 bit-per-byte mask of two 32-byte compare results. */
static ND_SIMD_INLINE uint64_t mask64(__m256i low, __m256i high)
{
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(low) |
           (uint64_t)(uint32_t)_mm256_movemask_epi8(high) << 32;
}

/* Four slots of 16 digit bytes (0..9, most significant first), in 64-bit lanes as
 * [a.low, b.low, a.high, b.high] of the two registers' 128-bit halves. */
static ND_SIMD_INLINE __m256i digits_to_u64(__m256i a, __m256i b)
{
    const __m256i by10 = _mm256_set1_epi16(0x010A), by100 = _mm256_set1_epi32(0x00010064);
    const __m256i by1e4 = _mm256_set1_epi32(0x00012710);
    __m256i a32 = _mm256_madd_epi16(_mm256_maddubs_epi16(a, by10), by100);
    __m256i b32 = _mm256_madd_epi16(_mm256_maddubs_epi16(b, by10), by100);
    __m256i x = _mm256_madd_epi16(_mm256_packus_epi32(a32, b32), by1e4);
    return _mm256_add_epi64(_mm256_mul_epu32(x, _mm256_set1_epi64x(100000000)),
                            _mm256_srli_epi64(x, 32));
}

/* A column pair's two 16-byte loads through its plan shuffle, as digit values. */
static ND_SIMD_INLINE __m256i plan_pair(const char *p, const csv_plan_t *pl, int a, int b, int ctrl,
                                        __m256i low4)
{
    __m256i x = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(p + pl->off[a]))),
        _mm_loadu_si128((const __m128i *)(const void *)(p + pl->off[b])), 1);
    x = _mm256_shuffle_epi8(x, _mm256_loadu_si256((const __m256i *)(const void *)pl->ctrl[ctrl]));
    return _mm256_and_si256(x, low4);
}

/* The 64 bytes at p classified: *commas and *points their bits, *other the bits of every byte
 * that is none of digit, comma, point. */
static ND_SIMD_INLINE void plan_masks(const char *p, uint64_t *commas /* OUT */,
                                      uint64_t *points /* OUT */, uint64_t *other /* OUT */)
{
    const plan_consts_t *k = plan_consts();
    __m256i lo = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i hi = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
    /* A digit is the only byte that + 0x46 lands in 0x76..0x7F as a signed byte. */
    const __m256i shift = PLAN_K(k, shift), top = PLAN_K(k, top);
    const __m256i comma = PLAN_K(k, comma), point = PLAN_K(k, point);
    __m256i c0 = _mm256_cmpeq_epi8(lo, comma), c1 = _mm256_cmpeq_epi8(hi, comma);
    __m256i p0 = _mm256_cmpeq_epi8(lo, point), p1 = _mm256_cmpeq_epi8(hi, point);
    __m256i d0 = _mm256_cmpgt_epi8(_mm256_add_epi8(lo, shift), top);
    __m256i d1 = _mm256_cmpgt_epi8(_mm256_add_epi8(hi, shift), top);
    /* The three classes ORed on the 64-bit masks: two instructions, not four vector ORs. */
    *commas = mask64(c0, c1);
    *points = mask64(p0, p1);
    *other = ~(mask64(d0, d1) | *commas | *points);
}

/* The 32 bytes at p classified as plan_masks does 64 (bits 0-31 of each mask). */
static ND_SIMD_INLINE void plan_masks32(const char *p, uint64_t *commas /* OUT */,
                                        uint64_t *points /* OUT */, uint64_t *other /* OUT */)
{
    const plan_consts_t *k = plan_consts();
    __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)p);
    __m256i c = _mm256_cmpeq_epi8(x, PLAN_K(k, comma)), pt = _mm256_cmpeq_epi8(x, PLAN_K(k, point));
    __m256i d = _mm256_cmpgt_epi8(_mm256_add_epi8(x, PLAN_K(k, shift)), PLAN_K(k, top));
    *commas = (uint32_t)_mm256_movemask_epi8(c);
    *points = (uint32_t)_mm256_movemask_epi8(pt);
    *other = (uint32_t) ~((uint32_t)_mm256_movemask_epi8(d) | *commas | *points);
}

/* The size of a row whose end ("\n" or "\r\n") starts at p[end]; 0 when p[end] is no row end. */
static ND_SIMD_INLINE size_t plan_row_end(const char *p, unsigned end)
{
    if (__builtin_expect(p[end] == '\n', 1))
        return end + 1;
    return p[end] == '\r' && p[end + 1] == '\n' ? end + 2 : 0;
}

/* The rest of a long row's classification (an eight-decimal row: its end, or a kline row's
 * sixth comma, past byte 63), from the commas and points of its first 64 bytes, which hold no
 * other byte: the next 64 bytes classified, and *key the shape up to the head's end, which is
 * the n-th comma from byte 64 (a kline row) or, n = 0, the first byte that is none of digit,
 * comma and point (a plain row's end). The head end's offset (64-94), or 0 when it is further or
 * another byte lies before it. Reads 64 bytes at p + 64. */
static ND_SIMD_INLINE unsigned plan_classify_hi(const char *p, unsigned n, uint64_t commas,
                                                uint64_t pts, plan_key_t *key /* OUT */)
{
    uint64_t c1, p1, o1;
    plan_masks(p + 64, &c1, &p1, &o1);
    unsigned at = (unsigned)_tzcnt_u64(n ? _pdep_u64((uint64_t)1 << (n - 1), c1) : o1);
    if (at > 30 || _tzcnt_u64(o1) < at)
        return 0;
    key->ends = commas;
    key->points = pts;
    key->hi = _bzhi_u64(c1, at) | (uint64_t)1 << at | _bzhi_u64(p1, at) << 32;
    return 64 + at;
}

/* The kline tail's column rules on bit masks of type T (bit i: byte i of the tail): c the
 * commas and pt the points before the row end, digits the digits there, checked the five checked
 * columns with their commas. True when the first byte that is not a point from each column's
 * start is a digit (no empty and no points-only column) and the first byte that is not a digit
 * after each point is not a point (at most one point a column). The additions carry through a
 * run of points (or digits) to the byte after it, never past the fifth comma. */
#define KLINE_TAIL_RULES(name, T)                                                                  \
    static ND_SIMD_INLINE int name(T c, T pt, T digits, T checked)                                 \
    {                                                                                              \
        T starts = ((c << 1) | 1) & checked;                                                       \
        T first = (starts & ~pt) | (((starts & pt) + pt) & ~pt);                                   \
        T after = (pt & checked) << 1;                                                             \
        T next = (after & ~digits) | (((after & digits) + digits) & ~digits);                      \
        return (first & ~digits) == 0 && (next & pt) == 0;                                         \
    }
KLINE_TAIL_RULES(kline_tail_rules64, uint64_t)
KLINE_TAIL_RULES(kline_tail_rules128, unsigned __int128)

/* plan_kline_tail for a tail whose row end is not within its first 63 bytes (c0, p0, o0 the
 * masks of its first 64: o0 is 0 or has only bit 63, the row end at byte 63): the next 64
 * classified, the rules on 128-bit masks. Out of line: inlined, its 128-bit values made every kline row's path save six
 * registers and realign its stack (about 16 instructions a row). */
__attribute__((noinline)) static ND_ROW_SIMD size_t
plan_kline_tail_long(const char *t, uint64_t c0, uint64_t p0, uint64_t o0)
{
    typedef unsigned __int128 u128;
    uint64_t c1, p1, o1;
    size_t size;
    plan_masks(t + 64, &c1, &p1, &o1);
    unsigned end = o0 != 0 ? (unsigned)_tzcnt_u64(o0) : 64 + (unsigned)_tzcnt_u64(o1);
    if (end > 126 || (size = plan_row_end(t, end)) == 0)
        return 0;
    u128 in = ((u128)1 << end) - 1;
    u128 c = ((u128)c1 << 64 | c0) & in, pt = ((u128)p1 << 64 | p0) & in;
    uint64_t c_hi = (uint64_t)(c >> 64);
    if (__builtin_popcountll((uint64_t)c) + __builtin_popcountll(c_hi) != 5)
        return 0;
    unsigned fifth = c_hi ? 127 - (unsigned)__builtin_clzll(c_hi)
                          : 63 - (unsigned)__builtin_clzll((uint64_t)c);
    u128 checked = ((u128)2 << fifth) - 1, digits = in & ~c & ~pt;
    return kline_tail_rules128(c, pt, digits, checked) ? size : 0;
}

/* The kline tail at t, after the volume's comma, as the other paths accept it, in the shape the
 * plan path takes: five columns of digits with at most one point and at least one digit, each
 * ended by a comma, then the ignored column (digits and points only here: anything else goes
 * the other way) and the row end, within 127 bytes. Its bytes with the row end, or 0. Reads 64
 * bytes, or with allow_long (a constant at each call) 128 when the row end is not within the
 * first 63 (then on 128-bit masks, out of line); without, such a tail gives 0. */
static ND_SIMD_INLINE size_t plan_kline_tail(const char *t, int allow_long)
{
    uint64_t c0, p0, o0;
    size_t size;
    plan_masks(t, &c0, &p0, &o0);
    unsigned end = (unsigned)_tzcnt_u64(o0);
    if (__builtin_expect(end <= 62, 1)) {
        uint64_t c = _bzhi_u64(c0, end), pt = _bzhi_u64(p0, end);
        if ((size = plan_row_end(t, end)) == 0 || __builtin_popcountll(c) != 5)
            return 0;
        /* The fifth (last) comma ends the checked columns; the ignored column holds none. */
        uint64_t checked = _bzhi_u64(~(uint64_t)0, 64 - (unsigned)__builtin_clzll(c));
        uint64_t digits = _bzhi_u64(~(c | pt), end);
        return kline_tail_rules64(c, pt, digits, checked) ? size : 0;
    }
    return allow_long ? plan_kline_tail_long(t, c0, p0, o0) : 0;
}

/* The row at p up to its row end, classified: *ends gets the commas' bits and the end's bit,
 * *points the points' bits, *size the row's bytes with its "\n" or "\r\n"; 0 when the row is
 * not digits, commas and points ended by a newline within 63 bytes (a longer row goes to
 * plan_not_short). Reads 64 bytes. */
static ND_SIMD_INLINE int plan_classify(const char *p, uint64_t *ends /* OUT */,
                                        uint64_t *points /* OUT */, size_t *size /* OUT */)
{
    uint64_t commas, pts, other;
    plan_masks(p, &commas, &pts, &other);
    unsigned end = (unsigned)_tzcnt_u64(other);
    if (end > 62 || (*size = plan_row_end(p, end)) == 0)
        return 0;
    *ends = _bzhi_u64(commas, end) | (uint64_t)1 << end;
    *points = _bzhi_u64(pts, end);
    return 1;
}

/* A kline row at p in the plan path's shape: its first six columns (up to the volume's comma,
 * within 63 bytes) classified as plan_classify does a plain row (the comma in the row end's
 * place), and its tail as plan_kline_tail accepts it within 64 bytes; *size the whole row's
 * bytes. A longer head or tail goes to plan_not_short. */
static ND_SIMD_INLINE int plan_classify_kline(const char *p, uint64_t *ends /* OUT */,
                                              uint64_t *points /* OUT */, size_t *size /* OUT */)
{
    uint64_t commas, pts, other;
    plan_masks(p, &commas, &pts, &other);
    uint64_t sixth = _pdep_u64((uint64_t)1 << 5, commas);
    unsigned end = (unsigned)_tzcnt_u64(sixth);
    size_t tail;
    if (end > 62 || _tzcnt_u64(other) < end)
        return 0;
    /* The key before the tail: the head's masks are dead while the tail is classified. */
    *ends = _bzhi_u64(commas, end + 1);
    *points = _bzhi_u64(pts, end);
    if ((tail = plan_kline_tail(p + end + 1, 0)) == 0)
        return 0;
    *size = end + 1 + tail;
    return 1;
}

/* The row shape's set of two slots in the plan cache. */
static ND_SIMD_INLINE csv_plan_t *plan_set_of(csv_source_t *s, const plan_key_t *key, int is_long)
{
    /* ends + points is ends | points (no bit in both): one CRC; a shape with a comma and a
     * point swapped lands in the same set, and the key compare tells them apart (as it does
     * two shapes whose sums with hi meet). */
    uint32_t h = (uint32_t)_mm_crc32_u64(0, key->ends + key->points + key->hi);
    return &s->plans[(is_long ? (size_t)1 << PLAN_BITS : 0) + 2 * (h >> (32 - (PLAN_BITS - 1)))];
}

/* Parses the plain CSV row at p (size bytes) through its shape's plan pl, checks it as
 * csv_next does and hands it out; 0 (nothing consumed) when it breaks a rule, for the other
 * paths to word the error. wide (a constant at each call) adds a wide plan's leading volume
 * digits. */
static ND_SIMD_INLINE int plan_row(csv_source_t *s, const char *p, const csv_plan_t *pl,
                                   size_t size, nd_bar_t *out /* OUT */, int wide, int kline)
{
    const plan_consts_t *k = plan_consts();
    const __m256i low4 = PLAN_K(k, low4);
    __m256i ol = plan_pair(p, pl, 1, 3, 0, low4), hc = plan_pair(p, pl, 2, 4, 1, low4);
    __m256i vt = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(p + pl->off[5]))),
        _mm_loadu_si128((const __m128i *)(const void *)p), 1);
    vt = _mm256_and_si256(
        _mm256_shuffle_epi8(vt, _mm256_loadu_si256((const __m256i *)(const void *)pl->ctrl[2])),
        low4);
    __m256i ohlc = digits_to_u64(ol, hc), vvtt = digits_to_u64(vt, vt);
    /* The row rules: nothing above high, nothing below low, low positive (volume is). */
    __m256i high = _mm256_permute4x64_epi64(ohlc, 0x55), low = _mm256_permute4x64_epi64(ohlc, 0xAA);
    __m256i bad = _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpgt_epi64(ohlc, high), _mm256_cmpgt_epi64(low, ohlc)),
        _mm256_cmpgt_epi64(PLAN_K(k, one), low));
    int64_t ts = _mm_cvtsi128_si64(_mm256_extracti128_si256(vvtt, 1)), ts_ns;
    /* Milliseconds; a kline time from KLINE_US_MIN on is microseconds. */
    int64_t unit_ns = kline && ts >= KLINE_US_MIN ? 1000 : 1000000;
    if (!_mm256_testz_si256(bad, bad) || __builtin_mul_overflow(ts, unit_ns, &ts_ns) ||
        ts_ns <= s->prev_ts_ns)
        return 0;
    out->ts_ns = ts_ns;
    _mm256_storeu_si256((__m256i *)(void *)&out->open, ohlc);
    out->volume = _mm_cvtsi128_si64(_mm256_castsi256_si128(vvtt));
    if (wide) {
        const char *top = p + pl->off[5] - pl->vol_top;
        int64_t lead = pl->vol_top == 2 ? (top[0] - '0') * 10 + (top[1] - '0') : top[0] - '0';
        /* vol_exp <= 16 (plan_column keeps at most 16 - decimals whole digits in the slot), so
         * the volume stays below 10^18. */
        out->volume += lead * pow10_table[pl->vol_exp];
    }
    memcpy(&out->instrument_id, &s->id_word, sizeof s->id_word); /* and _reserved = 0 */
    s->prev_ts_ns = ts_ns;
    if (kline)
        s->prev_ts_raw = ts; /* a kline time may be either unit: kept as written */
    nd__lines_consume(&s->lines, size);
    return 1;
}

/* Not inlined, not even in part: gcc's partial inlining of its entry test into
 * csv_next_plan made the plan path realign the stack and save a register on every row. */
__attribute__((noinline)) static nd_err_t csv_next(nd_bar_source_t *src, nd_bar_t *out);

/* A row whose shape is not in the cache as a plain plan: parses it through its wide-volume
 * plan when the set has one, else plans it into the first slot of its set (the plan there moves
 * to the second, whose plan is dropped) and parses it, or (a shape the path cannot take,
 * remembered as such) hands it to csv_next. */
static ND_SIMD_INLINE nd_err_t plan_miss_in(csv_source_t *s, csv_plan_t *set, size_t size,
                                            nd_bar_t *out /* OUT */, const plan_key_t *key)
{
    plan_key_t wide = plan_wide_key(key);
    size_t avail;
    const char *p = nd__lines_peek(&s->lines, &avail);
    int found = -1;
    for (int i = 1; i >= 0; i--)
        if (set[i].ends == wide.ends && set[i].points == wide.points && set[i].hi == wide.hi)
            found = i;
    if (found < 0) {
        plan_copy(&set[1], &set[0]);
        if (!plan_build(s, &set[0], key)) {
            plan_refuse(&set[0], key);
            return csv_next(&s->base, out);
        }
        found = 0;
    }
    int ok, kline = s->format == ND_BAR_FORMAT_KLINE;
    if (set[found].vol_top)
        ok = kline ? plan_row(s, p, &set[found], size, out, 1, 1)
                   : plan_row(s, p, &set[found], size, out, 1, 0);
    else
        ok = kline ? plan_row(s, p, &set[found], size, out, 0, 1)
                   : plan_row(s, p, &set[found], size, out, 0, 0);
    return ok ? ND_OK : csv_next(&s->base, out);
}

/* plan_miss_in of a short row (hi 0) and of a long one. The short one's arguments are the hit
 * path's registers as they stand (another order, or a third key word, cost that path a saved
 * register and a frame: 5 instructions a row); no argument is passed on the stack, which made
 * the hit path realign its stack on every row. */
__attribute__((noinline, cold)) static ND_ROW_SIMD nd_err_t
plan_miss(csv_source_t *s, csv_plan_t *set, size_t size, nd_bar_t *out /* OUT */, uint64_t ends,
          uint64_t points)
{
    const plan_key_t key = {ends, points, 0};
    return plan_miss_in(s, set, size, out, &key);
}
__attribute__((noinline, cold)) static ND_ROW_SIMD nd_err_t
plan_miss_long(csv_source_t *s, uint64_t hi, size_t size, nd_bar_t *out /* OUT */, uint64_t ends,
               uint64_t points)
{
    const plan_key_t key = {ends, points, hi};
    return plan_miss_in(s, plan_set_of(s, &key, 1), size, out, &key);
}

/* The row at p (size bytes, of shape ends, points, hi) through its shape's plan when the cache
 * has it (about 96% of BTCUSDT-1h's rows find theirs), else through plan_miss; a row that breaks
 * a rule goes to csv_next. */
static ND_SIMD_INLINE nd_err_t plan_take(csv_source_t *s, const char *p, size_t size,
                                         uint64_t ends, uint64_t points, uint64_t hi,
                                         nd_bar_t *out /* OUT */, int kline, int is_long)
{
    const plan_key_t key = {ends, points, hi};
    csv_plan_t *pl = plan_set_of(s, &key, is_long);
    /* A short row's plans all have hi 0: two words tell them apart. */
    if (pl->ends != ends || pl->points != points || (is_long && pl->hi != hi)) {
        pl++;
        if (pl->ends != ends || pl->points != points || (is_long && pl->hi != hi))
            return is_long ? plan_miss_long(s, hi, size, out, ends, points)
                           : plan_miss(s, pl - 1, size, out, ends, points);
    }
    if (plan_row(s, p, pl, size, out, 0, kline))
        return ND_OK;
    return csv_next(&s->base, out);
}

/* *p the row at the read position; whether the plan path may read FAST_WINDOW bytes there (the
 * source still reading and the window full): if not, csv_next's paths take the row. */
static ND_SIMD_INLINE int plan_window(csv_source_t *s, const char **p /* OUT */)
{
    size_t avail;
    *p = nd__lines_peek(&s->lines, &avail);
    return !(s->status != ND_OK || avail < FAST_WINDOW);
}

/* The next() of each row-length mode (a source's next() follows the length of its last row). */
static ND_ROW_SIMD nd_err_t csv_next_plan(nd_bar_source_t *src, nd_bar_t *out);
static ND_ROW_SIMD nd_err_t kline_next_plan(nd_bar_source_t *src, nd_bar_t *out);
static ND_ROW_SIMD nd_err_t csv_next_long(nd_bar_source_t *src, nd_bar_t *out);
static ND_ROW_SIMD nd_err_t kline_next_long(nd_bar_source_t *src, nd_bar_t *out);

/* A row the short classification (plan_classify, plan_classify_kline) did not take, at p with
 * the masks of its first 64 bytes: a long row (its head's end past byte 62, at most byte 94;
 * no other byte in its first 64) classified on, and a kline row's tail at any length up to 127
 * bytes, then taken as plan_take does; anything else goes to csv_next. */
static ND_SIMD_INLINE nd_err_t plan_other(csv_source_t *s, const char *p, uint64_t commas,
                                          uint64_t pts, uint64_t other, nd_bar_t *out /* OUT */,
                                          int kline)
{
    plan_key_t key = {0, 0, 0};
    size_t size, tail;
    unsigned n = kline ? CSV_COLUMNS - (unsigned)__builtin_popcountll(commas) : 0;
    unsigned end = (unsigned)_tzcnt_u64(kline ? _pdep_u64((uint64_t)1 << 5, commas) : other);
    if (end <= 62 && (!kline || _tzcnt_u64(other) >= end)) {
        /* A short head (a kline row whose tail is longer than 64 bytes, or a bad row). */
        key.ends = _bzhi_u64(commas, end + (unsigned)kline) | (uint64_t)!kline << end;
        key.points = _bzhi_u64(pts, end);
    } else if (other != 0 || end != 64 || (end = plan_classify_hi(p, n, commas, pts, &key)) == 0) {
        return csv_next(&s->base, out);
    }
    if (kline) {
        if ((tail = plan_kline_tail(p + end + 1, 1)) == 0)
            return csv_next(&s->base, out);
        size = end + 1 + tail;
    } else if ((size = plan_row_end(p, end)) == 0) {
        return csv_next(&s->base, out);
    }
    /* A long head: the next row's is likely long too, and the long mode classifies it once. */
    if (key.hi)
        s->base.next = kline ? kline_next_long : csv_next_long;
    return key.hi ? plan_take(s, p, size, key.ends, key.points, key.hi, out, kline, 1)
                  : plan_take(s, p, size, key.ends, key.points, 0, out, kline, 0);
}

/* plan_other, out of line and with two arguments only (the first 64 bytes classified again): a
 * frame and a saved register appeared on the short rows' path when this branch was inlined (5
 * instructions a row), and a call in the middle of it made a kline row's path save six
 * registers and realign its stack (16). */
__attribute__((noinline)) static ND_ROW_SIMD nd_err_t plan_not_short(nd_bar_source_t *src,
                                                                     nd_bar_t *out)
{
    csv_source_t *s = (csv_source_t *)src;
    size_t avail;
    const char *p = nd__lines_peek(&s->lines, &avail);
    uint64_t commas, pts, other;
    plan_masks(p, &commas, &pts, &other);
    return s->format == ND_BAR_FORMAT_KLINE ? plan_other(s, p, commas, pts, other, out, 1)
                                            : plan_other(s, p, commas, pts, other, out, 0);
}

/* Long-row mode, the next() of a source whose last row was long (its head, up to a kline row's
 * volume, past byte 62: eight-decimal prices): the row classified in one pass from its start,
 * where the short mode's next() classifies 64 bytes, finds no end, and plan_not_short classifies
 * them again. A row the short mode takes sends the source back to it; each mode takes every row
 * the other takes (or hands it to csv_next), so the mode changes the instructions spent, never
 * the bars. */

/* A plain row with a long head (commas and points the masks of its first 64 bytes, all digits,
 * commas and points): bytes 64-95 classified (a long head ends by byte 94), the key as
 * plan_classify_hi makes it. */
static ND_SIMD_INLINE nd_err_t csv_take_long(csv_source_t *s, const char *p, uint64_t commas,
                                             uint64_t pts, nd_bar_t *out /* OUT */)
{
    uint64_t c1, p1, o1;
    size_t size;
    plan_masks32(p + 64, &c1, &p1, &o1);
    unsigned at = (unsigned)_tzcnt_u64(o1);
    if (at > 30 || (size = plan_row_end(p, 64 + at)) == 0)
        return csv_next(&s->base, out);
    uint64_t hi = _bzhi_u64(c1, at) | (uint64_t)1 << at | _bzhi_u64(p1, at) << 32;
    return plan_take(s, p, size, commas, pts, hi, out, 0, 1);
}

/* A kline tail's column rules (plan_kline_tail's) on the row's masks of bytes 64-191, two
 * words each (c_lo, c_hi the commas, p_lo, p_hi the points): from the bit of the head's last
 * comma (the row's sixth) to end, the row end's bit, every byte a digit, comma or point. Without
 * carries, unlike kline_tail_rules64: with at most one point a column, a column whose first
 * byte that is not a point is no digit is empty (a comma right after a comma) or a lone point
 * (a point between two commas). */
static ND_SIMD_INLINE int kline_tail_ok(uint64_t c_lo, uint64_t c_hi, uint64_t p_lo,
                                        uint64_t p_hi, unsigned from, unsigned end)
{
    uint64_t keep_lo = _bzhi_u64(~(uint64_t)0 << from, end); /* end >= 64: the whole word */
    uint64_t keep_hi = end > 64 ? _bzhi_u64(~(uint64_t)0, end - 64) : 0;
    c_lo &= keep_lo;
    c_hi &= keep_hi;
    if (__builtin_popcountll(c_lo) + __builtin_popcountll(c_hi) != 6)
        return 0;
    /* The fifth comma of the tail (the last) ends the checked columns: the points after it are
     * the ignored column's. The head's comma at from is no point. */
    unsigned fifth = c_hi ? 127 - (unsigned)__builtin_clzll(c_hi)
                          : 63 - (unsigned)__builtin_clzll(c_lo);
    p_lo &= fifth < 64 ? _bzhi_u64(keep_lo, fifth) : keep_lo;
    p_hi &= fifth < 64 ? 0 : _bzhi_u64(keep_hi, fifth - 64);
    uint64_t after_lo = c_lo << 1, after_hi = c_hi << 1 | c_lo >> 63;
    uint64_t before_lo = c_lo >> 1 | c_hi << 63, before_hi = c_hi >> 1;
    if ((after_lo & (c_lo | (p_lo & before_lo))) | (after_hi & (c_hi | (p_hi & before_hi))))
        return 0;
    /* At most one point a column: in the commas and points in order (pext packs them, a point
     * as a set bit), no two points follow each other. Five points at most, so the packed
     * sequence (11 bits at most) fits one word. */
    if (__builtin_popcountll(p_lo) + __builtin_popcountll(p_hi) > 5)
        return 0;
    uint64_t m_lo = c_lo | p_lo;
    uint64_t seq = _pext_u64(p_lo, m_lo) | _pext_u64(p_hi, c_hi | p_hi)
                                               << __builtin_popcountll(m_lo);
    return (seq & (seq >> 1)) == 0;
}

/* A kline row with a long head (the sixth comma at byte 64-94, as Binance's archive rows with
 * eight-decimal prices have it; c0, p0 the masks of its first 64 bytes, all digits, commas and
 * points): bytes 64-159 classified, or 64-191 when the row ends past byte 159, the head's key as
 * plan_classify_hi makes it and the tail checked on the same masks. */
static ND_SIMD_INLINE nd_err_t kline_take_long(csv_source_t *s, const char *p, uint64_t c0,
                                               uint64_t p0, nd_bar_t *out /* OUT */)
{
    uint64_t c1, p1, o1, c2, p2, o2;
    size_t size;
    plan_masks(p + 64, &c1, &p1, &o1);
    plan_masks32(p + 128, &c2, &p2, &o2);
    if ((o1 | o2) == 0) { /* no row end by byte 159 (most archive rows have one): 32 more */
        uint64_t c3, p3, o3;
        plan_masks32(p + 160, &c3, &p3, &o3);
        c2 |= c3 << 32;
        p2 |= p3 << 32;
        o2 |= o3 << 32;
    }
    /* The head ends at the sixth comma (h), the row at the first other byte (e). */
    unsigned n0 = (unsigned)__builtin_popcountll(c0);
    unsigned h = 64 + (unsigned)_tzcnt_u64(_pdep_u64((uint64_t)1 << (5 - n0), c1));
    unsigned e = o1 ? 64 + (unsigned)_tzcnt_u64(o1) : 128 + (unsigned)_tzcnt_u64(o2);
    if (h > 94 || e <= h || e > 191 || (size = plan_row_end(p, e)) == 0 ||
        !kline_tail_ok(c1, c2, p1, p2, h - 64, e - 64))
        return csv_next(&s->base, out);
    uint64_t hi = _bzhi_u64(c1, h - 64) | (uint64_t)1 << (h - 64) | _bzhi_u64(p1, h - 64) << 32;
    return plan_take(s, p, size, c0, p0, hi, out, 1, 1);
}

static ND_ROW_SIMD nd_err_t plan_back_to_short(nd_bar_source_t *src, nd_bar_t *out, int kline);

/* next() in long-row mode, kline a constant at each use: a row whose first 64 bytes hold no row
 * end (nor, in a kline row, its sixth comma) is taken as a long one; any other row goes back to
 * the short mode's next(). */
static ND_SIMD_INLINE nd_err_t next_long(nd_bar_source_t *src, nd_bar_t *out, int kline)
{
    csv_source_t *s = (csv_source_t *)src;
    const char *p;
    if (!plan_window(s, &p))
        return csv_next(src, out);
    uint64_t commas, pts, other;
    plan_masks(p, &commas, &pts, &other);
    if ((kline && __builtin_popcountll(commas) >= 6) || other != 0)
        return plan_back_to_short(src, out, kline);
    return kline ? kline_take_long(s, p, commas, pts, out)
                 : csv_take_long(s, p, commas, pts, out);
}

/* next() of a CSV source in long-row mode. */
static ND_ROW_SIMD nd_err_t csv_next_long(nd_bar_source_t *src, nd_bar_t *out)
{
    return next_long(src, out, 0);
}

/* next() of a kline source in long-row mode. */
static ND_ROW_SIMD nd_err_t kline_next_long(nd_bar_source_t *src, nd_bar_t *out)
{
    return next_long(src, out, 1);
}

/* A row of a CSV (kline 0) or kline (kline 1) source on the plan path: a row whose end (a kline
 * row: its sixth comma, the end of its head; the tail is checked apart) lies within its first
 * 63 bytes through the plan of its shape, a longer one through plan_not_short, else csv_next's
 * paths. Always inlined with a constant kline, so each next() below is a straight path. */
static ND_SIMD_INLINE nd_err_t next_plan(nd_bar_source_t *src, nd_bar_t *out, int kline)
{
    csv_source_t *s = (csv_source_t *)src;
    size_t size;
    const char *p;
    uint64_t ends, points;
    if (!plan_window(s, &p))
        return csv_next(src, out);
    if (!(kline ? plan_classify_kline(p, &ends, &points, &size)
                : plan_classify(p, &ends, &points, &size)))
        return plan_not_short(src, out);
    return plan_take(s, p, size, ends, points, 0, out, kline, 0);
}

/* A row met in long-row mode that is not long: the source back in the short mode, and the row
 * taken as the short mode's next() takes it. Its own copy of that path, out of line: a call of
 * csv_next_plan or kline_next_plan from csv_next_long or kline_next_long would nest two next()
 * functions, which callgrind's toggles in bench_csv count wrongly. */
__attribute__((noinline)) static ND_ROW_SIMD nd_err_t plan_back_to_short(nd_bar_source_t *src,
                                                                         nd_bar_t *out, int kline)
{
    src->next = kline ? kline_next_plan : csv_next_plan;
    return kline ? next_plan(src, out, 1) : next_plan(src, out, 0);
}

/* next() of a CSV source on the plan path. */
static ND_ROW_SIMD nd_err_t csv_next_plan(nd_bar_source_t *src, nd_bar_t *out)
{
    return next_plan(src, out, 0);
}

/* next() of a kline source on the plan path (its time units). */
static ND_ROW_SIMD nd_err_t kline_next_plan(nd_bar_source_t *src, nd_bar_t *out)
{
    return next_plan(src, out, 1);
}

/* Whether this CPU runs the plan path. */
static int plan_supported(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("sse4.2") &&
           __builtin_cpu_supports("bmi") && __builtin_cpu_supports("popcnt");
}
#else
typedef struct csv_plan {
    int unused;
} csv_plan_t;
#define csv_next_plan csv_next
#define kline_next_plan csv_next
static int plan_supported(void)
{
    return 0;
}
#endif

/* The careful parse: column count first, then each column with a precise reason. */
static nd_err_t slow_row(csv_source_t *s, const char *line, size_t len, nd_bar_t *b /* OUT */,
                         int64_t *raw /* OUT */)
{
    nd__field_t f[FIELDS_MAX];
    int want = s->format == ND_BAR_FORMAT_CSV ? CSV_COLUMNS : KLINE_COLUMNS;
    int count = nd__fields_split(line, len, f, FIELDS_MAX);
    if (count != want)
        return row_fail(s, ND_EPARSE, "expected %d columns, found %d", want, count);
    nd_err_t rc = parse_time(s, &f[0], &b->ts_ns, raw);
    if (rc == ND_OK)
        rc = parse_column(s, &f[1], "open", s->px_decimals, "price", &b->open);
    if (rc == ND_OK)
        rc = parse_column(s, &f[2], "high", s->px_decimals, "price", &b->high);
    if (rc == ND_OK)
        rc = parse_column(s, &f[3], "low", s->px_decimals, "price", &b->low);
    if (rc == ND_OK)
        rc = parse_column(s, &f[4], "close", s->px_decimals, "price", &b->close);
    if (rc == ND_OK)
        rc = parse_column(s, &f[5], "volume", s->qty_decimals, "quantity", &b->volume);
    if (rc == ND_OK && s->format == ND_BAR_FORMAT_KLINE)
        rc = check_kline_extras(s, f);
    return rc;
}

/* The previous row's time as written: a plain CSV time is milliseconds, so prev_ts_ns / 10^6
 * (plan_row does not keep prev_ts_raw); a kline time may be either unit. */
static int64_t prev_raw(const csv_source_t *s)
{
    return s->format == ND_BAR_FORMAT_CSV ? s->prev_ts_ns / ND_NS_PER_MS : s->prev_ts_raw;
}

/* The checks every parsed row passes, whichever path parsed it: OHLCV consistency and
 * strictly increasing time. */
static nd_err_t finish_row(csv_source_t *s, nd_bar_t *b, int64_t raw)
{
    nd_err_t rc = check_ohlcv(s, b);
    if (rc != ND_OK)
        return rc;
    if (b->ts_ns == s->prev_ts_ns)
        return row_fail(s, ND_EPARSE, "duplicate time %lld", (long long)raw);
    if (b->ts_ns < s->prev_ts_ns)
        return row_fail(s, ND_EPARSE, "time %lld before previous bar's %lld", (long long)raw,
                        (long long)prev_raw(s));
    s->prev_ts_ns = b->ts_ns;
    s->prev_ts_raw = raw;
    b->instrument_id = s->instrument_id;
    b->_reserved = 0;
    return ND_OK;
}

/* Parses and validates one data row into *out. */
static nd_err_t parse_row(csv_source_t *s, const char *line, size_t len, nd_bar_t *out /* OUT */)
{
    nd_bar_t b = {0};
    int64_t raw = 0;
    nd_err_t rc = ND_OK;
    if (!fast_row(s, line, len, &b, &raw))
        rc = slow_row(s, line, len, &b, &raw);
    if (rc == ND_OK)
        rc = finish_row(s, &b, raw);
    if (rc != ND_OK)
        return rc;
    *out = b;
    return ND_OK;
}

/* read_line, except that blank lines at the very end of the file (an editor's trailing newline)
 * are the end of the data; a blank line with data after it is an error naming the blank line. */
static nd_err_t read_data_line(csv_source_t *s, const char **line /* OUT */,
                               size_t *len /* OUT */)
{
    return checked(s, nd__lines_next_data(&s->lines, line, len));
}

static nd_err_t csv_next(nd_bar_source_t *src, nd_bar_t *out)
{
    ND_ASSERT(src != NULL);
    ND_ASSERT(out != NULL);
    csv_source_t *s = (csv_source_t *)src;
    if (s->status != ND_OK)
        return s->status;
    nd_bar_t fast;
    int64_t raw;
    if (fast_next(s, &fast, &raw)) {
        /* The row rules in one branch-free test; finish_row words whichever one failed. */
        int bad = (fast.high < fast.low) | (fast.high < fast.open) | (fast.high < fast.close) |
                  (fast.low > fast.open) | (fast.low > fast.close) | (fast.low <= 0) |
                  (fast.volume < 0) | (fast.ts_ns <= s->prev_ts_ns);
        if (bad) {
            nd_err_t rc = finish_row(s, &fast, raw);
            ND_ASSERT(rc != ND_OK);
            return rc;
        }
        s->prev_ts_ns = fast.ts_ns;
        s->prev_ts_raw = raw;
        fast.instrument_id = s->instrument_id;
        fast._reserved = 0;
        *out = fast;
        return ND_OK;
    }
    const char *line;
    size_t len;
    nd_err_t rc = read_data_line(s, &line, &len);
    if (rc == ND_EEOF) {
        if (s->prev_ts_ns == INT64_MIN) { /* no bar handed out (times are >= 0) */
            snprintf(s->base.err, sizeof s->base.err, "%s: no bars", s->path);
            s->status = ND_EPARSE;
            return ND_EPARSE;
        }
        s->status = ND_EEOF;
        return ND_EEOF;
    }
    if (rc != ND_OK)
        return rc;
    nd_bar_t bar;
    rc = parse_row(s, line, len, &bar);
    if (rc != ND_OK)
        return rc;
    ND_ASSERT(bar.low > 0);
    *out = bar;
    return ND_OK;
}

static void csv_close(nd_bar_source_t *src)
{
    if (src == NULL)
        return;
    csv_source_t *s = (csv_source_t *)src;
    nd__lines_deinit(&s->lines);
    nd_free(s->plans);
    nd_free(s->path);
    nd_free(s);
}

/* Says whether a first line is a kline data row: 12 columns and an all-digit open time. */
static int looks_like_kline_row(const char *line, size_t len)
{
    nd__field_t f[FIELDS_MAX];
    int64_t ignored;
    return nd__fields_split(line, len, f, FIELDS_MAX) == KLINE_COLUMNS &&
           parse_uint(f[0].text, f[0].len, &ignored) == 0;
}

/* Decides the format from the first line and whether that line is a header. */
static nd_err_t detect_format(csv_source_t *s, const char *line, size_t len,
                              nd_bar_format_t asked, int *is_header /* OUT */)
{
    size_t csv_len = sizeof csv_header - 1, kline_len = sizeof kline_header_prefix - 1;
    int csv_hdr = len == csv_len && memcmp(line, csv_header, csv_len) == 0;
    int kline_hdr = len >= kline_len && memcmp(line, kline_header_prefix, kline_len) == 0;
    if (asked == ND_BAR_FORMAT_CSV && !csv_hdr)
        return row_fail(s, ND_EPARSE, "expected header '%s'", csv_header);
    if (asked == ND_BAR_FORMAT_AUTO) {
        if (csv_hdr)
            asked = ND_BAR_FORMAT_CSV;
        else if (kline_hdr || looks_like_kline_row(line, len))
            asked = ND_BAR_FORMAT_KLINE;
        else
            return row_fail(s, ND_EPARSE,
                            "unknown bar format: expected header '%s', a kline header "
                            "'open_time,...' or 12 kline columns",
                            csv_header);
    }
    s->format = asked;
    *is_header = asked == ND_BAR_FORMAT_CSV || kline_hdr;
    return ND_OK;
}

/* Reads line 1, settles the format and leaves the source positioned on the first data row. */
static nd_err_t start_source(csv_source_t *s, nd_bar_format_t asked)
{
    const char *line;
    size_t len;
    nd_err_t rc = checked(s, nd__lines_first(&s->lines, &line, &len));
    if (rc == ND_EEOF) {
        snprintf(s->base.err, sizeof s->base.err, "%s: no bars", s->path);
        return ND_EPARSE;
    }
    if (rc != ND_OK)
        return rc;
    int is_header = 0;
    rc = detect_format(s, line, len, asked, &is_header);
    if (rc != ND_OK)
        return rc;
    if (!is_header) /* the first line is data: next() parses it as line 1 */
        nd__lines_unread_first(&s->lines, line);
    return ND_OK;
}

static nd_err_t alloc_source(const char *path, const nd_instrument_t *inst,
                             csv_source_t **out /* OUT */)
{
    csv_source_t *s = nd_calloc(1, sizeof *s);
    if (s == NULL)
        return ND_ENOMEM;
    s->path = nd_strdup(path);
    if (nd__lines_init(&s->lines, READ_BUF_SIZE, ND_LINE_MAX) != ND_OK || s->path == NULL) {
        csv_close(&s->base);
        return ND_ENOMEM;
    }
    s->base.next = csv_next;
    s->base.close = csv_close;
    s->px_decimals = inst->px_decimals;
    s->qty_decimals = inst->qty_decimals;
    s->instrument_id = inst->id;
    uint32_t id_fields[2] = {inst->id, 0};
    memcpy(&s->id_word, id_fields, sizeof s->id_word);
    s->prev_ts_ns = INT64_MIN; /* below any time (>= 0): the first bar needs no special case,
                                * and it stays there until a bar is handed out */
    s->status = ND_OK;
    *out = s;
    return ND_OK;
}

nd_err_t nd_bars_open(const char *path, nd_bar_format_t format, const nd_instrument_t *inst,
                      nd_bar_source_t **out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL);
    ND_ASSERT(inst != NULL);
    ND_ASSERT(out != NULL);
    ND_ASSERT(format == ND_BAR_FORMAT_AUTO || format == ND_BAR_FORMAT_CSV ||
              format == ND_BAR_FORMAT_KLINE);
    ND_ASSERT(inst->px_decimals >= 0 && inst->px_decimals <= ND_DECIMALS_MAX);
    ND_ASSERT(inst->qty_decimals >= 0 && inst->qty_decimals <= ND_DECIMALS_MAX);
    csv_source_t *s;
    if (alloc_source(path, inst, &s) != ND_OK) {
        nd_err_put(err, err_len, "%s: out of memory", path);
        return ND_ENOMEM;
    }
    /* nd_file_open refuses a FIFO, a device or a directory before opening: never blocks. */
    nd_err_t open_rc = nd_file_open(path, &s->lines.file, err, err_len);
    if (open_rc != ND_OK) {
        csv_close(&s->base);
        return ND_EIO; /* the contract of this function: the file could not be read */
    }
    nd__lines_map(&s->lines, path, MAP_SIZE_MAX);
    nd_err_t rc = start_source(s, format);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "%s", s->base.err);
        csv_close(&s->base);
        return rc;
    }
    /* Without the memory the plan path is off; the other paths give the same bars. */
    if (plan_supported())
        s->plans = nd_calloc((size_t)2 << PLAN_BITS, sizeof *s->plans);
    if (s->plans != NULL)
        s->base.next = s->format == ND_BAR_FORMAT_KLINE ? kline_next_plan : csv_next_plan;
    *out = &s->base;
    return ND_OK;
}

nd_err_t nd_bars_read_all(nd_bar_source_t *src, nd_bar_t **bars, size_t *count, char *err,
                          size_t err_len)
{
    ND_ASSERT(src != NULL);
    ND_ASSERT(bars != NULL && count != NULL);
    nd_bar_t *items = NULL, bar;
    size_t n = 0, cap = 0;
    nd_err_t rc;
    while ((rc = src->next(src, &bar)) == ND_OK) {
        nd_bar_t *grown = nd_array_grow(items, &cap, n + 1, sizeof *grown, 4096);
        if (!grown) {
            rc = ND_ENOMEM;
            break;
        }
        items = grown;
        items[n++] = bar;
    }
    if (rc != ND_EEOF) {
        nd_err_put(err, err_len, "%s", rc == ND_ENOMEM ? "out of memory" : src->err);
        nd_free(items);
        return rc;
    }
    *bars = items;
    *count = n;
    return ND_OK;
}

size_t nd_bars_lower_bound(const nd_bar_t *bars, size_t count, int64_t ts_ns)
{
    return count == 0 ? 0 : nd_time_lower_bound(&bars[0].ts_ns, count, sizeof bars[0], ts_ns);
}
