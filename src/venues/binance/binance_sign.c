/* binance_sign.c: request signatures for Binance SIGNED endpoints (OpenSSL), for the three
 * API-key types Binance issues.
 *
 * The signed payload is always the query string followed by the request body with no
 * separator (PROTOCOLS.md A.5). HMAC-SHA256 keys on the secret's bytes and gives lowercase hex
 * (nd_binance_sign, only read, never copied). Ed25519 (the type Binance recommends) signs the
 * payload bytes with the PKCS#8 private key; RSA is RSASSA-PKCS1-v1_5 over SHA-256; both give
 * standard padded base64, which must be URL-encoded in a query. nd_binance_signer_t is the one
 * entry point for all three: it parses a PEM key once (a private key of the wrong type, a
 * public key, an encrypted key are refused with a reason that never quotes the key) and keeps
 * the HMAC secret in a copy that destroy wipes. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

/* mac_len bytes as lowercase hex and a NUL. */
static void hex_of(const unsigned char *mac, unsigned int mac_len, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mac_len; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[2 * mac_len] = '\0';
}

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
    hex_of(mac, mac_len, hex);
    return ND_OK;
}

/* ---- Asymmetric keys: Ed25519 and RSA ------------------------------------------------------ */

/* Largest RSA key accepted: its signature (512 bytes) is what ND_BINANCE_SIGNATURE_MAX holds. */
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 4096
/* Payloads up to this size are joined on the stack; longer ones (the CLI) are allocated. */
#define PAYLOAD_STACK_MAX 4096

_Static_assert(ND_BINANCE_SIGNATURE_MAX >= 3 * ((RSA_BITS_MAX / 8 + 2) / 3 * 4) + 1,
               "a URL-encoded base64 RSA signature must fit");

struct nd_binance_signer {
    nd_binance_key_type_t type;
    EVP_PKEY *pkey;     /* ED25519 and RSA */
    char *secret;       /* HMAC: a copy of the secret, wiped on destroy */
    size_t secret_len;
    /* HMAC: the algorithm fetched once and a context keyed once; each signature works on a
     * copy of it, so the order path pays neither the provider look-up nor the key schedule. */
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed;
};

static const char *const key_type_names[] = {"hmac", "ed25519", "rsa"};

const char *nd_binance_key_type_name(nd_binance_key_type_t type)
{
    return (unsigned)type < 3 ? key_type_names[type] : "unknown";
}

nd_err_t nd_binance_key_type_parse(const char *name, nd_binance_key_type_t *out)
{
    ND_ASSERT(name != NULL && out != NULL);
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(name, key_type_names[i]) == 0) {
            *out = (nd_binance_key_type_t)i;
            return ND_OK;
        }
    }
    return ND_EINVAL;
}

/* OpenSSL's default password callback prompts on the terminal for an encrypted key: refuse
 * instead, so that a signing process never blocks on a prompt. */
static int no_password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

/* The PEM label after leading blanks ("PRIVATE KEY", "PUBLIC KEY", ...), or NULL. */
static const char *pem_label(const char *key, size_t len, size_t *label_len)
{
    size_t i = 0;
    while (i < len && (key[i] == ' ' || key[i] == '\n' || key[i] == '\r' || key[i] == '\t'))
        i++;
    if (len - i < 11 || memcmp(key + i, "-----BEGIN ", 11) != 0)
        return NULL;
    const char *label = key + i + 11, *end = memchr(label, '-', len - i - 11);
    if (!end)
        return NULL;
    *label_len = (size_t)(end - label);
    return label;
}

static bool label_is(const char *label, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(label, want, len) == 0;
}

/* Refuses, by the PEM label, what can never be a signing key: nothing PEM, a public key, an
 * encrypted key. err names the problem, never the key. */
static nd_err_t check_label(const char *key, size_t len, char *err, size_t err_len)
{
    size_t n = 0;
    const char *label = pem_label(key, len, &n);
    if (!label) {
        snprintf(err, err_len, "not a PEM key (no -----BEGIN PRIVATE KEY----- line)");
        return ND_EINVAL;
    }
    if (label_is(label, n, "PUBLIC KEY") || label_is(label, n, "RSA PUBLIC KEY")) {
        snprintf(err, err_len, "this is a public key: signing needs the private key "
                               "(-----BEGIN PRIVATE KEY-----)");
        return ND_EINVAL;
    }
    if (label_is(label, n, "ENCRYPTED PRIVATE KEY")) {
        snprintf(err, err_len, "an encrypted private key: decrypt it first (openssl pkey -in "
                               "KEY -out PLAIN.pem), then chmod 600");
        return ND_EINVAL;
    }
    return ND_OK;
}

/* Parses a PEM private key and checks that it is of the requested type. */
static nd_err_t load_pkey(nd_binance_key_type_t type, const char *key, size_t len,
                          EVP_PKEY **out, char *err, size_t err_len)
{
    nd_err_t rc = check_label(key, len, err, err_len);
    if (rc != ND_OK)
        return rc;
    BIO *bio = BIO_new_mem_buf(key, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL) : NULL;
    BIO_free(bio);
    ERR_clear_error();
    if (!pkey) {
        snprintf(err, err_len, "not a PEM private key OpenSSL can read");
        return ND_EINVAL;
    }
    bool ed = EVP_PKEY_is_a(pkey, "ED25519"), rsa = EVP_PKEY_is_a(pkey, "RSA");
    int bits = EVP_PKEY_get_bits(pkey);
    if ((type == ND_BINANCE_KEY_ED25519 && !ed) || (type == ND_BINANCE_KEY_RSA && !rsa)) {
        snprintf(err, err_len, "the key is %s, not %s%s", ed ? "an Ed25519 key" : rsa ? "an RSA key"
                 : "neither Ed25519 nor RSA", type == ND_BINANCE_KEY_RSA ? "RSA" : "Ed25519",
                 ed ? ": use --key-type ed25519" : rsa ? ": use --key-type rsa" : "");
        rc = ND_EINVAL;
    } else if (rsa && (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)) {
        snprintf(err, err_len, "an RSA key of %d bits: Binance takes %d to %d", bits, RSA_BITS_MIN,
                 RSA_BITS_MAX);
        rc = ND_EINVAL;
    }
    if (rc != ND_OK) {
        EVP_PKEY_free(pkey);
        return rc;
    }
    *out = pkey;
    return ND_OK;
}

static nd_err_t key_hmac(nd_binance_signer_t *s)
{
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    s->keyed = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
    if (!s->keyed || !EVP_MAC_init(s->keyed, (const unsigned char *)s->secret, s->secret_len,
                                   params))
        return ND_EIO;
    return ND_OK;
}

nd_err_t nd_binance_signer_create(nd_binance_key_type_t type, const char *key, size_t key_len,
                                  nd_binance_signer_t **out, char *err, size_t err_len)
{
    ND_ASSERT(key != NULL && out != NULL);
    ND_ASSERT(err != NULL || err_len == 0);
    if ((unsigned)type > ND_BINANCE_KEY_RSA || key_len == 0 || key_len > INT32_MAX) {
        snprintf(err, err_len, "no key, or an unknown key type");
        return ND_EINVAL;
    }
    size_t label_len = 0;
    if (type == ND_BINANCE_KEY_HMAC && pem_label(key, key_len, &label_len)) {
        snprintf(err, err_len, "the key is a PEM key, not an HMAC secret: use --key-type "
                               "ed25519 or rsa");
        return ND_EINVAL;
    }
    nd_binance_signer_t *s = nd_calloc(1, sizeof *s);
    if (!s)
        return ND_ENOMEM;
    s->type = type;
    nd_err_t rc = ND_OK;
    if (type == ND_BINANCE_KEY_HMAC) {
        s->secret = nd_alloc(key_len + 1);
        rc = s->secret ? ND_OK : ND_ENOMEM;
        if (rc == ND_OK) {
            memcpy(s->secret, key, key_len);
            s->secret[key_len] = '\0';
            s->secret_len = key_len;
            rc = key_hmac(s);
        }
    } else {
        rc = load_pkey(type, key, key_len, &s->pkey, err, err_len);
    }
    if (rc != ND_OK) {
        nd_binance_signer_destroy(s);
        return rc;
    }
    *out = s;
    return ND_OK;
}

nd_binance_key_type_t nd_binance_signer_type(const nd_binance_signer_t *signer)
{
    ND_ASSERT(signer != NULL);
    return signer->type;
}

void nd_binance_signer_destroy(nd_binance_signer_t *signer)
{
    if (!signer)
        return;
    EVP_MAC_CTX_free(signer->keyed);
    EVP_MAC_free(signer->mac);
    if (signer->secret) {
        explicit_bzero(signer->secret, signer->secret_len);
        nd_free(signer->secret);
    }
    EVP_PKEY_free(signer->pkey);
    nd_free(signer);
}

/* Signs query then body with the private key into sig (raw bytes, *sig_len). Ed25519 signs the
 * message itself (no separate digest: the payload is joined first); RSA is
 * RSASSA-PKCS1-v1_5 over SHA-256, OpenSSL's default padding for an RSA key. */
static nd_err_t sign_pkey(const nd_binance_signer_t *s, const char *query, size_t query_len,
                          const char *body, size_t body_len, unsigned char *sig, size_t *sig_len)
{
    char stack[PAYLOAD_STACK_MAX];
    size_t len = query_len + body_len;
    char *payload = len <= sizeof stack ? stack : nd_alloc(len);
    if (!payload)
        return ND_ENOMEM;
    if (query_len)
        memcpy(payload, query, query_len);
    if (body_len)
        memcpy(payload + query_len, body, body_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const char *digest = s->type == ND_BINANCE_KEY_RSA ? "SHA256" : NULL;
    nd_err_t rc = md && EVP_DigestSignInit_ex(md, NULL, digest, NULL, NULL, s->pkey, NULL) == 1 &&
                          EVP_DigestSign(md, sig, sig_len, (const unsigned char *)payload, len) == 1
                      ? ND_OK
                      : ND_EIO;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (payload != stack)
        nd_free(payload);
    return rc;
}

/* Writes base64 text, URL-encoded when asked ('+' '/' '=' escaped), into out. */
static nd_err_t put_base64(const unsigned char *sig, size_t sig_len, bool url_encoded, char *out,
                           size_t cap, size_t *out_len)
{
    char b64[ND_BINANCE_SIGNATURE_MAX];
    ND_ASSERT(sig_len <= RSA_BITS_MAX / 8);
    int n = EVP_EncodeBlock((unsigned char *)b64, sig, (int)sig_len);
    ND_ASSERT(n > 0 && (size_t)n < sizeof b64);
    size_t w = 0;
    for (int i = 0; i < n; i++) {
        char c = b64[i];
        bool esc = url_encoded && (c == '+' || c == '/' || c == '=');
        if (w + (esc ? 3 : 1) >= cap)
            return ND_EFULL;
        if (esc) {
            out[w++] = '%';
            out[w++] = "0123456789ABCDEF"[(unsigned char)c >> 4];
            out[w++] = "0123456789ABCDEF"[(unsigned char)c & 15];
        } else {
            out[w++] = c;
        }
    }
    out[w] = '\0';
    *out_len = w;
    return ND_OK;
}

nd_err_t nd_binance_signer_sign(const nd_binance_signer_t *s, const char *query,
                                size_t query_len, const char *body, size_t body_len,
                                bool url_encoded, char *out, size_t cap, size_t *out_len)
{
    ND_ASSERT(s != NULL && out != NULL && out_len != NULL);
    ND_ASSERT(query != NULL || query_len == 0);
    ND_ASSERT(body != NULL || body_len == 0);
    if (s->type == ND_BINANCE_KEY_HMAC) {
        if (cap < 65)
            return ND_EFULL;
        EVP_MAC_CTX *c = EVP_MAC_CTX_dup(s->keyed);
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t mac_len = 0;
        bool ok = c && EVP_MAC_update(c, (const unsigned char *)query, query_len) &&
                  EVP_MAC_update(c, (const unsigned char *)body, body_len) &&
                  EVP_MAC_final(c, mac, &mac_len, sizeof mac) && mac_len == 32;
        EVP_MAC_CTX_free(c);
        if (!ok)
            return ND_EIO;
        hex_of(mac, (unsigned int)mac_len, out);
        explicit_bzero(mac, sizeof mac);
        *out_len = 64;
        return ND_OK;
    }
    unsigned char sig[RSA_BITS_MAX / 8];
    size_t sig_len = sizeof sig;
    nd_err_t rc = sign_pkey(s, query, query_len, body, body_len, sig, &sig_len);
    if (rc == ND_OK)
        rc = put_base64(sig, sig_len, url_encoded, out, cap, out_len);
    explicit_bzero(sig, sizeof sig);
    return rc;
}
