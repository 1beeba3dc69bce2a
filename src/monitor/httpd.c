/* httpd.c: the process's HTTP server (httpd.h) on libwebsockets, on the caller's libuv loop.
 *
 * One libwebsockets context with one vhost and one protocol ("http") whose callback reads the
 * request (method, path, the headers the routes see, a body up to ND_HTTPD_BODY_MAX), looks up
 * the route, calls it, and writes the response: the headers at once, the body in chunks of
 * CHUNK bytes as the socket takes them (so a large scrape never blocks the loop). Invariants:
 * a connection has at most one response in flight (its `resp`), freed when written or when the
 * connection closes; the route table only grows. Everything runs on the loop thread. */
#include "noderr/httpd.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/json_cfg.h"
#include "noderr/log.h"
#include "noderr/venue.h"

#include <errno.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define CHUNK 16384
#define HEADER_MAX 512
#define DEFAULT_TYPE "text/plain; charset=utf-8"

typedef struct route {
    char method[8];
    char path[ND_HTTPD_PATH_MAX];
    nd_httpd_route_cb cb;
    void *ctx;
} route_t;

typedef struct ws_endpoint {
    char path[ND_HTTPD_PATH_MAX];
    nd_httpd_ws_handler_t handler;
} ws_endpoint_t;

/* A WebSocket connection's state, inside its pss: the queue is a ring of nd_alloc'd messages,
 * each LWS_PRE bytes of room then the text. */
struct nd_httpd_ws {
    struct lws *wsi;
    const ws_endpoint_t *ep;
    bool open, overflow;
    char *queue[ND_HTTPD_WS_QUEUE_MAX];
    size_t queue_len[ND_HTTPD_WS_QUEUE_MAX];
    uint32_t head, count;
};

struct nd_httpd {
    struct lws_context *ctx;
    ws_endpoint_t ws[ND_HTTPD_WS_MAX];
    uint32_t ws_count;
    void *uv_loop;
    route_t routes[ND_HTTPD_ROUTES_MAX];
    uint32_t route_count;
    int port;
    bool tls;
    char host[64];
    uint64_t requests;
    nd_lws_teardown_t teardown; /* the context's connections and own descriptors */
};

/* Per connection (libwebsockets allocates and zeroes it). */
typedef struct pss {
    char method[8];
    char path[ND_HTTPD_PATH_MAX];
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    char *resp;
    size_t resp_len, resp_sent;
    struct nd_httpd_ws ws;    /* a WebSocket connection (ws.ep set at its upgrade) */
} pss_t;

nd_err_t nd_httpd_parse_listen(const char *listen, char *host, size_t cap, int *port, char *err,
                               size_t err_len)
{
    ND_ASSERT(listen != NULL && host != NULL && port != NULL);
    const char *colon = strrchr(listen, ':');
    const char *h = listen, *h_end = colon;
    if (colon && listen[0] == '[') { /* [IPv6]:PORT */
        h = listen + 1;
        h_end = colon > listen && colon[-1] == ']' ? colon - 1 : NULL;
    }
    char *end = NULL;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    size_t n = h_end ? (size_t)(h_end - h) : 0;
    if (!colon || !h_end || n == 0 || n >= cap || !end || end == colon + 1 || *end || p < 0 ||
        p > 65535) {
        snprintf(err, err_len, "'%s' is not HOST:PORT (an IP address and a port 0..65535)", listen);
        return ND_EINVAL;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    if (uv_ip4_addr(host, 0, &a4) != 0 && uv_ip6_addr(host, 0, &a6) != 0) {
        snprintf(err, err_len, "'%s': '%s' is not an IP address", listen, host);
        return ND_EINVAL;
    }
    *port = (int)p;
    return ND_OK;
}

nd_err_t nd_httpd_config_parse(const json_t *obj, const char *path, const char *key,
                               nd_httpd_settings_t *out, char *err, size_t err_len)
{
    ND_ASSERT(path != NULL && key != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (!obj)
        return ND_OK;
    nd_jcfg_t c = {path, "", err, err_len};
    snprintf(c.key, sizeof c.key, "%s", key);
    json_t *o = (json_t *)obj;
    if (!json_is_object(o))
        return nd_jcfg_bad(&c, NULL, "must be an object like {\"listen\": \"127.0.0.1:9464\"}");
    const nd_jcfg_field_t fields[] = {
        {"listen", ND_JCFG_STR, out->listen, .cap = sizeof out->listen},
        {"tls_cert", ND_JCFG_STR, out->tls_cert_file, .cap = sizeof out->tls_cert_file},
        {"tls_key", ND_JCFG_STR, out->tls_key_file, .cap = sizeof out->tls_key_file},
        {.key = NULL},
    };
    nd_err_t rc = nd_jcfg_fields(&c, o, fields);
    if (rc != ND_OK)
        return rc;
    if (!out->listen[0])
        return nd_jcfg_bad(&c, "listen", "missing (HOST:PORT, e.g. 127.0.0.1:9464; port 0 picks one)");
    char host[64], why[160];
    int port;
    if (nd_httpd_parse_listen(out->listen, host, sizeof host, &port, why, sizeof why) != ND_OK)
        return nd_jcfg_bad(&c, "listen", why);
    if (!out->tls_cert_file[0] != !out->tls_key_file[0])
        return nd_jcfg_bad(&c, out->tls_cert_file[0] ? "tls_key" : "tls_cert",
                           "TLS needs both tls_cert and tls_key");
    out->enabled = true;
    return ND_OK;
}

static const route_t *find_route(const nd_httpd_t *h, const char *method, const char *path,
                                 bool *path_known)
{
    *path_known = false;
    for (uint32_t i = 0; i < h->route_count; i++) {
        if (strcmp(h->routes[i].path, path) != 0)
            continue;
        *path_known = true;
        if (strcmp(h->routes[i].method, method) == 0)
            return &h->routes[i];
    }
    return NULL;
}

nd_err_t nd_httpd_route(nd_httpd_t *h, const char *method, const char *path,
                        nd_httpd_route_cb route_cb, void *ctx)
{
    ND_ASSERT(h != NULL && route_cb != NULL);
    ND_ASSERT(method != NULL && path != NULL && path[0] == '/');
    bool known;
    if (find_route(h, method, path, &known))
        return ND_EEXIST;
    if (h->route_count == ND_HTTPD_ROUTES_MAX)
        return ND_EFULL;
    if (strlen(method) >= sizeof h->routes[0].method || strlen(path) >= ND_HTTPD_PATH_MAX)
        return ND_EINVAL;
    route_t *r = &h->routes[h->route_count++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->cb = route_cb;
    r->ctx = ctx;
    return ND_OK;
}

/* The request's method from the URI token libwebsockets filled; false for one we do not serve. */
static bool read_method(struct lws *wsi, pss_t *pss)
{
    static const struct {
        enum lws_token_indexes token;
        const char *name;
    } methods[] = {{WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
                   {WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_DELETE_URI, "DELETE"},
                   {WSI_TOKEN_PATCH_URI, "PATCH"},   {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
                   {WSI_TOKEN_HEAD_URI, "HEAD"}};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (lws_hdr_total_length(wsi, methods[i].token) > 0) {
            snprintf(pss->method, sizeof pss->method, "%s", methods[i].name);
            return true;
        }
    }
    return false;
}

/* Writes the status line and headers; the body follows on writeable callbacks. -1 to close. */
static int start_response(struct lws *wsi, pss_t *pss, int status, const char *content_type)
{
    unsigned char buf[LWS_PRE + HEADER_MAX];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, content_type, pss->resp_len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    if (pss->resp_len == 0) {
        nd_free(pss->resp);
        pss->resp = NULL;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_text(struct lws *wsi, pss_t *pss, int status, const char *text)
{
    nd_free(pss->resp);
    pss->resp_len = strlen(text);
    pss->resp_sent = 0;
    pss->resp = nd_strdup(text);
    if (!pss->resp)
        return -1;
    return start_response(wsi, pss, status, DEFAULT_TYPE);
}

static void read_header(struct lws *wsi, enum lws_token_indexes token, char *out, size_t cap)
{
    out[0] = '\0';
    if (lws_hdr_total_length(wsi, token) > 0 && lws_hdr_copy(wsi, out, (int)cap, token) < 0)
        out[0] = '\0';
}

/* The whole request is in: call its route and start the response. */
static int dispatch(struct lws *wsi, nd_httpd_t *h, pss_t *pss)
{
    h->requests++;
    if (pss->body_too_large)
        return respond_text(wsi, pss, 413, "request body too large\n");
    bool known;
    const route_t *r = find_route(h, pss->method, pss->path, &known);
    if (!r)
        return respond_text(wsi, pss, known ? 405 : 404,
                            known ? "method not allowed\n" : "not found\n");
    char query[512], auth[512], origin[256], host[256], peer[64];
    read_header(wsi, WSI_TOKEN_HTTP_URI_ARGS, query, sizeof query);
    read_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth);
    read_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
    read_header(wsi, WSI_TOKEN_HOST, host, sizeof host);
    lws_get_peer_simple(wsi, peer, sizeof peer);
    nd_httpd_request_t req = {.method = pss->method, .path = pss->path, .query = query,
                             .body = pss->body, .body_len = pss->body_len,
                             .authorization = auth, .origin = origin, .host = host,
                             .peer = peer};
    nd_httpd_response_t resp = {.status = 200, .content_type = DEFAULT_TYPE};
    r->cb(r->ctx, &req, &resp);
    ND_ASSERT(resp.status >= 100 && resp.status <= 599);
    ND_ASSERT(resp.body != NULL || resp.body_len == 0);
    nd_free(pss->body);
    pss->body = NULL;
    pss->body_len = pss->body_cap = 0;
    nd_free(pss->resp);
    pss->resp = resp.body;
    pss->resp_len = resp.body_len;
    pss->resp_sent = 0;
    return start_response(wsi, pss, resp.status, resp.content_type ? resp.content_type
                                                                   : DEFAULT_TYPE);
}

static int on_http(struct lws *wsi, nd_httpd_t *h, pss_t *pss, const char *uri)
{
    nd_free(pss->resp);
    nd_free(pss->body);
    memset(pss, 0, sizeof *pss);
    if (!read_method(wsi, pss))
        return respond_text(wsi, pss, 405, "method not allowed\n");
    if (!uri || strlen(uri) >= sizeof pss->path) {
        snprintf(pss->method, sizeof pss->method, "GET");
        return respond_text(wsi, pss, 414, "URI too long\n");
    }
    snprintf(pss->path, sizeof pss->path, "%s", uri);
    if (strcmp(pss->method, "POST") == 0 || strcmp(pss->method, "PUT") == 0 ||
        strcmp(pss->method, "PATCH") == 0) {
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
            return 0; /* the body arrives in LWS_CALLBACK_HTTP_BODY, then BODY_COMPLETION */
    }
    return dispatch(wsi, h, pss);
}

static void on_body(pss_t *pss, const void *in, size_t len)
{
    if (len == 0 || !in)
        return; /* an empty body (Content-Length: 0) */
    if (pss->body_too_large || pss->body_len + len > ND_HTTPD_BODY_MAX) {
        pss->body_too_large = true;
        return;
    }
    char *grown = nd_array_grow(pss->body, &pss->body_cap, pss->body_len + len + 1, 1, 1024);
    if (!grown) {
        pss->body_too_large = true;
        return;
    }
    pss->body = grown;
    memcpy(pss->body + pss->body_len, in, len);
    pss->body_len += len;
    pss->body[pss->body_len] = '\0';
}

/* The next chunk of the body; -1 to close. */
static int on_writeable(struct lws *wsi, pss_t *pss)
{
    if (!pss->resp)
        return 0;
    unsigned char buf[LWS_PRE + CHUNK];
    size_t n = pss->resp_len - pss->resp_sent;
    if (n > CHUNK)
        n = CHUNK;
    memcpy(buf + LWS_PRE, pss->resp + pss->resp_sent, n);
    bool last = pss->resp_sent + n == pss->resp_len;
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    pss->resp_sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    nd_free(pss->resp);
    pss->resp = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- WebSocket endpoints ---------------------------------------------------------------- */

static const ws_endpoint_t *find_ws(const nd_httpd_t *h, const char *path)
{
    for (uint32_t i = 0; i < h->ws_count; i++)
        if (strcmp(h->ws[i].path, path) == 0)
            return &h->ws[i];
    return NULL;
}

nd_err_t nd_httpd_websocket(nd_httpd_t *h, const char *path, const nd_httpd_ws_handler_t *handler)
{
    ND_ASSERT(h != NULL && path != NULL && path[0] == '/');
    ND_ASSERT(handler != NULL && handler->accept_cb && handler->open_cb && handler->close_cb);
    if (find_ws(h, path))
        return ND_EEXIST;
    if (h->ws_count == ND_HTTPD_WS_MAX)
        return ND_EFULL;
    if (strlen(path) >= ND_HTTPD_PATH_MAX)
        return ND_EINVAL;
    ws_endpoint_t *ep = &h->ws[h->ws_count++];
    snprintf(ep->path, sizeof ep->path, "%s", path);
    ep->handler = *handler;
    return ND_OK;
}

/* The upgrade request: an endpoint on its path, and its accept_cb says yes; else -1 (closed). */
static int ws_filter(struct lws *wsi, nd_httpd_t *h, pss_t *pss)
{
    char path[ND_HTTPD_PATH_MAX], origin[256], host[256], auth[512], peer[64];
    read_header(wsi, WSI_TOKEN_GET_URI, path, sizeof path);
    read_header(wsi, WSI_TOKEN_ORIGIN, origin, sizeof origin);
    read_header(wsi, WSI_TOKEN_HOST, host, sizeof host);
    read_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, auth, sizeof auth);
    lws_get_peer_simple(wsi, peer, sizeof peer);
    h->requests++;
    const ws_endpoint_t *ep = pss ? find_ws(h, path) : NULL;
    nd_httpd_request_t req = {.method = "GET", .path = path, .query = "", .authorization = auth,
                              .origin = origin, .host = host, .peer = peer};
    if (!ep || !ep->handler.accept_cb(ep->handler.ctx, &req))
        return -1;
    memset(&pss->ws, 0, sizeof pss->ws);
    pss->ws.ep = ep;
    return 0;
}

static int ws_established(struct lws *wsi, pss_t *pss)
{
    if (!pss || !pss->ws.ep)
        return -1;
    pss->ws.wsi = wsi;
    pss->ws.open = true;
    pss->ws.ep->handler.open_cb(pss->ws.ep->handler.ctx, &pss->ws);
    return 0;
}

static int ws_writeable(pss_t *pss)
{
    struct nd_httpd_ws *c = &pss->ws;
    if (!c->open || c->overflow)
        return -1; /* too slow: closed, and its close_cb follows */
    if (c->count == 0)
        return 0;
    char *m = c->queue[c->head];
    size_t len = c->queue_len[c->head];
    c->queue[c->head] = NULL;
    c->head = (c->head + 1) % ND_HTTPD_WS_QUEUE_MAX;
    c->count--;
    int n = lws_write(c->wsi, (unsigned char *)m + LWS_PRE, len, LWS_WRITE_TEXT);
    nd_free(m);
    if (n < (int)len)
        return -1;
    if (c->count > 0)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static void ws_closed(pss_t *pss)
{
    if (!pss)
        return;
    struct nd_httpd_ws *c = &pss->ws;
    if (c->open)
        c->ep->handler.close_cb(c->ep->handler.ctx, c);
    for (; c->count > 0; c->count--) {
        nd_free(c->queue[c->head]);
        c->head = (c->head + 1) % ND_HTTPD_WS_QUEUE_MAX;
    }
    memset(c, 0, sizeof *c);
}

nd_err_t nd_httpd_ws_send(nd_httpd_ws_t *c, const char *text, size_t len)
{
    ND_ASSERT(c != NULL && c->open);
    ND_ASSERT(text != NULL || len == 0);
    if (c->overflow || c->count == ND_HTTPD_WS_QUEUE_MAX) {
        c->overflow = true;
        lws_callback_on_writable(c->wsi);
        return ND_EFULL;
    }
    char *m = nd_alloc(LWS_PRE + len + 1);
    if (!m)
        return ND_ENOMEM;
    memcpy(m + LWS_PRE, text, len);
    uint32_t tail = (c->head + c->count) % ND_HTTPD_WS_QUEUE_MAX;
    c->queue[tail] = m;
    c->queue_len[tail] = len;
    c->count++;
    lws_callback_on_writable(c->wsi);
    return ND_OK;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    pss_t *pss = user;
    nd_httpd_t *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_WSI_CREATE:
    case LWS_CALLBACK_WSI_DESTROY:
        nd_lws_teardown_track(&h->teardown, wsi, reason == LWS_CALLBACK_WSI_CREATE);
        return 0;
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, h, pss, in);
    case LWS_CALLBACK_HTTP_BODY:
        on_body(pss, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return dispatch(wsi, h, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_writeable(wsi, pss);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return ws_filter(wsi, h, pss);
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(wsi, pss);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(pss);
    case LWS_CALLBACK_RECEIVE:
        if (pss->ws.open && pss->ws.ep->handler.message_cb)
            pss->ws.ep->handler.message_cb(pss->ws.ep->handler.ctx, &pss->ws, in, len);
        return 0;
    case LWS_CALLBACK_CLOSED:
        ws_closed(pss);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss) {
            nd_free(pss->resp);
            nd_free(pss->body);
            pss->resp = pss->body = NULL;
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"http", http_callback, sizeof(pss_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* libwebsockets 4.1 mishandles a failed vhost on a foreign libuv loop (it closes a handle
 * twice), so what can fail is checked first: the address binds (a port given, not 0) and the
 * TLS files are readable. A race with another process taking the port in between remains. */
static nd_err_t precheck(const nd_httpd_t *h, const nd_httpd_config_t *cfg, int port, char *err,
                         size_t err_len)
{
    if (h->tls && (access(cfg->tls_cert_file, R_OK) != 0 || access(cfg->tls_key_file, R_OK) != 0)) {
        snprintf(err, err_len, "TLS certificate '%s' or key '%s' is not readable",
                 cfg->tls_cert_file, cfg->tls_key_file);
        return ND_EIO;
    }
    if (port == 0)
        return ND_OK;
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    bool v6 = strchr(h->host, ':') != NULL;
    if (v6)
        uv_ip6_addr(h->host, port, (struct sockaddr_in6 *)&addr);
    else
        uv_ip4_addr(h->host, port, (struct sockaddr_in *)&addr);
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    int one = 1;
    int rc = fd < 0 ? -1 : setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rc == 0)
        rc = bind(fd, (struct sockaddr *)&addr,
                  v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        snprintf(err, err_len, "cannot listen on %s:%d: %s", h->host, port, strerror(saved));
        return ND_EIO;
    }
    return ND_OK;
}

static nd_err_t make_context(nd_httpd_t *h, const nd_httpd_config_t *cfg, int port, char *err,
                             size_t err_len)
{
    nd_ws_log_init();
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = h->host;
    info.protocols = protocols;
    info.user = h;
    info.gid = -1;
    info.uid = -1;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_DISABLE_IPV6 * (strchr(h->host, ':') == NULL);
    void *loops[1] = {cfg->uv_loop};
    info.foreign_loops = loops;
    if (h->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert_file;
        info.ssl_private_key_filepath = cfg->tls_key_file;
    }
    nd_lws_teardown_before_create(&h->teardown, cfg->uv_loop);
    h->ctx = lws_create_context(&info);
    nd_lws_teardown_after_create(&h->teardown, cfg->uv_loop);
    struct lws_vhost *vh = h->ctx ? lws_get_vhost_by_name(h->ctx, "default") : NULL;
    h->port = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (!h->ctx || h->port <= 0) {
        snprintf(err, err_len, "cannot listen on %s:%d%s", h->host, port,
                 h->tls ? " with the TLS certificate and key given" : "");
        return ND_EIO;
    }
    return ND_OK;
}

nd_err_t nd_httpd_create(const nd_httpd_config_t *cfg, nd_httpd_t **out, char *err,
                         size_t err_len)
{
    ND_ASSERT(cfg != NULL && out != NULL);
    ND_ASSERT(cfg->uv_loop != NULL);
    if ((cfg->tls_cert_file == NULL) != (cfg->tls_key_file == NULL)) {
        snprintf(err, err_len, "TLS needs both a certificate and a key");
        return ND_EINVAL;
    }
    nd_httpd_t *h = nd_calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, err_len, "out of memory");
        return ND_ENOMEM;
    }
    h->uv_loop = cfg->uv_loop;
    h->tls = cfg->tls_cert_file != NULL;
    int port = 0;
    nd_err_t rc = nd_httpd_parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:0", h->host,
                                        sizeof h->host, &port, err, err_len);
    if (rc == ND_OK)
        rc = precheck(h, cfg, port, err, err_len);
    if (rc == ND_OK)
        rc = make_context(h, cfg, port, err, err_len);
    if (rc != ND_OK) {
        nd_httpd_destroy(h);
        return rc;
    }
    ND_LOG(ND_LOG_INFO, "httpd listening=%s:%d tls=%d", h->host, h->port, h->tls);
    *out = h;
    return ND_OK;
}

int nd_httpd_port(const nd_httpd_t *h)
{
    return h->port;
}

void nd_httpd_url(const nd_httpd_t *h, char *out, size_t cap)
{
    bool v6 = strchr(h->host, ':') != NULL;
    snprintf(out, cap, "%s://%s%s%s:%d", h->tls ? "https" : "http", v6 ? "[" : "", h->host,
             v6 ? "]" : "", h->port);
}

uint64_t nd_httpd_requests(const nd_httpd_t *h)
{
    return h->requests;
}

void nd_httpd_destroy(nd_httpd_t *h)
{
    if (!h)
        return;
    nd_lws_context_destroy(h->ctx, &h->teardown, h->uv_loop, "httpd");
    nd_free(h);
}
