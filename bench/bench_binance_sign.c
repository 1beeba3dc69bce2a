/* bench_binance_sign.c: the cost of signing one Binance order request by key type, and of
 * exchange-sim's check of it.
 *
 *   sign     per-call latency percentiles (p50, p99, max) of nd_binance_signer_sign over a
 *            typical new-order query (~150 bytes with timestamp and recvWindow), URL-encoded as
 *            the REST client sends it, for HMAC, Ed25519 and RSA-2048 keys;
 *   verify   the same for nd_xsim_auth_verify with the matching secret or public key.
 * Usage: bench_binance_sign [CALLS] (default 2000 per key type; RSA signs 1/10 as many).
 * Not a test: it asserts nothing. */
#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/clock.h"
#include "noderr/xsim.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ed_priv[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MC4CAQAwBQYDK2VwBCIEIIiu/qKnmeYEFnCfWYUxcvQV3HLgJWJXiJ4Fxe0xmDp0\n"
                              "-----END PRIVATE KEY-----\n";
static const char ed_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MCowBQYDK2VwAyEAclVslm0blBT9nXk29CTLHCXVo3uRKYygAd/jLMVCOts=\n"
                             "-----END PUBLIC KEY-----\n";
static const char query[] = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.00100000"
                            "&newClientOrderId=s1-000000000042&timeInForce=GTC&price=30000.00000000"
                            "&timestamp=1790134512214&recvWindow=5000";

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, const char *type, int64_t *ns, long n)
{
    qsort(ns, (size_t)n, sizeof *ns, cmp64);
    printf("%-6s %-7s n=%-6ld p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", what, type, n,
           (double)ns[n / 2] / 1e3, (double)ns[n * 99 / 100] / 1e3, (double)ns[n - 1] / 1e3);
}

/* Signs n times, then verifies the signature n times (decoded form, as the server sees it). */
static void bench_type(nd_binance_key_type_t type, const char *key, const nd_xsim_api_config_t *cfg,
                       long n)
{
    char err[256] = "", sig[ND_BINANCE_SIGNATURE_MAX], plain[ND_BINANCE_SIGNATURE_MAX];
    size_t len = 0;
    nd_binance_signer_t *s = NULL;
    if (nd_binance_signer_create(type, key, strlen(key), &s, err, sizeof err) != ND_OK) {
        fprintf(stderr, "signer: %s\n", err);
        exit(1);
    }
    int64_t *ns = nd_alloc((size_t)n * sizeof *ns);
    if (!ns)
        exit(1);
    const nd_clock_t *clock = nd_clock_os();
    for (long i = 0; i < n; i++) {
        int64_t t0 = nd_clock_mono_ns(clock);
        if (nd_binance_signer_sign(s, query, sizeof query - 1, NULL, 0, true, sig, sizeof sig,
                                   &len) != ND_OK)
            exit(1);
        ns[i] = nd_clock_mono_ns(clock) - t0;
    }
    report("sign", nd_binance_key_type_name(type), ns, n);
    if (nd_binance_signer_sign(s, query, sizeof query - 1, NULL, 0, false, plain, sizeof plain,
                               &len) != ND_OK)
        exit(1);
    for (long i = 0; i < n; i++) {
        int64_t t0 = nd_clock_mono_ns(clock);
        if (!nd_xsim_auth_verify(cfg, query, sizeof query - 1, NULL, 0, plain))
            exit(1);
        ns[i] = nd_clock_mono_ns(clock) - t0;
    }
    report("verify", nd_binance_key_type_name(type), ns, n);
    nd_free(ns);
    nd_binance_signer_destroy(s);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
    if (n < 10)
        n = 10;
    nd_xsim_api_config_t hmac = {.api_key = "k", .api_secret = "bench-secret"};
    bench_type(ND_BINANCE_KEY_HMAC, "bench-secret", &hmac, n);
    nd_xsim_auth_t *ed = NULL, *rsa = NULL;
    char err[256] = "";
    if (nd_xsim_auth_create(ND_BINANCE_KEY_ED25519, ed_pub, strlen(ed_pub), &ed, err, sizeof err))
        exit(1);
    nd_xsim_api_config_t edc = {.api_key = "k", .api_secret = "", .auth = ed};
    bench_type(ND_BINANCE_KEY_ED25519, ed_priv, &edc, n);
    EVP_PKEY *k = EVP_RSA_gen(2048);
    BIO *b = BIO_new(BIO_s_mem()), *p = BIO_new(BIO_s_mem());
    static char pem[4096], pub[1024];
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_PUBKEY(p, k);
    int pl = BIO_read(b, pem, sizeof pem - 1), ul = BIO_read(p, pub, sizeof pub - 1);
    if (pl <= 0 || ul <= 0)
        exit(1);
    pem[pl] = pub[ul] = '\0';
    if (nd_xsim_auth_create(ND_BINANCE_KEY_RSA, pub, strlen(pub), &rsa, err, sizeof err))
        exit(1);
    nd_xsim_api_config_t rsac = {.api_key = "k", .api_secret = "", .auth = rsa};
    bench_type(ND_BINANCE_KEY_RSA, pem, &rsac, n / 10 > 10 ? n / 10 : 10);
    BIO_free(b);
    BIO_free(p);
    EVP_PKEY_free(k);
    nd_xsim_auth_destroy(ed);
    nd_xsim_auth_destroy(rsa);
    return 0;
}
