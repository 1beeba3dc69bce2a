/* xsim_server.c: the exchange simulator's HTTP/1.1 server on libuv.
 *
 * A minimal HTTP/1.1 reader for what REST clients send: a request line, headers (only
 * Content-Length, X-MBX-APIKEY, Connection, Upgrade, Sec-WebSocket-Key/-Version and
 * Authorization are read), a body of Content-Length bytes; no chunked bodies (411). Keep-alive
 * connections take requests one after another. A request larger than ND_XSIM_REQUEST_MAX gets
 * 413 and the connection is closed. A GET with a WebSocket upgrade on /ws/... or /stream
 * becomes a stream connection (xsim_ws.c, xsim_stream.c). A timer advances the market source to
 * the injected clock so the book moves while no client is asking, and drives pings and stream
 * flushes; with speed max a second timer steps the market while the stream clients keep up.
 * Every write is counted per connection: a client past send_queue_max bytes is dropped. */
#include "xsim_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#define MAX_STEP_EVENTS 2048 /* market events per millisecond at speed max */
#define JSON_TYPE "application/json;charset=UTF-8"

struct nd_xsim_server {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t timer;
    uv_timer_t max_timer; /* speed max */
    uv_timer_t shutdown_timer;
    nd__xsim_streams_t *streams;
    uv_signal_t sigint, sigterm;
    uv_async_t stop; /* nd_xsim_server_stop from any thread */
    nd_xsim_api_t *api;
    nd_xsim_t *x;
    nd_xsim_server_config_t cfg;
    int connections;
    nd__xsim_metrics_t *metrics; /* --metrics, else NULL */
};

typedef nd__xsim_conn_t conn_t;

typedef struct write_req {
    uv_write_t req;
    uv_buf_t buf;
    conn_t *conn;
    bool close_after;
} write_req_t;

typedef struct ws_req {
    bool upgrade;          /* Upgrade: websocket and Connection: upgrade */
    char key[64];          /* Sec-WebSocket-Key */
    bool version_13;
} ws_req_t;

typedef struct http_req {
    char method[8];
    char path[256];
    const char *query;
    size_t query_len;
    const char *body;
    size_t body_len;
    char api_key[257];
    char auth[2048];       /* Authorization (a Coinbase JWT is ~600 characters) */
    char host[256];        /* Host */
    ws_req_t ws;
    bool has_api_key, close, chunked;
    size_t total; /* bytes of the request in conn->buf */
} http_req_t;

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    c->server->connections--;
    nd__xsim_metrics_count(c->server->metrics, ND__XSIM_CONNECTIONS_OPEN, -1);
    nd_free(c->msg);
    nd_free(c);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->ws)
        nd__xsim_streams_closed(c->server->streams, c);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void nd__xsim_conn_close(nd__xsim_conn_t *c)
{
    conn_close(c);
}

const nd_xsim_server_config_t *nd__xsim_conn_config(const nd__xsim_conn_t *c)
{
    return &c->server->cfg;
}

nd__xsim_streams_t *nd__xsim_conn_streams(const nd__xsim_conn_t *c)
{
    return c->server->streams;
}

nd__xsim_metrics_t *nd__xsim_conn_metrics(const nd__xsim_conn_t *c)
{
    return c->server->metrics;
}

static void on_written(uv_write_t *req, int status)
{
    write_req_t *w = (write_req_t *)req;
    ND_ASSERT(w->conn->queued >= w->buf.len);
    w->conn->queued -= w->buf.len;
    if (status < 0 || w->close_after)
        conn_close(w->conn);
    nd_free(w->buf.base);
    nd_free(w);
}

bool nd__xsim_conn_write(nd__xsim_conn_t *c, char *buf, size_t len, bool close_after)
{
    if (c->closing) {
        nd_free(buf);
        return false;
    }
    if (c->queued + len > c->server->cfg.send_queue_max) {
        ND_LOG(ND_LOG_WARN, "xsim client dropped: send queue over %zu bytes (a slow reader)",
               c->server->cfg.send_queue_max);
        nd_free(buf);
        conn_close(c);
        return false;
    }
    write_req_t *w = nd_calloc(1, sizeof *w);
    if (!w) {
        nd_free(buf);
        conn_close(c);
        return false;
    }
    w->buf = uv_buf_init(buf, (unsigned)len);
    w->conn = c;
    w->close_after = close_after;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_written) != 0) {
        nd_free(buf);
        nd_free(w);
        conn_close(c);
        return false;
    }
    c->queued += len;
    return true;
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
    case 403: return "Forbidden";
    case 418: return "I'm a teapot";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    default: return "Internal Server Error";
    }
}

static void send_response(conn_t *c, const nd_xsim_response_t *r, const char *content_type,
                          bool close_after)
{
    char head[512];
    char retry[64] = "", weight[64] = "";
    if (r->retry_after_s > 0)
        snprintf(retry, sizeof retry, "Retry-After: %lld\r\n", (long long)r->retry_after_s);
    if (!r->no_weight)
        snprintf(weight, sizeof weight, "X-MBX-USED-WEIGHT-1M: %lld\r\n",
                 (long long)r->used_weight);
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n%s%sConnection: %s\r\n\r\n",
                     r->status, reason(r->status), r->content_type ? r->content_type : content_type,
                     r->body_len, weight, retry, close_after ? "close" : "keep-alive");
    ND_ASSERT(n > 0 && (size_t)n < sizeof head);
    char *out = nd_alloc((size_t)n + r->body_len);
    if (!out) {
        conn_close(c);
        return;
    }
    memcpy(out, head, (size_t)n);
    if (r->body_len)
        memcpy(out + n, r->body, r->body_len);
    (void)nd__xsim_conn_write(c, out, (size_t)n + r->body_len, close_after);
}

static void send_plain(conn_t *c, int status, const char *json)
{
    nd_xsim_response_t r = {.status = status, .body = (char *)json, .body_len = strlen(json)};
    send_response(c, &r, JSON_TYPE, true);
}

/* True when word (lower case) occurs in value[0, len), ignoring case. */
static bool memmem_ci(const char *value, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(value + i, word, n) == 0)
            return true;
    return false;
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
        r->ws.upgrade |= memmem_ci(value, value_len, "upgrade");
    } else if (name_len == 7 && strncasecmp(name, "Upgrade", 7) == 0) {
        r->ws.upgrade |= value_len == 9 && strncasecmp(value, "websocket", 9) == 0;
    } else if (name_len == 17 && strncasecmp(name, "Sec-WebSocket-Key", 17) == 0) {
        if (value_len > 0 && value_len < sizeof r->ws.key) {
            memcpy(r->ws.key, value, value_len);
            r->ws.key[value_len] = '\0';
        }
    } else if (name_len == 21 && strncasecmp(name, "Sec-WebSocket-Version", 21) == 0) {
        r->ws.version_13 = value_len == 2 && memcmp(value, "13", 2) == 0;
    } else if (name_len == 13 && strncasecmp(name, "Authorization", 13) == 0) {
        if (value_len < sizeof r->auth) {
            memcpy(r->auth, value, value_len);
            r->auth[value_len] = '\0';
        }
    } else if (name_len == 4 && strncasecmp(name, "Host", 4) == 0) {
        if (value_len < sizeof r->host) {
            memcpy(r->host, value, value_len);
            r->host[value_len] = '\0';
        }
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

/* Answers a WebSocket upgrade: 101 and the connection carries streams, or an HTTP error. */
static void upgrade(conn_t *c, const http_req_t *r)
{
    if (!r->ws.version_13) {
        static const char text[] = "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"
                                   "Content-Length: 0\r\nConnection: close\r\n\r\n";
        char *out = nd_strdup(text);
        if (out)
            (void)nd__xsim_conn_write(c, out, sizeof text - 1, true);
        return;
    }
    char accept[29];
    if (strcmp(r->method, "GET") != 0 || !r->ws.key[0] ||
        nd__xsim_ws_accept(r->ws.key, accept) != ND_OK) {
        send_plain(c, 400, "{\"code\":-1000,\"msg\":\"Bad WebSocket upgrade.\"}");
        return;
    }
    int status = nd__xsim_streams_open(c->server->streams, c, r->path, r->query, r->query_len);
    if (status != 0) {
        send_plain(c, status, status == 404 ? "{\"code\":-1000,\"msg\":\"Unknown path.\"}"
                                            : "{\"code\":-1000,\"msg\":\"Bad stream or listenKey.\"}");
        return;
    }
    c->next_ping_ns = nd_clock_mono_ns(c->server->cfg.clock) + c->server->cfg.ping_interval_ns;
    char head[256];
    int n = snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
    char *out = nd_alloc((size_t)n);
    if (!out) {
        conn_close(c);
        return;
    }
    memcpy(out, head, (size_t)n);
    (void)nd__xsim_conn_write(c, out, (size_t)n, false);
}

/* GET /metrics with --metrics: the Prometheus exposition (changes nothing). */
static void serve_metrics(conn_t *c, const http_req_t *r)
{
    nd_xsim_response_t resp = {.status = 200};
    if (nd__xsim_metrics_render(c->server->metrics, &resp.body, &resp.body_len) != ND_OK) {
        send_plain(c, 500, "{\"code\":-1000,\"msg\":\"Out of memory.\"}");
        return;
    }
    send_response(c, &resp, ND_PROM_CONTENT_TYPE, r->close);
    nd_free(resp.body);
}

/* A fault the admin API applied, counted by kind. */
static void count_fault(nd_xsim_server_t *s, const http_req_t *r)
{
    json_t *doc = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    nd__xsim_metrics_fault(s->metrics, json_string_value(json_object_get(doc, "fault")));
    json_decref(doc);
}

/* One parsed request: the admin API, a WebSocket upgrade or Binance REST. */
static void serve_request(conn_t *c, const http_req_t *r)
{
    nd_xsim_server_t *s = c->server;
    int64_t now_ns = nd_clock_now_ns(s->cfg.clock);
    nd_xsim_response_t resp;
    nd_err_t rc;
    nd__xsim_metrics_count(s->metrics, ND__XSIM_HTTP_REQUESTS, 1);
    if (s->metrics && strcmp(r->path, "/metrics") == 0 && strcmp(r->method, "GET") == 0) {
        serve_metrics(c, r);
        return;
    }
    if (strncmp(r->path, "/admin/", 7) == 0) {
        rc = nd__xsim_admin_handle(s->api, s->x, s->streams, r->method, r->path, r->auth, r->body,
                                   r->body_len, now_ns, &resp);
        if (rc == ND_OK && resp.status == 200 && s->metrics)
            count_fault(s, r);
    } else {
        nd_xsim_request_t req = {.method = r->method, .path = r->path, .query = r->query,
                                 .query_len = r->query_len, .body = r->body,
                                 .body_len = r->body_len,
                                 .api_key = r->has_api_key ? r->api_key : NULL,
                                 .authorization = r->auth[0] ? r->auth : NULL,
                                 .host = r->host[0] ? r->host : NULL};
        rc = nd_xsim_api_handle(s->api, &req, now_ns, &resp);
        if (rc == ND_OK && resp.status == 200 && strcmp(r->method, "POST") == 0 &&
            (strcmp(r->path, "/api/v3/order") == 0 ||
             strcmp(r->path, "/api/v3/brokerage/orders") == 0))
            nd__xsim_streams_order_arrived(s->streams, c->active_ns);
    }
    if (rc != ND_OK) {
        send_plain(c, 500, "{\"code\":-1000,\"msg\":\"Out of memory.\"}");
        return;
    }
    send_response(c, &resp, JSON_TYPE, r->close);
    nd_free(resp.body);
}

/* Answers every complete request in the buffer. */
static void serve_buffer(conn_t *c)
{
    while (!c->closing && !c->ws) {
        http_req_t r;
        int pr = parse_request(c, &r);
        if (pr == 0)
            return;
        if (pr != 1) {
            send_plain(c, pr, "{\"code\":-1000,\"msg\":\"Malformed HTTP request.\"}");
            return;
        }
        if (r.ws.upgrade)
            upgrade(c, &r);
        else
            serve_request(c, &r);
        memmove(c->buf, c->buf + r.total, c->len - r.total);
        c->len -= r.total;
    }
    if (c->ws && !c->closing)
        nd__xsim_ws_on_data(c); /* frames sent right behind the upgrade request */
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
    if (c->ws)
        nd__xsim_ws_on_data(c);
    else
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
    nd__xsim_metrics_count(s->metrics, ND__XSIM_CONNECTIONS_OPEN, 1);
    nd__xsim_metrics_count(s->metrics, ND__XSIM_CONNECTIONS_ACCEPTED, 1);
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
    int64_t mono = nd_clock_mono_ns(s->cfg.clock);
    if (c->ws)
        nd__xsim_ws_tick(c, mono); /* a stream client is kept by its pongs */
    else if (mono - c->active_ns > ND_XSIM_IDLE_NS)
        conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
    nd_xsim_server_t *s = t->data;
    int64_t now = nd_clock_now_ns(s->cfg.clock);
    nd_xsim_advance(s->x, now);
    nd__xsim_streams_tick(s->streams, now);
    uv_walk(&s->loop, idle_walk, s);
}

/* Speed max: the market moves as fast as the stream clients take its messages. */
static void on_max_timer(uv_timer_t *t)
{
    nd_xsim_server_t *s = t->data;
    if (nd__xsim_streams_backlogged(s->streams))
        return;
    if (nd_xsim_step(s->x, MAX_STEP_EVENTS) > 0)
        nd__xsim_streams_tick(s->streams, nd_clock_now_ns(s->cfg.clock));
    else if (nd_xsim_source_done(s->x))
        uv_timer_stop(t); /* the end of the recording: the market timer flushes what is left */
}

static void on_shutdown_timer(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* SIGINT/SIGTERM: stream clients get serverShutdown and a close (as before Binance's
 * maintenance), then the loop stops 200 ms later; a second signal stops it at once. */
static void on_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    nd_xsim_server_t *s = sig->data;
    if (uv_is_active((uv_handle_t *)&s->shutdown_timer)) {
        uv_stop(&s->loop);
        return;
    }
    nd__xsim_streams_shutdown(s->streams, nd_clock_now_ns(s->cfg.clock));
    uv_timer_start(&s->shutdown_timer, on_shutdown_timer, 200, 0);
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
    if (s->cfg.ping_interval_ns <= 0)
        s->cfg.ping_interval_ns = ND_XSIM_WS_PING_NS;
    if (s->cfg.pong_timeout_ns <= 0)
        s->cfg.pong_timeout_ns = ND_XSIM_WS_PONG_TIMEOUT_NS;
    if (s->cfg.send_queue_max == 0)
        s->cfg.send_queue_max = ND_XSIM_WS_SEND_QUEUE_MAX;
    nd_err_t rc = nd__xsim_streams_create(x, api, cfg->clock, &s->streams);
    if (rc == ND_OK && cfg->metrics &&
        (rc = nd__xsim_metrics_create(x, nd_clock_now_ns(cfg->clock), &s->metrics, err,
                                      err_len)) != ND_OK) {
        nd_xsim_server_close(s);
        return rc;
    }
    if (rc != ND_OK) {
        snprintf(err, err_len, "out of memory");
        nd_xsim_server_close(s);
        return rc;
    }
    rc = listen_on(s, port_out, err, err_len);
    if (rc != ND_OK) {
        nd_xsim_server_close(s);
        return rc;
    }
    uint64_t step_ms = cfg->market_step_ns > 0 ? (uint64_t)(cfg->market_step_ns / ND_NS_PER_MS) : 100;
    uv_timer_init(&s->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, step_ms ? step_ms : 1, step_ms ? step_ms : 1);
    uv_timer_init(&s->loop, &s->max_timer);
    s->max_timer.data = s;
    if (nd_xsim_speed_max(x))
        uv_timer_start(&s->max_timer, on_max_timer, 1, 1);
    uv_async_init(&s->loop, &s->stop, on_stop);
    s->stop.data = s;
    uv_timer_init(&s->loop, &s->shutdown_timer);
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
    /* A client that goes away while we write must cost its connection (EPIPE), not the process:
     * SIGPIPE goes to the writing thread, so blocking it here is enough and leaves the rest of
     * the process (a test, the CLI) as it was. */
    sigset_t pipe_set, before;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &before);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    struct timespec zero = {0, 0}; /* consume any SIGPIPE left pending, then unblock */
    while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
        ;
    pthread_sigmask(SIG_SETMASK, &before, NULL);
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
    nd__xsim_streams_destroy(s->streams);
    nd__xsim_metrics_destroy(s->metrics);
    nd_free(s);
}
