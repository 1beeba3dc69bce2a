/* report_sb.c: the report's text buffer and escapers. The buffer grows geometrically through
 * nd_realloc; after a failed append it stays marked oom and ignores further appends, so the
 * page writers can append freely and check once at the end. */
#include "report_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void nd__report_sb_init(nd__report_sb_t *sb)
{
    ND_ASSERT(sb != NULL);
    memset(sb, 0, sizeof *sb);
}

void nd__report_sb_deinit(nd__report_sb_t *sb)
{
    ND_ASSERT(sb != NULL);
    nd_free(sb->data);
    memset(sb, 0, sizeof *sb);
}

static bool reserve(nd__report_sb_t *sb, size_t extra)
{
    if (sb->oom)
        return false;
    char *data = nd_array_grow(sb->data, &sb->cap, sb->len + extra + 1, 1, 4096);
    if (!data) {
        sb->oom = true;
        return false;
    }
    sb->data = data;
    return true;
}

void nd__report_sb_put(nd__report_sb_t *sb, const char *text, size_t len)
{
    ND_ASSERT(sb != NULL);
    ND_ASSERT(text != NULL || len == 0);
    if (!reserve(sb, len))
        return;
    memcpy(sb->data + sb->len, text, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void nd__report_sb_puts(nd__report_sb_t *sb, const char *text)
{
    nd__report_sb_put(sb, text, strlen(text));
}

void nd__report_sb_printf(nd__report_sb_t *sb, const char *fmt, ...)
{
    ND_ASSERT(fmt != NULL);
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    ND_ASSERT(n >= 0);
    if ((size_t)n < sizeof small) {
        nd__report_sb_put(sb, small, (size_t)n);
        return;
    }
    if (!reserve(sb, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void nd__report_sb_html(nd__report_sb_t *sb, const char *text)
{
    ND_ASSERT(text != NULL);
    const char *run = text;
    for (const char *p = text; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        nd__report_sb_put(sb, run, (size_t)(p - run));
        nd__report_sb_puts(sb, rep);
        run = p + 1;
    }
    nd__report_sb_puts(sb, run);
}

void nd__report_sb_script_safe(nd__report_sb_t *sb, const char *text, size_t len)
{
    ND_ASSERT(text != NULL || len == 0);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '<')
            continue;
        if (i + 1 < len && text[i + 1] == '/') {
            nd__report_sb_put(sb, text + run, i - run);
            nd__report_sb_puts(sb, "<\\/");
            run = i + 2;
            i++;
        } else if (i + 3 < len && memcmp(text + i, "<!--", 4) == 0) {
            nd__report_sb_put(sb, text + run, i - run);
            nd__report_sb_puts(sb, "\\u003c!--");
            run = i + 4;
            i += 3;
        }
    }
    nd__report_sb_put(sb, text + run, len - run);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    nd__report_sb_put(data, buffer, size);
    return 0;
}

void nd__report_sb_json_string(nd__report_sb_t *sb, const char *text)
{
    ND_ASSERT(text != NULL);
    json_t *s = json_string(text);
    if (!s) /* not UTF-8: say so rather than drop the element */
        s = json_string("(not UTF-8)");
    if (!s) {
        sb->oom = true;
        return;
    }
    json_dump_callback(s, dump_cb, sb, JSON_ENCODE_ANY);
    json_decref(s);
}

bool nd__report_number(const json_t *value, double *out)
{
    ND_ASSERT(out != NULL);
    if (!json_is_number(value))
        return false;
    double v = json_number_value(value);
    if (!isfinite(v))
        return false;
    *out = v;
    return true;
}

bool nd__report_time_ms(const json_t *value, double *out_ms)
{
    ND_ASSERT(out_ms != NULL);
    double v;
    if (nd__report_number(value, &v)) {
        *out_ms = v;
        return true;
    }
    int64_t ns;
    if (json_is_string(value) && nd_time_parse_iso(json_string_value(value), &ns) == ND_OK) {
        *out_ms = (double)(ns / 1000000);
        return true;
    }
    return false;
}

const char *nd__report_string(const json_t *object, const char *key, const char *fallback)
{
    ND_ASSERT(key != NULL);
    const json_t *v = json_is_object(object) ? json_object_get(object, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : fallback;
}

