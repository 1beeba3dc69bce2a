/* cmd_data.c: `noderr data fetch`, the historical-data downloader's command line.
 *
 * Parses and checks the options (every bad one exits 2 saying why), reads today's date from the
 * OS clock (the library takes it as an argument), runs nd_data_fetch, draws a progress bar on
 * stderr only when stderr is a terminal, and prints a summary line or, with --json, one JSON
 * document (also on failure, showing the periods done and the failed one). Exit 0 on success,
 * 2 on a usage, input or network error. */
#include "cli/cli.h"

#include "noderr/assert.h"
#include "noderr/clock.h"
#include "noderr/data.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nd_cmd_data(int argc, char **argv);

#define BAR_WIDTH 30

static const char usage_text[] =
    "usage: noderr data fetch --symbol SYMBOL [--kind KIND] [--interval INTERVAL]\n"
    "                         --from YYYY-MM-DD --to YYYY-MM-DD [--dir DIR] [--base-url URL]\n"
    "                         [--timeout SEC] [--json]\n"
    "\n"
    "Downloads Binance's public kline archives (monthly files, daily files for a partial\n"
    "month), verifies each SHA-256 .CHECKSUM, and stores every period normalised under\n"
    "DIR/SYMBOL-INTERVAL/ (default DIR: data). Then rebuilds DIR/SYMBOL-INTERVAL.csv\n"
    "(ts,open,high,low,close,volume), the union of all stored periods, for\n"
    "`noderr backtest --data` and `noderr validate --data-dir DIR`. Periods already stored\n"
    "and verified are skipped without network, so an interrupted run resumes.\n"
    "\n"
    "  --symbol S       Binance spot symbol, A-Z 0-9 (BTCUSDT)\n"
    "  --kind K         klines (default), trades, aggTrades, or bookTicker (USD-M futures:\n"
    "                   Binance publishes no spot bookTicker archive). Tick kinds are checked\n"
    "                   with the tick loaders and stored per period under DIR/SYMBOL-KIND/,\n"
    "                   without a merged file\n"
    "  --interval I     klines only: 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1mo\n"
    "  --from, --to     first and last UTC day, inclusive\n"
    "  --dir DIR        where to store (default data)\n"
    "  --base-url URL   archive site (default $NODERR_DATA_BASE_URL, else\n"
    "                   " ND_DATA_BASE_URL_DEFAULT ")\n"
    "  --timeout SEC    connect timeout and longest stall of a transfer (default 60)\n"
    "  --json           print the result as JSON\n"
    "\n"
    "Exit codes: 0 done, 2 bad option, network, HTTP, checksum, archive or CSV error.\n";

typedef struct options {
    nd_data_fetch_config_t cfg;
    const char *from_text;
    const char *to_text;
    bool json;
} options_t;

enum { OPT_KIND = 1, OPT_TIMEOUT };

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("symbol", options_t, cfg.symbol),
    ND_CLI_ARG("kind", OPT_KIND),
    ND_CLI_TEXT("interval", options_t, cfg.interval),
    ND_CLI_TEXT("from", options_t, from_text),
    ND_CLI_TEXT("to", options_t, to_text),
    ND_CLI_TEXT("dir", options_t, cfg.dir),
    ND_CLI_TEXT("base-url", options_t, cfg.base_url),
    ND_CLI_ARG("timeout", OPT_TIMEOUT),
    ND_CLI_SET("json", options_t, json),
    ND_CLI_OPTS_END,
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("noderr data fetch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return ND_EXIT_USAGE;
}

/* Parses a YYYY-MM-DD date (exactly: a time of day would suggest more precision than a whole
 * day's archive has). */
static int parse_day(const char *option, const char *text, int64_t *out)
{
    if (text == NULL) {
        fprintf(stderr, "noderr data fetch: %s YYYY-MM-DD is required\n", option);
        return -1;
    }
    if (strlen(text) != 10 || nd_time_parse_iso(text, out) != ND_OK) {
        fprintf(stderr, "noderr data fetch: %s '%s': expected a date YYYY-MM-DD (UTC)\n",
                option, text);
        return -1;
    }
    return 0;
}

static int parse_one(void *ctx, int opt, const char *arg)
{
    options_t *o = ctx;
    int64_t n;
    switch (opt) {
    case OPT_KIND:
        if (nd_data_kind_parse(arg, &o->cfg.kind) == ND_OK)
            return 0;
        fprintf(stderr, "noderr data fetch: --kind '%s': expected klines, trades, aggTrades or "
                        "bookTicker\n", arg);
        return -1;
    case OPT_TIMEOUT:
        if (nd_cli_int("--timeout", arg, 1, 3600, &n) != 0)
            return -1;
        o->cfg.timeout_sec = (long)n;
        return 0;
    default: ND_ASSERT(0 && "unhandled option"); return -1;
    }
}

/* Checks the values that the library would also refuse, with the option's name. */
static int check_options(options_t *o)
{
    if (o->cfg.symbol == NULL)
        return usage_error("--symbol SYMBOL is required");
    if (!nd_data_symbol_valid(o->cfg.symbol))
        return usage_error("--symbol '%s': expected 1 to 23 characters A-Z 0-9 (BTCUSDT)",
                           o->cfg.symbol);
    if (o->cfg.kind != ND_DATA_KIND_KLINES && o->cfg.interval != NULL)
        return usage_error("--interval applies to --kind klines only");
    if (o->cfg.kind == ND_DATA_KIND_KLINES && o->cfg.interval == NULL)
        return usage_error("--interval INTERVAL is required");
    if (o->cfg.kind == ND_DATA_KIND_KLINES && !nd_data_interval_valid(o->cfg.interval))
        return usage_error("--interval '%s': expected one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h "
                           "12h 1d 3d 1w 1mo", o->cfg.interval);
    if (parse_day("--from", o->from_text, &o->cfg.from_ns) != 0 ||
        parse_day("--to", o->to_text, &o->cfg.to_ns) != 0)
        return ND_EXIT_USAGE;
    if (o->cfg.from_ns > o->cfg.to_ns) {
        fprintf(stderr, "noderr data fetch: --from %s is after --to %s\n", o->from_text,
                o->to_text);
        return ND_EXIT_USAGE;
    }
    if (o->cfg.base_url == NULL)
        o->cfg.base_url = getenv("NODERR_DATA_BASE_URL");
    if (o->cfg.base_url != NULL && strncmp(o->cfg.base_url, "http://", 7) != 0 &&
        strncmp(o->cfg.base_url, "https://", 8) != 0)
        return usage_error("base URL '%s': expected http://... or https://...",
                           o->cfg.base_url);
    if (o->cfg.dir != NULL && o->cfg.dir[0] == '\0')
        return usage_error("--dir: empty path");
    return 0;
}

static int parse_args(options_t *o, int argc, char **argv)
{
    int rc = nd_cli_parse("data fetch", argc, argv, options, usage_text, parse_one, o);
    return rc != 0 ? rc : check_options(o);
}

/* The progress bar's state: redrawn only when what it shows changes. */
typedef struct bar_state {
    size_t index;
    int permille;
    int drawn;
} bar_state_t;

static void draw_progress(void *ctx, const nd_data_progress_t *p)
{
    bar_state_t *b = ctx;
    ND_ASSERT(p->period_count > 0);
    ND_ASSERT(p->period_index < p->period_count);
    int permille = p->bytes_total > 0 ? (int)(p->bytes_done * 1000 / p->bytes_total) : 0;
    if (b->drawn && b->index == p->period_index && b->permille / 10 == permille / 10 && !p->done)
        return;
    b->drawn = 1;
    b->index = p->period_index;
    b->permille = permille;
    size_t finished = p->period_index + (p->done ? 1 : 0);
    int fill = (int)(finished * BAR_WIDTH / p->period_count);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %s", bar, finished, p->period_count, p->period);
    if (!p->done && p->bytes_done >= 1000000)
        fprintf(stderr, " %.1f MB", (double)p->bytes_done / 1e6);
    else if (!p->done && p->bytes_done > 0)
        fprintf(stderr, " %lld kB", (long long)(p->bytes_done / 1000));
    fflush(stderr);
}

static const char *status_name(nd_data_status_t status)
{
    static const char *const names[] = {"downloaded", "cached", "failed"};
    ND_ASSERT(status >= ND_DATA_DOWNLOADED && status <= ND_DATA_FAILED);
    return names[status];
}

static int print_json(const options_t *o, const nd_data_fetch_result_t *r, nd_err_t rc,
                      const char *err)
{
    json_t *root = json_object(), *periods = json_array();
    json_object_set_new(root, "symbol", json_string(o->cfg.symbol));
    json_object_set_new(root, "kind", json_string(nd_data_kind_name(o->cfg.kind)));
    if (o->cfg.kind == ND_DATA_KIND_KLINES)
        json_object_set_new(root, "interval", json_string(o->cfg.interval));
    json_object_set_new(root, "from", json_string(o->from_text));
    json_object_set_new(root, "to", json_string(o->to_text));
    for (size_t i = 0; i < r->count; i++) {
        const nd_data_period_result_t *p = &r->periods[i];
        json_t *item = json_object();
        json_object_set_new(item, "period", json_string(p->name));
        json_object_set_new(item, "status", json_string(status_name(p->status)));
        json_object_set_new(item, "bars", json_integer(p->bars));
        json_object_set_new(item, "sha256", p->sha256[0] ? json_string(p->sha256) : json_null());
        json_array_append_new(periods, item);
    }
    json_object_set_new(root, "periods", periods);
    json_object_set_new(root, "downloaded", json_integer((json_int_t)r->downloaded));
    json_object_set_new(root, "cached", json_integer((json_int_t)r->cached));
    json_object_set_new(root, "bars", json_integer(r->bars));
    json_object_set_new(root, "file", rc == ND_OK ? json_string(r->file) : json_null());
    if (rc != ND_OK)
        json_object_set_new(root, "error", json_string(err));
    return nd_cli_print_json_take(root);
}

static int fetch(options_t *o)
{
    bar_state_t bar = {0};
    int tty = isatty(STDERR_FILENO);
    if (tty) {
        o->cfg.progress_cb = draw_progress;
        o->cfg.progress_ctx = &bar;
    }
    o->cfg.today_ns = nd_clock_now_ns(nd_clock_os());
    nd_data_fetch_result_t r;
    char err[1024] = "";
    nd_err_t rc = nd_data_fetch(&o->cfg, &r, err, sizeof err);
    if (tty && bar.drawn)
        fputs("\r\033[K", stderr);
    if (rc != ND_OK)
        fprintf(stderr, "noderr data fetch: %s\n", err);
    int bad_json = o->json ? print_json(o, &r, rc, err) : 0;
    if (!o->json && rc == ND_OK)
        printf("%s %s %s..%s: %zu periods, %zu downloaded, %zu cached; %lld %s in %s\n",
               o->cfg.symbol,
               o->cfg.kind == ND_DATA_KIND_KLINES ? o->cfg.interval
                                                  : nd_data_kind_name(o->cfg.kind),
               o->from_text, o->to_text, r.count, r.downloaded, r.cached, (long long)r.bars,
               o->cfg.kind == ND_DATA_KIND_KLINES ? "bars" : "rows", r.file);
    nd_data_fetch_result_deinit(&r);
    return rc != ND_OK || bad_json ? ND_EXIT_USAGE : ND_EXIT_OK;
}

int nd_cmd_data(int argc, char **argv)
{
    ND_ASSERT(argc >= 1);
    int rc = nd_cli_subcommand("data", argc, argv, "fetch", usage_text);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    options_t o = {0};
    rc = parse_args(&o, argc - 1, argv + 1);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    return fetch(&o);
}
