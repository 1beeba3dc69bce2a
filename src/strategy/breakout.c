/* breakout.c: Donchian channel breakout, long/flat.
 *
 * Rule: long when the close is above the highest high of the previous entry_period bars (the
 * current bar excluded), flat when the close is below the lowest low of the previous
 * exit_period bars; hold otherwise. exit_period <= entry_period is required, so the exit
 * window lies inside the entry window and both conditions cannot hold at once (the lowest low
 * never exceeds the highest high). The entry test starts once entry_period bars are seen, the
 * exit test once exit_period bars are seen. A target is sent only when the direction changes.
 *
 * The channel uses two monotonic deques (bar index, price) over ring buffers of
 * period + 1 slots: highs strictly decreasing from front to back, lows strictly increasing,
 * so the front is the window's extreme. Each bar is pushed and popped at most once per deque,
 * so on_bar is O(1) amortised and never allocates. */
#include "strategy/builtins_int.h"

#include "noderr/assert.h"

#include <stdio.h>

enum { P_ENTRY = 0, P_EXIT = 1, P_COUNT = 2 };

typedef struct bo_slot {
    int64_t index; /* bar index */
    int64_t px;    /* high or low, price units */
} bo_slot_t;

typedef struct bo_deque {
    int32_t head;  /* slot of the front */
    int32_t count; /* entries in use */
    int32_t cap;   /* window + 1 */
    int32_t _pad;
} bo_deque_t;

typedef struct bo_state {
    int64_t bar_index;   /* index of the bar being processed */
    bo_deque_t highs;    /* slots[0, entry + 1) */
    bo_deque_t lows;     /* slots[entry + 1, entry + exit + 2) */
    uint32_t instrument_id;
    int32_t entry_n;
    int32_t exit_n;
    int32_t direction;   /* last target sent: 0 flat, +1 long */
    bo_slot_t slots[];
} bo_state_t;

static const nd_param_def_t bo_params[P_COUNT] = {
    {"entry_period", ND_PARAM_INT, 1, 10000, 20, 1,
     "go long above the highest high of this many previous bars", NULL, 0},
    {"exit_period", ND_PARAM_INT, 1, 10000, 10, 1,
     "go flat below the lowest low of this many previous bars (must be <= entry_period)", NULL,
     0},
};

static size_t bo_state_size(const double *params)
{
    ND_ASSERT(params != NULL);
    int entry = (int)params[P_ENTRY];
    int exit_n = (int)params[P_EXIT];
    ND_ASSERT(entry >= 1 && entry <= 10000);
    ND_ASSERT(exit_n >= 1 && exit_n <= 10000);
    return sizeof(bo_state_t) + (size_t)(entry + exit_n + 2) * sizeof(bo_slot_t);
}

static nd_err_t bo_validate(const double *params, char *err, size_t err_len)
{
    ND_ASSERT(params != NULL);
    if (params[P_EXIT] > params[P_ENTRY]) {
        snprintf(err, err_len,
                 "breakout: exit_period (%g) must not be greater than entry_period (%g)",
                 params[P_EXIT], params[P_ENTRY]);
        return ND_EINVAL;
    }
    return ND_OK;
}

static nd_err_t bo_on_start(void *state, const double *params, uint32_t instrument_id,
                            nd_strategy_ctx_t *ctx)
{
    bo_state_t *s = state;
    ND_ASSERT(s != NULL);
    ND_ASSERT(params != NULL);
    (void)ctx;
    s->entry_n = (int32_t)params[P_ENTRY];
    s->exit_n = (int32_t)params[P_EXIT];
    ND_ASSERT(s->exit_n >= 1);
    ND_ASSERT(s->exit_n <= s->entry_n);
    s->highs = (bo_deque_t){.head = 0, .count = 0, .cap = s->entry_n + 1};
    s->lows = (bo_deque_t){.head = 0, .count = 0, .cap = s->exit_n + 1};
    s->instrument_id = instrument_id;
    /* The state arrives zeroed (strategy.h): no bar seen, flat. */
    ND_DEBUG_ASSERT(s->bar_index == 0);
    ND_DEBUG_ASSERT(s->direction == 0);
    return ND_OK;
}

/* Drops front entries older than first_index. */
static void bo_evict(bo_deque_t *q, bo_slot_t *slots, int64_t first_index)
{
    while (q->count > 0 && slots[q->head].index < first_index) {
        if (++q->head == q->cap) {
            q->head = 0;
        }
        q->count--;
    }
}

/* Pushes (index, px) at the back after dropping back entries it dominates: sign +1 keeps a
 * max-deque (drops px_back <= px), sign -1 a min-deque (drops px_back >= px). */
static void bo_push(bo_deque_t *q, bo_slot_t *slots, int64_t index, int64_t px, int sign)
{
    while (q->count > 0) {
        int32_t back = q->head + q->count - 1;
        back -= back >= q->cap ? q->cap : 0;
        if ((sign > 0) ? slots[back].px > px : slots[back].px < px) {
            break;
        }
        q->count--;
    }
    ND_ASSERT(q->count < q->cap);
    int32_t slot = q->head + q->count;
    slot -= slot >= q->cap ? q->cap : 0;
    slots[slot] = (bo_slot_t){.index = index, .px = px};
    q->count++;
}

void nd__strategy_breakout_on_bar(void *state, const nd_bar_t *bar,
                                  nd_strategy_ctx_t *ctx)
{
    bo_state_t *s = state;
    ND_ASSERT(bar->instrument_id == s->instrument_id);
    bo_slot_t *high_slots = s->slots;
    bo_slot_t *low_slots = s->slots + s->highs.cap;
    int64_t t = s->bar_index;
    bo_evict(&s->highs, high_slots, t - s->entry_n);
    bo_evict(&s->lows, low_slots, t - s->exit_n);
    if (t >= s->entry_n) {
        ND_ASSERT(s->highs.count > 0);
        if (bar->close > high_slots[s->highs.head].px) {
            nd__strategy_emit(ctx, s->instrument_id, &s->direction, 1);
        }
    }
    if (t >= s->exit_n) {
        ND_ASSERT(s->lows.count > 0);
        if (bar->close < low_slots[s->lows.head].px) {
            nd__strategy_emit(ctx, s->instrument_id, &s->direction, 0);
        }
    }
    bo_push(&s->highs, high_slots, t, bar->high, 1);
    bo_push(&s->lows, low_slots, t, bar->low, -1);
    s->bar_index = t + 1;
}

const nd_strategy_def_t nd__strategy_breakout = {
    .name = "breakout",
    .summary = "Donchian channel: long above the highest high of the previous entry_period bars, "
               "flat below the lowest low of the previous exit_period bars",
    .params = bo_params,
    .param_count = P_COUNT,
    .state_size = bo_state_size,
    .validate = bo_validate,
    .on_start = bo_on_start,
    .on_bar = nd__strategy_breakout_on_bar,
    .on_fill = NULL,
    .on_timer = NULL,
};
