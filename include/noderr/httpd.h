/* httpd.h: the one HTTP server a running process has (a session's /metrics, the dashboard),
 * on libwebsockets, served by the process's libuv loop.
 *
 * Routes map a method and an exact path to a callback that fills a response (status, content
 * type, body); everything else gets 404 (405 when the path exists with another method). The
 * server binds 127.0.0.1 unless told otherwise, and speaks TLS when given a certificate and a
 * key. Request bodies (POST, PUT) are read up to ND_HTTPD_BODY_MAX (413 past it). Callbacks run
 * on the loop thread, one request at a time; the response body is handed to the server, which
 * frees it once written. A GET must not change state: routes that do (the dashboard's controls)
 * are registered for POST and check the request's Authorization themselves.
 * Owned by src/monitor/httpd.c; docs/monitoring.md. */
#ifndef NODERR_HTTPD_H
#define NODERR_HTTPD_H

#include "noderr/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ND_HTTPD_ROUTES_MAX 64
#define ND_HTTPD_PATH_MAX 256
#define ND_HTTPD_BODY_MAX (1u << 20)

typedef struct nd_httpd nd_httpd_t;

typedef struct nd_httpd_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query */
    const char *query;         /* after '?', "" when none (not decoded) */
    const char *body;          /* NULL when none */
    size_t body_len;
    const char *authorization; /* the Authorization header, "" when absent */
    const char *origin;        /* the Origin header, "" when absent */
    const char *host;          /* the Host header, "" when absent */
    const char *peer;          /* the client's address ("127.0.0.1") */
} nd_httpd_request_t;

typedef struct nd_httpd_response {
    int status;               /* 200 unless the callback says otherwise */
    const char *content_type; /* static string; "text/plain; charset=utf-8" by default */
    char *body;               /* nd_alloc'd; the server frees it after writing (NULL: empty) */
    size_t body_len;
} nd_httpd_response_t;

/* Fills resp for req. resp arrives with status 200, the default content type and no body. */
typedef void (*nd_httpd_route_cb)(void *ctx, const nd_httpd_request_t *req,
                                 nd_httpd_response_t *resp);

typedef struct nd_httpd_config {
    const char *listen;        /* "HOST:PORT" (an IP address; port 0 picks a free one);
                                * "127.0.0.1:0" when NULL */
    const char *tls_cert_file; /* PEM; TLS when both are set */
    const char *tls_key_file;
    void *uv_loop;             /* the process's libuv loop (uv_loop_t *); required */
} nd_httpd_config_t;

/* Parses "HOST:PORT" (IPv4, or [IPv6]:PORT) into host[cap] and *port; ND_EINVAL with err set
 * ("'x' is not HOST:PORT"). */
nd_err_t nd_httpd_parse_listen(const char *listen, char *host, size_t cap, int *port /* OUT */,
                               char *err, size_t err_len);

/* Creates the server listening on cfg->listen, served by cfg->uv_loop. ND_EINVAL (bad listen
 * address), ND_EIO (cannot bind, TLS files unreadable), ND_ENOMEM; err says which. Destroy it
 * with nd_httpd_destroy before the loop is closed. */
nd_err_t nd_httpd_create(const nd_httpd_config_t *cfg, nd_httpd_t **out /* OUT */, char *err,
                         size_t err_len);

/* Adds a route: method ("GET", "POST") and an exact path ("/metrics"). The strings are copied.
 * ND_EEXIST for a method and path already routed, ND_EFULL past ND_HTTPD_ROUTES_MAX. */
nd_err_t nd_httpd_route(nd_httpd_t *h, const char *method, const char *path,
                        nd_httpd_route_cb route_cb, void *ctx);

/* The port the server listens on (the one picked when the config said 0). */
int nd_httpd_port(const nd_httpd_t *h);
/* The base URL, "http://127.0.0.1:PORT" (https with TLS), into out[cap]. */
void nd_httpd_url(const nd_httpd_t *h, char *out, size_t cap);
/* Requests served since start (for tests and the health loop). */
uint64_t nd_httpd_requests(const nd_httpd_t *h);

/* ---- WebSocket endpoints ----------------------------------------------------------------------
 * A path can be a WebSocket endpoint (the page's live updates): the upgrade request goes to
 * accept_cb, which decides (false: refused, the connection closes; the dashboard checks Origin
 * there); then open_cb, text messages to message_cb (may be NULL), close_cb once. The client
 * asks for no subprotocol. Messages to a client are queued (copied) and written as the socket
 * takes them; a client with ND_HTTPD_WS_QUEUE_MAX messages unsent is too slow and is closed
 * (its close_cb follows), so one slow reader never holds memory or the loop. */
#define ND_HTTPD_WS_MAX 4
#define ND_HTTPD_WS_QUEUE_MAX 64

typedef struct nd_httpd_ws nd_httpd_ws_t; /* one WebSocket connection, valid open to close */

typedef struct nd_httpd_ws_handler {
    bool (*accept_cb)(void *ctx, const nd_httpd_request_t *upgrade);
    void (*open_cb)(void *ctx, nd_httpd_ws_t *c);
    void (*message_cb)(void *ctx, nd_httpd_ws_t *c, const char *text, size_t len);
    void (*close_cb)(void *ctx, nd_httpd_ws_t *c);
    void *ctx;
} nd_httpd_ws_handler_t;

/* Makes path a WebSocket endpoint (handler copied; accept_cb, open_cb and close_cb required).
 * ND_EEXIST for a path already one, ND_EFULL past ND_HTTPD_WS_MAX. */
nd_err_t nd_httpd_websocket(nd_httpd_t *h, const char *path, const nd_httpd_ws_handler_t *handler);
/* Queues a text message to c (copied). ND_EFULL when c already has ND_HTTPD_WS_QUEUE_MAX unsent
 * (c is then closed), ND_ENOMEM. */
nd_err_t nd_httpd_ws_send(nd_httpd_ws_t *c, const char *text, size_t len);

/* Closes the listener and every connection; runs the loop briefly so libwebsockets' handles
 * close, then frees the server. NULL is a no-op. */
void nd_httpd_destroy(nd_httpd_t *h);

/* ---- Config --------------------------------------------------------------------------------- */

/* An endpoint as a config gives it: {"listen": "127.0.0.1:9464", "tls_cert": PEM, "tls_key":
 * PEM} (listen required; both TLS files or neither). */
typedef struct nd_httpd_settings {
    bool enabled;                /* the key was there */
    char listen[80];
    char tls_cert_file[512];
    char tls_key_file[512];
} nd_httpd_settings_t;

/* Reads obj (the config's object at `key`, e.g. "metrics") of the file at path into *out; NULL
 * obj leaves it disabled. ND_EINVAL with "PATH: KEY.FIELD: why" in err (an unknown key, a bad
 * address, one TLS file without the other). */
nd_err_t nd_httpd_config_parse(const json_t *obj, const char *path, const char *key,
                               nd_httpd_settings_t *out /* OUT */, char *err, size_t err_len);

#endif
