/* binance_depth.c: a local Binance order book kept in sync by the documented procedure
 * (PROTOCOLS.md A.3): buffer diffs, load the REST snapshot, drop diffs with u <= book id,
 * require U <= book id + 1 <= u for the first applied diff and U <= previous u + 1 for every
 * later one (overlapping diffs are normal), and declare RESYNC on a gap.
 *
 * Invariants: the book changes only through an applied diff or a snapshot; last_update_id
 * only grows while in sync; the pre-snapshot buffer is fixed-size (allocated at init) and
 * overflowing it is a RESYNC, never a reallocation. */
#include "noderr/binance.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <string.h>

struct nd_binance_buffered {
    int64_t first_update_id, last_update_id;
    uint32_t first_level, level_count;
};

const char *nd_binance_sync_name(nd_binance_sync_t status)
{
    switch (status) {
    case ND_BINANCE_SYNC_BUFFERING: return "buffering";
    case ND_BINANCE_SYNC_WAIT_FIRST: return "wait_first";
    case ND_BINANCE_SYNC_OK: return "ok";
    case ND_BINANCE_SYNC_RESYNC: return "resync";
    }
    return "unknown";
}

nd_err_t nd_binance_depth_init(nd_binance_depth_t *depth, uint32_t levels_max,
                               uint32_t buffer_events, uint32_t buffer_levels)
{
    ND_ASSERT(depth != NULL);
    memset(depth, 0, sizeof *depth);
    if (buffer_events == 0 || buffer_levels == 0)
        return ND_EINVAL;
    nd_err_t rc = nd_book_init(&depth->book, levels_max);
    if (rc != ND_OK)
        return rc;
    depth->_buf_events = nd_calloc(buffer_events, sizeof *depth->_buf_events);
    depth->_buf_levels = nd_calloc(buffer_levels, sizeof *depth->_buf_levels);
    if (!depth->_buf_events || !depth->_buf_levels) {
        nd_binance_depth_deinit(depth);
        return ND_ENOMEM;
    }
    depth->_buf_cap = buffer_events;
    depth->_buf_level_cap = buffer_levels;
    nd_binance_depth_reset(depth);
    return ND_OK;
}

void nd_binance_depth_deinit(nd_binance_depth_t *depth)
{
    if (!depth)
        return;
    nd_book_deinit(&depth->book);
    nd_free(depth->_buf_events);
    nd_free(depth->_buf_levels);
    memset(depth, 0, sizeof *depth);
}

void nd_binance_depth_reset(nd_binance_depth_t *depth)
{
    ND_ASSERT(depth != NULL);
    nd_book_clear(&depth->book);
    depth->status = ND_BINANCE_SYNC_BUFFERING;
    depth->last_update_id = -1;
    depth->snapshot_id = -1;
    depth->first_buffered_U = -1;
    depth->_buf_count = 0;
    depth->_buf_level_count = 0;
}

static nd_err_t buffer_diff(nd_binance_depth_t *depth, const nd_md_book_update_t *diff)
{
    if (depth->_buf_count >= depth->_buf_cap ||
        diff->level_count > depth->_buf_level_cap - depth->_buf_level_count) {
        depth->status = ND_BINANCE_SYNC_RESYNC;
        return ND_EFULL;
    }
    struct nd_binance_buffered *b = &depth->_buf_events[depth->_buf_count++];
    b->first_update_id = diff->first_update_id;
    b->last_update_id = diff->last_update_id;
    b->first_level = depth->_buf_level_count;
    b->level_count = diff->level_count;
    memcpy(&depth->_buf_levels[b->first_level], diff->levels,
           diff->level_count * sizeof *diff->levels);
    depth->_buf_level_count += diff->level_count;
    if (depth->first_buffered_U < 0)
        depth->first_buffered_U = diff->first_update_id;
    return ND_OK;
}

/* The rules for one diff once a snapshot is loaded. */
static nd_err_t apply_diff(nd_binance_depth_t *depth, int64_t first_id, int64_t last_id,
                           const nd_md_level_t *levels, uint32_t count)
{
    ND_ASSERT(depth->status == ND_BINANCE_SYNC_WAIT_FIRST || depth->status == ND_BINANCE_SYNC_OK);
    ND_ASSERT(levels != NULL || count == 0);
    if (last_id <= depth->last_update_id) {
        depth->dropped++;
        return ND_OK;
    }
    /* Here u >= id + 1, so "U <= id + 1" completes both the first-event rule and the
     * continuity rule; a larger U means updates were missed. */
    if (first_id > depth->last_update_id + 1) {
        depth->status = ND_BINANCE_SYNC_RESYNC;
        depth->gaps++;
        return ND_ESTATE;
    }
    for (uint32_t i = 0; i < count; i++) {
        nd_book_side_t side = levels[i].side == ND_MD_SIDE_ASK ? ND_BOOK_ASK : ND_BOOK_BID;
        /* Prices and quantities were validated by the decoder; a caller's bad level is
         * skipped rather than corrupting the book. A level that does not fit (a side is
         * full) cannot be kept, and a book missing it is not the venue's: resync. */
        nd_err_t rc = nd_book_set(&depth->book, side, levels[i].px, levels[i].qty);
        if (rc == ND_EFULL) {
            depth->status = ND_BINANCE_SYNC_RESYNC;
            depth->full++;
            return ND_EFULL;
        }
    }
    /* After a whole diff the venue's book is never crossed; ours is, only when it no longer
     * follows the venue (a diff was missed or altered): resync rather than trade on it. */
    if (nd_book_crossed(&depth->book)) {
        depth->status = ND_BINANCE_SYNC_RESYNC;
        depth->crossed++;
        return ND_ERANGE;
    }
    depth->last_update_id = last_id;
    depth->applied++;
    depth->status = ND_BINANCE_SYNC_OK;
    return ND_OK;
}

nd_err_t nd_binance_depth_diff(nd_binance_depth_t *depth, const nd_md_book_update_t *diff)
{
    ND_ASSERT(depth != NULL && diff != NULL);
    ND_ASSERT(!diff->snapshot);
    switch (depth->status) {
    case ND_BINANCE_SYNC_BUFFERING: return buffer_diff(depth, diff);
    case ND_BINANCE_SYNC_RESYNC: return ND_ESTATE;
    case ND_BINANCE_SYNC_WAIT_FIRST:
    case ND_BINANCE_SYNC_OK: break;
    }
    return apply_diff(depth, diff->first_update_id, diff->last_update_id, diff->levels,
                      diff->level_count);
}

nd_err_t nd_binance_depth_snapshot(nd_binance_depth_t *depth, const nd_md_book_update_t *snap)
{
    ND_ASSERT(depth != NULL && snap != NULL);
    if (depth->status != ND_BINANCE_SYNC_BUFFERING)
        return ND_ESTATE;
    /* The documented "lastUpdateId < first buffered U" test, made exact: the snapshot still
     * bridges to the buffer when U == lastUpdateId + 1. */
    if (depth->first_buffered_U >= 0 && snap->last_update_id + 1 < depth->first_buffered_U)
        return ND_EAGAIN;
    nd_book_clear(&depth->book);
    for (uint32_t i = 0; i < snap->level_count; i++) {
        const nd_md_level_t *l = &snap->levels[i];
        nd_err_t rc = nd_book_set(&depth->book, l->side == ND_MD_SIDE_ASK ? ND_BOOK_ASK
                                                                          : ND_BOOK_BID,
                                  l->px, l->qty);
        /* A snapshot that does not fit, or that crosses, is refused whole: still buffering. */
        if (rc == ND_EFULL) {
            nd_book_clear(&depth->book);
            depth->full++;
            return ND_EFULL;
        }
    }
    if (nd_book_crossed(&depth->book)) {
        nd_book_clear(&depth->book);
        depth->crossed++;
        return ND_ERANGE;
    }
    depth->snapshot_id = snap->last_update_id;
    depth->last_update_id = snap->last_update_id;
    depth->status = ND_BINANCE_SYNC_WAIT_FIRST;
    for (uint32_t i = 0; i < depth->_buf_count; i++) {
        const struct nd_binance_buffered *b = &depth->_buf_events[i];
        nd_err_t rc = apply_diff(depth, b->first_update_id, b->last_update_id,
                                 &depth->_buf_levels[b->first_level], b->level_count);
        if (rc == ND_ESTATE || rc == ND_EFULL || rc == ND_ERANGE)
            break;
    }
    depth->_buf_count = 0;
    depth->_buf_level_count = 0;
    depth->first_buffered_U = -1;
    return ND_OK;
}
