/* json_file.c: JSON documents from files: scenario configs, session configs and --params
 * (scenario.h), and their typed fields (json_cfg.h).
 *
 * Here rather than in core because core links without jansson (the fuzz targets build core
 * alone). The bytes come from nd_file_read, so a FIFO, a device or a directory is refused
 * before anything blocks, and jansson's own wording is replaced where it names its flags. */
#include "noderr/scenario.h"
#include "noderr/json_cfg.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/text.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

nd_err_t nd_json_file_load(const char *path, size_t size_max, int json_flags, json_t **out,
                           char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && out != NULL);
    char *buf = NULL;
    size_t len = 0;
    nd_err_t rc = nd_file_read(path, size_max, 0, &buf, &len, err, err_len);
    if (rc != ND_OK)
        return rc;
    size_t skip = nd_text_bom_len(buf, len);
    json_error_t jerr;
    json_t *root = json_loadb(buf + skip, len - skip, json_flags, &jerr);
    nd_free(buf);
    if (root == NULL) {
        /* jansson names its own flag for an escaped NUL: say what is wrong with the file. */
        const char *why = strstr(jerr.text, "JSON_ALLOW_NUL") ? "\\u0000 (a NUL character) "
                                                                "is not allowed in a string"
                                                              : jerr.text;
        if (jerr.line > 0)
            nd_err_put(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, why);
        else
            nd_err_put(err, err_len, "%s: %s", path, why);
        return ND_EPARSE;
    }
    *out = root;
    return ND_OK;
}

json_t *nd_json_time(int64_t ns)
{
    char text[40];
    nd_time_format_iso(ns, text, sizeof text);
    return json_string(text);
}

/* ---- typed config fields (json_cfg.h) ---------------------------------------------------- */

nd_err_t nd_jcfg_bad(nd_jcfg_t *c, const char *field, const char *why)
{
    nd_err_put(c->err, c->err_len, "%s: %s%s%s: %s", c->path, c->key,
               field && c->key[0] ? "." : "", field ? field : "", why);
    return ND_EINVAL;
}

/* Reads an optional number in [lo, hi] into *out; absent keeps *out. */
nd_err_t nd_jcfg_real(nd_jcfg_t *c, json_t *obj, const char *field, double lo, double hi,
                      double *out)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return ND_OK;
    if (!json_is_number(v))
        return nd_jcfg_bad(c, field, "must be a number");
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) {
        char why[96];
        snprintf(why, sizeof why, "%g is outside [%g, %g]", x, lo, hi);
        return nd_jcfg_bad(c, field, why);
    }
    *out = x;
    return ND_OK;
}

nd_err_t nd_jcfg_int(nd_jcfg_t *c, json_t *obj, const char *field, int64_t lo, int64_t hi,
                     int64_t *out)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return ND_OK;
    if (!json_is_integer(v))
        return nd_jcfg_bad(c, field, "must be a whole number");
    int64_t x = (int64_t)json_integer_value(v);
    if (x < lo || x > hi) {
        char why[96];
        snprintf(why, sizeof why, "%lld is outside [%lld, %lld]", (long long)x, (long long)lo,
                 (long long)hi);
        return nd_jcfg_bad(c, field, why);
    }
    *out = x;
    return ND_OK;
}

nd_err_t nd_jcfg_str(nd_jcfg_t *c, json_t *obj, const char *field, char *out, size_t cap)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return ND_OK;
    if (!json_is_string(v))
        return nd_jcfg_bad(c, field, "must be a string");
    if (json_string_length(v) == 0 || json_string_length(v) >= cap)
        return nd_jcfg_bad(c, field, "empty or too long");
    snprintf(out, cap, "%s", json_string_value(v));
    return ND_OK;
}

nd_err_t nd_jcfg_time(nd_jcfg_t *c, json_t *obj, const char *field, int64_t *out)
{
    char text[40] = "";
    nd_err_t rc = nd_jcfg_str(c, obj, field, text, sizeof text);
    if (rc != ND_OK || text[0] == '\0')
        return rc;
    if (nd_time_parse_iso(text, out) != ND_OK)
        return nd_jcfg_bad(c, field, "not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)");
    return ND_OK;
}

nd_err_t nd_jcfg_section(nd_jcfg_t *c, const json_t *obj, const char *key, json_t **out)
{
    ND_ASSERT(c != NULL && key != NULL && out != NULL);
    *out = (json_t *)obj; /* the typed readers take a mutable handle; nothing is changed */
    if (!obj)
        return ND_OK;
    snprintf(c->key, sizeof c->key, "%s", key);
    return json_is_object(obj) ? ND_OK : nd_jcfg_bad(c, NULL, "must be an object");
}

nd_err_t nd_jcfg_keys(nd_jcfg_t *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        size_t k = 0;
        while (allowed[k] && strcmp(allowed[k], key) != 0)
            k++;
        if (!allowed[k])
            return nd_jcfg_bad(c, key, "unknown key");
    }
    return ND_OK;
}

static nd_err_t field_read(nd_jcfg_t *c, json_t *obj, const nd_jcfg_field_t *f)
{
    switch (f->kind) {
    case ND_JCFG_INT: {
        int64_t scale = f->scale > 1 ? f->scale : 1, *out = f->out, x = *out / scale;
        nd_err_t rc = nd_jcfg_int(c, obj, f->key, f->lo, f->hi, &x);
        *out = x * scale;
        return rc;
    }
    case ND_JCFG_FIXED: return nd_jcfg_fixed(c, obj, f->key, f->places, f->lo, f->hi, f->out);
    case ND_JCFG_FRACTION:
        return nd_jcfg_fraction(c, obj, f->key, f->real_lo, f->real_hi, f->places, f->out);
    case ND_JCFG_BOOL: return nd_jcfg_bool(c, obj, f->key, f->out);
    case ND_JCFG_STR: return nd_jcfg_str(c, obj, f->key, f->out, f->cap);
    case ND_JCFG_KEY: return ND_OK;
    }
    ND_ASSERT(!"unknown field kind");
    return ND_EINVAL;
}

static const nd_jcfg_field_t *field_find(const nd_jcfg_field_t *fields, const char *key)
{
    for (; fields->key; fields++)
        if (strcmp(fields->key, key) == 0)
            return fields;
    return NULL;
}

nd_err_t nd_jcfg_fields(nd_jcfg_t *c, json_t *obj, const nd_jcfg_field_t *fields)
{
    ND_ASSERT(c != NULL && obj != NULL && fields != NULL);
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        if (!field_find(fields, key))
            return nd_jcfg_bad(c, key, "unknown key");
    }
    for (size_t k = 0; fields[k].key; k++) {
        ND_ASSERT(fields[k].kind == ND_JCFG_KEY || fields[k].out != NULL);
        nd_err_t rc = field_read(c, obj, &fields[k]);
        if (rc != ND_OK)
            return rc;
    }
    return ND_OK;
}

nd_err_t nd_jcfg_section_fields(nd_jcfg_t *c, const json_t *obj, const char *key,
                                const nd_jcfg_field_t *fields, json_t **out)
{
    nd_err_t rc = nd_jcfg_section(c, obj, key, out);
    if (rc != ND_OK || !*out)
        return rc;
    return nd_jcfg_fields(c, *out, fields);
}

nd_err_t nd_jcfg_bool(nd_jcfg_t *c, json_t *obj, const char *field, bool *out)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return ND_OK;
    if (!json_is_boolean(v))
        return nd_jcfg_bad(c, field, "must be true or false");
    *out = json_is_true(v);
    return ND_OK;
}

nd_err_t nd_jcfg_fixed(nd_jcfg_t *c, json_t *obj, const char *field, int decimals, int64_t lo,
                       int64_t hi, int64_t *out)
{
    json_t *v = json_object_get(obj, field);
    if (!v)
        return ND_OK;
    char text[48];
    if (json_is_integer(v))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < sizeof text)
        snprintf(text, sizeof text, "%s", json_string_value(v));
    else if (json_is_real(v))
        return nd_jcfg_bad(c, field, "write a fractional amount as a string (\"0.01\"): a JSON "
                                     "number is a binary double and not exact");
    else
        return nd_jcfg_bad(c, field, "must be a decimal string or a whole number");
    int64_t x;
    nd_err_t rc = nd_fixed_parse(text, strlen(text), decimals, &x);
    if (rc != ND_OK) {
        char why[160];
        snprintf(why, sizeof why, "'%s' is not a decimal with at most %d places%s", text, decimals,
                 rc == ND_EOVERFLOW ? " (too large)" : "");
        return nd_jcfg_bad(c, field, why);
    }
    if (x < lo || x > hi) {
        char why[160], a[24], b[24];
        nd_fixed_format(lo, decimals, a, sizeof a);
        nd_fixed_format(hi, decimals, b, sizeof b);
        snprintf(why, sizeof why, "%s is outside [%s, %s]", text, a, b);
        return nd_jcfg_bad(c, field, why);
    }
    *out = x;
    return ND_OK;
}

nd_err_t nd_jcfg_fraction(nd_jcfg_t *c, json_t *obj, const char *field, double lo, double hi,
                          int places, int64_t *out)
{
    ND_ASSERT(places >= 0 && places <= 9);
    double x = NAN;
    nd_err_t rc = nd_jcfg_real(c, obj, field, lo, hi, &x);
    if (rc != ND_OK || isnan(x))
        return rc;
    double scaled = x * (double)nd_pow10(places);
    double r = nearbyint(scaled);
    if (fabs(scaled - r) > 1e-6 * fmax(1.0, fabs(r))) {
        char why[64];
        snprintf(why, sizeof why, "at most %d decimal places", places);
        return nd_jcfg_bad(c, field, why);
    }
    *out = (int64_t)r;
    return ND_OK;
}

json_t *nd_json_fixed(int64_t value, int decimals)
{
    char buf[32];
    nd_fixed_format(value, decimals, buf, sizeof buf);
    return json_string(buf);
}

bool nd_jcfg_name_ok(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return name[0] != '\0' && name[0] != '.';
}
