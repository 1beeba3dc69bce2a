/* surveil_csv.c: the inputs of a surveillance scan read from CSV files (surveillance.h):
 * order events, accounts and holidays. Moved out of the surveil command so that the command
 * only parses options, calls and prints, and so that the parser is reachable from tests.
 *
 * Every bad row stops the read with "PATH:LINE: why" in err and nothing is skipped: a
 * surveillance scan that silently dropped a row could miss the very case it exists for. */
#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/fixed.h"
#include "noderr/surveillance.h"
#include "noderr/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SURV_LINE_MAX 1024
#define SURV_FIELDS 11

/* What the first row of an order id said, to refuse a later row that contradicts it. */
struct nd__surv_order_seen {
    size_t line; /* 0 = not seen */
    uint32_t account, owner, symbol;
    int8_t side;
};
typedef struct nd__surv_order_seen order_seen_t;

/* A line reader: fgets with the line ending stripped and a length limit; err is the caller's. */
typedef struct line_reader {
    FILE *f;
    const char *path;
    size_t line_no;
    char *err;
    size_t err_len;
    char buf[SURV_LINE_MAX + 2];
} line_reader_t;

void nd_surv_inputs_init(nd_surv_inputs_t *in, nd_surv_dict_t *dict,
                         uint32_t default_jurisdictions)
{
    ND_ASSERT(in != NULL);
    memset(in, 0, sizeof *in);
    in->dict = dict;
    in->default_jurisdictions = default_jurisdictions;
}

void nd_surv_inputs_deinit(nd_surv_inputs_t *in)
{
    ND_ASSERT(in != NULL);
    nd_free(in->events);
    nd_free(in->_seen);
    nd_free(in->accounts);
    nd_free(in->holidays);
    nd_surv_dict_t *dict = in->dict;
    memset(in, 0, sizeof *in);
    in->dict = dict;
}

/* Reads the next line into r->buf (ending stripped). Returns 1, 0 at end of file, or an
 * error code with err set. */
static int read_line(line_reader_t *r)
{
    if (!fgets(r->buf, sizeof r->buf, r->f)) {
        if (ferror(r->f)) {
            nd_err_put(r->err, r->err_len, "%s:%zu: read error: %s", r->path, r->line_no + 1,
                       strerror(errno));
            return ND_EIO;
        }
        return 0;
    }
    r->line_no++;
    size_t len = strlen(r->buf);
    if (len > 0 && r->buf[len - 1] != '\n' && !feof(r->f)) {
        nd_err_put(r->err, r->err_len, "%s:%zu: line longer than %d characters", r->path,
                   r->line_no, SURV_LINE_MAX);
        return ND_EPARSE;
    }
    while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
        r->buf[--len] = '\0';
    return 1;
}

/* Splits line in place on commas into at most max fields; returns the field count, max + 1
 * when there are more. */
static size_t split_fields(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return max + 1;
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            return n;
        *comma = '\0';
        p = comma + 1;
    }
}

/* Returns NULL when text is printable UTF-8 without quotes, else why not. */
static const char *check_text(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        if (*s < 0x20 || *s == 0x7F)
            return "control character";
        if (*s == '"')
            return "quoted fields are not supported";
        int extra = *s < 0x80          ? 0
                    : (*s >> 5) == 6  ? 1
                    : (*s >> 4) == 14 ? 2
                    : (*s >> 3) == 30 ? 3
                                      : -1;
        if (extra < 0)
            return "not valid UTF-8";
        s++;
        for (int i = 0; i < extra; i++, s++)
            if ((*s & 0xC0) != 0x80)
                return "not valid UTF-8";
    }
    return NULL;
}

/* Sets "PATH:LINE: column 'text': why" and returns ND_EPARSE. */
static nd_err_t row_error(const line_reader_t *r, const char *column, const char *text,
                          const char *why)
{
    nd_err_put(r->err, r->err_len, "%s:%zu: %s '%s': %s", r->path, r->line_no, column, text,
               why);
    return ND_EPARSE;
}

/* ts: all digits = Unix milliseconds, else ISO-8601 UTC. */
static const char *parse_ts(const char *text, int64_t *out_ns /* OUT */)
{
    size_t len = strlen(text);
    if (len == 0)
        return "empty";
    if (strspn(text, "0123456789") == len) {
        int64_t ms = 0;
        /* Bounded so that ms * 10^6 (and any rule window around it) fits int64. */
        if (len > 15 || nd_fixed_parse(text, len, 0, &ms) != ND_OK ||
            ms > ND_SURV_TS_ABS_MAX / ND_NS_PER_MS)
            return "Unix milliseconds out of range";
        *out_ns = ms * ND_NS_PER_MS;
        return NULL;
    }
    if (nd_time_parse_iso(text, out_ns) != ND_OK)
        return "neither Unix milliseconds nor ISO-8601 UTC (2024-01-02T09:30:00Z)";
    return NULL;
}

/* A decimal at ND_SURV_DECIMALS; empty gives 0 when allowed. positive: must be > 0. */
static const char *parse_amount(const char *text, bool empty_ok, bool positive,
                                int64_t *out /* OUT */)
{
    if (*text == '\0') {
        if (!empty_ok)
            return "empty";
        *out = 0;
        return NULL;
    }
    int64_t v = 0;
    nd_err_t rc = nd_fixed_parse(text, strlen(text), ND_SURV_DECIMALS, &v);
    if (rc == ND_EPRECISION)
        return "more than 8 decimal places";
    if (rc != ND_OK)
        return "not a plain decimal number";
    if (v < 0 || (positive && v == 0))
        return positive ? "must be greater than 0" : "must not be negative";
    *out = v;
    return NULL;
}

static nd_err_t intern_field(nd_surv_inputs_t *in, const line_reader_t *r, const char *column,
                             const char *text, bool required, uint32_t *id)
{
    const char *why = required && *text == '\0' ? "empty" : check_text(text);
    if (!why && nd_surv_dict_intern(in->dict, text, strlen(text), id) != ND_OK)
        why = "out of memory";
    return why ? row_error(r, column, text, why) : ND_OK;
}

static nd_err_t parse_side_kind(const line_reader_t *r, char **f, nd_surv_event_t *e)
{
    if (strcasecmp(f[6], "buy") == 0)
        e->side = ND_SIDE_BUY;
    else if (strcasecmp(f[6], "sell") == 0)
        e->side = ND_SIDE_SELL;
    else
        return row_error(r, "side", f[6], "must be buy or sell");
    if (strcasecmp(f[7], "new") == 0)
        e->kind = ND_SURV_NEW;
    else if (strcasecmp(f[7], "cancel") == 0)
        e->kind = ND_SURV_CANCEL;
    else if (strcasecmp(f[7], "fill") == 0)
        e->kind = ND_SURV_FILL;
    else
        return row_error(r, "event", f[7], "must be new, cancel or fill");
    return ND_OK;
}

static nd_err_t parse_numbers(const line_reader_t *r, char **f, nd_surv_event_t *e)
{
    const char *why = parse_ts(f[0], &e->ts_ns);
    if (why)
        return row_error(r, "ts", f[0], why);
    /* A new order without a price is a market order; a cancel may omit both numbers. */
    why = parse_amount(f[9], e->kind != ND_SURV_FILL, e->kind == ND_SURV_FILL, &e->px);
    if (why)
        return row_error(r, "price", f[9], why);
    why = parse_amount(f[10], e->kind == ND_SURV_CANCEL, e->kind != ND_SURV_CANCEL, &e->qty);
    if (why)
        return row_error(r, "qty", f[10], why);
    int64_t notional; /* an input error here, not a clamped figure in an alert */
    if (nd_surv_event_notional(e, &notional) != ND_OK)
        return row_error(r, "qty", f[10],
                         "price x qty (the notional) does not fit 64-bit cash units");
    return ND_OK;
}

/* Refuses a row that contradicts the first row of the same order id. */
static nd_err_t check_order(nd_surv_inputs_t *in, const line_reader_t *r, const char *order_text,
                            const nd_surv_event_t *e)
{
    if (e->order >= in->_seen_cap) {
        size_t old_cap = in->_seen_cap;
        order_seen_t *seen = nd_array_grow(in->_seen, &in->_seen_cap, (size_t)e->order + 1,
                                           sizeof *seen, 1024);
        if (!seen)
            return row_error(r, "order_id", order_text, "out of memory");
        memset(seen + old_cap, 0, (in->_seen_cap - old_cap) * sizeof *seen);
        in->_seen = seen;
    }
    order_seen_t *s = &in->_seen[e->order];
    if (s->line == 0) {
        *s = (order_seen_t){r->line_no, e->account, e->owner, e->symbol, e->side};
        return ND_OK;
    }
    const char *what = s->side != e->side       ? "side"
                       : s->symbol != e->symbol   ? "symbol"
                       : s->account != e->account ? "account"
                       : s->owner != e->owner     ? "owner"
                                                  : NULL;
    if (!what)
        return ND_OK;
    char why[128];
    snprintf(why, sizeof why, "this order id has a different %s on line %zu", what, s->line);
    return row_error(r, "order_id", order_text, why);
}

static nd_err_t parse_event_row(nd_surv_inputs_t *in, const line_reader_t *r, char *line)
{
    char *f[SURV_FIELDS + 1];
    size_t n = split_fields(line, f, SURV_FIELDS);
    if (n != SURV_FIELDS) {
        nd_err_put(r->err, r->err_len, "%s:%zu: %s%zu columns, expected %d (%s)", r->path,
                   r->line_no, n > SURV_FIELDS ? "more than " : "",
                   n > SURV_FIELDS ? n - 1 : n, SURV_FIELDS, ND_SURV_CSV_HEADER);
        return ND_EPARSE;
    }
    nd_surv_event_t e = {0};
    nd_err_t rc = intern_field(in, r, "account", f[1], true, &e.account);
    if (rc == ND_OK)
        rc = intern_field(in, r, "owner", f[2], true, &e.owner);
    if (rc == ND_OK)
        rc = intern_field(in, r, "strategy", f[3], false, &e.strategy);
    if (rc == ND_OK)
        rc = intern_field(in, r, "venue", f[4], false, &e.venue);
    if (rc == ND_OK)
        rc = intern_field(in, r, "symbol", f[5], true, &e.symbol);
    if (rc == ND_OK)
        rc = intern_field(in, r, "order_id", f[8], true, &e.order);
    if (rc == ND_OK)
        rc = parse_side_kind(r, f, &e);
    if (rc == ND_OK)
        rc = parse_numbers(r, f, &e);
    if (rc == ND_OK)
        rc = check_order(in, r, f[8], &e);
    if (rc != ND_OK)
        return rc;
    nd_surv_event_t *slot =
        nd_array_push(&in->events, &in->_event_cap, &in->event_count, sizeof *slot, 4096);
    if (!slot) {
        nd_err_put(r->err, r->err_len, "%s:%zu: out of memory", r->path, r->line_no);
        return ND_ENOMEM;
    }
    *slot = e;
    return ND_OK;
}

/* Opens path and checks its header line (alt: a second accepted header, or NULL). */
static nd_err_t open_csv(line_reader_t *r, const char *path, const char *header, const char *alt)
{
    char *err = r->err;
    size_t err_len = r->err_len;
    memset(r, 0, sizeof *r);
    r->path = path;
    r->err = err;
    r->err_len = err_len;
    char why[512];
    nd_err_t rc = nd_file_open(path, &r->f, why, sizeof why);
    if (rc == ND_ENOTFOUND || rc == ND_EIO) { /* why is "PATH: reason" */
        size_t skip = strlen(path) + 2;
        nd_err_put(err, err_len, "%s: cannot open: %s", path,
                   strlen(why) > skip ? why + skip : why);
        return rc;
    }
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "%s", why);
        return rc;
    }
    int got_line = read_line(r);
    if (got_line == 0) {
        nd_err_put(err, err_len, "%s:1: empty file, expected the header %s", path, header);
        return ND_EPARSE;
    }
    if (got_line < 0)
        return (nd_err_t)got_line;
    /* A leading UTF-8 byte order mark is skipped, as in every text file noderr reads. */
    const char *got = r->buf + nd_text_bom_len(r->buf, strlen(r->buf));
    if (strcmp(got, header) != 0 && !(alt && strcmp(got, alt) == 0)) {
        nd_err_put(err, err_len, "%s:1: header must be %s%s%s", path, header, alt ? " or " : "",
                   alt ? alt : "");
        return ND_EPARSE;
    }
    return ND_OK;
}

typedef nd_err_t (*row_fn)(nd_surv_inputs_t *, const line_reader_t *, char *);

/* Runs row() on every data line; a blank line is allowed only at the end of the file. */
static nd_err_t each_row(line_reader_t *r, nd_surv_inputs_t *in, row_fn row)
{
    size_t blank = 0;
    int got;
    while ((got = read_line(r)) > 0) {
        if (r->buf[strspn(r->buf, " \t")] == '\0') {
            blank = blank ? blank : r->line_no;
            continue;
        }
        if (blank) {
            nd_err_put(r->err, r->err_len, "%s:%zu: blank line inside the data", r->path, blank);
            return ND_EPARSE;
        }
        nd_err_t rc = row(in, r, r->buf);
        if (rc != ND_OK)
            return rc;
    }
    return (nd_err_t)got;
}

static nd_surv_account_t *find_account(nd_surv_inputs_t *in, uint32_t id)
{
    for (size_t i = 0; i < in->account_count; i++)
        if (in->accounts[i].account == id)
            return &in->accounts[i];
    return NULL;
}

static nd_surv_account_t *add_account(nd_surv_inputs_t *in, uint32_t id)
{
    nd_surv_account_t *a =
        nd_array_push(&in->accounts, &in->_account_cap, &in->account_count, sizeof *a, 64);
    if (!a)
        return NULL;
    *a = (nd_surv_account_t){.account = id, .jurisdictions = in->default_jurisdictions};
    return a;
}

/* Accounts files have 3 columns, or 4 with a jurisdiction (decided by the header). */
static nd_err_t parse_account_row_n(nd_surv_inputs_t *in, const line_reader_t *r, char *line,
                                    size_t columns)
{
    char *f[5] = {0}; /* zeroed: -O3 cannot see that split_fields sets the n fields used */
    size_t n = split_fields(line, f, 4);
    if (n != columns) {
        nd_err_put(r->err, r->err_len, "%s:%zu: %zu columns, expected %zu", r->path, r->line_no,
                   n, columns);
        return ND_EPARSE;
    }
    uint32_t id = 0;
    nd_err_t rc = intern_field(in, r, "account", f[0], true, &id);
    if (rc != ND_OK)
        return rc;
    if (find_account(in, id))
        return row_error(r, "account", f[0], "listed twice");
    nd_surv_account_t *a = add_account(in, id);
    if (!a)
        return row_error(r, "account", f[0], "out of memory");
    if (strcasecmp(f[1], "cash") == 0)
        a->type = ND_SURV_ACCOUNT_CASH;
    else if (strcasecmp(f[1], "margin") == 0)
        a->type = ND_SURV_ACCOUNT_MARGIN;
    else if (f[1][0] != '\0')
        return row_error(r, "type", f[1], "must be cash or margin (or empty: unknown)");
    const char *why = parse_amount(f[2], true, false, &a->equity);
    if (why)
        return row_error(r, "equity", f[2], why);
    a->equity_known = f[2][0] != '\0';
    char err[128];
    if (n == 4 && f[3][0] != '\0' &&
        nd_jurisdiction_parse_list(f[3], &a->jurisdictions, err, sizeof err) != ND_OK)
        return row_error(r, "jurisdiction", f[3], err);
    return ND_OK;
}

static nd_err_t parse_account_row3(nd_surv_inputs_t *in, const line_reader_t *r, char *line)
{
    return parse_account_row_n(in, r, line, 3);
}

static nd_err_t parse_account_row4(nd_surv_inputs_t *in, const line_reader_t *r, char *line)
{
    return parse_account_row_n(in, r, line, 4);
}

static nd_err_t parse_holiday_row(nd_surv_inputs_t *in, const line_reader_t *r, char *line)
{
    int64_t ns = 0;
    if (strlen(line) != 10 || nd_time_parse_iso(line, &ns) != ND_OK)
        return row_error(r, "date", line, "expected YYYY-MM-DD");
    int64_t *grown = nd_array_grow(in->holidays, &in->_holiday_cap, in->holiday_count + 1,
                                   sizeof *grown, 32);
    if (!grown)
        return row_error(r, "date", line, "out of memory");
    in->holidays = grown;
    in->holidays[in->holiday_count++] = ns / ND_NS_PER_DAY;
    return ND_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

enum csv_kind { CSV_EVENTS, CSV_ACCOUNTS, CSV_HOLIDAYS };

/* One file of one kind: open, check the header, every row, close. The reader is allocated
 * (it holds a line buffer too large for a small stack). */
static nd_err_t read_csv(nd_surv_inputs_t *in, const char *path, enum csv_kind kind, char *err,
                         size_t err_len)
{
    ND_ASSERT(in != NULL && in->dict != NULL);
    ND_ASSERT(path != NULL);
    line_reader_t *r = nd_alloc(sizeof *r);
    if (!r) {
        nd_err_put(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    r->err = err;
    r->err_len = err_len;
    static const char *const headers[] = {ND_SURV_CSV_HEADER, "account,type,equity", "date"};
    const char *alt = kind == CSV_ACCOUNTS ? "account,type,equity,jurisdiction" : NULL;
    nd_err_t rc = open_csv(r, path, headers[kind], alt);
    if (rc == ND_OK) {
        row_fn row = kind == CSV_EVENTS     ? parse_event_row
                     : kind == CSV_HOLIDAYS ? parse_holiday_row
                     : strcmp(r->buf, "account,type,equity") == 0 ? parse_account_row3
                                                                  : parse_account_row4;
        rc = each_row(r, in, row);
    }
    if (rc == ND_OK && kind == CSV_EVENTS && in->event_count == 0) {
        nd_err_put(err, err_len, "%s:2: no events after the header", path);
        rc = ND_EPARSE;
    }
    if (rc == ND_OK && kind == CSV_HOLIDAYS && in->holiday_count > 1)
        qsort(in->holidays, in->holiday_count, sizeof *in->holidays, cmp_i64);
    if (r->f)
        fclose(r->f); /* read only: nothing to lose at close */
    nd_free(r);
    return rc;
}

nd_err_t nd_surv_csv_read_events(nd_surv_inputs_t *in, const char *path, char *err,
                                 size_t err_len)
{
    return read_csv(in, path, CSV_EVENTS, err, err_len);
}

nd_err_t nd_surv_csv_read_accounts(nd_surv_inputs_t *in, const char *path, char *err,
                                   size_t err_len)
{
    return read_csv(in, path, CSV_ACCOUNTS, err, err_len);
}

nd_err_t nd_surv_csv_read_holidays(nd_surv_inputs_t *in, const char *path, char *err,
                                   size_t err_len)
{
    return read_csv(in, path, CSV_HOLIDAYS, err, err_len);
}

nd_err_t nd_surv_inputs_complete_accounts(nd_surv_inputs_t *in)
{
    ND_ASSERT(in != NULL && in->dict != NULL);
    uint32_t ids = nd_surv_dict_count(in->dict);
    uint8_t *listed = nd_calloc(ids ? ids : 1, 1);
    if (!listed)
        return ND_ENOMEM;
    for (size_t i = 0; i < in->account_count; i++)
        listed[in->accounts[i].account] = 1;
    nd_err_t rc = ND_OK;
    for (size_t i = 0; rc == ND_OK && i < in->event_count; i++) {
        uint32_t id = in->events[i].account;
        if (listed[id])
            continue;
        listed[id] = 1;
        rc = add_account(in, id) ? ND_OK : ND_ENOMEM;
    }
    nd_free(listed);
    return rc;
}

nd_err_t nd_surv_adv_parse(nd_surv_dict_t *dict, const char *text, nd_surv_adv_t *out,
                           char *err, size_t err_len)
{
    ND_ASSERT(dict != NULL && text != NULL);
    ND_ASSERT(out != NULL);
    const char *eq = strrchr(text, '=');
    int64_t qty = 0;
    const char *why = !eq || eq == text ? "expected SYMBOL=QTY"
                                        : parse_amount(eq + 1, false, true, &qty);
    uint32_t id = 0;
    if (!why && nd_surv_dict_intern(dict, text, (size_t)(eq - text), &id) != ND_OK)
        why = "out of memory";
    if (why) {
        nd_err_put(err, err_len, "%s", why);
        return ND_EPARSE;
    }
    *out = (nd_surv_adv_t){id, qty};
    return ND_OK;
}
