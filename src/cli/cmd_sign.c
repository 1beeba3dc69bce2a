/* cmd_sign.c: `noderr sign`, prints a request signature as a venue expects it.
 *
 * binance: the payload (query string, then body) signed by the API key's type (--key-type):
 * hex HMAC-SHA256 keyed by the secret, or base64 Ed25519 / RSA (PKCS#1 v1.5, SHA-256) with a
 * PEM private key (nd_binance_signer_t). A PEM key is best given as a 0600 --secrets-file.
 * coinbase-exchange: base64 CB-ACCESS-SIGN, from the Coinbase connector's
 * nd_coinbase_exchange_sign (always built). coinbase (Advanced Trade): an ES256 JWT of the key
 * name for one request ("METHOD host/path") or, without --method, for a WebSocket subscribe,
 * from nd_coinbase_jwt_es256 with the P-256 PEM key. The secret may come from
 * --secret or, so that it stays out of the process list, from NODERR_<VENUE>_API_SECRET or a
 * 0600 secrets file (--secrets-file); it is never printed, not even in error messages. */
#include "cli.h"

#include "noderr/binance.h"
#include "noderr/coinbase.h"
#include "noderr/venue.h"

#include <stdio.h>
#include <string.h>

int nd_cmd_sign(int argc, char **argv);

typedef struct sign_opts {
    const char *venue, *secret, *payload, *body, *timestamp, *method, *path, *secrets_file;
    const char *key_type, *key_name, *host;
    bool url_encoded;
} sign_opts_t;

static const char usage_text[] =
    "usage: noderr sign --venue binance [--key-type hmac|ed25519|rsa] [--secret S]\n"
    "                   --payload P [--body B] [--url-encoded]\n"
    "       noderr sign --venue coinbase-exchange [--secret BASE64] --timestamp T\n"
    "                   --method M --path P [--body B]\n"
    "       noderr sign --venue coinbase --key-name NAME --secrets-file KEY.pem\n"
    "                   [--method M --host H --path P]\n"
    "\n"
    "  --key-type T        binance: the API key's type: hmac (default), ed25519 or rsa;\n"
    "                      ed25519 and rsa take a PEM private key (PKCS#8)\n"
    "  --secret S          the API secret; without it NODERR_<VENUE>_API_SECRET or\n"
    "                      --secrets-file FILE (mode 0600 or 0400: api_key=/api_secret=\n"
    "                      lines, or a bare PEM private key file) is used\n"
    "  --payload P         binance: the query string (totalParams)\n"
    "  --body B            request body, signed after the payload\n"
    "  --url-encoded       binance: print the signature as it goes into a query string\n"
    "                      ('+', '/', '=' percent-encoded; hex is unchanged)\n"
    "  --key-name NAME     coinbase: the API key name (organizations/../apiKeys/..); else\n"
    "                      NODERR_COINBASE_API_KEY or the secrets file's api_key=\n"
    "  --host H            coinbase: the host of the JWT's uri (api.coinbase.com, or\n"
    "                      127.0.0.1:PORT for exchange-sim); with --method and --path\n"
    "Prints the signature (binance hmac: lowercase hex; binance ed25519 and rsa, and\n"
    "coinbase-exchange: base64, URL-encoded only with --url-encoded; coinbase: the JWT,\n"
    "valid 120 s, for an Authorization: Bearer header or a subscribe's \"jwt\").\n";

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("venue", sign_opts_t, venue),
    ND_CLI_TEXT("secret", sign_opts_t, secret),
    ND_CLI_TEXT("payload", sign_opts_t, payload),
    ND_CLI_TEXT("body", sign_opts_t, body),
    ND_CLI_TEXT("timestamp", sign_opts_t, timestamp),
    ND_CLI_TEXT("method", sign_opts_t, method),
    ND_CLI_TEXT("path", sign_opts_t, path),
    ND_CLI_TEXT("secrets-file", sign_opts_t, secrets_file),
    ND_CLI_TEXT("key-type", sign_opts_t, key_type),
    ND_CLI_SET("url-encoded", sign_opts_t, url_encoded),
    ND_CLI_TEXT("key-name", sign_opts_t, key_name),
    ND_CLI_TEXT("host", sign_opts_t, host),
    ND_CLI_OPTS_END,
};

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

/* Where the key came from, for error messages (never the key itself). */
static const char *key_source(const sign_opts_t *o)
{
    return o->secret ? "--secret" : o->secrets_file ? o->secrets_file : "the key";
}

static int sign_binance(const sign_opts_t *o, nd_binance_key_type_t type, const char *secret)
{
    if (!o->payload && !o->body) {
        fprintf(stderr, "noderr sign: --venue binance needs --payload (and/or --body)\n");
        return ND_EXIT_USAGE;
    }
    const char *q = o->payload ? o->payload : "", *b = o->body ? o->body : "";
    char err[256] = "", sig[ND_BINANCE_SIGNATURE_MAX];
    size_t sig_len = 0;
    nd_binance_signer_t *signer = NULL;
    nd_err_t rc = nd_binance_signer_create(type, secret, strlen(secret), &signer, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr sign: %s: %s\n", key_source(o), err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    rc = nd_binance_signer_sign(signer, q, strlen(q), b, strlen(b), o->url_encoded, sig,
                                sizeof sig, &sig_len);
    nd_binance_signer_destroy(signer);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr sign: %s signing failed in OpenSSL (%s)\n",
                nd_binance_key_type_name(type), nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    printf("%s\n", sig);
    return ND_EXIT_OK;
}

static int sign_coinbase_exchange(const sign_opts_t *o, const char *secret)
{
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

/* An Advanced Trade JWT: for one request with --method/--host/--path, else a WebSocket one. */
static int sign_coinbase(const sign_opts_t *o, const nd_secret_t *sec, const char *pem)
{
    const char *name = o->key_name ? o->key_name : sec->api_key;
    bool request = o->method || o->host || o->path;
    if (!name || !name[0] || (request && (!o->method || !o->host || !o->path))) {
        fprintf(stderr, "noderr sign: --venue coinbase needs --key-name (or NODERR_COINBASE_API_KEY)"
                        " and, for a request, all of --method, --host and --path\n");
        return ND_EXIT_USAGE;
    }
    nd_clock_t *clock = nd_clock_os();
    nd_coinbase_jwt_params_t p = {.key_name = name, .method = request ? o->method : NULL,
                                  .host = o->host, .path = request ? o->path : NULL,
                                  .now_s = nd_clock_now_ns(clock) / ND_NS_PER_SEC};
    char jwt[ND_COINBASE_JWT_MAX], err[256] = "";
    nd_err_t rc = nd_coinbase_jwt_es256(pem, &p, jwt, sizeof jwt, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr sign: %s: %s\n", key_source(o), err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    printf("%s\n", jwt);
    return ND_EXIT_OK;
}

int nd_cmd_sign(int argc, char **argv)
{
    sign_opts_t o = {0};
    int prc = nd_cli_parse("sign", argc, argv, options, usage_text, NULL, &o);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    if (!o.venue) {
        fprintf(stderr, "noderr sign: --venue is required (binance, coinbase or "
                        "coinbase-exchange)\n");
        return ND_EXIT_USAGE;
    }
    bool binance = strcmp(o.venue, "binance") == 0, coinbase = strcmp(o.venue, "coinbase") == 0;
    if (!binance && !coinbase && strcmp(o.venue, "coinbase-exchange") != 0) {
        fprintf(stderr, "noderr sign: unknown venue '%s' (binance, coinbase or "
                        "coinbase-exchange)\n", o.venue);
        return ND_EXIT_USAGE;
    }
    if ((o.key_name || o.host) && !coinbase) {
        fprintf(stderr, "noderr sign: --key-name and --host are only for --venue coinbase\n");
        return ND_EXIT_USAGE;
    }
    nd_binance_key_type_t type = ND_BINANCE_KEY_HMAC;
    if (o.url_encoded && !binance) {
        fprintf(stderr, "noderr sign: --url-encoded is only for --venue binance\n");
        return ND_EXIT_USAGE;
    }
    if (o.key_type && (!binance || nd_binance_key_type_parse(o.key_type, &type) != ND_OK)) {
        fprintf(stderr, "noderr sign: --key-type '%s': %s\n", o.key_type,
                binance ? "expected hmac, ed25519 or rsa" : "only for --venue binance");
        return ND_EXIT_USAGE;
    }
    nd_secret_t sec;
    memset(&sec, 0, sizeof sec);
    const char *secret = o.secret;
    if (!secret) {
        if (load_secret(&o, binance ? "BINANCE" : coinbase ? "COINBASE" : "COINBASE_EXCHANGE",
                        &sec) != 0)
            return ND_EXIT_USAGE;
        secret = sec.api_secret;
    }
    int rc = binance ? sign_binance(&o, type, secret)
             : coinbase ? sign_coinbase(&o, &sec, secret)
                        : sign_coinbase_exchange(&o, secret);
    nd_secret_wipe(&sec);
    return rc;
}
