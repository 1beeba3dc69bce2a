/* test_httpd_ws.c: the HTTP server's WebSocket endpoints (httpd.h) on a libuv loop, driven by a
 * plain-socket client on another thread: the upgrade refused by accept_cb (the dashboard's
 * Origin check) and by path, an accepted client receiving what open_cb sent in order, the Host
 * and Origin headers handed to accept_cb, a client whose queue overflows being closed (close_cb
 * once), and close_cb when the client leaves. */
#include "noderr/alloc.h"
#include "noderr/httpd.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SENT 5

typedef struct server {
    int opened, closed, full_rc_seen;
    char origin[128], host[128];
    bool overflow; /* the next client gets more than the queue holds */
} server_t;

static bool accept_cb(void *ctx, const nd_httpd_request_t *req)
{
    server_t *s = ctx;
    snprintf(s->origin, sizeof s->origin, "%s", req->origin);
    snprintf(s->host, sizeof s->host, "%s", req->host);
    return strcmp(req->origin, "http://good") == 0;
}

static void open_cb(void *ctx, nd_httpd_ws_t *c)
{
    server_t *s = ctx;
    s->opened++;
    int n = s->overflow ? ND_HTTPD_WS_QUEUE_MAX + 1 : SENT;
    for (int k = 0; k < n; k++) {
        char text[32];
        int len = snprintf(text, sizeof text, "message %d", k);
        if (nd_httpd_ws_send(c, text, (size_t)len) == ND_EFULL)
            s->full_rc_seen++;
    }
}

static void close_cb(void *ctx, nd_httpd_ws_t *c)
{
    (void)c;
    ((server_t *)ctx)->closed++;
}

typedef struct client {
    int port;
    uv_async_t done;
    int failures;
    char failure[256];
    int refused_origin, refused_path, received, overflow_closed;
} client_t;

static void check(client_t *c, bool ok, const char *what)
{
    if (!ok && c->failures++ == 0)
        snprintf(c->failure, sizeof c->failure, "%s", what);
}

/* Connects and sends the upgrade; returns the socket and whether the answer was 101. */
static int upgrade(client_t *c, const char *path, const char *origin, bool *ok)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    check(c, connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nOrigin: %s\r\n\r\n", path, c->port, origin);
    check(c, write(fd, req, (size_t)n) == n, "write upgrade");
    char head[1024] = "";
    size_t got = 0;
    while (got < sizeof head - 1 && !strstr(head, "\r\n\r\n")) {
        ssize_t r = read(fd, head + got, 1); /* byte by byte: frames follow the head */
        if (r <= 0)
            break;
        head[++got] = '\0';
    }
    head[got] = '\0';
    *ok = strncmp(head, "HTTP/1.1 101", 12) == 0;
    return fd;
}

/* Reads one unmasked server text frame (short lengths only) into out; false at close or EOF. */
static bool read_frame(int fd, char *out, size_t cap)
{
    unsigned char h[2];
    if (read(fd, h, 2) != 2 || (h[0] & 0x0F) != 1)
        return false;
    size_t len = h[1] & 0x7F;
    if (len >= cap || len > 125)
        return false;
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, out + got, len - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    out[len] = '\0';
    return true;
}

static void *run_client(void *arg)
{
    client_t *c = arg;
    bool ok;
    char text[128];
    int fd = upgrade(c, "/ws", "http://evil", &ok);
    c->refused_origin = !ok;
    close(fd);
    fd = upgrade(c, "/other", "http://good", &ok);
    c->refused_path = !ok;
    close(fd);
    fd = upgrade(c, "/ws", "http://good", &ok);
    check(c, ok, "the good upgrade was not answered 101");
    for (int k = 0; ok && k < SENT && read_frame(fd, text, sizeof text); k++) {
        char want[32];
        snprintf(want, sizeof want, "message %d", k);
        check(c, strcmp(text, want) == 0, text);
        c->received++;
    }
    close(fd);
    usleep(100000);
    uv_async_send(&c->done);
    return NULL;
}

static void on_done(uv_async_t *a)
{
    uv_stop(a->loop);
}

static void run_with_client(uv_loop_t *loop, nd_httpd_t *h, client_t *c, void *(*fn)(void *))
{
    c->port = nd_httpd_port(h);
    uv_async_init(loop, &c->done, on_done);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fn, c), 0);
    uv_run(loop, UV_RUN_DEFAULT);
    pthread_join(t, NULL);
    uv_close((uv_handle_t *)&c->done, NULL);
}

static nd_httpd_t *make_server(uv_loop_t *loop, server_t *s)
{
    cr_assert_eq(uv_loop_init(loop), 0);
    nd_httpd_config_t cfg = {.listen = "127.0.0.1:0", .uv_loop = loop};
    nd_httpd_t *h = NULL;
    char err[256] = "";
    cr_assert_eq(nd_httpd_create(&cfg, &h, err, sizeof err), ND_OK, "%s", err);
    nd_httpd_ws_handler_t handler = {.accept_cb = accept_cb, .open_cb = open_cb,
                                     .close_cb = close_cb, .ctx = s};
    cr_assert_eq(nd_httpd_websocket(h, "/ws", &handler), ND_OK);
    cr_assert_eq(nd_httpd_websocket(h, "/ws", &handler), ND_EEXIST);
    return h;
}

static void finish(uv_loop_t *loop, nd_httpd_t *h)
{
    nd_httpd_destroy(h);
    uv_run(loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(loop), 0);
}

Test(httpd_ws, upgrade_checked_then_messages_in_order)
{
    uv_loop_t loop;
    server_t s = {0};
    nd_httpd_t *h = make_server(&loop, &s);
    client_t c = {0};
    run_with_client(&loop, h, &c, run_client);
    cr_assert_eq(c.failures, 0, "%s", c.failure);
    cr_assert(c.refused_origin, "an upgrade from another origin was accepted");
    cr_assert(c.refused_path, "an upgrade on a path with no endpoint was accepted");
    cr_assert_eq(c.received, SENT);
    cr_assert_eq(s.opened, 1);
    cr_assert_eq(s.closed, 1, "close_cb ran %d times", s.closed);
    cr_assert_str_eq(s.origin, "http://good");
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", c.port);
    cr_assert_str_eq(s.host, want);
    finish(&loop, h);
}

static void *run_slow_client(void *arg)
{
    client_t *c = arg;
    bool ok;
    char text[128];
    int fd = upgrade(c, "/ws", "http://good", &ok);
    check(c, ok, "the upgrade was not answered 101");
    int frames = 0;
    while (ok && read_frame(fd, text, sizeof text))
        frames++;
    c->overflow_closed = frames < ND_HTTPD_WS_QUEUE_MAX + 1; /* closed before all arrived */
    close(fd);
    uv_async_send(&c->done);
    return NULL;
}

Test(httpd_ws, a_client_past_its_queue_is_closed)
{
    uv_loop_t loop;
    server_t s = {.overflow = true};
    nd_httpd_t *h = make_server(&loop, &s);
    client_t c = {0};
    run_with_client(&loop, h, &c, run_slow_client);
    cr_assert_eq(c.failures, 0, "%s", c.failure);
    cr_assert_eq(s.full_rc_seen, 1);
    cr_assert(c.overflow_closed, "the client got every message past the queue's bound");
    cr_assert_eq(s.closed, 1);
    finish(&loop, h);
}
