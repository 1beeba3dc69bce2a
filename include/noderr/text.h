/* text.h: small helpers for outside text: quoting it in a message so that invisible bytes are
 * seen, the UTF-8 byte order mark, and the one parser of durations ("180d", "12h") that every
 * command uses. */
#ifndef NODERR_TEXT_H
#define NODERR_TEXT_H

#include "noderr/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies len bytes of text into out (cap bytes, always NUL-terminated) for quoting in a message:
 * printable ASCII as is, a backslash as \\, everything else as \xHH, so a NUL, a control byte
 * or an invisible byte order mark is seen rather than hidden. Cut with "..." when cap is short.
 * Returns out. */
char *nd_text_escape(const char *text, size_t len, char *out, size_t cap);

/* The value of one hex digit (0-9, a-f, A-F), or -1 when c is not one. */
int nd_hex_digit(char c);

/* The UTF-8 byte order mark (EF BB BF): 3 when text starts with one, else 0. */
size_t nd_text_bom_len(const char *text, size_t len);

/* A duration: a positive whole number followed by a unit (m minutes, h hours, d days, w weeks),
 * or with ND_SPAN_BARS_OK a bare number of bars. ns_max / bars_max bound the result. */
typedef struct nd_span {
    int64_t value; /* nanoseconds, or a bar count when bars */
    bool bars;
} nd_span_t;

#define ND_SPAN_BARS_OK 1u
/* Upper bounds the commands use: 100 years of 365.25 days, and 100 million bars. */
#define ND_SPAN_NS_MAX (36525LL * 86400LL * 1000000000LL)
#define ND_SPAN_BARS_MAX 100000000LL

/* Parses len bytes of text as a span. ND_EPARSE when it is not one (err says what is expected),
 * ND_ERANGE when it is zero or beyond the bound (err names the bound); never overflows. */
nd_err_t nd_span_parse(const char *text, size_t len, unsigned flags, nd_span_t *out /* OUT */,
                       char *err, size_t err_len);

/* Formats a positive span of ns as the largest unit that divides it: "4h", "15m", "1d", "90m",
 * "30s" (what nd_span_parse reads back). Returns out. */
char *nd_span_format(int64_t ns, char *out, size_t cap);

/* A time range in Freqtrade's form: "20220101-20221231", "20220101-" (to the end of the data)
 * or "-20221231" (from its start); dates are UTC. The range is half-open: it holds the bars
 * whose open time is at or after 00:00 UTC of the first date and before 00:00 UTC of the second
 * (Freqtrade's stop is that same instant), so "20220101-20230101" is all of 2022 and adjacent
 * ranges never share a bar. 0 stands for an open end. */
typedef struct nd_timerange {
    int64_t start_ns; /* first open time kept; 0: from the start */
    int64_t end_ns;   /* open times before this are kept; 0: to the end */
} nd_timerange_t;

/* Parses len bytes of text as a time range. ND_EPARSE when the form is wrong or a date does not
 * exist (err says which part and why: "20220230: February 2022 has 28 days"), ND_ERANGE when the
 * end is not after the start or a date is outside 1970..2261; never overflows. */
nd_err_t nd_timerange_parse(const char *text, size_t len, nd_timerange_t *out /* OUT */,
                            char *err, size_t err_len);

/* Formats a range back to text ("2022-01-01 .. 2023-01-01", open ends as "start" and "end").
 * Returns out. */
char *nd_timerange_format(const nd_timerange_t *range, char *out, size_t cap);

#endif
