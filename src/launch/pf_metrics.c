/* pf_metrics.c: preflight check 14, metrics_endpoint: the config's "metrics" endpoint is served
 * and scrapeable. The check does what the session will do: it binds the configured address with
 * the process's HTTP server (httpd.h) on a loop of its own, serves a registry with the process
 * metrics on GET /metrics, fetches it over HTTP with the project's client and parses what came
 * back as Prometheus text (prom.h nd_prom_parse). A port in use, an address the host does not
 * have or unreadable TLS files fail here rather than at the session's start. Without the key:
 * skip in paper mode, fail in live mode (a live session must be watched). */
#include "launch_int.h"

#include "noderr/alloc.h"
#include "noderr/httpd.h"
#include "noderr/prom.h"
#include "noderr/venue.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

typedef struct scrape {
    char url[160];
    long timeout_ms;
    uv_async_t done;
    nd_err_t rc;
    long status;
    char content_type[96];
    char *body;
    size_t body_len;
    char err[256];
} scrape_t;

static void *fetch(void *arg)
{
    scrape_t *sc = arg;
    nd_http_t *http = NULL;
    nd_http_response_t resp = {0};
    sc->rc = nd_http_create(sc->timeout_ms, &http);
    if (sc->rc == ND_OK)
        sc->rc = nd_http_request(http, "GET", sc->url, NULL, NULL, &resp, sc->err, sizeof sc->err);
    if (sc->rc == ND_OK) {
        sc->status = resp.status;
        (void)nd_http_header(&resp, "Content-Type", sc->content_type, sizeof sc->content_type);
        sc->body = resp.body; /* taken over */
        sc->body_len = resp.body_len;
        resp.body = NULL;
    }
    nd_http_response_free(&resp);
    nd_http_destroy(http);
    uv_async_send(&sc->done);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    uv_stop(a->loop);
}

static void serve(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)req;
    if (nd_prom_render(ctx, &resp->body, &resp->body_len) != ND_OK) {
        resp->status = 503;
        return;
    }
    resp->content_type = ND_PROM_CONTENT_TYPE;
}

/* Serves reg on the configured endpoint and scrapes it once into sc. */
static nd_err_t serve_and_scrape(const nd_httpd_settings_t *hs, nd_prom_t *reg, scrape_t *sc,
                                 char *err, size_t err_len)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        snprintf(err, err_len, "cannot start an event loop");
        return ND_EIO;
    }
    nd_httpd_config_t hc = {.listen = hs->listen, .uv_loop = &loop,
                            .tls_cert_file = hs->tls_cert_file[0] ? hs->tls_cert_file : NULL,
                            .tls_key_file = hs->tls_key_file[0] ? hs->tls_key_file : NULL};
    nd_httpd_t *h = NULL;
    nd_err_t rc = nd_httpd_create(&hc, &h, err, err_len);
    if (rc == ND_OK)
        rc = nd_httpd_route(h, "GET", "/metrics", serve, reg);
    pthread_t t;
    if (rc == ND_OK) {
        nd_httpd_url(h, sc->url, sizeof sc->url - 8);
        strcat(sc->url, "/metrics");
        uv_async_init(&loop, &sc->done, on_done);
        if (pthread_create(&t, NULL, fetch, sc) != 0) {
            snprintf(err, err_len, "cannot start a thread");
            rc = ND_EIO;
        } else {
            uv_run(&loop, UV_RUN_DEFAULT);
            pthread_join(t, NULL);
        }
        uv_close((uv_handle_t *)&sc->done, NULL);
    }
    nd_httpd_destroy(h);
    uv_run(&loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&loop);
    return rc;
}

void nd__pf_metrics_endpoint(nd__pf_t *pf, nd_preflight_outcome_t *out)
{
    const nd_httpd_settings_t *hs = &pf->cfg->metrics;
    if (!hs->enabled) {
        nd__pf_set(out, pf->set->live ? ND_PF_FAIL : ND_PF_SKIP,
                   pf->set->live ? "add \"metrics\": {\"listen\": \"127.0.0.1:9464\"} to the "
                                   "config (docs/monitoring.md)" : NULL,
                   "no \"metrics\" endpoint in the config%s",
                   pf->set->live ? ": a live session must be monitored" : "");
        return;
    }
    nd_prom_t *reg = NULL;
    scrape_t sc = {.timeout_ms = pf->set->timeout_ms > 0 ? pf->set->timeout_ms : 3000};
    char err[256] = "";
    nd_err_t rc = nd_prom_create(&reg);
    if (rc == ND_OK)
        rc = nd_prom_process_metrics(reg, 0, err, sizeof err);
    if (rc == ND_OK)
        rc = serve_and_scrape(hs, reg, &sc, err, sizeof err);
    size_t samples = 0;
    if (rc != ND_OK)
        nd__pf_set(out, ND_PF_FAIL, "free the address or pick another metrics.listen",
                   "metrics.listen %s: %s", hs->listen, err[0] ? err : nd_strerror(rc));
    else if (sc.rc != ND_OK || sc.status != 200)
        nd__pf_set(out, ND_PF_FAIL, NULL, "GET %s: %s", sc.url,
                   sc.rc != ND_OK ? sc.err : "not HTTP 200");
    else if (nd_prom_parse(sc.body, sc.body_len, &samples, err, sizeof err) != ND_OK ||
             strncmp(sc.content_type, "text/plain", 10) != 0)
        nd__pf_set(out, ND_PF_FAIL, NULL, "GET %s: not the Prometheus text format: %s", sc.url,
                   err[0] ? err : sc.content_type);
    else
        nd__pf_set(out, ND_PF_PASS, NULL, "%s served %zu samples in the Prometheus text format",
                   hs->listen, samples);
    nd_free(sc.body);
    nd_prom_destroy(reg);
}
