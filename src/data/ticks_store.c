/* ticks_store.c: validates an unpacked trades / aggTrades / bookTicker archive CSV with the tick
 * loaders (include/noderr/ticks.h) and stores it as published: one canonical header line, then
 * every data row byte for byte (CR stripped). Invariants: nothing is written unless every row
 * passed the loader's checks and lies inside the archive's period; the stored file therefore
 * loads with nd_ticks_open exactly as the archive did. */
#include "data/data_int.h"

#include "noderr/assert.h"
#include "noderr/file.h"
#include "noderr/clock.h"
#include "noderr/ticks.h"

#include <errno.h>
#include <string.h>

/* The stored header of each kind: the first column is what nd_ticks_open recognises. */
static const char *header_of(nd_data_kind_t kind)
{
    switch (kind) {
    case ND_DATA_KIND_TRADES: return "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n";
    case ND_DATA_KIND_AGG_TRADES:
        return "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
               "is_buyer_maker,is_best_match\n";
    case ND_DATA_KIND_BOOK_TICKER:
        return "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,"
               "transaction_time,event_time\n";
    case ND_DATA_KIND_KLINES: break;
    }
    ND_ASSERT(!"not a tick kind");
    return "";
}

static nd_tick_format_t format_of(nd_data_kind_t kind)
{
    return kind == ND_DATA_KIND_TRADES       ? ND_TICK_FORMAT_TRADES
           : kind == ND_DATA_KIND_AGG_TRADES ? ND_TICK_FORMAT_AGG_TRADES
                                             : ND_TICK_FORMAT_BOOK_TICKER;
}

/* Pass 1: every row through the loader, and inside the period. */
static nd_err_t validate(const char *path, const char *label, nd_data_kind_t kind,
                         const nd_data_period_t *p, int64_t *rows, char *err, size_t err_len)
{
    nd_instrument_t inst;
    nd__data_instrument(&inst);
    nd_tick_source_t *src;
    char msg[256];
    nd_err_t rc = nd_ticks_open(path, format_of(kind), &inst, &src, msg, sizeof msg);
    if (rc != ND_OK) {
        const char *rest = strncmp(msg, path, strlen(path)) == 0 ? msg + strlen(path) : msg;
        nd_err_put(err, err_len, "%s%s", label, rest);
        return rc == ND_EIO || rc == ND_ENOMEM ? rc : ND_EPARSE;
    }
    nd_tick_event_t ev;
    int64_t n = 0;
    while ((rc = nd_ticks_next(src, &ev)) == ND_OK) {
        int64_t ts = nd_tick_ts(&ev);
        if (ts < p->start_ns || ts >= p->end_ns) {
            char when[32];
            nd_time_format_iso(ts, when, sizeof when);
            nd_err_put(err, err_len, "%s: row %lld at %s, outside the archive's period",
                             label, (long long)n + 1, when);
            nd_ticks_close(src);
            return ND_EPARSE;
        }
        n++;
    }
    if (rc != ND_EEOF) {
        const char *e = nd_ticks_error(src);
        const char *rest = strncmp(e, path, strlen(path)) == 0 ? e + strlen(path) : e;
        nd_err_put(err, err_len, "%s%s", label, rest);
    }
    nd_ticks_close(src);
    if (rc != ND_EEOF)
        return rc == ND_EIO || rc == ND_ENOMEM ? rc : ND_EPARSE;
    *rows = n;
    return ND_OK;
}

/* Pass 2: the canonical header, then the data rows as they are. Lines are at most ND_LINE_MAX
 * bytes (pass 1 checked it), so one fixed buffer suffices. */
static nd_err_t copy_rows(const char *path, nd_data_kind_t kind, nd__data_writer_t *w, char *err,
                          size_t err_len)
{
    FILE *in = NULL; /* nd_file_open: a FIFO or a directory is refused, never blocks */
    if (nd_file_open(path, &in, err, err_len) != ND_OK)
        return ND_EIO;
    const char *header = header_of(kind);
    nd__data_writer_put(w, header, strlen(header));
    char line[ND_LINE_MAX + 4];
    bool first = true;
    while (fgets(line, sizeof line, in) != NULL) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        size_t skip = first && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
        /* The archive's own header (first line, not starting with a digit) is replaced. */
        bool is_header = first && n > skip && (line[skip] < '0' || line[skip] > '9');
        first = false;
        if (n == 0 || is_header)
            continue;
        nd__data_writer_put(w, line + skip, n - skip);
        nd__data_writer_put(w, "\n", 1);
    }
    bool bad = ferror(in) != 0;
    fclose(in);
    if (bad) {
        nd_err_put(err, err_len, "%s: read error", path);
        return ND_EIO;
    }
    return ND_OK;
}

nd_err_t nd__data_store_ticks(const char *csv_path, const char *label, nd_data_kind_t kind,
                              const nd_data_period_t *period, nd__data_writer_t *w,
                              int64_t *rows, char *err, size_t err_len)
{
    ND_ASSERT(csv_path != NULL && label != NULL && period != NULL && w != NULL);
    ND_ASSERT(kind != ND_DATA_KIND_KLINES);
    int64_t n = 0;
    nd_err_t rc = validate(csv_path, label, kind, period, &n, err, err_len);
    if (rc == ND_OK)
        rc = copy_rows(csv_path, kind, w, err, err_len);
    if (rc == ND_OK)
        *rows = n;
    return rc;
}
