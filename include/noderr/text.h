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

#endif
