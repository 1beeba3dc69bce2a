/* ticks_depth.c: replays a recorded Binance depth session (REST snapshot + diff stream) as book
 * deltas, synced by the connector's own procedure (nd_binance_depth_t, binance_depth.c) so
 * that a backtest and the live connector can never disagree on what the book was.
 *
 * Invariants: frames are fed to the sync in the recorded order (the first
 * diffs_received_before_snapshot are buffered before the snapshot is loaded); a delta is
 * emitted only for a diff the sync applied, with exactly the diff's levels; the first run of
 * deltas is the whole synced book after the snapshot (CLEAR on its first delta); a gap or an
 * undecodable frame ends the session with "PATH:LINE: reason" and nothing after it is emitted.
 * Memory is fixed at open: one line buffer, the decoder, the sync's book and buffer, and one
 * run of pending deltas. */
#include "market/market_int.h"

#include "noderr/alloc.h"
#include "noderr/file.h"
#include "noderr/assert.h"
#include "noderr/binance.h"
#include "noderr/fixed.h"
#include "noderr/ticks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Largest frame (a line of diffs.jsonl, or snapshot.json): the decoder's default message cap. */
#define FRAME_MAX ((size_t)1 << 20)
/* The pre-snapshot buffer of the sync: level count of all buffered diffs together. */
#define BUFFER_LEVELS (1u << 16)
/* Most deltas one run can hold: a whole book (both sides), which bounds any diff too. */
#define PENDING_MAX (2u * ND_BOOK_LEVELS_MAX)

struct nd_depth_session {
    char *diffs_path;
    char *snapshot_path;
    nd__lines_t lines;   /* diffs.jsonl: 2 * FRAME_MAX of buffer, FRAME_MAX long frames */
    int64_t buffered_before; /* diffs the recorder received before the snapshot */
    int64_t snapshot_ns;     /* recorder time of the snapshot, 0 when unknown */
    char *snapshot;          /* snapshot.json text until loaded, then NULL */
    size_t snapshot_len;
    nd_binance_decoder_t *dec;
    nd_binance_depth_t depth;
    int px_decimals, qty_decimals;
    uint32_t instrument_id;
    int64_t last_ts;
    nd_book_delta_t *pending;
    uint32_t pending_count, pending_next;
    nd_book_level_t *scratch; /* ND_BOOK_LEVELS_MAX levels for copying a side out */
    /* set by the sink for the frame being decoded */
    nd_err_t frame_rc;
    bool frame_seen;
    int64_t snapshot_last_id; /* lastUpdateId as the snapshot says */
    uint64_t events_total;
    nd_err_t status;
    char err[256];
};

/* Ends the session with code and "DIFFS:LINE: reason" (market_int.h). */
#define fail(s, code, ...)                                                                         \
    nd__market_fail((s)->err, sizeof (s)->err, &(s)->status, (s)->diffs_path,                      \
                    (s)->lines.line_number, code, __VA_ARGS__)

/* Ends the session with code and "SNAPSHOT: reason" (the snapshot is one message, no lines). */
#define fail_snapshot(s, code, ...)                                                                \
    nd__market_fail((s)->err, sizeof (s)->err, &(s)->status, (s)->snapshot_path, -1, code,         \
                    __VA_ARGS__)

/* value at 8 decimals to `decimals`, exactly: lost digits are ND_EPRECISION, never rounded. */
static nd_err_t rescale_exact(int64_t value, int decimals, int64_t *out)
{
    int64_t down, up;
    if (decimals >= ND_VENUE_DECIMALS)
        return nd_fixed_rescale(value, ND_VENUE_DECIMALS, decimals, ND_ROUND_TRUNC, out);
    nd_err_t rc = nd_fixed_rescale(value, ND_VENUE_DECIMALS, decimals, ND_ROUND_TRUNC, &down);
    if (rc != ND_OK)
        return rc;
    rc = nd_fixed_rescale(down, decimals, ND_VENUE_DECIMALS, ND_ROUND_TRUNC, &up);
    if (rc != ND_OK || up != value)
        return ND_EPRECISION;
    *out = down;
    return ND_OK;
}

/* Appends one level to the pending run at the instrument's scale. */
static nd_err_t push_delta(nd_depth_session_t *s, nd_book_side_t side, int64_t px, int64_t qty,
                           int64_t update_id, int64_t ts_ns)
{
    ND_ASSERT(s->pending_count < PENDING_MAX);
    nd_book_delta_t *d = &s->pending[s->pending_count];
    char text[24];
    if (rescale_exact(px, s->px_decimals, &d->px) != ND_OK) {
        nd_fixed_format(px, ND_VENUE_DECIMALS, text, sizeof text);
        return fail(s, ND_EPRECISION, "price %s does not fit %d price decimals", text,
                    s->px_decimals);
    }
    if (rescale_exact(qty, s->qty_decimals, &d->qty) != ND_OK) {
        nd_fixed_format(qty, ND_VENUE_DECIMALS, text, sizeof text);
        return fail(s, ND_EPRECISION, "quantity %s does not fit %d quantity decimals", text,
                    s->qty_decimals);
    }
    d->ts_ns = ts_ns;
    d->instrument_id = s->instrument_id;
    d->side = side;
    d->update_id = update_id;
    d->flags = 0;
    s->pending_count++;
    return ND_OK;
}

/* Makes ts non-decreasing across the session (two clocks meet here, see ticks.h). */
static int64_t session_ts(nd_depth_session_t *s, int64_t ts_ns)
{
    if (ts_ns < s->last_ts)
        ts_ns = s->last_ts;
    s->last_ts = ts_ns;
    return ts_ns;
}

/* Queues the synced book as one CLEAR..LAST run, best levels first on each side. */
static nd_err_t emit_book(nd_depth_session_t *s)
{
    ND_ASSERT(s->pending_count == s->pending_next);
    s->pending_count = s->pending_next = 0;
    int64_t ts = session_ts(s, s->snapshot_ns);
    for (int side = ND_BOOK_BID; side <= ND_BOOK_ASK; side++) {
        uint32_t n = nd_book_top(&s->depth.book, (nd_book_side_t)side, s->scratch,
                                 ND_BOOK_LEVELS_MAX);
        for (uint32_t i = 0; i < n; i++) {
            nd_err_t rc = push_delta(s, (nd_book_side_t)side, s->scratch[i].px,
                                     s->scratch[i].qty, s->depth.last_update_id, ts);
            if (rc != ND_OK)
                return rc;
        }
    }
    if (s->pending_count == 0)
        return fail(s, ND_EPARSE, "the synced book is empty: nothing to replay");
    s->pending[0].flags |= ND_DELTA_F_CLEAR;
    s->pending[s->pending_count - 1].flags |= ND_DELTA_F_LAST;
    return ND_OK;
}

static void snapshot_sink(void *ctx, const nd_md_event_t *ev)
{
    nd_depth_session_t *s = ctx;
    if (ev->kind != ND_MD_BOOK_UPDATE || !ev->u.book.snapshot || s->frame_seen)
        return;
    s->frame_seen = true;
    s->snapshot_last_id = ev->u.book.last_update_id;
    s->frame_rc = nd_binance_depth_snapshot(&s->depth, &ev->u.book);
}

/* Loads the snapshot into the sync (which replays what it buffered) and queues the book. */
static nd_err_t load_snapshot(nd_depth_session_t *s)
{
    ND_ASSERT(s->snapshot != NULL);
    s->frame_seen = false;
    s->frame_rc = ND_OK;
    nd_err_t rc = nd_binance_decode(s->dec, s->snapshot, s->snapshot_len, 0, snapshot_sink, s);
    nd_free(s->snapshot);
    s->snapshot = NULL;
    if (rc != ND_OK || !s->frame_seen)
        return fail_snapshot(s, rc != ND_OK ? rc : ND_EPARSE,
                             "not a depth snapshot ({\"lastUpdateId\",\"bids\",\"asks\"}): %s",
                             nd_err_name(rc));
    if (s->frame_rc == ND_EAGAIN)
        return fail_snapshot(s, ND_ESTATE,
                             "lastUpdateId %lld is older than the first buffered diff (U=%lld): "
                             "the recording cannot be synced",
                             (long long)s->snapshot_last_id,
                             (long long)s->depth.first_buffered_U);
    if (s->frame_rc != ND_OK)
        return fail_snapshot(s, s->frame_rc, "loading the snapshot: %s",
                             nd_err_name(s->frame_rc));
    if (s->depth.status == ND_BINANCE_SYNC_RESYNC)
        return fail_snapshot(s, ND_ESTATE, "gap in the buffered diffs after lastUpdateId %lld",
                             (long long)s->depth.snapshot_id);
    return emit_book(s);
}

static void diff_sink(void *ctx, const nd_md_event_t *ev)
{
    nd_depth_session_t *s = ctx;
    if (s->status != ND_OK)
        return;
    if (ev->kind != ND_MD_BOOK_UPDATE || ev->u.book.snapshot) {
        fail(s, ND_EPARSE, "not a depth diff frame (%s)", nd_md_kind_name(ev->kind));
        return;
    }
    s->frame_seen = true;
    s->events_total++;
    const nd_md_book_update_t *u = &ev->u.book;
    uint64_t applied = s->depth.applied;
    int64_t book_id = s->depth.last_update_id;
    nd_err_t rc = nd_binance_depth_diff(&s->depth, u);
    if (rc == ND_EFULL) {
        fail(s, rc, "more buffered diff levels than %u before the snapshot", BUFFER_LEVELS);
        return;
    }
    if (rc == ND_ESTATE || s->depth.status == ND_BINANCE_SYNC_RESYNC) {
        fail(s, ND_ESTATE, "gap: diff U=%lld u=%lld does not follow book id %lld",
             (long long)u->first_update_id, (long long)u->last_update_id, (long long)book_id);
        return;
    }
    if (s->depth.applied == applied)
        return; /* buffered before the snapshot, or stale */
    s->pending_count = s->pending_next = 0;
    int64_t ts = session_ts(s, ev->venue_ts_ns);
    for (uint32_t i = 0; i < u->level_count; i++) {
        const nd_md_level_t *l = &u->levels[i];
        nd_book_side_t side = l->side == ND_MD_SIDE_ASK ? ND_BOOK_ASK : ND_BOOK_BID;
        if (push_delta(s, side, l->px, l->qty, u->last_update_id, ts) != ND_OK)
            return;
    }
    if (s->pending_count > 0)
        s->pending[s->pending_count - 1].flags |= ND_DELTA_F_LAST;
}

/* The next line of diffs.jsonl (nd__lines_next); ND_EEOF at the end. */
static nd_err_t read_line(nd_depth_session_t *s, const char **line, size_t *len)
{
    nd_err_t rc = nd__lines_next(&s->lines, line, len);
    if (rc == ND_ERANGE)
        return fail(s, ND_EFULL, "frame longer than %zu bytes", FRAME_MAX);
    if (rc == ND_EIO)
        return fail(s, ND_EIO, "read error: %s", strerror(s->lines.read_errno));
    return rc;
}

/* Reads and decodes diff frames until one yields deltas, or the end. */
static nd_err_t fill_pending(nd_depth_session_t *s)
{
    while (s->pending_next == s->pending_count) {
        if (s->snapshot != NULL && (int64_t)s->events_total >= s->buffered_before) {
            nd_err_t rc = load_snapshot(s);
            if (rc != ND_OK)
                return rc;
            continue;
        }
        const char *line = NULL;
        size_t len = 0;
        nd_err_t rc = read_line(s, &line, &len);
        if (rc == ND_EEOF) {
            if (s->snapshot != NULL)
                return fail(s, ND_EPARSE, "only %llu diffs, but %lld were recorded before the "
                            "snapshot", (unsigned long long)s->events_total,
                            (long long)s->buffered_before);
            s->status = ND_EEOF;
            return ND_EEOF;
        }
        if (rc != ND_OK)
            return rc;
        if (len == 0)
            return fail(s, ND_EPARSE, "blank line");
        s->frame_seen = false;
        rc = nd_binance_decode(s->dec, line, len, 0, diff_sink, s);
        if (s->status != ND_OK)
            return s->status;
        if (rc != ND_OK || !s->frame_seen)
            return fail(s, rc != ND_OK ? rc : ND_EPARSE, "undecodable depth frame (%s)",
                        nd_err_name(rc));
    }
    return ND_OK;
}

nd_err_t nd_depth_session_next(nd_depth_session_t *s, nd_tick_event_t *out)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    if (s->status != ND_OK)
        return s->status;
    nd_err_t rc = fill_pending(s);
    if (rc != ND_OK)
        return rc;
    ND_ASSERT(s->pending_next < s->pending_count);
    out->kind = ND_TICK_DELTA;
    out->u.delta = s->pending[s->pending_next++];
    return ND_OK;
}

const char *nd_depth_session_error(const nd_depth_session_t *s)
{
    ND_ASSERT(s != NULL);
    return s->err;
}

const nd_book_t *nd_depth_session_book(const nd_depth_session_t *s)
{
    ND_ASSERT(s != NULL);
    return &s->depth.book;
}

void nd_depth_session_stats(const nd_depth_session_t *s, nd_depth_session_stats_t *out)
{
    ND_ASSERT(s != NULL);
    ND_ASSERT(out != NULL);
    *out = (nd_depth_session_stats_t){.events_total = s->events_total,
                                      .events_applied = s->depth.applied,
                                      .events_dropped = s->depth.dropped,
                                      .snapshot_update_id = s->depth.snapshot_id,
                                      .final_update_id = s->depth.last_update_id};
}

void nd_depth_session_close(nd_depth_session_t *s)
{
    if (s == NULL)
        return;
    nd__lines_deinit(&s->lines);
    if (s->dec)
        nd_binance_decoder_destroy(s->dec);
    nd_binance_depth_deinit(&s->depth);
    nd_free(s->snapshot);
    nd_free(s->pending);
    nd_free(s->scratch);
    nd_free(s->diffs_path);
    nd_free(s->snapshot_path);
    nd_free(s);
}

/* Reads a whole small file (snapshot.json, meta.json) of at most cap bytes. */
/* A small whole file (meta.json, snapshot.json) through nd_file_read, bounded by the frame
 * cap; a larger one is ND_EFULL as a frame would be. */
static nd_err_t read_small(const char *path, size_t cap, char **text, size_t *len, char *err,
                           size_t err_len)
{
    nd_err_t rc = nd_file_read(path, cap, 0, text, len, err, err_len);
    return rc == ND_ERANGE ? ND_EFULL : rc;
}

/* The number after "key": in a small JSON text, as an integer part and up to 9 fraction
 * digits (ns for seconds); false when the key is absent. */
static bool meta_number(const char *text, const char *key, int64_t *whole, int64_t *frac_e9)
{
    const char *p = strstr(text, key);
    if (p == NULL)
        return false;
    p += strlen(key);
    while (*p == '"' || *p == ' ' || *p == ':')
        p++;
    int64_t w = 0, f = 0;
    int digits = 0, frac_digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        w = w * 10 + (*p - '0');
    if (digits == 0)
        return false;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (frac_digits < 9) {
                f = f * 10 + (*p - '0');
                frac_digits++;
            }
    for (; frac_digits < 9; frac_digits++)
        f *= 10;
    *whole = w;
    *frac_e9 = f;
    return true;
}

static nd_err_t read_meta(nd_depth_session_t *s, const char *dir, char *err, size_t err_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *text;
    size_t len;
    nd_err_t rc = read_small(path, FRAME_MAX, &text, &len, err, err_len);
    if (rc == ND_ENOTFOUND)
        return ND_OK; /* optional: snapshot first, time unknown */
    if (rc != ND_OK)
        return rc;
    int64_t whole, frac;
    if (meta_number(text, "\"diffs_received_before_snapshot\"", &whole, &frac))
        s->buffered_before = whole;
    if (meta_number(text, "\"snapshot_received_unix\"", &whole, &frac) &&
        whole < INT64_MAX / 1000000000LL)
        s->snapshot_ns = whole * 1000000000LL + frac;
    nd_free(text);
    return ND_OK;
}

nd_err_t nd_depth_session_open(const char *dir, const nd_instrument_t *inst,
                               nd_depth_session_t **out, char *err, size_t err_len)
{
    ND_ASSERT(dir != NULL);
    ND_ASSERT(inst != NULL);
    ND_ASSERT(out != NULL);
    char scratch_err[256];
    if (err == NULL || err_len == 0) {
        err = scratch_err;
        err_len = sizeof scratch_err;
    }
    nd_depth_session_t *s = nd_calloc(1, sizeof *s);
    char path[4096];
    snprintf(path, sizeof path, "%s/diffs.jsonl", dir);
    if (s == NULL || (s->diffs_path = nd_strdup(path)) == NULL ||
        nd__lines_init(&s->lines, 2 * FRAME_MAX + 1, FRAME_MAX) != ND_OK ||
        (s->pending = nd_calloc(PENDING_MAX, sizeof *s->pending)) == NULL ||
        (s->scratch = nd_calloc(ND_BOOK_LEVELS_MAX, sizeof *s->scratch)) == NULL ||
        nd_binance_decoder_create(0, FRAME_MAX, &s->dec) != ND_OK) {
        nd_depth_session_close(s);
        snprintf(err, err_len, "%s: out of memory", dir);
        return ND_ENOMEM;
    }
    s->px_decimals = inst->px_decimals;
    s->qty_decimals = inst->qty_decimals;
    s->instrument_id = inst->id;
    nd_err_t rc = read_meta(s, dir, err, err_len);
    if (rc == ND_OK && s->buffered_before < 0)
        rc = ND_EINVAL;
    if (rc == ND_OK) {
        uint32_t events = s->buffered_before > 0 && s->buffered_before < 65536
                              ? (uint32_t)s->buffered_before : 1;
        if (s->buffered_before >= 65536) {
            snprintf(err, err_len, "%s/meta.json: too many diffs before the snapshot", dir);
            rc = ND_EFULL;
        } else if (nd_binance_depth_init(&s->depth, ND_BOOK_LEVELS_MAX, events, BUFFER_LEVELS) !=
                   ND_OK) {
            snprintf(err, err_len, "%s: out of memory", dir);
            rc = ND_ENOMEM;
        }
    }
    if (rc == ND_OK) {
        snprintf(path, sizeof path, "%s/snapshot.json", dir);
        if ((s->snapshot_path = nd_strdup(path)) == NULL) {
            snprintf(err, err_len, "%s: out of memory", dir);
            rc = ND_ENOMEM;
        }
    }
    if (rc == ND_OK)
        rc = read_small(path, FRAME_MAX, &s->snapshot, &s->snapshot_len, err, err_len);
    /* nd_file_open refuses a FIFO, a device or a directory before opening: never blocks. */
    if (rc == ND_OK && nd_file_open(s->diffs_path, &s->lines.file, err, err_len) != ND_OK)
        rc = ND_EIO;
    if (rc != ND_OK) {
        nd_depth_session_close(s);
        return rc;
    }
    s->status = ND_OK;
    *out = s;
    return ND_OK;
}
