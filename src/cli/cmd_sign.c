/* cmd_sign.c: `noderr sign`, prints a request signature as a venue expects it.
 *
 * binance: hex HMAC-SHA256 of the payload (query string, then body) keyed by the API secret.
 * coinbase-exchange: base64 CB-ACCESS-SIGN, delegated to the Coinbase connector's
 * nd_coinbase_exchange_sign when it is linked in (weak symbol). The secret may come from
 * --secret or, so that it stays out of the process list, from NODERR_<VENUE>_API_SECRET or a
 * 0600 secrets file (--secrets-file); it is never printed, not even in error messages. */
#include "cli.h"

#include "noderr/binance.h"
#include "noderr/venue.h"

#include <stdio.h>
#include <string.h>

int nd_cmd_sign(int argc, char **argv);

/* Provided by the Coinbase connector when it is built (see venue.h, "Hooks"). */
__attribute__((weak)) nd_err_t nd_coinbase_exchange_sign(const char *secret_b64,
                                                         const char *timestamp,
                                                         const char *method, const char *path,
                                                         const char *body, char *out, size_t cap,
                                                         char *err, size_t err_len);

typedef struct sign_opts {
    const char *venue, *secret, *payload, *body, *timestamp, *method, *path, *secrets_file;
} sign_opts_t;

static void sign_usage(FILE *f)
{
    fputs("usage: noderr sign --venue binance [--secret S] --payload P [--body B]\n"
          "       noderr sign --venue coinbase-exchange [--secret BASE64] --timestamp T\n"
          "                   --method M --path P [--body B]\n"
          "\n"
          "  --secret S          the API secret; without it NODERR_<VENUE>_API_SECRET or\n"
          "                      --secrets-file FILE (mode 0600) is used\n"
          "  --payload P         binance: the query string (totalParams)\n"
          "  --body B            request body, signed after the payload\n"
          "Prints the signature (binance: lowercase hex; coinbase-exchange: base64).\n",
          f);
}

static int parse_sign_opts(int argc, char **argv, sign_opts_t *o)
{
    static const char *const names[] = {"--venue", "--secret", "--payload", "--body",
                                        "--timestamp", "--method", "--path", "--secrets-file"};
    const char **slots[] = {&o->venue, &o->secret, &o->payload, &o->body,
                            &o->timestamp, &o->method, &o->path, &o->secrets_file};
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        while (k < sizeof names / sizeof names[0] && strcmp(argv[i], names[k]) != 0)
            k++;
        if (k == sizeof names / sizeof names[0]) {
            fprintf(stderr, "noderr sign: unknown option '%s'\n", argv[i]);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "noderr sign: %s needs a value\n", argv[i]);
            return -1;
        }
        *slots[k] = argv[++i];
    }
    return 0;
}

/* Resolves the secret into sec when --secret was not given. */
static int load_secret(const sign_opts_t *o, const char *venue_env, nd_secret_t *sec)
{
    char err[256] = "";
    nd_err_t rc = nd_secret_load(venue_env, o->secrets_file, sec, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr sign: no secret: give --secret, set NODERR_%s_API_SECRET or "
                        "--secrets-file (%s)\n", venue_env, err[0] ? err : nd_strerror(rc));
        return -1;
    }
    return 0;
}

static int sign_binance(const sign_opts_t *o, const char *secret)
{
    if (!o->payload && !o->body) {
        fprintf(stderr, "noderr sign: --venue binance needs --payload (and/or --body)\n");
        return ND_EXIT_USAGE;
    }
    const char *q = o->payload ? o->payload : "", *b = o->body ? o->body : "";
    char hex[65];
    if (nd_binance_sign(secret, strlen(secret), q, strlen(q), b, strlen(b), hex) != ND_OK) {
        fprintf(stderr, "noderr sign: HMAC-SHA256 failed in OpenSSL\n");
        return ND_EXIT_USAGE;
    }
    printf("%s\n", hex);
    return ND_EXIT_OK;
}

static int sign_coinbase_exchange(const sign_opts_t *o, const char *secret)
{
    if (!nd_coinbase_exchange_sign) {
        fprintf(stderr, "noderr sign: --venue coinbase-exchange is not built into this binary\n");
        return ND_EXIT_USAGE;
    }
    if (!o->timestamp || !o->method || !o->path) {
        fprintf(stderr, "noderr sign: --venue coinbase-exchange needs --timestamp, --method and "
                        "--path\n");
        return ND_EXIT_USAGE;
    }
    char out[128], err[256] = "";
    nd_err_t rc = nd_coinbase_exchange_sign(secret, o->timestamp, o->method, o->path, o->body,
                                            out, sizeof out, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr sign: %s\n", err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    printf("%s\n", out);
    return ND_EXIT_OK;
}

int nd_cmd_sign(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sign_usage(stdout);
            return ND_EXIT_OK;
        }
    sign_opts_t o = {0};
    if (parse_sign_opts(argc, argv, &o) != 0)
        return ND_EXIT_USAGE;
    if (!o.venue) {
        fprintf(stderr, "noderr sign: --venue is required (binance or coinbase-exchange)\n");
        return ND_EXIT_USAGE;
    }
    bool binance = strcmp(o.venue, "binance") == 0;
    if (!binance && strcmp(o.venue, "coinbase-exchange") != 0) {
        fprintf(stderr, "noderr sign: unknown venue '%s' (binance or coinbase-exchange)\n",
                o.venue);
        return ND_EXIT_USAGE;
    }
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    const char *secret = o.secret;
    if (!secret) {
        if (load_secret(&o, binance ? "BINANCE" : "COINBASE_EXCHANGE", &sec) != 0)
            return ND_EXIT_USAGE;
        secret = sec.api_secret;
    }
    int rc = binance ? sign_binance(&o, secret) : sign_coinbase_exchange(&o, secret);
    nd_secret_wipe(&sec);
    return rc;
}
