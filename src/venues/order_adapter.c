/* order_adapter.c: the shell the live order adapters share (order_adapter.h): the worker thread
 * and its job and result rings, the order update ring, the journal append with its fold, status
 * changes, a venue trade booked once, refusals, compaction, the engine's ids of an order.
 *
 * Invariants: jobs queued plus results not taken never exceed queue_max (the worker always has
 * room for its result); a trade is journaled once (nd_recon_booked by trade id and side) and
 * reported once; the update ring never overflows (asserted). */
#include "noderr/order_adapter.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"

#include <stdio.h>
#include <string.h>

nd_err_t nd_oadapter_init(nd_oadapter_t *a, const nd_oadapter_config_t *config, char *err,
                          size_t err_len)
{
    ND_ASSERT(a != NULL && config != NULL);
    memset(a, 0, sizeof *a);
    a->cfg = *config;
    const nd_oadapter_config_t *c = config;
    if (!c->venue || !c->journal || !c->local || !c->tag || !c->run_cb || !c->order_state ||
        c->queue_max == 0 || c->queue_max > ND_OADAPTER_QUEUE_MAX || c->job_size == 0 ||
        c->result_size == 0 || c->order_state_size == 0) {
        snprintf(err, err_len, "order adapter: venue, journal, local view, tag, run_cb, order "
                               "state and a queue of 1..%d are required", ND_OADAPTER_QUEUE_MAX);
        return ND_EINVAL;
    }
    a->_jobs = nd_calloc(c->queue_max, c->job_size);
    a->_results = nd_calloc(c->queue_max, c->result_size);
    a->_job_copy = nd_alloc(c->job_size);
    if (!a->_jobs || !a->_results || !a->_job_copy)
        return ND_ENOMEM;
    pthread_mutex_init(&a->_mu, NULL);
    pthread_cond_init(&a->_cv, NULL);
    a->_made = true;
    return ND_OK;
}

void nd_oadapter_deinit(nd_oadapter_t *a)
{
    if (!a)
        return;
    nd_oadapter_stop(a);
    if (a->_made) {
        pthread_mutex_destroy(&a->_mu);
        pthread_cond_destroy(&a->_cv);
        a->_made = false;
    }
    if (a->_jobs)
        explicit_bzero(a->_jobs, a->cfg.queue_max * a->cfg.job_size);
    nd_free(a->_jobs);
    nd_free(a->_results);
    nd_free(a->_job_copy);
    a->_jobs = a->_results = a->_job_copy = NULL;
}

/* ---- The worker ------------------------------------------------------------------------- */

static void *worker(void *arg)
{
    nd_oadapter_t *a = arg;
    const nd_oadapter_config_t *c = &a->cfg;
    unsigned char *result = nd_alloc(c->result_size);
    ND_ASSERT(result != NULL);
    pthread_mutex_lock(&a->_mu);
    for (;;) {
        while (!a->_stop && a->_job_count == 0)
            pthread_cond_wait(&a->_cv, &a->_mu);
        if (a->_stop)
            break;
        memcpy(a->_job_copy, a->_jobs + (size_t)a->_job_head * c->job_size, c->job_size);
        a->_job_head = (a->_job_head + 1) % c->queue_max;
        a->_job_count--;
        pthread_mutex_unlock(&a->_mu);
        memset(result, 0, c->result_size);
        c->run_cb(c->ctx, a->_job_copy, result);
        explicit_bzero(a->_job_copy, c->job_size);
        pthread_mutex_lock(&a->_mu);
        ND_ASSERT(a->_result_count < c->queue_max);
        memcpy(a->_results + (size_t)((a->_result_head + a->_result_count) % c->queue_max) *
                                 c->result_size,
               result, c->result_size);
        a->_result_count++;
    }
    pthread_mutex_unlock(&a->_mu);
    nd_free(result);
    return NULL;
}

nd_err_t nd_oadapter_start(nd_oadapter_t *a)
{
    ND_ASSERT(a != NULL && a->_made);
    ND_ASSERT(!a->running);
    if (pthread_create(&a->_thread, NULL, worker, a) != 0)
        return ND_EIO;
    a->running = true;
    return ND_OK;
}

void nd_oadapter_stop(nd_oadapter_t *a)
{
    if (!a || !a->running)
        return;
    pthread_mutex_lock(&a->_mu);
    a->_stop = true;
    pthread_cond_signal(&a->_cv);
    pthread_mutex_unlock(&a->_mu);
    pthread_join(a->_thread, NULL);
    a->running = false;
    /* Queued jobs never leave: they stay unanswered intents for the next start. No room is
     * left, so nothing more is queued. */
    a->_in_flight = a->cfg.queue_max;
}

bool nd_oadapter_room(const nd_oadapter_t *a, uint32_t n)
{
    return a->_in_flight + n <= a->cfg.queue_max;
}

void nd_oadapter_push(nd_oadapter_t *a, const void *job)
{
    ND_ASSERT(job != NULL);
    pthread_mutex_lock(&a->_mu);
    ND_ASSERT(a->_in_flight < a->cfg.queue_max);
    ND_ASSERT(a->_job_count < a->cfg.queue_max);
    memcpy(a->_jobs + (size_t)((a->_job_head + a->_job_count) % a->cfg.queue_max) *
                          a->cfg.job_size,
           job, a->cfg.job_size);
    a->_job_count++;
    a->_in_flight++;
    pthread_cond_signal(&a->_cv);
    pthread_mutex_unlock(&a->_mu);
}

void nd_oadapter_begin_direct(nd_oadapter_t *a)
{
    pthread_mutex_lock(&a->_mu);
    ND_ASSERT(a->_in_flight < a->cfg.queue_max);
    a->_in_flight++;
    pthread_mutex_unlock(&a->_mu);
}

void nd_oadapter_put_result(nd_oadapter_t *a, const void *result)
{
    ND_ASSERT(result != NULL);
    pthread_mutex_lock(&a->_mu);
    ND_ASSERT(a->_result_count < a->cfg.queue_max);
    ND_ASSERT(a->_result_count + a->_job_count < a->_in_flight + 1);
    memcpy(a->_results + (size_t)((a->_result_head + a->_result_count) % a->cfg.queue_max) *
                             a->cfg.result_size,
           result, a->cfg.result_size);
    a->_result_count++;
    pthread_mutex_unlock(&a->_mu);
}

bool nd_oadapter_take(nd_oadapter_t *a, void *out, uint32_t updates_reserve)
{
    pthread_mutex_lock(&a->_mu);
    bool have = a->_result_count > 0 && nd_oadapter_update_room(a) >= updates_reserve;
    if (have) {
        memcpy(out, a->_results + (size_t)a->_result_head * a->cfg.result_size,
               a->cfg.result_size);
        a->_result_head = (a->_result_head + 1) % a->cfg.queue_max;
        a->_result_count--;
        ND_ASSERT(a->_in_flight > 0);
        a->_in_flight--;
    }
    pthread_mutex_unlock(&a->_mu);
    return have;
}

uint32_t nd_oadapter_in_flight(const nd_oadapter_t *a)
{
    return a->_in_flight;
}

void nd_oadapter_round_trip(nd_oadapter_t *a, int64_t ns)
{
    /* Read by the loop's thread (stats): whole values, no lock. */
    atomic_fetch_add_explicit(&a->_rtt_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&a->_rtt_ns_sum, (uint64_t)ns, memory_order_relaxed);
}

void nd_oadapter_round_trips(const nd_oadapter_t *a, uint64_t *count, uint64_t *ns_sum)
{
    *count = atomic_load_explicit(&a->_rtt_count, memory_order_relaxed);
    *ns_sum = atomic_load_explicit(&a->_rtt_ns_sum, memory_order_relaxed);
}

/* ---- Order updates ---------------------------------------------------------------------- */

uint32_t nd_oadapter_update_room(const nd_oadapter_t *a)
{
    return ND_OADAPTER_UPDATES_MAX - a->_update_count;
}

nd_order_update_t *nd_oadapter_update(nd_oadapter_t *a)
{
    ND_ASSERT(a->_update_count < ND_OADAPTER_UPDATES_MAX);
    nd_order_update_t *u =
        &a->_updates[(a->_update_head + a->_update_count++) % ND_OADAPTER_UPDATES_MAX];
    memset(u, 0, sizeof *u);
    return u;
}

bool nd_oadapter_engine_ids(const nd_oadapter_t *a, const char *clid, uint64_t *client_id,
                            uint32_t *strategy)
{
    uint32_t run;
    return nd_clid_parse(a->cfg.tag, clid, &run, strategy, client_id) == ND_OK &&
           run == a->cfg.run;
}

void nd_oadapter_emit(nd_oadapter_t *a, const char *clid, nd_order_update_kind_t kind,
                      int64_t venue_id, int32_t reason, int64_t now_ns)
{
    uint64_t client_id;
    uint32_t strategy;
    if (!nd_oadapter_engine_ids(a, clid, &client_id, &strategy))
        return;
    nd_order_update_t *u = nd_oadapter_update(a);
    u->kind = kind;
    u->client_id = client_id;
    u->venue_id = (uint64_t)venue_id;
    u->reason = (nd_reject_t)reason;
    u->ts_ns = now_ns;
}

nd_err_t nd_oadapter_refuse(nd_oadapter_t *a, const nd_order_t *o, int32_t why, int64_t now_ns)
{
    ND_ASSERT(o != NULL);
    nd_order_update_t *u = nd_oadapter_update(a);
    u->kind = ND_UPDATE_REJECTED;
    u->client_id = o->client_id;
    u->reason = (nd_reject_t)why;
    u->ts_ns = now_ns;
    return ND_OK;
}

size_t nd_oadapter_drain(nd_oadapter_t *a, int64_t now_ns, nd_order_update_t *out, size_t cap)
{
    size_t n = 0;
    while (n < cap && a->_update_count > 0) {
        out[n] = a->_updates[a->_update_head];
        out[n++].ts_ns = now_ns;
        a->_update_head = (a->_update_head + 1) % ND_OADAPTER_UPDATES_MAX;
        a->_update_count--;
    }
    return n;
}

void nd_oadapter_clear_updates(nd_oadapter_t *a)
{
    a->_update_count = 0;
}

/* ---- The journal and the local view ------------------------------------------------------ */

nd_err_t nd_oadapter_journal(nd_oadapter_t *a, nd_journal_rec_t *rec)
{
    char err[256];
    nd_err_t rc = nd_journal_append(a->cfg.journal, rec, err, sizeof err);
    if (rc != ND_OK) {
        ND_LOG(ND_LOG_ERR, "venue=%s event=journal_failed kind=%d err=\"%s\"", a->cfg.venue,
               (int)rec->kind, err);
        return rc;
    }
    (void)nd_recon_local_fold(a->cfg.local, rec, &a->cfg.assets, 1);
    return ND_OK;
}

void nd_oadapter_book_status(nd_oadapter_t *a, int idx, nd_recon_status_t status,
                             int64_t venue_id, int32_t reason, int64_t now_ns)
{
    ND_ASSERT(idx >= 0 && (uint32_t)idx < a->cfg.local->order_count);
    nd_journal_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_STATUS;
    rec.ts_ns = now_ns;
    rec.order = a->cfg.local->orders[idx];
    rec.order.status = status;
    if (venue_id)
        rec.order.venue_id = venue_id;
    rec.reason = reason;
    (void)nd_oadapter_journal(a, &rec);
}

int nd_oadapter_book_trade(nd_oadapter_t *a, const nd_recon_trade_t *t, int64_t now_ns)
{
    ND_ASSERT(t != NULL);
    nd_recon_local_t *l = a->cfg.local;
    if (nd_recon_booked(l, t->trade_id, t->side))
        return -1;
    nd_journal_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_FILL;
    rec.ts_ns = now_ns;
    rec.trade = *t;
    for (uint32_t i = l->order_count; i-- > 0 && !rec.trade.clid[0];)
        if (l->orders[i].venue_id == t->venue_order_id)
            memcpy(rec.trade.clid, l->orders[i].clid, sizeof rec.trade.clid);
    if (nd_oadapter_journal(a, &rec) != ND_OK)
        return -1; /* not folded either: the next look books it */
    uint64_t client_id;
    uint32_t strategy;
    if (!rec.trade.clid[0] || !nd_oadapter_engine_ids(a, rec.trade.clid, &client_id, &strategy))
        return 0;
    nd_order_update_t *u = nd_oadapter_update(a);
    u->kind = ND_UPDATE_FILL;
    u->client_id = client_id;
    u->venue_id = (uint64_t)t->venue_order_id;
    u->ts_ns = now_ns;
    nd_oadapter_fill_of(&rec.trade, &a->cfg.assets, client_id, strategy, a->cfg.instrument_id,
                        &u->fill);
    return 1;
}

void nd_oadapter_fill_of(const nd_recon_trade_t *t, const nd_recon_instrument_t *assets,
                         uint64_t client_id, uint32_t strategy, uint32_t instrument_id,
                         nd_fill_t *f)
{
    ND_ASSERT(t != NULL && assets != NULL);
    memset(f, 0, sizeof *f);
    f->client_id = client_id;
    f->venue_id = (uint64_t)t->venue_order_id;
    f->instrument_id = instrument_id;
    f->strategy_index = strategy;
    f->side = t->side;
    f->maker = t->maker;
    f->px = t->px;
    f->qty = t->qty;
    f->notional = t->quote_qty;
    f->ts_ns = t->ts_ns;
    /* The commission as the account pays it: in base (a buy's, by default) it comes off the
     * quantity received, in quote it is cash, in a third asset (BNB) it is outside this
     * instrument's account and not booked here. "" is the asset received. */
    const char *asset = t->commission_asset;
    if (asset[0] == '\0')
        asset = t->side == ND_SIDE_BUY ? assets->base : assets->quote;
    if (strcmp(asset, assets->base) == 0)
        f->fee_qty = t->commission;
    else if (strcmp(asset, assets->quote) == 0)
        f->fee = t->commission;
}

void nd_oadapter_compact(nd_oadapter_t *a)
{
    uint32_t *map = a->_compact_map, count = a->cfg.local->order_count;
    if (nd_recon_local_compact(a->cfg.local, map) == 0)
        return;
    unsigned char *st = a->cfg.order_state;
    size_t size = a->cfg.order_state_size;
    for (uint32_t i = 0; i < count; i++)
        if (map[i] != UINT32_MAX && map[i] != i) {
            ND_ASSERT(map[i] < i); /* moves only down */
            memcpy(st + (size_t)map[i] * size, st + (size_t)i * size, size);
        }
    uint32_t kept = a->cfg.local->order_count;
    memset(st + (size_t)kept * size, 0, (count - kept) * size);
    ND_LOG(ND_LOG_INFO, "venue=%s event=local_view_compacted kept=%u", a->cfg.venue, kept);
}

int nd_oadapter_find_clid(const nd_oadapter_t *a, const char *clid)
{
    const nd_recon_local_t *l = a->cfg.local;
    for (uint32_t i = l->order_count; i-- > 0;)
        if (strcmp(l->orders[i].clid, clid) == 0)
            return (int)i;
    return -1;
}

int nd_oadapter_find_venue_id(const nd_oadapter_t *a, int64_t venue_id)
{
    const nd_recon_local_t *l = a->cfg.local;
    for (uint32_t i = l->order_count; i-- > 0;)
        if (l->orders[i].venue_id == venue_id)
            return (int)i;
    return -1;
}

int nd_oadapter_find_client(const nd_oadapter_t *a, uint64_t client_id)
{
    const nd_recon_local_t *l = a->cfg.local;
    for (uint32_t i = l->order_count; i-- > 0;) {
        uint64_t c;
        uint32_t s;
        if (nd_oadapter_engine_ids(a, l->orders[i].clid, &c, &s) && c == client_id)
            return nd_recon_status_done(l->orders[i].status) ? -1 : (int)i;
    }
    return -1;
}

uint32_t nd_oadapter_exec_open_count(const void *self)
{
    const nd_oadapter_t *a = self; /* the adapter's first member */
    const nd_recon_local_t *l = a->cfg.local;
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->order_count; i++) {
        uint64_t c;
        uint32_t s;
        n += !nd_recon_status_done(l->orders[i].status) &&
             nd_oadapter_engine_ids(a, l->orders[i].clid, &c, &s);
    }
    return n;
}

nd_recon_status_t nd_oadapter_status_of(nd_md_order_status_t status)
{
    switch (status) {
    case ND_MD_ORDER_PENDING:
    case ND_MD_ORDER_NEW:
    case ND_MD_ORDER_PARTIALLY_FILLED:
        return ND_RECON_OPEN;
    case ND_MD_ORDER_FILLED:
        return ND_RECON_FILLED;
    case ND_MD_ORDER_CANCELED:
        return ND_RECON_CANCELLED;
    case ND_MD_ORDER_EXPIRED:
        return ND_RECON_EXPIRED;
    case ND_MD_ORDER_REJECTED:
        return ND_RECON_REJECTED;
    default:
        return ND_RECON_UNKNOWN;
    }
}

nd_err_t nd_oadapter_exec_on_market(void *self, const nd_market_event_t *ev)
{
    (void)self;
    (void)ev;
    return ND_OK; /* the venue matches on its own book */
}
