/* kill9_harness.h: the seeded kill -9 test of a live order adapter, its order journal and
 * reconciliation against exchange-sim (issue 12, item 3), for any venue: kill9.c (Binance) and
 * kill9_cb.c (Coinbase Advanced Trade) each fill in a k9_venue_t (the venue's REST client and
 * adapter, its prices, its exchange-sim account, its ids and statuses, a foreign order) and call
 * k9_main; kill9_harness.c does the rest, the same for both.
 *
 * For each seed: a fresh exchange-sim (matching engine, the venue's REST and HTTP server on
 * 127.0.0.1, on a thread of this process); a child process (the test with --child) runs a seeded
 * order flow (limit orders at and away from the market, market orders, cancels) through the
 * adapter and the journal, and SIGKILLs itself at the seeded kill point (the n-th time an intent
 * is journaled, made durable before sending, or answered); this process then restarts from the
 * journal as a session would, reconciles (cancelling what is left open; an intent that never
 * reached the venue is dropped in even seeds and resent with the same id in odd ones),
 * reconciles again, stops the exchange and checks, against the exchange's own state:
 *  - no order lost: every journaled intent is resolved (none left sent-and-unknown or open);
 *  - none duplicated: client order ids are distinct at the venue, each venue order is a
 *    journaled intent, and a dropped intent never reached the venue;
 *  - positions equal: per order, the fills booked equal the venue's executed quantity and the
 *    status the venue's; every venue trade is booked once; base and quote balances equal the
 *    venue's (free + locked);
 *  - the second reconciliation finds nothing but the foreign order (every fourth seed places a
 *    `web_<seed>` order on the account: surfaced, never touched).
 * Usage: NAME [--seeds N] [--first S] [--kill-max K] [--sync MODE] [--power-loss] [--verbose]:
 * kill points are drawn from 1..K (the venue's default; a large K lets flows finish, for the
 * thread sanitizer). --sync before_send|batched is the journal's mode (journal.sync, default
 * before_send). --power-loss (batched only) also simulates a power loss on every third seed
 * (seed % 3 == 2): after the kill the journal is cut at a seeded record boundary past what the
 * child's start made durable (its unsynced records lost, as the page cache would be) and the send
 * marks are dropped (another boot); those seeds check that every venue order is a journaled
 * intent or one of ours the restart recognised by its client order id (no longer open), and the
 * rest as above. Exit 0 when every seed passes; on a failure it prints "reproduce with --first S
 * --seeds 1 --verbose". */
#ifndef ND_TEST_KILL9_HARNESS_H
#define ND_TEST_KILL9_HARNESS_H

#include "noderr/exec_venue.h"
#include "noderr/reconcile.h"
#include "noderr/xsim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A session of the test (the child's, or the restart's): opened from the journal. */
typedef struct k9_session {
    nd_clock_t *clock;
    void *rest;               /* the venue's REST client */
    nd_journal_t *journal;
    nd_recon_local_t *local;
    void *exec;               /* the venue's order adapter */
    uint32_t runs;
    char marks_path[160];     /* the adapter's send marks: the journal's path + ".sending" */
} k9_session_t;

typedef struct k9_venue {
    const char *name;         /* the program, the prefix of every message: "kill9" */
    const char *journal_stem; /* journals are /tmp/STEM-PID-SEED.journal */
    const char *inst;         /* exchange-sim's instrument */
    nd_recon_instrument_t assets;
    bool fee_in_quote;        /* exchange-sim charges every fee in quote */
    uint64_t kill_max;        /* the default --kill-max */
    uint64_t take_ticks;      /* 0: a taking limit (1 in 10) goes 0..4 ticks of 0.01 through the
                               * touch, drawn; else this many, not drawn */
    bool skip_rejected;       /* the venue lists no order whose create failed */
    const char *trade_noun;   /* "trade" or "fill", in the messages */
    const char *restart_parts; /* what restart-to-reconciled covers, in the summary */
    const char *no_price;     /* the child's message when prices cannot be read */
    bool dump_ids;            /* KILL9_DUMP lines carry the quote quantity and the venue id */
    bool second_clid;         /* "the second reconciliation found" names the first order */
    /* The REST client (and what the adapter needs from the venue before the journal opens);
     * false with err set on a failure. */
    bool (*connect)(k9_session_t *s, int port, char *err, size_t err_len);
    bool (*exec_create)(k9_session_t *s, void (*hook_cb)(void *, const char *), char *err,
                        size_t err_len);
    nd_err_t (*recover)(k9_session_t *s, const nd_recon_policy_t *policy, bool cancel_open,
                        nd_recon_diff_t *out, size_t cap, size_t *count, bool *halt, char *err,
                        size_t err_len);
    nd_err_t (*start)(k9_session_t *s);
    nd_exec_venue_t (*venue)(k9_session_t *s);
    void (*exec_destroy)(k9_session_t *s);
    void (*rest_destroy)(k9_session_t *s);
    /* The child's market data client (NULL on a failure) and best bid and ask from it. */
    void *(*md_open)(const k9_session_t *s, int port);
    void (*md_close)(void *md);
    int (*prices)(void *md, int port, int64_t *bid, int64_t *ask);
    /* exchange-sim's API for this venue (keys, venue). */
    void (*api_config)(nd_xsim_api_config_t *acfg);
    /* An exchange-sim order and trade in the journal's terms. */
    nd_recon_status_t (*venue_status)(const nd_xsim_user_order_t *vo);
    int64_t (*order_key)(int64_t id);
    int64_t (*trade_key)(int64_t id);
    /* Another program's order on the account (0, or -1 on a failure). */
    int (*place_foreign)(int port, uint64_t seed);
    /* Optional: before the seeds, a file every child is given (its path into child_arg, the
     * file removed at the end); the child reads it. 0, or -1 on a failure. */
    int (*prepare)(char *child_arg, size_t len);
    int (*child_prepare)(const char *child_arg);
} k9_venue_t;

/* Defines k9_recover, k9_start, k9_venue, k9_exec_destroy and k9_rest_destroy for a k9_venue_t,
 * in the venue's file: the adapter's PREFIX_recover, _start, _venue and _destroy (both venues'
 * adapters have them) and the REST client's REST_destroy on the session's. */
#define K9_ADAPTER_CALLS(PREFIX, REST)                                                            \
    static nd_err_t k9_recover(k9_session_t *s, const nd_recon_policy_t *policy,                  \
                               bool cancel_open, nd_recon_diff_t *out, size_t cap, size_t *count, \
                               bool *halt, char *err, size_t err_len)                             \
    {                                                                                             \
        return PREFIX##_recover(s->exec, policy, cancel_open, out, cap, count, halt, err,         \
                                err_len);                                                         \
    }                                                                                             \
    static nd_err_t k9_start(k9_session_t *s) { return PREFIX##_start(s->exec); }                \
    static nd_exec_venue_t k9_venue(k9_session_t *s) { return PREFIX##_venue(s->exec); }         \
    static void k9_exec_destroy(k9_session_t *s) { PREFIX##_destroy(s->exec); }                  \
    static void k9_rest_destroy(k9_session_t *s) { REST##_destroy(s->rest); }

/* An exchange-sim order's status in the journal's terms, as Binance lists it. */
nd_recon_status_t k9_xsim_status(const nd_xsim_user_order_t *vo);

/* The test's main: the parent, or with --child the child. */
int k9_main(const k9_venue_t *venue, int argc, char **argv);

#endif
