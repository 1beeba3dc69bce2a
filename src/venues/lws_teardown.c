/* lws_teardown.c: destroying a libwebsockets context on a shared libuv loop without its double
 * close reaching anyone else's descriptor (venue.h says why). Used by the WebSocket clients
 * (ws.c) and the HTTP server (httpd.c), the two kinds of context on a session's loops. */
#include "noderr/venue.h"

#include "noderr/alloc.h"
#include "noderr/log.h"

#include <fcntl.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define TEARDOWN_PASSES 64

/* The placeholder: one pipe of the process, whose read end is duplicated onto a number while
 * libwebsockets has closed it once and will close it again. Its inode tells a number that is
 * still ours from one another thread took meanwhile. */
static pthread_once_t placeholder_once = PTHREAD_ONCE_INIT;
static int placeholder_fd = -1;
static ino_t placeholder_ino;

static void placeholder_open(void)
{
    int p[2];
    struct stat st;
    if (pipe2(p, O_CLOEXEC) != 0)
        return;
    close(p[1]);
    if (fstat(p[0], &st) != 0) {
        close(p[0]);
        return;
    }
    placeholder_ino = st.st_ino;
    placeholder_fd = p[0];
}

static bool is_placeholder(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && st.st_ino == placeholder_ino;
}

/* The descriptors of the loop's poll handles that are not sockets: libwebsockets' event
 * descriptors (the sockets are connections and listeners, tracked or closed once). */
typedef struct fd_walk {
    nd_lws_teardown_t *t;
    bool after;
} fd_walk_t;

static bool seen_before(const nd_lws_teardown_t *t, int fd)
{
    for (size_t i = 0; i < t->seen_count; i++)
        if (t->seen[i] == fd)
            return true;
    return false;
}

static void walk_cb(uv_handle_t *handle, void *arg)
{
    fd_walk_t *w = arg;
    nd_lws_teardown_t *t = w->t;
    uv_os_fd_t fd;
    struct stat st;
    if (handle->type != UV_POLL || uv_is_closing(handle) || uv_fileno(handle, &fd) != 0 ||
        fstat(fd, &st) != 0 || S_ISSOCK(st.st_mode))
        return;
    if (!w->after) {
        size_t cap = t->seen_count;
        int *more = nd_realloc(t->seen, (cap + 1) * sizeof *more);
        if (more) {
            t->seen = more;
            t->seen[t->seen_count++] = fd;
        }
    } else if (!seen_before(t, fd) && t->own_count < (int)(sizeof t->own_fds / sizeof(int))) {
        t->own_fds[t->own_count++] = fd;
    }
}

void nd_lws_teardown_before_create(nd_lws_teardown_t *t, void *uv_loop)
{
    fd_walk_t w = {.t = t, .after = false};
    uv_walk(uv_loop, walk_cb, &w);
}

void nd_lws_teardown_after_create(nd_lws_teardown_t *t, void *uv_loop)
{
    fd_walk_t w = {.t = t, .after = true};
    uv_walk(uv_loop, walk_cb, &w);
    nd_free(t->seen);
    t->seen = NULL;
    t->seen_count = 0;
}

void nd_lws_teardown_track(nd_lws_teardown_t *t, void *wsi, bool created)
{
    if (created) {
        void **more = nd_array_grow(t->conns, &t->cap, t->count + 1, sizeof *more, 8);
        if (more) {
            t->conns = more;
            t->conns[t->count++] = wsi;
        }
        return;
    }
    for (size_t i = 0; i < t->count; i++)
        if (t->conns[i] == wsi) {
            t->conns[i] = t->conns[--t->count];
            return;
        }
}

/* Closes each connection as a peer's leaving would, then runs the loop until they are freed. */
static void close_connections(nd_lws_teardown_t *t, uv_loop_t *loop, const char *who)
{
    /* A connection leaves the array when it is freed (at once or in a later pass): walked
     * from the end, what moves into a slot was already closed. */
    for (size_t i = t->count; i-- > 0;)
        if (i < t->count)
            lws_set_timeout(t->conns[i], PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
    for (int pass = 0; pass < TEARDOWN_PASSES && t->count > 0; pass++)
        uv_run(loop, UV_RUN_NOWAIT);
    if (t->count > 0)
        ND_LOG(ND_LOG_WARN, "%s: %zu connections not closed before their context", who, t->count);
}

/* Right after the first close of each own descriptor: the number is taken back by the
 * placeholder, so the second close finds it. Returns which ones are held. */
static unsigned hold_own(const nd_lws_teardown_t *t, const char *who)
{
    unsigned held = 0;
    for (int i = 0; i < t->own_count; i++) {
        if (placeholder_fd < 0 || fcntl(t->own_fds[i], F_GETFD) != -1)
            continue; /* not closed by libwebsockets (yet): nothing to hold */
        int got = fcntl(placeholder_fd, F_DUPFD_CLOEXEC, t->own_fds[i]);
        if (got == t->own_fds[i]) {
            held |= 1u << i;
        } else {
            if (got >= 0)
                close(got);
            ND_LOG(ND_LOG_WARN, "%s: descriptor %d was taken before it could be held", who,
                   t->own_fds[i]);
        }
    }
    return held;
}

/* After the second close: a placeholder libwebsockets did not close is closed here. */
static void release_own(const nd_lws_teardown_t *t, unsigned held)
{
    for (int i = 0; i < t->own_count; i++)
        if ((held & (1u << i)) && is_placeholder(t->own_fds[i]))
            close(t->own_fds[i]);
}

void nd_lws_context_destroy(struct lws_context *ctx, nd_lws_teardown_t *t, void *uv_loop,
                            const char *who)
{
    if (ctx && !uv_loop) {
        lws_context_destroy(ctx); /* its own loop: everything is closed at once */
    } else if (ctx) {
        pthread_once(&placeholder_once, placeholder_open);
        close_connections(t, uv_loop, who);
        lws_context_destroy(ctx);
        unsigned held = hold_own(t, who);
        for (int pass = 0; pass < 16; pass++)
            uv_run(uv_loop, UV_RUN_NOWAIT);
        lws_context_destroy(ctx); /* the second call frees what the first left to the loop */
        release_own(t, held);
    }
    nd_free(t->conns);
    nd_free(t->seen);
    *t = (nd_lws_teardown_t){0};
}
