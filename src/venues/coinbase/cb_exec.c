/* cb_exec.c: Coinbase Advanced Trade as a live order venue behind nd_exec_venue_t, with the
 * order journal and reconciliation (reconcile.h; coinbase.h "The live order venue").
 *
 * Threads: the caller's (the engine's event loop) owns the adapter's state, the journal's
 * appends, the local view and the updates; one worker thread sends with the REST client. They
 * share two rings under one mutex: jobs and results; a sync's venue view is handed over with
 * its result (one sync in flight at a time). Invariants: an intent is appended to the journal
 * before its job is queued and the worker calls nd_journal_before_send before it sends; jobs
 * queued plus results not taken never exceed QUEUE_MAX; a venue fill is booked once (by its
 * key and side, in the local view) and reported as a FILL once; an order's CANCELLED, EXPIRED
 * or CANCEL_REJECTED is reported only after its fills. A create is resent with its own
 * client_order_id only when its answer was lost and the venue's list does not show it. */
#include "noderr/binance.h"
#include "noderr/coinbase.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/log.h"
#include "noderr/order_adapter.h"

#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#define QUEUE_MAX 64
#define UPDATES_MAX ND_OADAPTER_UPDATES_MAX
#define VIEW_MAX 2048           /* orders and fills one poll reads */
#define RECOVER_ROUNDS 50       /* start-up polls (100 ms apart) until our cancels are done */
#define RECOVER_VIEW_TRIES 10   /* reads of the venue's view until no fill came meanwhile */
#define RECON_OPEN_MAX 64       /* unknown open orders one reconciliation in the session takes */
#define RECON_DIFFS_MAX 16      /* differences one reconciliation in the session acts on */

typedef enum job_kind { JOB_NEW = 1, JOB_CANCEL = 2, JOB_SYNC = 3 } job_kind_t;

typedef struct job {
    job_kind_t kind;
    char clid[ND_CLID_SIZE];
    char uuid[ND_VENUE_ID_MAX];     /* CANCEL */
    nd_coinbase_order_text_t text;  /* NEW */
    bool recon;                     /* SYNC: the accounts too, for a reconciliation */
} job_t;

/* The venue's view of one sync: the product's orders and fills (uuid kept for cancels). */
typedef struct vorder {
    nd_recon_order_t o;
    char uuid[ND_VENUE_ID_MAX];
} vorder_t;

typedef struct view {
    vorder_t *orders;
    uint32_t order_count;
    nd_md_event_t *fills;
    uint32_t fill_count;
    bool ok;
} view_t;

typedef struct result {
    job_kind_t kind;
    char clid[ND_CLID_SIZE];
    bool answered;                  /* NEW/CANCEL: the venue answered */
    bool ok;                        /* NEW accepted, CANCEL agreed, SYNC read */
    int32_t reject;
    char uuid[ND_VENUE_ID_MAX];
    bool recon_ok;                  /* SYNC with recon: balances read, no fill came meanwhile */
    nd_recon_asset_t balances[2];   /* base, quote: available + hold */
} result_t;

/* Per local order (parallel to local->orders, moved with a compaction). */
typedef struct ostate {
    char uuid[ND_VENUE_ID_MAX];
    bool unanswered;                /* the create's answer was lost: resend if not listed */
    bool in_queue;                  /* a create or cancel of it is queued or on the wire */
    bool has_pending;               /* the venue says it is done: report after its fills */
    nd_recon_status_t pending_status;
    int64_t exec_qty;
    bool cancel_refused;
    bool cancel_again;              /* a cancel of it was not agreed: sent again while the
                                     * venue lists it open (a cancel lost in a REST outage) */
    bool covered;                   /* the emergency cancel covers it */
    bool reported;                  /* the user channel reported it */
    bool synced;                    /* listed by the sync being processed */
    int64_t report_due_ns;          /* user channel: a report expected by then (0: none) */
} ostate_t;

struct nd_coinbase_exec {
    nd_oadapter_t core;             /* first: the shared exec ops take the adapter as the core */
    nd_coinbase_exec_config_t cfg;
    char product_id[ND_NAME_MAX];
    char tag[ND_CLID_TAG_MAX + 2];
    nd_exec_venue_facts_t facts;
    ostate_t *st;
    view_t view;                    /* the worker's, handed over with a SYNC result */
    bool sync_in_flight;
    int64_t next_sync_ns;           /* a sync due then (user channel: only when asked for) */
    int64_t next_sweep_ns;          /* user channel: the slow sweep's next sync */
    int64_t venue_open;
    uint32_t cancel_all_left;
    bool outage;                    /* a request went unanswered since the last good sync */
    bool recon_wanted;              /* reconcile at the next sync (after an outage or resync) */
    nd_recon_policy_t policy;       /* the start's, for the reconciliations in the session */
    nd_recon_order_t recon_open[RECON_OPEN_MAX];
    nd_coinbase_exec_stats_t stats;
};

static void hook(const nd_coinbase_exec_t *x, const char *point)
{
    if (x->cfg.hook_cb)
        x->cfg.hook_cb(x->cfg.hook_ctx, point);
}

static void accept(nd_coinbase_exec_t *x, int idx, const char *uuid, int64_t now_ns)
{
    nd_recon_order_t *o = &x->cfg.local->orders[idx];
    ostate_t *s = &x->st[idx];
    s->unanswered = false;
    if (uuid[0])
        snprintf(s->uuid, sizeof s->uuid, "%s", uuid);
    if (o->status != ND_RECON_SENT)
        return;
    int64_t key = nd_coinbase_id_key(uuid);
    nd_oadapter_book_status(&x->core, idx, ND_RECON_OPEN, key, ND_REJECT_NONE, now_ns);
    nd_oadapter_emit(&x->core, o->clid, ND_UPDATE_ACCEPTED, key, ND_REJECT_NONE, now_ns);
    x->stats.accepted++;
}

static void refuse_order(nd_coinbase_exec_t *x, int idx, nd_recon_status_t status, int32_t why,
                         int64_t now_ns)
{
    x->st[idx].unanswered = false;
    nd_oadapter_book_status(&x->core, idx, status, 0, why, now_ns);
    nd_oadapter_emit(&x->core, x->cfg.local->orders[idx].clid, ND_UPDATE_REJECTED, 0, why, now_ns);
    x->stats.rejected++;
}

/* Books one venue fill once: the journal, the local view, a FILL for the engine. */
static void book_fill(nd_coinbase_exec_t *x, const nd_md_event_t *fill, int idx, int64_t now_ns)
{
    nd_recon_trade_t t;
    const char *clid = x->cfg.local->orders[idx].clid;
    if (nd_coinbase_recon_trade(fill, clid, x->cfg.instrument_id, &x->cfg.assets, &t) != ND_OK)
        return;
    /* Advanced Trade charges in quote: the fill's fee is cash, as Binance's quote fees are. */
    int booked = nd_oadapter_book_trade(&x->core, &t, now_ns);
    if (booked >= 0 && !x->core.running && x->cfg.recover_fill_cb) /* start-up: the session's */
        x->cfg.recover_fill_cb(x->cfg.recover_fill_ctx, &t);
    if (booked > 0)
        x->stats.fills++;
}

/* The venue said an order is done: report it once every fill of it is booked. */
static void flush_pending(nd_coinbase_exec_t *x, int64_t now_ns)
{
    nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        ostate_t *s = &x->st[i];
        if (!s->has_pending || l->orders[i].filled_qty < s->exec_qty ||
            nd_oadapter_update_room(&x->core) < 2)
            continue;
        s->has_pending = false;
        if (nd_recon_status_done(l->orders[i].status))
            continue;
        nd_oadapter_book_status(&x->core, (int)i, s->pending_status, 0, ND_REJECT_NONE, now_ns);
        const char *clid = l->orders[i].clid;
        int64_t vid = l->orders[i].venue_id;
        if (s->pending_status == ND_RECON_CANCELLED) {
            nd_oadapter_emit(&x->core, clid, ND_UPDATE_CANCELLED, vid, ND_REJECT_NONE, now_ns);
            x->stats.cancelled++;
        } else if (s->pending_status == ND_RECON_EXPIRED) {
            nd_oadapter_emit(&x->core, clid, ND_UPDATE_EXPIRED, vid, ND_REJECT_NONE, now_ns);
            x->stats.expired++;
        } else if (s->pending_status == ND_RECON_REJECTED) {
            nd_oadapter_emit(&x->core, clid, ND_UPDATE_REJECTED, vid, ND_REJECT_VENUE_ORDER_REJECTED, now_ns);
            x->stats.rejected++;
        } else if (s->cancel_refused) {
            nd_oadapter_emit(&x->core, clid, ND_UPDATE_CANCEL_REJECTED, vid, ND_REJECT_NONE, now_ns);
            x->stats.cancel_rejected++;
        }
    }
}

/* ---- The worker -------------------------------------------------------------------------- */

static void view_order(void *ctx, const nd_md_event_t *ev)
{
    view_t *v = ctx;
    if (v->order_count == VIEW_MAX)
        return;
    vorder_t *vo = &v->orders[v->order_count];
    if (nd_coinbase_recon_order(ev, 0, &vo->o) != ND_OK)
        return;
    snprintf(vo->uuid, sizeof vo->uuid, "%s", ev->u.order.venue_order_id);
    v->order_count++;
}

static void view_fill(void *ctx, const nd_md_event_t *ev)
{
    view_t *v = ctx;
    if (v->fill_count < VIEW_MAX)
        v->fills[v->fill_count++] = *ev;
}

/* The product's fills and orders (the caller's REST client before start, the worker's after).
 * The fills are read first: every fill listed then belongs to an order the list after it shows
 * (an order that filled between the two reads is listed, its fill waits for a sync). */
static nd_err_t read_view(nd_coinbase_exec_t *x, view_t *v, char *err, size_t err_len)
{
    size_t n;
    v->order_count = v->fill_count = 0;
    nd_err_t rc = nd_coinbase_list_fills(x->cfg.rest, x->product_id, view_fill, v, &n, err,
                                         err_len);
    if (rc == ND_OK)
        rc = nd_coinbase_list_orders(x->cfg.rest, x->product_id, view_order, v, &n, err,
                                     err_len);
    for (uint32_t i = 0; i < v->order_count; i++)
        v->orders[i].o.instrument_id = x->cfg.instrument_id;
    v->ok = rc == ND_OK;
    return rc;
}

static void read_balance(void *ctx, const nd_md_event_t *ev);
static const vorder_t *venue_by_clid(const view_t *v, const char *clid);

/* The accounts for a reconciliation in the session, read after the view's fills and checked
 * by a second look at them: a fill between the two would be in the balances and not booked
 * (then recon_ok stays false and the next sync reads again). */
static void read_balances(nd_coinbase_exec_t *x, result_t *r)
{
    char err[256] = "";
    size_t n = 0, fills = 0;
    snprintf(r->balances[0].asset, sizeof r->balances[0].asset, "%s", x->cfg.assets.base);
    snprintf(r->balances[1].asset, sizeof r->balances[1].asset, "%s", x->cfg.assets.quote);
    r->balances[0].amount = r->balances[1].amount = 0;
    if (nd_coinbase_accounts(x->cfg.rest, read_balance, r->balances, &n, err, sizeof err) !=
            ND_OK ||
        nd_coinbase_list_fills(x->cfg.rest, x->product_id, NULL, NULL, &fills, err,
                               sizeof err) != ND_OK) {
        ND_LOG(ND_LOG_WARN, "venue=coinbase event=poll_failed what=accounts err=\"%s\"", err);
        return;
    }
    r->recon_ok = fills == x->view.fill_count;
}

static void run_job(nd_coinbase_exec_t *x, const job_t *j, result_t *r)
{
    char err[256] = "";
    memset(r, 0, sizeof *r);
    r->kind = j->kind;
    memcpy(r->clid, j->clid, sizeof r->clid);
    if (j->kind == JOB_SYNC) {
        nd_err_t rc = read_view(x, &x->view, err, sizeof err);
        r->ok = rc == ND_OK;
        if (rc != ND_OK)
            ND_LOG(ND_LOG_WARN, "venue=coinbase event=poll_failed err=\"%s\"", err);
        else if (j->recon)
            read_balances(x, r);
        return;
    }
    if (nd_journal_before_send(x->cfg.journal) != ND_OK) {
        r->reject = ND_REJECT_VENUE_ERROR; /* not durable: it never leaves */
        return;
    }
    hook(x, "synced");
    if (j->kind == JOB_NEW) {
        /* The request's strings point into the text it was built in, and this job is a copy
         * (the ring's, then the worker's): point them at this copy's. */
        nd_coinbase_order_req_t req = j->text.req;
        req.client_order_id = j->text.client_order_id;
        req.product_id = j->text.product_id;
        req.base_size = j->text.base_size;
        req.limit_price = req.market ? NULL : j->text.limit_price;
        nd_coinbase_order_result_t res;
        r->answered = nd_coinbase_create_order(x->cfg.rest, &req, &res, err, sizeof err) ==
                          ND_OK &&
                      res.http_status < 500;
        r->ok = r->answered && res.success;
        r->reject = r->answered && !res.success ? res.reject : ND_REJECT_NONE;
        if (r->ok)
            snprintf(r->uuid, sizeof r->uuid, "%s", res.order_id);
        return;
    }
    bool cancelled = false;
    r->answered = nd_coinbase_cancel_order(x->cfg.rest, j->uuid, &cancelled, err,
                                           sizeof err) == ND_OK;
    r->ok = cancelled;
}

/* The worker's side (order_adapter.h): one job sent, its answer into result; an order's or a
 * cancel's round trip counted (from the journal's sync to the answer). */
static void run_cb(void *ctx, const void *job, void *result)
{
    nd_coinbase_exec_t *x = ctx;
    const job_t *j = job;
    int64_t t0 = nd_clock_mono_ns(x->cfg.clock);
    run_job(x, j, result);
    if (j->kind != JOB_SYNC) {
        nd_journal_after_send(x->cfg.journal); /* wakes a sleeping syncer, off the path */
        nd_oadapter_round_trip(&x->core, nd_clock_mono_ns(x->cfg.clock) - t0);
        hook(x, "sent");
    }
}

static bool room(const nd_coinbase_exec_t *x)
{
    return nd_oadapter_room(&x->core, 1);
}

static void push_job(nd_coinbase_exec_t *x, const job_t *j)
{
    nd_oadapter_push(&x->core, j);
}

/* ---- Answers and polls (the caller's thread) ------------------------------------------- */

/* User channel: a report of local order idx is expected within the timeout (an answered create
 * or cancel); the safety net syncs when it does not come. */
static void expect_report(nd_coinbase_exec_t *x, int idx, int64_t now_ns)
{
    if (x->cfg.user_channel && !nd_recon_status_done(x->cfg.local->orders[idx].status))
        x->st[idx].report_due_ns = now_ns + x->cfg.report_timeout_ns;
}

static void process_new(nd_coinbase_exec_t *x, int idx, const result_t *r, int64_t now_ns)
{
    if (r->ok && !x->st[idx].reported)
        expect_report(x, idx, now_ns);
    if (r->ok)
        accept(x, idx, r->uuid, now_ns);
    else if (r->answered && r->reject != ND_REJECT_VENUE_STATUS_UNKNOWN)
        refuse_order(x, idx, ND_RECON_REJECTED, r->reject, now_ns);
    else if (!r->answered && r->reject == ND_REJECT_VENUE_ERROR)
        refuse_order(x, idx, ND_RECON_DROPPED, r->reject, now_ns); /* never left */
    else {
        x->st[idx].unanswered = true; /* maybe at the venue: the next poll says */
        x->stats.unanswered++;
        x->next_sync_ns = 0;
    }
}

static void process_cancel(nd_coinbase_exec_t *x, int idx, const result_t *r, int64_t now_ns)
{
    expect_report(x, idx, now_ns); /* the order's end, or (refused) what it is */
    if (x->st[idx].covered && x->cancel_all_left > 0)
        x->cancel_all_left--;
    if (!r->ok) {
        x->st[idx].cancel_refused = true; /* done already, or no answer: the poll says */
        x->st[idx].cancel_again = true;
        if (!r->answered)
            x->stats.unanswered++;
    }
    x->next_sync_ns = 0; /* the cancel's outcome comes with the order's status */
}

/* A create whose answer was lost and which the venue does not list goes again, same id. */
static void resend(nd_coinbase_exec_t *x, int idx)
{
    const nd_recon_order_t *o = &x->cfg.local->orders[idx];
    job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_NEW;
    memcpy(j.clid, o->clid, sizeof j.clid);
    if (!room(x) || nd_coinbase_order_text(&x->cfg.rules, x->product_id, o->clid,
                                           o->side == ND_SIDE_BUY, o->type == ND_ORDER_MARKET,
                                           o->px, o->qty, &j.text) != ND_REJECT_NONE)
        return;
    x->st[idx].unanswered = false;
    x->st[idx].in_queue = true;
    push_job(x, &j);
    x->stats.resent++;
}

static nd_err_t queue_cancel(nd_coinbase_exec_t *x, int idx, int64_t now_ns);

/* A create the start concluded never left (DROPPED: the venue did not list it) is at the venue
 * after all: it was still on its way when the process died, and Coinbase has no recvWindow that
 * would have refused it. It is followed again with the venue's id, so its fills are booked and
 * its end reported, and cancelled while open (its intent was given up). Only an earlier run's
 * order can be DROPPED this way, so the engine hears nothing of it. */
static void late_create(nd_coinbase_exec_t *x, int idx, const vorder_t *vo, int64_t now_ns)
{
    ostate_t *s = &x->st[idx];
    ND_LOG(ND_LOG_WARN, "venue=coinbase event=late_create clid=%s status=%s: followed again%s",
           vo->o.clid, nd_recon_status_name(vo->o.status),
           vo->o.status == ND_RECON_OPEN ? ", cancelling" : "");
    nd_oadapter_book_status(&x->core, idx, ND_RECON_OPEN, vo->o.venue_id, ND_REJECT_NONE,
                            now_ns);
    snprintf(s->uuid, sizeof s->uuid, "%s", vo->uuid);
    s->unanswered = false;
    x->stats.late_creates++;
    if (vo->o.status == ND_RECON_OPEN && !s->in_queue && room(x))
        (void)queue_cancel(x, idx, now_ns);
}

static void sync_order(nd_coinbase_exec_t *x, const vorder_t *vo, int64_t now_ns)
{
    int idx = nd_oadapter_find_clid(&x->core, vo->o.clid);
    if (idx < 0)
        return; /* not in the journal: the next start's reconciliation surfaces it */
    ostate_t *s = &x->st[idx];
    s->synced = true;
    if (x->cfg.local->orders[idx].status == ND_RECON_DROPPED &&
        x->cfg.local->orders[idx].venue_id == 0 && vo->o.status != ND_RECON_REJECTED)
        late_create(x, idx, vo, now_ns);
    if (vo->o.status == ND_RECON_OPEN || nd_recon_status_done(vo->o.status))
        accept(x, idx, vo->uuid, now_ns);
    if (vo->o.status == ND_RECON_OPEN && s->cancel_again && !s->in_queue && room(x)) {
        job_t j = {.kind = JOB_CANCEL}; /* the CANCEL intent is in the journal already */
        memcpy(j.clid, vo->o.clid, sizeof j.clid);
        snprintf(j.uuid, sizeof j.uuid, "%s", vo->uuid);
        s->cancel_again = false;
        s->in_queue = true;
        push_job(x, &j);
    }
    if (nd_recon_status_done(vo->o.status) && !nd_recon_status_done(x->cfg.local->orders[idx].status)) {
        s->has_pending = true;
        s->pending_status = vo->o.status;
        s->exec_qty = vo->o.filled_qty;
    }
}

static void process_sync(nd_coinbase_exec_t *x, int64_t now_ns)
{
    view_t *v = &x->view;
    x->stats.syncs++;
    int64_t open = 0;
    for (uint32_t i = 0; i < v->order_count; i++) {
        sync_order(x, &v->orders[i], now_ns);
        open += v->orders[i].o.status == ND_RECON_OPEN &&
                nd_clid_parse(x->tag, v->orders[i].o.clid, NULL, NULL, NULL) == ND_OK;
    }
    x->venue_open = open;
    for (uint32_t i = 0; i < v->fill_count && nd_oadapter_update_room(&x->core) > 2; i++) {
        int idx = nd_oadapter_find_venue_id(&x->core, nd_coinbase_id_key(v->fills[i].u.order.venue_order_id));
        if (idx >= 0)
            book_fill(x, &v->fills[i], idx, now_ns);
    }
    nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        ostate_t *s = &x->st[i];
        if (l->orders[i].status == ND_RECON_SENT && s->unanswered && !s->in_queue)
            resend(x, (int)i);
        /* The venue's list answers for a report not come; fills it announced and the fills
         * list does not show yet are looked for again after the timeout. */
        if (s->synced)
            s->report_due_ns = s->has_pending && l->orders[i].filled_qty < s->exec_qty &&
                                       x->cfg.user_channel
                                   ? now_ns + x->cfg.report_timeout_ns : 0;
        s->synced = false;
    }
}

/* True while a create of ours has no venue order id yet: a fill of it could be in the
 * balances and not booked, so a reconciliation waits. */
static bool creates_pending(const nd_coinbase_exec_t *x)
{
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++)
        if (l->orders[i].status == ND_RECON_SENT)
            return true;
    return false;
}

/* A reconciliation in the session, after a REST outage or a resync (the market stream came
 * back): what polling does not see. Polling books the fills of our orders (by venue order id)
 * and their ends, so the view holds only the open orders the journal does not know (ours:
 * UNKNOWN_OURS, another program's: FOREIGN) and the balances, compared with every fill booked
 * (just now included). Each difference is journaled and logged as at start; an unknown order
 * of ours is cancelled (the default policy), another's surfaced; a balance difference is a
 * halt the session acts on (stats.recon_halts). */
static void reconcile_live(nd_coinbase_exec_t *x, const result_t *r, int64_t now_ns)
{
    const view_t *v = &x->view;
    uint32_t n_open = 0;
    for (uint32_t i = 0; i < v->order_count && n_open < RECON_OPEN_MAX; i++)
        if (v->orders[i].o.status == ND_RECON_OPEN && nd_oadapter_find_clid(&x->core, v->orders[i].o.clid) < 0)
            x->recon_open[n_open++] = v->orders[i].o;
    nd_recon_venue_t rv = {.open = x->recon_open, .open_count = n_open,
                           .balances = r->balances, .balance_count = 2, .has_balances = true};
    nd_recon_diff_t diffs[RECON_DIFFS_MAX];
    size_t n = 0;
    nd_err_t rc = nd_recon_compare(x->cfg.local, &rv, x->tag, &x->cfg.assets, 1, &x->policy,
                                   diffs, RECON_DIFFS_MAX, &n);
    ND_ASSERT(rc == ND_OK || rc == ND_EFULL);
    x->recon_wanted = false;
    x->stats.reconciliations++;
    x->stats.recon_diffs += n;
    for (size_t i = 0; i < n && i < RECON_DIFFS_MAX; i++) {
        const nd_recon_diff_t *d = &diffs[i];
        nd_journal_rec_t rec;
        nd_journal_rec_of_diff(d, now_ns, &rec);
        (void)nd_oadapter_journal(&x->core, &rec);
        ND_LOG(ND_LOG_WARN, "venue=coinbase event=reconcile when=session kind=%s resolution=%s "
               "clid=%s asset=%s local=%lld venue=%lld", nd_recon_kind_name(d->kind),
               nd_recon_resolution_name(d->resolution), d->order.clid, d->venue.asset,
               (long long)d->local.amount, (long long)d->venue.amount);
        const vorder_t *vo = venue_by_clid(v, d->order.clid);
        if (d->resolution == ND_RESOLVE_CANCEL && vo && room(x)) {
            job_t j = {.kind = JOB_CANCEL}; /* not in the journal: its fills are the account's */
            memcpy(j.clid, d->order.clid, sizeof j.clid);
            snprintf(j.uuid, sizeof j.uuid, "%s", vo->uuid);
            push_job(x, &j);
        }
        if (d->resolution == ND_RESOLVE_HALT)
            x->stats.recon_halts++;
    }
}

/* A sync's answer: a failed one starts an outage; the first good one after it asks for a
 * reconciliation, done at a sync that read the balances with no create of ours pending. */
static void take_sync(nd_coinbase_exec_t *x, const result_t *r, int64_t now_ns)
{
    x->sync_in_flight = false;
    if (!r->ok) {
        x->outage = true;
        if (x->cfg.user_channel) /* no periodic poll to try again: this is it */
            x->next_sync_ns = now_ns + x->cfg.poll_interval_ns;
        return;
    }
    if (x->outage) {
        x->outage = false;
        x->recon_wanted = true;
        x->stats.outages++;
        x->next_sync_ns = 0;
    }
    process_sync(x, now_ns);
    if (x->recon_wanted && r->recon_ok && !creates_pending(x))
        reconcile_live(x, r, now_ns);
    else if (x->recon_wanted) /* again soon, with the balances (not at once: a create of ours
                               * may stay unanswered for a while) */
        x->next_sync_ns = now_ns + x->cfg.poll_interval_ns / 5;
}

static void take_results(nd_coinbase_exec_t *x, int64_t now_ns)
{
    result_t r;
    while (nd_oadapter_take(&x->core, &r, 0)) {
        if (r.kind == JOB_SYNC) {
            take_sync(x, &r, now_ns);
            continue;
        }
        if (!r.answered && r.reject != ND_REJECT_VENUE_ERROR)
            x->outage = true; /* no answer: the next good sync reconciles */
        int idx = nd_oadapter_find_clid(&x->core, r.clid);
        if (idx < 0)
            continue;
        x->st[idx].in_queue = false;
        if (r.kind == JOB_NEW)
            process_new(x, idx, &r, now_ns);
        else
            process_cancel(x, idx, &r, now_ns);
    }
}

/* Anything of ours not done: without the user channel, poll every interval (at once after an
 * answer that asks); with it, sync only when asked (next_sync_ns), when a report is overdue,
 * and at the slow sweep. */
static void schedule(nd_coinbase_exec_t *x, int64_t now_ns)
{
    if (x->sync_in_flight || !room(x))
        return;
    bool live = false, overdue = false;
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        ostate_t *s = &x->st[i];
        if (nd_recon_status_done(l->orders[i].status) || s->in_queue)
            continue;
        live = true;
        if (s->report_due_ns > 0 && now_ns >= s->report_due_ns) {
            overdue = true; /* one sync per timeout at most, until the venue lists it */
            s->report_due_ns = now_ns + x->cfg.report_timeout_ns;
        }
    }
    if (!live && !x->recon_wanted && !x->outage)
        return;
    bool asked = now_ns >= x->next_sync_ns;
    bool sweep = x->cfg.user_channel && live && now_ns >= x->next_sweep_ns;
    if (!asked && !overdue && !sweep)
        return;
    if (!asked && overdue) {
        x->stats.overdue_syncs++;
        ND_LOG(ND_LOG_INFO, "venue=coinbase event=report_overdue product=%s: syncing",
               x->product_id);
    } else if (!asked) {
        x->stats.sweeps++;
    }
    job_t j = {.kind = JOB_SYNC, .recon = x->recon_wanted};
    x->sync_in_flight = true;
    x->next_sync_ns = x->cfg.user_channel ? INT64_MAX : now_ns + x->cfg.poll_interval_ns;
    x->next_sweep_ns = now_ns + x->cfg.sweep_interval_ns;
    push_job(x, &j);
}

/* ---- The engine's venue interface -------------------------------------------------------- */

static nd_err_t refuse(nd_coinbase_exec_t *x, const nd_order_t *o, int32_t why, int64_t now_ns)
{
    x->stats.rejected++;
    return nd_oadapter_refuse(&x->core, o, why, now_ns);
}

static nd_err_t exec_submit(void *self, nd_order_t *o, int64_t now_ns)
{
    nd_coinbase_exec_t *x = self;
    ND_ASSERT(o != NULL && o->status == ND_ORDER_NEW);
    if (x->cfg.local->order_count == ND_RECON_ORDERS_MAX)
        nd_oadapter_compact(&x->core);
    if (!room(x) || x->cfg.local->order_count == ND_RECON_ORDERS_MAX ||
        nd_oadapter_update_room(&x->core) <= UPDATES_MAX / 2) {
        x->stats.queue_full++;
        return ND_EFULL;
    }
    if (o->instrument_id != x->cfg.instrument_id || o->type == ND_ORDER_STOP)
        return refuse(x, o, ND_REJECT_VENUE_BAD_REQUEST, now_ns);
    job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_NEW;
    if (nd_clid_format(x->tag, x->cfg.run, o->strategy_index, o->client_id, j.clid) != ND_OK)
        return ND_EINVAL;
    bool market = o->type == ND_ORDER_MARKET;
    int64_t px = market ? 0 : o->px;
    int32_t why = nd_coinbase_order_text(&x->cfg.rules, x->product_id, j.clid,
                                         o->side == ND_SIDE_BUY, market, px, o->qty, &j.text);
    if (why != ND_REJECT_NONE)
        return refuse(x, o, why, now_ns); /* the product rules: nothing is sent */
    nd_journal_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_NEW;
    rec.ts_ns = nd_clock_now_ns(x->cfg.clock);
    rec.order = (nd_recon_order_t){.instrument_id = o->instrument_id, .side = o->side,
                                   .type = o->type, .px = px, .qty = o->qty,
                                   .intent_ns = rec.ts_ns};
    memcpy(rec.order.clid, j.clid, sizeof rec.order.clid);
    if (nd_oadapter_journal(&x->core, &rec) != ND_OK)
        return ND_EIO; /* no intent on disk: nothing may leave */
    int idx = (int)x->cfg.local->order_count - 1;
    ND_ASSERT(idx >= 0 && strcmp(x->cfg.local->orders[idx].clid, j.clid) == 0);
    memset(&x->st[idx], 0, sizeof x->st[idx]);
    x->st[idx].in_queue = true;
    hook(x, "journaled");
    push_job(x, &j);
    x->stats.submitted++;
    return ND_OK;
}

/* Journals the CANCEL intent of local order idx and queues it by the venue's id. */
static nd_err_t queue_cancel(nd_coinbase_exec_t *x, int idx, int64_t now_ns)
{
    ostate_t *s = &x->st[idx];
    if (!s->uuid[0]) {
        s->cancel_refused = true; /* not acknowledged yet: cancelled once the poll finds it */
        x->next_sync_ns = 0;
        return ND_OK;
    }
    nd_journal_rec_t rec;
    memset(&rec, 0, sizeof rec);
    rec.kind = ND_JOURNAL_CANCEL;
    rec.ts_ns = now_ns;
    rec.order = x->cfg.local->orders[idx];
    if (nd_oadapter_journal(&x->core, &rec) != ND_OK)
        return ND_EIO;
    job_t j;
    memset(&j, 0, sizeof j);
    j.kind = JOB_CANCEL;
    memcpy(j.clid, rec.order.clid, sizeof j.clid);
    snprintf(j.uuid, sizeof j.uuid, "%s", s->uuid);
    s->in_queue = true;
    hook(x, "journaled");
    push_job(x, &j);
    x->stats.cancels++;
    if (s->covered)
        x->cancel_all_left++; /* the emergency cancel waits for its answer */
    return ND_OK;
}

static nd_err_t exec_cancel(void *self, uint64_t client_id, int64_t now_ns)
{
    nd_coinbase_exec_t *x = self;
    int idx = nd_oadapter_find_client(&x->core, client_id);
    if (idx < 0)
        return ND_ENOTFOUND;
    if (x->st[idx].covered || x->st[idx].has_pending || x->cfg.local->orders[idx].cancel_sent)
        return ND_OK; /* a cancel is on its way, or the venue said it is done */
    if (!room(x))
        return ND_EFULL;
    return queue_cancel(x, idx, now_ns);
}

static nd_err_t exec_poll(void *self, int64_t now_ns, nd_order_update_t *out, size_t cap,
                          size_t *count)
{
    nd_coinbase_exec_t *x = self;
    ND_ASSERT(out != NULL && count != NULL);
    int64_t wall_ns = nd_clock_now_ns(x->cfg.clock);
    take_results(x, wall_ns);
    flush_pending(x, wall_ns);
    /* An order cancelled before its acknowledgement: cancel it once the venue's id is known. */
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++)
        if (x->st[i].cancel_refused && x->st[i].uuid[0] && !l->orders[i].cancel_sent &&
            !nd_recon_status_done(l->orders[i].status) && !x->st[i].in_queue && room(x))
            (void)queue_cancel(x, (int)i, wall_ns);
    schedule(x, wall_ns);
    *count = nd_oadapter_drain(&x->core, now_ns, out, cap);
    return ND_OK;
}

static const nd_exec_venue_ops_t exec_ops = {
    .submit = exec_submit,
    .cancel = exec_cancel,
    .open_count = nd_oadapter_exec_open_count,
    .on_market = nd_oadapter_exec_on_market,
    .poll = exec_poll,
};

nd_exec_venue_t nd_coinbase_exec_venue(nd_coinbase_exec_t *x)
{
    nd_exec_venue_t v = {.ops = &exec_ops, .self = x, .facts = x->facts};
    return v;
}

nd_err_t nd_coinbase_exec_cancel_all(nd_coinbase_exec_t *x)
{
    int64_t now = nd_clock_now_ns(x->cfg.clock);
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        ostate_t *s = &x->st[i];
        if (nd_recon_status_done(l->orders[i].status) || l->orders[i].cancel_sent || s->covered)
            continue;
        s->covered = true;
        if (!room(x)) {
            s->cancel_refused = true; /* exec_poll sends it when there is room */
            continue;
        }
        if (queue_cancel(x, (int)i, now) != ND_OK)
            return ND_EIO;
    }
    return ND_OK;
}

bool nd_coinbase_exec_cancel_all_busy(const nd_coinbase_exec_t *x)
{
    return x->cancel_all_left > 0;
}

int64_t nd_coinbase_exec_venue_open(const nd_coinbase_exec_t *x)
{
    return x->venue_open;
}

void nd_coinbase_exec_stats(const nd_coinbase_exec_t *x, nd_coinbase_exec_stats_t *out)
{
    *out = x->stats;
    nd_oadapter_round_trips(&x->core, &out->round_trips, &out->round_trip_ns_sum);
}

/* ---- Start-up: reconciliation (blocking, before the worker runs) ------------------------- */

typedef struct recon_buf {
    nd_recon_order_t open[VIEW_MAX], queried[ND_RECON_ORDERS_MAX];
    nd_recon_trade_t trades[VIEW_MAX];
    nd_recon_asset_t balances[2];
    nd_recon_venue_t venue;
} recon_buf_t;

static const vorder_t *venue_by_clid(const view_t *v, const char *clid)
{
    for (uint32_t i = 0; i < v->order_count; i++)
        if (strcmp(v->orders[i].o.clid, clid) == 0)
            return &v->orders[i];
    return NULL;
}

static void read_balance(void *ctx, const nd_md_event_t *ev)
{
    nd_recon_asset_t *b = ctx;
    for (int k = 0; k < 2; k++)
        if (strcmp(ev->u.balance.asset, b[k].asset) == 0)
            b[k].amount = ev->u.balance.free + ev->u.balance.locked;
}

/* The venue's view for nd_recon_compare: every open order of the product, the answer for each
 * local order sent or open and not among them, our orders' fills, the two balances. */
static nd_err_t venue_view(nd_coinbase_exec_t *x, recon_buf_t *b, bool trades, char *err,
                           size_t err_len)
{
    const view_t *v = &x->view;
    nd_recon_venue_t *rv = &b->venue;
    memset(rv, 0, sizeof *rv);
    for (uint32_t i = 0; i < v->order_count; i++)
        if (v->orders[i].o.status == ND_RECON_OPEN)
            b->open[rv->open_count++] = v->orders[i].o;
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++) {
        const nd_recon_order_t *lo = &l->orders[i];
        const vorder_t *vo = venue_by_clid(v, lo->clid);
        if ((lo->status != ND_RECON_SENT && lo->status != ND_RECON_OPEN) ||
            (vo && vo->o.status == ND_RECON_OPEN))
            continue;
        nd_recon_order_t q = vo ? vo->o : (nd_recon_order_t){.status = ND_RECON_UNKNOWN};
        if (!vo)
            memcpy(q.clid, lo->clid, sizeof q.clid);
        b->queried[rv->queried_count++] = q;
    }
    for (uint32_t i = 0; trades && i < v->fill_count; i++) {
        const nd_md_event_t *f = &v->fills[i];
        int64_t key = nd_coinbase_id_key(f->u.order.venue_order_id);
        const char *clid = NULL;
        for (uint32_t k = 0; k < v->order_count && !clid; k++)
            if (v->orders[k].o.venue_id == key &&
                nd_clid_parse(x->tag, v->orders[k].o.clid, NULL, NULL, NULL) == ND_OK)
                clid = v->orders[k].o.clid;
        if (clid && nd_coinbase_recon_trade(f, clid, x->cfg.instrument_id, &x->cfg.assets,
                                            &b->trades[rv->trade_count]) == ND_OK)
            rv->trade_count++;
    }
    snprintf(b->balances[0].asset, sizeof b->balances[0].asset, "%s", x->cfg.assets.base);
    snprintf(b->balances[1].asset, sizeof b->balances[1].asset, "%s", x->cfg.assets.quote);
    size_t n;
    nd_err_t rc = nd_coinbase_accounts(x->cfg.rest, read_balance, b->balances, &n, err, err_len);
    *rv = (nd_recon_venue_t){.open = b->open, .open_count = rv->open_count,
                             .queried = b->queried, .queried_count = rv->queried_count,
                             .trades = b->trades, .trade_count = rv->trade_count,
                             .balances = b->balances, .balance_count = 2,
                             .has_balances = rc == ND_OK};
    return rc;
}

/* The venue's view with balances that hold no fill the view lacks: fills, orders, accounts,
 * then the fills counted again; a fill in between (an order of ours resting while the market
 * moves, or a create still on its way when the process died) and it is all read again, up to
 * RECOVER_VIEW_TRIES times (then ND_EIO: the venue never held still). */
static nd_err_t consistent_view(nd_coinbase_exec_t *x, recon_buf_t *b, bool trades, char *err,
                                size_t err_len)
{
    for (int tries = 0; tries < RECOVER_VIEW_TRIES; tries++) {
        size_t fills = 0;
        nd_err_t rc = read_view(x, &x->view, err, err_len);
        if (rc == ND_OK)
            rc = venue_view(x, b, trades, err, err_len);
        if (rc == ND_OK)
            rc = nd_coinbase_list_fills(x->cfg.rest, x->product_id, NULL, NULL, &fills, err,
                                        err_len);
        if (rc != ND_OK || fills == x->view.fill_count)
            return rc;
    }
    snprintf(err, err_len, "coinbase: the product's fills kept changing while the venue's view "
                           "was read (%d tries)", RECOVER_VIEW_TRIES);
    return ND_EIO;
}

/* A journal without balances starts from the venue's: the fills already there are theirs. */
static nd_err_t opening(nd_coinbase_exec_t *x, const recon_buf_t *b)
{
    for (int k = 0; k < 2; k++) {
        nd_journal_rec_t rec;
        memset(&rec, 0, sizeof rec);
        rec.kind = ND_JOURNAL_OPENING;
        rec.ts_ns = nd_clock_now_ns(x->cfg.clock);
        rec.asset = b->balances[k];
        if (nd_oadapter_journal(&x->core, &rec) != ND_OK)
            return ND_EIO;
    }
    return ND_OK;
}

/* Acts at the venue where a difference says so (the caller's REST client: before start). */
static void act(nd_coinbase_exec_t *x, const nd_recon_diff_t *d)
{
    char err[256] = "";
    if (d->resolution == ND_RESOLVE_CANCEL) {
        const vorder_t *vo = venue_by_clid(&x->view, d->order.clid);
        bool cancelled = false;
        if (vo)
            (void)nd_coinbase_cancel_order(x->cfg.rest, vo->uuid, &cancelled, err, sizeof err);
    } else if (d->resolution == ND_RESOLVE_RESEND) {
        nd_coinbase_order_text_t t;
        nd_coinbase_order_result_t res;
        const nd_recon_order_t *o = &d->order;
        if (nd_coinbase_order_text(&x->cfg.rules, x->product_id, o->clid, o->side == ND_SIDE_BUY,
                                   o->type == ND_ORDER_MARKET, o->px, o->qty, &t) ==
            ND_REJECT_NONE)
            (void)nd_coinbase_create_order(x->cfg.rest, &t.req, &res, err, sizeof err);
    }
}

static nd_err_t reconcile_once(nd_coinbase_exec_t *x, const nd_recon_policy_t *policy,
                               recon_buf_t *b, nd_recon_diff_t *out, size_t cap, size_t *count,
                               bool *halt, char *err, size_t err_len)
{
    /* A first start takes the venue's balances as the opening ones: the fills already there
     * are in them, so none is booked. */
    bool first = !x->cfg.local->has_balances;
    nd_err_t rc = consistent_view(x, b, !first, err, err_len);
    if (rc == ND_OK && first && (rc = opening(x, b)) == ND_OK)
        rc = venue_view(x, b, false, err, err_len);
    if (rc != ND_OK)
        return ND_EIO;
    nd_recon_diff_t diffs[256];
    size_t n = 0;
    nd_err_t crc = nd_recon_compare(x->cfg.local, &b->venue, x->tag, &x->cfg.assets, 1, policy,
                                    diffs, sizeof diffs / sizeof diffs[0], &n);
    for (size_t i = 0; i < n; i++) {
        nd_journal_rec_t rec;
        nd_journal_rec_of_diff(&diffs[i], nd_clock_now_ns(x->cfg.clock), &rec);
        if (nd_oadapter_journal(&x->core, &rec) != ND_OK)
            return ND_EIO;
        ND_LOG(ND_LOG_INFO, "venue=coinbase event=reconcile when=start kind=%s resolution=%s "
               "clid=%s", nd_recon_kind_name(diffs[i].kind),
               nd_recon_resolution_name(diffs[i].resolution), diffs[i].order.clid);
        act(x, &diffs[i]);
        *halt = *halt || diffs[i].resolution == ND_RESOLVE_HALT;
        if (*count < cap)
            out[*count] = diffs[i];
        (*count)++;
    }
    x->stats.recon_diffs += n;
    return crc == ND_EFULL ? ND_EFULL : ND_OK;
}

/* Cancels every open order of ours at the venue (a restart does not resume its orders).
 * Returns how many of them the journal does not know (their fills are not booked by polling). */
static uint32_t cancel_open_orders(nd_coinbase_exec_t *x)
{
    char err[256];
    uint32_t unknown = 0;
    for (uint32_t i = 0; i < x->view.order_count; i++) {
        const vorder_t *vo = &x->view.orders[i];
        if (vo->o.status != ND_RECON_OPEN ||
            nd_clid_parse(x->tag, vo->o.clid, NULL, NULL, NULL) != ND_OK)
            continue;
        int idx = nd_oadapter_find_clid(&x->core, vo->o.clid);
        if (idx >= 0 && !x->cfg.local->orders[idx].cancel_sent) {
            nd_journal_rec_t rec;
            memset(&rec, 0, sizeof rec);
            rec.kind = ND_JOURNAL_CANCEL;
            rec.ts_ns = nd_clock_now_ns(x->cfg.clock);
            rec.order = x->cfg.local->orders[idx];
            if (nd_oadapter_journal(&x->core, &rec) != ND_OK || nd_journal_sync(x->cfg.journal) != ND_OK)
                continue; /* no intent on disk: not sent */
        }
        bool cancelled = false;
        (void)nd_coinbase_cancel_order(x->cfg.rest, vo->uuid, &cancelled, err, sizeof err);
        unknown += idx < 0;
    }
    return unknown;
}

static bool unsettled(const nd_coinbase_exec_t *x);

/* Until every order of ours is done at the venue, with its fills and end booked. An order that
 * shows up open only now (an intent resent, or a create still on its way when the process
 * died) is cancelled at the round that sees it. Returns the unknown orders of ours cancelled. */
static nd_err_t settle(nd_coinbase_exec_t *x, bool cancel_open, uint32_t *unknown, char *err,
                       size_t err_len)
{
    for (int round = 0; round < RECOVER_ROUNDS; round++) {
        if (read_view(x, &x->view, err, err_len) != ND_OK)
            return ND_EIO;
        int64_t now = nd_clock_now_ns(x->cfg.clock);
        process_sync(x, now);
        flush_pending(x, now);
        if (!unsettled(x))
            break;
        if (cancel_open)
            *unknown += cancel_open_orders(x);
        struct timespec pause = {0, 100 * ND_NS_PER_MS};
        nanosleep(&pause, NULL);
    }
    return ND_OK;
}

/* True while an order of ours is open at the venue or unresolved locally. */
static bool unsettled(const nd_coinbase_exec_t *x)
{
    for (uint32_t i = 0; i < x->view.order_count; i++)
        if (x->view.orders[i].o.status == ND_RECON_OPEN &&
            nd_clid_parse(x->tag, x->view.orders[i].o.clid, NULL, NULL, NULL) == ND_OK)
            return true;
    const nd_recon_local_t *l = x->cfg.local;
    for (uint32_t i = 0; i < l->order_count; i++)
        if (!nd_recon_status_done(l->orders[i].status))
            return true;
    return false;
}

nd_err_t nd_coinbase_exec_recover(nd_coinbase_exec_t *x, const nd_recon_policy_t *policy,
                                  bool cancel_open, nd_recon_diff_t *out, size_t cap,
                                  size_t *count, bool *halt, char *err, size_t err_len)
{
    ND_ASSERT(x != NULL && !x->core.running);
    ND_ASSERT(policy != NULL && count != NULL && halt != NULL);
    *count = 0;
    *halt = false;
    recon_buf_t *b = nd_calloc(1, sizeof *b);
    if (!b)
        return ND_ENOMEM;
    x->policy = *policy; /* the reconciliations in the session resolve the same way */
    nd_err_t rc = reconcile_once(x, policy, b, out, cap, count, halt, err, err_len);
    uint32_t unknown = 0;
    for (size_t i = 0; i < *count && i < cap; i++)
        unknown += out[i].kind == ND_RECON_UNKNOWN_OURS;
    if (rc == ND_OK && cancel_open)
        unknown += cancel_open_orders(x);
    if (rc == ND_OK)
        rc = settle(x, cancel_open, &unknown, err, err_len);
    /* An order of ours the journal does not know (a power loss took its intent) may fill until
     * its cancel lands, and polling books only the journal's orders: one more comparison books
     * those fills (fill_missing) with the balances checked after them. */
    if (rc == ND_OK && unknown > 0)
        rc = reconcile_once(x, policy, b, out, cap, count, halt, err, err_len);
    nd_free(b);
    if (rc != ND_OK)
        return rc;
    nd_oadapter_clear_updates(&x->core); /* an earlier run's: this engine never saw them */
    return nd_journal_sync(x->cfg.journal);
}

/* ---- Life cycle ---------------------------------------------------------------------------- */

nd_err_t nd_coinbase_exec_create(const nd_coinbase_exec_config_t *cfg, nd_coinbase_exec_t **out,
                                 char *err, size_t err_len)
{
    ND_ASSERT(cfg != NULL && out != NULL);
    if (!cfg->rest || !cfg->journal || !cfg->local || !cfg->clock || !cfg->product_id ||
        !cfg->tag || strlen(cfg->product_id) >= ND_NAME_MAX || strlen(cfg->tag) > ND_CLID_TAG_MAX ||
        cfg->rules.base_increment <= 0 || cfg->rules.quote_increment <= 0) {
        snprintf(err, err_len, "coinbase exec: REST client, journal, local view, clock, product, "
                               "tag and the product's rules are required");
        return ND_EINVAL;
    }
    nd_coinbase_exec_t *x = nd_calloc(1, sizeof *x);
    if (!x)
        return ND_ENOMEM;
    x->cfg = *cfg;
    snprintf(x->product_id, sizeof x->product_id, "%s", cfg->product_id);
    snprintf(x->tag, sizeof x->tag, "%s", cfg->tag);
    x->cfg.product_id = x->product_id;
    x->cfg.tag = x->tag;
    if (x->cfg.poll_interval_ns <= 0)
        x->cfg.poll_interval_ns = 500 * ND_NS_PER_MS;
    if (x->cfg.report_timeout_ns <= 0)
        x->cfg.report_timeout_ns = 2 * ND_NS_PER_SEC;
    if (x->cfg.sweep_interval_ns <= 0)
        x->cfg.sweep_interval_ns = 15 * ND_NS_PER_SEC;
    snprintf(x->facts.name, sizeof x->facts.name, "coinbase");
    x->facts.maker_fee_bps_e2 = cfg->maker_fee_bps_e2 ? cfg->maker_fee_bps_e2 : 4000;
    x->facts.taker_fee_bps_e2 = cfg->taker_fee_bps_e2 ? cfg->taker_fee_bps_e2 : 6000;
    x->venue_open = -1;
    x->st = nd_calloc(ND_RECON_ORDERS_MAX, sizeof *x->st);
    x->view.orders = nd_calloc(VIEW_MAX, sizeof *x->view.orders);
    x->view.fills = nd_calloc(VIEW_MAX, sizeof *x->view.fills);
    nd_oadapter_config_t core = {.venue = "coinbase", .journal = cfg->journal,
                                 .local = cfg->local, .assets = cfg->assets,
                                 .instrument_id = cfg->instrument_id, .tag = x->tag,
                                 .run = cfg->run, .queue_max = QUEUE_MAX,
                                 .job_size = sizeof(job_t), .result_size = sizeof(result_t),
                                 .run_cb = run_cb, .ctx = x, .order_state = x->st,
                                 .order_state_size = sizeof(ostate_t)};
    nd_err_t rc = x->st ? nd_oadapter_init(&x->core, &core, err, err_len) : ND_ENOMEM;
    if (rc != ND_OK || !x->view.orders || !x->view.fills) {
        nd_coinbase_exec_destroy(x);
        return rc != ND_OK ? rc : ND_ENOMEM;
    }
    *out = x;
    return ND_OK;
}

nd_err_t nd_coinbase_exec_start(nd_coinbase_exec_t *x)
{
    ND_ASSERT(x != NULL);
    /* recover has just read the venue: the sweep's first sync is an interval away */
    x->next_sweep_ns = nd_clock_now_ns(x->cfg.clock) + x->cfg.sweep_interval_ns;
    if (x->cfg.user_channel)
        x->next_sync_ns = INT64_MAX; /* until something asks for one */
    return nd_oadapter_start(&x->core);
}

void nd_coinbase_exec_on_order(nd_coinbase_exec_t *x, const nd_md_event_t *ev)
{
    ND_ASSERT(x != NULL && ev != NULL);
    ND_ASSERT(ev->kind == ND_MD_ORDER_UPDATE);
    const nd_md_order_update_t *u = &ev->u.order;
    if (strcmp(ev->symbol, x->product_id) != 0)
        return;
    x->stats.stream_events++;
    int idx = nd_oadapter_find_clid(&x->core, u->client_order_id);
    bool late = idx >= 0 && x->cfg.local->orders[idx].status == ND_RECON_DROPPED;
    if (late)
        x->recon_wanted = true; /* a late create: a sync follows it, then a reconciliation */
    if (idx < 0 || nd_oadapter_update_room(&x->core) < 4 || late) {
        x->next_sync_ns = 0; /* not ours to follow here, no room, or a late create: a sync */
        return;
    }
    int64_t now_ns = nd_clock_now_ns(x->cfg.clock);
    nd_recon_status_t status = nd_oadapter_status_of((nd_md_order_status_t)u->status);
    if (status == ND_RECON_OPEN || (nd_recon_status_done(status) && status != ND_RECON_REJECTED))
        accept(x, idx, u->venue_order_id, now_ns);
    /* The channel gives the cumulative quantity, not the fills (no trade id, no price of
     * each): a quantity not booked yet is fetched at once; the poll books each fill once. */
    if (u->cum_qty > x->cfg.local->orders[idx].filled_qty) {
        x->next_sync_ns = 0;
        x->stats.stream_fill_wakes++;
    }
    ostate_t *st = &x->st[idx];
    st->reported = true;
    /* The report answers for what was expected of it, unless a cancel still waits for the
     * order's end. */
    if (nd_recon_status_done(status) || !x->cfg.local->orders[idx].cancel_sent)
        st->report_due_ns = 0;
    if (u->cum_qty > x->cfg.local->orders[idx].filled_qty && x->cfg.user_channel)
        st->report_due_ns = now_ns + x->cfg.report_timeout_ns; /* until the fills are booked */
    if (nd_recon_status_done(status) && !nd_recon_status_done(x->cfg.local->orders[idx].status)) {
        st->has_pending = true; /* reported once its fills are booked */
        st->pending_status = status;
        st->exec_qty = u->cum_qty;
        flush_pending(x, now_ns);
    }
}

void nd_coinbase_exec_resync(nd_coinbase_exec_t *x)
{
    ND_ASSERT(x != NULL);
    x->recon_wanted = true;
    x->next_sync_ns = 0; /* now, unless a sync is in flight (then right after it) */
}

void nd_coinbase_exec_stop(nd_coinbase_exec_t *x)
{
    if (x)
        nd_oadapter_stop(&x->core);
}

void nd_coinbase_exec_destroy(nd_coinbase_exec_t *x)
{
    if (!x)
        return;
    nd_oadapter_deinit(&x->core);
    nd_free(x->st);
    nd_free(x->view.orders);
    nd_free(x->view.fills);
    nd_free(x);
}
