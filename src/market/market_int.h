/* market_int.h: what the market module's file readers share (bars, ticks, depth diffs).
 * Private to src/market. */
#ifndef NODERR_MARKET_INT_H
#define NODERR_MARKET_INT_H

#include "noderr/err.h"
#include "noderr/file.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A buffered reader of lines: one large read buffer, lines handed out in place; or, after
 * nd__lines_map, the whole file mapped, read in place with no buffer and no refill. */
typedef struct nd__lines {
    FILE *file;          /* owned: closed by nd__lines_deinit */
    char *buf;           /* cap bytes; buf[pos, len) is not yet consumed (mapped: the file) */
    size_t cap, pos, len;
    size_t line_max;     /* longest line accepted, without its ending; 2 * line_max < cap */
    int eof;
    int read_errno;      /* errno of the failed read, after ND_EIO */
    int64_t line_number; /* 1-based number of the line last read */
    nd_file_map_t map;   /* the file's mapping (map.data NULL: read through buf) */
} nd__lines_t;

/* Allocates the buffer (cap bytes); the caller then sets file. ND_ENOMEM. */
nd_err_t nd__lines_init(nd__lines_t *lines, size_t cap, size_t line_max);
/* Once file is set and nothing read yet: reads it through a mapping instead of the buffer when
 * it is a regular file of at most len_max bytes (nd_file_map), and frees the buffer. The lines
 * handed out are the same either way; nothing changes if the file cannot be mapped. */
void nd__lines_map(nd__lines_t *lines, const char *path, size_t len_max);
/* Closes the file and frees the buffer; safe on a zeroed or half-initialised reader. */
void nd__lines_deinit(nd__lines_t *lines);

/* The next line without its "\n" or "\r\n" (valid until the next call); a last line without a
 * newline still counts. ND_EEOF at the end, ND_ERANGE for a line longer than line_max (counted
 * in line_number, so the caller can name it), ND_EIO for a failed read (read_errno set). */
nd_err_t nd__lines_next(nd__lines_t *lines, const char **line /* OUT */, size_t *len /* OUT */);

/* nd__lines_next, except that blank lines at the very end of the file (an editor's trailing
 * newline) are the end of the data; a blank line with data after it is ND_EINVAL, with
 * line_number naming the blank line. */
nd_err_t nd__lines_next_data(nd__lines_t *lines, const char **line /* OUT */,
                             size_t *len /* OUT */);
/* The first line, as nd__lines_next_data, without a leading UTF-8 byte order mark. */
nd_err_t nd__lines_first(nd__lines_t *lines, const char **line /* OUT */, size_t *len /* OUT */);
/* Steps back onto the first line (line: as nd__lines_first gave it) when it turned out to be
 * data rather than a header, so that the next read yields it again as line 1. */
void nd__lines_unread_first(nd__lines_t *lines, const char *line);

/* The unconsumed bytes of the buffer, for a caller that parses lines in place (the bar
 * loader's fast path); *avail may end mid-line. Pair with nd__lines_consume. O(1). */
static inline const char *nd__lines_peek(const nd__lines_t *l, size_t *avail /* OUT */)
{
    *avail = l->len - l->pos;
    return l->buf + l->pos;
}

/* Consumes one whole line of size bytes (its ending included) that the caller found in the
 * nd__lines_peek window, as nd__lines_next would have: the line number advances. */
static inline void nd__lines_consume(nd__lines_t *l, size_t size)
{
    l->pos += size;
    l->line_number++;
}

/* One comma-separated field, in place. */
typedef struct nd__field {
    const char *text;
    size_t len;
} nd__field_t;

/* Splits a line at commas into at most max fields; returns the true column count (more than
 * max when there are surplus columns, which are counted but not stored). */
int nd__fields_split(const char *line, size_t len, nd__field_t *fields, int max);

/* Ends a reader: formats "PATH:LINE: reason" into err (the one shape of a row error in every
 * reader; "PATH: reason" when line < 0, for a whole-file message), sets *status to code (sticky)
 * and returns code. */
nd_err_t nd__market_fail(char *err, size_t err_len, nd_err_t *status, const char *path,
                         int64_t line, nd_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Words a failed read of the line reader for a source reading path: a line too long, a blank
 * line inside the data (both ND_EPARSE "PATH:LINE: why") or a read error ("PATH: read error:
 * why"); sets *status on failure. Returns rc, ND_EPARSE for the first two. */
nd_err_t nd__lines_check(const nd__lines_t *lines, nd_err_t rc, const char *path, char *err,
                         size_t err_len, nd_err_t *status);

#endif
