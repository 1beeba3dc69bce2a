/* dashboard_thread.c: the dashboard on a thread of its own (dashboard.h, "The dashboard on a
 * thread of its own"; docs/monitoring.md).
 *
 * Two threads, two loops. The engine's thread owns the hooks (they read the engine) and an async
 * handle on its loop (call_async) through which the dashboard's thread asks it to run one; the
 * dashboard's thread owns its loop, the HTTP server, the dashboard (dashboard_srv.c) and an
 * async handle (wake) through which the engine's thread says that a snapshot waits in the
 * mailbox, or that it is time to stop.
 *
 * Invariants:
 * - The snapshots travel in two preallocated buffers (slot[0], slot[1]), filled on the engine's
 *   thread (nd__dashboard_snap_fill: with a binary fill_cb, no allocation there) and formatted
 *   into the document on the dashboard's thread. mailbox (atomic) is -1 (empty) or the index of
 *   the one filled buffer waiting; the dashboard's thread takes it out with atomic_exchange. The
 *   engine's thread fills only when the mailbox is empty, and then the buffer it did not fill
 *   last: the one the dashboard's thread took before the last, whose formatting ended before it
 *   took the last (its loop is serial), so no buffer is written while it is read.
 * - call_snap is the buffer of a CALL_SNAPSHOT: filled by the engine's thread in on_call (under
 *   mu), formatted by the dashboard's thread after call_engine said done.
 * - call is under mu. The dashboard's thread puts one call at a time (its loop is serial) and
 *   waits on cond; the engine's thread runs it holding mu and marks it done. A call the engine
 *   has not started when the wait ends (timeout, closing) is withdrawn (kind NONE), so a late
 *   async never runs it.
 * - closing (under mu) is set by the engine's thread before it closes call_async; the
 *   dashboard's thread sends on call_async only under mu with closing false. */
#include "monitor_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

typedef enum call_kind { CALL_NONE = 0, CALL_SNAPSHOT = 1, CALL_CONTROL = 2 } call_kind_t;

typedef struct call {
    call_kind_t kind;             /* CALL_NONE: nothing waits */
    bool done;
    nd_dashboard_control_t control;
    char token_id[16];
    char peer[64];
    bool filled;                  /* CALL_SNAPSHOT's answer is in call_snap */
    int status;                   /* CALL_CONTROL's answer */
    char msg[256];
} call_t;

struct nd_dashboard_thread {
    uv_loop_t loop;               /* the dashboard's */
    uv_thread_t thread;
    uv_async_t wake;              /* on loop */
    uv_async_t call_async;        /* on the engine's loop */
    nd_httpd_t *httpd;
    nd_dashboard_t *dash;
    nd_dashboard_hooks_t hooks;   /* the caller's: run on the engine's thread only */
    void *slot[2];                /* the snapshots in flight (nd__dashboard_snap_size bytes) */
    void *call_snap;              /* CALL_SNAPSHOT's */
    atomic_int mailbox;           /* -1: empty; else the slot waiting */
    int fill_next;                /* engine thread: the slot it fills next */
    atomic_bool stop;
    uv_mutex_t mu;
    uv_cond_t cond;
    call_t call;                  /* under mu */
    bool closing;                 /* under mu */
    bool stopped;                 /* engine thread: nd_dashboard_thread_stop ran */
    bool call_closed;             /* engine thread: call_async's close callback ran */
    bool free_on_close;           /* engine thread: destroyed before it did: it frees t */
    bool running;                 /* the thread was started */
    uint32_t updates_per_sec;     /* the config's */
    uint64_t idle_publishes;      /* publishes asked for with no client connected */
    char url[128];
};

/* ---- The engine's side --------------------------------------------------------------------- */

static void on_call(uv_async_t *a)
{
    nd_dashboard_thread_t *t = a->data;
    uv_mutex_lock(&t->mu);
    call_t *c = &t->call;
    if (c->kind != CALL_NONE && !c->done) {
        if (c->kind == CALL_SNAPSHOT)
            c->filled = nd__dashboard_snap_fill(&t->hooks, t->call_snap);
        else
            c->status = t->hooks.control_cb(t->hooks.ctx, &c->control, c->token_id, c->peer,
                                            c->msg, sizeof c->msg);
        c->done = true;
        uv_cond_signal(&t->cond);
    }
    uv_mutex_unlock(&t->mu);
}

void nd_dashboard_thread_publish(nd_dashboard_thread_t *t)
{
    ND_ASSERT(t != NULL);
    ND_ASSERT(!t->stopped);
    /* With no page connected, one a second: what the next page gets at once, without waiting
     * for this thread (which a loaded machine may not run for a while). */
    if (nd_dashboard_clients(t->dash) == 0 && t->idle_publishes++ % t->updates_per_sec != 0)
        return;
    /* The dashboard's thread has not taken the previous one yet: it is behind, and building
     * another would only cost the engine's thread; the next period brings it up to date. */
    if (atomic_load_explicit(&t->mailbox, memory_order_acquire) != -1)
        return;
    if (!nd__dashboard_snap_fill(&t->hooks, t->slot[t->fill_next]))
        return;
    /* Only this thread fills the mailbox, so it is still empty: nothing is replaced. */
    atomic_store_explicit(&t->mailbox, t->fill_next, memory_order_release);
    t->fill_next ^= 1;
    uv_async_send(&t->wake);
}

/* call_async closes with the engine loop's next pass, which may come after destroy: whichever of
 * the two is last frees t. */
static void call_closed(uv_handle_t *h)
{
    nd_dashboard_thread_t *t = h->data;
    t->call_closed = true;
    if (t->free_on_close)
        nd_free(t);
}

void nd_dashboard_thread_stop(nd_dashboard_thread_t *t)
{
    ND_ASSERT(t != NULL);
    if (t->stopped)
        return;
    uv_mutex_lock(&t->mu);
    t->closing = true;
    uv_cond_broadcast(&t->cond);
    uv_mutex_unlock(&t->mu);
    uv_close((uv_handle_t *)&t->call_async, call_closed);
    t->stopped = true;
}

/* ---- The dashboard's side ------------------------------------------------------------------ */

/* Runs c on the engine's thread and waits for it. False when the engine side is closing or does
 * not answer in time (c withdrawn); true with c's answer filled. */
static bool call_engine(nd_dashboard_thread_t *t, call_t *c)
{
    uv_mutex_lock(&t->mu);
    if (t->closing) {
        uv_mutex_unlock(&t->mu);
        return false;
    }
    ND_ASSERT(t->call.kind == CALL_NONE);
    t->call = *c;
    t->call.done = false;
    uv_async_send(&t->call_async);
    while (!t->call.done && !t->closing)
        if (uv_cond_timedwait(&t->cond, &t->mu,
                              (uint64_t)ND_DASHBOARD_CALL_WAIT_MS * 1000000u) != 0)
            break;
    bool done = t->call.done;
    if (done)
        *c = t->call;
    memset(&t->call, 0, sizeof t->call); /* withdrawn when not done: a late async skips it */
    uv_mutex_unlock(&t->mu);
    return done;
}

static json_t *proxy_snapshot(void *ctx)
{
    nd_dashboard_thread_t *t = ctx;
    call_t c = {.kind = CALL_SNAPSHOT};
    if (!call_engine(t, &c) || !c.filled)
        return NULL;
    return nd__dashboard_snap_format(&t->hooks, t->call_snap); /* the engine is done with it */
}

static int proxy_control(void *ctx, const nd_dashboard_control_t *control, const char *token_id,
                         const char *peer, char *msg, size_t msg_len)
{
    nd_dashboard_thread_t *t = ctx;
    call_t c = {.kind = CALL_CONTROL, .control = *control};
    snprintf(c.token_id, sizeof c.token_id, "%s", token_id);
    snprintf(c.peer, sizeof c.peer, "%s", peer);
    if (call_engine(t, &c)) {
        snprintf(msg, msg_len, "%s", c.msg);
        return c.status;
    }
    uv_mutex_lock(&t->mu);
    bool closing = t->closing;
    uv_mutex_unlock(&t->mu);
    snprintf(msg, msg_len, closing ? "the session is stopping" : "the session did not answer");
    return closing ? 409 : 503;
}

static void on_wake(uv_async_t *a)
{
    nd_dashboard_thread_t *t = a->data;
    if (atomic_load(&t->stop)) {
        uv_stop(&t->loop); /* the thread closes the server outside the loop's callbacks */
        return;
    }
    int k = atomic_exchange_explicit(&t->mailbox, -1, memory_order_acq_rel);
    if (k >= 0)
        nd_dashboard_publish_doc(t->dash, nd__dashboard_snap_format(&t->hooks, t->slot[k]));
}

static void thread_main(void *arg)
{
    nd_dashboard_thread_t *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT); /* until on_wake sees stop */
    nd_httpd_destroy(t->httpd);       /* every client's close callback reaches the dashboard */
    t->httpd = NULL;
    uv_close((uv_handle_t *)&t->wake, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
}

/* ---- Life ------------------------------------------------------------------------------------ */

static nd_err_t make_server(nd_dashboard_thread_t *t, const nd_httpd_config_t *hc,
                            const nd_dashboard_config_t *cfg, const nd_dashboard_token_t *token,
                            char *err, size_t err_len)
{
    nd_httpd_config_t mine = *hc;
    mine.uv_loop = &t->loop;
    nd_err_t rc = nd_httpd_create(&mine, &t->httpd, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_dashboard_hooks_t proxies = {.snapshot_cb = proxy_snapshot, .control_cb = proxy_control,
                                    .ctx = t};
    rc = nd_dashboard_create(t->httpd, cfg, token, &proxies, &t->dash, err, err_len);
    if (rc != ND_OK)
        return rc;
    nd_httpd_url(t->httpd, t->url, sizeof t->url);
    return ND_OK;
}

static void free_slots(nd_dashboard_thread_t *t)
{
    nd_free(t->slot[0]);
    nd_free(t->slot[1]);
    nd_free(t->call_snap);
    t->slot[0] = t->slot[1] = t->call_snap = NULL;
}

/* Undoes a start that failed before the thread ran, on the caller's thread. call_async, when
 * it was initialised, closes with the engine loop's next pass, which frees t. */
static void free_cb(uv_handle_t *h)
{
    nd_free(h->data);
}

static void unmake(nd_dashboard_thread_t *t, bool call_async_on)
{
    nd_httpd_destroy(t->httpd);
    nd_dashboard_destroy(t->dash);
    uv_close((uv_handle_t *)&t->wake, NULL);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    uv_loop_close(&t->loop);
    uv_mutex_destroy(&t->mu);
    uv_cond_destroy(&t->cond);
    free_slots(t);
    if (call_async_on)
        uv_close((uv_handle_t *)&t->call_async, free_cb);
    else
        nd_free(t);
}

nd_err_t nd_dashboard_thread_start(const nd_httpd_config_t *hc, const nd_dashboard_config_t *cfg,
                                   const nd_dashboard_token_t *token,
                                   const nd_dashboard_hooks_t *hooks, void *engine_loop,
                                   nd_dashboard_thread_t **out, char *err, size_t err_len)
{
    ND_ASSERT(hc != NULL && cfg != NULL && token != NULL && engine_loop != NULL);
    ND_ASSERT(hooks != NULL && nd__dashboard_hooks_ok(hooks));
    nd_dashboard_thread_t *t = nd_calloc(1, sizeof *t);
    if (!t)
        return ND_ENOMEM;
    t->hooks = *hooks;
    size_t size = nd__dashboard_snap_size(hooks);
    t->slot[0] = nd_calloc(1, size);
    t->slot[1] = nd_calloc(1, size);
    t->call_snap = nd_calloc(1, size);
    if (!t->slot[0] || !t->slot[1] || !t->call_snap) {
        free_slots(t);
        nd_free(t);
        return ND_ENOMEM;
    }
    t->updates_per_sec = cfg->updates_per_sec > 0 ? (uint32_t)cfg->updates_per_sec : 1;
    atomic_init(&t->mailbox, -1);
    atomic_init(&t->stop, false);
    if (uv_loop_init(&t->loop) != 0 || uv_mutex_init(&t->mu) != 0 || uv_cond_init(&t->cond) != 0)
        ND_ASSERT(!"cannot initialise a loop, a mutex or a condition variable");
    uv_async_init(&t->loop, &t->wake, on_wake);
    t->wake.data = t->call_async.data = t;
    nd_err_t rc = make_server(t, hc, cfg, token, err, err_len);
    if (rc != ND_OK) {
        unmake(t, false);
        return rc;
    }
    uv_async_init(engine_loop, &t->call_async, on_call); /* before a client can need it */
    t->call_async.data = t;
    if (uv_thread_create(&t->thread, thread_main, t) != 0) {
        nd_err_put(err, err_len, "dashboard: cannot start its thread");
        unmake(t, true);
        return ND_EIO;
    }
    t->running = true;
    *out = t;
    return ND_OK;
}

void nd_dashboard_thread_url(const nd_dashboard_thread_t *t, char *out, size_t cap)
{
    snprintf(out, cap, "%s", t->url);
}

uint32_t nd_dashboard_thread_clients(const nd_dashboard_thread_t *t)
{
    return nd_dashboard_clients(t->dash);
}

uint64_t nd_dashboard_thread_messages(const nd_dashboard_thread_t *t)
{
    return nd_dashboard_messages(t->dash);
}

void nd_dashboard_thread_destroy(nd_dashboard_thread_t *t)
{
    if (!t)
        return;
    ND_ASSERT(t->running);
    nd_dashboard_thread_stop(t);
    atomic_store(&t->stop, true);
    uv_async_send(&t->wake);
    uv_thread_join(&t->thread);
    nd_dashboard_destroy(t->dash);
    int k = atomic_exchange(&t->mailbox, -1);
    if (k >= 0) /* filled, never formatted: what it holds (a snapshot_cb's document) is freed */
        json_decref(nd__dashboard_snap_format(&t->hooks, t->slot[k]));
    free_slots(t);
    if (uv_loop_close(&t->loop) != 0)
        ND_LOG(ND_LOG_WARN, "event=dashboard_loop_busy why=\"a handle is still open\"");
    uv_mutex_destroy(&t->mu);
    uv_cond_destroy(&t->cond);
    if (t->call_closed)
        nd_free(t);
    else
        t->free_on_close = true; /* the engine's loop has not run since stop: call_closed frees */
}
