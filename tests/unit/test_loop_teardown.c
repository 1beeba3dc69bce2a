/* test_loop_teardown.c: destroying one libwebsockets context on a shared libuv loop (a feed's
 * WebSocket client restarted by the supervisor, a user stream recreated) while connections wait
 * in another context's listen backlog (a Prometheus scrape, the launcher's health probe). The
 * destroy must not let a listener accept meanwhile: libwebsockets closes the dying context's
 * sockets before libuv has finished with their watchers, a connection accepted then can take
 * the same descriptor number, and libuv aborted (epoll_ctl: EBADF, seen under load as a live
 * launch exiting 134 after a feed restart). The scrapes must be answered afterwards. */
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/httpd.h"
#include "noderr/venue.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SCRAPES 12
#define ROUNDS 20

static void ok_route(void *ctx, const nd_httpd_request_t *req, nd_httpd_response_t *resp)
{
    (void)ctx;
    (void)req;
    resp->body = nd_alloc(3);
    memcpy(resp->body, "ok\n", 3);
    resp->body_len = 3;
}

static bool ws_accept(void *ctx, const nd_httpd_request_t *req)
{
    (void)ctx;
    (void)req;
    return true;
}

static void ws_open(void *ctx, nd_httpd_ws_t *c)
{
    (void)ctx;
    nd_httpd_ws_send(c, "hello", 5);
}

static void ws_close(void *ctx, nd_httpd_ws_t *c)
{
    (void)ctx;
    (void)c;
}

static void on_message(void *ctx, const char *data, size_t len, int64_t recv_ns)
{
    (void)data;
    (void)len;
    (void)recv_ns;
    ++*(int *)ctx;
}

static nd_httpd_t *server(uv_loop_t *loop)
{
    nd_httpd_config_t cfg = {.listen = "127.0.0.1:0", .uv_loop = loop};
    nd_httpd_t *h = NULL;
    char err[256];
    cr_assert_eq(nd_httpd_create(&cfg, &h, err, sizeof err), ND_OK, "%s", err);
    return h;
}

static nd_ws_t *client(uv_loop_t *loop, int port, int *messages)
{
    char url[96];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", port);
    nd_ws_config_t cfg = {.url = url, .seed = 1, .backoff_min_ns = 10000000, .uv_loop = loop};
    nd_ws_callbacks_t cb = {.message_cb = on_message, .ctx = messages};
    nd_ws_t *ws = NULL;
    char err[256];
    cr_assert_eq(nd_ws_create(&cfg, &cb, nd_clock_os(), &ws, err, sizeof err), ND_OK, "%s", err);
    return ws;
}

/* A scrape the loop has not seen: connected (the kernel completes it into the backlog) and the
 * request sent, non-blocking so the test reads it later between loop passes. */
static int scrape(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void run_until(uv_loop_t *loop, nd_ws_t *ws, const int *flag, int want)
{
    for (int i = 0; i < 2000 && *flag < want; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        if (ws)
            nd_ws_service(ws, 0);
        usleep(1000);
    }
}

/* Reads every scrape's answer while the loop runs; the number answered 200. */
static int answered(uv_loop_t *loop, const int *fds, int n)
{
    char buf[512];
    bool done[SCRAPES] = {0};
    int ok = 0, finished = 0;
    for (int i = 0; i < 3000 && finished < n; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        for (int k = 0; k < n; k++) {
            if (done[k])
                continue;
            ssize_t got = read(fds[k], buf, sizeof buf - 1);
            if (got > 0) {
                buf[got] = '\0';
                ok += strncmp(buf, "HTTP/1.1 200", 12) == 0;
            }
            if (got > 0 || got == 0) {
                done[k] = true;
                finished++;
            }
        }
        usleep(1000);
    }
    return ok;
}

/* The loop with two servers: one answering scrapes, one a stream's venue. */
static void servers(uv_loop_t *loop, nd_httpd_t **metrics, nd_httpd_t **venue)
{
    uv_loop_init(loop);
    *metrics = server(loop);
    *venue = server(loop);
    cr_assert_eq(nd_httpd_route(*metrics, "GET", "/metrics", ok_route, NULL), ND_OK);
    nd_httpd_ws_handler_t wh = {.accept_cb = ws_accept, .open_cb = ws_open,
                                .close_cb = ws_close};
    cr_assert_eq(nd_httpd_websocket(*venue, "/ws", &wh), ND_OK);
}

Test(loop_teardown, a_context_destroyed_while_scrapes_wait_in_the_backlog, .timeout = 120)
{
    uv_loop_t loop;
    nd_httpd_t *metrics, *venue;
    servers(&loop, &metrics, &venue);
    for (int round = 0; round < ROUNDS; round++) {
        int messages = 0;
        nd_ws_t *ws = client(&loop, nd_httpd_port(venue), &messages);
        run_until(&loop, ws, &messages, 1);
        cr_assert_eq(messages, 1, "round %d: the stream never opened", round);
        int fds[SCRAPES];
        for (int k = 0; k < SCRAPES; k++)
            fds[k] = scrape(nd_httpd_port(metrics));
        nd_ws_destroy(ws);
        int ok = answered(&loop, fds, SCRAPES);
        for (int k = 0; k < SCRAPES; k++)
            close(fds[k]);
        cr_assert_eq(ok, SCRAPES, "round %d: %d of %d scrapes answered", round, ok, SCRAPES);
    }
    nd_httpd_destroy(metrics);
    nd_httpd_destroy(venue);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open on the loop");
}

/* The servers themselves go with connections open (a dashboard page, an idle keep-alive scrape)
 * while more wait in the other server's backlog. */
Test(loop_teardown, a_server_destroyed_with_connections_open, .timeout = 120)
{
    uv_loop_t loop;
    nd_httpd_t *metrics, *venue;
    servers(&loop, &metrics, &venue);
    int messages = 0;
    nd_ws_t *ws = client(&loop, nd_httpd_port(venue), &messages);
    run_until(&loop, ws, &messages, 1);
    cr_assert_eq(messages, 1, "the stream never opened");
    int fds[SCRAPES];
    for (int k = 0; k < SCRAPES; k++)
        fds[k] = scrape(nd_httpd_port(metrics));
    nd_httpd_destroy(venue); /* the stream's server goes first, its client still connected */
    cr_assert_eq(answered(&loop, fds, SCRAPES), SCRAPES);
    for (int k = 0; k < SCRAPES; k++)
        fds[k] = scrape(nd_httpd_port(metrics));
    nd_ws_destroy(ws);
    nd_httpd_destroy(metrics);
    for (int k = 0; k < SCRAPES; k++)
        close(fds[k]);
    uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open on the loop");
}
