/* test_keys.h: RSA keys made on the fly for the signing tests (test_binance_sign.c,
 * test_xsim_auth.c): one helper, included by each test executable. */
#ifndef NODERR_TEST_KEYS_H
#define NODERR_TEST_KEYS_H

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* A fresh RSA key of bits: PKCS#8 PEM into pem, its public half into pub. */
static inline void test_rsa_key(int bits, char *pem, size_t pem_cap, char *pub, size_t pub_cap)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    cr_assert_not_null(k);
    BIO *b = BIO_new(BIO_s_mem()), *p = BIO_new(BIO_s_mem());
    cr_assert_eq(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
    cr_assert_eq(PEM_write_bio_PUBKEY(p, k), 1);
    int n = BIO_read(b, pem, (int)pem_cap - 1), m = BIO_read(p, pub, (int)pub_cap - 1);
    cr_assert(n > 0 && m > 0);
    pem[n] = '\0';
    pub[m] = '\0';
    BIO_free(b);
    BIO_free(p);
    EVP_PKEY_free(k);
}

#endif
