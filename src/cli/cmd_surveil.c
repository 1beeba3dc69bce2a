/* cmd_surveil.c: `noderr surveil`, market-abuse surveillance of an exported order-event log
 * (--events) or, post-trade, of the order events recorded in the compliance store (--db).
 *
 * Reads a CSV with header ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty
 * (ts ISO-8601 UTC or Unix ms; event new|cancel|fill; side buy|sell; exact decimals), an
 * optional accounts file (account,type,equity[,jurisdiction]) and holiday list, runs
 * nd_surv_scan under the chosen jurisdiction profiles and prints the alerts (text or JSON).
 * Every bad row stops the run with FILE:LINE: why and exit code 2; nothing is skipped. An
 * order id keeps the side, symbol, account and owner of its first row. With --db the events come
 * from nd_store_surv_load (owner = account; see docs/surveillance.md), the alerts print exactly
 * as in CSV mode, and --record appends them with their evidence plus an operator record of the
 * scan (nd_store_record_surv_alerts). */
#include "cli.h"
#include "noderr/file.h"
#include "noderr/text.h"

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nd_cmd_surveil(int argc, char **argv);

#define SURV_LINE_MAX 1024
#define SURV_FIELDS 11
#define SURV_ADV_MAX 256
#define SURV_HEADER "ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty"

typedef struct surv_opts {
    const char *events_path;
    const char *db_url;       /* --db: scan the store instead of a CSV */
    int64_t from_ns, to_ns;   /* --from/--to with --db: [from, to); to 0 = no bound */
    const char *period_text[2];
    bool record;              /* --record: append the alerts and the scan to the store */
    const char *accounts_path;
    const char *holidays_path;
    uint32_t jurisdictions;
    const char *adv_text[SURV_ADV_MAX];
    size_t adv_count;
    bool adv_from_events;
    bool json;
    bool fail_on_alert;
    bool help;
} surv_opts_t;

/* What the first row of an order id said, to refuse a later row that contradicts it. */
typedef struct order_seen {
    size_t line; /* 0 = not seen */
    uint32_t account, owner, symbol;
    int8_t side;
} order_seen_t;

typedef struct surv_input {
    nd_surv_dict_t *dict;
    nd_surv_event_t *events;
    size_t count, cap;
    order_seen_t *seen; /* indexed by dictionary id */
    size_t seen_cap;
    nd_surv_account_t *accounts;
    size_t account_count, account_cap;
    nd_surv_adv_t adv[SURV_ADV_MAX];
    size_t adv_count;
    int64_t *holidays;
    size_t holiday_count, holiday_cap;
    size_t account_columns;       /* 3, or 4 with a jurisdiction column */
    uint32_t default_jurisdictions; /* --jurisdiction: accounts without their own list */
    nd_store_t *store;            /* --db: open until the alerts are recorded */
    int64_t store_records;        /* --db: records that became events */
} surv_input_t;

/* A line reader: fgets with the line ending stripped and a length limit. */
typedef struct line_reader {
    FILE *f;
    const char *path;
    size_t line_no;
    char buf[SURV_LINE_MAX + 2];
} line_reader_t;

static const char usage_text[] =
    "usage: noderr surveil --events FILE.csv [--jurisdiction US[,EU,UK,SG]]\n"
    "       noderr surveil --db URL [--from ISO] [--to ISO] [--record] [options]\n"
    "                      [--accounts FILE] [--holidays FILE] [--adv SYMBOL=QTY]...\n"
    "                      [--adv-from-events] [--json] [--fail-on-alert]\n"
    "\n"
    "  --events FILE        order events, header " SURV_HEADER "\n"
    "                       (ts ISO-8601 UTC or Unix ms; event new|cancel|fill; "
    "side buy|sell)\n"
    "  --db URL             scan the order events and fills recorded in the compliance "
    "store\n"
    "                       (sqlite:PATH, PATH or postgresql://...); owner = account\n"
    "  --from, --to ISO     with --db: only records with from <= ts < to (UTC)\n"
    "  --record             with --db: append each alert with its evidence and a record "
    "of\n"
    "                       the scan to the store (see noderr report, noderr audit)\n"
    "  --jurisdiction LIST  profiles to apply (default US); alerts say which raised them\n"
    "  --accounts FILE      account,type,equity[,jurisdiction]: type cash|margin, equity "
    "in USD,\n"
    "                       jurisdiction like US|EU; without it accounts count as margin\n"
    "                       accounts of unknown equity under --jurisdiction\n"
    "  --holidays FILE      one YYYY-MM-DD a line: not business days (pattern day "
    "trading)\n"
    "  --adv SYMBOL=QTY     a symbol's average daily volume, for the large-volume share\n"
    "  --adv-from-events    derive each symbol's ADV from the file's own fills "
    "(lookback)\n"
    "  --json               {\"alerts\": [...]} with rule, jurisdiction, accounts, "
    "order_ids, from, to, reason\n"
    "  --fail-on-alert      exit 1 when there is at least one alert\n"
    "  --help               print this help\n";

/* Reads the next line into r->buf (ending stripped). Returns 1, 0 at end of file, or -1
 * after printing why. */
static int read_line(line_reader_t *r)
{
    if (!fgets(r->buf, sizeof r->buf, r->f)) {
        if (ferror(r->f)) {
            fprintf(stderr, "noderr surveil: %s:%zu: read error: %s\n", r->path,
                    r->line_no + 1, strerror(errno));
            return -1;
        }
        return 0;
    }
    r->line_no++;
    size_t len = strlen(r->buf);
    if (len > 0 && r->buf[len - 1] != '\n' && !feof(r->f)) {
        fprintf(stderr, "noderr surveil: %s:%zu: line longer than %d characters\n", r->path,
                r->line_no, SURV_LINE_MAX);
        return -1;
    }
    while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r'))
        r->buf[--len] = '\0';
    return 1;
}

/* Splits line in place on commas into at most max fields; returns the field count. */
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

static void row_error(const line_reader_t *r, const char *column, const char *text,
                      const char *why)
{
    fprintf(stderr, "noderr surveil: %s:%zu: %s '%s': %s\n", r->path, r->line_no, column, text,
            why);
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

static int intern_field(surv_input_t *in, const line_reader_t *r, const char *column,
                        const char *text, bool required, uint32_t *id)
{
    const char *why = required && *text == '\0' ? "empty" : check_text(text);
    if (!why && nd_surv_dict_intern(in->dict, text, strlen(text), id) != ND_OK)
        why = "out of memory";
    if (why) {
        row_error(r, column, text, why);
        return -1;
    }
    return 0;
}

static int parse_side_kind(const line_reader_t *r, char **f, nd_surv_event_t *e)
{
    if (strcasecmp(f[6], "buy") == 0) {
        e->side = ND_SIDE_BUY;
    } else if (strcasecmp(f[6], "sell") == 0) {
        e->side = ND_SIDE_SELL;
    } else {
        row_error(r, "side", f[6], "must be buy or sell");
        return -1;
    }
    if (strcasecmp(f[7], "new") == 0) {
        e->kind = ND_SURV_NEW;
    } else if (strcasecmp(f[7], "cancel") == 0) {
        e->kind = ND_SURV_CANCEL;
    } else if (strcasecmp(f[7], "fill") == 0) {
        e->kind = ND_SURV_FILL;
    } else {
        row_error(r, "event", f[7], "must be new, cancel or fill");
        return -1;
    }
    return 0;
}

static int parse_numbers(const line_reader_t *r, char **f, nd_surv_event_t *e)
{
    const char *why = parse_ts(f[0], &e->ts_ns);
    if (why) {
        row_error(r, "ts", f[0], why);
        return -1;
    }
    /* A new order without a price is a market order; a cancel may omit both numbers. */
    why = parse_amount(f[9], e->kind != ND_SURV_FILL, e->kind == ND_SURV_FILL, &e->px);
    if (why) {
        row_error(r, "price", f[9], why);
        return -1;
    }
    why = parse_amount(f[10], e->kind == ND_SURV_CANCEL, e->kind != ND_SURV_CANCEL, &e->qty);
    if (why) {
        row_error(r, "qty", f[10], why);
        return -1;
    }
    int64_t notional; /* an input error here, not a clamped figure in an alert */
    if (nd_surv_event_notional(e, &notional) != ND_OK) {
        row_error(r, "qty", f[10], "price x qty (the notional) does not fit 64-bit cash units");
        return -1;
    }
    return 0;
}

/* Refuses a row that contradicts the first row of the same order id. */
static int check_order(surv_input_t *in, const line_reader_t *r, const char *order_text,
                       const nd_surv_event_t *e)
{
    if (e->order >= in->seen_cap) {
        size_t cap = in->seen_cap ? in->seen_cap : 1024;
        while (cap <= e->order)
            cap *= 2;
        order_seen_t *seen = nd_realloc(in->seen, cap * sizeof *seen);
        if (!seen) {
            row_error(r, "order_id", order_text, "out of memory");
            return -1;
        }
        memset(seen + in->seen_cap, 0, (cap - in->seen_cap) * sizeof *seen);
        in->seen = seen;
        in->seen_cap = cap;
    }
    order_seen_t *s = &in->seen[e->order];
    if (s->line == 0) {
        *s = (order_seen_t){r->line_no, e->account, e->owner, e->symbol, e->side};
        return 0;
    }
    const char *what = s->side != e->side       ? "side"
                       : s->symbol != e->symbol   ? "symbol"
                       : s->account != e->account ? "account"
                       : s->owner != e->owner     ? "owner"
                                                  : NULL;
    if (!what)
        return 0;
    char why[128];
    snprintf(why, sizeof why, "this order id has a different %s on line %zu", what, s->line);
    row_error(r, "order_id", order_text, why);
    return -1;
}

static int push_event(surv_input_t *in, const nd_surv_event_t *e)
{
    if (in->count == in->cap) {
        size_t cap = in->cap ? in->cap * 2 : 4096;
        nd_surv_event_t *ev = nd_realloc(in->events, cap * sizeof *ev);
        if (!ev)
            return -1;
        in->events = ev;
        in->cap = cap;
    }
    in->events[in->count++] = *e;
    return 0;
}

static int parse_event_row(surv_input_t *in, const line_reader_t *r, char *line)
{
    char *f[SURV_FIELDS + 1];
    size_t n = split_fields(line, f, SURV_FIELDS);
    if (n != SURV_FIELDS) {
        fprintf(stderr, "noderr surveil: %s:%zu: %s%zu columns, expected %d (%s)\n", r->path,
                r->line_no, n > SURV_FIELDS ? "more than " : "", n > SURV_FIELDS ? n - 1 : n,
                SURV_FIELDS, SURV_HEADER);
        return -1;
    }
    nd_surv_event_t e = {0};
    if (intern_field(in, r, "account", f[1], true, &e.account) != 0 ||
        intern_field(in, r, "owner", f[2], true, &e.owner) != 0 ||
        intern_field(in, r, "strategy", f[3], false, &e.strategy) != 0 ||
        intern_field(in, r, "venue", f[4], false, &e.venue) != 0 ||
        intern_field(in, r, "symbol", f[5], true, &e.symbol) != 0 ||
        intern_field(in, r, "order_id", f[8], true, &e.order) != 0)
        return -1;
    if (parse_side_kind(r, f, &e) != 0 || parse_numbers(r, f, &e) != 0 ||
        check_order(in, r, f[8], &e) != 0)
        return -1;
    if (push_event(in, &e) != 0) {
        fprintf(stderr, "noderr surveil: %s:%zu: out of memory\n", r->path, r->line_no);
        return -1;
    }
    return 0;
}

/* Opens path and checks its header line; returns 0 or -1 after printing why. */
static int open_csv(line_reader_t *r, const char *path, const char *header, const char *alt)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    char err[512];
    nd_err_t open_rc = nd_file_open(path, &r->f, err, sizeof err);
    if (open_rc == ND_ENOTFOUND || open_rc == ND_EIO) { /* err is "PATH: why" */
        size_t skip = strlen(path) + 2;
        fprintf(stderr, "noderr surveil: %s: cannot open: %s\n", path,
                strlen(err) > skip ? err + skip : err);
        return -1;
    }
    if (open_rc != ND_OK) {
        fprintf(stderr, "noderr surveil: %s\n", err);
        return -1;
    }
    int rc = read_line(r);
    if (rc == 0) {
        fprintf(stderr, "noderr surveil: %s:1: empty file, expected the header %s\n", path,
                header);
        return -1;
    }
    if (rc < 0)
        return -1;
    /* A leading UTF-8 byte order mark is skipped, as in every text file noderr reads. */
    const char *got = r->buf + nd_text_bom_len(r->buf, strlen(r->buf));
    if (strcmp(got, header) != 0 && !(alt && strcmp(got, alt) == 0)) {
        fprintf(stderr, "noderr surveil: %s:1: header must be %s%s%s\n", path, header,
                alt ? " or " : "", alt ? alt : "");
        return -1;
    }
    return 0;
}

/* Runs row() on every data line; a blank line is allowed only at the end of the file. */
static int each_row(line_reader_t *r, surv_input_t *in,
                    int (*row)(surv_input_t *, const line_reader_t *, char *))
{
    size_t blank = 0;
    int rc;
    while ((rc = read_line(r)) > 0) {
        if (r->buf[strspn(r->buf, " \t")] == '\0') {
            blank = blank ? blank : r->line_no;
            continue;
        }
        if (blank) {
            fprintf(stderr, "noderr surveil: %s:%zu: blank line inside the data\n", r->path,
                    blank);
            return -1;
        }
        if (row(in, r, r->buf) != 0)
            return -1;
    }
    return rc;
}

static int read_events(surv_input_t *in, const char *path)
{
    line_reader_t *r = nd_alloc(sizeof *r);
    if (!r) {
        fprintf(stderr, "noderr surveil: out of memory\n");
        return -1;
    }
    int rc = open_csv(r, path, SURV_HEADER, NULL);
    if (rc == 0)
        rc = each_row(r, in, parse_event_row);
    if (rc == 0 && in->count == 0) {
        fprintf(stderr, "noderr surveil: %s:2: no events after the header\n", path);
        rc = -1;
    }
    if (r->f)
        fclose(r->f);
    nd_free(r);
    return rc;
}

static nd_surv_account_t *find_account(surv_input_t *in, uint32_t id)
{
    for (size_t i = 0; i < in->account_count; i++)
        if (in->accounts[i].account == id)
            return &in->accounts[i];
    return NULL;
}

static nd_surv_account_t *add_account(surv_input_t *in, uint32_t id)
{
    if (in->account_count == in->account_cap) {
        size_t cap = in->account_cap ? in->account_cap * 2 : 64;
        nd_surv_account_t *a = nd_realloc(in->accounts, cap * sizeof *a);
        if (!a)
            return NULL;
        in->accounts = a;
        in->account_cap = cap;
    }
    nd_surv_account_t *a = &in->accounts[in->account_count++];
    *a = (nd_surv_account_t){.account = id, .jurisdictions = in->default_jurisdictions};
    return a;
}

static int parse_account_row(surv_input_t *in, const line_reader_t *r, char *line)
{
    char *f[5] = {0}; /* zeroed: -O3 cannot see that split_fields sets the n fields used */
    size_t n = split_fields(line, f, 4);
    if (n != in->account_columns) {
        fprintf(stderr, "noderr surveil: %s:%zu: %zu columns, expected %zu\n", r->path,
                r->line_no, n, in->account_columns);
        return -1;
    }
    uint32_t id = 0;
    if (intern_field(in, r, "account", f[0], true, &id) != 0)
        return -1;
    if (find_account(in, id)) {
        row_error(r, "account", f[0], "listed twice");
        return -1;
    }
    nd_surv_account_t *a = add_account(in, id);
    if (!a) {
        row_error(r, "account", f[0], "out of memory");
        return -1;
    }
    if (strcasecmp(f[1], "cash") == 0)
        a->type = ND_SURV_ACCOUNT_CASH;
    else if (strcasecmp(f[1], "margin") == 0)
        a->type = ND_SURV_ACCOUNT_MARGIN;
    else if (f[1][0] != '\0') {
        row_error(r, "type", f[1], "must be cash or margin (or empty: unknown)");
        return -1;
    }
    const char *why = parse_amount(f[2], true, false, &a->equity);
    if (why) {
        row_error(r, "equity", f[2], why);
        return -1;
    }
    a->equity_known = f[2][0] != '\0';
    char err[128];
    if (n == 4 && f[3][0] != '\0' &&
        nd_jurisdiction_parse_list(f[3], &a->jurisdictions, err, sizeof err) != ND_OK) {
        row_error(r, "jurisdiction", f[3], err);
        return -1;
    }
    return 0;
}

static int read_accounts(surv_input_t *in, const char *path)
{
    line_reader_t *r = nd_alloc(sizeof *r);
    if (!r) {
        fprintf(stderr, "noderr surveil: out of memory\n");
        return -1;
    }
    int rc = open_csv(r, path, "account,type,equity", "account,type,equity,jurisdiction");
    if (rc == 0) {
        in->account_columns = strcmp(r->buf, "account,type,equity") == 0 ? 3 : 4;
        rc = each_row(r, in, parse_account_row);
    }
    if (r->f)
        fclose(r->f);
    nd_free(r);
    return rc;
}

static int parse_holiday_row(surv_input_t *in, const line_reader_t *r, char *line)
{
    int64_t ns = 0;
    if (strlen(line) != 10 || nd_time_parse_iso(line, &ns) != ND_OK) {
        row_error(r, "date", line, "expected YYYY-MM-DD");
        return -1;
    }
    if (in->holiday_count == in->holiday_cap) {
        size_t cap = in->holiday_cap ? in->holiday_cap * 2 : 32;
        int64_t *h = nd_realloc(in->holidays, cap * sizeof *h);
        if (!h) {
            row_error(r, "date", line, "out of memory");
            return -1;
        }
        in->holidays = h;
        in->holiday_cap = cap;
    }
    in->holidays[in->holiday_count++] = ns / ND_NS_PER_DAY;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int read_holidays(surv_input_t *in, const char *path)
{
    line_reader_t *r = nd_alloc(sizeof *r);
    if (!r) {
        fprintf(stderr, "noderr surveil: out of memory\n");
        return -1;
    }
    int rc = open_csv(r, path, "date", NULL);
    if (rc == 0)
        rc = each_row(r, in, parse_holiday_row);
    if (rc == 0 && in->holiday_count > 1)
        qsort(in->holidays, in->holiday_count, sizeof *in->holidays, cmp_i64);
    if (r->f)
        fclose(r->f);
    nd_free(r);
    return rc;
}

/* --adv SYMBOL=QTY */
static int parse_adv(surv_input_t *in, const char *text)
{
    const char *eq = strrchr(text, '=');
    int64_t qty = 0;
    const char *why = !eq || eq == text ? "expected SYMBOL=QTY"
                                        : parse_amount(eq + 1, false, true, &qty);
    uint32_t id = 0;
    if (!why && nd_surv_dict_intern(in->dict, text, (size_t)(eq - text), &id) != ND_OK)
        why = "out of memory";
    if (why) {
        fprintf(stderr, "noderr surveil: --adv '%s': %s\n", text, why);
        return -1;
    }
    in->adv[in->adv_count++] = (nd_surv_adv_t){id, qty};
    return 0;
}

/* Every account of the events that the accounts file does not list falls under the
 * --jurisdiction profiles with unknown type and equity. */
static int complete_accounts(surv_input_t *in)
{
    uint32_t ids = nd_surv_dict_count(in->dict);
    uint8_t *listed = nd_calloc(ids ? ids : 1, 1);
    if (!listed)
        return -1;
    for (size_t i = 0; i < in->account_count; i++)
        listed[in->accounts[i].account] = 1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < in->count; i++) {
        uint32_t id = in->events[i].account;
        if (listed[id])
            continue;
        listed[id] = 1;
        rc = add_account(in, id) ? 0 : -1;
    }
    nd_free(listed);
    if (rc != 0)
        fprintf(stderr, "noderr surveil: out of memory\n");
    return rc;
}

enum { OPT_EVENTS = 256, OPT_JUR, OPT_ACCOUNTS, OPT_HOLIDAYS, OPT_ADV, OPT_ADV_EVENTS,
       OPT_FAIL, OPT_DB, OPT_FROM, OPT_TO, OPT_RECORD };

/* --from/--to: ISO-8601 UTC (a bare date is midnight). */
static int parse_bound(const char *option, const char *text, surv_opts_t *o, int which)
{
    int64_t ns = 0;
    if (nd_time_parse_iso(text, &ns) != ND_OK) {
        fprintf(stderr, "noderr surveil: %s '%s': expected ISO-8601 UTC "
                "(2024-01-02 or 2024-01-02T09:30:00Z)\n", option, text);
        return -1;
    }
    o->period_text[which] = text;
    if (which == 0)
        o->from_ns = ns;
    else
        o->to_ns = ns;
    return 0;
}

/* The source options: exactly one of --events and --db; the store-only options need --db. */
static int check_sources(const surv_opts_t *o)
{
    const char *why = NULL;
    if (o->events_path && o->db_url)
        why = "give either --events FILE or --db URL, not both";
    else if (!o->events_path && !o->db_url)
        why = "--events FILE is required (or --db URL: the compliance store)";
    else if (!o->db_url && (o->record || o->period_text[0] || o->period_text[1]))
        why = "--record, --from and --to apply to --db only";
    else if (o->period_text[0] && o->period_text[1] && o->to_ns <= o->from_ns)
        why = "--to must be after --from";
    if (why)
        fprintf(stderr, "noderr surveil: %s\n", why);
    return why ? -1 : 0;
}

static const struct option longopts[] = {
    {"events", required_argument, NULL, OPT_EVENTS},
    {"jurisdiction", required_argument, NULL, OPT_JUR},
    {"accounts", required_argument, NULL, OPT_ACCOUNTS},
    {"holidays", required_argument, NULL, OPT_HOLIDAYS},
    {"adv", required_argument, NULL, OPT_ADV},
    {"adv-from-events", no_argument, NULL, OPT_ADV_EVENTS},
    ND_CLI_OPTION_JSON,
    {"fail-on-alert", no_argument, NULL, OPT_FAIL},
    {"db", required_argument, NULL, OPT_DB},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"record", no_argument, NULL, OPT_RECORD},
    ND_CLI_OPTION_HELP,
    {NULL, 0, NULL, 0},
};

static int surveil_option(void *ctx, int c, const char *arg)
{
    surv_opts_t *o = ctx;
    char err[128];
    switch (c) {
    case OPT_EVENTS: o->events_path = arg; return 0;
    case OPT_JUR:
        if (nd_jurisdiction_parse_list(arg, &o->jurisdictions, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr surveil: --jurisdiction: %s\n", err);
            return -1;
        }
        return 0;
    case OPT_ACCOUNTS: o->accounts_path = arg; return 0;
    case OPT_HOLIDAYS: o->holidays_path = arg; return 0;
    case OPT_ADV:
        if (o->adv_count == SURV_ADV_MAX) {
            fprintf(stderr, "noderr surveil: --adv: at most %d symbols\n", SURV_ADV_MAX);
            return -1;
        }
        o->adv_text[o->adv_count++] = arg;
        return 0;
    case OPT_ADV_EVENTS: o->adv_from_events = true; return 0;
    case ND_CLI_OPT_JSON: o->json = true; return 0;
    case OPT_FAIL: o->fail_on_alert = true; return 0;
    case OPT_DB: o->db_url = arg; return 0;
    case OPT_FROM: return parse_bound("--from", arg, o, 0);
    case OPT_TO: return parse_bound("--to", arg, o, 1);
    case OPT_RECORD: o->record = true; return 0;
    }
    return -1;
}

/* 0 parsed (o->help after --help, the usage printed), -1 after a message. */
static int surveil_parse_options(int argc, char **argv, surv_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->jurisdictions = ND_JUR_BIT(ND_JUR_US);
    int rc = nd_cli_getopt("surveil", argc, argv, longopts, ND_CLI_OPT_HELP, usage_text,
                           surveil_option, o);
    if (rc < 0) {
        o->help = true;
        return 0;
    }
    return rc == 0 ? check_sources(o) : -1;
}

static void print_names(const char *label, const nd_surv_dict_t *d, const uint32_t *ids,
                        uint32_t n)
{
    printf("    %-10s", label);
    for (uint32_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", nd_surv_dict_name(d, ids[i]));
    printf("\n");
}

static void print_alerts_text(const surv_input_t *in, const nd_surv_alerts_t *al)
{
    printf("%zu events scanned, %zu alert%s\n", in->count, al->count, al->count == 1 ? "" : "s");
    for (size_t i = 0; i < al->count; i++) {
        const nd_surv_alert_t *a = &al->items[i];
        char from[40], to[40];
        nd_time_format_iso(a->from_ns, from, sizeof from);
        nd_time_format_iso(a->to_ns, to, sizeof to);
        printf("\n[%zu] %s (%s) %s .. %s\n", i + 1, nd_surv_rule_name(a->rule),
               nd_jurisdiction_profile(a->jurisdiction)->code, from, to);
        printf("    %-10s%s\n", "owner:", a->owner == ND_SURV_ID_NONE
                                            ? "-" : nd_surv_dict_name(in->dict, a->owner));
        printf("    %-10s%s\n", "symbol:", a->symbol == ND_SURV_ID_NONE
                                             ? "(all)" : nd_surv_dict_name(in->dict, a->symbol));
        print_names("accounts:", in->dict, a->accounts, a->account_count);
        print_names("orders:", in->dict, a->orders, a->order_count);
        printf("    %-10s%s%s\n", "why:", a->reason, a->truncated ? " (evidence truncated)" : "");
    }
}

static int print_alerts_json(const surv_input_t *in, const nd_surv_alerts_t *al)
{
    json_t *root = json_object(), *arr = json_array();
    int rc = (root && arr) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < al->count; i++) {
        json_t *a = nd_surv_alert_to_json(&al->items[i], in->dict, in->events, in->count);
        rc = a ? json_array_append_new(arr, a) : -1;
    }
    if (rc == 0) {
        rc = json_object_set_new(root, "alerts", arr); /* takes arr even when it fails */
        arr = NULL;
    }
    if (rc == 0)
        rc = nd_cli_print_json(root);
    json_decref(arr);
    json_decref(root);
    return rc;
}

/* --db: the store's order events and fills of the period (nd_store_surv_load). The store stays
 * open in `in` for --record. */
static int read_store(surv_input_t *in, const surv_opts_t *o)
{
    char err[512] = "";
    nd_err_t rc = nd_store_open(o->db_url, 0, &in->store, err, sizeof err);
    nd_store_surv_events_t ev;
    if (rc == ND_OK)
        rc = nd_store_surv_load(in->store, o->from_ns, o->to_ns, in->dict, &ev, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr surveil: --db %s: %s\n", o->db_url, err);
        return -1;
    }
    in->events = ev.events; /* taken over: free_inputs releases it */
    in->count = ev.count;
    in->cap = ev._cap;
    in->store_records = ev.records;
    return 0;
}

static int load_inputs(const surv_opts_t *o, surv_input_t *in)
{
    in->default_jurisdictions = o->jurisdictions;
    if (nd_surv_dict_create(&in->dict) != ND_OK) {
        fprintf(stderr, "noderr surveil: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < o->adv_count; i++)
        if (parse_adv(in, o->adv_text[i]) != 0)
            return -1;
    if (o->accounts_path && read_accounts(in, o->accounts_path) != 0)
        return -1;
    if (o->holidays_path && read_holidays(in, o->holidays_path) != 0)
        return -1;
    if (o->db_url ? read_store(in, o) != 0 : read_events(in, o->events_path) != 0)
        return -1;
    return complete_accounts(in);
}

static void free_inputs(surv_input_t *in)
{
    nd_free(in->events);
    nd_free(in->seen);
    nd_free(in->accounts);
    nd_free(in->holidays);
    nd_surv_dict_destroy(in->dict);
    nd_store_close(in->store); /* anything not flushed (a failed --record) is rolled back */
}

static int run_scan(const surv_opts_t *o, surv_input_t *in, nd_surv_alerts_t *alerts)
{
    uint32_t mask = o->jurisdictions;
    for (size_t i = 0; i < in->account_count; i++)
        mask |= in->accounts[i].jurisdictions;
    const nd_surv_profile_t *profiles[ND_JUR_COUNT];
    size_t np = 0;
    for (int j = 0; j < ND_JUR_COUNT; j++)
        if (mask & ND_JUR_BIT(j))
            profiles[np++] = nd_jurisdiction_profile((nd_jurisdiction_t)j);
    nd_surv_options_t opt = {
        .accounts = in->accounts, .account_count = in->account_count,
        .adv = in->adv, .adv_count = in->adv_count, .adv_from_events = o->adv_from_events,
        .holidays = in->holidays, .holiday_count = in->holiday_count,
        .first_line = o->db_url ? 0 : 2, /* one event a line after the header */
    };
    char err[256];
    if (nd_surv_scan(in->events, in->count, profiles, np, &opt, alerts, err, sizeof err) !=
        ND_OK) {
        fprintf(stderr, "noderr surveil: %s: %s\n", o->db_url ? o->db_url : o->events_path, err);
        return -1;
    }
    return 0;
}

/* --record: every alert with its evidence, then an operator record of the scan: what, the
 * period, the profiles and how many alerts. Returns 0 or -1 after printing why. */
static int record_scan(const surv_opts_t *o, const surv_input_t *in, const nd_surv_alerts_t *al)
{
    char jur[32] = "", note[512], err[512] = "";
    for (int j = 0, n = 0; j < ND_JUR_COUNT; j++)
        if (o->jurisdictions & ND_JUR_BIT(j))
            n += snprintf(jur + n, sizeof jur - (size_t)n, "%s%s", n ? "," : "",
                          nd_jurisdiction_profile((nd_jurisdiction_t)j)->code);
    snprintf(note, sizeof note, "post-trade scan of order events and fills from %s to %s under "
             "%s: %zu events from %lld records, %zu alert%s", o->period_text[0] ? o->period_text[0]
             : "the start", o->period_text[1] ? o->period_text[1] : "the end", jur, in->count,
             (long long)in->store_records, al->count, al->count == 1 ? "" : "s");
    nd_err_t rc = nd_store_record_surv_alerts(in->store, al, in->dict, in->events, in->count,
                                              nd_clock_now_ns(nd_clock_os()), note, err,
                                              sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr surveil: --record %s: %s (nothing was recorded)\n", o->db_url,
                err);
        return -1;
    }
    fprintf(stderr, "noderr surveil: recorded %zu alert%s and the scan in %s\n", al->count,
            al->count == 1 ? "" : "s", o->db_url);
    return 0;
}

int nd_cmd_surveil(int argc, char **argv)
{
    surv_opts_t o;
    if (surveil_parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "noderr surveil: see 'noderr surveil --help'\n");
        return ND_EXIT_USAGE;
    }
    if (o.help)
        return ND_EXIT_OK;
    surv_input_t in = {0};
    nd_surv_alerts_t alerts;
    nd_surv_alerts_init(&alerts);
    int code = ND_EXIT_USAGE;
    if (load_inputs(&o, &in) == 0 && run_scan(&o, &in, &alerts) == 0) {
        code = ND_EXIT_OK;
        if (o.json) {
            if (print_alerts_json(&in, &alerts) != 0) {
                fprintf(stderr, "noderr surveil: cannot write the JSON output\n");
                code = ND_EXIT_USAGE;
            }
        } else {
            print_alerts_text(&in, &alerts);
        }
        if (code == ND_EXIT_OK && o.record && record_scan(&o, &in, &alerts) != 0)
            code = ND_EXIT_USAGE;
        if (code == ND_EXIT_OK && o.fail_on_alert && alerts.count > 0)
            code = ND_EXIT_CHECK_FAILED;
    }
    nd_surv_alerts_deinit(&alerts);
    free_inputs(&in);
    return code;
}
