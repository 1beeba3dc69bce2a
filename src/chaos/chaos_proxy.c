/* chaos_proxy.c: the chaos runner's fault-injecting TCP proxy on 127.0.0.1, between the
 * session and exchange-sim (REST and WebSocket share one port), for the network scenarios when
 * tc netem is not available (a kernel without sch_netem, or not root). One thread, poll(2)
 * over the listening socket and up to PROXY_PAIRS connection pairs. Each direction is a FIFO
 * of chunks with a release time, so the byte stream is never altered, only timed, as TCP
 * would deliver it:
 *   delay D, jitter J   each chunk is released D + uniform[0, J] ms after it was read, never
 *                       before the chunk ahead of it (in order, as TCP delivers);
 *   loss P%             a chunk is "lost" with probability P and released after a
 *                       retransmission timeout (200-600 ms, head-of-line blocking behind it);
 *   partition           nothing is forwarded and no connection is accepted until it ends.
 * The settings are atomics the runner changes at any time (nd__chaos_proxy_set). Queues are
 * bounded (PROXY_QUEUE_BYTES a direction): a full queue stops reading that side. */
#include "chaos_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/rand.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_PAIRS 32
#define PROXY_CHUNK 16384
#define PROXY_CHUNKS 256 /* a direction's queue: 256 chunks of up to 16 KiB (4 MiB) */

typedef struct chunk {
    int64_t release_ns;
    uint32_t len, off;
    char data[PROXY_CHUNK];
} chunk_t;

typedef struct dir {
    int source, target;
    uint32_t head, count;
    int64_t last_release_ns;
    chunk_t *q; /* PROXY_CHUNKS */
} dir_t;

typedef struct pair {
    bool used;
    dir_t up, down; /* up: client -> venue; down: venue -> client */
} pair_t;

struct nd__chaos_proxy {
    int listen_fd, target_port, port;
    pthread_t thread;
    atomic_bool stop;
    atomic_int delay_ms, jitter_ms, loss_pct;
    atomic_bool partition;
    nd_rand_t rng;
    pair_t pairs[PROXY_PAIRS];
};

static void close_pair(pair_t *p)
{
    if (!p->used)
        return;
    close(p->up.source);
    close(p->up.target);
    nd_free(p->up.q);
    nd_free(p->down.q);
    memset(p, 0, sizeof *p);
}

static int connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    (void)fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void accept_one(nd__chaos_proxy_t *px)
{
    int c = accept4(px->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return;
    int t = connect_target(px->target_port);
    pair_t *p = NULL;
    for (int i = 0; i < PROXY_PAIRS && !p; i++)
        if (!px->pairs[i].used)
            p = &px->pairs[i];
    chunk_t *qa = p && t >= 0 ? nd_calloc(PROXY_CHUNKS, sizeof *qa) : NULL;
    chunk_t *qb = qa ? nd_calloc(PROXY_CHUNKS, sizeof *qb) : NULL;
    if (!qb) {
        nd_free(qa);
        close(c);
        if (t >= 0)
            close(t);
        return;
    }
    *p = (pair_t){.used = true, .up = {.source = c, .target = t, .q = qa},
                  .down = {.source = t, .target = c, .q = qb}};
}

/* When a chunk read now leaves: in order, after the delay, the jitter and a "lost" packet's
 * retransmission. */
static int64_t release_at(nd__chaos_proxy_t *px, dir_t *d, int64_t now)
{
    int64_t ms = atomic_load(&px->delay_ms);
    int jitter = atomic_load(&px->jitter_ms), loss = atomic_load(&px->loss_pct);
    if (jitter > 0)
        ms += (int64_t)nd_rand_below(&px->rng, (uint64_t)jitter + 1);
    if (loss > 0 && (int)nd_rand_below(&px->rng, 100) < loss)
        ms += 200 + (int64_t)nd_rand_below(&px->rng, 401);
    int64_t at = now + ms * 1000000;
    if (at < d->last_release_ns)
        at = d->last_release_ns;
    d->last_release_ns = at;
    return at;
}

/* Reads what the source has into the queue; false when the source closed or failed. */
static bool fill(nd__chaos_proxy_t *px, dir_t *d, int64_t now)
{
    while (d->count < PROXY_CHUNKS) {
        chunk_t *c = &d->q[(d->head + d->count) % PROXY_CHUNKS];
        ssize_t n = read(d->source, c->data, sizeof c->data);
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->len = (uint32_t)n;
        c->off = 0;
        c->release_ns = release_at(px, d, now);
        d->count++;
    }
    return true;
}

/* Writes the chunks that are due; false when the target failed. */
static bool drain(nd__chaos_proxy_t *px, dir_t *d, int64_t now)
{
    while (d->count > 0 && !atomic_load(&px->partition)) {
        chunk_t *c = &d->q[d->head];
        if (c->release_ns > now)
            return true;
        ssize_t n = write(d->target, c->data + c->off, c->len - c->off);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->off += (uint32_t)n;
        if (c->off < c->len)
            return true;
        d->head = (d->head + 1) % PROXY_CHUNKS;
        d->count--;
    }
    return true;
}

static int build_polls(nd__chaos_proxy_t *px, struct pollfd *fds, int *owner)
{
    int n = 0;
    bool part = atomic_load(&px->partition);
    fds[n] = (struct pollfd){.fd = part ? -1 : px->listen_fd, .events = POLLIN};
    owner[n++] = -1;
    for (int i = 0; i < PROXY_PAIRS; i++) {
        pair_t *p = &px->pairs[i];
        if (!p->used)
            continue;
        fds[n] = (struct pollfd){.fd = p->up.source,
                                 .events = p->up.count < PROXY_CHUNKS ? POLLIN : 0};
        owner[n++] = i;
        fds[n] = (struct pollfd){.fd = p->down.source,
                                 .events = p->down.count < PROXY_CHUNKS ? POLLIN : 0};
        owner[n++] = i;
    }
    return n;
}

static void *proxy_main(void *arg)
{
    nd__chaos_proxy_t *px = arg;
    struct pollfd fds[1 + 2 * PROXY_PAIRS];
    int owner[1 + 2 * PROXY_PAIRS];
    while (!atomic_load(&px->stop)) {
        int n = build_polls(px, fds, owner);
        (void)poll(fds, (nfds_t)n, 5);
        if (fds[0].revents & POLLIN)
            accept_one(px);
        int64_t now = nd__chaos_mono_ns();
        for (int i = 0; i < PROXY_PAIRS; i++) {
            pair_t *p = &px->pairs[i];
            if (!p->used)
                continue;
            bool ok = fill(px, &p->up, now) && fill(px, &p->down, now);
            ok = ok && drain(px, &p->up, now) && drain(px, &p->down, now);
            if (!ok)
                close_pair(p);
        }
    }
    for (int i = 0; i < PROXY_PAIRS; i++)
        close_pair(&px->pairs[i]);
    return NULL;
}

nd_err_t nd__chaos_proxy_start(int target_port, uint64_t seed, nd__chaos_proxy_t **out,
                               char *err, size_t err_len)
{
    nd__chaos_proxy_t *px = nd_calloc(1, sizeof *px);
    if (!px)
        return ND_ENOMEM;
    px->target_port = target_port;
    nd_rand_init(&px->rng, seed);
    px->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (px->listen_fd < 0 || bind(px->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(px->listen_fd, 64) != 0 ||
        getsockname(px->listen_fd, (struct sockaddr *)&a, &len) != 0 ||
        pthread_create(&px->thread, NULL, proxy_main, px) != 0) {
        nd_err_put(err, err_len, "cannot start the fault proxy: %s", strerror(errno));
        if (px->listen_fd >= 0)
            close(px->listen_fd);
        nd_free(px);
        return ND_EIO;
    }
    px->port = ntohs(a.sin_port);
    *out = px;
    return ND_OK;
}

int nd__chaos_proxy_port(const nd__chaos_proxy_t *px)
{
    return px->port;
}

void nd__chaos_proxy_set(nd__chaos_proxy_t *px, int delay_ms, int jitter_ms, int loss_pct,
                         bool partition)
{
    ND_ASSERT(px != NULL);
    atomic_store(&px->delay_ms, delay_ms);
    atomic_store(&px->jitter_ms, jitter_ms);
    atomic_store(&px->loss_pct, loss_pct);
    atomic_store(&px->partition, partition);
}

void nd__chaos_proxy_stop(nd__chaos_proxy_t *px)
{
    if (!px)
        return;
    atomic_store(&px->stop, true);
    pthread_join(px->thread, NULL);
    close(px->listen_fd);
    nd_free(px);
}
