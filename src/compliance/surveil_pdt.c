/* surveil_pdt.c: the pattern-day-trading rule (FINRA Rule 4210(f)(8)(B)).
 *
 * A day trade is opening and closing the same security in the same UTC day in a margin
 * account. Per (account, symbol) the position is followed from the first event (flat before
 * it); a closing fill that closes quantity opened the same day starts one day trade, and the
 * fills that continue closing it belong to the same day trade (buy 1, sell 2 x 0.5 is one).
 * Four or more day trades within five business days, when they are more than 6% of the
 * account's trades (orders filled) in those days, in a margin account (or one of unknown type)
 * whose equity is below $25,000 (or unknown) raise an alert. Business days skip weekends and
 * the caller's holiday list; activity on a weekend or holiday counts with the business day
 * before it. After an alert the count restarts after that window. */
#include "surveil_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct day_trade {
    uint32_t account;
    int64_t day;
    uint32_t open_event;
    uint32_t close_event;
} day_trade_t;

typedef struct dt_list {
    day_trade_t *items;
    size_t count;
    size_t cap;
} dt_list_t;

static nd_err_t dt_push(dt_list_t *l, day_trade_t t)
{
    day_trade_t *e = nd_array_push(&l->items, &l->cap, &l->count, sizeof *e, 64);
    if (!e)
        return ND_ENOMEM;
    *e = t;
    return ND_OK;
}

/* Business-day ordinal: weekdays since the epoch minus the holidays up to `day`. Saturday and
 * Sunday (and a holiday) share the ordinal of the business day before them. */
static int64_t business_ordinal(const nd_surv_options_t *o, int64_t day)
{
    int64_t s = day - 4; /* 1970-01-05, day 4, was a Monday */
    int64_t w = s >= 0 ? s / 7 : -((-s + 6) / 7);
    int64_t r = s - 7 * w; /* 0 = Monday .. 6 = Sunday */
    int64_t ord = 5 * w + (r < 4 ? r : 4);
    for (size_t i = 0; o && i < o->holiday_count && o->holidays[i] <= day; i++) {
        int64_t hs = o->holidays[i] - 4;
        int64_t hr = ((hs % 7) + 7) % 7;
        ord -= hr < 5; /* a holiday on a weekend changes nothing */
    }
    return ord;
}

static bool pdt_eligible(const nd__surv_ctx_t *c, uint32_t account)
{
    if (!nd__surv_account_applies(c, account))
        return false;
    const nd_surv_account_t *info = c->accounts[account];
    if (info && info->type == ND_SURV_ACCOUNT_CASH)
        return false;
    return !(info && info->equity_known && info->equity >= c->profile->pdt_equity_min);
}

typedef struct pos_state {
    int64_t pos;
    int64_t day;
    int64_t opened_today;
    bool closing_run;
    uint32_t last_open;
} pos_state_t;

/* Follows one account-symbol group's position and records its day trades. */
static nd_err_t day_trades_group(const nd__surv_ctx_t *c, const uint32_t *idx, uint32_t len,
                                 dt_list_t *out)
{
    pos_state_t s = {.day = INT64_MIN};
    for (uint32_t k = 0; k < len; k++) {
        uint32_t i = idx[k];
        const nd_surv_event_t *e = &c->ev[i];
        if (e->kind != ND_SURV_FILL)
            continue;
        int64_t d = nd__surv_day(e->ts_ns);
        if (d != s.day) {
            s.day = d;
            s.opened_today = 0;
            s.closing_run = false;
        }
        int64_t q = e->qty;
        if (s.pos == 0 || (s.pos > 0) == (e->side == ND_SIDE_BUY)) {
            /* Checked: two fills of 92233720368 (8 decimals) each overflowed here. INT64_MIN
             * is refused too, since -pos below must exist. */
            nd_err_t rc = nd__surv_add(c, &s.pos, e->side * q, i, "the account's position");
            if (rc == ND_OK && s.pos == INT64_MIN)
                rc = nd__surv_overflow(c, i, "the account's position");
            if (rc == ND_OK)
                rc = nd__surv_add(c, &s.opened_today, q, i, "the quantity opened in the day");
            if (rc != ND_OK)
                return rc;
            s.closing_run = false;
            s.last_open = i;
            continue;
        }
        int64_t held = s.pos > 0 ? s.pos : -s.pos;
        int64_t closed = q < held ? q : held;
        int64_t today = closed < s.opened_today ? closed : s.opened_today;
        if (today > 0 && !s.closing_run) {
            day_trade_t t = {e->account, d, s.last_open, i};
            if (dt_push(out, t) != ND_OK)
                return ND_ENOMEM;
        }
        s.closing_run = s.closing_run || today > 0;
        s.opened_today -= today;
        /* Opposite side: pos moves toward and past 0 by q; |pos - q| <= max(|pos|, q), and
         * pos != INT64_MIN, so this cannot overflow. */
        ND_ASSERT(s.pos != INT64_MIN);
        s.pos += e->side * q;
        if (q > held) { /* flipped: the rest opens a position on the other side */
            s.opened_today = q - held;
            s.closing_run = false;
            s.last_open = i;
        }
        ND_ASSERT(s.opened_today >= 0);
    }
    return ND_OK;
}

static int cmp_day_trade(const void *pa, const void *pb)
{
    const day_trade_t *a = pa, *b = pb;
    if (a->account != b->account)
        return a->account < b->account ? -1 : 1;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    if (a->close_event != b->close_event)
        return a->close_event < b->close_event ? -1 : 1;
    return 0;
}

/* Orders first filled per (account, day): the "total trades" of the 6% condition. */
static nd_err_t count_trades(const nd__surv_ctx_t *c, nd__surv_map_t *trades)
{
    for (size_t i = 0; i < c->n; i++) {
        const nd_surv_event_t *e = &c->ev[i];
        if (e->kind != ND_SURV_FILL || c->orders[e->order].first_fill_event != i)
            continue;
        int64_t *slot = nd__surv_map_slot(trades, ((uint64_t)e->account << 32) ^
                                                       (uint64_t)nd__surv_day(e->ts_ns));
        if (!slot)
            return ND_ENOMEM;
        (*slot)++;
    }
    return ND_OK;
}

static int64_t window_trades(const nd__surv_ctx_t *c, const nd__surv_map_t *trades,
                             uint32_t account, int64_t last_day, int64_t *first_day /* OUT */)
{
    const nd_surv_profile_t *p = c->profile;
    int64_t last_ord = business_ordinal(c->opt, last_day), sum = 0;
    int64_t d = last_day;
    /* Bounded: five business days span at most a few weeks even with a holiday list. */
    for (int guard = 0; guard < 64; guard++, d--) {
        if (business_ordinal(c->opt, d) <= last_ord - (int64_t)p->pdt_business_days)
            break;
        sum += nd__surv_map_get(trades, ((uint64_t)account << 32) ^ (uint64_t)d, 0);
        *first_day = d;
    }
    return sum;
}

static nd_err_t pdt_alert(nd__surv_ctx_t *c, const day_trade_t *w, size_t count,
                          int64_t trades, int64_t first_day)
{
    const nd_surv_profile_t *p = c->profile;
    const nd_surv_event_t *e = &c->ev[w[0].close_event];
    nd_surv_alert_t *a = nd__surv_alert_new(c, ND_SURV_PATTERN_DAY_TRADING, e->owner,
                                            ND_SURV_ID_NONE);
    if (!a)
        return ND_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        nd__surv_alert_add_event(a, c, w[i].open_event);
        nd__surv_alert_add_event(a, c, w[i].close_event);
    }
    const nd_surv_account_t *info = c->accounts[w[0].account];
    char eq[32], min[32], d0[32], d1[32];
    nd__surv_amount(p->pdt_equity_min, min, sizeof min);
    const char *acct = info && info->type == ND_SURV_ACCOUNT_MARGIN
                           ? "a margin account"
                           : "an account of unknown type (counted as margin)";
    if (info && info->equity_known)
        nd__surv_amount(info->equity, eq, sizeof eq);
    else
        snprintf(eq, sizeof eq, "unknown");
    nd_time_format_iso(first_day * ND_NS_PER_DAY, d0, sizeof d0);
    nd_time_format_iso(w[count - 1].day * ND_NS_PER_DAY, d1, sizeof d1);
    snprintf(a->reason, sizeof a->reason,
             "%zu day trades within %u business days (%.10s..%.10s) in %s with equity %s "
             "(minimum %s USD); day trades are %lld%% of %lld trades (more than %u.%02u%%) [%s]",
             count, p->pdt_business_days, d0, d1, acct, eq, min,
             (long long)(trades ? (int64_t)count * 100 / trades : 100), (long long)trades,
             p->pdt_trade_share_bps / 100, p->pdt_trade_share_bps % 100,
             nd__surv_cite(p->jurisdiction, ND_SURV_PATTERN_DAY_TRADING));
    a->measured = (int64_t)count;
    a->threshold = p->pdt_day_trades_min;
    nd__surv_alert_commit(c);
    return ND_OK;
}

/* Slides a five-business-day window over one account's day trades (sorted by day). */
static nd_err_t pdt_account(nd__surv_ctx_t *c, const day_trade_t *dt, size_t n,
                            const nd__surv_map_t *trades)
{
    const nd_surv_profile_t *p = c->profile;
    size_t lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        int64_t ord = business_ordinal(c->opt, dt[hi].day);
        while (business_ordinal(c->opt, dt[lo].day) <= ord - (int64_t)p->pdt_business_days)
            lo++;
        size_t count = hi - lo + 1;
        if (count < p->pdt_day_trades_min)
            continue;
        int64_t first_day = dt[hi].day;
        int64_t total = window_trades(c, trades, dt[hi].account, dt[hi].day, &first_day);
        if ((__int128)count * 10000 <= (__int128)p->pdt_trade_share_bps * total)
            continue;
        nd_err_t rc = pdt_alert(c, dt + lo, count, total, first_day);
        if (rc != ND_OK)
            return rc;
        lo = hi + 1; /* the count restarts after an alerted window */
    }
    return ND_OK;
}

nd_err_t nd__surv_rule_pdt(nd__surv_ctx_t *c)
{
    const nd_surv_profile_t *p = c->profile;
    ND_ASSERT(p != NULL);
    ND_ASSERT(p->pdt_business_days > 0);
    if (p->pdt_day_trades_min == 0)
        return ND_OK;
    dt_list_t list = {0};
    nd__surv_map_t trades;
    nd__surv_map_init(&trades);
    nd_err_t rc = ND_OK;
    const nd__surv_groups_t *g = &c->account_sym;
    for (uint32_t grp = 0; rc == ND_OK && grp < g->count; grp++) {
        const uint32_t *idx = g->idx + g->start[grp];
        if (pdt_eligible(c, c->ev[idx[0]].account))
            rc = day_trades_group(c, idx, g->start[grp + 1] - g->start[grp], &list);
    }
    if (rc == ND_OK && list.count > 0)
        rc = count_trades(c, &trades);
    if (rc == ND_OK && list.count > 1)
        qsort(list.items, list.count, sizeof *list.items, cmp_day_trade);
    for (size_t lo = 0; rc == ND_OK && lo < list.count;) {
        size_t hi = lo;
        while (hi < list.count && list.items[hi].account == list.items[lo].account)
            hi++;
        rc = pdt_account(c, list.items + lo, hi - lo, &trades);
        lo = hi;
    }
    nd_free(list.items);
    nd__surv_map_deinit(&trades);
    return rc;
}
