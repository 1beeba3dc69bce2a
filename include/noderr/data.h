/* data.h: the historical-data downloader (`noderr data fetch`).
 *
 * Downloads Binance's public kline archives (data.binance.vision layout: monthly zips, daily zips
 * for a partial month, each with a .CHECKSUM file holding its SHA-256), verifies every checksum,
 * unpacks the one CSV inside, validates it with the project's kline loader and stores each
 * period normalised as `DIR/SYMBOL-INTERVAL/SYMBOL-INTERVAL-PERIOD.csv` (header
 * ts,open,high,low,close,volume, ts in ms) with a `.sha256` sidecar. After all periods it
 * rebuilds `DIR/SYMBOL-INTERVAL.csv`, the union of every stored period in time order.
 * Invariants: a file appears under its final name only complete (temp file + rename); a period
 * with a stored file and a matching sidecar is never downloaded again. docs/data-fetch.md is the
 * spec. The library never prints: progress goes to a callback, errors into err. */
#ifndef NODERR_DATA_H
#define NODERR_DATA_H

#include "noderr/err.h"

#include <stddef.h>
#include <stdint.h>

/* Binance's public data site, the default base URL. */
#define ND_DATA_BASE_URL_DEFAULT "https://data.binance.vision"

/* Limits of the downloader. A monthly 1s archive of BTCUSDT is about 100 MB and its CSV about
 * 400 MB, so 2 GiB compressed and 8 GiB unpacked leave room for any real file while a hostile
 * server or archive cannot fill the disk. A kline CSV compresses about 5-10 times; an entry that
 * expands more than ND_DATA_EXPANSION_MAX times (plus 1 MiB of slack) is a zip bomb, not data. */
#define ND_DATA_ARCHIVE_BYTES_MAX ((int64_t)2 << 30)
#define ND_DATA_ENTRY_BYTES_MAX ((int64_t)8 << 30)
#define ND_DATA_EXPANSION_MAX 100
/* A .CHECKSUM file is one line of about 100 bytes. */
#define ND_DATA_CHECKSUM_BYTES_MAX 4096
/* Periods one fetch covers: 100 years of months plus a partial month of days. */
#define ND_DATA_PERIODS_MAX (100 * 12 + 31)
/* Longest base URL, symbol and interval accepted. */
#define ND_DATA_URL_MAX 1024
#define ND_DATA_SYMBOL_MAX 24
#define ND_DATA_INTERVAL_MAX 8
/* Default network timeout (seconds): connecting, and a transfer that stalls (under 1 byte/s). */
#define ND_DATA_TIMEOUT_SEC_DEFAULT 60

/* What a fetch downloads. Binance's archive paths (verified against binance/binance-public-data's
 * README and download scripts; docs/data-fetch.md has the details):
 *  KLINES:      data/spot/{monthly|daily}/klines/SYMBOL/INTERVAL/SYMBOL-INTERVAL-NAME.zip
 *  TRADES:      data/spot/{monthly|daily}/trades/SYMBOL/SYMBOL-trades-NAME.zip
 *  AGG_TRADES:  data/spot/{monthly|daily}/aggTrades/SYMBOL/SYMBOL-aggTrades-NAME.zip
 *  BOOK_TICKER: data/futures/um/{monthly|daily}/bookTicker/SYMBOL/SYMBOL-bookTicker-NAME.zip
 *               (Binance publishes no spot bookTicker archive: this is the USD-M futures book) */
typedef enum nd_data_kind {
    ND_DATA_KIND_KLINES = 0,
    ND_DATA_KIND_TRADES = 1,
    ND_DATA_KIND_AGG_TRADES = 2,
    ND_DATA_KIND_BOOK_TICKER = 3
} nd_data_kind_t;

/* "klines", "trades", "aggTrades", "bookTicker". */
const char *nd_data_kind_name(nd_data_kind_t kind);
/* Parses a name as above (exact spelling); ND_EINVAL otherwise. */
nd_err_t nd_data_kind_parse(const char *name, nd_data_kind_t *out /* OUT */);

typedef enum nd_data_period_kind {
    ND_DATA_MONTHLY = 0, /* SYMBOL-INTERVAL-YYYY-MM.zip under data/spot/monthly/klines/ */
    ND_DATA_DAILY = 1    /* SYMBOL-INTERVAL-YYYY-MM-DD.zip under data/spot/daily/klines/ */
} nd_data_period_kind_t;

typedef struct nd_data_period {
    nd_data_period_kind_t kind;
    int year, month, day; /* day is 0 for a monthly period */
    int64_t start_ns;     /* first instant of the period, UTC */
    int64_t end_ns;       /* first instant after it */
} nd_data_period_t;

/* Says whether symbol is 1 to ND_DATA_SYMBOL_MAX - 1 characters of A-Z and 0-9. */
int nd_data_symbol_valid(const char *symbol);
/* Says whether interval is one of Binance's kline intervals: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h
 * 12h 1d 3d 1w 1mo. */
int nd_data_interval_valid(const char *interval);

/* Enumerates the archives that cover the UTC days from_ns .. to_ns (both inclusive; only their
 * dates count). Every month gets its monthly archive, except a partial month, which gets one
 * daily archive a day: the month holding to_ns when to_ns is not its last day, and the month
 * holding today_ns (not complete yet, so not published). Days on or after today_ns are not
 * published yet and are left out (so is a month that starts after today). A daily run of the
 * first month starts at from_ns's day. Writes at most cap periods in time order into out and
 * their number into *count. ND_EINVAL with the reason in err when from > to or nothing is
 * published yet in the range; ND_EFULL past cap. O(periods). */
nd_err_t nd_data_periods(int64_t from_ns, int64_t to_ns, int64_t today_ns,
                         nd_data_period_t *out /* OUT */, size_t cap, size_t *count /* OUT */,
                         char *err, size_t err_len);

/* Writes the period's name, "2020-01" or "2020-01-05", into buf (16 bytes are enough); returns
 * its length. */
size_t nd_data_period_name(const nd_data_period_t *period, char *buf, size_t cap);

/* Writes the archive URL of a period:
 * BASE/data/spot/{monthly|daily}/klines/SYMBOL/INTERVAL/SYMBOL-INTERVAL-NAME.zip; one trailing
 * slash on base is ignored. The checksum's URL is this plus ".CHECKSUM". ND_ERANGE when it does
 * not fit cap. */
nd_err_t nd_data_archive_url(const char *base_url, const char *symbol, const char *interval,
                             const nd_data_period_t *period, char *buf, size_t cap);
/* The archive URL of a period for any kind (the layouts above); interval is used by KLINES
 * only and may be NULL otherwise. */
nd_err_t nd_data_archive_url_kind(const char *base_url, nd_data_kind_t kind, const char *symbol,
                                  const char *interval, const nd_data_period_t *period, char *buf,
                                  size_t cap);

/* Parses a .CHECKSUM file as Binance publishes it, "<64 hex digits>  <file name>\n" (sha256sum
 * output; one or two spaces, an optional '*' binary marker, optional CR and final newline). The
 * name must equal expected_name. Writes the digest in lower case into hex (65 bytes). ND_EPARSE
 * with the reason in err otherwise. */
nd_err_t nd_data_checksum_parse(const char *text, size_t len, const char *expected_name,
                                char hex[65] /* OUT */, char *err, size_t err_len);

/* Progress reports while fetching (for a progress bar). */
typedef struct nd_data_progress {
    size_t period_index;  /* 0-based index of the current period */
    size_t period_count;
    const char *period;   /* its name */
    int64_t bytes_done;   /* archive bytes received so far (0 for a cached period) */
    int64_t bytes_total;  /* announced size, 0 when unknown */
    int done;             /* 1 when the period is finished (downloaded or cached) */
} nd_data_progress_t;

typedef void (*nd_data_progress_cb)(void *ctx, const nd_data_progress_t *progress);

typedef struct nd_data_fetch_config {
    const char *symbol;   /* "BTCUSDT" */
    const char *interval; /* "1h"; klines only (NULL otherwise) */
    nd_data_kind_t kind;  /* 0: klines. Tick kinds are validated with the tick loaders and
                             stored as published, one file a period, without a merged file */
    const char *base_url; /* NULL: ND_DATA_BASE_URL_DEFAULT */
    const char *dir;      /* NULL: "data" */
    int64_t from_ns;      /* first day (only the date counts) */
    int64_t to_ns;        /* last day, inclusive */
    int64_t today_ns;     /* the current time, from the caller's clock */
    long timeout_sec;     /* 0: ND_DATA_TIMEOUT_SEC_DEFAULT */
    nd_data_progress_cb progress_cb; /* may be NULL */
    void *progress_ctx;
} nd_data_fetch_config_t;

typedef enum nd_data_status {
    ND_DATA_DOWNLOADED = 0,
    ND_DATA_CACHED = 1,
    ND_DATA_FAILED = 2
} nd_data_status_t;

typedef struct nd_data_period_result {
    nd_data_period_t period;
    char name[16];
    nd_data_status_t status;
    int64_t bars;      /* bars stored for the period (0 when failed) */
    char sha256[65];   /* the archive's SHA-256 as published ("" when failed before it) */
} nd_data_period_result_t;

typedef struct nd_data_fetch_result {
    nd_data_period_result_t *periods; /* the periods attempted, in order; the last may be failed */
    size_t count;
    size_t downloaded;
    size_t cached;
    int64_t bars;      /* bars in the merged file (0 when the fetch failed) */
    char file[ND_DATA_URL_MAX]; /* path of the merged file ("" when the fetch failed) */
} nd_data_fetch_result_t;

/* Runs a fetch. result is always filled (also on failure, to show what was done: the periods
 * completed and the failed one) and is released with nd_data_fetch_result_deinit. Returns ND_OK;
 * ND_EINVAL for a bad config; ND_ENOTFOUND for an archive the server does not have (HTTP 404);
 * ND_EIO for a network, HTTP or file-system error; ND_EPARSE for a checksum mismatch, a bad
 * checksum file, a bad archive or a bad CSV. err names the URL or file and why. Periods finished
 * before a failure stay stored (a later run resumes from them); the failed one leaves no file. */
nd_err_t nd_data_fetch(const nd_data_fetch_config_t *cfg, nd_data_fetch_result_t *result,
                       char *err, size_t err_len);

/* Frees what nd_data_fetch allocated in result; safe on a zeroed result. */
void nd_data_fetch_result_deinit(nd_data_fetch_result_t *result);

#endif
