/* cb_sign.c: Coinbase request authentication: CB-ACCESS-SIGN for Coinbase Exchange (HMAC-SHA256
 * keyed by the base64-decoded secret) and ES256 JWTs for Advanced Trade.
 *
 * Invariants: secrets and keys are never copied into err; every temporary holding key material
 * is cleansed with OPENSSL_cleanse before return; a JWS signature is always the raw 64-byte
 * r||s (each half left-padded to 32 bytes), never OpenSSL's DER. */
#include "noderr/coinbase.h"

#include "noderr/assert.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t err_len, const char *text)
{
    if (err && err_len)
        snprintf(err, err_len, "%s", text);
}

/* Decodes standard base64 (with padding, no whitespace) into out; returns the length or -1. */
static int b64_decode(const char *in, uint8_t *out, size_t cap)
{
    size_t len = strlen(in);
    if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap)
        return -1;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return -1;
    /* EVP_DecodeBlock counts padding as zero bytes: take them back off. */
    if (in[len - 1] == '=')
        n--;
    if (in[len - 2] == '=')
        n--;
    return n;
}

nd_err_t nd_coinbase_exchange_sign(const char *secret_b64, const char *timestamp,
                                   const char *method, const char *request_path, const char *body,
                                   char *out, size_t cap, char *err, size_t err_len)
{
    ND_ASSERT(secret_b64 && timestamp && method && request_path);
    ND_ASSERT(out != NULL);
    if (cap < ND_COINBASE_SIGN_MAX) {
        set_err(err, err_len, "coinbase-exchange: signature buffer too small");
        return ND_EFULL;
    }
    uint8_t key[256];
    int key_len = b64_decode(secret_b64, key, sizeof key);
    if (key_len <= 0) {
        set_err(err, err_len, "coinbase-exchange: the API secret is not valid base64");
        return ND_EINVAL;
    }
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
    int ok = ctx && EVP_MAC_init(ctx, key, (size_t)key_len, params) == 1;
    /* The prehash is the plain concatenation, so it is streamed in parts. */
    ok = ok && EVP_MAC_update(ctx, (const uint8_t *)timestamp, strlen(timestamp)) == 1;
    ok = ok && EVP_MAC_update(ctx, (const uint8_t *)method, strlen(method)) == 1;
    ok = ok && EVP_MAC_update(ctx, (const uint8_t *)request_path, strlen(request_path)) == 1;
    if (body)
        ok = ok && EVP_MAC_update(ctx, (const uint8_t *)body, strlen(body)) == 1;
    ok = ok && EVP_MAC_final(ctx, mac, &mac_len, sizeof mac) == 1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(hmac);
    OPENSSL_cleanse(key, sizeof key);
    if (!ok || mac_len != 32) {
        set_err(err, err_len, "coinbase-exchange: HMAC-SHA256 failed");
        return ND_EIO;
    }
    int n = EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len);
    ND_ASSERT(n == 44);
    return ND_OK;
}

size_t nd_coinbase_b64url(const uint8_t *data, size_t len, char *out, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    ND_ASSERT(out != NULL);
    ND_ASSERT(cap >= 4 * ((len + 2) / 3) + 1);
    size_t pos = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[pos++] = alphabet[(v >> 18) & 63];
        out[pos++] = alphabet[(v >> 12) & 63];
        if (i + 1 < len)
            out[pos++] = alphabet[(v >> 6) & 63];
        if (i + 2 < len)
            out[pos++] = alphabet[v & 63];
    }
    out[pos] = '\0';
    return pos;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes unpadded base64url; returns the length or -1. */
static long b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t pos = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (len % 4 == 1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (pos >= cap)
                return -1;
            out[pos++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)pos;
}

static EVP_PKEY *load_key(const char *pem, bool private_key)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (!bio)
        return NULL;
    EVP_PKEY *key = private_key ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                                : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key && EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
        EVP_PKEY_free(key);
        return NULL;
    }
    /* ES256 is P-256 only. */
    char group[32];
    size_t group_len = 0;
    if (key && (!EVP_PKEY_get_group_name(key, group, sizeof group, &group_len) ||
                strcmp(group, "prime256v1") != 0)) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/* Converts a DER ECDSA signature into the 64-byte r||s of JWS (RFC 7518 section 3.4). */
static bool der_to_raw(const uint8_t *der, size_t der_len, uint8_t raw[64])
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!sig)
        return false;
    const BIGNUM *r = NULL, *s = NULL;
    ECDSA_SIG_get0(sig, &r, &s);
    bool ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok;
}

/* Signs msg with key (ECDSA over SHA-256) and writes the raw r||s. */
static bool es256_sign(EVP_PKEY *key, const char *msg, size_t len, uint8_t raw[64])
{
    uint8_t der[128];
    size_t der_len = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestSign(md, der, &der_len, (const uint8_t *)msg, len) == 1;
    EVP_MD_CTX_free(md);
    return ok && der_to_raw(der, der_len, raw);
}

/* Writes the JSON header and claims of the token; returns false when they do not fit. */
static bool jwt_json(const nd_coinbase_jwt_params_t *p, const char *nonce, char *header,
                     size_t header_cap, char *claims, size_t claims_cap)
{
    int n = snprintf(header, header_cap,
                     "{\"alg\":\"ES256\",\"kid\":\"%s\",\"nonce\":\"%s\",\"typ\":\"JWT\"}",
                     p->key_name, nonce);
    if (n < 0 || (size_t)n >= header_cap)
        return false;
    int64_t exp = p->now_s + ND_COINBASE_JWT_LIFETIME_S;
    if (p->method && p->path)
        n = snprintf(claims, claims_cap,
                     "{\"sub\":\"%s\",\"iss\":\"cdp\",\"nbf\":%lld,\"exp\":%lld,"
                     "\"uri\":\"%s %s%s\"}",
                     p->key_name, (long long)p->now_s, (long long)exp, p->method,
                     p->host ? p->host : "api.coinbase.com", p->path);
    else
        n = snprintf(claims, claims_cap, "{\"sub\":\"%s\",\"iss\":\"cdp\",\"nbf\":%lld,\"exp\":%lld}",
                     p->key_name, (long long)p->now_s, (long long)exp);
    return n > 0 && (size_t)n < claims_cap;
}

/* Rejects characters that would need JSON escaping: key names and paths never contain them. */
static bool json_safe(const char *s)
{
    for (; s && *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

nd_err_t nd_coinbase_jwt_es256(const char *private_key_pem, const nd_coinbase_jwt_params_t *params,
                               char *out, size_t cap, char *err, size_t err_len)
{
    ND_ASSERT(private_key_pem && params && params->key_name);
    ND_ASSERT(out != NULL);
    if (!json_safe(params->key_name) || !json_safe(params->path) || !json_safe(params->host) ||
        !json_safe(params->method) || !json_safe(params->nonce_hex)) {
        set_err(err, err_len, "coinbase jwt: key name, host, method or path has a quote, "
                              "backslash or control character");
        return ND_EINVAL;
    }
    char nonce[65];
    if (params->nonce_hex) {
        snprintf(nonce, sizeof nonce, "%s", params->nonce_hex);
    } else {
        /* A replay-protection nonce is a security value: it comes from the CSPRNG, not the
         * seeded simulation generator. */
        uint8_t bytes[16];
        if (RAND_bytes(bytes, sizeof bytes) != 1) {
            set_err(err, err_len, "coinbase jwt: no randomness for the nonce");
            return ND_EIO;
        }
        for (size_t i = 0; i < sizeof bytes; i++)
            snprintf(nonce + 2 * i, 3, "%02x", bytes[i]);
    }
    char header[512], claims[768], signing[1024];
    if (!jwt_json(params, nonce, header, sizeof header, claims, sizeof claims)) {
        set_err(err, err_len, "coinbase jwt: key name or path too long");
        return ND_EINVAL;
    }
    size_t pos = nd_coinbase_b64url((const uint8_t *)header, strlen(header), signing,
                                    sizeof signing);
    signing[pos++] = '.';
    pos += nd_coinbase_b64url((const uint8_t *)claims, strlen(claims), signing + pos,
                              sizeof signing - pos);
    EVP_PKEY *key = load_key(private_key_pem, true);
    if (!key) {
        set_err(err, err_len, "coinbase jwt: the API secret is not a P-256 private key in PEM");
        return ND_EINVAL;
    }
    uint8_t raw[64];
    bool ok = es256_sign(key, signing, pos, raw);
    EVP_PKEY_free(key);
    if (!ok) {
        set_err(err, err_len, "coinbase jwt: ECDSA signing failed");
        return ND_EIO;
    }
    char sig[90];
    size_t sig_len = nd_coinbase_b64url(raw, sizeof raw, sig, sizeof sig);
    if (pos + 1 + sig_len + 1 > cap) {
        set_err(err, err_len, "coinbase jwt: output buffer too small");
        return ND_EFULL;
    }
    memcpy(out, signing, pos);
    out[pos] = '.';
    memcpy(out + pos + 1, sig, sig_len + 1);
    return ND_OK;
}

/* Verifies raw r||s over msg with key. */
static bool es256_verify(EVP_PKEY *key, const char *msg, size_t len, const uint8_t raw[64])
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(sig);
        return false;
    }
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = der_len > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
              EVP_DigestVerify(md, der, (size_t)der_len, (const uint8_t *)msg, len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

nd_err_t nd_coinbase_jwt_verify(const char *jwt, const char *key_pem, char *payload, size_t cap,
                                char *err, size_t err_len)
{
    ND_ASSERT(jwt && key_pem);
    ND_ASSERT(payload && cap > 0);
    const char *dot1 = strchr(jwt, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) {
        set_err(err, err_len, "jwt: not three dot-separated parts");
        return ND_EPARSE;
    }
    uint8_t raw[64];
    long n = b64url_decode(dot2 + 1, strlen(dot2 + 1), raw, sizeof raw);
    long pn = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), (uint8_t *)payload, cap - 1);
    if (n != 64 || pn < 0) {
        set_err(err, err_len, "jwt: bad base64url or a signature that is not 64 bytes");
        return ND_EPARSE;
    }
    payload[pn] = '\0';
    EVP_PKEY *key = load_key(key_pem, strstr(key_pem, "PRIVATE KEY") != NULL);
    if (!key) {
        set_err(err, err_len, "jwt: not a P-256 key in PEM");
        return ND_EINVAL;
    }
    bool ok = es256_verify(key, jwt, (size_t)(dot2 - jwt), raw);
    EVP_PKEY_free(key);
    if (!ok) {
        set_err(err, err_len, "jwt: signature does not verify");
        return ND_EINVAL;
    }
    return ND_OK;
}
