/* lines.c: the buffered line reader and the field splitter that the bar, tick and depth
 * readers share (market_int.h). */
#include "market/market_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/text.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

nd_err_t nd__lines_init(nd__lines_t *lines, size_t cap, size_t line_max)
{
    ND_ASSERT(lines != NULL);
    ND_ASSERT(cap > 2 * line_max);
    memset(lines, 0, sizeof *lines);
    lines->buf = nd_alloc(cap);
    if (lines->buf == NULL)
        return ND_ENOMEM;
    lines->cap = cap;
    lines->line_max = line_max;
    return ND_OK;
}

void nd__lines_map(nd__lines_t *lines, const char *path, size_t len_max)
{
    ND_ASSERT(lines != NULL && lines->file != NULL);
    ND_ASSERT(lines->len == 0 && !lines->eof && lines->map.data == NULL);
    if (!nd_file_map(lines->file, path, len_max, &lines->map))
        return;
    nd_free(lines->buf);
    /* Read only: the reader never writes buf except in refill, which a reader at eof never
     * calls. */
    lines->buf = (char *)lines->map.data;
    lines->cap = lines->len = lines->map.len;
    lines->eof = 1;
}

void nd__lines_deinit(nd__lines_t *lines)
{
    ND_ASSERT(lines != NULL);
    if (lines->file)
        fclose(lines->file); /* read only: nothing is lost at close */
    if (lines->map.data) {
        nd_file_unmap(&lines->map);
        lines->buf = NULL;
    }
    nd_free(lines->buf);
    lines->file = NULL;
    lines->buf = NULL;
}

/* Moves the unconsumed tail to the front and reads behind it; sets eof at the end. */
static nd_err_t refill(nd__lines_t *l)
{
    ND_ASSERT(l->pos <= l->len);
    ND_ASSERT(!l->eof);
    size_t tail = l->len - l->pos;
    memmove(l->buf, l->buf + l->pos, tail);
    l->pos = 0;
    l->len = tail;
    size_t got = fread(l->buf + tail, 1, l->cap - tail, l->file);
    l->len += got;
    if (got == 0) {
        if (ferror(l->file)) {
            l->read_errno = errno ? errno : EIO;
            return ND_EIO;
        }
        l->eof = 1;
    }
    return ND_OK;
}

nd_err_t nd__lines_next(nd__lines_t *l, const char **line, size_t *len)
{
    ND_ASSERT(l != NULL && l->buf != NULL);
    ND_ASSERT(line != NULL && len != NULL);
    for (;;) {
        char *start = l->buf + l->pos;
        size_t avail = l->len - l->pos;
        char *nl = memchr(start, '\n', avail);
        size_t n = nl ? (size_t)(nl - start) : avail;
        if (nl || (l->eof && avail > 0) || n > l->line_max) {
            l->line_number++;
            if (n > l->line_max)
                return ND_ERANGE;
            l->pos += nl ? n + 1 : n;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            *line = start;
            *len = n;
            return ND_OK;
        }
        if (l->eof)
            return ND_EEOF;
        nd_err_t rc = refill(l);
        if (rc != ND_OK)
            return rc;
    }
}

nd_err_t nd__lines_next_data(nd__lines_t *l, const char **line, size_t *len)
{
    nd_err_t rc = nd__lines_next(l, line, len);
    if (rc != ND_OK || *len > 0)
        return rc;
    int64_t blank_line = l->line_number;
    while ((rc = nd__lines_next(l, line, len)) == ND_OK && *len == 0)
        ;
    if (rc != ND_OK)
        return rc; /* ND_EEOF: only blank lines were left, the end of the data */
    l->line_number = blank_line;
    return ND_EINVAL;
}

nd_err_t nd__lines_first(nd__lines_t *l, const char **line, size_t *len)
{
    nd_err_t rc = nd__lines_next_data(l, line, len);
    if (rc != ND_OK)
        return rc;
    /* A UTF-8 byte order mark is an encoding marker, not content: spreadsheets add one. */
    size_t bom = nd_text_bom_len(*line, *len);
    *line += bom;
    *len -= bom;
    return ND_OK;
}

void nd__lines_unread_first(nd__lines_t *l, const char *line)
{
    ND_ASSERT(l->line_number == 1);
    ND_ASSERT(line >= l->buf && line <= l->buf + l->len);
    l->pos = (size_t)(line - l->buf);
    l->line_number = 0;
}

int nd__fields_split(const char *line, size_t len, nd__field_t *fields, int max)
{
    ND_ASSERT(line != NULL || len == 0);
    ND_ASSERT(fields != NULL && max > 0);
    int count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != ',')
            continue;
        if (count < max) {
            fields[count].text = line + start;
            fields[count].len = i - start;
        }
        count++;
        start = i + 1;
    }
    return count;
}

nd_err_t nd__market_fail(char *err, size_t err_len, nd_err_t *status, const char *path,
                         int64_t line, nd_err_t code, const char *fmt, ...)
{
    ND_ASSERT(code != ND_OK);
    ND_ASSERT(status != NULL);
    char reason[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line < 0) /* a whole-file message (a snapshot): no line to name */
        nd_err_put(err, err_len, "%s: %s", path, reason);
    else
        nd_err_put(err, err_len, "%s:%lld: %s", path, (long long)line, reason);
    *status = code;
    return code;
}

nd_err_t nd__lines_check(const nd__lines_t *l, nd_err_t rc, const char *path, char *err,
                         size_t err_len, nd_err_t *status)
{
    if (rc == ND_ERANGE)
        return nd__market_fail(err, err_len, status, path, l->line_number, ND_EPARSE,
                               "line longer than %zu bytes", l->line_max);
    if (rc == ND_EINVAL)
        return nd__market_fail(err, err_len, status, path, l->line_number, ND_EPARSE,
                               "blank line inside the data");
    if (rc == ND_EIO) {
        nd_err_put(err, err_len, "%s: read error: %s", path, strerror(l->read_errno));
        *status = ND_EIO;
    }
    return rc;
}
