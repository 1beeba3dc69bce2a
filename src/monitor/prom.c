/* prom.c: the metrics registry and its Prometheus text exposition (prom.h).
 *
 * Each series keeps its rendered label set ('{a="x",b="y"}', values escaped) from registration,
 * so a render is a walk that copies prefixes and formats integers: no allocation but the output
 * buffer, whose size is bounded by `render_max`, kept up to date while registering. Invariants:
 * a family's series all have its label count; a counter's name ends in _total; render_max is
 * at least the length of any render. */
#include "monitor_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLECT_MAX 8
#define NUMBER_MAX 24 /* "-9223372036854775808" with a point: 21 bytes */

typedef struct series {
    struct series *next;
    char *labels;     /* '{a="x"}' or "" */
    size_t labels_len;
    char *key;        /* the raw values joined by '\xff', to refuse duplicates */
    nd_prom_cell_t cell;
    nd_prom_hist_t *hist;
} series_t;

struct nd_prom_family {
    struct nd_prom_family *next;
    nd_prom_t *registry;
    nd_prom_type_t type;
    char name[ND_PROM_NAME_MAX];
    char *help;
    int decimals;
    uint32_t label_count;
    char label_names[ND_PROM_LABELS_MAX][ND_PROM_NAME_MAX];
    int64_t bounds[ND_PROM_BUCKETS_MAX];
    uint32_t bound_count;
    char le[ND_PROM_BUCKETS_MAX][NUMBER_MAX]; /* the bounds as le="..." values */
    series_t *first, *last;
};

struct nd_prom {
    nd_prom_family_t *first, *last;
    size_t series_count;
    size_t render_max;
    struct {
        nd_prom_collect_cb cb;
        void *ctx;
        bool owned; /* ctx is freed with the registry */
    } collect[COLLECT_MAX];
    uint32_t collect_count;
};

nd_err_t nd_prom_create(nd_prom_t **out)
{
    ND_ASSERT(out != NULL);
    nd_prom_t *p = nd_calloc(1, sizeof *p);
    if (!p)
        return ND_ENOMEM;
    *out = p;
    return ND_OK;
}

void nd_prom_destroy(nd_prom_t *p)
{
    if (!p)
        return;
    for (nd_prom_family_t *f = p->first, *fn; f; f = fn) {
        fn = f->next;
        for (series_t *s = f->first, *sn; s; s = sn) {
            sn = s->next;
            nd_free(s->labels);
            nd_free(s->key);
            nd_free(s->hist);
            nd_free(s);
        }
        nd_free(f->help);
        nd_free(f);
    }
    for (uint32_t i = 0; i < p->collect_count; i++)
        if (p->collect[i].owned)
            nd_free(p->collect[i].ctx);
    nd_free(p);
}

static bool name_ok(const char *name, bool colon_ok)
{
    size_t n = strlen(name);
    if (n == 0 || n >= ND_PROM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                     (colon_ok && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static nd_prom_family_t *find_family(const nd_prom_t *p, const char *name)
{
    for (nd_prom_family_t *f = p->first; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Checks a family's name, labels and buckets; ND_OK or ND_EINVAL with err set. */
static nd_err_t check_family(nd_prom_type_t type, const char *name, int decimals,
                             const char *const *label_names, const int64_t *bounds,
                             uint32_t bound_count, char *err, size_t err_len)
{
    if (!name_ok(name, true)) {
        snprintf(err, err_len, "metric name '%s' is not [a-zA-Z_:][a-zA-Z0-9_:]*", name);
        return ND_EINVAL;
    }
    if ((type == ND_PROM_COUNTER) != ends_with(name, "_total")) {
        snprintf(err, err_len, "metric %s: a counter's name ends in _total, no other's does",
                 name);
        return ND_EINVAL;
    }
    if (decimals < 0 || decimals > 18) {
        snprintf(err, err_len, "metric %s: %d decimals is outside 0..18", name, decimals);
        return ND_EINVAL;
    }
    uint32_t n = 0;
    for (; label_names && label_names[n]; n++) {
        const char *l = label_names[n];
        if (n == ND_PROM_LABELS_MAX || !name_ok(l, false) || strncmp(l, "__", 2) == 0 ||
            strcmp(l, "le") == 0) {
            snprintf(err, err_len, "metric %s: label '%s' is not a valid label name (or too many)",
                     name, l);
            return ND_EINVAL;
        }
    }
    bool hist = type == ND_PROM_HISTOGRAM;
    if (hist != (bound_count > 0) || bound_count > ND_PROM_BUCKETS_MAX || (bound_count && !bounds)) {
        snprintf(err, err_len, "metric %s: a histogram has 1..%d buckets, no other type has any",
                 name, ND_PROM_BUCKETS_MAX);
        return ND_EINVAL;
    }
    for (uint32_t i = 1; i < bound_count; i++) {
        if (bounds[i] <= bounds[i - 1]) {
            snprintf(err, err_len, "metric %s: bucket bounds are not ascending", name);
            return ND_EINVAL;
        }
    }
    return ND_OK;
}

nd_err_t nd_prom_family(nd_prom_t *p, nd_prom_type_t type, const char *name, const char *help,
                        int decimals, const char *const *label_names, const int64_t *bounds,
                        uint32_t bound_count, nd_prom_family_t **out, char *err, size_t err_len)
{
    ND_ASSERT(p != NULL && name != NULL);
    ND_ASSERT(help != NULL && out != NULL);
    nd_err_t rc = check_family(type, name, decimals, label_names, bounds, bound_count, err,
                               err_len);
    if (rc != ND_OK)
        return rc;
    if (find_family(p, name)) {
        snprintf(err, err_len, "metric %s is registered twice", name);
        return ND_EEXIST;
    }
    nd_prom_family_t *f = nd_calloc(1, sizeof *f);
    char *help_copy = nd_strdup(help);
    if (!f || !help_copy) {
        nd_free(f);
        nd_free(help_copy);
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    /* HELP text escapes backslash and newline: keep it one line of plain text. */
    for (char *c = help_copy; *c; c++)
        if (*c == '\n' || *c == '\\')
            *c = ' ';
    f->registry = p;
    f->type = type;
    f->help = help_copy;
    f->decimals = decimals;
    snprintf(f->name, sizeof f->name, "%s", name);
    for (; label_names && label_names[f->label_count]; f->label_count++)
        snprintf(f->label_names[f->label_count], ND_PROM_NAME_MAX, "%s",
                 label_names[f->label_count]);
    f->bound_count = bound_count;
    for (uint32_t i = 0; i < bound_count; i++) {
        f->bounds[i] = bounds[i];
        nd_prom_format_fixed(bounds[i], decimals, f->le[i]);
    }
    if (p->last)
        p->last->next = f;
    else
        p->first = f;
    p->last = f;
    /* "# HELP name text\n# TYPE name histogram\n" */
    p->render_max += 2 * strlen(name) + strlen(help_copy) + 32;
    *out = f;
    return ND_OK;
}

/* Appends value escaped for a label (backslash, double quote, newline) to out at *len. */
static void escape_value(const char *value, char *out, size_t *len)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\' || *c == '"') {
            out[(*len)++] = '\\';
            out[(*len)++] = *c;
        } else if (*c == '\n') {
            out[(*len)++] = '\\';
            out[(*len)++] = 'n';
        } else {
            out[(*len)++] = *c;
        }
    }
}

/* Builds the rendered label set and the duplicate key of a new series. */
static nd_err_t series_labels(const nd_prom_family_t *f, const char *const *values, series_t *s)
{
    size_t cap = 3, key_cap = 1;
    for (uint32_t i = 0; i < f->label_count; i++) {
        ND_ASSERT(values != NULL && values[i] != NULL);
        size_t n = strlen(values[i]);
        if (n > ND_PROM_VALUE_MAX)
            return ND_EINVAL;
        cap += strlen(f->label_names[i]) + 2 * n + 4;
        key_cap += n + 1;
    }
    s->labels = nd_alloc(cap);
    s->key = nd_alloc(key_cap);
    if (!s->labels || !s->key)
        return ND_ENOMEM;
    size_t len = 0, key_len = 0;
    for (uint32_t i = 0; i < f->label_count; i++) {
        len += (size_t)snprintf(s->labels + len, cap - len, "%s%s=\"", i ? "," : "{",
                                f->label_names[i]);
        escape_value(values[i], s->labels, &len);
        s->labels[len++] = '"';
        size_t n = strlen(values[i]);
        memcpy(s->key + key_len, values[i], n);
        key_len += n;
        s->key[key_len++] = '\xff';
    }
    if (f->label_count)
        s->labels[len++] = '}';
    ND_ASSERT(len < cap);
    s->labels[len] = '\0';
    s->key[key_len] = '\0';
    s->labels_len = len;
    return ND_OK;
}

static nd_err_t add_series(nd_prom_family_t *f, const char *const *values, series_t **out)
{
    series_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    nd_err_t rc = series_labels(f, values, s);
    for (series_t *o = f->first; rc == ND_OK && o; o = o->next)
        if (strcmp(o->key, s->key) == 0)
            rc = ND_EEXIST;
    if (rc == ND_OK && f->type == ND_PROM_HISTOGRAM) {
        s->hist = nd_calloc(1, sizeof *s->hist);
        rc = s->hist ? ND_OK : ND_ENOMEM;
    }
    if (rc != ND_OK) {
        nd_free(s->labels);
        nd_free(s->key);
        nd_free(s);
        return rc;
    }
    if (f->last)
        f->last->next = s;
    else
        f->first = s;
    f->last = s;
    nd_prom_t *p = f->registry;
    /* One line: name, suffix, labels (plus le="..."), a space, the number, a newline. */
    size_t line = strlen(f->name) + 8 + s->labels_len + 8 + NUMBER_MAX + 2 + NUMBER_MAX;
    size_t lines = s->hist ? f->bound_count + 3 : 1;
    p->render_max += lines * line;
    p->series_count += lines;
    *out = s;
    return ND_OK;
}

nd_err_t nd_prom_series(nd_prom_family_t *f, const char *const *label_values,
                        nd_prom_cell_t **out)
{
    ND_ASSERT(f != NULL && out != NULL);
    if (f->type == ND_PROM_HISTOGRAM)
        return ND_EINVAL;
    series_t *s;
    nd_err_t rc = add_series(f, label_values, &s);
    if (rc == ND_OK)
        *out = &s->cell;
    return rc;
}

nd_err_t nd_prom_hist_series(nd_prom_family_t *f, const char *const *label_values,
                             nd_prom_hist_t **out)
{
    ND_ASSERT(f != NULL && out != NULL);
    if (f->type != ND_PROM_HISTOGRAM)
        return ND_EINVAL;
    series_t *s;
    nd_err_t rc = add_series(f, label_values, &s);
    if (rc != ND_OK)
        return rc;
    s->hist->bounds = f->bounds;
    s->hist->bound_count = f->bound_count;
    *out = s->hist;
    return ND_OK;
}

nd_err_t nd_prom_on_collect(nd_prom_t *p, nd_prom_collect_cb collect_cb, void *ctx)
{
    ND_ASSERT(p != NULL && collect_cb != NULL);
    if (p->collect_count == COLLECT_MAX)
        return ND_EFULL;
    p->collect[p->collect_count].cb = collect_cb;
    p->collect[p->collect_count].ctx = ctx;
    p->collect[p->collect_count].owned = false;
    p->collect_count++;
    return ND_OK;
}

nd_err_t nd__prom_on_collect_owned(nd_prom_t *p, nd_prom_collect_cb collect_cb, void *ctx)
{
    nd_err_t rc = nd_prom_on_collect(p, collect_cb, ctx);
    if (rc != ND_OK) {
        nd_free(ctx);
        return rc;
    }
    p->collect[p->collect_count - 1].owned = true;
    return ND_OK;
}

size_t nd_prom_series_count(const nd_prom_t *p)
{
    return p->series_count;
}

size_t nd_prom_format_fixed(int64_t value, int decimals, char *out)
{
    ND_ASSERT(decimals >= 0 && decimals <= 18);
    uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0 || n <= decimals);
    int frac = decimals; /* drop trailing zeros of the fraction */
    while (frac > 0 && digits[decimals - frac] == '0')
        frac--;
    size_t len = 0;
    if (value < 0)
        out[len++] = '-';
    for (int i = n - 1; i >= decimals; i--)
        out[len++] = digits[i];
    if (frac > 0) {
        out[len++] = '.';
        for (int i = decimals - 1; i >= decimals - frac; i--)
            out[len++] = digits[i];
    }
    out[len] = '\0';
    ND_ASSERT(len < NUMBER_MAX);
    return len;
}

/* ---- Rendering ---------------------------------------------------------------------------- */

typedef struct out {
    char *buf;
    size_t len, cap;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    ND_ASSERT(o->len + n <= o->cap);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_str(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* name+suffix, labels with an optional extra label le="...", a space, a value, a newline. */
static void put_line(out_t *o, const nd_prom_family_t *f, const char *suffix, const series_t *s,
                     const char *le, int64_t value, int decimals)
{
    put_str(o, f->name);
    put_str(o, suffix);
    if (le) {
        if (s->labels_len) {
            put(o, s->labels, s->labels_len - 1);
            put_str(o, ",le=\"");
        } else {
            put_str(o, "{le=\"");
        }
        put_str(o, le);
        put_str(o, "\"}");
    } else {
        put(o, s->labels, s->labels_len);
    }
    char number[NUMBER_MAX];
    size_t n = nd_prom_format_fixed(value, decimals, number);
    number[n++] = '\n';
    put(o, " ", 1);
    put(o, number, n);
}

static void render_hist(out_t *o, const nd_prom_family_t *f, const series_t *s)
{
    const nd_prom_hist_t *h = s->hist;
    int64_t cumulative = 0;
    for (uint32_t i = 0; i < f->bound_count; i++) {
        cumulative += nd_prom_get(&h->buckets[i]);
        put_line(o, f, "_bucket", s, f->le[i], cumulative, 0);
    }
    cumulative += nd_prom_get(&h->buckets[f->bound_count]);
    put_line(o, f, "_bucket", s, "+Inf", cumulative, 0);
    put_line(o, f, "_sum", s, NULL, nd_prom_get(&h->sum), f->decimals);
    /* The count is the +Inf bucket: one number, so the two always agree. */
    put_line(o, f, "_count", s, NULL, cumulative, 0);
}

static void render_family(out_t *o, const nd_prom_family_t *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    put_str(o, "# HELP ");
    put_str(o, f->name);
    put_str(o, " ");
    put_str(o, f->help);
    put_str(o, "\n# TYPE ");
    put_str(o, f->name);
    put_str(o, " ");
    put_str(o, type_names[f->type]);
    put_str(o, "\n");
    for (const series_t *s = f->first; s; s = s->next) {
        if (s->hist)
            render_hist(o, f, s);
        else
            put_line(o, f, "", s, NULL, nd_prom_get(&s->cell), f->decimals);
    }
}

nd_err_t nd_prom_render(nd_prom_t *p, char **out, size_t *out_len)
{
    ND_ASSERT(p != NULL);
    ND_ASSERT(out != NULL && out_len != NULL);
    for (uint32_t i = 0; i < p->collect_count; i++)
        p->collect[i].cb(p->collect[i].ctx);
    out_t o = {.buf = nd_alloc(p->render_max + 1), .cap = p->render_max};
    if (!o.buf)
        return ND_ENOMEM;
    for (const nd_prom_family_t *f = p->first; f; f = f->next)
        render_family(&o, f);
    o.buf[o.len] = '\0';
    *out = o.buf;
    *out_len = o.len;
    return ND_OK;
}

/* ---- Parsing (a scraper's view) ----------------------------------------------------------- */

/* Advances over a name at *p (label names without ':'); false when there is none. */
static bool scan_name(const char **p, const char *end, bool colon_ok)
{
    const char *s = *p;
    while (s < end) {
        char c = *s;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                     (colon_ok && c == ':');
        if (!alpha && !(s > *p && c >= '0' && c <= '9'))
            break;
        s++;
    }
    bool any = s > *p;
    *p = s;
    return any;
}

/* {a="x",b="y"} at *p; NULL when well formed, else why. */
static const char *scan_labels(const char **p, const char *end)
{
    const char *s = *p + 1;
    while (s < end && *s != '}') {
        if (!scan_name(&s, end, false))
            return "bad label name";
        if (end - s < 2 || s[0] != '=' || s[1] != '"')
            return "label without =\"value\"";
        s += 2;
        while (s < end && *s != '"') {
            if (*s == '\\' && (s + 1 == end || (s[1] != '\\' && s[1] != '"' && s[1] != 'n')))
                return "bad escape in a label value";
            s += *s == '\\' ? 2 : 1;
        }
        if (s >= end)
            return "unterminated label value";
        s++;
        if (s < end && *s == ',')
            s++;
    }
    if (s >= end)
        return "unterminated label set";
    *p = s + 1;
    return NULL;
}

static bool scan_number(const char *s, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN"))
        return true;
    char *e;
    (void)strtod(buf, &e); /* parsing only: the value is not used */
    return *e == '\0';
}

static const char *parse_sample(const char *s, const char *eol)
{
    if (!scan_name(&s, eol, true))
        return "a sample line must start with a metric name";
    const char *why = s < eol && *s == '{' ? scan_labels(&s, eol) : NULL;
    if (why)
        return why;
    if (s >= eol || *s != ' ')
        return "no space before the value";
    s++;
    const char *v = s;
    while (s < eol && *s != ' ')
        s++;
    if (!scan_number(v, (size_t)(s - v)))
        return "the value is not a number";
    if (s < eol && !scan_number(s + 1, (size_t)(eol - s - 1)))
        return "the timestamp is not a number";
    return NULL;
}

static const char *parse_comment(const char *s, const char *eol)
{
    bool help = eol - s >= 7 && memcmp(s, "# HELP ", 7) == 0;
    bool type = eol - s >= 7 && memcmp(s, "# TYPE ", 7) == 0;
    if (!help && !type)
        return NULL; /* any other comment */
    s += 7;
    if (!scan_name(&s, eol, true))
        return "HELP or TYPE without a metric name";
    if (help)
        return NULL;
    static const char *const types[] = {" counter", " gauge", " histogram", " summary",
                                        " untyped"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if ((size_t)(eol - s) == strlen(types[k]) && memcmp(s, types[k], strlen(types[k])) == 0)
            return NULL;
    return "unknown TYPE";
}

nd_err_t nd_prom_parse(const char *text, size_t len, size_t *samples, char *err, size_t err_len)
{
    ND_ASSERT(text != NULL || len == 0);
    ND_ASSERT(samples != NULL);
    size_t count = 0, line = 0;
    for (const char *p = text, *end = text + len; p < end;) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) {
            snprintf(err, err_len, "line %zu: no newline at the end", line);
            return ND_EPARSE;
        }
        const char *why = NULL;
        if (*p == '#')
            why = parse_comment(p, eol);
        else if (eol > p && (why = parse_sample(p, eol)) == NULL)
            count++;
        if (why) {
            snprintf(err, err_len, "line %zu: %s", line, why);
            return ND_EPARSE;
        }
        p = eol + 1;
    }
    *samples = count;
    return ND_OK;
}

int64_t nd_prom_hist_quantile(const nd_prom_hist_t *h, int64_t q_e6)
{
    ND_ASSERT(h != NULL && q_e6 >= 0 && q_e6 <= 1000000);
    int64_t n[ND_PROM_BUCKETS_MAX + 1], total = 0;
    for (uint32_t i = 0; i <= h->bound_count; i++) /* one read of each cell: a consistent sum */
        total += n[i] = nd_prom_get(&h->buckets[i]);
    if (total == 0 || h->bound_count == 0)
        return 0;
    __int128 rank = (__int128)total * q_e6; /* in millionths of an observation */
    __int128 below = 0;
    for (uint32_t i = 0; i < h->bound_count; i++) {
        __int128 upto = below + (__int128)n[i] * 1000000;
        if (n[i] > 0 && rank <= upto) {
            int64_t lo = i == 0 ? 0 : h->bounds[i - 1], hi = h->bounds[i];
            return lo + (int64_t)((__int128)(hi - lo) * (rank - below) / ((__int128)n[i] * 1000000));
        }
        below = upto;
    }
    return h->bounds[h->bound_count - 1];
}
