/* http.c: the HTTP client over libcurl for venue REST calls (venue.h): a blocking one
 * (nd_http_t) and a non-blocking one on a libuv loop (nd_http_async_t, libcurl's multi
 * interface).
 *
 * One easy handle per blocking client, reused so that keep-alive connections survive between
 * calls; the non-blocking client keeps slot_count easy handles, set up once, over one
 * kept-alive connection.
 * Response bodies and header blocks are collected into nd_alloc'd buffers capped at 64 MiB,
 * so a hostile server cannot exhaust memory. Errors name the transport failure (libcurl's
 * message) but never echo request headers, which may carry API keys. */
#include "noderr/venue.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <uv.h>
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

static bool global_init(void)
{
    static bool global_done;
    if (!global_done) {
        /* Not thread-safe by libcurl's contract: clients are created at start-up. */
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return false;
        global_done = true;
    }
    return true;
}

nd_err_t nd_http_create(long timeout_ms, nd_http_t **out)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(timeout_ms >= 0);
    if (!global_init())
        return ND_EIO;
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

/* ---- The non-blocking client ----------------------------------------------------------- */

#define ASYNC_SLOTS_MAX 64

typedef struct slot {
    CURL *curl;
    bool busy;
    grow_t body, head;
    nd_http_done_cb done_cb;
    void *ctx;
    char method[8];
} slot_t;

typedef struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    nd_http_async_t *owner;
    bool idle;                 /* stopped: libcurl no longer watches fd (kept for its reuse) */
    struct sock *prev, *next;  /* the client's open polls */
} sock_t;

struct nd_http_async {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct curl_slist *headers;
    slot_t *slots;
    uint32_t slot_count, busy;
    slot_t *active;            /* the one transfer on the connection, or NULL */
    uint32_t *queue;           /* slots waiting for it, in order (a ring of slot_count) */
    uint32_t queue_head, queue_count;
    uint32_t handles;          /* loop handles open (the timer, the sockets' polls) */
    sock_t *socks;             /* polls not yet closing */
    bool closing;
};

static void async_free(nd_http_async_t *a)
{
    for (uint32_t i = 0; a->slots && i < a->slot_count; i++) {
        nd_free(a->slots[i].body.buf);
        nd_free(a->slots[i].head.buf);
    }
    for (struct curl_slist *l = a->headers; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data)); /* an API key */
    curl_slist_free_all(a->headers);
    nd_free(a->slots);
    nd_free(a->queue);
    nd_free(a);
}

static void handle_closed(uv_handle_t *h)
{
    nd_http_async_t *a;
    if (h->type == UV_POLL) {
        sock_t *k = h->data;
        a = k->owner;
        nd_free(k);
    } else {
        a = h->data;
    }
    ND_ASSERT(a->handles > 0);
    if (--a->handles == 0 && a->closing)
        async_free(a);
}

/* Puts slot sl's transfer on the connection and drives it at once: on the kept-alive socket
 * its bytes are written before this returns. ND_EIO when libcurl refuses it. */
static nd_err_t start_slot(nd_http_async_t *a, slot_t *sl)
{
    ND_ASSERT(a->active == NULL);
    if (curl_multi_add_handle(a->multi, sl->curl) != CURLM_OK)
        return ND_EIO;
    a->active = sl;
    int running;
    curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    return ND_OK;
}

static void finish(nd_http_async_t *a, slot_t *sl, CURLcode rc)
{
    sl->busy = false;
    a->busy--;
    if (rc != CURLE_OK || sl->body.too_big || sl->head.too_big) {
        char err[256];
        snprintf(err, sizeof err, "%s: %s", sl->method,
                 sl->body.too_big || sl->head.too_big ? "response too large"
                                                      : curl_easy_strerror(rc));
        sl->done_cb(sl->ctx, ND_EIO, NULL, err);
        return;
    }
    nd_http_response_t resp = {.body = sl->body.buf ? sl->body.buf : "",
                               .body_len = sl->body.len,
                               .headers = sl->head.buf ? sl->head.buf : "",
                               .headers_len = sl->head.len};
    curl_easy_getinfo(sl->curl, CURLINFO_RESPONSE_CODE, &resp.status);
    sl->done_cb(sl->ctx, ND_OK, &resp, "");
}

/* Hands the finished transfer to its done_cb (the slot is free again before the call), then
 * starts the next one waiting. One at a time on the connection: libcurl's own queue for a
 * busy connection does not keep the order requests came in. */
static void check_done(nd_http_async_t *a)
{
    for (;;) {
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(a->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            slot_t *sl = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            ND_ASSERT(sl != NULL && sl->busy);
            ND_ASSERT(sl == a->active);
            CURLcode rc = m->data.result;
            curl_multi_remove_handle(a->multi, sl->curl);
            a->active = NULL;
            finish(a, sl, rc);
        }
        if (a->active || a->queue_count == 0)
            return;
        slot_t *next = &a->slots[a->queue[a->queue_head]];
        a->queue_head = (a->queue_head + 1) % a->slot_count;
        a->queue_count--;
        if (start_slot(a, next) != ND_OK)
            finish(a, next, CURLE_FAILED_INIT);
    }
}

static void on_timer(uv_timer_t *t)
{
    nd_http_async_t *a = t->data;
    int running;
    curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(a);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    sock_t *k = p->data;
    nd_http_async_t *a = k->owner;
    int flags = status < 0 ? CURL_CSELECT_ERR : 0, running;
    flags |= (events & UV_READABLE ? CURL_CSELECT_IN : 0) |
             (events & UV_WRITABLE ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(a->multi, k->fd, flags, &running);
    check_done(a);
}

/* libcurl's CURLMOPT_TIMERFUNCTION: one uv_timer (a 0 ms timeout runs on the next turn). */
static int timer_cb(CURLM *multi, long timeout_ms, void *ctx)
{
    (void)multi;
    nd_http_async_t *a = ctx;
    if (a->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&a->timer);
    else
        uv_timer_start(&a->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void sock_close(sock_t *k)
{
    nd_http_async_t *a = k->owner;
    if (k->prev)
        k->prev->next = k->next;
    else
        a->socks = k->next;
    if (k->next)
        k->next->prev = k->prev;
    uv_poll_stop(&k->poll);
    uv_close((uv_handle_t *)&k->poll, handle_closed);
}

/* The stopped poll of fd when libcurl watches it again (the next request on the kept-alive
 * connection: no allocation, no handle made); the stopped polls of other sockets (closed by
 * libcurl meanwhile) are closed. */
static sock_t *sock_reuse(nd_http_async_t *a, curl_socket_t fd)
{
    sock_t *found = NULL, *next;
    for (sock_t *k = a->socks; k; k = next) {
        next = k->next;
        if (k->idle && k->fd == fd && !found)
            found = k;
        else if (k->idle)
            sock_close(k);
    }
    if (found) {
        found->idle = false;
        curl_multi_assign(a->multi, fd, found);
    }
    return found;
}

/* libcurl's CURLMOPT_SOCKETFUNCTION: a uv_poll per socket, made when libcurl first asks to
 * watch it (a connection opened: not per request) and closed when it is removed. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *ctx, void *sockp)
{
    (void)easy;
    nd_http_async_t *a = ctx;
    sock_t *k = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (k) { /* libcurl removes the kept-alive socket after every transfer: keep its poll */
            uv_poll_stop(&k->poll);
            k->idle = true;
            curl_multi_assign(a->multi, fd, NULL);
        }
        return 0;
    }
    if (!k)
        k = sock_reuse(a, fd);
    if (!k) {
        k = nd_calloc(1, sizeof *k);
        if (!k || uv_poll_init_socket(a->loop, &k->poll, fd) != 0) {
            nd_free(k);
            return -1; /* libcurl fails the transfer */
        }
        k->fd = fd;
        k->owner = a;
        k->poll.data = k;
        k->next = a->socks;
        if (a->socks)
            a->socks->prev = k;
        a->socks = k;
        a->handles++;
        curl_multi_assign(a->multi, fd, k);
    }
    int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
    return uv_poll_start(&k->poll, events, on_poll) == 0 ? 0 : -1;
}

static bool slot_init(nd_http_async_t *a, slot_t *sl, long timeout_ms)
{
    sl->curl = curl_easy_init();
    if (!sl->curl)
        return false;
    CURL *c = sl->curl;
    curl_easy_setopt(c, CURLOPT_PRIVATE, sl);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, a->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sl->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sl->head);
    return true;
}

nd_err_t nd_http_async_create(void *uv_loop, long timeout_ms, const char *const *headers,
                              uint32_t slot_count, nd_http_async_t **out)
{
    ND_ASSERT(out != NULL);
    ND_ASSERT(timeout_ms >= 0);
    if (!uv_loop || slot_count == 0 || slot_count > ASYNC_SLOTS_MAX)
        return ND_EINVAL;
    if (!global_init())
        return ND_EIO;
    nd_http_async_t *a = nd_calloc(1, sizeof *a);
    if (!a)
        return ND_ENOMEM;
    a->loop = uv_loop;
    a->slots = nd_calloc(slot_count, sizeof *a->slots);
    a->queue = nd_calloc(slot_count, sizeof *a->queue);
    a->headers = make_headers(headers);
    a->multi = curl_multi_init();
    if (!a->slots || !a->queue || !a->headers || !a->multi) {
        nd_err_t rc = a->multi ? ND_ENOMEM : ND_EIO;
        if (a->multi)
            curl_multi_cleanup(a->multi);
        async_free(a);
        return rc;
    }
    a->slot_count = slot_count;
    for (uint32_t i = 0; i < slot_count; i++)
        if (!slot_init(a, &a->slots[i], timeout_ms ? timeout_ms : 10000)) {
            a->closing = true;
            nd_http_async_close(a);
            return ND_EIO;
        }
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
    /* One connection: requests leave in the order they were started (a cancel never
     * overtakes its order), each on the kept-alive socket. */
    curl_multi_setopt(a->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 1L);
    curl_multi_setopt(a->multi, CURLMOPT_MAXCONNECTS, 1L);
    uv_timer_init(a->loop, &a->timer);
    a->timer.data = a;
    a->handles = 1;
    *out = a;
    return ND_OK;
}

nd_err_t nd_http_async_request(nd_http_async_t *a, const char *method, const char *url,
                               const char *body, nd_http_done_cb done_cb, void *ctx)
{
    ND_ASSERT(a != NULL && !a->closing);
    ND_ASSERT(method != NULL && url != NULL && done_cb != NULL);
    slot_t *sl = NULL;
    for (uint32_t i = 0; i < a->slot_count && !sl; i++)
        if (!a->slots[i].busy)
            sl = &a->slots[i];
    if (!sl || strlen(method) >= sizeof sl->method)
        return sl ? ND_EINVAL : ND_EFULL;
    sl->body.len = sl->head.len = 0;
    sl->body.too_big = sl->head.too_big = false;
    if (sl->body.buf)
        sl->body.buf[0] = '\0';
    if (sl->head.buf)
        sl->head.buf[0] = '\0';
    snprintf(sl->method, sizeof sl->method, "%s", method);
    curl_easy_setopt(sl->curl, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(sl->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        if (curl_easy_setopt(sl->curl, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK)
            return ND_ENOMEM;
    } else {
        curl_easy_setopt(sl->curl, CURLOPT_HTTPGET, 1L); /* no body left from the last one */
    }
    curl_easy_setopt(sl->curl, CURLOPT_CUSTOMREQUEST, sl->method);
    sl->done_cb = done_cb;
    sl->ctx = ctx;
    sl->busy = true;
    a->busy++;
    if (a->active) { /* after the ones before it */
        ND_ASSERT(a->queue_count < a->slot_count);
        a->queue[(a->queue_head + a->queue_count++) % a->slot_count] = (uint32_t)(sl - a->slots);
        return ND_OK;
    }
    if (start_slot(a, sl) != ND_OK) {
        sl->busy = false;
        a->busy--;
        return ND_EIO;
    }
    check_done(a);
    return ND_OK;
}

uint32_t nd_http_async_busy(const nd_http_async_t *a)
{
    return a->busy;
}

void nd_http_async_close(nd_http_async_t *a)
{
    if (!a)
        return;
    a->closing = true;
    for (uint32_t i = 0; i < a->slot_count; i++) {
        if (&a->slots[i] == a->active)
            curl_multi_remove_handle(a->multi, a->slots[i].curl);
        if (a->slots[i].curl)
            curl_easy_cleanup(a->slots[i].curl);
        a->slots[i].busy = false;
    }
    a->busy = a->queue_count = 0;
    a->active = NULL;
    curl_multi_cleanup(a->multi); /* closes the connection */
    a->multi = NULL;
    while (a->socks) /* any poll libcurl did not remove itself */
        sock_close(a->socks);
    if (a->handles == 0) {
        async_free(a);
        return;
    }
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, handle_closed);
}
