/* secret.c: API credentials from the environment or a private file (venue.h).
 *
 * Invariants: a secret value is never copied into err, never logged, and wiped with
 * explicit_bzero when the caller is done; a secrets file is refused unless it is a regular
 * file that only its owner can read (mode 0600 or 0400), because a group- or world-readable
 * key file is a leak already. A secrets file is either `name=value` lines or a bare PEM private
 * key (Binance Ed25519/RSA keys, as `openssl genpkey` writes them). Error messages name the variable or file and the rule broken,
 * never the value. */
#include "noderr/venue.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies src into dst (cap bytes); false when it does not fit or is empty. */
static bool take(char *dst, size_t cap, const char *src, size_t len)
{
    if (len == 0 || len >= cap)
        return false;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

/* A PEM key pasted from Coinbase's JSON key file carries its newlines as the two characters
 * backslash-n, and a multi-line file value may end lines with CR: restore plain newlines. Only
 * a PEM value is touched, where neither a backslash nor a CR can be meant literally. */
static void pem_normalise(char *v)
{
    if (strncmp(v, "-----BEGIN ", 11) != 0)
        return;
    char *w = v;
    for (const char *r = v; *r; r++) {
        if (r[0] == '\\' && r[1] == 'n') {
            *w++ = '\n';
            r++;
        } else if (*r != '\r') {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static nd_err_t from_env(const char *venue, nd_secret_t *s, char *err, size_t err_len)
{
    char name[96];
    snprintf(name, sizeof name, "NODERR_%s_API_KEY", venue);
    const char *key = getenv(name);
    snprintf(name, sizeof name, "NODERR_%s_API_SECRET", venue);
    const char *secret = getenv(name);
    if (!key && !secret)
        return ND_ENOTFOUND;
    if (!secret || !take(s->api_secret, sizeof s->api_secret, secret, strlen(secret))) {
        snprintf(err, err_len, "NODERR_%s_API_SECRET is unset, empty or too long", venue);
        return ND_EINVAL;
    }
    /* The key is optional for commands that only sign (noderr sign). */
    if (key && !take(s->api_key, sizeof s->api_key, key, strlen(key))) {
        snprintf(err, err_len, "NODERR_%s_API_KEY is empty or too long", venue);
        return ND_EINVAL;
    }
    pem_normalise(s->api_secret);
    snprintf(name, sizeof name, "NODERR_%s_API_PASSPHRASE", venue);
    const char *pass = getenv(name);
    if (!pass) {
        snprintf(name, sizeof name, "NODERR_%s_PASSPHRASE", venue);
        pass = getenv(name);
    }
    if (pass)
        s->has_passphrase = take(s->passphrase, sizeof s->passphrase, pass, strlen(pass));
    return ND_OK;
}

/* One `name=value` line of a secrets file. */
static bool file_line(nd_secret_t *s, const char *line, size_t len)
{
    const char *eq = memchr(line, '=', len);
    if (!eq)
        return false;
    size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
    const char *v = eq + 1;
    if (klen == 7 && memcmp(line, "api_key", 7) == 0)
        return take(s->api_key, sizeof s->api_key, v, vlen);
    if (klen == 10 && memcmp(line, "api_secret", 10) == 0)
        return take(s->api_secret, sizeof s->api_secret, v, vlen);
    if (klen == 10 && memcmp(line, "passphrase", 10) == 0)
        return (s->has_passphrase = take(s->passphrase, sizeof s->passphrase, v, vlen));
    return false;
}

/* A line "api_secret=-----BEGIN ..." without its END line opens a multi-line PEM block: the
 * length from pos through the line that starts with "-----END", or 0 when there is none. */
static size_t pem_block_len(const char *buf, size_t n, size_t pos, size_t line_len)
{
    static const char open[] = "api_secret=-----BEGIN ";
    if (line_len < sizeof open - 1 || memcmp(buf + pos, open, sizeof open - 1) != 0 ||
        memmem(buf + pos, line_len, "-----END ", 9))
        return line_len;
    for (size_t at = pos + line_len + 1; at < n;) {
        const char *nl = memchr(buf + at, '\n', n - at);
        size_t end = nl ? (size_t)(nl - buf) : n;
        if (end - at >= 9 && memcmp(buf + at, "-----END ", 9) == 0)
            return end - pos;
        at = end + 1;
    }
    return 0;
}

static nd_err_t parse_file(const char *path, const char *buf, size_t n, nd_secret_t *s,
                           char *err, size_t err_len)
{
    size_t pos = 0;
    int line_no = 0;
    while (pos < n) {
        const char *nl = memchr(buf + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - buf) : n, len = end - pos;
        line_no++;
        if (len > 0 && buf[pos + len - 1] == '\r')
            len--;
        size_t value_len = len > 0 ? pem_block_len(buf, n, pos, len) : 0;
        if (len > 0 && value_len == 0) {
            snprintf(err, err_len, "%s:%d: a PEM api_secret without its -----END line", path,
                     line_no);
            return ND_EINVAL;
        }
        if (value_len > len) { /* a PEM block: continue after its END line */
            for (size_t i = pos + len; i < pos + value_len; i++)
                line_no += buf[i] == '\n';
            len = value_len;
            end = pos + value_len;
        }
        if (len > 0 && buf[pos] != '#' && !file_line(s, buf + pos, len)) {
            snprintf(err, err_len, "%s:%d: expected api_key=, api_secret= or passphrase=", path,
                     line_no);
            return ND_EINVAL;
        }
        pos = end + 1;
    }
    pem_normalise(s->api_secret);
    if (s->api_secret[0] == '\0') {
        snprintf(err, err_len, "%s: no api_secret= line", path);
        return ND_EINVAL;
    }
    return ND_OK;
}

/* A secrets file holds a key and a PEM block at most (a 4096-bit RSA key is ~3.3 KB of PEM):
 * anything larger is not one. */
#define SECRETS_FILE_BYTES_MAX 6143

/* A bare PEM private key file (what `openssl genpkey` writes): the whole file is the secret,
 * and the API key, which is no secret, may come from NODERR_<VENUE>_API_KEY. */
static nd_err_t parse_pem_file(const char *venue, const char *path, const char *buf, size_t n,
                               nd_secret_t *s, char *err, size_t err_len)
{
    if (!take(s->api_secret, sizeof s->api_secret, buf, n)) {
        snprintf(err, err_len, "%s: a PEM key longer than %zu bytes", path,
                 sizeof s->api_secret - 1);
        return ND_EINVAL;
    }
    if (!memmem(buf, n, "-----END ", 9)) {
        snprintf(err, err_len, "%s: a PEM key without its -----END line", path);
        return ND_EINVAL;
    }
    pem_normalise(s->api_secret);
    char name[96];
    snprintf(name, sizeof name, "NODERR_%s_API_KEY", venue);
    const char *key = getenv(name);
    if (key && !take(s->api_key, sizeof s->api_key, key, strlen(key))) {
        snprintf(err, err_len, "%s is empty or too long", name);
        return ND_EINVAL;
    }
    return ND_OK;
}

static bool starts_pem(const char *buf, size_t n)
{
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return n - i >= 11 && memcmp(buf + i, "-----BEGIN ", 11) == 0;
}

static nd_err_t from_file(const char *venue, const char *path, nd_secret_t *s, char *err,
                          size_t err_len)
{
    /* nd_file_read refuses a FIFO, a device, a directory or a symlink before it opens anything,
     * so a wrong --secrets-file can never block the command. */
    char *buf = NULL;
    size_t n = 0;
    nd_err_t rc = nd_file_read(path, SECRETS_FILE_BYTES_MAX, ND_FILE_PRIVATE, &buf, &n, err,
                               err_len);
    if (rc != ND_OK)
        return ND_EINVAL;
    rc = starts_pem(buf, n) ? parse_pem_file(venue, path, buf, n, s, err, err_len)
                            : parse_file(path, buf, n, s, err, err_len);
    explicit_bzero(buf, n);
    nd_free(buf);
    return rc;
}

nd_err_t nd_secret_load(const char *venue, const char *path, nd_secret_t *out, char *err,
                        size_t err_len)
{
    ND_ASSERT(venue != NULL && out != NULL);
    ND_ASSERT(err != NULL || err_len == 0);
    nd_secret_t s;
    memset(&s, 0, sizeof s);
    if (!path) {
        char name[96];
        snprintf(name, sizeof name, "NODERR_%s_SECRETS_FILE", venue);
        path = getenv(name);
    }
    nd_err_t rc = path ? from_file(venue, path, &s, err, err_len) : from_env(venue, &s, err, err_len);
    if (rc == ND_ENOTFOUND && err_len > 0)
        snprintf(err, err_len, "no NODERR_%s_API_KEY/_API_SECRET and no secrets file", venue);
    if (rc == ND_OK)
        *out = s;
    explicit_bzero(&s, sizeof s);
    return rc;
}

void nd_secret_wipe(nd_secret_t *secret)
{
    if (secret)
        explicit_bzero(secret, sizeof *secret);
}
