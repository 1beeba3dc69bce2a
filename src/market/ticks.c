/* ticks.c: streaming loaders for Binance trade, aggTrade and bookTicker files (the archive
 * layouts and the project's own headed CSVs), emitting nd_trade_tick_t / nd_quote_tick_t.
 *
 * A source reads through one READ_BUF_SIZE buffer and hands out one checked row per call, so
 * memory stays flat whatever the file size. Invariants: every event handed out passed every
 * row check of its layout (ticks.h lists them); the first bad row ends the source for good with
 * "PATH:LINE: reason" and the same code from every later call; times never decrease and trade
 * ids strictly increase across the events handed out. */
#include "market/market_int.h"

#include "noderr/alloc.h"
#include "noderr/file.h"
#include "noderr/assert.h"
#include "noderr/fixed.h"
#include "noderr/limits.h"
#include "noderr/ticks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Large reads amortise the syscall. */
#define READ_BUF_SIZE ((size_t)1 << 20)
/* One more than the widest layout (aggTrades, 8) so that surplus columns are counted. */
#define FIELDS_MAX 9
/* Times at or above 10^14 are microseconds (10^14 us is 1973, 10^14 ms the year 5138): the
 * rule the kline loader uses, applied per row because Binance switched units in 2025. */
#define US_MIN 100000000000000LL
#define QUOTE_MAX 40

ND_STATIC_ASSERT(READ_BUF_SIZE > 2 * ND_LINE_MAX, "a full line always fits the read buffer");

struct nd_tick_source {
    nd__lines_t lines; /* READ_BUF_SIZE bytes of buffer, ND_LINE_MAX long lines at most */
    char *path;
    nd_tick_format_t format;
    int px_decimals, qty_decimals;
    uint32_t instrument_id;
    int64_t rows;
    int64_t prev_ts_ns;
    int64_t prev_id;
    nd_err_t status;
    char err[256];
};

static const struct layout {
    nd_tick_format_t format;
    const char *name;
    int columns;
    const char *header;  /* the full header (headed CSVs) or its first column (archives) */
    bool header_prefix;  /* true: only the first column is checked, and the header is optional */
} layouts[] = {
    {ND_TICK_FORMAT_TRADES_CSV, "trades-csv", 5, "ts,trade_id,price,qty,is_buyer_maker", false},
    {ND_TICK_FORMAT_TRADES, "trades", 7, "id,", true},
    {ND_TICK_FORMAT_AGG_TRADES, "aggTrades", 8, "agg_trade_id,", true},
    {ND_TICK_FORMAT_BOOK_TICKER_CSV, "bookticker-csv", 5, "ts,bid,bid_qty,ask,ask_qty", false},
    {ND_TICK_FORMAT_BOOK_TICKER, "bookTicker", 7, "update_id,", true},
};

static const struct layout *layout_of(nd_tick_format_t format)
{
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
        if (layouts[i].format == format)
            return &layouts[i];
    return NULL;
}

const char *nd_tick_format_name(nd_tick_format_t format)
{
    const struct layout *l = layout_of(format);
    return l ? l->name : "auto";
}

/* Ends the source with code and "PATH:LINE: reason" (market_int.h). */
#define row_fail(s, code, ...)                                                                     \
    nd__market_fail((s)->err, sizeof (s)->err, &(s)->status, (s)->path, (s)->lines.line_number, \
                    code, __VA_ARGS__)

/* A read of the line reader, its failures worded for this source. */
#define checked(s, rc)                                                                             \
    nd__lines_check(&(s)->lines, rc, (s)->path, (s)->err, sizeof (s)->err, &(s)->status)


/* Blank lines at the very end are the end of the data; a blank line followed by data is an
 * error naming the blank line. */
static nd_err_t read_data_line(nd_tick_source_t *s, const char **line, size_t *len)
{
    return checked(s, nd__lines_next_data(&s->lines, line, len));
}


/* An unsigned integer of 1 to 18 digits; -1 otherwise. */
static int parse_uint(const nd__field_t *f, int64_t *out)
{
    if (f->len == 0 || f->len > 18)
        return -1;
    int64_t acc = 0;
    for (size_t i = 0; i < f->len; i++) {
        unsigned digit = (unsigned)(unsigned char)f->text[i] - '0';
        if (digit > 9)
            return -1;
        acc = acc * 10 + (int64_t)digit;
    }
    *out = acc;
    return 0;
}

/* true/false in any case (the archives write True/False, our CSVs true/false); -1 otherwise. */
static int parse_bool(const nd__field_t *f)
{
    if (f->len == 4 && strncasecmp(f->text, "true", 4) == 0)
        return 1;
    if (f->len == 5 && strncasecmp(f->text, "false", 5) == 0)
        return 0;
    return -1;
}

static int shown(const nd__field_t *f)
{
    return f->len > QUOTE_MAX ? QUOTE_MAX : (int)f->len;
}

static nd_err_t col_int(nd_tick_source_t *s, const nd__field_t *f, const char *name, int64_t *out)
{
    if (parse_uint(f, out) == 0)
        return ND_OK;
    return row_fail(s, ND_EPARSE, "%s: malformed integer '%.*s'", name, shown(f), f->text);
}

static nd_err_t col_bool(nd_tick_source_t *s, const nd__field_t *f, const char *name, int *out)
{
    int v = parse_bool(f);
    if (v >= 0) {
        *out = v;
        return ND_OK;
    }
    return row_fail(s, ND_EPARSE, "%s: expected true or false, found '%.*s'", name, shown(f),
                    f->text);
}

static nd_err_t col_time(nd_tick_source_t *s, const nd__field_t *f, const char *name,
                         int64_t *ts_ns)
{
    int64_t v;
    if (parse_uint(f, &v) != 0)
        return row_fail(s, ND_EPARSE, "%s: malformed integer '%.*s'", name, shown(f), f->text);
    int64_t unit = v >= US_MIN ? 1000 : 1000000;
    if (v > INT64_MAX / unit)
        return row_fail(s, ND_ERANGE, "%s %.*s out of range", name, shown(f), f->text);
    *ts_ns = v * unit;
    return ND_OK;
}

/* A price or quantity at the instrument's scale; positive when `positive`, else >= 0. */
static nd_err_t col_fixed(nd_tick_source_t *s, const nd__field_t *f, const char *name, bool is_px,
                          bool positive, int64_t *out)
{
    int decimals = is_px ? s->px_decimals : s->qty_decimals;
    nd_err_t rc = nd_fixed_parse(f->text, f->len, decimals, out);
    if (rc == ND_EPRECISION)
        return row_fail(s, rc, "%s %.*s has more decimals than the %s scale (%d)", name,
                        shown(f), f->text, is_px ? "price" : "quantity", decimals);
    if (rc == ND_EOVERFLOW)
        return row_fail(s, rc, "%s %.*s out of range", name, shown(f), f->text);
    if (rc != ND_OK)
        return row_fail(s, ND_EPARSE, "%s: malformed number '%.*s'", name, shown(f), f->text);
    if (positive ? *out <= 0 : *out < 0)
        return row_fail(s, ND_EPARSE, "%s %.*s must be %s", name, shown(f), f->text,
                        positive ? "> 0" : ">= 0");
    return ND_OK;
}

/* A column we check but do not keep (quote_qty): a plain non-negative decimal. */
static nd_err_t col_decimal(nd_tick_source_t *s, const nd__field_t *f, const char *name)
{
    size_t digits = 0, points = 0, i = 0;
    for (; i < f->len; i++) {
        if (f->text[i] >= '0' && f->text[i] <= '9')
            digits++;
        else if (f->text[i] == '.')
            points++;
        else
            break;
    }
    if (i == f->len && digits > 0 && points <= 1)
        return ND_OK;
    return row_fail(s, ND_EPARSE, "%s: malformed number '%.*s'", name, shown(f), f->text);
}

/* Time never decreases and trade ids strictly increase. */
static nd_err_t check_order(nd_tick_source_t *s, int64_t ts_ns, int64_t id, bool strict_id)
{
    if (s->rows > 0 && ts_ns < s->prev_ts_ns)
        return row_fail(s, ND_EPARSE, "time goes backwards (%lld ns before the previous row)",
                        (long long)(s->prev_ts_ns - ts_ns));
    if (s->rows > 0 && (strict_id ? id <= s->prev_id : id < s->prev_id))
        return row_fail(s, ND_EPARSE, "id %lld not after the previous row's %lld", (long long)id,
                        (long long)s->prev_id);
    s->prev_ts_ns = ts_ns;
    s->prev_id = id;
    return ND_OK;
}

static nd_err_t parse_trade(nd_tick_source_t *s, const nd__field_t *f, nd_trade_tick_t *t)
{
    nd_err_t rc;
    int buyer_maker = 0, best_match = 0;
    int64_t first = 0, last = 0;
    switch (s->format) {
    case ND_TICK_FORMAT_TRADES_CSV:
        if ((rc = col_time(s, &f[0], "ts", &t->ts_ns)) != ND_OK ||
            (rc = col_int(s, &f[1], "trade_id", &t->trade_id)) != ND_OK ||
            (rc = col_fixed(s, &f[2], "price", true, true, &t->px)) != ND_OK ||
            (rc = col_fixed(s, &f[3], "qty", false, true, &t->qty)) != ND_OK ||
            (rc = col_bool(s, &f[4], "is_buyer_maker", &buyer_maker)) != ND_OK)
            return rc;
        break;
    case ND_TICK_FORMAT_TRADES:
        if ((rc = col_int(s, &f[0], "id", &t->trade_id)) != ND_OK ||
            (rc = col_fixed(s, &f[1], "price", true, true, &t->px)) != ND_OK ||
            (rc = col_fixed(s, &f[2], "qty", false, true, &t->qty)) != ND_OK ||
            (rc = col_decimal(s, &f[3], "quote_qty")) != ND_OK ||
            (rc = col_time(s, &f[4], "time", &t->ts_ns)) != ND_OK ||
            (rc = col_bool(s, &f[5], "is_buyer_maker", &buyer_maker)) != ND_OK ||
            (rc = col_bool(s, &f[6], "is_best_match", &best_match)) != ND_OK)
            return rc;
        break;
    case ND_TICK_FORMAT_AGG_TRADES:
        if ((rc = col_int(s, &f[0], "agg_trade_id", &t->trade_id)) != ND_OK ||
            (rc = col_fixed(s, &f[1], "price", true, true, &t->px)) != ND_OK ||
            (rc = col_fixed(s, &f[2], "qty", false, true, &t->qty)) != ND_OK ||
            (rc = col_int(s, &f[3], "first_trade_id", &first)) != ND_OK ||
            (rc = col_int(s, &f[4], "last_trade_id", &last)) != ND_OK ||
            (rc = col_time(s, &f[5], "transact_time", &t->ts_ns)) != ND_OK ||
            (rc = col_bool(s, &f[6], "is_buyer_maker", &buyer_maker)) != ND_OK ||
            (rc = col_bool(s, &f[7], "is_best_match", &best_match)) != ND_OK)
            return rc;
        if (first > last)
            return row_fail(s, ND_EPARSE, "first_trade_id %lld after last_trade_id %lld",
                            (long long)first, (long long)last);
        break;
    default: ND_ASSERT(!"not a trade layout");
    }
    /* The buyer was the maker: the seller crossed the spread. */
    t->aggressor = buyer_maker ? ND_SIDE_SELL : ND_SIDE_BUY;
    t->instrument_id = s->instrument_id;
    return check_order(s, t->ts_ns, t->trade_id, true);
}

static nd_err_t parse_quote(nd_tick_source_t *s, const nd__field_t *f, nd_quote_tick_t *q)
{
    nd_err_t rc;
    int o = 0; /* first price column */
    q->update_id = 0;
    if (s->format == ND_TICK_FORMAT_BOOK_TICKER_CSV) {
        if ((rc = col_time(s, &f[0], "ts", &q->ts_ns)) != ND_OK)
            return rc;
        o = 1;
    } else {
        ND_ASSERT(s->format == ND_TICK_FORMAT_BOOK_TICKER);
        int64_t event_ns;
        if ((rc = col_int(s, &f[0], "update_id", &q->update_id)) != ND_OK ||
            (rc = col_time(s, &f[5], "transaction_time", &q->ts_ns)) != ND_OK ||
            (rc = col_time(s, &f[6], "event_time", &event_ns)) != ND_OK)
            return rc;
        o = 1;
    }
    if ((rc = col_fixed(s, &f[o], "bid", true, true, &q->bid_px)) != ND_OK ||
        (rc = col_fixed(s, &f[o + 1], "bid_qty", false, false, &q->bid_qty)) != ND_OK ||
        (rc = col_fixed(s, &f[o + 2], "ask", true, true, &q->ask_px)) != ND_OK ||
        (rc = col_fixed(s, &f[o + 3], "ask_qty", false, false, &q->ask_qty)) != ND_OK)
        return rc;
    if (q->bid_px >= q->ask_px)
        return row_fail(s, ND_EPARSE, "crossed quote: bid %.*s not below ask %.*s",
                        shown(&f[o]), f[o].text, shown(&f[o + 2]), f[o + 2].text);
    q->instrument_id = s->instrument_id;
    /* Update ids may repeat (one id per book change, several rows for one change). */
    return check_order(s, q->ts_ns, q->update_id, false);
}

nd_err_t nd_ticks_next(nd_tick_source_t *s, nd_tick_event_t *out)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    if (s->status != ND_OK)
        return s->status;
    const char *line;
    size_t len;
    nd_err_t rc = read_data_line(s, &line, &len);
    if (rc == ND_EEOF) {
        s->status = ND_EEOF;
        return ND_EEOF;
    }
    if (rc != ND_OK)
        return rc;
    const struct layout *l = layout_of(s->format);
    ND_ASSERT(l != NULL);
    nd__field_t f[FIELDS_MAX];
    int count = nd__fields_split(line, len, f, FIELDS_MAX);
    if (count != l->columns)
        return row_fail(s, ND_EPARSE, "expected %d columns, found %d", l->columns, count);
    nd_tick_event_t ev;
    memset(&ev, 0, sizeof ev);
    if (s->format == ND_TICK_FORMAT_BOOK_TICKER_CSV || s->format == ND_TICK_FORMAT_BOOK_TICKER) {
        ev.kind = ND_TICK_QUOTE;
        rc = parse_quote(s, f, &ev.u.quote);
    } else {
        ev.kind = ND_TICK_TRADE;
        rc = parse_trade(s, f, &ev.u.trade);
    }
    if (rc != ND_OK)
        return rc;
    s->rows++;
    *out = ev;
    return ND_OK;
}

const char *nd_ticks_error(const nd_tick_source_t *s)
{
    ND_ASSERT(s != NULL);
    return s->err;
}

nd_tick_format_t nd_ticks_format(const nd_tick_source_t *s)
{
    ND_ASSERT(s != NULL);
    return s->format;
}

void nd_ticks_close(nd_tick_source_t *s)
{
    if (s == NULL)
        return;
    nd__lines_deinit(&s->lines);
    nd_free(s->path);
    nd_free(s);
}

static bool starts_with(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* The layout a first line announces: a header, or a data row recognised by its column count
 * (8: aggTrades) and, for 7 columns, by the sixth column (a boolean in trades, a time in
 * bookTicker). *is_header tells whether to skip the line. */
static nd_err_t detect(nd_tick_source_t *s, const char *line, size_t len, nd_tick_format_t asked,
                       bool *is_header)
{
    nd_tick_format_t header_format = ND_TICK_FORMAT_AUTO;
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        const struct layout *l = &layouts[i];
        bool match = l->header_prefix ? starts_with(line, len, l->header)
                                      : len == strlen(l->header) &&
                                            memcmp(line, l->header, len) == 0;
        if (match)
            header_format = l->format;
    }
    nd__field_t f[FIELDS_MAX];
    int count = nd__fields_split(line, len, f, FIELDS_MAX);
    nd_tick_format_t data_format = ND_TICK_FORMAT_AUTO;
    int64_t ignored;
    if (header_format == ND_TICK_FORMAT_AUTO && count > 0 && parse_uint(&f[0], &ignored) == 0) {
        if (count == 8)
            data_format = ND_TICK_FORMAT_AGG_TRADES;
        else if (count == 7)
            data_format = parse_bool(&f[5]) >= 0 ? ND_TICK_FORMAT_TRADES
                                                 : ND_TICK_FORMAT_BOOK_TICKER;
    }
    nd_tick_format_t found = header_format != ND_TICK_FORMAT_AUTO ? header_format : data_format;
    if (asked == ND_TICK_FORMAT_AUTO) {
        if (found == ND_TICK_FORMAT_AUTO)
            return row_fail(s, ND_EPARSE,
                            "unknown tick format: expected a trades, aggTrades or bookTicker "
                            "header or archive row");
        asked = found;
    }
    const struct layout *l = layout_of(asked);
    ND_ASSERT(l != NULL);
    if (header_format != ND_TICK_FORMAT_AUTO && header_format != asked)
        return row_fail(s, ND_EPARSE, "header of %s, but %s was asked for",
                        nd_tick_format_name(header_format), l->name);
    if (!l->header_prefix && header_format != asked)
        return row_fail(s, ND_EPARSE, "expected header '%s'", l->header);
    if (header_format == asked && count != l->columns)
        return row_fail(s, ND_EPARSE, "header: expected %d columns, found %d", l->columns, count);
    s->format = asked;
    *is_header = header_format == asked;
    return ND_OK;
}

static nd_err_t start(nd_tick_source_t *s, nd_tick_format_t asked)
{
    const char *line;
    size_t len;
    nd_err_t rc = checked(s, nd__lines_first(&s->lines, &line, &len));
    if (rc == ND_EEOF) {
        /* An empty archive is a valid day without trades; the format must then be known. */
        if (asked == ND_TICK_FORMAT_AUTO) {
            snprintf(s->err, sizeof s->err, "%s: empty file, format unknown", s->path);
            return ND_EPARSE;
        }
        s->format = asked;
        s->status = ND_EEOF;
        return ND_OK;
    }
    if (rc != ND_OK)
        return rc;
    bool is_header = false;
    rc = detect(s, line, len, asked, &is_header);
    if (rc != ND_OK)
        return rc;
    if (!is_header) /* the first line is data: next() parses it as line 1 */
        nd__lines_unread_first(&s->lines, line);
    return ND_OK;
}

nd_err_t nd_ticks_open(const char *path, nd_tick_format_t format, const nd_instrument_t *inst,
                       nd_tick_source_t **out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL);
    ND_ASSERT(inst != NULL);
    ND_ASSERT(out != NULL);
    ND_ASSERT(inst->px_decimals >= 0 && inst->px_decimals <= ND_DECIMALS_MAX);
    ND_ASSERT(inst->qty_decimals >= 0 && inst->qty_decimals <= ND_DECIMALS_MAX);
    if (format != ND_TICK_FORMAT_AUTO && layout_of(format) == NULL) {
        nd_err_put(err, err_len, "%s: unknown tick format %d", path, (int)format);
        return ND_EINVAL;
    }
    nd_tick_source_t *s = nd_calloc(1, sizeof *s);
    if (s == NULL || nd__lines_init(&s->lines, READ_BUF_SIZE, ND_LINE_MAX) != ND_OK ||
        (s->path = nd_strdup(path)) == NULL) {
        nd_ticks_close(s);
        nd_err_put(err, err_len, "%s: out of memory", path);
        return ND_ENOMEM;
    }
    s->px_decimals = inst->px_decimals;
    s->qty_decimals = inst->qty_decimals;
    s->instrument_id = inst->id;
    s->status = ND_OK;
    /* nd_file_open refuses a FIFO, a device or a directory before opening: never blocks. */
    if (nd_file_open(path, &s->lines.file, err, err_len) != ND_OK) {
        nd_ticks_close(s);
        return ND_EIO; /* the contract: the file could not be read, err says why */
    }
    nd_err_t rc = start(s, format);
    if (rc != ND_OK) {
        nd_err_put(err, err_len, "%s", s->err);
        nd_ticks_close(s);
        return rc;
    }
    *out = s;
    return ND_OK;
}
