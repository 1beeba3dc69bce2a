/* order_adapter.h: the shell every live order adapter shares (src/venues/order_adapter.c).
 *
 * A live order adapter (binance_exec.c, cb_exec.c) puts the engine's orders on a venue's wire
 * with an intent journal and reconciliation (reconcile.h). What does not depend on the venue is
 * here, once: the worker thread that sends (a ring of jobs in, a ring of results out, under one
 * mutex), the ring of order updates poll hands to the engine, the journal append that folds
 * into the local view, a status change, a venue trade booked once (by trade id and side) and
 * reported as one FILL, refusing an order, compacting the local view with the adapter's
 * per-order state, and the engine's ids of a client order id. Each venue keeps only its wire:
 * how a job is sent (run_cb, on the worker; or from the caller's thread itself with
 * begin_direct and put_result) and what its answers mean.
 *
 * The core is embedded as the first member of the venue's adapter (so that the shared
 * nd_exec_venue_ops_t functions below take the adapter's self). Threads: the caller's (the
 * engine's loop) owns everything but the worker's side of the rings, which it reaches only
 * through push, take and the round-trip counters. Invariants: jobs queued plus results not yet
 * taken never exceed queue_max (a result always has room); the update ring never overflows
 * (callers check nd_oadapter_update_room before work that may add updates). */
#ifndef NODERR_ORDER_ADAPTER_H
#define NODERR_ORDER_ADAPTER_H

#include "noderr/err.h"
#include "noderr/exec_venue.h"
#include "noderr/reconcile.h"
#include "noderr/venue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Order updates waiting for poll: a poll drains them; a submit is refused (ND_EFULL) while
 * half are taken, so a burst of answers always has room. */
#define ND_OADAPTER_UPDATES_MAX 1024
/* Jobs queued or in flight, at most (a venue config may lower it). */
#define ND_OADAPTER_QUEUE_MAX 256

typedef struct nd_oadapter_config {
    const char *venue;               /* "binance": log lines say venue=NAME */
    nd_journal_t *journal;           /* borrowed */
    nd_recon_local_t *local;         /* borrowed: the journal's view, kept current */
    nd_recon_instrument_t assets;    /* base and quote of the instrument */
    uint32_t instrument_id;          /* the engine's id of it */
    const char *tag;                 /* session tag, kept by the caller for the core's life */
    uint32_t run;                    /* this start's number */
    uint32_t queue_max;              /* 1..ND_OADAPTER_QUEUE_MAX */
    size_t job_size, result_size;    /* the venue's job and result structs */
    /* Worker thread: sends job and writes its answer into result (result_size bytes). The
     * job copy is wiped after (it may hold a signed request). */
    void (*run_cb)(void *ctx, const void *job, void *result);
    void *ctx;
    /* The venue's per-order state, ND_RECON_ORDERS_MAX entries of order_state_size bytes
     * parallel to local->orders: moved with a compaction, zeroed when freed. */
    void *order_state;
    size_t order_state_size;
} nd_oadapter_config_t;

typedef struct nd_oadapter {
    /* read-only */
    nd_oadapter_config_t cfg;
    bool running;
    /* private */
    pthread_t _thread;
    pthread_mutex_t _mu;
    pthread_cond_t _cv;
    bool _stop, _made;
    unsigned char *_jobs, *_results, *_job_copy;
    uint32_t _job_head, _job_count, _result_head, _result_count;
    uint32_t _in_flight;             /* jobs queued + running + results not yet taken */
    _Atomic uint64_t _rtt_count, _rtt_ns_sum;
    nd_order_update_t _updates[ND_OADAPTER_UPDATES_MAX];
    uint32_t _update_head, _update_count;
    uint32_t _compact_map[ND_RECON_ORDERS_MAX];
} nd_oadapter_t;

/* Initialises a (caller-allocated, zeroed or not) and allocates its rings; the worker is not
 * started. ND_EINVAL (a missing field, queue_max out of range) with the reason in err,
 * ND_ENOMEM. On failure nd_oadapter_deinit is still safe. */
nd_err_t nd_oadapter_init(nd_oadapter_t *a, const nd_oadapter_config_t *config, char *err,
                          size_t err_len);
/* Stops the worker (if running) and frees the rings (the job ring is wiped first). */
void nd_oadapter_deinit(nd_oadapter_t *a);
/* Starts the worker thread: ND_EIO when it cannot. */
nd_err_t nd_oadapter_start(nd_oadapter_t *a);
/* Stops the worker (a job on the wire completes; queued ones never leave). From then on there
 * is no room: nothing more is queued. No-op when not running. */
void nd_oadapter_stop(nd_oadapter_t *a);

/* True when n more jobs fit (queued + in flight + results not taken <= queue_max). */
bool nd_oadapter_room(const nd_oadapter_t *a, uint32_t n);
/* Queues a copy of job (job_size bytes) for the worker; the caller checked the room. */
void nd_oadapter_push(nd_oadapter_t *a, const void *job);
/* A request sent by the caller's thread itself (not queued: the loop's non-blocking client)
 * takes a place as a job would (the caller checked the room); its answer comes back through
 * nd_oadapter_put_result, on the caller's thread, and is taken like the worker's. */
void nd_oadapter_begin_direct(nd_oadapter_t *a);
void nd_oadapter_put_result(nd_oadapter_t *a, const void *result);
/* Takes the oldest result into out (result_size bytes): false when there is none, or when
 * fewer than updates_reserve update slots are free (the result waits for the next poll). */
bool nd_oadapter_take(nd_oadapter_t *a, void *out, uint32_t updates_reserve);
/* Jobs queued or in flight plus results not yet taken. */
uint32_t nd_oadapter_in_flight(const nd_oadapter_t *a);
/* Worker thread: one order or cancel round trip of ns. Any thread: their count and sum. */
void nd_oadapter_round_trip(nd_oadapter_t *a, int64_t ns);
void nd_oadapter_round_trips(const nd_oadapter_t *a, uint64_t *count /* OUT */,
                             uint64_t *ns_sum /* OUT */);

/* ---- Order updates (the caller's thread) ---- */

/* Free slots in the update ring. */
uint32_t nd_oadapter_update_room(const nd_oadapter_t *a);
/* The next update slot, zeroed; the caller checked the room (asserted). */
nd_order_update_t *nd_oadapter_update(nd_oadapter_t *a);
/* An update of kind for local order clid, when it is this run's (an earlier run's order is
 * followed by the journal only: the engine never saw it). */
void nd_oadapter_emit(nd_oadapter_t *a, const char *clid, nd_order_update_kind_t kind,
                      int64_t venue_id, int32_t reason, int64_t now_ns);
/* A submit refused before anything is journaled or sent: REJECTED through poll. ND_OK. */
nd_err_t nd_oadapter_refuse(nd_oadapter_t *a, const nd_order_t *o, int32_t why, int64_t now_ns);
/* Moves up to cap updates to out, each stamped now_ns; returns how many. */
size_t nd_oadapter_drain(nd_oadapter_t *a, int64_t now_ns, nd_order_update_t *out, size_t cap);
/* Drops every waiting update (a start-up's: this engine never saw those orders). */
void nd_oadapter_clear_updates(nd_oadapter_t *a);

/* ---- The journal and the local view (the caller's thread) ---- */

/* Appends rec and folds it into the local view. A failed append is logged and returned (the
 * next start reconciles). */
nd_err_t nd_oadapter_journal(nd_oadapter_t *a, nd_journal_rec_t *rec);
/* Journals local order idx's new status (its venue id too when not 0, and reason). */
void nd_oadapter_book_status(nd_oadapter_t *a, int idx, nd_recon_status_t status,
                             int64_t venue_id, int32_t reason, int64_t now_ns);
/* Books venue trade t once (by trade id and side): journaled as a FILL (the clid found by
 * venue order id when t has none) and, for this run's orders, reported as one FILL update.
 * Returns 1 when reported, 0 when booked without a report (an earlier run's, or no clid), -1
 * when not booked (booked already, or the journal failed). The caller checked the room. */
int nd_oadapter_book_trade(nd_oadapter_t *a, const nd_recon_trade_t *t, int64_t now_ns);
/* The engine's fill of venue trade t (nd_binance_exec_fill_of, binance.h, says how the
 * commission is booked). */
void nd_oadapter_fill_of(const nd_recon_trade_t *t, const nd_recon_instrument_t *assets,
                         uint64_t client_id, uint32_t strategy, uint32_t instrument_id,
                         nd_fill_t *out /* OUT */);
/* A full local view drops its done orders, as the journal fold will when it replays the NEW
 * about to be journaled; the per-order state moves with them. O(orders). */
void nd_oadapter_compact(nd_oadapter_t *a);

/* The engine's ids of clid: false when it is not this run's. */
bool nd_oadapter_engine_ids(const nd_oadapter_t *a, const char *clid, uint64_t *client_id,
                            uint32_t *strategy);
/* The last local order with clid, -1 when none. O(orders). */
int nd_oadapter_find_clid(const nd_oadapter_t *a, const char *clid);
/* The last local order with venue id venue_id, -1 when none. O(orders). */
int nd_oadapter_find_venue_id(const nd_oadapter_t *a, int64_t venue_id);
/* The local index of this run's order client_id still working, -1 when none. O(orders). */
int nd_oadapter_find_client(const nd_oadapter_t *a, uint64_t client_id);

/* A venue report's order status (venue.h) as the journal's: pending, new and partially filled
 * are OPEN; anything else unknown is ND_RECON_UNKNOWN. */
nd_recon_status_t nd_oadapter_status_of(nd_md_order_status_t status);
/* nd_exec_venue_ops_t members for an adapter whose first member is its nd_oadapter_t. */
uint32_t nd_oadapter_exec_open_count(const void *self);
nd_err_t nd_oadapter_exec_on_market(void *self, const nd_market_event_t *ev);

#endif
