/* http.c: a small blocking HTTP client over libcurl for venue REST calls (venue.h).
 *
 * One easy handle per client, reused so that keep-alive connections survive between calls.
 * Response bodies and header blocks are collected into nd_alloc'd buffers capped at 64 MiB,
 * so a hostile server cannot exhaust memory. Errors name the transport failure (libcurl's
 * message) but never echo request headers, which may carry API keys. */
#include "noderr/venue.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTTP_BODY_MAX (64u << 20)

struct nd_http {
    CURL *curl;
    long timeout_ms;
};

typedef struct grow {
    char *buf;
    size_t len, cap;
    bool too_big;
} grow_t;

static size_t grow_append(grow_t *g, const char *data, size_t n)
{
    if (g->len + n + 1 > HTTP_BODY_MAX) {
        g->too_big = true;
        return 0; /* makes libcurl abort the transfer */
    }
    char *bigger = nd_array_grow(g->buf, &g->cap, g->len + n + 1, 1, 4096);
    if (!bigger)
        return 0;
    g->buf = bigger;
    memcpy(g->buf + g->len, data, n);
    g->len += n;
    g->buf[g->len] = '\0';
    return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ctx)
{
    return grow_append(ctx, data, size * nmemb);
}

nd_err_t nd_http_create(long timeout_ms, nd_http_t **out)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(timeout_ms >= 0);
    static bool global_done;
    if (!global_done) {
        /* Not thread-safe by libcurl's contract: clients are created at start-up. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return ND_EIO;
        global_done = true;
    }
    nd_http_t *h = nd_calloc(1, sizeof *h);
    if (!h)
        return ND_ENOMEM;
    h->curl = curl_easy_init();
    if (!h->curl) {
        nd_free(h);
        return ND_EIO;
    }
    h->timeout_ms = timeout_ms ? timeout_ms : 10000;
    *out = h;
    return ND_OK;
}

void nd_http_destroy(nd_http_t *http)
{
    if (!http)
        return;
    curl_easy_cleanup(http->curl);
    nd_free(http);
}

static struct curl_slist *make_headers(const char *const *headers)
{
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *next = curl_slist_append(list, headers[i]);
        if (!next) {
            curl_slist_free_all(list);
            return NULL;
        }
        list = next;
    }
    /* libcurl would otherwise add "Expect: 100-continue" and wait on larger bodies. */
    struct curl_slist *next = curl_slist_append(list, "Expect:");
    if (!next)
        curl_slist_free_all(list);
    return next;
}

nd_err_t nd_http_request(nd_http_t *http, const char *method, const char *url,
                         const char *const *headers, const char *body, nd_http_response_t *out,
                         char *err, size_t err_len)
{
    ND_ASSERT(http != NULL && method != NULL && url != NULL);
    ND_ASSERT(out != NULL);
    CURL *c = http->curl;
    grow_t b = {0}, h = {0};
    struct curl_slist *list = make_headers(headers);
    if (!list)
        return ND_ENOMEM;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, http->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(list);
    if (rc != CURLE_OK || b.too_big || h.too_big) {
        snprintf(err, err_len, "%s %s: %s", method, url,
                 b.too_big || h.too_big ? "response too large" : curl_easy_strerror(rc));
        nd_free(b.buf);
        nd_free(h.buf);
        return ND_EIO;
    }
    memset(out, 0, sizeof *out);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    if (!b.buf)
        b.buf = nd_calloc(1, 1); /* an empty body is still a NUL-terminated string */
    out->body = b.buf;
    out->body_len = b.len;
    out->headers = h.buf;
    out->headers_len = h.len;
    return out->body ? ND_OK : ND_ENOMEM;
}

bool nd_http_header(const nd_http_response_t *resp, const char *name, char *buf, size_t cap)
{
    ND_ASSERT(resp != NULL && name != NULL);
    ND_ASSERT(cap > 0);
    size_t n = strlen(name);
    const char *p = resp->headers;
    bool found = false;
    /* After redirects the block holds several responses: the last match wins. */
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
            const char *v = p + n + 1;
            size_t vlen = len - n - 1;
            while (vlen > 0 && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
                vlen--;
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            found = true;
        }
        p = eol ? eol + 1 : NULL;
    }
    return found;
}

void nd_http_response_free(nd_http_response_t *resp)
{
    if (!resp)
        return;
    nd_free(resp->body);
    nd_free(resp->headers);
    memset(resp, 0, sizeof *resp);
}
