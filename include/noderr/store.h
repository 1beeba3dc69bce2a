/* store.h: the compliance store: tamper-evident records behind one interface, the audit chain,
 * retention and regulatory reports.
 *
 * A store is opened from a URL: "sqlite:PATH" (or a bare PATH) for the embedded SQLite backend,
 * "postgresql://..." (or "postgres://...") for PostgreSQL through libpq, and "mem:" for an
 * in-memory store used by tests. Every backend keeps the same rows and passes the same contract
 * tests; the backend only stores and returns rows, while this layer numbers them and chains
 * their hashes, so the chain is computed by one piece of code whatever the backend.
 *
 * The audit chain: records are append-only and numbered from seq 1 without gaps. Each carries
 * prev_hash (the hash of the record before it; 32 zero bytes for seq 1) and
 * hash = SHA-256(prev_hash || canonical encoding of the record), the encoding being defined in
 * docs/compliance-store.md and nd_record_encode. Retention deletes whole records only together
 * with a PRUNE record, appended in the same transaction, that lists each deleted seq range with
 * the hash of its last record, so the walk can step over the hole and the chain still verifies.
 *
 * Durability before acknowledgement: appends are batched in a transaction and become durable at
 * nd_store_flush. A failed write or commit rolls the batch back and puts the store in a failed
 * state where every later append is refused: the caller (the engine recorder) halts trading
 * rather than continuing unrecorded. A holding store (nd_store_set_hold: sessions) keeps the
 * records instead and writes them when a later flush succeeds. Money is never a float: prices and quantities are int64
 * with their decimal scale, cash amounts (notional, fee) are int64 at ND_CASH_DECIMALS. */
#ifndef NODERR_STORE_H
#define NODERR_STORE_H

#include "noderr/clock.h"
#include "noderr/engine.h"
#include "noderr/err.h"
#include "noderr/market.h"
#include "noderr/surveillance.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ND_HASH_SIZE 32

/* What a record is. Stable explicit values: they are stored and hashed. */
typedef enum nd_record_kind {
    ND_RECORD_ORDER = 1,       /* an order event: submitted, accepted, rejected, ... */
    ND_RECORD_FILL = 2,        /* one execution */
    ND_RECORD_RISK_REJECT = 3, /* an order refused by a risk check (also its "rejected" event) */
    ND_RECORD_BREAKER = 4,     /* a circuit breaker trip or the kill switch */
    ND_RECORD_CONFIG = 5,      /* a configuration change */
    ND_RECORD_OPERATOR = 6,    /* an operator action */
    ND_RECORD_ALERT = 7,       /* a surveillance alert with its evidence */
    ND_RECORD_LOG = 8,         /* a system log line */
    ND_RECORD_METRIC = 9,      /* a performance metric */
    ND_RECORD_CHAOS = 10,      /* a chaos-test result */
    ND_RECORD_PRUNE = 11,      /* retention removed records: the ranges and their last hashes */
    ND_RECORD_PIPELINE = 12    /* a strategy version registered, promoted, demoted, rolled back */
} nd_record_kind_t;

#define ND_RECORD_KIND_MAX 12

/* "order", "fill", "risk_reject", "breaker", "config", "operator", "alert", "log", "metric",
 * "chaos", "prune", "pipeline"; "unknown" for a foreign value. */
const char *nd_record_kind_name(nd_record_kind_t kind);

/* One record. Every kind uses the same fields; a field a kind does not use is 0 or "". The
 * store keeps a record as its canonical encoding (the bytes that are hashed, the only copy of
 * its content) next to plain seq, ts_ns and kind columns for filtering; scans decode it.
 * String pointers are borrowed: on append they must stay valid for the call (NULL means ""),
 * and records handed to a scan callback are valid only during the callback.
 *   order/risk_reject: event = submitted|accepted|rejected|amended|cancelled|partially_filled|
 *                      filled; ids, account, strategy, venue, instrument, side, px (limit price,
 *                      0 for market), qty (order quantity), notional = filled cash so far,
 *                      fee = fees so far; reason = the reject reason name.
 *   fill:              event = maker|taker; px, qty, notional, fee of the execution.
 *   breaker:           event = breaker kind; reason = text; detail = JSON numbers.
 *   config:            event = key; reason = new value; detail = JSON (old value, actor).
 *   operator:          event = action; account = operator; reason = note.
 *   alert:             event = rule; jurisdiction; account = accounts (comma-separated);
 *                      client_order_id = order ids (comma-separated); instrument; from_ns,
 *                      to_ns = time span; reason = why; detail = evidence JSON.
 *   log/metric/chaos:  event = name; reason = text; detail = JSON.
 *   prune:             event = "retention"; detail = {"ranges": [[from, to, "hash of to"]...]}.
 *   pipeline:          event = registered|promoted|demoted|retired|rolled_back; account = who;
 *                      strategy = the strategy's name; reason = why; detail = JSON with the
 *                      version id, from and to stages and, when registered, its spec
 *                      (pipeline.h, docs/launcher.md "Pipeline"). */
typedef struct nd_record {
    int64_t seq;                /* assigned by the store, from 1 */
    int64_t ts_ns;              /* event time, ns since the epoch, UTC */
    nd_record_kind_t kind;
    int32_t side;               /* 1 buy, -1 sell, 0 none */
    const char *event;
    const char *account;
    const char *strategy;
    const char *venue;
    const char *instrument;
    const char *jurisdiction;
    const char *client_order_id;
    const char *venue_order_id;
    int64_t px;                 /* price units of 10^-px_scale */
    int64_t qty;                /* quantity units of 10^-qty_scale */
    int32_t px_scale;
    int32_t qty_scale;
    int64_t notional;           /* cash units (10^-ND_CASH_DECIMALS) */
    int64_t fee;                /* cash units */
    int64_t from_ns;
    int64_t to_ns;
    const char *reason;
    const char *detail;         /* JSON text or "" */
    uint8_t prev_hash[ND_HASH_SIZE];
    uint8_t hash[ND_HASH_SIZE];
} nd_record_t;

/* Writes the canonical encoding of rec's content (seq and every column except the two hashes)
 * into buf when it fits in cap; returns the encoded size either way. See the docs for the
 * byte layout. O(size of the strings). */
size_t nd_record_encode(const nd_record_t *rec, uint8_t *buf, size_t cap);

/* The inverse of nd_record_encode: decodes enc[0..len) into *out (every field but prev_hash and
 * hash, which keep the values *out had). The ten strings are copied NUL-terminated into
 * text[0..text_cap) and out's pointers point there (valid while text is); text_cap >= len is
 * always enough. Stored encodings are the only copy of a record's content (schema version 3),
 * so this is strict: ND_EPARSE with the byte offset and why in err when the version is not 1,
 * the bytes end early or go on after the last string, a length runs past the end, a string
 * holds a NUL byte, the kind is unknown, or side or a scale does not fit 32 bits; ND_EINVAL
 * when text_cap < len. Never reads outside enc[0..len). *out is written only on success.
 * O(len). */
nd_err_t nd_record_decode(const uint8_t *enc, size_t len, nd_record_t *out /* OUT */, char *text,
                          size_t text_cap, char *err, size_t err_len);

/* Computes SHA-256(rec->prev_hash || encoding) into out. Convenience for tests and tools: it
 * allocates a digest context per call (the store and the verifier reuse one). */
nd_err_t nd_record_hash(const nd_record_t *rec, uint8_t out[ND_HASH_SIZE]);

/* Lower-case hex of a hash into buf (65 bytes). */
void nd_hash_hex(const uint8_t hash[ND_HASH_SIZE], char buf[2 * ND_HASH_SIZE + 1]);

typedef struct nd_store nd_store_t;

/* Open flags. */
#define ND_STORE_CREATE 1u /* create the SQLite file when missing (otherwise ND_ENOTFOUND) */
#define ND_STORE_SMALL_CACHE 2u /* SQLite: an 8 MiB page cache, not 64 MiB (long sessions) */
/* SQLite, a file this open creates: a bulk run's store (backtest --db: one writer, few large
 * commits, nobody reading until it ends) keeps a rollback journal (TRUNCATE, synchronous=FULL,
 * no cache spill) instead of WAL, so its records are written once, not to the WAL and again
 * by the checkpoint at close. The next open of the file turns it to WAL. Ignored otherwise. */
#define ND_STORE_BULK 4u

/* Opens the store at url and brings its schema to the current version (running migrations in
 * a transaction). SQLite URLs may end in "?max_pages=N" to cap the file (PRAGMA
 * max_page_count: how tests simulate a full disk); "mem:?fail_after=N" makes the N+1th write
 * fail. Errors: ND_EINVAL (bad URL), ND_ENOTFOUND (no such SQLite file without
 * ND_STORE_CREATE), ND_EIO (cannot open or connect, schema newer than this program), with
 * why in err. On success the caller owns *out and closes it with nd_store_close. */
nd_err_t nd_store_open(const char *url, unsigned flags, nd_store_t **out /* OUT */, char *err,
                       size_t err_len);

/* Closes the store. Records not flushed are rolled back (durability is explicit). NULL ok. */
void nd_store_close(nd_store_t *s);

/* "sqlite", "postgresql" or "memory". */
const char *nd_store_backend(const nd_store_t *s);

/* Appends one record: numbers it (seq), links it (prev_hash) and hashes it, then hands it to
 * the backend inside the current batch. On success rec->seq, rec->prev_hash and rec->hash are
 * written. ND_EINVAL for a bad kind; ND_EIO when the backend write failed (the batch is rolled
 * back and the store refuses further writes); ND_ESTATE once the store has failed. */
nd_err_t nd_store_append(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len);

/* Typed appends: they set the kind, check what that kind requires (an order event name from
 * the list above, side, positive quantity, evidence that parses as JSON, ...) with ND_EINVAL
 * naming the field, then call nd_store_append. rec's seq and hashes are written on success. */
nd_err_t nd_store_append_order_event(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len);
nd_err_t nd_store_append_fill(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len);
nd_err_t nd_store_append_risk_reject(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len);
nd_err_t nd_store_append_breaker(nd_store_t *s, nd_record_t *rec, char *err, size_t err_len);
nd_err_t nd_store_append_config_change(nd_store_t *s, int64_t ts_ns, const char *key,
                                       const char *value, const char *detail_json, char *err,
                                       size_t err_len);
nd_err_t nd_store_append_operator_action(nd_store_t *s, int64_t ts_ns, const char *operator_name,
                                         const char *action, const char *note, char *err,
                                         size_t err_len);

/* A surveillance alert as the surveillance module produces it (strings borrowed). */
typedef struct nd_alert_record {
    int64_t ts_ns;              /* when it was raised */
    const char *rule;           /* "wash_trading", "layering", ... */
    const char *jurisdiction;   /* "US", "EU", ... */
    const char *accounts;       /* comma-separated */
    const char *order_ids;      /* comma-separated */
    const char *instrument;     /* may be "" */
    int64_t from_ns;            /* time span of the evidence */
    int64_t to_ns;
    const char *reason;         /* one line: why */
    const char *evidence_json;  /* the orders and trades involved, as JSON ("" = none) */
} nd_alert_record_t;

/* Appends an alert; ND_EINVAL when the rule or reason is empty, from > to, or the evidence is
 * not JSON. *seq_out (may be NULL) receives the record's seq. */
nd_err_t nd_store_append_alert(nd_store_t *s, const nd_alert_record_t *alert,
                               int64_t *seq_out /* OUT */, char *err, size_t err_len);

/* Commits the batch. ND_EIO on failure (the batch is rolled back and the store fails). */
nd_err_t nd_store_flush(nd_store_t *s, char *err, size_t err_len);

/* ---- holding: a store that survives failed writes (sessions) ---------------------------- */

/* The bound a session holds (records not yet written, in memory). */
#define ND_STORE_HOLD_DEFAULT 65536

/* Makes the store hold: every record appended and not yet committed is also kept in memory
 * (at most max_records; 0 turns holding off, the default), so a failed write or commit (a
 * full disk, an I/O error, a killed writer) loses nothing. The store is then *down*: the
 * database's batch is rolled back and its connection closed, appends go on being numbered,
 * chained and hashed as usual and are kept in memory only (nd_store_append returns ND_OK), and
 * every nd_store_flush retries: it opens a new connection, checks that the database ends
 * exactly where this store's last commit did (another writer: ND_ESTATE, the store fails for
 * good), writes every held record again in order with the seq and hashes it was given, and
 * commits with the head as usual; ND_EIO while that fails (the records stay held). So the
 * chain stays continuous and verifies once a flush succeeds. When max_records are held, the
 * next append is refused with ND_EFULL (the record is not numbered; nothing held is dropped):
 * the caller must stop trading. Retention (a batch deleting records) is never held: its
 * failure fails the store as without holding. Set before the first append: ND_ESTATE after
 * it, ND_EINVAL for a negative bound. Without holding, a failure fails the store for good
 * (nd_store_append and nd_store_flush: ND_ESTATE), as bulk runs (backtest --db) want. */
nd_err_t nd_store_set_hold(nd_store_t *s, int64_t max_records, char *err, size_t err_len);
int64_t nd_store_hold_max(const nd_store_t *s);
/* True while the store is down (holding) or has failed for good. */
bool nd_store_is_down(const nd_store_t *s);
/* Records held in memory only, while down (0 when up). */
int64_t nd_store_held(const nd_store_t *s);
/* Why the store is down or failed ("" when it is neither). Valid until the next call. */
const char *nd_store_failure(const nd_store_t *s);
/* Closes the database connection as a crash of the writer would (the open batch is rolled
 * back by the database) and puts the store down with why: the chaos suite's "store writer
 * killed". The held records are written by the next flush, on a new connection. Holding
 * stores only (ND_ESTATE otherwise). */
nd_err_t nd_store_kill_writer(nd_store_t *s, const char *why, char *err, size_t err_len);

/* Records appended but not yet flushed. */
int64_t nd_store_pending(const nd_store_t *s);
/* The seq and hash at the tail of the chain (0 and zeros when empty), pending included. */
int64_t nd_store_last_seq(const nd_store_t *s);
void nd_store_last_hash(const nd_store_t *s, uint8_t out[ND_HASH_SIZE]);

/* Which records a scan returns. A zeroed filter returns everything. */
typedef struct nd_record_filter {
    int64_t seq_from;           /* first seq, inclusive; 0 = from the start */
    int64_t ts_from_ns;         /* ts >= this when ts_to_ns > 0 or ts_from_ns != 0 */
    int64_t ts_to_ns;           /* ts < this; 0 = no upper bound */
    uint32_t kind_mask;         /* bit (1u << kind) per wanted kind; 0 = every kind */
} nd_record_filter_t;

typedef nd_err_t (*nd_record_cb)(void *ctx, const nd_record_t *rec);

/* Flushes pending records, then calls record_cb for every stored record matching filter, in
 * increasing seq order, decoded from its stored encoding, with both hashes as stored (not
 * recomputed). A non-OK return from the callback stops the scan and is returned. ND_EIO naming
 * the record when its encoding does not decode or disagrees with its seq, ts_ns or kind column
 * (the store was edited behind its back: audit verify says how). O(records matched); memory
 * stays constant (rows are streamed). */
nd_err_t nd_store_scan(nd_store_t *s, const nd_record_filter_t *filter, void *ctx,
                       nd_record_cb record_cb, char *err, size_t err_len);

/* ---- post-trade surveillance over the store (surveil_store.c) ---------------------------- */

/* Surveillance events read from the store: the order-event and fill records of a period. */
typedef struct nd_store_surv_events {
    nd_surv_event_t *events;    /* owned: release with nd_store_surv_events_free */
    size_t count;
    size_t _cap;                /* private */
    int64_t records;            /* order and fill records that became events */
    int64_t runs;               /* engine runs seen (backtest_start operator records) */
} nd_store_surv_events_t;

/* Reads the records with from_ns <= ts < to_ns (to_ns 0: no upper bound) into surveillance
 * events, names interned into dict: an accepted order event is a new order, a cancelled one a
 * cancel, an amended one a cancel then a new, a fill a fill; other records are skipped.
 * account = the record's account and, the store keeping no beneficial owner, owner = account.
 * Inside an engine run (after a backtest_start operator record until its backtest_end) order
 * ids are "RUN:ID" (RUN = that record's seq), since every run numbers its orders from 1.
 * Prices and quantities are rescaled exactly to ND_SURV_DECIMALS. Errors: ND_EPRECISION or
 * ND_EOVERFLOW (a value does not fit exactly), ND_EINVAL (an order or fill without side,
 * account, instrument or id), ND_ENOMEM, ND_EIO (reading), each naming the record's seq in err.
 * On success *out owns the events. O(records of those kinds); memory O(events). */
nd_err_t nd_store_surv_load(nd_store_t *s, int64_t from_ns, int64_t to_ns, nd_surv_dict_t *dict,
                            nd_store_surv_events_t *out /* OUT */, char *err, size_t err_len);
void nd_store_surv_events_free(nd_store_surv_events_t *ev);

/* Appends every alert of a scan over events[0..n) as an alert record (evidence: the
 * nd_surv_alert_to_json object plus "scanned_at"; record time = the alert's to_ns, so a report
 * of the activity's period lists it), then an operator record (operator "surveil", action
 * "surveillance_scan", note = scan_note: what was scanned, the period, how many alerts), and
 * flushes: all of it is durable, or none (a failed append leaves the batch to be rolled back
 * when the store closes). Errors as nd_store_append_alert and nd_store_flush. */
nd_err_t nd_store_record_surv_alerts(nd_store_t *s, const nd_surv_alerts_t *alerts,
                                     const nd_surv_dict_t *dict, const nd_surv_event_t *events,
                                     size_t n, int64_t now_ns, const char *scan_note, char *err,
                                     size_t err_len);

/* ---- audit chain verification ---------------------------------------------------------- */

typedef enum nd_audit_problem {
    ND_AUDIT_OK = 0,
    ND_AUDIT_ALTERED = 1,   /* content changed (its hash, or the next record's link, breaks) */
    ND_AUDIT_DELETED = 2,   /* a seq is missing and no prune record covers it */
    ND_AUDIT_INSERTED = 3,  /* a record that was never appended (its link skips back) */
    ND_AUDIT_REORDERED = 4, /* records moved: a record links to, or hashes as, another place */
    ND_AUDIT_HEAD = 5       /* the store's head is missing, unreadable, wrongly signed or
                             * behind the chain (rolled back, or records added behind it) */
} nd_audit_problem_t;

/* "ok", "altered", "deleted", "inserted", "reordered", "head". */
const char *nd_audit_problem_name(nd_audit_problem_t problem);

typedef struct nd_audit_result {
    int64_t verified;           /* records whose link and hash checked out before any problem */
    int64_t pruned;             /* records stepped over through prune ranges */
    int64_t prune_records;
    int64_t last_seq;
    uint8_t head[ND_HASH_SIZE]; /* hash of the last verified record */
    nd_audit_problem_t problem;
    int64_t seq;                /* the first record at fault (ND_AUDIT_OK: 0) */
    char detail[320];           /* one line: what was found */
    /* The store's own head, checked after a clean walk: */
    int64_t head_seq;           /* the seq the store's head names */
    char head_checked[48];      /* "table and head file", "table and head file (pending
                                 * rename)" (a writer stopped between a commit and its head
                                 * file's rename), "table" (PostgreSQL), "memory" */
    char signature[40];         /* "verified", "unsigned", "not checked (no key)" */
} nd_audit_result_t;

/* Walks the whole chain in seq order and checks every link and hash, stepping over ranges
 * listed by prune records; then checks that the chain ends exactly at the head the store
 * wrote with its last commit (the audit_head table, and for SQLite the head file PATH.head),
 * and, when a key is set (NODERR_AUDIT_KEY or NODERR_AUDIT_KEY_FILE), that the head's HMAC is
 * right. A chain ending before the head is DELETED (its tail, or every record, was removed);
 * a different last record is ALTERED; a missing, unreadable, unsigned-under-a-key or
 * wrongly signed head, or a head behind the chain, is HEAD. Returns ND_OK when the walk
 * finished, whatever it found (see out->problem); ND_EIO when the store could not be read,
 * ND_EINVAL when the key file cannot be used. O(records), constant memory unless a problem is
 * found (then one more pass maps hashes to seqs to classify it). */
nd_err_t nd_audit_verify(nd_store_t *s, nd_audit_result_t *out /* OUT */, char *err,
                         size_t err_len);

/* ---- retention -------------------------------------------------------------------------- */

typedef enum nd_retention_class {
    ND_RETENTION_TRADES = 0,    /* orders, fills, rejects, breakers, config, operator, alerts */
    ND_RETENTION_LOGS = 1,      /* system logs */
    ND_RETENTION_METRICS = 2,   /* performance metrics */
    ND_RETENTION_CHAOS = 3,     /* chaos-test results */
    ND_RETENTION_CLASSES = 4
} nd_retention_class_t;

/* "trades", "logs", "metrics", "chaos". */
const char *nd_retention_class_name(nd_retention_class_t cls);
/* The class of a record kind; -1 for prune and pipeline records, which are kept for ever (the
 * pipeline's state is rebuilt from its records, so pruning them would forget versions). */
int nd_retention_class_of(nd_record_kind_t kind);

typedef struct nd_retention_period {
    int32_t years;              /* calendar years */
    int32_t days;               /* then days */
} nd_retention_period_t;

typedef struct nd_retention_policy {
    nd_retention_period_t keep[ND_RETENTION_CLASSES];
    /* The jurisdictions whose legal minimums bind (ND_JUR_BIT set); 0 = every built-in one,
     * so the strictest minimum of each class applies. */
    uint32_t jurisdictions;
    /* NULL: a period below a class's legal minimum is refused. Otherwise the operator's reason
     * for going below it (non-empty): the prune goes ahead and an operator record naming the
     * class, the period, the minimum and this reason is appended in the same transaction. */
    const char *below_minimum_reason;
} nd_retention_policy_t;

/* Trades 7 years, logs 1 year, metrics 5 years, chaos 90 days; every jurisdiction; no
 * override. */
void nd_retention_policy_default(nd_retention_policy_t *p);

/* The legal minimum retention of cls under jurisdiction j (jurisdiction.c), and *source (may
 * be NULL) the rule it comes from, or a note that it is our own choice because no rule names
 * a period. Trades: 7 years in every profile. */
nd_retention_period_t nd_retention_legal_minimum(nd_jurisdiction_t j, nd_retention_class_t cls,
                                                 const char **source /* OUT */);

/* Checks policy against the legal minimums of its jurisdictions at now_ns (a period is shorter
 * when its cutoff is later). ND_OK when every class is at or above its minimum, or when
 * policy->below_minimum_reason is set (then *below, when not NULL, receives the bit
 * (1u << class) of every class below it). ND_ERANGE naming the first class below, the period
 * asked and the minimum (with its jurisdiction and source) otherwise; ND_EINVAL for an empty
 * reason. */
nd_err_t nd_retention_policy_check(const nd_retention_policy_t *policy, int64_t now_ns,
                                   uint32_t *below /* OUT */, char *err, size_t err_len);

/* "7y", "90d", "1y30d", "0d". */
void nd_retention_period_format(nd_retention_period_t period, char *buf, size_t cap);

/* Applies "CLASS=Ny" or "CLASS=Nd" (e.g. "chaos=30d"). ND_EINVAL with why in err. */
nd_err_t nd_retention_policy_set(nd_retention_policy_t *p, const char *spec, char *err,
                                 size_t err_len);

/* The oldest timestamp still inside the period at now_ns: now minus the years (same month and
 * day, 29 February becoming 28 February) minus the days. A record is past retention only when
 * its ts_ns is strictly before this. */
int64_t nd_retention_cutoff_ns(nd_retention_period_t period, int64_t now_ns);

typedef struct nd_retention_result {
    int64_t pruned[ND_RETENTION_CLASSES];
    int64_t pruned_total;
    int64_t kept;
    int64_t ranges;
    int64_t prune_seq;          /* seq of the prune record; 0 on a dry run or nothing to prune */
    int64_t override_records;   /* operator records of a below-minimum override appended */
    int64_t cutoff_ns[ND_RETENTION_CLASSES];
} nd_retention_result_t;

/* Checks the policy against the legal minimums (nd_retention_policy_check: ND_ERANGE, nothing
 * changed), verifies the chain (refusing with ND_ESTATE to prune one that does not verify),
 * then deletes every record past its class's retention at now_ns and appends one prune record
 * listing the deleted ranges, all in one transaction; with an override, one operator record
 * per class below its minimum ("retention_below_legal_minimum") comes first in that
 * transaction (also when nothing is past retention). dry_run counts without changing
 * anything. O(records). */
nd_err_t nd_retention_apply(nd_store_t *s, const nd_retention_policy_t *policy, int64_t now_ns,
                            bool dry_run, nd_retention_result_t *out /* OUT */, char *err,
                            size_t err_len);

/* ---- reports ---------------------------------------------------------------------------- */

typedef struct nd_compliance_period {
    int64_t from_ns;            /* inclusive, UTC */
    int64_t to_ns;              /* exclusive */
    char label[32];             /* "daily:2022-05-09" */
} nd_compliance_period_t;

/* Parses daily:YYYY-MM-DD, monthly:YYYY-MM, quarterly:YYYY-Qn or annual:YYYY. ND_EINVAL with
 * why in err. */
nd_err_t nd_compliance_period_parse(const char *text, nd_compliance_period_t *out /* OUT */,
                                    char *err, size_t err_len);

typedef enum nd_compliance_format {
    ND_COMPLIANCE_CSV = 0,
    ND_COMPLIANCE_JSON = 1
} nd_compliance_format_t;

/* Writes the period's report: trade summary, volume, fees and realised P&L (average cost,
 * positions carried from before the period) by instrument and strategy, alerts with evidence
 * (only jurisdiction's when not NULL) and breaker events. Byte-identical for the same store
 * contents. O(records up to the period's end). */
nd_err_t nd_compliance_report_write(nd_store_t *s, const nd_compliance_period_t *period,
                                    const char *jurisdiction, nd_compliance_format_t format,
                                    FILE *out, char *err, size_t err_len);

/* ---- recording an engine run ------------------------------------------------------------ */

typedef struct nd_recorder nd_recorder_t;

/* Group commit defaults (see nd_recorder_set_commit): a commit costs a few fsyncs, so the
 * recorder commits every ND_RECORDER_EVENTS_DEFAULT records or when the oldest uncommitted
 * record is ND_RECORDER_INTERVAL_MS_DEFAULT old, whichever comes first; both bound what a
 * crash can lose (docs/compliance-store.md, "Durability"). */
#define ND_RECORDER_EVENTS_DEFAULT 16384u
#define ND_RECORDER_INTERVAL_MS_DEFAULT 1000LL
#define ND_RECORDER_INTERVAL_MS_MAX (3600LL * 1000LL)
/* A holding store that is down: automatic commits are retried after this wait, doubling up
 * to the maximum (nd_recorder_flush and _barrier always try). */
#define ND_RECORDER_RETRY_MIN_MS 50LL
#define ND_RECORDER_RETRY_MAX_MS 1000LL
/* Step ends check the interval every this many steps (every event checks it). */
#define ND_RECORDER_STEPS_PER_CLOCK 16u

/* A recorder turns engine events into records: orders, fills, risk rejects and breaker trips,
 * attributed to account and to the strategy and instrument names given (indexed as in the
 * engine). Records are group-committed: every batch_max records (0: ND_RECORDER_EVENTS_DEFAULT),
 * or at the first callback at which the oldest pending record is the interval old, and by
 * nd_recorder_barrier, _poll and _flush. The store and the names are borrowed and must outlive the recorder. */
nd_err_t nd_recorder_create(nd_store_t *s, const char *account, const nd_instrument_t *instruments,
                            uint32_t instrument_count, const char *const *strategy_names,
                            uint32_t strategy_count, uint32_t batch_max,
                            nd_recorder_t **out /* OUT */, char *err, size_t err_len);

/* Changes the commit rule: every events_max records (0: unchanged), or when the oldest
 * pending record is interval_ms old on clock's monotonic reading (interval 0: unchanged;
 * clock NULL: unchanged, the OS clock by default; borrowed). ND_EINVAL when interval_ms is
 * negative or past ND_RECORDER_INTERVAL_MS_MAX. */
nd_err_t nd_recorder_set_commit(nd_recorder_t *r, uint32_t events_max, int64_t interval_ms,
                                nd_clock_t *clock, char *err, size_t err_len);

/* The engine listener's on_event (ctx is the recorder). Returns ND_EIO when a write or a
 * commit failed; the engine then halts trading. On a holding store (nd_store_set_hold) a
 * failed commit does not: the records are held and the commit retried (see
 * ND_RECORDER_RETRY_MIN_MS); ND_EIO only when the store refuses a record (its bound) or
 * fails for good. */
nd_err_t nd_recorder_on_event(void *ctx, const nd_event_t *event);

/* The engine listener's on_bar_done: the end of an engine step. Commits the batch when its
 * interval has passed (checked every ND_RECORDER_STEPS_PER_CLOCK steps). A failure is kept: the next
 * event is refused (trading halts) and nd_recorder_flush reports it. */
void nd_recorder_on_bar_done(void *ctx, const nd_bar_t *bar, __int128 equity_ext,
                             bool in_market);

/* The durability barrier: commits every record appended so far before returning (nothing
 * when all are durable already). A path that sends an order out of the process (a live or
 * paper venue) calls it after the order's records are appended and before the request
 * leaves, so nothing a venue has seen can be lost in a crash. ND_EIO with the store's error
 * (kept: trading halts). */
nd_err_t nd_recorder_barrier(nd_recorder_t *r, char *err, size_t err_len);

/* Commits the open batch if its oldest record is the interval old; for a live loop's idle
 * (before-sleep) hook, so a quiet engine does not hold a batch past the interval. ND_EIO as
 * the barrier. */
nd_err_t nd_recorder_poll(nd_recorder_t *r, char *err, size_t err_len);

/* Commits what is pending (the end of a run); ND_EIO with the store's error. */
nd_err_t nd_recorder_flush(nd_recorder_t *r, char *err, size_t err_len);

/* The first write error ("" when none); valid until destroy. */
const char *nd_recorder_error(const nd_recorder_t *r);
/* Records appended, and commits that made some durable. */
int64_t nd_recorder_count(const nd_recorder_t *r);
int64_t nd_recorder_commits(const nd_recorder_t *r);
void nd_recorder_destroy(nd_recorder_t *r);

#endif
