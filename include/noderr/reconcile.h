/* reconcile.h: orders that are never lost or doubled (src/live/): deterministic client order
 * ids, the order journal, and reconciliation of the local view with the venue's.
 *
 *  - Client order ids (clid.c): "nd" + session tag + run + strategy + the engine's client id,
 *    so an order keeps its id on a retry and in the journal across a restart, and an id seen at
 *    the venue is either ours (parsed back) or not (never touched).
 *  - The journal (journal.c): an append-only file of fixed-size checksummed records. Every
 *    intent (new, cancel) is appended before its request leaves and made durable (fdatasync)
 *    before it is sent; every venue answer, fill and reconciliation result after it. Replayed
 *    at start-up it gives the local view: orders sent or maybe sent, their last known state,
 *    fills booked by venue trade id, the last trade id seen and the balances they imply.
 *  - Reconciliation (reconcile.c): pure logic, no I/O. The local view against the venue's
 *    (open orders, each unresolved order's query result, trades since the last trade id seen,
 *    balances) gives a list of typed differences, each with its resolution under a policy;
 *    applying them makes the local view equal the venue's, and applying twice changes nothing.
 *
 * Quantities and prices are int64 at the venue's 8 decimals (ND_VENUE_DECIMALS), cash in cash
 * units (ND_CASH_DECIMALS, also 8). docs/live.md. */
#ifndef NODERR_RECONCILE_H
#define NODERR_RECONCILE_H

#include "noderr/err.h"
#include "noderr/limits.h"
#include "noderr/order.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Client order ids (clid.c) ----------------------------------------------------------- */

/* Longest session tag: [a-z0-9]{1,6}. */
#define ND_CLID_TAG_MAX 6
/* A client order id with its NUL: Binance allows 36 characters. */
#define ND_CLID_SIZE 37

/* Writes "nd<tag>-<run>-<strategy>-<client_id>" (run, strategy and client id in lowercase
 * base 36) into out: at most 2 + 6 + 1 + 6 + 1 + 4 + 1 + 13 = 34 characters, inside Binance's
 * ^[.A-Z:/a-z0-9_-]{1,36}$. run is the session's start count (the journal's), since the engine
 * numbers client ids from 1 on every start. ND_EINVAL for a bad tag, run >= 36^6 or
 * strategy_index > 0xFFFF. */
nd_err_t nd_clid_format(const char *tag, uint32_t run, uint32_t strategy_index,
                        uint64_t client_id, char out[ND_CLID_SIZE]);
/* Parses an id made by nd_clid_format with this tag: ND_OK with the parts (each OUT may be
 * NULL); ND_EDECLINED when the id is not ours (another tag, another program, bad syntax). */
nd_err_t nd_clid_parse(const char *tag, const char *text, uint32_t *run /* OUT */,
                       uint32_t *strategy_index /* OUT */, uint64_t *client_id /* OUT */);

/* ---- The local and the venue view -------------------------------------------------------- */

/* Orders the local view holds (live and done in this journal) and assets of a balance sheet. */
#define ND_RECON_ORDERS_MAX 4096
#define ND_RECON_ASSETS_MAX 8
/* Differences one reconciliation reports: more means the venue and we disagree wholesale. */
#define ND_RECON_DIFFS_MAX 8192

/* An order's state as the journal and the venue know it. */
typedef enum nd_recon_status {
    ND_RECON_SENT = 0,        /* intent journaled, no answer: maybe at the venue */
    ND_RECON_OPEN = 1,        /* accepted (NEW or PARTIALLY_FILLED at the venue) */
    ND_RECON_FILLED = 2,
    ND_RECON_CANCELLED = 3,
    ND_RECON_EXPIRED = 4,
    ND_RECON_REJECTED = 5,    /* refused by the venue */
    ND_RECON_DROPPED = 6,     /* never reached the venue; dropped by policy */
    ND_RECON_UNKNOWN = 7      /* venue view only: the query found no such order */
} nd_recon_status_t;

/* "sent", "open", "filled", "cancelled", "expired", "rejected", "dropped", "unknown". */
const char *nd_recon_status_name(nd_recon_status_t status);
/* True for FILLED, CANCELLED, EXPIRED, REJECTED, DROPPED. */
bool nd_recon_status_done(nd_recon_status_t status);

typedef struct nd_recon_order {
    char clid[ND_CLID_SIZE];
    uint32_t instrument_id;
    nd_side_t side;
    nd_order_type_t type;
    int64_t px, qty;          /* limit price (0 for market), total quantity */
    int64_t venue_id;         /* 0 until known */
    nd_recon_status_t status;
    int64_t filled_qty;       /* local: the fills booked; venue: executedQty */
    bool cancel_sent;         /* local: a cancel intent is journaled */
    int64_t intent_ns;        /* local: when the new-order intent was journaled */
} nd_recon_order_t;

/* One execution, as myTrades gives it: exact price, quantity, quote quantity and commission. */
typedef struct nd_recon_trade {
    int64_t trade_id;         /* the venue's, > 0 */
    int64_t venue_order_id;
    char clid[ND_CLID_SIZE];  /* the order's client id ("" when the venue did not say) */
    uint32_t instrument_id;
    nd_side_t side;
    bool maker;
    int64_t px, qty;
    int64_t quote_qty;        /* cash units, the venue's px * qty */
    int64_t commission;       /* in commission_asset */
    int64_t ts_ns;
    /* The venue's commissionAsset: the asset received (base for a buy, quote for a sell)
     * unless the account pays fees in a third asset (BNB); "" means the asset received. */
    char commission_asset[ND_NAME_MAX];
} nd_recon_trade_t;

typedef struct nd_recon_asset {
    char asset[ND_NAME_MAX];
    int64_t amount;           /* free + locked, 10^-8 units */
} nd_recon_asset_t;

/* The instrument table reconciliation needs: which assets a trade moves. */
typedef struct nd_recon_instrument {
    char base[ND_NAME_MAX], quote[ND_NAME_MAX];
} nd_recon_instrument_t;

/* What we know: the journal's replay. booked[] holds every trade booked, keyed by trade id and
 * side (id * 2 + 1 for a buy; sorted, for the exactly-once rule: a self-trade is one id listed
 * twice, as buyer and as seller); balances are the opening balances moved by every booked
 * fill. */
typedef struct nd_recon_local {
    nd_recon_order_t orders[ND_RECON_ORDERS_MAX];
    uint32_t order_count;
    int64_t booked[ND_RECON_ORDERS_MAX * 4];
    uint32_t booked_count;
    int64_t last_trade_id;    /* highest trade id booked, 0 when none */
    nd_recon_asset_t balances[ND_RECON_ASSETS_MAX];
    uint32_t balance_count;
    bool has_balances;        /* opening balances journaled */
} nd_recon_local_t;

/* What the venue says, fetched by the caller: open orders (all of the account's, ours and
 * not), the query result of every local order that is SENT or OPEN but not among open orders
 * (status UNKNOWN when the venue answered "no such order"), the trades after last_trade_id, and
 * the balances. */
typedef struct nd_recon_venue {
    const nd_recon_order_t *open;
    uint32_t open_count;
    const nd_recon_order_t *queried;
    uint32_t queried_count;
    const nd_recon_trade_t *trades;
    uint32_t trade_count;
    const nd_recon_asset_t *balances;
    uint32_t balance_count;
    bool has_balances;
} nd_recon_venue_t;

/* ---- Reconciliation (reconcile.c) -------------------------------------------------------- */

typedef enum nd_recon_kind {
    ND_RECON_NEVER_SENT = 1,     /* SENT locally, unknown at the venue: never reached it */
    ND_RECON_REACHED = 2,        /* SENT locally (no answer), the venue has it: take its state */
    ND_RECON_DONE_AT_VENUE = 3,  /* open locally, done at the venue: book the end */
    ND_RECON_FILL_MISSING = 4,   /* a trade of ours at the venue not booked: book it once */
    ND_RECON_UNKNOWN_OURS = 5,   /* open at the venue with our tag, absent locally */
    ND_RECON_FOREIGN = 6,        /* open at the venue, not ours: surfaced, never touched */
    ND_RECON_VANISHED = 7,       /* open locally, unknown at the venue: surfaced, booked ended */
    ND_RECON_BALANCE = 8         /* a balance differs beyond the fills */
} nd_recon_kind_t;

typedef enum nd_recon_resolution {
    ND_RESOLVE_RESEND = 1,       /* send again with the same client order id */
    ND_RESOLVE_DROP = 2,         /* book it DROPPED */
    ND_RESOLVE_BOOK = 3,         /* book the venue's state or trade into the local view */
    ND_RESOLVE_ADOPT = 4,        /* take the venue's order (or balance) as ours */
    ND_RESOLVE_CANCEL = 5,       /* cancel it at the venue, then book what the venue says */
    ND_RESOLVE_SURFACE = 6,      /* report only */
    ND_RESOLVE_HALT = 7          /* report and halt trading until an operator looks */
} nd_recon_resolution_t;

/* "never_sent", "reached", ...; "resend", "drop", ... */
const char *nd_recon_kind_name(nd_recon_kind_t kind);
const char *nd_recon_resolution_name(nd_recon_resolution_t resolution);

typedef struct nd_recon_policy {
    nd_recon_resolution_t never_sent;   /* RESEND or DROP */
    nd_recon_resolution_t unknown_ours; /* ADOPT or CANCEL */
    nd_recon_resolution_t balance;      /* HALT or ADOPT */
} nd_recon_policy_t;

/* The defaults: DROP an intent that never reached the venue (the strategy decides again on
 * fresh data), CANCEL an order of ours the journal does not know, HALT on a balance difference. */
void nd_recon_policy_default(nd_recon_policy_t *policy /* OUT */);

typedef struct nd_recon_diff {
    nd_recon_kind_t kind;
    nd_recon_resolution_t resolution;
    nd_recon_order_t order;      /* the venue's order (the local one for NEVER_SENT) */
    nd_recon_trade_t trade;      /* FILL_MISSING */
    nd_recon_asset_t local, venue; /* BALANCE: both amounts */
} nd_recon_diff_t;

/* Compares local with venue for an account whose orders carry tag: at most cap differences
 * into out, *count of them (ND_EFULL when there are more; out then holds the first cap).
 * In this order: local orders against the venue's answers (NEVER_SENT, REACHED, DONE_AT_VENUE,
 * VANISHED), open orders unknown locally (UNKNOWN_OURS, FOREIGN), trades not booked
 * (FILL_MISSING, each trade id once: after the orders, so an adopted order takes its fills),
 * then balances with every booked and to-be-booked fill counted. Apply them in this order.
 * Cost O(orders * (open + queried) + trades * log booked). */
nd_err_t nd_recon_compare(const nd_recon_local_t *local, const nd_recon_venue_t *venue,
                          const char *tag, const nd_recon_instrument_t *instruments,
                          uint32_t instrument_count, const nd_recon_policy_t *policy,
                          nd_recon_diff_t *out, size_t cap, size_t *count /* OUT */);

/* Applies one difference's resolution to the local view: BOOK and ADOPT bring the venue's
 * state in, DROP marks the order DROPPED, RESEND, CANCEL, SURFACE and HALT change nothing
 * locally (the caller acts at the venue, and the next reconciliation books the outcome).
 * Idempotent: a trade already booked is not booked again. ND_EFULL when the local view is
 * full; ND_EINVAL when a trade's instrument is not in the table. */
nd_err_t nd_recon_apply(nd_recon_local_t *local, const nd_recon_diff_t *diff,
                        const nd_recon_instrument_t *instruments, uint32_t instrument_count);

/* Books one trade into local (order fill, balances, trade id): ND_OK, ND_EEXIST when the trade
 * (id and side) is booked already (nothing changes), ND_EFULL, ND_EINVAL (instrument unknown). The journal
 * replay and nd_recon_apply share it. Instruments are looked up by the trade's instrument id,
 * except in a table of one (an order adapter's view of its one symbol): that one, whatever
 * the id (a session's symbol k > 0, or its second venue's). So do nd_recon_compare and
 * nd_recon_apply. */
nd_err_t nd_recon_book_trade(nd_recon_local_t *local, const nd_recon_trade_t *trade,
                             const nd_recon_instrument_t *instruments, uint32_t instrument_count);
/* Drops the done orders (filled, cancelled, expired, rejected, dropped) from the local view,
 * keeping the others in order; map (may be NULL, room for order_count entries) receives each
 * old index's new one, UINT32_MAX for a dropped order. Returns how many were dropped. O(orders).
 * Both writers of a view compact at the same point, so a replay gives the same view: the
 * journal fold when a NEW finds the view full, the adapter just before it journals such a NEW.
 * Booked trade keys compact by themselves when full (those before the last trade id go: the
 * venue is only asked for trades from it on). */
uint32_t nd_recon_local_compact(nd_recon_local_t *local, uint32_t *map /* OUT */);
/* The local order with that client id, or NULL. O(orders). */
nd_recon_order_t *nd_recon_find(nd_recon_local_t *local, const char *clid);
/* True when the trade trade_id on side is booked. O(log booked). */
bool nd_recon_booked(const nd_recon_local_t *local, int64_t trade_id, nd_side_t side);
/* Adds amount to asset's balance (creating it): ND_EFULL past ND_RECON_ASSETS_MAX. */
nd_err_t nd_recon_balance_add(nd_recon_local_t *local, const char *asset, int64_t amount);

/* ---- The order journal (journal.c) ------------------------------------------------------- */

typedef enum nd_journal_kind {
    ND_JOURNAL_RUN = 1,          /* a start: run number, session tag */
    ND_JOURNAL_OPENING = 2,      /* an opening (or adopted) balance: asset, amount */
    ND_JOURNAL_NEW = 3,          /* intent: new order (clid, instrument, side, type, px, qty) */
    ND_JOURNAL_CANCEL = 4,       /* intent: cancel clid */
    ND_JOURNAL_STATUS = 5,       /* the venue's answer or a later state: clid, status, venue id,
                                    reason (a nd_reject_t) */
    ND_JOURNAL_FILL = 6,         /* a trade booked (nd_recon_trade_t) */
    ND_JOURNAL_RECON = 7,        /* a reconciliation difference and its resolution */
    ND_JOURNAL_WATERMARK = 8     /* trade.trade_id: the venue's last trade when the journal
                                    started; older trades belong to the opening balances */
} nd_journal_kind_t;

/* One record as the caller gives it and replay returns it; the fields a kind does not use are
 * zero. On disk: a fixed 320-byte little-endian image with a magic, the sequence number and a
 * 64-bit FNV-1a checksum. */
typedef struct nd_journal_rec {
    nd_journal_kind_t kind;
    int64_t seq;                 /* assigned on append, from 1 */
    int64_t ts_ns;
    uint32_t run;                /* RUN */
    char tag[ND_CLID_TAG_MAX + 2]; /* RUN */
    nd_recon_order_t order;      /* NEW (SENT), CANCEL (clid), STATUS (clid, status, venue_id) */
    int32_t reason;              /* STATUS: nd_reject_t of a REJECTED; RECON: the resolution */
    int32_t recon_kind;          /* RECON */
    nd_recon_trade_t trade;      /* FILL */
    nd_recon_asset_t asset;      /* OPENING */
} nd_journal_rec_t;

typedef struct nd_journal nd_journal_t;

/* Opens (creating, mode 0600) the journal at path and replays it: each whole record with a
 * good checksum is handed to replay_cb (may be NULL) in order. A torn tail (a crash in the
 * middle of a write; after a power loss, unsynced records half written: bytes in which no good
 * record follows the first bad one) is cut off and logged. A bad record with a good one after
 * it is corruption: ND_EPARSE naming the offset, nothing opened. The replayed journal is then
 * made durable (fdatasync), so what a reconciliation trusts at a start is on disk, whatever
 * the last run's mode. ND_EIO with the reason in err. */
nd_err_t nd_journal_open(const char *path, void (*replay_cb)(void *ctx, const nd_journal_rec_t *rec),
                         void *ctx, nd_journal_t **out /* OUT */, char *err, size_t err_len);
/* Appends rec (seq assigned; rec->seq is written back): one write(2) of the whole record.
 * Not yet durable: see nd_journal_sync. ND_EIO (the journal is then unusable: every later
 * append fails, since a hole in the journal would lose an intent). */
nd_err_t nd_journal_append(nd_journal_t *j, nd_journal_rec_t *rec, char *err, size_t err_len);
/* fdatasync: every record appended before the call is durable when it returns ND_OK, in
 * either mode. Safe from another thread than the appender's. */
nd_err_t nd_journal_sync(nd_journal_t *j);
/* How an intent is made durable before its request leaves (docs/live.md "Durability").
 * BEFORE_SEND: fdatasync before every request that carries an intent (a power loss loses no
 * intent of a request that left). BATCHED: the intent's write(2) is all the sender waits for
 * (it survives kill -9 of the process: the page cache keeps it); a syncer thread of the journal
 * makes it durable with one fdatasync for every intent written meanwhile (group commit), and a
 * power loss can lose the intents of the last few milliseconds' requests, which the next
 * start's reconciliation recognises at the venue by their client order ids. */
typedef enum nd_journal_sync {
    ND_JOURNAL_SYNC_BEFORE_SEND = 0, /* the default of a journal just opened */
    ND_JOURNAL_SYNC_BATCHED = 1
} nd_journal_sync_t;

/* Parses a journal.sync value ("before_send", "batched"): false when it is neither. */
bool nd_journal_sync_parse(const char *text, nd_journal_sync_t *out /* OUT */);
const char *nd_journal_sync_name(nd_journal_sync_t mode);
/* Sets the mode (once, before any nd_journal_before_send; BATCHED starts the syncer thread).
 * ND_EIO when the thread cannot start (err says why; the mode stays BEFORE_SEND). */
nd_err_t nd_journal_set_sync(nd_journal_t *j, nd_journal_sync_t mode, char *err, size_t err_len);
/* What a sender calls after the intent's append and before its request leaves, on any thread:
 * BEFORE_SEND: nd_journal_sync; BATCHED: asks the syncer for a sync of everything appended so
 * far and returns at once (no system call: the wake is nd_journal_after_send's). ND_EIO: the
 * journal cannot be made durable (a failed sync, here or on the syncer): the request must not
 * leave. */
nd_err_t nd_journal_before_send(nd_journal_t *j);
/* What a sender calls once the request of a successful nd_journal_before_send has left (or
 * was not sent after all), on any thread: BATCHED wakes the syncer when it sleeps (one futex
 * wake, off the order's path); BEFORE_SEND does nothing. Every before_send must be followed
 * by one, or the wish waits for the next one (or the close's sync). */
void nd_journal_after_send(nd_journal_t *j);
/* The mode set by nd_journal_set_sync (BEFORE_SEND until then). */
nd_journal_sync_t nd_journal_mode(const nd_journal_t *j);
/* fdatasync calls made since open (open's and close's included), for the bench and tests. */
uint64_t nd_journal_sync_count(const nd_journal_t *j);
/* Records appended since open, and the last sequence number. */
int64_t nd_journal_last_seq(const nd_journal_t *j);
void nd_journal_close(nd_journal_t *j);

/* Folds one replayed record into a local view (the replay_cb of a session): RUN is
 * informative, OPENING sets a balance, NEW adds a SENT order, CANCEL marks cancel_sent,
 * STATUS moves the order, FILL books the trade (exactly once), WATERMARK raises
 * last_trade_id, RECON applies the recorded
 * difference's resolution (nd_recon_apply), so a reconciliation is journaled once and replays
 * to the same view. ND_EINVAL for a record naming an order the journal never introduced. */
nd_err_t nd_recon_local_fold(nd_recon_local_t *local, const nd_journal_rec_t *rec,
                             const nd_recon_instrument_t *instruments, uint32_t instrument_count);
/* The RECON record of a difference: kind, resolution, order, trade and the venue's asset. */
void nd_journal_rec_of_diff(const nd_recon_diff_t *diff, int64_t ts_ns,
                            nd_journal_rec_t *rec /* OUT */);

#endif
