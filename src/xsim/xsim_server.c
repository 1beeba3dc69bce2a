/* xsim_server.c: the exchange simulator's HTTP/1.1 server on libuv.
 *
 * A minimal HTTP/1.1 reader for what REST clients send: a request line, headers (only
 * Content-Length, X-MBX-APIKEY and Connection are read), a body of Content-Length bytes; no
 * chunked bodies (411). Keep-alive connections take requests one after another. A request
 * larger than ND_XSIM_REQUEST_MAX gets 413 and the connection is closed. A timer advances the
 * market source to the injected clock so the book moves while no client is asking. */
#include "noderr/xsim.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

struct nd_xsim_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t timer;
    uv_signal_t sigint, sigterm;
    uv_async_t stop; /* nd_xsim_server_stop from any thread */
    nd_xsim_api_t *api;
    nd_xsim_t *x;
    nd_xsim_server_config_t cfg;
    int connections;
};

typedef struct conn {
    uv_tcp_t tcp;
    nd_xsim_server_t *server;
    char buf[ND_XSIM_REQUEST_MAX];
    size_t len;
    int64_t active_ns; /* monotonic time of the last bytes read */
    bool closing;
} conn_t;

typedef struct write_req {
    uv_write_t req;
    uv_buf_t buf;
    conn_t *conn;
    bool close_after;
} write_req_t;

typedef struct http_req {
    char method[8];
    char path[256];
    const char *query;
    size_t query_len;
    const char *body;
    size_t body_len;
    char api_key[257];
    bool has_api_key, close, chunked;
    size_t total; /* bytes of the request in conn->buf */
} http_req_t;

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    c->server->connections--;
    nd_free(c);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    if (status < 0 || w->close_after)
        conn_close(w->conn);
    nd_free(w->buf.base);
    nd_free(w);
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 418: return "I'm a teapot";
    case 429: return "Too Many Requests";
    default: return "Internal Server Error";
    }
}

static void send_response(conn_t *c, const nd_xsim_response_t *r, bool close_after)
{
    char head[512];
    char retry[64] = "";
    if (r->retry_after_s > 0)
        snprintf(retry, sizeof retry, "Retry-After: %lld\r\n", (long long)r->retry_after_s);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\n"
                     "Content-Length: %zu\r\nX-MBX-USED-WEIGHT-1M: %lld\r\n%sConnection: %s\r\n\r\n",
                     r->status, reason(r->status), r->body_len, (long long)r->used_weight, retry,
                     close_after ? "close" : "keep-alive");
    ND_ASSERT(n > 0 && (size_t)n < sizeof head);
    write_req_t *w = nd_calloc(1, sizeof *w);
    char *out = nd_alloc((size_t)n + r->body_len);
    if (!w || !out) {
        nd_free(w);
        nd_free(out);
        conn_close(c);
        return;
    }
    memcpy(out, head, (size_t)n);
    if (r->body_len)
        memcpy(out + n, r->body, r->body_len);
    w->buf = uv_buf_init(out, (unsigned)((size_t)n + r->body_len));
    w->conn = c;
    w->close_after = close_after;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_written) != 0) {
        nd_free(out);
        nd_free(w);
        conn_close(c);
    }
}

static void send_plain(conn_t *c, int status, const char *json)
{
    nd_xsim_response_t r = {.status = status, .body = (char *)json, .body_len = strlen(json)};
    send_response(c, &r, true);
}

static void read_header(http_req_t *r, const char *name, size_t name_len, const char *value,
                        size_t value_len, long long *content_length)
{
    if (name_len == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
        *content_length = 0;
        for (size_t i = 0; i < value_len; i++) {
            if (value[i] < '0' || value[i] > '9') {
                *content_length = -1;
                return;
            }
            if (*content_length <= ND_XSIM_REQUEST_MAX) /* beyond: 413, without overflowing */
                *content_length = *content_length * 10 + (value[i] - '0');
        }
    } else if (name_len == 12 && strncasecmp(name, "X-MBX-APIKEY", 12) == 0) {
        if (value_len < sizeof r->api_key) {
            memcpy(r->api_key, value, value_len);
            r->api_key[value_len] = '\0';
            r->has_api_key = true;
        }
    } else if (name_len == 10 && strncasecmp(name, "Connection", 10) == 0) {
        r->close = value_len == 5 && strncasecmp(value, "close", 5) == 0;
    } else if (name_len == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
        r->chunked = true;
    }
}

/* Reads the request line; false when malformed. */
static bool read_request_line(http_req_t *r, const char *line, size_t len)
{
    const char *sp1 = memchr(line, ' ', len);
    if (!sp1 || (size_t)(sp1 - line) >= sizeof r->method)
        return false;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', len - (size_t)(target - line));
    if (!sp2 || line + len - sp2 < 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return false;
    memcpy(r->method, line, (size_t)(sp1 - line));
    r->method[sp1 - line] = '\0';
    const char *q = memchr(target, '?', (size_t)(sp2 - target));
    const char *path_end = q ? q : sp2;
    if ((size_t)(path_end - target) >= sizeof r->path)
        return false;
    memcpy(r->path, target, (size_t)(path_end - target));
    r->path[path_end - target] = '\0';
    r->query = q ? q + 1 : "";
    r->query_len = q ? (size_t)(sp2 - q - 1) : 0;
    r->close = sp2[8] == '0'; /* HTTP/1.0 closes unless it asks otherwise */
    return true;
}

/* 1: a whole request in r; 0: need more bytes; otherwise the HTTP status to fail with. */
static int parse_request(const conn_t *c, http_req_t *r)
{
    memset(r, 0, sizeof *r);
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return c->len == sizeof c->buf ? 413 : 0;
    const char *line_end = memmem(c->buf, (size_t)(end - c->buf) + 2, "\r\n", 2);
    if (!read_request_line(r, c->buf, (size_t)(line_end - c->buf)))
        return 400;
    long long content_length = 0;
    for (const char *p = line_end + 2; p < end + 2;) {
        const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon)
            return 400;
        const char *v = colon + 1, *v_end = eol;
        while (v < v_end && (*v == ' ' || *v == '\t'))
            v++;
        while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
            v_end--;
        read_header(r, p, (size_t)(colon - p), v, (size_t)(v_end - v), &content_length);
        p = eol + 2;
    }
    if (r->chunked)
        return 411;
    if (content_length < 0)
        return 400;
    size_t head = (size_t)(end + 4 - c->buf);
    if (head + (size_t)content_length > sizeof c->buf)
        return 413;
    if (c->len < head + (size_t)content_length)
        return 0;
    r->body = c->buf + head;
    r->body_len = (size_t)content_length;
    r->total = head + (size_t)content_length;
    return 1;
}

/* Answers every complete request in the buffer. */
static void serve_buffer(conn_t *c)
{
    nd_xsim_server_t *s = c->server;
    while (!c->closing) {
        http_req_t r;
        int pr = parse_request(c, &r);
        if (pr == 0)
            return;
        if (pr != 1) {
            send_plain(c, pr, "{\"code\":-1000,\"msg\":\"Malformed HTTP request.\"}");
            return;
        }
        nd_xsim_request_t req = {.method = r.method, .path = r.path, .query = r.query,
                                 .query_len = r.query_len, .body = r.body,
                                 .body_len = r.body_len,
                                 .api_key = r.has_api_key ? r.api_key : NULL};
        nd_xsim_response_t resp;
        if (nd_xsim_api_handle(s->api, &req, nd_clock_now_ns(s->cfg.clock), &resp) != ND_OK) {
            send_plain(c, 500, "{\"code\":-1000,\"msg\":\"Out of memory.\"}");
            return;
        }
        send_response(c, &resp, r.close);
        nd_free(resp.body);
        memmove(c->buf, c->buf + r.total, c->len - r.total);
        c->len -= r.total;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn_t *c = h->data;
    *buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn_t *c = stream->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)nread;
    c->active_ns = nd_clock_mono_ns(c->server->cfg.clock);
    ND_ASSERT(c->len <= sizeof c->buf);
    serve_buffer(c);
}

static void on_connection(uv_stream_t *listener, int status)
{
    nd_xsim_server_t *s = listener->data;
    if (status < 0)
        return;
    conn_t *c = nd_calloc(1, sizeof *c);
    if (!c)
        return;
    c->server = s;
    c->tcp.data = c;
    c->active_ns = nd_clock_mono_ns(s->cfg.clock);
    uv_tcp_init(&s->loop, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1); /* one write per answer: send it now */
    s->connections++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
        s->connections > ND_XSIM_CONNECTIONS_MAX ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
        conn_close(c);
}

/* Closes a client connection that has sent nothing for ND_XSIM_IDLE_NS. */
static void idle_walk(uv_handle_t *h, void *arg)
{
    nd_xsim_server_t *s = arg;
    if (h->type != UV_TCP || h == (uv_handle_t *)&s->listener || uv_is_closing(h))
        return;
    conn_t *c = h->data;
    if (nd_clock_mono_ns(s->cfg.clock) - c->active_ns > ND_XSIM_IDLE_NS)
        conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
    nd_xsim_server_t *s = t->data;
    nd_xsim_advance(s->x, nd_clock_now_ns(s->cfg.clock));
    uv_walk(&s->loop, idle_walk, s);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    nd_xsim_server_t *s = sig->data;
    uv_stop(&s->loop);
}

static void on_stop(uv_async_t *async)
{
    nd_xsim_server_t *s = async->data;
    uv_stop(&s->loop);
}

static nd_err_t listen_on(nd_xsim_server_t *s, int *port_out, char *err, size_t err_len)
{
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(s->cfg.bind, s->cfg.port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        rc = uv_ip6_addr(s->cfg.bind, s->cfg.port, (struct sockaddr_in6 *)&addr);
    if (rc != 0) {
        snprintf(err, err_len, "--bind '%s' is not an IP address", s->cfg.bind);
        return ND_EINVAL;
    }
    uv_tcp_init(&s->loop, &s->listener);
    s->listener.data = s;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection)) != 0) {
        snprintf(err, err_len, "cannot listen on %s:%d: %s", s->cfg.bind, s->cfg.port,
                 uv_strerror(rc));
        return ND_EIO;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    *port_out = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                 : ((struct sockaddr_in6 *)&bound)->sin6_port);
    return ND_OK;
}

nd_err_t nd_xsim_server_open(nd_xsim_api_t *api, nd_xsim_t *x, const nd_xsim_server_config_t *cfg,
                             nd_xsim_server_t **out, int *port_out, char *err, size_t err_len)
{
    ND_ASSERT(api != NULL && x != NULL && cfg != NULL && cfg->clock != NULL);
    nd_xsim_server_t *s = nd_calloc(1, sizeof *s);
    if (!s || uv_loop_init(&s->loop) != 0) {
        nd_free(s);
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    s->api = api;
    s->x = x;
    s->cfg = *cfg;
    if (!s->cfg.bind)
        s->cfg.bind = "127.0.0.1";
    nd_err_t rc = listen_on(s, port_out, err, err_len);
    if (rc != ND_OK) {
        nd_xsim_server_close(s);
        return rc;
    }
    uint64_t step_ms = cfg->market_step_ns > 0 ? (uint64_t)(cfg->market_step_ns / ND_NS_PER_MS) : 100;
    uv_timer_init(&s->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, step_ms ? step_ms : 1, step_ms ? step_ms : 1);
    uv_async_init(&s->loop, &s->stop, on_stop);
    s->stop.data = s;
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    *out = s;
    return ND_OK;
}

nd_err_t nd_xsim_server_run(nd_xsim_server_t *s)
{
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return ND_OK;
}

void nd_xsim_server_stop(nd_xsim_server_t *s)
{
    uv_async_send(&s->stop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    nd_xsim_server_t *s = arg;
    if (uv_is_closing(h))
        return;
    if (h->type == UV_TCP && h != (uv_handle_t *)&s->listener) {
        conn_close(h->data); /* a client connection: freed in its close callback */
        return;
    }
    uv_close(h, NULL);
}

void nd_xsim_server_close(nd_xsim_server_t *s)
{
    if (!s)
        return;
    uv_walk(&s->loop, close_walk, s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    nd_free(s);
}
