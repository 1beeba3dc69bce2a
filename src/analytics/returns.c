/* returns.c: the returns file of `noderr metrics` (metrics.h).
 *
 * One simple periodic return per line, an optional first line `return`, LF or CRLF endings,
 * blanks around a value, blank lines only at the end. A leading UTF-8 byte order mark is skipped
 * (an editor's artefact, not data). Anything else is refused with PATH:LINE and why, quoting the
 * line with non-printable bytes escaped so that a NUL or a control byte is visible. */
#include "noderr/metrics.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/text.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Plain decimal notation (sign, digits, point, exponent) as a finite double: NULL, or why the
 * text is refused. Hex, inf and nan are refused; so is any byte outside that alphabet. */
const char *nd_returns_value_parse(const char *text, size_t len, double *out)
{
    ND_ASSERT(text != NULL && out != NULL);
    char buf[ND_RETURNS_LINE_MAX + 1];
    if (len == 0)
        return "empty value";
    if (len > ND_RETURNS_LINE_MAX)
        return "not a decimal number";
    for (size_t i = 0; i < len; i++)
        if (strchr("0123456789+-.eE", text[i]) == NULL || text[i] == '\0')
            return "not a decimal number";
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0')
        return "not a decimal number";
    if (!isfinite(v))
        return "non-finite value (out of the double range)";
    *out = v;
    return NULL;
}

nd_err_t nd_returns_parse(const char *path, const char *text, size_t len, nd_series_t *out,
                          char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    ND_ASSERT(text != NULL || len == 0);
    size_t pos = nd_text_bom_len(text, len), line_no = 0, blank_line = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, a = pos, b = end;
        line_no++;
        pos = end + 1;
        if (b - a > ND_RETURNS_LINE_MAX + 1) { /* + 1: a CR before the LF */
            nd_err_put(err, err_len, "%s:%zu: line longer than %d characters", path, line_no,
                    ND_RETURNS_LINE_MAX);
            return ND_EPARSE;
        }
        while (b > a && strchr(" \t\r", text[b - 1]) != NULL && text[b - 1] != '\0')
            b--;
        while (a < b && (text[a] == ' ' || text[a] == '\t'))
            a++;
        if (a == b) {
            if (blank_line == 0)
                blank_line = line_no;
            continue;
        }
        if (line_no == 1 && b - a == 6 && memcmp(text + a, "return", 6) == 0)
            continue;
        if (blank_line != 0) {
            nd_err_put(err, err_len, "%s:%zu: blank line inside the data", path, blank_line);
            return ND_EPARSE;
        }
        double v = 0.0;
        const char *why = nd_returns_value_parse(text + a, b - a, &v);
        if (why != NULL) {
            char shown[96];
            nd_err_put(err, err_len, "%s:%zu: %s: '%s'", path, line_no, why,
                    nd_text_escape(text + a, b - a, shown, sizeof shown));
            return ND_EPARSE;
        }
        if (nd_series_push(out, v) != ND_OK) {
            nd_err_put(err, err_len, "%s:%zu: out of memory", path, line_no);
            return ND_ENOMEM;
        }
    }
    return ND_OK;
}

nd_err_t nd_returns_load(const char *path, nd_series_t *out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    char *text = NULL;
    size_t len = 0;
    nd_err_t rc = nd_file_read(path, ND_RETURNS_FILE_BYTES_MAX, 0, &text, &len, err, err_len);
    if (rc != ND_OK)
        return rc;
    rc = nd_returns_parse(path, text, len, out, err, err_len);
    nd_free(text);
    return rc;
}
