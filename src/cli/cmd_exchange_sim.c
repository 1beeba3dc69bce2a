/* cmd_exchange_sim.c: `noderr exchange-sim`, the local exchange (docs/exchange-sim.md).
 *
 * Binance Spot REST, market streams and the user data stream (or, with --venue coinbase,
 * Coinbase Advanced Trade REST and WebSocket) on 127.0.0.1 with a matching
 * engine over the synthetic market or a replayed recording; an admin API for faults when
 * --admin-token-file names a 0600 token file; Prometheus metrics on GET /metrics with --metrics.
 * Prints
 * "listening on ADDR:PORT" first, then serves until SIGINT or SIGTERM. The API key and secret
 * come from NODERR_XSIM_API_KEY / NODERR_XSIM_API_SECRET or a 0600 --secrets-file; they are
 * never printed. With --api-key-type ed25519|rsa the key is registered with the public key of
 * --public-key FILE instead of a secret (only NODERR_XSIM_API_KEY is needed). */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/file.h"
#include "noderr/venue.h"
#include "noderr/xsim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct xsim_opts {
    nd_xsim_config_t cfg;
    nd_xsim_api_config_t api;
    nd_xsim_server_config_t server;
    const char *secrets_file, *symbol, *balance, *key_type, *public_key, *admin_token_file;
    const char *venue;
    char *cb_pem;  /* --venue coinbase: the key's public PEM (nd_alloc'd) */
    int64_t port, tick_ms;
    char admin_token[128];
} xsim_opts_t;

static const char usage_text[] =
    "usage: noderr exchange-sim [options]\n"
    "\n"
    "A local Binance Spot exchange (REST, market streams, user data stream), or with\n"
    "--venue coinbase a Coinbase Advanced Trade one (REST with ES256 JWTs, WebSocket\n"
    "channels), with a price-time-priority matching engine over the synthetic market or a\n"
    "replayed recording. Prints \"listening on 127.0.0.1:PORT\" first; stops on SIGINT/SIGTERM.\n"
    "\n"
    "  --venue V            binance (default) or coinbase: the protocol served\n"
    "  --port N             TCP port (default 0: the system picks one)\n"
    "  --bind ADDR          listen on ADDR instead of 127.0.0.1 (warns: anyone there can trade)\n"
    "  --symbol S           the symbol, BASEQUOTE (default BTCUSDT; coinbase: BASE-QUOTE,\n"
    "                       default BTC-USD)\n"
    "  --balance A=X,B=Y    starting balances of the account (default USDT=10000,BTC=0;\n"
    "                       coinbase: USD=10000,BTC=0)\n"
    "  --fee-bps N          commission per fill in basis points of what is received (default 10)\n"
    "  --seed N             the synthetic market's seed (default 42)\n"
    "  --start-price P      the synthetic market's first mid price (default 40000)\n"
    "  --tick-ms N          time between synthetic market events (default 100)\n"
    "  --market-step-ms N   how often the market is advanced to the clock (default 100)\n"
    "  --weight-limit N     request weight per minute before 429 (default 6000)\n"
    "  --bans-after N       429s in a minute before a 418 ban (default 3)\n"
    "  --secrets-file FILE  api_key=/api_secret= lines, mode 0600 (else NODERR_XSIM_API_KEY\n"
    "                       and NODERR_XSIM_API_SECRET)\n"
    "  --api-key-type T     how the API key signs: hmac (default, the secret), ed25519 or rsa\n"
    "  --public-key FILE    ed25519/rsa: the key's PEM public key; the API key itself comes\n"
    "                       from NODERR_XSIM_API_KEY. coinbase: the P-256 public key that\n"
    "                       verifies the JWTs of the key name NODERR_XSIM_API_KEY\n"

    "  --replay-trades FILE replay a Binance trades CSV (as ../shared/data/*-trades-*.csv)\n"
    "  --replay-quotes FILE replay a bookTicker CSV (the market's best bid and ask)\n"
    "  --replay-depth DIR   replay a recorded depth session (snapshot.json + diffs.jsonl)\n"
    "  --speed X            replay speed: 1 real time (default), 10 ten times faster, max\n"
    "  --loop               start the replay again at its end (else the market stops)\n"
    "  --start-now          start the replay at once (default: at the first stream client)\n"
    "  --listen-key-ttl-s N a listenKey lapses N s after its last keep-alive (default 3600)\n"
    "  --ping-s N           WebSocket ping interval (default 20)\n"
    "  --pong-timeout-s N   drop a stream client that has not ponged for N s (default 60)\n"
    "  --admin-token-file F enable POST /admin/fault with this bearer token (file mode 0600)\n"
    "  --metrics            serve Prometheus metrics on GET /metrics (docs/monitoring.md)\n";


/* Seconds into nanoseconds. */
static int seconds(const char *option, const char *arg, int64_t max_s, int64_t *out_ns)
{
    int64_t v = 0;
    if (nd_cli_int(option, arg, 1, max_s, &v) != 0)
        return -1;
    *out_ns = v * ND_NS_PER_SEC;
    return 0;
}

enum { OPT_SEED = 1, OPT_STEP_MS, OPT_SPEED, OPT_KEY_TTL, OPT_PING, OPT_PONG };

static const nd_cli_opt_t options[] = {
    ND_CLI_INT("port", xsim_opts_t, port, 0, 65535),
    ND_CLI_TEXT("bind", xsim_opts_t, server.bind),
    ND_CLI_TEXT("symbol", xsim_opts_t, symbol),
    ND_CLI_TEXT("balance", xsim_opts_t, balance),
    ND_CLI_INT("fee-bps", xsim_opts_t, cfg.fee_bps, 0, 1000),
    ND_CLI_ARG("seed", OPT_SEED),
    ND_CLI_FIXED("start-price", xsim_opts_t, cfg.synth.start_px, 8, 1, INT64_MAX / 4),
    ND_CLI_INT("tick-ms", xsim_opts_t, tick_ms, 1, 3600000),
    ND_CLI_ARG("market-step-ms", OPT_STEP_MS),
    ND_CLI_INT("weight-limit", xsim_opts_t, api.weight_limit, 1, 1000000),
    ND_CLI_INT("bans-after", xsim_opts_t, api.bans_after, 1, 1000),
    ND_CLI_TEXT("secrets-file", xsim_opts_t, secrets_file),
    ND_CLI_TEXT("api-key-type", xsim_opts_t, key_type),
    ND_CLI_TEXT("public-key", xsim_opts_t, public_key),
    ND_CLI_TEXT("replay-trades", xsim_opts_t, cfg.replay.trades_path),
    ND_CLI_TEXT("replay-quotes", xsim_opts_t, cfg.replay.quotes_path),
    ND_CLI_TEXT("replay-depth", xsim_opts_t, cfg.replay.depth_dir),
    ND_CLI_ARG("speed", OPT_SPEED),
    ND_CLI_SET("loop", xsim_opts_t, cfg.replay.loop),
    ND_CLI_SET("start-now", xsim_opts_t, cfg.replay.start_now),
    ND_CLI_ARG("listen-key-ttl-s", OPT_KEY_TTL),
    ND_CLI_ARG("ping-s", OPT_PING),
    ND_CLI_ARG("pong-timeout-s", OPT_PONG),
    ND_CLI_TEXT("admin-token-file", xsim_opts_t, admin_token_file),
    ND_CLI_SET("metrics", xsim_opts_t, server.metrics),
    ND_CLI_TEXT("venue", xsim_opts_t, venue),
    ND_CLI_OPTS_END,
};

/* The options whose value is converted (seconds into nanoseconds, "max") or widened. */
static int xsim_option(void *ctx, int opt, const char *arg)
{
    xsim_opts_t *o = ctx;
    int64_t v = 0;
    switch (opt) {
    case OPT_SEED:
        if (nd_cli_int("--seed", arg, 0, INT64_MAX, &v) != 0)
            return -1;
        o->cfg.synth.seed = (uint64_t)v;
        return 0;
    case OPT_STEP_MS:
        if (nd_cli_int("--market-step-ms", arg, 1, 60000, &v) != 0)
            return -1;
        o->server.market_step_ns = v * ND_NS_PER_MS;
        return 0;
    case OPT_SPEED:
        if (strcmp(arg, "max") == 0) {
            o->cfg.replay.speed_max = true;
            return 0;
        }
        return nd_cli_fixed("--speed", arg, 3, 1, 1000000000, &o->cfg.replay.speed_e3);
    case OPT_KEY_TTL: return seconds("--listen-key-ttl-s", arg, 86400, &o->api.listen_key_ttl_ns);
    case OPT_PING: return seconds("--ping-s", arg, 3600, &o->server.ping_interval_ns);
    case OPT_PONG: return seconds("--pong-timeout-s", arg, 3600, &o->server.pong_timeout_ns);
    default: return -1;
    }
}

/* Parses --balance ASSET=AMOUNT,... for the instrument's two assets. */
static int parse_balances(xsim_opts_t *o)
{
    char list[256];
    if (strlen(o->balance) >= sizeof list) {
        fprintf(stderr, "noderr exchange-sim: --balance is too long\n");
        return -1;
    }
    strcpy(list, o->balance);
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            fprintf(stderr, "noderr exchange-sim: --balance: '%s' is not ASSET=AMOUNT\n", item);
            return -1;
        }
        *eq = '\0';
        int64_t *slot = strcmp(item, o->cfg.inst.base) == 0    ? &o->cfg.base_balance
                        : strcmp(item, o->cfg.inst.quote) == 0 ? &o->cfg.quote_balance
                                                               : NULL;
        if (!slot) {
            fprintf(stderr, "noderr exchange-sim: --balance: asset '%s' is neither %s nor %s\n",
                    item, o->cfg.inst.base, o->cfg.inst.quote);
            return -1;
        }
        if (nd_cli_fixed("--balance", eq + 1, 8, 0, INT64_MAX / 4, slot) != 0)
            return -1;
    }
    return 0;
}

/* Reads the admin bearer token: one line of 16 to 127 printable characters in a 0600 file. */
static int load_admin_token(xsim_opts_t *o)
{
    char *text = NULL, err[256] = "";
    size_t len = 0;
    if (nd_file_read(o->admin_token_file, 4096, ND_FILE_PRIVATE, &text, &len, err, sizeof err) !=
        ND_OK) {
        fprintf(stderr, "noderr exchange-sim: --admin-token-file: %s\n", err);
        return -1;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    bool ok = len >= 16 && len < sizeof o->admin_token;
    for (size_t i = 0; ok && i < len; i++)
        ok = text[i] > ' ' && text[i] < 127;
    if (ok) {
        memcpy(o->admin_token, text, len);
        o->admin_token[len] = '\0';
        o->api.admin_token = o->admin_token;
    }
    explicit_bzero(text, len);
    nd_free(text);
    if (!ok)
        fprintf(stderr, "noderr exchange-sim: --admin-token-file %s: the token must be one line "
                        "of 16 to 127 printable characters without spaces\n", o->admin_token_file);
    return ok ? 0 : -1;
}

/* The instrument of --symbol: BASEQUOTE for Binance, a product id BASE-QUOTE for Coinbase. */
static int parse_symbol(xsim_opts_t *o, bool coinbase)
{
    char sym[ND_NAME_MAX];
    const char *dash = strchr(o->symbol, '-');
    bool ok = strlen(o->symbol) < sizeof sym && (coinbase ? dash && !strchr(dash + 1, '-')
                                                          : !dash && !strchr(o->symbol, '/'));
    if (ok) {
        snprintf(sym, sizeof sym, "%s", o->symbol);
        if (dash)
            sym[dash - o->symbol] = '/';
    }
    if (!ok || nd_instrument_init(&o->cfg.inst, sym, "xsim") != ND_OK) {
        fprintf(stderr, coinbase ? "noderr exchange-sim: --symbol '%s' is not a product id "
                                   "BASE-QUOTE\n"
                                 : "noderr exchange-sim: --symbol '%s' is not BASEQUOTE with a "
                                   "known quote asset\n", o->symbol);
        return -1;
    }
    return 0;
}

static int setup(xsim_opts_t *o)
{
    bool coinbase = o->api.venue == ND_XSIM_VENUE_COINBASE;
    if (!o->symbol)
        o->symbol = coinbase ? "BTC-USD" : "BTCUSDT";
    if (!o->balance)
        o->balance = coinbase ? "USD=10000,BTC=0" : "USDT=10000,BTC=0";
    o->cfg.fee_in_quote = coinbase;
    if (parse_symbol(o, coinbase) != 0)
        return -1;
    if (parse_balances(o) != 0)
        return -1;
    o->cfg.synth.step_ns = o->tick_ms * ND_NS_PER_MS;
    o->cfg.synth.events = INT64_MAX / 2;
    o->cfg.synth.level_qty_max = 20000; /* lots: up to 0.2 BTC a level, room to trade */
    o->cfg.synth.start_px = nd_fixed_floor_to(o->cfg.synth.start_px, o->cfg.inst.tick_size);
    o->server.port = (int)o->port;
    if (o->admin_token_file && load_admin_token(o) != 0)
        return -1;
    if (o->server.bind && strcmp(o->server.bind, "127.0.0.1") != 0)
        fprintf(stderr, "noderr exchange-sim: warning: listening on %s, not 127.0.0.1: anyone who "
                        "can reach it can trade on this simulator\n", o->server.bind);
    return 0;
}

static int serve(xsim_opts_t *o, const nd_secret_t *sec)
{
    char err[256] = "";
    nd_clock_t *clock = nd_clock_os();
    nd_xsim_t *x = NULL;
    nd_xsim_api_t *api = NULL;
    nd_xsim_server_t *server = NULL;
    int port = 0;
    o->api.api_key = sec->api_key;
    o->api.api_secret = sec->api_secret;
    o->api.seed = o->cfg.synth.seed;
    o->server.clock = clock;
    nd_err_t rc = nd_xsim_create(&o->cfg, nd_clock_now_ns(clock), &x, err, sizeof err);
    if (rc == ND_OK && (rc = nd_xsim_api_create(x, &o->api, &api)) != ND_OK)
        snprintf(err, sizeof err, "out of memory");
    if (rc == ND_OK)
        rc = nd_xsim_server_open(api, x, &o->server, &server, &port, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr exchange-sim: %s\n", err[0] ? err : nd_strerror(rc));
        nd_xsim_api_destroy(api);
        nd_xsim_destroy(x);
        return ND_EXIT_USAGE;
    }
    printf("listening on %s:%d\n", o->server.bind ? o->server.bind : "127.0.0.1", port);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "noderr exchange-sim: cannot write to stdout\n");
        rc = ND_EIO;
    } else {
        rc = nd_xsim_server_run(server);
    }
    /* Stopping: a further SIGINT/SIGTERM (or one still pending while the signal watchers are
     * closed and the default action returns) must not kill the orderly shutdown. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    nd_xsim_server_close(server);
    nd_xsim_api_destroy(api);
    nd_xsim_destroy(x);
    return rc == ND_OK ? ND_EXIT_OK : ND_EXIT_USAGE;
}

/* --api-key-type ed25519|rsa: the API key from the environment, its public key from a file. */
static int load_public_key(const xsim_opts_t *o, nd_binance_key_type_t type, nd_secret_t *sec,
                           nd_xsim_auth_t **auth)
{
    char err[256] = "", *pem = NULL;
    size_t len = 0;
    const char *key = getenv("NODERR_XSIM_API_KEY");
    if (!o->public_key || o->secrets_file || !key || !key[0] ||
        strlen(key) >= sizeof sec->api_key) {
        fprintf(stderr, "noderr exchange-sim: --api-key-type %s needs --public-key FILE and "
                        "NODERR_XSIM_API_KEY (no --secrets-file: there is no secret)\n",
                nd_binance_key_type_name(type));
        return -1;
    }
    snprintf(sec->api_key, sizeof sec->api_key, "%s", key);
    nd_err_t rc = nd_file_read(o->public_key, 16384, 0, &pem, &len, err, sizeof err);
    if (rc == ND_OK)
        rc = nd_xsim_auth_create((int)type, pem, len, auth, err, sizeof err);
    nd_free(pem);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr exchange-sim: --public-key %s: %s\n", o->public_key,
                err[0] ? err : nd_strerror(rc));
        return -1;
    }
    return 0;
}

/* --venue coinbase: the key name from NODERR_XSIM_API_KEY, its P-256 public key from a file. */
static int load_coinbase_key(xsim_opts_t *o, nd_secret_t *sec)
{
    char err[256] = "";
    size_t len = 0;
    const char *key = getenv("NODERR_XSIM_API_KEY");
    if (!o->public_key || o->secrets_file || o->key_type || !key || !key[0] ||
        strlen(key) >= sizeof sec->api_key) {
        fprintf(stderr, "noderr exchange-sim: --venue coinbase needs --public-key FILE (the "
                        "P-256 public key) and NODERR_XSIM_API_KEY (the key name); no "
                        "--secrets-file or --api-key-type\n");
        return -1;
    }
    snprintf(sec->api_key, sizeof sec->api_key, "%s", key);
    nd_err_t rc = nd_file_read(o->public_key, 16384, 0, &o->cb_pem, &len, err, sizeof err);
    if (rc == ND_OK)
        rc = nd_xsim_cb_key_check(o->cb_pem, len, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr exchange-sim: --public-key %s: %s\n", o->public_key,
                err[0] ? err : nd_strerror(rc));
        return -1;
    }
    o->api.cb_public_key_pem = o->cb_pem;
    return 0;
}

/* The HMAC secret (NODERR_XSIM_API_KEY/_SECRET or --secrets-file). */
static int load_secret(const xsim_opts_t *o, nd_secret_t *sec)
{
    char err[256] = "";
    nd_err_t rc = nd_secret_load("XSIM", o->secrets_file, sec, err, sizeof err);
    if (rc != ND_OK || !sec->api_key[0] || !sec->api_secret[0]) {
        fprintf(stderr, "noderr exchange-sim: no API key: set NODERR_XSIM_API_KEY and "
                        "NODERR_XSIM_API_SECRET or give --secrets-file (%s)\n",
                err[0] ? err : rc != ND_OK ? nd_strerror(rc) : "api_key or api_secret missing");
        return -1;
    }
    if (o->public_key) {
        fprintf(stderr, "noderr exchange-sim: --public-key needs --api-key-type ed25519 or rsa\n");
        return -1;
    }
    return 0;
}

int nd_cmd_exchange_sim(int argc, char **argv)
{
    xsim_opts_t o;
    memset(&o, 0, sizeof o);
    o.tick_ms = 100;
    o.cfg.fee_bps = 10;
    nd_synth_ticks_config_default(&o.cfg.synth);
    o.server.market_step_ns = 100 * ND_NS_PER_MS;
    int prc = nd_cli_parse("exchange-sim", argc, argv, options, usage_text, xsim_option, &o);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    nd_binance_key_type_t type = ND_BINANCE_KEY_HMAC;
    bool coinbase = o.venue && strcmp(o.venue, "coinbase") == 0;
    if (o.venue && !coinbase && strcmp(o.venue, "binance") != 0) {
        fprintf(stderr, "noderr exchange-sim: --venue '%s': expected binance or coinbase\n",
                o.venue);
        return ND_EXIT_USAGE;
    }
    o.api.venue = coinbase ? ND_XSIM_VENUE_COINBASE : ND_XSIM_VENUE_BINANCE;
    if (!coinbase && o.key_type && nd_binance_key_type_parse(o.key_type, &type) != ND_OK) {
        fprintf(stderr, "noderr exchange-sim: --api-key-type '%s': expected hmac, ed25519 or "
                        "rsa\n", o.key_type);
        return ND_EXIT_USAGE;
    }
    if (setup(&o) != 0)
        return ND_EXIT_USAGE;
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    nd_xsim_auth_t *auth = NULL;
    int exit_code = ND_EXIT_USAGE;
    if (coinbase ? load_coinbase_key(&o, &sec) == 0
                 : type == ND_BINANCE_KEY_HMAC ? load_secret(&o, &sec) == 0
                                               : load_public_key(&o, type, &sec, &auth) == 0) {
        o.api.auth = auth;
        exit_code = serve(&o, &sec);
    }
    nd_xsim_auth_destroy(auth);
    nd_free(o.cb_pem);
    nd_secret_wipe(&sec);
    explicit_bzero(o.admin_token, sizeof o.admin_token);
    return exit_code;
}
