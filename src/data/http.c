/* http.c: HTTP GETs for the downloader, over libcurl.
 *
 * One easy handle is reused for every request of a fetch (connection reuse). TLS verification
 * stays on (peer and host), only http and https are allowed (also after a redirect), redirects
 * are followed (at most 5), connecting and a stalled transfer time out, and the HTTP status is
 * checked: a 404 is ND_ENOTFOUND ("not published"), any other failure ND_EIO, each message
 * naming the URL. Bodies are bounded: a response over its cap is cut off with an error. */
#include "data/data_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <curl/curl.h>
#include <string.h>

#define REDIRECTS_MAX 5L

struct nd__data_http {
    CURL *curl;
    char curl_err[CURL_ERROR_SIZE];
};

/* State of one transfer, shared with the write callback. */
typedef struct sink {
    char *buf;               /* memory sink, or NULL */
    size_t cap;
    size_t len;
    nd__data_writer_t *writer; /* file sink, or NULL */
    int64_t max_bytes;
    int64_t bytes;
    int too_big;
    nd__data_bytes_cb bytes_cb;
    void *ctx;
} sink_t;

static size_t on_data(char *data, size_t size, size_t count, void *userdata)
{
    sink_t *s = userdata;
    size_t n = size * count;
    if (s->bytes + (int64_t)n > s->max_bytes) {
        s->too_big = 1;
        return 0; /* makes curl stop with CURLE_WRITE_ERROR */
    }
    if (s->writer != NULL) {
        nd__data_writer_put(s->writer, data, n);
        if (s->writer->failed)
            return 0;
    } else {
        ND_ASSERT(s->len + n <= s->cap);
        memcpy(s->buf + s->len, data, n);
        s->len += n;
    }
    s->bytes += (int64_t)n;
    return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)ultotal;
    (void)ulnow;
    sink_t *s = userdata;
    if (s->bytes_cb != NULL)
        s->bytes_cb(s->ctx, (int64_t)dlnow, (int64_t)dltotal);
    return 0;
}

nd_err_t nd__data_http_new(long timeout_sec, nd__data_http_t **out, char *err, size_t err_len)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(timeout_sec > 0);
    nd__data_http_t *h = nd_calloc(1, sizeof *h);
    if (h == NULL || (h->curl = curl_easy_init()) == NULL) {
        nd_free(h);
        nd_err_put(err, err_len, "cannot start the HTTP client (libcurl)");
        return ND_ENOMEM;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, REDIRECTS_MAX);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout_sec);
    /* A transfer slower than 1 byte/s for timeout_sec is stalled; a total timeout would cut
     * off a large archive on a slow but live link. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout_sec);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "noderr/0.1.0 (data fetch)");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    *out = h;
    return ND_OK;
}

void nd__data_http_free(nd__data_http_t *http)
{
    if (http == NULL)
        return;
    curl_easy_cleanup(http->curl);
    nd_free(http);
}

/* Runs the request set up in s and turns the outcome into an error naming the URL. */
static nd_err_t perform(nd__data_http_t *h, const char *url, sink_t *s, char *err,
                        size_t err_len)
{
    h->curl_err[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(h->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max_bytes);
    CURLcode cc = curl_easy_perform(h->curl);
    if (cc == CURLE_OK)
        return ND_OK;
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_HTTP_RETURNED_ERROR && status == 404) {
        nd_err_put(err, err_len, "%s: HTTP 404: not published (the server has no such "
                         "file)", url);
        return ND_ENOTFOUND;
    }
    if (cc == CURLE_HTTP_RETURNED_ERROR) {
        nd_err_put(err, err_len, "%s: HTTP %ld", url, status);
        return ND_EIO;
    }
    if (s->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        nd_err_put(err, err_len, "%s: response larger than %lld bytes", url,
                         (long long)s->max_bytes);
        return ND_EIO;
    }
    if (s->writer != NULL && s->writer->failed) {
        nd_err_put(err, err_len, "%s: cannot write the download to disk", url);
        return ND_EIO;
    }
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        nd_err_put(err, err_len, "%s: timed out (%s)", url,
                         h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc));
        return ND_EIO;
    }
    nd_err_put(err, err_len, "%s: %s%s%s", url, curl_easy_strerror(cc),
                     h->curl_err[0] ? ": " : "", h->curl_err);
    return ND_EIO;
}

nd_err_t nd__data_http_get_mem(nd__data_http_t *http, const char *url, char *buf, size_t cap,
                               size_t *len, char *err, size_t err_len)
{
    ND_ASSERT(http != NULL && url != NULL);
    ND_ASSERT(buf != NULL && cap > 0);
    sink_t s = {.buf = buf, .cap = cap, .max_bytes = (int64_t)cap};
    nd_err_t rc = perform(http, url, &s, err, err_len);
    if (rc != ND_OK)
        return rc;
    ND_ASSERT(s.len <= cap);
    *len = s.len;
    return ND_OK;
}

nd_err_t nd__data_http_get_file(nd__data_http_t *http, const char *url, nd__data_writer_t *w,
                                int64_t max_bytes, nd__data_bytes_cb bytes_cb, void *ctx,
                                char *err, size_t err_len)
{
    ND_ASSERT(http != NULL && url != NULL);
    ND_ASSERT(w != NULL && max_bytes > 0);
    sink_t s = {.writer = w, .max_bytes = max_bytes, .bytes_cb = bytes_cb, .ctx = ctx};
    return perform(http, url, &s, err, err_len);
}
