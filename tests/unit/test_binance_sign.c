/* test_binance_sign.c: the Binance signer for every key type (binance_sign.c): the shared
 * Ed25519 known answer (plain and URL-encoded), RSA checked against OpenSSL's own verify with
 * the public key, HMAC through the signer equal to nd_binance_sign, and the refusals: a
 * public key, a key of the other type, a PEM key as an HMAC secret, an encrypted key, a
 * short RSA key, garbage; none of the messages quotes the key. */
#include "noderr/binance.h"

#include <criterion/criterion.h>

#include "test_keys.h"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define KAT ND_SHARED_DIR "/fixtures/binance/signing/ed25519_kat_1_query.json"

/* The fixture's key and answer, embedded so that the test runs without ../shared too. */
static const char ed_priv[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MC4CAQAwBQYDK2VwBCIEIIiu/qKnmeYEFnCfWYUxcvQV3HLgJWJXiJ4Fxe0xmDp0\n"
                              "-----END PRIVATE KEY-----\n";
static const char ed_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MCowBQYDK2VwAyEAclVslm0blBT9nXk29CTLHCXVo3uRKYygAd/jLMVCOts=\n"
                             "-----END PUBLIC KEY-----\n";
static const char ed_payload[] = "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1"
                                 "&price=0.2&timestamp=1668481559918&recvWindow=5000";
static const char ed_sig[] = "qOxVIUSbX6psfFpHimJjipqjmMcCaDI8kMQj/soMG20otDLZ1rISjnzV8FXRMPS8b"
                             "dhkRACndBpnKUPX5YgZAA==";
static const char ed_sig_url[] = "qOxVIUSbX6psfFpHimJjipqjmMcCaDI8kMQj%2FsoMG20otDLZ1rISjnzV8FXRMPS8"
                                 "bdhkRACndBpnKUPX5YgZAA%3D%3D";

static nd_binance_signer_t *make(nd_binance_key_type_t type, const char *key)
{
    nd_binance_signer_t *s = NULL;
    char err[256] = "";
    nd_err_t rc = nd_binance_signer_create(type, key, strlen(key), &s, err, sizeof err);
    cr_assert_eq(rc, ND_OK, "%s", err);
    cr_assert_eq(nd_binance_signer_type(s), type);
    return s;
}

static void sign(nd_binance_signer_t *s, const char *q, const char *b, bool url, char *out,
                 size_t cap)
{
    size_t n = 0;
    cr_assert_eq(nd_binance_signer_sign(s, q, strlen(q), b, strlen(b), url, out, cap, &n), ND_OK);
    cr_assert_eq(n, strlen(out));
}

Test(binance_signer, ed25519_known_answer)
{
    nd_binance_signer_t *s = make(ND_BINANCE_KEY_ED25519, ed_priv);
    char sig[ND_BINANCE_SIGNATURE_MAX];
    sign(s, ed_payload, "", false, sig, sizeof sig);
    cr_assert_str_eq(sig, ed_sig);
    sign(s, ed_payload, "", true, sig, sizeof sig);
    cr_assert_str_eq(sig, ed_sig_url);
    /* The payload is query then body with no separator: any split signs the same bytes. */
    sign(s, "symbol=BTCUSDT&side=SELL&type=LIMIT", ed_payload + 35, false, sig, sizeof sig);
    cr_assert_str_eq(sig, ed_sig);
    sign(s, "", ed_payload, false, sig, sizeof sig);
    cr_assert_str_eq(sig, ed_sig);
    /* Too small an output buffer is an error, never a cut signature. */
    size_t n = 0;
    cr_assert_eq(nd_binance_signer_sign(s, "a", 1, NULL, 0, false, sig, 88, &n), ND_EFULL);
    cr_assert_eq(nd_binance_signer_sign(s, "a", 1, NULL, 0, false, sig, 89, &n), ND_OK);
    cr_assert_eq(n, 88);
    nd_binance_signer_destroy(s);
}

/* The fixture file itself, when ../shared is there: its key, payload and both answers. */
Test(binance_signer, shared_fixture)
{
    struct stat st;
    if (stat(KAT, &st) != 0)
        cr_skip_test("%s absent", KAT);
    static char buf[8192];
    FILE *f = fopen(KAT, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    nd_jtok_t tok[64];
    uint32_t count;
    cr_assert_eq(nd_json_tokenize(buf, n, tok, 64, &count), ND_OK);
    char pem[512], payload[512], want[128], want_url[160], sig[ND_BINANCE_SIGNATURE_MAX];
    const char *keys[] = {"privateKeyPem", "signaturePayload", "signature", "signatureUrlEncoded"};
    char *slots[] = {pem, payload, want, want_url};
    size_t caps[] = {sizeof pem, sizeof payload, sizeof want, sizeof want_url};
    for (int i = 0; i < 4; i++) {
        uint32_t v = nd_json_get(buf, tok, 0, keys[i]);
        cr_assert_neq(v, 0, "%s missing", keys[i]);
        cr_assert_eq(nd_json_string(buf, &tok[v], slots[i], caps[i], NULL), ND_OK);
    }
    nd_binance_signer_t *s = make(ND_BINANCE_KEY_ED25519, pem);
    sign(s, payload, "", false, sig, sizeof sig);
    cr_assert_str_eq(sig, want);
    sign(s, payload, "", true, sig, sizeof sig);
    cr_assert_str_eq(sig, want_url);
    nd_binance_signer_destroy(s);
}

Test(binance_signer, rsa_pkcs1_sha256_verifies)
{
    static char pem[4096], pub[1024];
    test_rsa_key(2048, pem, sizeof pem, pub, sizeof pub);
    nd_binance_signer_t *s = make(ND_BINANCE_KEY_RSA, pem);
    char sig[ND_BINANCE_SIGNATURE_MAX], again[ND_BINANCE_SIGNATURE_MAX];
    sign(s, "symbol=BTCUSDT&side=BUY", "&quantity=1", false, sig, sizeof sig);
    cr_assert_eq(strlen(sig), 344); /* 256 bytes in base64 */
    sign(s, "symbol=BTCUSDT&side=BUY&quantity=1", "", false, again, sizeof again);
    cr_assert_str_eq(sig, again, "PKCS#1 v1.5 is deterministic");
    unsigned char raw[512];
    int raw_len = EVP_DecodeBlock(raw, (const unsigned char *)sig, (int)strlen(sig));
    cr_assert_eq(raw_len, 258); /* 256 and two padding bytes counted as zeros */
    BIO *b = BIO_new_mem_buf(pub, -1);
    EVP_PKEY *k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    const char *msg = "symbol=BTCUSDT&side=BUY&quantity=1";
    cr_assert_eq(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, k), 1);
    cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
    cr_assert_eq(EVP_DigestVerify(md, raw, 256, (const unsigned char *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    /* URL-encoded: no '+', '/' or '=' left, and it decodes back to the same text. */
    sign(s, msg, "", true, again, sizeof again);
    cr_assert_null(strpbrk(again, "+/="));
    nd_binance_signer_destroy(s);
}

Test(binance_signer, hmac_through_the_signer)
{
    nd_binance_signer_t *s = make(ND_BINANCE_KEY_HMAC, "k3y");
    char sig[ND_BINANCE_SIGNATURE_MAX], hex[65];
    sign(s, "symbol=BTCUSDT", "quantity=1&price=2", true, sig, sizeof sig);
    cr_assert_eq(nd_binance_sign("k3y", 3, "symbol=BTCUSDT", 14, "quantity=1&price=2", 18, hex),
                 ND_OK);
    cr_assert_str_eq(sig, hex);
    cr_assert_str_eq(sig, "a2df1d695e3fbd89df83feb1fed3fb4bd4e61583a3a06429b95a6555daef44d8");
    nd_binance_signer_destroy(s);
}

/* Expects create to refuse key as type with a message containing want, and not the key. */
static void refused(nd_binance_key_type_t type, const char *key, const char *want)
{
    nd_binance_signer_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(nd_binance_signer_create(type, key, strlen(key), &s, err, sizeof err), ND_EINVAL,
                 "accepted for %s", want);
    cr_assert_null(s);
    cr_assert_not_null(strstr(err, want), "'%s' does not say '%s'", err, want);
    cr_assert_null(strstr(err, "MC4CAQAw"), "the message quotes the key");
}

Test(binance_signer, refusals_name_the_problem)
{
    refused(ND_BINANCE_KEY_ED25519, ed_pub, "public key");
    refused(ND_BINANCE_KEY_RSA, ed_pub, "public key");
    refused(ND_BINANCE_KEY_RSA, ed_priv, "an Ed25519 key, not RSA");
    refused(ND_BINANCE_KEY_HMAC, ed_priv, "not an HMAC secret");
    refused(ND_BINANCE_KEY_ED25519, "NhqPtmdSJYdKjVHjA7PZj4Mge3R5", "not a PEM key");
    refused(ND_BINANCE_KEY_ED25519, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw!!\n"
                                    "-----END PRIVATE KEY-----\n", "OpenSSL can read");
    refused(ND_BINANCE_KEY_ED25519, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIIiu",
            "OpenSSL can read");
    refused(ND_BINANCE_KEY_ED25519, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIGb\n"
                                    "-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted");
    static char pem[4096], pub[1024];
    test_rsa_key(2048, pem, sizeof pem, pub, sizeof pub);
    refused(ND_BINANCE_KEY_ED25519, pem, "an RSA key, not Ed25519");
    refused(ND_BINANCE_KEY_RSA, pub, "public key");
    test_rsa_key(1024, pem, sizeof pem, pub, sizeof pub);
    refused(ND_BINANCE_KEY_RSA, pem, "1024 bits");
    /* An EC key (Coinbase's kind) is neither. */
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    cr_assert_eq(PEM_write_bio_PrivateKey(b, ec, NULL, NULL, 0, NULL, NULL), 1);
    int n = BIO_read(b, pem, (int)sizeof pem - 1);
    pem[n > 0 ? n : 0] = '\0';
    BIO_free(b);
    EVP_PKEY_free(ec);
    refused(ND_BINANCE_KEY_ED25519, pem, "neither Ed25519 nor RSA");
    nd_binance_signer_t *s = NULL;
    char err[64];
    cr_assert_eq(nd_binance_signer_create(ND_BINANCE_KEY_HMAC, "", 0, &s, err, sizeof err),
                 ND_EINVAL);
    cr_assert_eq(nd_binance_signer_create((nd_binance_key_type_t)7, "k", 1, &s, err, sizeof err),
                 ND_EINVAL);
}

Test(binance_signer, key_type_names)
{
    nd_binance_key_type_t t;
    const char *names[] = {"hmac", "ed25519", "rsa"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(nd_binance_key_type_parse(names[i], &t), ND_OK);
        cr_assert_eq((int)t, i);
        cr_assert_str_eq(nd_binance_key_type_name(t), names[i]);
    }
    cr_assert_eq(nd_binance_key_type_parse("ED25519", &t), ND_EINVAL);
    cr_assert_eq(nd_binance_key_type_parse("", &t), ND_EINVAL);
    cr_assert_str_eq(nd_binance_key_type_name((nd_binance_key_type_t)9), "unknown");
}
