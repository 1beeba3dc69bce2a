/* binance_live.c: live local order books, one per symbol, from the diff-depth WebSocket stream
 * and REST snapshots, by Binance's documented procedure (PROTOCOLS.md A.3; binance.h).
 *
 * The stream client (binance_ws.c) decodes every frame and hands the events here; each diff
 * goes to its symbol's nd_binance_depth_t (binance_depth.c), which buffers it before a
 * snapshot, then applies or drops it. A symbol whose buffer holds a diff gets its snapshot
 * fetched by the client's worker thread (the REST client is the worker's alone), one at a time,
 * so nd_binance_live_service never waits on the network: it hands the worker the next symbol
 * due and decodes and applies an answer the worker finished (on the caller's thread, against
 * the buffer as it is then; a symbol no longer waiting for one drops it). A snapshot older than the buffered diffs is fetched
 * again after snapshot_retry_ns. A gap discards the book (STATUS resync to the sink), and the
 * diff that revealed it starts the new buffer, so the next snapshot bridges to it.
 * Invariants: the sink sees a symbol's book only as a whole-book snapshot event followed by
 * the diffs applied on top of it, in order; nothing is allocated after create. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LIVE_SYMBOLS_MAX 64
#define LIVE_BUFFER_EVENTS 2048
#define LIVE_BUFFER_LEVELS 65536
#define LIVE_STREAM_NAME_MAX 48

typedef struct live_sym {
    char symbol[ND_NAME_MAX];
    char stream[LIVE_STREAM_NAME_MAX];
    nd_binance_depth_t depth;
    int64_t next_fetch_ns; /* monotonic; a due snapshot is not fetched before this */
} live_sym_t;

struct nd_binance_live {
    const nd_clock_t *clock;
    nd_md_sink_cb sink;
    void *ctx;
    nd_binance_stream_t *stream;
    nd_binance_rest_t *rest;
    nd_binance_decoder_t *snap_dec;
    live_sym_t *syms;
    uint32_t count;
    uint32_t limit, levels_max;
    int64_t retry_ns;
    nd_md_level_t *out_levels;  /* the whole-book event: 2 * levels_max */
    nd_book_level_t *top;       /* one side, best first: levels_max */
    live_sym_t *fetching;       /* the symbol whose snapshot body is being decoded */
    bool fetch_seen;
    nd_binance_live_stats_t stats;
    /* The snapshot worker: job is the symbol asked for (NULL: idle), done once its answer is
     * in job_res / job_rc; guarded by mu, except that only the worker touches rest. */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool worker_on, stop, done;
    live_sym_t *job;
    nd_binance_rest_result_t job_res;
    nd_err_t job_rc;
    char job_err[256];
};

static live_sym_t *find_sym(const nd_binance_live_t *live, const char *symbol)
{
    for (uint32_t i = 0; i < live->count; i++)
        if (strcmp(live->syms[i].symbol, symbol) == 0)
            return &live->syms[i];
    return NULL;
}

/* Hands the sink the whole book of sym as one snapshot event. */
static void emit_book(nd_binance_live_t *live, live_sym_t *sym)
{
    const nd_book_t *book = &sym->depth.book;
    uint32_t n = 0;
    for (int side = ND_BOOK_BID; side <= ND_BOOK_ASK; side++) {
        uint32_t k = nd_book_top(book, (nd_book_side_t)side, live->top, live->levels_max);
        for (uint32_t i = 0; i < k; i++) {
            nd_md_level_t *l = &live->out_levels[n++];
            l->px = live->top[i].px;
            l->qty = live->top[i].qty;
            l->side = side == ND_BOOK_BID ? ND_MD_SIDE_BID : ND_MD_SIDE_ASK;
        }
    }
    ND_ASSERT(n <= 2 * live->levels_max);
    nd_md_event_t e;
    memset(&e, 0, sizeof e);
    e.kind = ND_MD_BOOK_UPDATE;
    e.venue = ND_VENUE_BINANCE;
    snprintf(e.symbol, sizeof e.symbol, "%s", sym->symbol);
    e.recv_ts_ns = nd_clock_now_ns(live->clock);
    e.u.book.levels = live->out_levels;
    e.u.book.level_count = n;
    e.u.book.snapshot = true;
    e.u.book.first_update_id = sym->depth.snapshot_id;
    e.u.book.last_update_id = sym->depth.last_update_id;
    live->sink(live->ctx, &e);
}

/* Discards sym's book, tells the sink, and refeeds the diff that revealed the gap (if any)
 * as the first of the new buffer. */
static void resync(nd_binance_live_t *live, live_sym_t *sym, const nd_md_event_t *diff,
                   const char *why)
{
    live->stats.resyncs++;
    ND_LOG(ND_LOG_WARN, "venue=binance symbol=%s book_resync reason=%s book_id=%" PRId64,
           sym->symbol, why, sym->depth.last_update_id);
    nd_md_event_t e;
    memset(&e, 0, sizeof e);
    e.kind = ND_MD_STATUS;
    e.venue = ND_VENUE_BINANCE;
    snprintf(e.symbol, sizeof e.symbol, "%s", sym->symbol);
    e.venue_ts_ns = diff ? diff->venue_ts_ns : 0;
    e.recv_ts_ns = diff ? diff->recv_ts_ns : nd_clock_now_ns(live->clock);
    e.u.status.code = ND_MD_STATUS_RESYNC;
    e.u.status.request_id = -1;
    snprintf(e.u.status.text, sizeof e.u.status.text, "%s after update id %" PRId64, why,
             sym->depth.last_update_id);
    nd_binance_depth_reset(&sym->depth);
    sym->next_fetch_ns = 0;
    live->sink(live->ctx, &e);
    if (diff && nd_binance_depth_diff(&sym->depth, &diff->u.book) != ND_OK)
        nd_binance_depth_reset(&sym->depth); /* larger than the whole buffer: wait for more */
}

static void on_diff(nd_binance_live_t *live, live_sym_t *sym, const nd_md_event_t *ev)
{
    nd_binance_depth_t *d = &sym->depth;
    uint64_t applied = d->applied;
    nd_err_t rc = nd_binance_depth_diff(d, &ev->u.book);
    if (rc == ND_OK) {
        if (d->applied != applied) {
            live->stats.diffs_forwarded++;
            live->sink(live->ctx, ev);
        }
        return;
    }
    /* A gap, a full buffer or book, or a book the diff left crossed: the book no longer
     * follows the venue. Only a gap's diff is kept for the next snapshot. */
    ND_ASSERT(rc == ND_ESTATE || rc == ND_EFULL || rc == ND_ERANGE);
    resync(live, sym, rc == ND_ESTATE ? ev : NULL,
           rc == ND_ESTATE ? "gap" : rc == ND_EFULL ? "full" : "crossed");
}

static void on_stream_event(void *ctx, const nd_md_event_t *ev)
{
    nd_binance_live_t *live = ctx;
    if (ev->kind == ND_MD_BOOK_UPDATE && !ev->u.book.snapshot) {
        live_sym_t *sym = find_sym(live, ev->symbol);
        if (sym)
            on_diff(live, sym, ev);
        return;
    }
    live->sink(live->ctx, ev);
}

/* The decoded REST body of the snapshot being fetched. */
static void on_snapshot(void *ctx, const nd_md_event_t *ev)
{
    nd_binance_live_t *live = ctx;
    live_sym_t *sym = live->fetching;
    ND_ASSERT(sym != NULL);
    if (ev->kind != ND_MD_BOOK_UPDATE || !ev->u.book.snapshot || live->fetch_seen)
        return;
    live->fetch_seen = true;
    nd_err_t rc = nd_binance_depth_snapshot(&sym->depth, &ev->u.book);
    if (rc == ND_EAGAIN) {
        live->stats.stale_snapshots++;
        sym->next_fetch_ns = nd_clock_mono_ns(live->clock) + live->retry_ns;
        return;
    }
    /* A snapshot that crosses or does not fit the book is refused (still buffering): fetch
     * another later, as after any bad snapshot. */
    if (rc == ND_EFULL || rc == ND_ERANGE) {
        live->stats.snapshot_errors++;
        sym->next_fetch_ns = nd_clock_mono_ns(live->clock) + live->retry_ns;
        return;
    }
    ND_ASSERT(rc == ND_OK);
    live->stats.snapshots++;
    if (sym->depth.status == ND_BINANCE_SYNC_RESYNC)
        resync(live, sym, NULL, "gap");
    else
        emit_book(live, sym);
}

static void *snapshot_worker(void *arg)
{
    nd_binance_live_t *live = arg;
    pthread_mutex_lock(&live->mu);
    for (;;) {
        while (!live->stop && (!live->job || live->done))
            pthread_cond_wait(&live->cv, &live->mu);
        if (live->stop)
            break;
        char q[96];
        snprintf(q, sizeof q, "symbol=%s&limit=%u", live->job->symbol, live->limit);
        pthread_mutex_unlock(&live->mu);
        nd_binance_rest_result_t res;
        char err[256] = "";
        nd_err_t rc = nd_binance_rest_call(live->rest, "GET", "/api/v3/depth", q, false, &res,
                                           err, sizeof err);
        pthread_mutex_lock(&live->mu);
        live->job_rc = rc;
        live->job_res = res; /* meaningful when rc is ND_OK */
        snprintf(live->job_err, sizeof live->job_err, "%s", err);
        live->done = true;
    }
    pthread_mutex_unlock(&live->mu);
    return NULL;
}

/* Applies the worker's answer for sym (the caller's thread): decoded, then loaded into the
 * book if the symbol still waits for a snapshot. */
static void take_snapshot(nd_binance_live_t *live, live_sym_t *sym, nd_err_t rc,
                          nd_binance_rest_result_t *res, const char *err)
{
    bool waiting = sym->depth.status == ND_BINANCE_SYNC_BUFFERING &&
                   sym->depth.first_buffered_U >= 0;
    bool ok = rc == ND_OK && res->http_status == 200;
    if (ok && waiting) {
        live->fetching = sym;
        live->fetch_seen = false;
        ok = nd_binance_decode(live->snap_dec, res->body, res->body_len,
                               nd_clock_now_ns(live->clock), on_snapshot, live) == ND_OK &&
             live->fetch_seen;
        live->fetching = NULL;
    }
    if (!ok) {
        live->stats.snapshot_errors++;
        sym->next_fetch_ns = nd_clock_mono_ns(live->clock) + live->retry_ns;
        ND_LOG(ND_LOG_WARN, "venue=binance symbol=%s snapshot_failed http=%ld detail=\"%s\"",
               sym->symbol, rc == ND_OK ? res->http_status : 0L, err);
    }
    if (rc == ND_OK)
        nd_binance_rest_result_free(res);
}

/* Takes a finished snapshot, then hands the worker the next symbol due (one at a time). */
static void pump_snapshots(nd_binance_live_t *live)
{
    pthread_mutex_lock(&live->mu);
    live_sym_t *sym = live->done ? live->job : NULL;
    nd_err_t rc = live->job_rc;
    nd_binance_rest_result_t res = live->job_res;
    char err[256];
    snprintf(err, sizeof err, "%s", live->job_err);
    if (sym) {
        live->job = NULL;
        live->done = false;
    }
    bool idle = live->job == NULL;
    pthread_mutex_unlock(&live->mu);
    if (sym)
        take_snapshot(live, sym, rc, &res, err);
    if (!idle)
        return;
    int64_t now = nd_clock_mono_ns(live->clock);
    for (uint32_t i = 0; i < live->count; i++) {
        live_sym_t *next = &live->syms[i];
        if (next->depth.status == ND_BINANCE_SYNC_BUFFERING && next->depth.first_buffered_U >= 0 &&
            now >= next->next_fetch_ns) {
            pthread_mutex_lock(&live->mu);
            live->job = next;
            pthread_cond_signal(&live->cv);
            pthread_mutex_unlock(&live->mu);
            return;
        }
    }
}

nd_err_t nd_binance_live_service(nd_binance_live_t *live, int timeout_ms)
{
    ND_ASSERT(live != NULL);
    ND_ASSERT(timeout_ms >= 0);
    nd_err_t rc = nd_binance_stream_service(live->stream, timeout_ms);
    pump_snapshots(live);
    return rc;
}

/* Copies and checks the symbols; builds each one's stream name. */
static nd_err_t init_syms(nd_binance_live_t *live, const nd_binance_live_config_t *cfg,
                          char *err, size_t err_len)
{
    if (cfg->symbol_count == 0 || cfg->symbol_count > LIVE_SYMBOLS_MAX || !cfg->symbols) {
        snprintf(err, err_len, "binance live: 1 to %d symbols", LIVE_SYMBOLS_MAX);
        return ND_EINVAL;
    }
    live->syms = nd_calloc(cfg->symbol_count, sizeof *live->syms);
    if (!live->syms)
        return ND_ENOMEM;
    for (uint32_t i = 0; i < cfg->symbol_count; i++) {
        const char *s = cfg->symbols[i];
        size_t n = strlen(s);
        bool ok = n > 0 && n < 20;
        for (size_t k = 0; ok && k < n; k++)
            ok = isupper((unsigned char)s[k]) || isdigit((unsigned char)s[k]);
        if (!ok) {
            snprintf(err, err_len, "binance live: symbol #%u is not an upper-case symbol", i);
            return ND_EINVAL;
        }
        live_sym_t *sym = &live->syms[i];
        memcpy(sym->symbol, s, n + 1);
        for (size_t k = 0; k <= n; k++)
            sym->stream[k] = (char)tolower((unsigned char)s[k]);
        strcat(sym->stream, cfg->slow_stream ? "@depth" : "@depth@100ms");
        nd_err_t rc = nd_binance_depth_init(&sym->depth, live->levels_max, LIVE_BUFFER_EVENTS,
                                            LIVE_BUFFER_LEVELS);
        if (rc != ND_OK)
            return rc;
        live->count = i + 1;
    }
    return ND_OK;
}

static nd_err_t start_clients(nd_binance_live_t *live, const nd_binance_live_config_t *cfg,
                              char *err, size_t err_len)
{
    nd_binance_rest_config_t rc_cfg = {.base_url = cfg->rest_base_url};
    nd_err_t rc = nd_binance_rest_create(&rc_cfg, live->clock, &live->rest, err, err_len);
    if (rc != ND_OK)
        return rc;
    /* A REST level is about 40 bytes of JSON; leave room for wide prices. */
    rc = nd_binance_decoder_create(2 * live->limit + 16, (size_t)live->limit * 2 * 80 + 65536,
                                   &live->snap_dec);
    if (rc != ND_OK)
        return rc;
    if (pthread_create(&live->thread, NULL, snapshot_worker, live) != 0) {
        snprintf(err, err_len, "binance live: cannot start the snapshot worker");
        return ND_EIO;
    }
    live->worker_on = true;
    const char *names[LIVE_SYMBOLS_MAX];
    for (uint32_t i = 0; i < live->count; i++)
        names[i] = live->syms[i].stream;
    nd_binance_stream_config_t sc = {.base_url = cfg->ws_base_url, .streams = names,
                                     .stream_count = live->count, .seed = cfg->seed,
                                     .backoff_min_ns = cfg->backoff_min_ns,
                                     .backoff_max_ns = cfg->backoff_max_ns};
    return nd_binance_stream_create(&sc, live->clock, on_stream_event, live, &live->stream, err,
                                    err_len);
}

nd_err_t nd_binance_live_create(const nd_binance_live_config_t *cfg, const nd_clock_t *clock,
                                nd_md_sink_cb sink, void *ctx, nd_binance_live_t **out,
                                char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && clock != NULL);
    ND_ASSERT(sink != NULL && out != NULL);
    if (!cfg->ws_base_url || !cfg->rest_base_url || cfg->snapshot_limit > 5000 ||
        cfg->levels_max > ND_BOOK_LEVELS_MAX) {
        snprintf(err, err_len, "binance live: base URLs required, limit <= 5000, levels <= %d",
                 ND_BOOK_LEVELS_MAX);
        return ND_EINVAL;
    }
    nd_binance_live_t *live = nd_calloc(1, sizeof *live);
    if (!live)
        return ND_ENOMEM;
    live->clock = clock;
    live->sink = sink;
    live->ctx = ctx;
    pthread_mutex_init(&live->mu, NULL);
    pthread_cond_init(&live->cv, NULL);
    live->limit = cfg->snapshot_limit ? cfg->snapshot_limit : 1000;
    live->levels_max = cfg->levels_max ? cfg->levels_max : 5000;
    live->retry_ns = cfg->snapshot_retry_ns ? cfg->snapshot_retry_ns : ND_NS_PER_SEC;
    live->out_levels = nd_calloc(2 * (size_t)live->levels_max, sizeof *live->out_levels);
    live->top = nd_calloc(live->levels_max, sizeof *live->top);
    nd_err_t rc = live->out_levels && live->top ? ND_OK : ND_ENOMEM;
    if (rc == ND_OK)
        rc = init_syms(live, cfg, err, err_len);
    if (rc == ND_OK)
        rc = start_clients(live, cfg, err, err_len);
    if (rc != ND_OK) {
        nd_binance_live_destroy(live);
        return rc;
    }
    *out = live;
    return ND_OK;
}

const nd_binance_depth_t *nd_binance_live_depth(const nd_binance_live_t *live, const char *symbol)
{
    ND_ASSERT(live != NULL && symbol != NULL);
    const live_sym_t *sym = find_sym(live, symbol);
    return sym ? &sym->depth : NULL;
}

void nd_binance_live_stats(const nd_binance_live_t *live, nd_binance_live_stats_t *out)
{
    ND_ASSERT(live != NULL && out != NULL);
    *out = live->stats;
}

const nd_venue_counters_t *nd_binance_live_counters(const nd_binance_live_t *live)
{
    return nd_binance_stream_counters(live->stream);
}

void nd_binance_live_destroy(nd_binance_live_t *live)
{
    if (!live)
        return;
    if (live->worker_on) { /* an answer in flight is waited for, then freed */
        pthread_mutex_lock(&live->mu);
        live->stop = true;
        pthread_cond_signal(&live->cv);
        pthread_mutex_unlock(&live->mu);
        pthread_join(live->thread, NULL);
        if (live->done && live->job_rc == ND_OK)
            nd_binance_rest_result_free(&live->job_res);
    }
    pthread_mutex_destroy(&live->mu);
    pthread_cond_destroy(&live->cv);
    nd_binance_stream_destroy(live->stream);
    nd_binance_rest_destroy(live->rest);
    nd_binance_decoder_destroy(live->snap_dec);
    for (uint32_t i = 0; i < live->count; i++)
        nd_binance_depth_deinit(&live->syms[i].depth);
    nd_free(live->syms);
    nd_free(live->out_levels);
    nd_free(live->top);
    nd_free(live);
}
