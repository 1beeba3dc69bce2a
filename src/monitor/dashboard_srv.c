/* dashboard_srv.c: the dashboard on the process's HTTP server (dashboard.h, httpd.h).
 *
 * Serves the page and its assets (embedded at build time from web/dashboard/; the charting
 * library as the reports find it, report.h), the read-only snapshot, the control POSTs and the
 * WebSocket. Every publish takes one snapshot, diffs it against the last one and sends each
 * client either the whole snapshot (a client that just connected) or the delta, numbered so the
 * page notices a gap and reconnects. A client too slow to take its messages is closed by the
 * server (httpd.h) and comes back for a new snapshot. Invariants: last is the snapshot every
 * connected client has been brought to (seq); a client slot is used from open to close only.
 * The token is never logged: its id is. */
#include "monitor_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/httpd.h"
#include "noderr/log.h"
#include "noderr/report.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* tools/embed_files.py's output (src/monitor/meson.build). */
extern const char nd__dashboard_index_html[], nd__dashboard_js[], nd__dashboard_css[];
extern const size_t nd__dashboard_index_html_size, nd__dashboard_js_size,
    nd__dashboard_css_size;

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(10))

typedef struct client {
    nd_httpd_ws_t *ws;     /* NULL: a free slot */
    bool fresh;            /* sent nothing yet: gets the whole snapshot */
} client_t;

struct nd_dashboard {
    nd_httpd_t *httpd;
    nd_dashboard_config_t cfg;
    nd_dashboard_token_t token;
    nd_dashboard_hooks_t hooks;
    bool tls;
    json_t *last;          /* the last snapshot published (NULL before the first) */
    void *snap_buf;        /* where a snapshot is filled (nd__dashboard_snap_size bytes) */
    uint64_t seq;
    client_t clients[ND_DASHBOARD_CLIENTS_MAX];
    /* Written on the server's thread; atomic because the engine's thread reads them when the
     * dashboard runs on a thread of its own (dashboard_thread.c). */
    _Atomic uint32_t client_count;
    _Atomic uint64_t messages;
    char *library_js;      /* the charting library, NULL when not installed */
    size_t library_len;
};

/* ---- Static files and the snapshot --------------------------------------------------------- */

bool nd__dashboard_hooks_ok(const nd_dashboard_hooks_t *hooks)
{
    bool binary = hooks->fill_cb && hooks->format_cb && hooks->snap_size > 0;
    bool none = !hooks->fill_cb && !hooks->format_cb && hooks->snap_size == 0;
    return hooks->control_cb && (binary ? !hooks->snapshot_cb : none && hooks->snapshot_cb);
}

size_t nd__dashboard_snap_size(const nd_dashboard_hooks_t *hooks)
{
    return hooks->fill_cb ? hooks->snap_size : sizeof(json_t *);
}

bool nd__dashboard_snap_fill(const nd_dashboard_hooks_t *hooks, void *buf)
{
    ND_ASSERT(buf != NULL);
    if (hooks->fill_cb) {
        hooks->fill_cb(hooks->ctx, buf);
        return true;
    }
    json_t *doc = hooks->snapshot_cb(hooks->ctx);
    memcpy(buf, &doc, sizeof doc);
    return doc != NULL;
}

json_t *nd__dashboard_snap_format(const nd_dashboard_hooks_t *hooks, void *buf)
{
    ND_ASSERT(buf != NULL);
    if (hooks->fill_cb)
        return hooks->format_cb(buf);
    json_t *doc = NULL;
    memcpy(&doc, buf, sizeof doc);
    memset(buf, 0, sizeof doc); /* taken: formatted once */
    return doc;
}

/* A snapshot taken on this thread, fill and format together. */
static json_t *take_snapshot(nd_dashboard_t *d)
{
    if (!nd__dashboard_snap_fill(&d->hooks, d->snap_buf))
        return NULL;
    return nd__dashboard_snap_format(&d->hooks, d->snap_buf);
}

static void respond_copy(nd_httpd_response_t *resp, int status, const char *type,
                         const char *text, size_t len)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = len ? nd_alloc(len) : NULL;
    if (len && !resp->body) {
        resp->status = 503;
        resp->body_len = 0;
        return;
    }
    if (len)
        memcpy(resp->body, text, len);
    resp->body_len = len;
}

static void respond_text(nd_httpd_response_t *resp, int status, const char *text)
{
    respond_copy(resp, status, "text/plain; charset=utf-8", text, strlen(text));
}

static void on_index(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    (void)req;
    respond_copy(resp, 200, "text/html; charset=utf-8", nd__dashboard_index_html,
                 nd__dashboard_index_html_size);
}

static void on_js(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    (void)req;
    respond_copy(resp, 200, "text/javascript; charset=utf-8", nd__dashboard_js,
                 nd__dashboard_js_size);
}

static void on_css(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    (void)req;
    respond_copy(resp, 200, "text/css; charset=utf-8", nd__dashboard_css, nd__dashboard_css_size);
}

static void on_library(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    nd_dashboard_t *d = ctx;
    (void)req;
    if (!d->library_js) {
        respond_text(resp, 404, "the charting library is not installed (npm ci --prefix web)\n");
        return;
    }
    respond_copy(resp, 200, "text/javascript; charset=utf-8", d->library_js, d->library_len);
}

/* The message text for a client: {"type":..., "seq":..., key: value}; nd_alloc'd. */
static char *message(const char *type, uint64_t seq, const char *key, json_t *value,
                     size_t *len)
{
    json_t *m = json_object();
    json_object_set_new(m, "type", json_string(type));
    json_object_set_new(m, "seq", json_integer((json_int_t)seq));
    json_object_set(m, key, value);
    size_t need = json_dumpb(m, NULL, 0, DUMP_FLAGS);
    char *text = need ? nd_alloc(need) : NULL;
    *len = text ? json_dumpb(m, text, need, DUMP_FLAGS) : 0;
    json_decref(m);
    return text;
}

static void on_snapshot(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    nd_dashboard_t *d = ctx;
    (void)req;
    json_t *snap = take_snapshot(d);
    size_t len = 0;
    char *text = snap ? message("snapshot", d->seq, "data", snap, &len) : NULL;
    json_decref(snap);
    if (!text) {
        respond_text(resp, 503, "no snapshot\n");
        return;
    }
    resp->content_type = "application/json";
    resp->body = text;
    resp->body_len = len;
}

/* ---- Controls ------------------------------------------------------------------------------ */

static void on_control(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    nd_dashboard_t *d = ctx;
    const char *peer = req->peer && req->peer[0] ? req->peer : "?";
    /* A browser always sends Origin on a POST from a page: one that is not ours is a page of
     * another site driving the operator's browser, refused before the token is even looked at. */
    if (req->origin && req->origin[0] && !nd_dashboard_origin_ok(req->origin, req->host, d->tls)) {
        ND_LOG(ND_LOG_WARN, "event=dashboard_refused path=%s peer=%s why=origin", req->path, peer);
        respond_text(resp, 403, "refused: the request comes from another origin\n");
        return;
    }
    if (!nd_dashboard_auth_ok(&d->token, req->authorization)) {
        ND_LOG(ND_LOG_WARN, "event=dashboard_refused path=%s peer=%s why=token", req->path, peer);
        respond_text(resp, 401, "refused: Authorization: Bearer TOKEN is required "
                                "(STATE_DIR/dashboard.token)\n");
        return;
    }
    nd_dashboard_control_t c;
    char msg[256] = "";
    nd_err_t rc = nd_dashboard_control_parse(req->path, req->body, req->body_len, &c, msg,
                                             sizeof msg);
    int status = rc == ND_OK ? 0 : rc == ND_ENOTFOUND ? 404 : 400;
    if (rc == ND_OK)
        status = d->hooks.control_cb(d->hooks.ctx, &c, d->token.id, peer, msg, sizeof msg);
    ND_LOG(ND_LOG_WARN, "event=dashboard_control action=%s strategy=\"%s\" by=%s peer=%s "
           "status=%d", rc == ND_OK ? nd_dashboard_action_name(c.action) : req->path,
           rc == ND_OK ? c.strategy : "", d->token.id, peer, status);
    char line[300];
    snprintf(line, sizeof line, "%s\n", msg[0] ? msg : status == 200 ? "done" : "refused");
    respond_text(resp, status, line);
}

/* ---- WebSocket ----------------------------------------------------------------------------- */

static bool ws_accept(void *ctx, const nd_httpd_request_t *req)
{
    nd_dashboard_t *d = ctx;
    bool ok = nd_dashboard_origin_ok(req->origin, req->host, d->tls) &&
              d->client_count < (uint32_t)d->cfg.clients_max;
    if (!ok)
        ND_LOG(ND_LOG_WARN, "event=dashboard_ws_refused peer=%s why=%s",
               req->peer && req->peer[0] ? req->peer : "?",
               d->client_count < (uint32_t)d->cfg.clients_max ? "origin" : "clients_max");
    return ok;
}

static void send_to(nd_dashboard_t *d, client_t *c, const char *text, size_t len)
{
    if (nd_httpd_ws_send(c->ws, text, len) == ND_OK)
        d->messages++;
}

static void send_snapshot(nd_dashboard_t *d, client_t *c)
{
    size_t len = 0;
    char *text = d->last ? message("snapshot", d->seq, "data", d->last, &len) : NULL;
    if (text) {
        send_to(d, c, text, len);
        c->fresh = false;
    }
    nd_free(text);
}

static void ws_open(void *ctx, nd_httpd_ws_t *ws)
{
    nd_dashboard_t *d = ctx;
    client_t *c = NULL;
    for (uint32_t k = 0; k < ND_DASHBOARD_CLIENTS_MAX && !c; k++)
        if (!d->clients[k].ws)
            c = &d->clients[k];
    ND_ASSERT(c != NULL); /* ws_accept kept the count under clients_max */
    c->ws = ws;
    c->fresh = true;
    d->client_count++;
    if (!d->last) /* the first client: take a snapshot now, not at the next publish */
        d->last = take_snapshot(d);
    send_snapshot(d, c);
}

static void ws_close(void *ctx, nd_httpd_ws_t *ws)
{
    nd_dashboard_t *d = ctx;
    for (uint32_t k = 0; k < ND_DASHBOARD_CLIENTS_MAX; k++) {
        if (d->clients[k].ws != ws)
            continue;
        d->clients[k].ws = NULL;
        ND_ASSERT(d->client_count > 0);
        d->client_count--;
        return;
    }
}

void nd_dashboard_publish(nd_dashboard_t *d)
{
    ND_ASSERT(d != NULL);
    nd_dashboard_publish_doc(d, d->client_count ? take_snapshot(d) : NULL);
}

void nd_dashboard_publish_doc(nd_dashboard_t *d, json_t *snap)
{
    ND_ASSERT(d != NULL);
    if (d->client_count == 0) { /* nobody to send to: snap (NULL: none) is the next client's */
        json_decref(d->last);
        d->last = snap;
        return;
    }
    if (!snap)
        return;
    json_t *delta = nd_dashboard_delta(d->last, snap);
    size_t len = 0;
    char *text = NULL;
    if (json_array_size(delta) > 0) {
        d->seq++;
        text = message("delta", d->seq, "ops", delta, &len);
    }
    json_decref(d->last);
    d->last = snap;
    for (uint32_t k = 0; k < ND_DASHBOARD_CLIENTS_MAX; k++) {
        client_t *c = &d->clients[k];
        if (!c->ws)
            continue;
        if (c->fresh)
            send_snapshot(d, c);
        else if (text)
            send_to(d, c, text, len);
    }
    nd_free(text);
    json_decref(delta);
}

/* ---- Life ------------------------------------------------------------------------------------ */

static nd_err_t add_routes(nd_dashboard_t *d, char *err, size_t err_len)
{
    static const struct {
        const char *method, *path;
        nd_httpd_route_cb cb;
    } routes[] = {
        {"GET", "/", on_index},
        {"GET", "/dashboard.js", on_js},
        {"GET", "/dashboard.css", on_css},
        {"GET", "/lightweight-charts.js", on_library},
        {"GET", "/api/snapshot", on_snapshot},
        {"POST", "/api/kill", on_control},
        {"POST", "/api/strategy/pause", on_control},
        {"POST", "/api/strategy/resume", on_control},
        {"POST", "/api/promote", on_control},
        {"POST", "/api/rollback", on_control},
    };
    for (size_t k = 0; k < sizeof routes / sizeof routes[0]; k++) {
        nd_err_t rc = nd_httpd_route(d->httpd, routes[k].method, routes[k].path, routes[k].cb, d);
        if (rc != ND_OK) {
            nd_err_put(err, err_len, "dashboard: cannot route %s %s: %s", routes[k].method,
                       routes[k].path, nd_strerror(rc));
            return rc;
        }
    }
    nd_httpd_ws_handler_t ws = {.accept_cb = ws_accept, .open_cb = ws_open,
                                .close_cb = ws_close, .ctx = d};
    nd_err_t rc = nd_httpd_websocket(d->httpd, "/ws", &ws);
    if (rc != ND_OK)
        nd_err_put(err, err_len, "dashboard: cannot add the WebSocket /ws: %s", nd_strerror(rc));
    return rc;
}

/* The charting library as the reports load it; absent is fine (the page shows no chart). */
static void load_library(nd_dashboard_t *d)
{
    nd_report_assets_t assets;
    char err[256];
    if (nd_report_assets_load(NULL, &assets, err, sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_INFO, "event=dashboard_no_chart why=\"%s\"", err);
        return;
    }
    d->library_js = assets.library_js;
    d->library_len = strlen(assets.library_js);
    assets.library_js = NULL;
    nd_report_assets_free(&assets);
}

nd_err_t nd_dashboard_create(nd_httpd_t *h, const nd_dashboard_config_t *cfg,
                             const nd_dashboard_token_t *token, const nd_dashboard_hooks_t *hooks,
                             nd_dashboard_t **out, char *err, size_t err_len)
{
    ND_ASSERT(h != NULL && cfg != NULL && token != NULL);
    ND_ASSERT(hooks != NULL && nd__dashboard_hooks_ok(hooks));
    nd_dashboard_t *d = nd_calloc(1, sizeof *d);
    if (!d)
        return ND_ENOMEM;
    d->snap_buf = nd_calloc(1, nd__dashboard_snap_size(hooks));
    if (!d->snap_buf) {
        nd_free(d);
        return ND_ENOMEM;
    }
    d->httpd = h;
    d->cfg = *cfg;
    d->token = *token;
    d->hooks = *hooks;
    char url[128];
    nd_httpd_url(h, url, sizeof url);
    d->tls = strncmp(url, "https:", 6) == 0;
    load_library(d);
    nd_err_t rc = add_routes(d, err, err_len);
    if (rc != ND_OK) {
        nd_dashboard_destroy(d);
        return rc;
    }
    ND_LOG(ND_LOG_INFO, "event=dashboard url=%s/ token_id=%s", url, d->token.id);
    *out = d;
    return ND_OK;
}

uint32_t nd_dashboard_clients(const nd_dashboard_t *d)
{
    return d->client_count;
}

uint64_t nd_dashboard_messages(const nd_dashboard_t *d)
{
    return d->messages;
}

void nd_dashboard_destroy(nd_dashboard_t *d)
{
    if (!d)
        return;
    json_decref(d->last);
    nd_free(d->snap_buf);
    nd_free(d->library_js);
    explicit_bzero(&d->token, sizeof d->token);
    nd_free(d);
}
