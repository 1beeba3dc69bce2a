/* feed_monitor.c: staleness and sequence gaps per market-data feed, and the reference price's
 * verdict, as the data-integrity breaker's inputs (feed_monitor.h).
 *
 * Invariants: a gap stays open until a resync; its open time is the first message that showed
 * it; no clock is read (now is passed in), nothing allocates. */
#include "noderr/feed_monitor.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <string.h>

void nd_feed_monitor_config_default(nd_feed_monitor_config_t *cfg)
{
    ND_ASSERT(cfg != NULL);
    cfg->stale_after_ns = 5 * ND_NS_PER_SEC;
    cfg->gap_recover_ns = 2 * ND_NS_PER_SEC;
    cfg->reorder_wait_ns = 500 * ND_NS_PER_MS;
    cfg->resyncs_per_min_max = 30;
}

nd_err_t nd_feed_monitor_init(nd_feed_monitor_t *m, const nd_feed_monitor_config_t *cfg)
{
    ND_ASSERT(m != NULL && cfg != NULL);
    if (cfg->stale_after_ns <= 0 || cfg->gap_recover_ns < 0 || cfg->reorder_wait_ns < 0)
        return ND_EINVAL;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    return ND_OK;
}

nd_err_t nd_feed_monitor_add(nd_feed_monitor_t *m, const char *name, int64_t now_ns,
                             uint32_t *index)
{
    ND_ASSERT(m != NULL && name != NULL && index != NULL);
    size_t len = strlen(name);
    if (len == 0 || len >= ND_NAME_MAX)
        return ND_EINVAL;
    for (uint32_t i = 0; i < m->feed_count; i++)
        if (strcmp(m->feeds[i].name, name) == 0)
            return ND_EEXIST;
    if (m->feed_count == ND_FEED_MONITOR_FEEDS_MAX)
        return ND_EFULL;
    nd_feed_t *f = &m->feeds[m->feed_count];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, len + 1);
    f->updated_ns = now_ns;
    *index = m->feed_count++;
    return ND_OK;
}

/* An earlier number than the last: fills a hole of the window, or is a repeat. */
static nd_feed_msg_t earlier(nd_feed_t *f, uint64_t seq)
{
    uint64_t pos = f->last_seq - 1 - seq;
    if (pos >= ND_FEED_SEQ_WINDOW || (f->seen_mask & (1ull << pos))) {
        f->repeats++;
        return ND_FEED_MSG_REPEAT;
    }
    f->seen_mask |= 1ull << pos;
    f->late++;
    if (f->gap_missing > 0 && --f->gap_missing == 0)
        f->gap_since_ns = 0; /* every missing message came: recovered */
    return ND_FEED_MSG_LATE;
}

nd_feed_msg_t nd_feed_monitor_on_message(nd_feed_monitor_t *m, uint32_t index, int64_t now_ns,
                                         uint64_t seq)
{
    ND_ASSERT(m != NULL && index < m->feed_count);
    nd_feed_t *f = &m->feeds[index];
    if (now_ns > f->updated_ns)
        f->updated_ns = now_ns;
    if (seq == 0)
        return ND_FEED_MSG_NEW; /* no number */
    if (f->last_seq == 0) {
        f->last_seq = seq;
        f->seen_mask = ~0ull; /* nothing before the first number is expected */
        return ND_FEED_MSG_NEW;
    }
    if (seq == f->last_seq) {
        f->repeats++;
        return ND_FEED_MSG_REPEAT;
    }
    if (seq < f->last_seq)
        return earlier(f, seq);
    uint64_t shift = seq - f->last_seq;
    /* The last number moves to bit shift - 1; the skipped ones below it are missing. */
    f->seen_mask = shift >= ND_FEED_SEQ_WINDOW ? 0 : f->seen_mask << shift;
    if (shift - 1 < ND_FEED_SEQ_WINDOW)
        f->seen_mask |= 1ull << (shift - 1);
    if (shift > 1) {
        if (f->gap_since_ns == 0) {
            f->gap_since_ns = now_ns > 0 ? now_ns : 1;
            f->gaps++;
        }
        f->gap_missing += shift - 1;
    }
    f->last_seq = seq;
    return ND_FEED_MSG_NEW;
}

uint32_t nd_feed_monitor_resync_gaps(nd_feed_monitor_t *m, int64_t now_ns)
{
    ND_ASSERT(m != NULL);
    uint32_t done = 0;
    for (uint32_t i = 0; i < m->feed_count; i++) {
        nd_feed_t *f = &m->feeds[i];
        if (f->gap_since_ns == 0 || now_ns - f->gap_since_ns <= m->cfg.reorder_wait_ns)
            continue;
        if (now_ns - f->resync_minute_ns >= ND_NS_PER_MIN) {
            f->resync_minute_ns = now_ns;
            f->resyncs_in_minute = 0;
        }
        if (f->resyncs_in_minute >= m->cfg.resyncs_per_min_max)
            continue; /* out of budget: the gap waits, and trips after gap_recover_ns */
        f->resyncs_in_minute++;
        f->resyncs++;
        f->lost += f->gap_missing;
        nd_feed_monitor_on_resync(m, i, now_ns, f->last_seq);
        done++;
    }
    return done;
}

void nd_feed_monitor_on_resync(nd_feed_monitor_t *m, uint32_t index, int64_t now_ns, uint64_t seq)
{
    ND_ASSERT(m != NULL && index < m->feed_count);
    nd_feed_t *f = &m->feeds[index];
    if (now_ns > f->updated_ns)
        f->updated_ns = now_ns;
    f->gap_since_ns = 0;
    f->gap_missing = 0;
    f->last_seq = seq;
    f->seen_mask = ~0ull; /* what is missing before seq is given up */
}

static void fail(nd_feed_verdict_t *out, nd_integrity_input_t input, int32_t feed, int64_t ns,
                 int64_t bound_ns)
{
    out->failed = true;
    out->input = input;
    out->feed = feed;
    out->measured_e6 = ns / ND_NS_PER_US;
    out->bound_e6 = bound_ns / ND_NS_PER_US;
}

bool nd_feed_monitor_check(const nd_feed_monitor_t *m, int64_t now_ns,
                           const nd_refprice_result_t *ref, nd_feed_verdict_t *out)
{
    ND_ASSERT(m != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->feed = -1;
    for (uint32_t i = 0; i < m->feed_count; i++) {
        int64_t age = now_ns - m->feeds[i].updated_ns;
        if (age > m->cfg.stale_after_ns) {
            fail(out, ND_INTEGRITY_STALE, (int32_t)i, age, m->cfg.stale_after_ns);
            return true;
        }
    }
    for (uint32_t i = 0; i < m->feed_count; i++) {
        const nd_feed_t *f = &m->feeds[i];
        if (f->gap_since_ns != 0 && now_ns - f->gap_since_ns > m->cfg.gap_recover_ns) {
            fail(out, ND_INTEGRITY_SEQ_GAP, (int32_t)i, now_ns - f->gap_since_ns,
                 m->cfg.gap_recover_ns);
            return true;
        }
    }
    if (ref && ref->status == ND_REFPRICE_HALT) {
        /* A halt with a straying source is a deviation (halt_on_deviation); one without is too
         * few fresh sources. */
        out->failed = true;
        out->input = ref->deviating_mask ? ND_INTEGRITY_REFPRICE : ND_INTEGRITY_REFPRICE_SOURCES;
        out->measured_e6 = ref->deviating_mask ? (int64_t)ref->max_deviation_bps * 100
                                               : (int64_t)ref->fresh * 1000000;
        return true;
    }
    return false;
}
