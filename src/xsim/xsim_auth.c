/* xsim_auth.c: how exchange-sim checks a SIGNED request's signature, by the API key's type.
 *
 * Binance issues three key types (PROTOCOLS.md A.5): HMAC-SHA256 over a shared secret (hex),
 * and Ed25519 or RSA (RSASSA-PKCS1-v1_5, SHA-256) where the exchange holds only the public key
 * and the signature is base64. The payload is always the query string then the body, up to
 * the signature parameter. Invariants: the secret and the signature are only compared, never
 * copied into an answer or a log; the HMAC comparison does not stop at the first difference;
 * base64 is decoded strictly (alphabet, padding, exact length for the key), so a signature
 * that is not exactly one is refused before OpenSSL sees it. */
#include "noderr/xsim.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/binance.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 4096
#define PAYLOAD_STACK_MAX 4096

struct nd_xsim_auth {
    nd_binance_key_type_t type;
    EVP_PKEY *pkey;
    size_t sig_bytes; /* 64 for Ed25519, the modulus size for RSA */
};

/* Refuses anything but a PEM public key by its label, naming what it is instead. */
static nd_err_t check_label(const char *pem, size_t len, char *err, size_t err_len)
{
    const char *begin = memmem(pem, len, "-----BEGIN ", 11);
    if (!begin) {
        snprintf(err, err_len, "not a PEM public key (no -----BEGIN PUBLIC KEY----- line)");
        return ND_EINVAL;
    }
    size_t rest = len - (size_t)(begin - pem) - 11;
    if (rest >= 10 && memcmp(begin + 11, "PUBLIC KEY", 10) == 0)
        return ND_OK;
    if (memmem(begin, rest + 11 < 48 ? rest + 11 : 48, "PRIVATE KEY", 11)) {
        snprintf(err, err_len, "a private key: register the public half (openssl pkey -in KEY "
                               "-pubout -out PUBLIC.pem); the exchange never holds the private key");
        return ND_EINVAL;
    }
    snprintf(err, err_len, "not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    return ND_EINVAL;
}

nd_err_t nd_xsim_auth_create(int key_type, const char *pem, size_t len, nd_xsim_auth_t **out,
                             char *err, size_t err_len)
{
    ND_ASSERT(pem != NULL && out != NULL);
    ND_ASSERT(err != NULL || err_len == 0);
    if ((key_type != ND_BINANCE_KEY_ED25519 && key_type != ND_BINANCE_KEY_RSA) || len == 0 ||
        len > INT32_MAX) {
        snprintf(err, err_len, "a public key is for key type ed25519 or rsa only");
        return ND_EINVAL;
    }
    nd_err_t rc = check_label(pem, len, err, err_len);
    if (rc != ND_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!pkey) {
        snprintf(err, err_len, "not a PEM public key OpenSSL can read");
        return ND_EINVAL;
    }
    bool ed = EVP_PKEY_is_a(pkey, "ED25519"), rsa = EVP_PKEY_is_a(pkey, "RSA");
    int bits = EVP_PKEY_get_bits(pkey);
    rc = ND_EINVAL;
    if ((key_type == ND_BINANCE_KEY_ED25519 && !ed) || (key_type == ND_BINANCE_KEY_RSA && !rsa))
        snprintf(err, err_len, "the public key is %s, not %s",
                 ed ? "Ed25519" : rsa ? "RSA" : "neither Ed25519 nor RSA",
                 key_type == ND_BINANCE_KEY_RSA ? "RSA" : "Ed25519");
    else if (rsa && (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX))
        snprintf(err, err_len, "an RSA key of %d bits: Binance takes %d to %d", bits,
                 RSA_BITS_MIN, RSA_BITS_MAX);
    else
        rc = ND_OK;
    nd_xsim_auth_t *a = rc == ND_OK ? nd_calloc(1, sizeof *a) : NULL;
    if (!a) {
        EVP_PKEY_free(pkey);
        return rc == ND_OK ? ND_ENOMEM : rc;
    }
    a->type = (nd_binance_key_type_t)key_type;
    a->pkey = pkey;
    a->sig_bytes = ed ? 64 : (size_t)EVP_PKEY_get_size(pkey);
    ND_ASSERT(a->sig_bytes <= RSA_BITS_MAX / 8);
    *out = a;
    return ND_OK;
}

void nd_xsim_auth_destroy(nd_xsim_auth_t *auth)
{
    if (!auth)
        return;
    EVP_PKEY_free(auth->pkey);
    nd_free(auth);
}

static bool hmac_ok(const char *secret, const char *head, size_t head_len, const char *tail,
                    size_t tail_len, const char *given)
{
    char hex[65];
    /* An empty secret would make every HMAC-with-an-empty-key signature valid. */
    if (!secret || !secret[0] || strlen(given) != 64 ||
        nd_binance_sign(secret, strlen(secret), head, head_len, tail, tail_len, hex) != ND_OK)
        return false;
    unsigned diff = 0;
    for (int i = 0; i < 64; i++)
        diff |= (unsigned)(tolower((unsigned char)given[i]) ^ hex[i]);
    return diff == 0;
}

/* Strict base64 of exactly want bytes: the alphabet, '=' only as the final padding. */
static bool base64_exact(const char *text, size_t want, unsigned char *out)
{
    size_t len = strlen(text);
    if (len != (want + 2) / 3 * 4)
        return false;
    size_t pad = want % 3 ? 3 - want % 3 : 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        bool alpha = isalnum((unsigned char)c) || c == '+' || c == '/';
        if (i >= len - pad ? c != '=' : !alpha)
            return false;
    }
    return EVP_DecodeBlock(out, (const unsigned char *)text, (int)len) == (int)(want + pad);
}

static bool pkey_ok(const nd_xsim_auth_t *a, const char *head, size_t head_len, const char *tail,
                    size_t tail_len, const char *given)
{
    unsigned char sig[RSA_BITS_MAX / 8 + 3];
    if (!base64_exact(given, a->sig_bytes, sig))
        return false;
    char stack[PAYLOAD_STACK_MAX];
    size_t len = head_len + tail_len;
    char *payload = len <= sizeof stack ? stack : nd_alloc(len);
    if (!payload)
        return false;
    if (head_len)
        memcpy(payload, head, head_len);
    if (tail_len)
        memcpy(payload + head_len, tail, tail_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *digest = a->type == ND_BINANCE_KEY_RSA ? "SHA256" : NULL;
    bool ok = md && EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, a->pkey, NULL) == 1 &&
              EVP_DigestVerify(md, sig, a->sig_bytes, (const unsigned char *)payload, len) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (payload != stack)
        nd_free(payload);
    return ok;
}

bool nd_xsim_auth_verify(const nd_xsim_api_config_t *cfg, const char *head, size_t head_len,
                         const char *tail, size_t tail_len, const char *signature)
{
    ND_ASSERT(cfg != NULL && signature != NULL);
    ND_ASSERT(head != NULL || head_len == 0);
    if (tail == NULL)
        tail_len = 0;
    if (!cfg->auth)
        return hmac_ok(cfg->api_secret, head, head_len, tail, tail_len, signature);
    return pkey_ok(cfg->auth, head, head_len, tail, tail_len, signature);
}
