/* test_httpd.c: the process's HTTP server (httpd.h) on a libuv loop, driven by the project's
 * HTTP client from another thread: a GET route, a POST route with a body and with an empty one,
 * 404 and 405, a body
 * larger than one write chunk, keep-alive, and the listen address parser. */
#include "noderr/alloc.h"
#include "noderr/httpd.h"
#include "noderr/venue.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define BIG (200u * 1000u)

static void hello(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    char text[256];
    snprintf(text, sizeof text, "hello %s %s q=%s peer=%s", req->method, req->path, req->query,
             req->peer);
    resp->body = nd_strdup(text);
    resp->body_len = strlen(text);
}

static void echo(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    resp->status = 201;
    resp->content_type = "application/json";
    resp->body = nd_alloc(req->body_len + 64);
    resp->body_len = (size_t)sprintf(resp->body, "{\"auth\":\"%s\",\"body\":\"%.*s\"}",
                                     req->authorization, (int)req->body_len,
                                     req->body ? req->body : "");
}

static void big(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    (void)req;
    resp->body = nd_alloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        resp->body[i] = (char)('a' + i % 26);
    resp->body_len = BIG;
}

typedef struct client {
    int port;
    uv_async_t done;
    int failures;
    char failure[256];
} client_t;

static void check(client_t *c, bool ok, const char *what)
{
    if (!ok && c->failures++ == 0)
        snprintf(c->failure, sizeof c->failure, "%s", what);
}

static void *run_client(void *arg)
{
    client_t *c = arg;
    nd_http_t *http;
    char url[128], err[256];
    nd_http_response_t r;
    check(c, nd_http_create(5000, &http) == ND_OK, "client");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello?x=1", c->port);
    check(c, nd_http_request(http, "GET", url, NULL, NULL, &r, err, sizeof err) == ND_OK, err);
    check(c, r.status == 200 && strcmp(r.body, "hello GET /hello q=x=1 peer=127.0.0.1") == 0,
          r.body ? r.body : "GET /hello");
    nd_http_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", c->port);
    const char *hdrs[] = {"Authorization: Bearer t0k", "Content-Type: text/plain", NULL};
    check(c, nd_http_request(http, "POST", url, hdrs, "abc", &r, err, sizeof err) == ND_OK, err);
    check(c, r.status == 201 && strcmp(r.body, "{\"auth\":\"Bearer t0k\",\"body\":\"abc\"}") == 0,
          r.body ? r.body : "POST /echo");
    nd_http_response_free(&r);
    check(c, nd_http_request(http, "POST", url, NULL, "", &r, err, sizeof err) == ND_OK, err);
    check(c, r.status == 201 && strcmp(r.body, "{\"auth\":\"\",\"body\":\"\"}") == 0,
          r.body ? r.body : "POST /echo with an empty body");
    nd_http_response_free(&r);
    check(c, nd_http_request(http, "GET", url, NULL, NULL, &r, err, sizeof err) == ND_OK, err);
    check(c, r.status == 405, "GET /echo is 405");
    nd_http_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nothing", c->port);
    check(c, nd_http_request(http, "GET", url, NULL, NULL, &r, err, sizeof err) == ND_OK, err);
    check(c, r.status == 404, "404");
    nd_http_response_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big", c->port);
    check(c, nd_http_request(http, "GET", url, NULL, NULL, &r, err, sizeof err) == ND_OK, err);
    check(c, r.status == 200 && r.body_len == BIG && r.body[BIG - 1] == (char)('a' + (BIG - 1) % 26),
          "big body");
    nd_http_response_free(&r);
    nd_http_destroy(http);
    uv_async_send(&c->done);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    uv_stop(a->loop);
}

Test(httpd, routes_on_a_libuv_loop)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    nd_httpd_config_t cfg = {.listen = "127.0.0.1:0", .uv_loop = &loop};
    nd_httpd_t *h = NULL;
    char err[256] = "";
    cr_assert_eq(nd_httpd_create(&cfg, &h, err, sizeof err), ND_OK, "%s", err);
    cr_assert_gt(nd_httpd_port(h), 0);
    cr_assert_eq(nd_httpd_route(h, "GET", "/hello", hello, NULL), ND_OK);
    cr_assert_eq(nd_httpd_route(h, "POST", "/echo", echo, NULL), ND_OK);
    cr_assert_eq(nd_httpd_route(h, "GET", "/big", big, NULL), ND_OK);
    cr_assert_eq(nd_httpd_route(h, "GET", "/big", big, NULL), ND_EEXIST);
    char url[64];
    nd_httpd_url(h, url, sizeof url);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%d", nd_httpd_port(h));
    cr_assert_str_eq(url, want);
    client_t c = {.port = nd_httpd_port(h)};
    uv_async_init(&loop, &c.done, on_done);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, run_client, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    cr_assert_eq(c.failures, 0, "%s", c.failure);
    cr_assert_eq(nd_httpd_requests(h), 6);
    uv_close((uv_handle_t *)&c.done, NULL);
    nd_httpd_destroy(h);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(httpd, listen_address_is_checked)
{
    char host[64], err[256];
    int port = -1;
    cr_assert_eq(nd_httpd_parse_listen("127.0.0.1:9464", host, sizeof host, &port, err, sizeof err),
                 ND_OK);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 9464);
    cr_assert_eq(nd_httpd_parse_listen("[::1]:0", host, sizeof host, &port, err, sizeof err), ND_OK);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 0);
    cr_assert_eq(nd_httpd_parse_listen("localhost:80", host, sizeof host, &port, err, sizeof err),
                 ND_EINVAL);
    cr_assert(strstr(err, "not an IP address") != NULL, "%s", err);
    cr_assert_eq(nd_httpd_parse_listen("127.0.0.1", host, sizeof host, &port, err, sizeof err),
                 ND_EINVAL);
    cr_assert_eq(nd_httpd_parse_listen("127.0.0.1:70000", host, sizeof host, &port, err,
                                       sizeof err), ND_EINVAL);
    cr_assert_eq(nd_httpd_parse_listen("127.0.0.1:", host, sizeof host, &port, err, sizeof err),
                 ND_EINVAL);
}

Test(httpd, refuses_a_port_in_use)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    nd_httpd_config_t cfg = {.listen = "127.0.0.1:0", .uv_loop = &loop};
    nd_httpd_t *a = NULL, *b = NULL;
    char err[256] = "", listen[64];
    cr_assert_eq(nd_httpd_create(&cfg, &a, err, sizeof err), ND_OK, "%s", err);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", nd_httpd_port(a));
    cfg.listen = listen;
    cr_assert_neq(nd_httpd_create(&cfg, &b, err, sizeof err), ND_OK);
    cr_assert(strstr(err, "cannot listen") != NULL, "%s", err);
    nd_httpd_destroy(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
