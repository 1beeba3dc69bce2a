/* binance_sign.c: HMAC-SHA256 request signatures for Binance SIGNED endpoints (OpenSSL).
 *
 * The signed payload is the query string followed by the request body with no separator
 * (PROTOCOLS.md A.5); the key is the secret's bytes; the result is lowercase hex. The secret
 * is only read, never copied or logged. */
#include "noderr/binance.h"

#include "noderr/assert.h"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

nd_err_t nd_binance_sign(const char *secret, size_t secret_len, const char *query,
                         size_t query_len, const char *body, size_t body_len, char hex[65])
{
    ND_ASSERT(secret != NULL && hex != NULL);
    ND_ASSERT(query != NULL || query_len == 0);
    ND_ASSERT(body != NULL || body_len == 0);
    if (secret_len > INT32_MAX)
        return ND_EINVAL;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    nd_err_t rc = ND_EIO;
    /* HMAC_CTX is deprecated in OpenSSL 3 in favour of EVP_MAC; the one-shot HMAC() cannot
     * take two buffers, so use EVP_MAC to sign query and body without concatenating them. */
    EVP_MAC *mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *mctx = mac_alg ? EVP_MAC_CTX_new(mac_alg) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    size_t out_len = 0;
    if (mctx && EVP_MAC_init(mctx, (const unsigned char *)secret, secret_len, params) &&
        EVP_MAC_update(mctx, (const unsigned char *)query, query_len) &&
        EVP_MAC_update(mctx, (const unsigned char *)body, body_len) &&
        EVP_MAC_final(mctx, mac, &out_len, sizeof mac) && out_len == 32) {
        mac_len = (unsigned int)out_len;
        rc = ND_OK;
    }
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_free(mac_alg);
    if (rc != ND_OK)
        return rc;
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mac_len; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
    return ND_OK;
}
