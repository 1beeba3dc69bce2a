/* report.c: the periodic compliance report: trade summary, volume, fees and realised P&L by
 * instrument and strategy, alerts with their evidence and breaker events, as CSV or JSON.
 *
 * Periods are UTC calendar days, months, quarters and years, half-open [from, to). Positions
 * and their average cost are rebuilt from every fill before the period's end, so P&L realised
 * inside the period uses the cost of positions opened before it. All sums are exact integers
 * (cash units at ND_CASH_DECIMALS, quantities at their instrument's scale); the output is a
 * pure function of the stored records: groups are sorted by name, records kept in seq order. */
#include "store_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/scenario.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nd_err_t period_error(const char *text, char *err, size_t err_len)
{
    snprintf(err, err_len, "--period '%s': want daily:YYYY-MM-DD, monthly:YYYY-MM, "
             "quarterly:YYYY-Qn or annual:YYYY", text);
    return ND_EINVAL;
}

/* Reads exactly n digits; -1 when they are not there. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (p[k] < '0' || p[k] > '9')
            return -1;
        v = v * 10 + (p[k] - '0');
    }
    return v;
}

static int64_t civil_ns(int year, int month, int day)
{
    nd_civil_t c = {year, month, day, 0, 0, 0, 0};
    if (month > 12) {
        c.year++;
        c.month -= 12;
    }
    return nd_time_from_civil(&c);
}

static bool valid_day(int year, int month, int day)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day >= 1 && day <= days[month - 1] + (month == 2 && leap);
}

nd_err_t nd_compliance_period_parse(const char *text, nd_compliance_period_t *out, char *err,
                                    size_t err_len)
{
    ND_ASSERT(text != NULL);
    ND_ASSERT(out != NULL);
    const char *colon = strchr(text, ':');
    if (!colon || strlen(text) >= sizeof out->label)
        return period_error(text, err, err_len);
    const char *v = colon + 1;
    size_t len = strlen(v);
    int year = digits(v, 4), month = -1, day = -1, quarter = -1;
    nd_compliance_period_t p;
    snprintf(p.label, sizeof p.label, "%s", text);
    if (strncmp(text, "daily:", 6) == 0 && len == 10 && v[4] == '-' && v[7] == '-') {
        month = digits(v + 5, 2);
        day = digits(v + 8, 2);
        if (year < 1970 || month < 1 || month > 12 || !valid_day(year, month, day))
            return period_error(text, err, err_len);
        p.from_ns = civil_ns(year, month, day);
        p.to_ns = p.from_ns + ND_NS_PER_DAY;
    } else if (strncmp(text, "monthly:", 8) == 0 && len == 7 && v[4] == '-') {
        month = digits(v + 5, 2);
        if (year < 1970 || month < 1 || month > 12)
            return period_error(text, err, err_len);
        p.from_ns = civil_ns(year, month, 1);
        p.to_ns = civil_ns(year, month + 1, 1);
    } else if (strncmp(text, "quarterly:", 10) == 0 && len == 7 && v[4] == '-' && v[5] == 'Q') {
        quarter = digits(v + 6, 1);
        if (year < 1970 || quarter < 1 || quarter > 4)
            return period_error(text, err, err_len);
        p.from_ns = civil_ns(year, 3 * quarter - 2, 1);
        p.to_ns = civil_ns(year, 3 * quarter + 1, 1);
    } else if (strncmp(text, "annual:", 7) == 0 && len == 4 && year >= 1970) {
        p.from_ns = civil_ns(year, 1, 1);
        p.to_ns = civil_ns(year + 1, 1, 1);
    } else {
        return period_error(text, err, err_len);
    }
    *out = p;
    return ND_OK;
}

/* ---- accumulation ----------------------------------------------------------------------- */

typedef struct group {
    char *instrument;
    char *strategy;
    int32_t qty_scale;
    int64_t fills;
    int64_t buy_qty;
    int64_t sell_qty;
    __int128 volume;      /* cash units (sums of int64 amounts: __int128 cannot overflow) */
    __int128 fees;
    __int128 realized;    /* cash units, before fees */
    int64_t position;     /* signed quantity at the period's end */
    __int128 basis;       /* cost of the open position, cash units, >= 0 */
} group_t;

typedef struct counter {
    char *name;
    int64_t count;
} counter_t;

typedef struct report {
    const nd_compliance_period_t *period;
    const char *jurisdiction;
    group_t *groups;
    size_t group_count;
    size_t group_cap;
    counter_t *events;    /* order events by name */
    size_t event_count;
    counter_t *rejects;   /* rejections by reason */
    size_t reject_count;
    int64_t fills;
    int64_t risk_rejects;
    json_t *alerts;       /* JSON rows, also used for CSV */
    json_t *breakers;
    nd_err_t failure;
    char why[256];        /* an overflow's detail (collect copies it to err) */
} report_t;

static counter_t *bump(counter_t **items, size_t *count, const char *name, report_t *r)
{
    for (size_t k = 0; k < *count; k++)
        if (strcmp((*items)[k].name, name) == 0) {
            (*items)[k].count++;
            return &(*items)[k];
        }
    counter_t *grown = nd_realloc(*items, (*count + 1) * sizeof *grown);
    char *copy = nd_strdup(name);
    if (!grown || !copy) {
        if (grown)
            *items = grown;
        nd_free(copy);
        r->failure = ND_ENOMEM;
        return NULL;
    }
    *items = grown;
    grown[*count].name = copy;
    grown[*count].count = 1;
    return &grown[(*count)++];
}

static group_t *find_group(report_t *r, const nd_record_t *rec)
{
    for (size_t k = r->group_count; k-- > 0;)
        if (strcmp(r->groups[k].instrument, rec->instrument) == 0 &&
            strcmp(r->groups[k].strategy, rec->strategy) == 0)
            return &r->groups[k];
    group_t *grown = nd_array_grow(r->groups, &r->group_cap, r->group_count + 1, sizeof *grown, 16);
    if (!grown)
        return NULL;
    r->groups = grown;
    group_t *g = &r->groups[r->group_count];
    memset(g, 0, sizeof *g);
    g->instrument = nd_strdup(rec->instrument);
    g->strategy = nd_strdup(rec->strategy);
    g->qty_scale = rec->qty_scale;
    if (!g->instrument || !g->strategy) {
        nd_free(g->instrument);
        nd_free(g->strategy);
        return NULL;
    }
    r->group_count++;
    return g;
}

/* amount * part / whole, half-even; ND_EOVERFLOW when amount * part does not fit __int128
 * (a basis summed from many huge fills), never a wrapped value. */
static nd_err_t share(__int128 amount, int64_t part, int64_t whole, __int128 *out)
{
    ND_ASSERT(whole > 0);
    __int128 num;
    if (__builtin_mul_overflow(amount, (__int128)part, &num))
        return ND_EOVERFLOW;
    __int128 q = num / whole, rem = num % whole;
    if (2 * rem > whole || (2 * rem == whole && (q & 1)))
        q++; /* half-even, amounts and parts are not negative */
    *out = q;
    return ND_OK;
}

/* Average-cost accounting of one fill; realised P&L counts only when in_period. Positions are
 * int64 quantities: a position past int64 (or at INT64_MIN, whose magnitude does not exist)
 * is ND_EOVERFLOW, never wrapped. */
static nd_err_t apply_fill(group_t *g, const nd_record_t *f, bool in_period)
{
    ND_ASSERT(g->position != INT64_MIN);
    int64_t pos_abs = g->position < 0 ? -g->position : g->position;
    bool same_way = g->position == 0 || (g->position > 0) == (f->side > 0);
    int64_t moved;
    if (same_way) {
        if (__builtin_add_overflow(g->position, f->side * f->qty, &moved) || moved == INT64_MIN)
            return ND_EOVERFLOW;
        g->position = moved;
        g->basis += f->notional;
        return ND_OK;
    }
    int64_t closed = f->qty < pos_abs ? f->qty : pos_abs;
    __int128 basis_part, proceeds;
    if (share(g->basis, closed, pos_abs, &basis_part) != ND_OK ||
        share(f->notional, closed, f->qty, &proceeds) != ND_OK)
        return ND_EOVERFLOW;
    __int128 pnl = g->position > 0 ? proceeds - basis_part : basis_part - proceeds;
    if (in_period)
        g->realized += pnl;
    g->basis -= basis_part;
    g->position += f->side * closed; /* toward 0: cannot overflow */
    if (closed < f->qty) {
        g->position += f->side * (f->qty - closed); /* from 0, |qty - closed| fits */
        g->basis = f->notional - proceeds;
    }
    return ND_OK;
}

static nd_err_t on_trade_record(void *ctx, const nd_record_t *rec)
{
    report_t *r = ctx;
    bool in_period = rec->ts_ns >= r->period->from_ns;
    if (rec->kind == ND_RECORD_FILL) {
        group_t *g = find_group(r, rec);
        if (!g)
            return ND_ENOMEM;
        if (g->qty_scale != rec->qty_scale)
            return ND_EINVAL;
        int64_t *side_qty = rec->side > 0 ? &g->buy_qty : &g->sell_qty;
        if (apply_fill(g, rec, in_period) != ND_OK ||
            (in_period && __builtin_add_overflow(*side_qty, rec->qty, side_qty))) {
            snprintf(r->why, sizeof r->why, "fill record %lld: the %s/%s position or "
                     "traded quantity does not fit 64 bits", (long long)rec->seq,
                     rec->instrument, rec->strategy);
            return ND_EOVERFLOW;
        }
        if (in_period) {
            r->fills++;
            g->fills++;
            g->volume += rec->notional;
            g->fees += rec->fee;
        }
        return ND_OK;
    }
    if (!in_period)
        return ND_OK;
    bump(&r->events, &r->event_count, rec->event, r);
    if (strcmp(rec->event, "rejected") == 0)
        bump(&r->rejects, &r->reject_count, rec->reason, r);
    r->risk_rejects += rec->kind == ND_RECORD_RISK_REJECT;
    return r->failure;
}

static json_t *split_list(const char *text)
{
    json_t *list = json_array();
    while (*text) {
        size_t len = strcspn(text, ",");
        if (len > 0)
            json_array_append_new(list, json_stringn(text, len));
        text += len + (text[len] == ',');
    }
    return list;
}

static json_t *parse_or_null(const char *text)
{
    json_error_t jerr;
    json_t *doc = text[0] ? json_loads(text, JSON_DECODE_ANY, &jerr) : NULL;
    return doc ? doc : json_null();
}

static nd_err_t on_alert_record(void *ctx, const nd_record_t *rec)
{
    report_t *r = ctx;
    if (r->jurisdiction && strcmp(r->jurisdiction, rec->jurisdiction) != 0)
        return ND_OK;
    json_t *row = json_object();
    json_object_set_new(row, "seq", json_integer(rec->seq));
    json_object_set_new(row, "ts", nd_json_time(rec->ts_ns));
    json_object_set_new(row, "rule", json_string(rec->event));
    json_object_set_new(row, "jurisdiction", json_string(rec->jurisdiction));
    json_object_set_new(row, "accounts", split_list(rec->account));
    json_object_set_new(row, "order_ids", split_list(rec->client_order_id));
    json_object_set_new(row, "instrument", json_string(rec->instrument));
    json_object_set_new(row, "from", nd_json_time(rec->from_ns));
    json_object_set_new(row, "to", nd_json_time(rec->to_ns));
    json_object_set_new(row, "reason", json_string(rec->reason));
    json_object_set_new(row, "evidence", parse_or_null(rec->detail));
    return json_array_append_new(r->alerts, row) == 0 ? ND_OK : ND_ENOMEM;
}

static nd_err_t on_breaker_record(void *ctx, const nd_record_t *rec)
{
    report_t *r = ctx;
    json_t *row = json_object();
    json_object_set_new(row, "seq", json_integer(rec->seq));
    json_object_set_new(row, "ts", nd_json_time(rec->ts_ns));
    json_object_set_new(row, "kind", json_string(rec->event));
    json_object_set_new(row, "account", json_string(rec->account));
    json_object_set_new(row, "reason", json_string(rec->reason));
    json_object_set_new(row, "detail", parse_or_null(rec->detail));
    return json_array_append_new(r->breakers, row) == 0 ? ND_OK : ND_ENOMEM;
}

/* A cash amount as an exact decimal string. Sums are __int128, so a total past int64 is
 * written in full (it used to be the word "overflow": a figure silently lost). */
static json_t *money(__int128 v)
{
    char text[64];
    if (v <= INT64_MAX && v >= INT64_MIN) {
        nd_fixed_format((int64_t)v, ND_CASH_DECIMALS, text, sizeof text);
        return json_string(text);
    }
    unsigned __int128 mag = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v
                                  : (unsigned __int128)v;
    uint64_t scale = 100000000u;
    ND_STATIC_ASSERT(ND_CASH_DECIMALS == 8, "scale is 10^ND_CASH_DECIMALS");
    uint64_t frac = (uint64_t)(mag % scale);
    unsigned __int128 whole = mag / scale;
    char tmp[64];
    size_t n = 0;
    int frac_len = ND_CASH_DECIMALS;
    while (frac_len > 0 && frac % 10 == 0) {
        frac /= 10;
        frac_len--;
    }
    for (int k = 0; k < frac_len; k++, frac /= 10)
        tmp[n++] = (char)('0' + frac % 10);
    if (frac_len > 0)
        tmp[n++] = '.';
    do {
        tmp[n++] = (char)('0' + (int)(whole % 10));
        whole /= 10;
    } while (whole > 0);
    if (v < 0)
        tmp[n++] = '-';
    ND_ASSERT(n < sizeof text);
    for (size_t k = 0; k < n; k++)
        text[k] = tmp[n - 1 - k];
    text[n] = '\0';
    return json_string(text);
}

static json_t *quantity(int64_t v, int scale)
{
    char text[48];
    nd_fixed_format(v, scale, text, sizeof text);
    return json_string(text);
}

static int compare_groups(const void *a, const void *b)
{
    const group_t *x = a, *y = b;
    int c = strcmp(x->instrument, y->instrument);
    return c ? c : strcmp(x->strategy, y->strategy);
}

static int compare_counters(const void *a, const void *b)
{
    return strcmp(((const counter_t *)a)->name, ((const counter_t *)b)->name);
}

static json_t *group_json(const group_t *g)
{
    json_t *row = json_object();
    json_object_set_new(row, "instrument", json_string(g->instrument));
    json_object_set_new(row, "strategy", json_string(g->strategy));
    json_object_set_new(row, "fills", json_integer(g->fills));
    json_object_set_new(row, "buy_qty", quantity(g->buy_qty, g->qty_scale));
    json_object_set_new(row, "sell_qty", quantity(g->sell_qty, g->qty_scale));
    json_object_set_new(row, "volume", money(g->volume));
    json_object_set_new(row, "fees", money(g->fees));
    json_object_set_new(row, "realized_pnl", money(g->realized));
    json_object_set_new(row, "net_pnl", money(g->realized - g->fees));
    json_object_set_new(row, "position", quantity(g->position, g->qty_scale));
    return row;
}

static json_t *summary_json(const report_t *r)
{
    static const char *const names[] = {"submitted", "accepted", "rejected", "amended",
                                        "cancelled", "partially_filled", "filled"};
    json_t *sum = json_object(), *rejects = json_object();
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        int64_t n = 0;
        for (size_t j = 0; j < r->event_count; j++)
            n += strcmp(r->events[j].name, names[k]) == 0 ? r->events[j].count : 0;
        char key[40];
        snprintf(key, sizeof key, "orders_%s", names[k]);
        json_object_set_new(sum, key, json_integer(n));
    }
    __int128 volume = 0, fees = 0, realized = 0;
    for (size_t k = 0; k < r->group_count; k++) {
        volume += r->groups[k].volume;
        fees += r->groups[k].fees;
        realized += r->groups[k].realized;
    }
    for (size_t k = 0; k < r->reject_count; k++)
        json_object_set_new(rejects, r->rejects[k].name, json_integer(r->rejects[k].count));
    json_object_set_new(sum, "risk_rejects", json_integer(r->risk_rejects));
    json_object_set_new(sum, "rejects_by_reason", rejects);
    json_object_set_new(sum, "fills", json_integer(r->fills));
    json_object_set_new(sum, "volume", money(volume));
    json_object_set_new(sum, "fees", money(fees));
    json_object_set_new(sum, "realized_pnl", money(realized));
    json_object_set_new(sum, "net_pnl", money(realized - fees));
    json_object_set_new(sum, "alerts", json_integer((json_int_t)json_array_size(r->alerts)));
    json_object_set_new(sum, "breaker_events",
                        json_integer((json_int_t)json_array_size(r->breakers)));
    return sum;
}

/* Totals of the groups by one of their names (instrument or strategy), in name order. Sums
 * are __int128 (no sum of int64 cash amounts can overflow it) until formatted by money(), so
 * nothing is cut on the way (they used to be added as JSON int64 values). */
static json_t *totals_by(const report_t *r, bool by_instrument)
{
    typedef struct total {
        const char *name;
        __int128 v[4];
    } total_t;
    total_t *t = nd_calloc(r->group_count ? r->group_count : 1, sizeof *t);
    if (!t)
        return NULL;
    size_t n = 0;
    for (size_t k = 0; k < r->group_count; k++) {
        if (r->groups[k].fills == 0)
            continue; /* a group only carrying a position from before the period */
        const char *name = by_instrument ? r->groups[k].instrument : r->groups[k].strategy;
        size_t j = 0;
        while (j < n && strcmp(t[j].name, name) != 0)
            j++;
        if (j == n)
            t[n++].name = name;
        t[j].v[0] += r->groups[k].fills;
        t[j].v[1] += r->groups[k].volume;
        t[j].v[2] += r->groups[k].fees;
        t[j].v[3] += r->groups[k].realized;
    }
    json_t *list = json_array();
    for (size_t j = 0; j < n; j++) {
        json_t *row = json_object();
        json_object_set_new(row, by_instrument ? "instrument" : "strategy",
                            json_string(t[j].name));
        json_object_set_new(row, "fills", json_integer((json_int_t)t[j].v[0])); /* a count */
        json_object_set_new(row, "volume", money(t[j].v[1]));
        json_object_set_new(row, "fees", money(t[j].v[2]));
        json_object_set_new(row, "realized_pnl", money(t[j].v[3]));
        json_array_append_new(list, row);
    }
    nd_free(t);
    return list;
}

static const char *sort_key;

static int compare_rows(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, sort_key)),
                  json_string_value(json_object_get(y, sort_key)));
}

/* Sorts a JSON array of objects by a string field (the report is single-threaded). */
static json_t *sorted_by(json_t *list, const char *key)
{
    size_t n = json_array_size(list);
    json_t **rows = nd_calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return list;
    for (size_t k = 0; k < n; k++)
        rows[k] = json_incref(json_array_get(list, k));
    sort_key = key;
    qsort(rows, n, sizeof *rows, compare_rows);
    json_t *out = json_array();
    for (size_t k = 0; k < n; k++)
        json_array_append_new(out, rows[k]);
    nd_free(rows);
    json_decref(list);
    return out;
}

static json_t *build_doc(report_t *r)
{
    if (r->group_count > 0) /* qsort wants a non-NULL base even for nothing */
        qsort(r->groups, r->group_count, sizeof *r->groups, compare_groups);
    if (r->reject_count > 0)
        qsort(r->rejects, r->reject_count, sizeof *r->rejects, compare_counters);
    json_t *doc = json_object(), *period = json_object(), *groups = json_array();
    json_object_set_new(period, "label", json_string(r->period->label));
    json_object_set_new(period, "from", nd_json_time(r->period->from_ns));
    json_object_set_new(period, "to", nd_json_time(r->period->to_ns));
    json_object_set_new(doc, "period", period);
    json_object_set_new(doc, "jurisdiction",
                        r->jurisdiction ? json_string(r->jurisdiction) : json_null());
    json_object_set_new(doc, "summary", summary_json(r));
    for (size_t k = 0; k < r->group_count; k++)
        if (r->groups[k].fills > 0 || r->groups[k].position != 0)
            json_array_append_new(groups, group_json(&r->groups[k]));
    json_t *by_instrument = totals_by(r, true);
    json_t *by_strategy = sorted_by(totals_by(r, false), "strategy");
    json_object_set_new(doc, "by_instrument_strategy", groups);
    json_object_set_new(doc, "by_instrument", by_instrument);
    json_object_set_new(doc, "by_strategy", by_strategy);
    json_object_set(doc, "alerts", r->alerts);
    json_object_set(doc, "breaker_events", r->breakers);
    return doc;
}

/* ---- CSV -------------------------------------------------------------------------------- */

static void csv_cell(FILE *out, const char *text, bool last)
{
    if (strpbrk(text, ",\"\r\n")) {
        fputc('"', out);
        for (; *text; text++) {
            if (*text == '"')
                fputc('"', out);
            fputc(*text, out);
        }
        fputc('"', out);
    } else {
        fputs(text, out);
    }
    fputc(last ? '\n' : ',', out);
}

/* A JSON value as one cell: strings as they are, lists joined by ';', the rest as JSON. */
static void csv_value(FILE *out, const json_t *v, bool last)
{
    char buf[64];
    if (json_is_string(v)) {
        csv_cell(out, json_string_value(v), last);
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        csv_cell(out, buf, last);
    } else if (json_is_null(v)) {
        csv_cell(out, "", last);
    } else if (json_is_array(v) && (json_array_size(v) == 0 ||
                                    json_is_string(json_array_get(v, 0)))) {
        size_t k;
        json_t *item;
        char *joined = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&joined, &len);
        json_array_foreach(v, k, item) fprintf(mem, "%s%s", k ? ";" : "", json_string_value(item));
        fclose(mem);
        csv_cell(out, joined, last);
        free(joined); /* tidy:allow open_memstream allocates with the C library */
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        csv_cell(out, text ? text : "", last);
        free(text); /* tidy:allow jansson allocates with the C library */
    }
}

/* One section: a header row "section,<keys of the first row>", then a row per object. */
static void csv_section(FILE *out, const char *name, const json_t *rows)
{
    const json_t *first = json_array_get(rows, 0);
    if (!first)
        return;
    const char *key;
    json_t *v;
    fputs("section", out);
    json_object_foreach((json_t *)first, key, v) fprintf(out, ",%s", key);
    fputc('\n', out);
    size_t k;
    json_t *row;
    json_array_foreach(rows, k, row) {
        csv_cell(out, name, false);
        size_t n = json_object_size(row), i = 0;
        json_object_foreach(row, key, v) csv_value(out, v, ++i == n);
    }
    fputc('\n', out);
}

static void write_csv(FILE *out, const json_t *doc)
{
    json_t *summary = json_deep_copy(json_object_get(doc, "summary"));
    const json_t *period = json_object_get(doc, "period");
    json_t *head = json_object();
    json_object_set(head, "period", json_object_get(period, "label"));
    json_object_set(head, "from", json_object_get(period, "from"));
    json_object_set(head, "to", json_object_get(period, "to"));
    json_object_set(head, "jurisdiction", json_object_get(doc, "jurisdiction"));
    json_object_update(head, summary);
    json_t *rows = json_pack("[o]", head);
    csv_section(out, "summary", rows);
    csv_section(out, "instrument_strategy", json_object_get(doc, "by_instrument_strategy"));
    csv_section(out, "instrument", json_object_get(doc, "by_instrument"));
    csv_section(out, "strategy", json_object_get(doc, "by_strategy"));
    csv_section(out, "alert", json_object_get(doc, "alerts"));
    csv_section(out, "breaker", json_object_get(doc, "breaker_events"));
    json_decref(rows);
    json_decref(summary);
}

/* ---- the report ------------------------------------------------------------------------- */

static nd_err_t collect(nd_store_t *s, report_t *r, char *err, size_t err_len)
{
    nd_record_filter_t f;
    memset(&f, 0, sizeof f);
    f.ts_from_ns = INT64_MIN;
    f.ts_to_ns = r->period->to_ns;
    f.kind_mask = 1u << ND_RECORD_ORDER | 1u << ND_RECORD_FILL | 1u << ND_RECORD_RISK_REJECT;
    nd_err_t rc = nd_store_scan(s, &f, r, on_trade_record, err, err_len);
    if (rc == ND_EINVAL)
        snprintf(err, err_len, "fills of one instrument carry different quantity scales");
    if (rc == ND_EOVERFLOW)
        snprintf(err, err_len, "%s", r->why);
    f.ts_from_ns = r->period->from_ns;
    f.kind_mask = 1u << ND_RECORD_ALERT;
    if (rc == ND_OK)
        rc = nd_store_scan(s, &f, r, on_alert_record, err, err_len);
    f.kind_mask = 1u << ND_RECORD_BREAKER;
    if (rc == ND_OK)
        rc = nd_store_scan(s, &f, r, on_breaker_record, err, err_len);
    if (rc == ND_ENOMEM)
        snprintf(err, err_len, "out of memory building the report");
    return rc;
}

static void report_free(report_t *r)
{
    for (size_t k = 0; k < r->group_count; k++) {
        nd_free(r->groups[k].instrument);
        nd_free(r->groups[k].strategy);
    }
    for (size_t k = 0; k < r->event_count; k++)
        nd_free(r->events[k].name);
    for (size_t k = 0; k < r->reject_count; k++)
        nd_free(r->rejects[k].name);
    nd_free(r->groups);
    nd_free(r->events);
    nd_free(r->rejects);
    json_decref(r->alerts);
    json_decref(r->breakers);
}

nd_err_t nd_compliance_report_write(nd_store_t *s, const nd_compliance_period_t *period,
                                    const char *jurisdiction, nd_compliance_format_t format,
                                    FILE *out, char *err, size_t err_len)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(period != NULL && out != NULL);
    report_t r;
    memset(&r, 0, sizeof r);
    r.period = period;
    r.jurisdiction = jurisdiction && jurisdiction[0] ? jurisdiction : NULL;
    r.alerts = json_array();
    r.breakers = json_array();
    nd_err_t rc = collect(s, &r, err, err_len);
    if (rc == ND_OK) {
        json_t *doc = build_doc(&r);
        if (format == ND_COMPLIANCE_JSON) {
            json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', out);
        } else {
            write_csv(out, doc);
        }
        json_decref(doc);
        if (ferror(out)) {
            snprintf(err, err_len, "cannot write the report");
            rc = ND_EIO;
        }
    }
    report_free(&r);
    return rc;
}
