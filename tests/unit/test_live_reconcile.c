/* test_live_reconcile.c: client order ids (format, limits, parse back, foreign ids), the order
 * journal (replay, torn tail, corruption) and reconciliation: one test per difference type and
 * a property test over many seeds (after applying the resolutions the local view equals the
 * venue's; comparing again finds nothing to do; applying twice changes nothing). */
#include "noderr/alloc.h"
#include "noderr/rand.h"
#include "noderr/reconcile.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define E8 100000000LL

static const nd_recon_instrument_t insts[] = {{.base = "BTC", .quote = "USDT"}};

/* ---- client order ids -------------------------------------------------------------------- */

static bool binance_charset(const char *s)
{
    for (; *s; s++)
        if (!strchr(".:/_-", *s) && !(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
            !(*s >= '0' && *s <= '9'))
            return false;
    return true;
}

Test(clid, format_parse_round_trip_within_binance_limits)
{
    char id[ND_CLID_SIZE];
    cr_assert_eq(nd_clid_format("s1", 3, 2, 1042, id), ND_OK);
    cr_assert_str_eq(id, "nds1-3-2-sy");
    cr_assert_eq(nd_clid_format("zzzzzz", 2176782335u, 0xFFFF, UINT64_MAX, id), ND_OK);
    cr_assert_leq(strlen(id), 36);
    cr_assert(binance_charset(id), "%s", id);
    uint32_t run, strategy;
    uint64_t client;
    cr_assert_eq(nd_clid_parse("zzzzzz", id, &run, &strategy, &client), ND_OK);
    cr_assert_eq(run, 2176782335u);
    cr_assert_eq(strategy, 0xFFFF);
    cr_assert_eq(client, UINT64_MAX);
    nd_rand_t rng;
    nd_rand_init(&rng, 7);
    for (int i = 0; i < 10000; i++) {
        uint32_t r = (uint32_t)nd_rand_below(&rng, 2176782336u), s = (uint32_t)nd_rand_below(&rng, 65536);
        uint64_t c = nd_rand_next(&rng) >> nd_rand_below(&rng, 64);
        cr_assert_eq(nd_clid_format("ab9", r, s, c, id), ND_OK);
        uint32_t r2, s2;
        uint64_t c2;
        cr_assert_eq(nd_clid_parse("ab9", id, &r2, &s2, &c2), ND_OK, "%s", id);
        cr_assert(r2 == r && s2 == s && c2 == c, "%s", id);
    }
}

Test(clid, same_order_same_id_and_refusals)
{
    char a[ND_CLID_SIZE], b[ND_CLID_SIZE];
    cr_assert_eq(nd_clid_format("s1", 1, 0, 5, a), ND_OK);
    cr_assert_eq(nd_clid_format("s1", 1, 0, 5, b), ND_OK);
    cr_assert_str_eq(a, b);
    cr_assert_eq(nd_clid_format("S1", 1, 0, 5, a), ND_EINVAL);      /* tags are lowercase */
    cr_assert_eq(nd_clid_format("toolong", 1, 0, 5, a), ND_EINVAL);
    cr_assert_eq(nd_clid_format("", 1, 0, 5, a), ND_EINVAL);
    cr_assert_eq(nd_clid_format("s1", 1, 0x10000, 5, a), ND_EINVAL);
    cr_assert_eq(nd_clid_format("s1", 2176782336u, 0, 5, a), ND_EINVAL);
}

Test(clid, ids_that_are_not_ours_are_declined)
{
    const char *foreign[] = {"web_abc123", "nds2-1-0-5", "nds1x-1-0-5", "nds1-1-0",
                             "nds1-1-0-5-6", "nds1-01-0-5", "nds1-1-0-", "nds1--0-5",
                             "nds1-1-0-A", "x-nds1-1-0-5", "nds1-1-1ekg-5", ""};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
        cr_assert_eq(nd_clid_parse("s1", foreign[i], NULL, NULL, NULL), ND_EDECLINED, "%s",
                     foreign[i]);
    cr_assert_eq(nd_clid_parse("s1", "nds1-0-0-0", NULL, NULL, NULL), ND_OK);
}

/* ---- journal ----------------------------------------------------------------------------- */

typedef struct replayed {
    nd_journal_rec_t recs[64];
    int count;
} replayed_t;

static void collect(void *ctx, const nd_journal_rec_t *rec)
{
    replayed_t *r = ctx;
    if (r->count < 64)
        r->recs[r->count++] = *rec;
}

static void temp_path(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/nd-journal-test-%d.bin", (int)getpid());
    unlink(path);
}

static nd_journal_rec_t new_rec(const char *clid, int64_t qty)
{
    nd_journal_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = ND_JOURNAL_NEW;
    r.ts_ns = 1000;
    snprintf(r.order.clid, sizeof r.order.clid, "%s", clid);
    r.order.side = ND_SIDE_SELL;
    r.order.type = ND_ORDER_LIMIT;
    r.order.px = 40000 * E8;
    r.order.qty = qty;
    return r;
}

Test(journal, records_replay_in_order_after_reopen)
{
    char path[128], err[256] = "";
    temp_path(path, sizeof path);
    nd_journal_t *j = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_OK, "%s", err);
    nd_journal_rec_t a = new_rec("nds1-1-0-1", 5), b;
    memset(&b, 0, sizeof b);
    b.kind = ND_JOURNAL_FILL;
    b.trade = (nd_recon_trade_t){.trade_id = 77, .venue_order_id = 9, .clid = "nds1-1-0-1",
                                 .side = ND_SIDE_SELL, .maker = true, .px = 40000 * E8, .qty = 5,
                                 .quote_qty = 2000000, .commission = 2, .ts_ns = -3};
    cr_assert_eq(nd_journal_append(j, &a, err, sizeof err), ND_OK);
    cr_assert_eq(nd_journal_append(j, &b, err, sizeof err), ND_OK);
    cr_assert_eq(a.seq, 1);
    cr_assert_eq(b.seq, 2);
    cr_assert_eq(nd_journal_sync(j), ND_OK);
    nd_journal_close(j);
    replayed_t got = {0};
    cr_assert_eq(nd_journal_open(path, collect, &got, &j, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(got.count, 2);
    cr_assert_eq(memcmp(&got.recs[0].order, &a.order, sizeof a.order), 0);
    cr_assert_eq(memcmp(&got.recs[1].trade, &b.trade, sizeof b.trade), 0);
    cr_assert_eq(nd_journal_last_seq(j), 2);
    nd_journal_rec_t c = new_rec("nds1-1-0-2", 6);
    cr_assert_eq(nd_journal_append(j, &c, err, sizeof err), ND_OK);
    cr_assert_eq(c.seq, 3);
    nd_journal_close(j);
    unlink(path);
}

Test(journal, a_torn_last_record_is_cut_and_corruption_before_it_refused)
{
    char path[128], err[256] = "";
    temp_path(path, sizeof path);
    nd_journal_t *j = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_OK);
    for (int i = 0; i < 3; i++) {
        nd_journal_rec_t r = new_rec("nds1-1-0-1", i + 1);
        cr_assert_eq(nd_journal_append(j, &r, err, sizeof err), ND_OK);
    }
    nd_journal_close(j);
    cr_assert_eq(truncate(path, 320 * 3 - 100), 0); /* the third write was torn */
    replayed_t got = {0};
    cr_assert_eq(nd_journal_open(path, collect, &got, &j, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(got.count, 2);
    nd_journal_rec_t r = new_rec("nds1-1-0-3", 9);
    cr_assert_eq(nd_journal_append(j, &r, err, sizeof err), ND_OK);
    cr_assert_eq(r.seq, 3);
    nd_journal_close(j);
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, "X", 1, 100), 1); /* a flipped byte in the first record */
    close(fd);
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_EPARSE);
    cr_assert(strstr(err, "offset 0"), "%s", err);
    unlink(path);
}

Test(journal, a_zeroed_or_torn_tail_after_a_power_loss_is_cut)
{
    char path[128], err[256] = "";
    temp_path(path, sizeof path);
    nd_journal_t *j = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_OK);
    for (int i = 0; i < 5; i++) {
        nd_journal_rec_t r = new_rec("nds1-1-0-1", i + 1);
        cr_assert_eq(nd_journal_append(j, &r, err, sizeof err), ND_OK);
    }
    nd_journal_close(j);
    /* Records 3 and 4 never reached the disk (zeros), record 5 half written. */
    static const uint8_t zeros[640];
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, zeros, sizeof zeros, 320 * 2), (ssize_t)sizeof zeros);
    cr_assert_eq(pwrite(fd, zeros, 160, 320 * 4 + 160), 160);
    close(fd);
    replayed_t got = {0};
    cr_assert_eq(nd_journal_open(path, collect, &got, &j, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(got.count, 2);
    cr_assert_eq(nd_journal_last_seq(j), 2);
    nd_journal_close(j);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 320 * 2);
    unlink(path);
}

Test(journal, batched_mode_syncs_on_its_thread_after_the_send_and_before_close)
{
    char path[128], err[256] = "";
    temp_path(path, sizeof path);
    nd_journal_sync_t mode;
    cr_assert(nd_journal_sync_parse("batched", &mode));
    cr_assert_eq(mode, ND_JOURNAL_SYNC_BATCHED);
    cr_assert(!nd_journal_sync_parse("Batched", &mode));
    cr_assert(!nd_journal_sync_parse("", &mode));
    nd_journal_t *j = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_OK);
    uint64_t at_open = nd_journal_sync_count(j);
    cr_assert_eq(at_open, 1); /* the open's own sync */
    cr_assert_eq(nd_journal_before_send(j), ND_OK); /* before_send: a sync on this thread */
    cr_assert_eq(nd_journal_sync_count(j), 2);
    cr_assert_eq(nd_journal_set_sync(j, ND_JOURNAL_SYNC_BATCHED, err, sizeof err), ND_OK, "%s",
                 err);
    cr_assert_eq(nd_journal_mode(j), ND_JOURNAL_SYNC_BATCHED);
    /* before_send only asks: the syncer, asleep once idle (it never polls), is woken by
     * after_send (after the send). */
    usleep(200000);
    nd_journal_rec_t first = new_rec("nds1-1-0-1", 1);
    cr_assert_eq(nd_journal_append(j, &first, err, sizeof err), ND_OK);
    cr_assert_eq(nd_journal_before_send(j), ND_OK);
    usleep(50000);
    cr_assert_eq(nd_journal_sync_count(j), 2);
    nd_journal_after_send(j);
    for (int spins = 0; nd_journal_sync_count(j) == 2 && spins < 5000; spins++)
        usleep(1000);
    cr_assert_eq(nd_journal_sync_count(j), 3);
    for (int i = 1; i < 50; i++) {
        nd_journal_rec_t r = new_rec("nds1-1-0-1", i + 1);
        cr_assert_eq(nd_journal_append(j, &r, err, sizeof err), ND_OK);
        cr_assert_eq(nd_journal_before_send(j), ND_OK);
        nd_journal_after_send(j);
    }
    /* The syncer runs: at least one sync comes, and no more than one per intent. */
    for (int spins = 0; nd_journal_sync_count(j) == 3 && spins < 5000; spins++)
        usleep(1000);
    uint64_t synced = nd_journal_sync_count(j);
    cr_assert_gt(synced, 3);
    cr_assert_leq(synced, 2 + 50);
    nd_journal_close(j); /* joins the syncer and syncs the rest */
    replayed_t got = {0};
    cr_assert_eq(nd_journal_open(path, collect, &got, &j, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(got.count, 50);
    nd_journal_close(j);
    unlink(path);
}

/* ---- reconciliation: one difference type at a time --------------------------------------- */

static nd_recon_local_t *local_new(void)
{
    nd_recon_local_t *l = nd_calloc(1, sizeof *l);
    cr_assert_not_null(l);
    return l;
}

static nd_recon_order_t order(const char *clid, nd_recon_status_t status, int64_t venue_id,
                              int64_t filled)
{
    nd_recon_order_t o;
    memset(&o, 0, sizeof o);
    snprintf(o.clid, sizeof o.clid, "%s", clid);
    o.side = ND_SIDE_BUY;
    o.type = ND_ORDER_LIMIT;
    o.px = 100 * E8;
    o.qty = 10 * E8;
    o.status = status;
    o.venue_id = venue_id;
    o.filled_qty = filled;
    return o;
}

static size_t compare(const nd_recon_local_t *l, const nd_recon_venue_t *v,
                      const nd_recon_policy_t *p, nd_recon_diff_t *out)
{
    size_t n = 0;
    cr_assert_eq(nd_recon_compare(l, v, "s1", insts, 1, p, out, 64, &n), ND_OK);
    return n;
}

static void apply_all(nd_recon_local_t *l, const nd_recon_diff_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(nd_recon_apply(l, &d[i], insts, 1), ND_OK);
}

Test(reconcile, never_sent_is_dropped_or_resent_by_policy)
{
    nd_recon_local_t *l = local_new();
    l->orders[l->order_count++] = order("nds1-1-0-1", ND_RECON_SENT, 0, 0);
    nd_recon_order_t q = order("nds1-1-0-1", ND_RECON_UNKNOWN, 0, 0);
    nd_recon_venue_t v = {.queried = &q, .queried_count = 1};
    nd_recon_policy_t p;
    nd_recon_policy_default(&p);
    nd_recon_diff_t d[64];
    cr_assert_eq(compare(l, &v, &p, d), 1);
    cr_assert_eq(d[0].kind, ND_RECON_NEVER_SENT);
    cr_assert_eq(d[0].resolution, ND_RESOLVE_DROP);
    p.never_sent = ND_RESOLVE_RESEND;
    cr_assert_eq(compare(l, &v, &p, d), 1);
    cr_assert_eq(d[0].resolution, ND_RESOLVE_RESEND);
    apply_all(l, d, 1);
    cr_assert_eq(l->orders[0].status, ND_RECON_SENT); /* resent: still maybe at the venue */
    p.never_sent = ND_RESOLVE_DROP;
    cr_assert_eq(compare(l, &v, &p, d), 1);
    apply_all(l, d, 1);
    cr_assert_eq(l->orders[0].status, ND_RECON_DROPPED);
    cr_assert_eq(compare(l, &v, &p, d), 0);
    nd_free(l);
}

Test(reconcile, an_unanswered_intent_that_reached_the_venue_takes_its_state)
{
    nd_recon_local_t *l = local_new();
    l->orders[l->order_count++] = order("nds1-1-0-1", ND_RECON_SENT, 0, 0);
    nd_recon_order_t open = order("nds1-1-0-1", ND_RECON_OPEN, 55, 0);
    nd_recon_venue_t v = {.open = &open, .open_count = 1};
    nd_recon_policy_t p;
    nd_recon_policy_default(&p);
    nd_recon_diff_t d[64];
    cr_assert_eq(compare(l, &v, &p, d), 1);
    cr_assert_eq(d[0].kind, ND_RECON_REACHED);
    cr_assert_eq(d[0].resolution, ND_RESOLVE_BOOK);
    apply_all(l, d, 1);
    cr_assert_eq(l->orders[0].status, ND_RECON_OPEN);
    cr_assert_eq(l->orders[0].venue_id, 55);
    cr_assert_eq(compare(l, &v, &p, d), 0);
    nd_free(l);
}

Test(reconcile, open_locally_done_at_venue_is_booked_with_its_fills_once)
{
    nd_recon_local_t *l = local_new();
    l->orders[l->order_count++] = order("nds1-1-0-1", ND_RECON_OPEN, 55, 0);
    nd_recon_order_t q = order("nds1-1-0-1", ND_RECON_FILLED, 55, 10 * E8);
    nd_recon_trade_t t[2] = {
        {.trade_id = 8, .venue_order_id = 55, .side = ND_SIDE_BUY, .px = 100 * E8, .qty = 4 * E8,
         .quote_qty = 400 * E8},
        {.trade_id = 9, .venue_order_id = 55, .side = ND_SIDE_BUY, .px = 100 * E8, .qty = 6 * E8,
         .quote_qty = 600 * E8, .commission = 6000}};
    nd_recon_venue_t v = {.queried = &q, .queried_count = 1, .trades = t, .trade_count = 2};
    nd_recon_policy_t p;
    nd_recon_policy_default(&p);
    nd_recon_diff_t d[64];
    size_t n = compare(l, &v, &p, d);
    cr_assert_eq(n, 3);
    cr_assert_eq(d[0].kind, ND_RECON_DONE_AT_VENUE);
    cr_assert_eq(d[1].kind, ND_RECON_FILL_MISSING);
    cr_assert_str_eq(d[1].trade.clid, "nds1-1-0-1"); /* found by the venue order id */
    apply_all(l, d, n);
    apply_all(l, d, n); /* twice: nothing more */
    cr_assert_eq(l->orders[0].status, ND_RECON_FILLED);
    cr_assert_eq(l->orders[0].filled_qty, 10 * E8);
    cr_assert_eq(l->booked_count, 2);
    cr_assert_eq(l->last_trade_id, 9);
    cr_assert_eq(l->balances[0].amount, 10 * E8 - 6000); /* BTC less the commission */
    cr_assert_eq(l->balances[1].amount, -1000 * E8);
    cr_assert_eq(compare(l, &v, &p, d), 0);
    nd_free(l);
}

Test(reconcile, our_order_unknown_locally_is_adopted_or_cancelled_foreign_never_touched)
{
    nd_recon_local_t *l = local_new();
    nd_recon_order_t open[2] = {order("nds1-1-0-9", ND_RECON_OPEN, 70, 0),
                                order("web_123", ND_RECON_OPEN, 71, 0)};
    nd_recon_venue_t v = {.open = open, .open_count = 2};
    nd_recon_policy_t p;
    nd_recon_policy_default(&p);
    nd_recon_diff_t d[64];
    cr_assert_eq(compare(l, &v, &p, d), 2);
    cr_assert_eq(d[0].kind, ND_RECON_UNKNOWN_OURS);
    cr_assert_eq(d[0].resolution, ND_RESOLVE_CANCEL);
    cr_assert_eq(d[1].kind, ND_RECON_FOREIGN);
    cr_assert_eq(d[1].resolution, ND_RESOLVE_SURFACE);
    apply_all(l, d, 2);
    cr_assert_eq(l->order_count, 0); /* cancel acts at the venue; surface touches nothing */
    p.unknown_ours = ND_RESOLVE_ADOPT;
    cr_assert_eq(compare(l, &v, &p, d), 2);
    apply_all(l, d, 2);
    cr_assert_eq(l->order_count, 1);
    cr_assert_str_eq(l->orders[0].clid, "nds1-1-0-9");
    cr_assert_eq(l->orders[0].venue_id, 70);
    cr_assert_eq(compare(l, &v, &p, d), 1); /* the foreign order is surfaced every time */
    cr_assert_eq(d[0].kind, ND_RECON_FOREIGN);
    nd_free(l);
}

Test(reconcile, an_open_order_the_venue_no_longer_knows_is_surfaced_and_ended)
{
    nd_recon_local_t *l = local_new();
    l->orders[l->order_count++] = order("nds1-1-0-1", ND_RECON_OPEN, 55, 0);
    nd_recon_order_t q = order("nds1-1-0-1", ND_RECON_UNKNOWN, 0, 0);
    nd_recon_venue_t v = {.queried = &q, .queried_count = 1};
    nd_recon_policy_t p;
    nd_recon_policy_default(&p);
    nd_recon_diff_t d[64];
    cr_assert_eq(compare(l, &v, &p, d), 1);
    cr_assert_eq(d[0].kind, ND_RECON_VANISHED);
    apply_all(l, d, 1);
    cr_assert_eq(l->orders[0].status, ND_RECON_CANCELLED);
    cr_assert_eq(compare(l, &v, &p, d), 0);
    nd_free(l);
}

Test(reconcile, balance_differences_beyond_the_fills_halt_or_are_adopted)
{
    nd_recon_local_t *l = local_new();
    cr_assert_eq(nd_recon_balance_add(l, "USDT", 1000 * E8), ND_OK);
    l->has_balances = true;
    nd_recon_trade_t t = {.trade_id = 3, .venue_order_id = 5, .side = ND_SIDE_BUY,
                          .px = 100 * E8, .qty = E8, .quote_qty = 100 * E8};
    nd_recon_asset_t vb[2] = {{.asset = "USDT", .amount = 900 * E8}, {.asset = "BTC", .amount = E8}};
    nd_recon_venue_t v = {.trades = &t, .trade_count = 1, .balances = vb, .balance_count = 2,
                          .has_balances = true};
    nd_recon_policy_t p;
    nd_recon_policy_default(&p);
    nd_recon_diff_t d[64];
    cr_assert_eq(compare(l, &v, &p, d), 1); /* the fill explains both balances */
    cr_assert_eq(d[0].kind, ND_RECON_FILL_MISSING);
    vb[0].amount = 950 * E8; /* a deposit of 50 the fills do not explain */
    cr_assert_eq(compare(l, &v, &p, d), 2);
    cr_assert_eq(d[1].kind, ND_RECON_BALANCE);
    cr_assert_eq(d[1].resolution, ND_RESOLVE_HALT);
    cr_assert_str_eq(d[1].venue.asset, "USDT");
    cr_assert_eq(d[1].local.amount, 900 * E8);
    cr_assert_eq(d[1].venue.amount, 950 * E8);
    p.balance = ND_RESOLVE_ADOPT;
    cr_assert_eq(compare(l, &v, &p, d), 2);
    apply_all(l, d, 2);
    cr_assert_eq(compare(l, &v, &p, d), 0);
    nd_free(l);
}

Test(reconcile, journal_replay_gives_the_local_view_and_recorded_resolutions)
{
    char path[128], err[256] = "";
    temp_path(path, sizeof path);
    nd_journal_t *j = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_OK);
    nd_journal_rec_t recs[5];
    memset(recs, 0, sizeof recs);
    recs[0].kind = ND_JOURNAL_OPENING;
    recs[0].asset = (nd_recon_asset_t){.asset = "USDT", .amount = 1000 * E8};
    recs[1] = new_rec("nds1-1-0-1", E8);
    recs[1].order.side = ND_SIDE_BUY;
    recs[2] = new_rec("nds1-1-0-2", E8);
    recs[3].kind = ND_JOURNAL_STATUS;
    recs[3].order = order("nds1-1-0-1", ND_RECON_OPEN, 41, 0);
    nd_recon_diff_t diff = {.kind = ND_RECON_FILL_MISSING, .resolution = ND_RESOLVE_BOOK};
    diff.trade = (nd_recon_trade_t){.trade_id = 5, .venue_order_id = 41, .clid = "nds1-1-0-1",
                                    .side = ND_SIDE_BUY, .px = 100 * E8, .qty = E8,
                                    .quote_qty = 100 * E8};
    nd_journal_rec_of_diff(&diff, 7, &recs[4]);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(nd_journal_append(j, &recs[i], err, sizeof err), ND_OK);
    nd_journal_close(j);
    replayed_t got = {0};
    cr_assert_eq(nd_journal_open(path, collect, &got, &j, err, sizeof err), ND_OK);
    nd_journal_close(j);
    nd_recon_local_t *l = local_new();
    for (int i = 0; i < got.count; i++)
        cr_assert_eq(nd_recon_local_fold(l, &got.recs[i], insts, 1), ND_OK);
    cr_assert_eq(l->order_count, 2);
    cr_assert_eq(l->orders[0].status, ND_RECON_OPEN);
    cr_assert_eq(l->orders[0].filled_qty, E8);
    cr_assert_eq(l->orders[1].status, ND_RECON_SENT);
    cr_assert_eq(l->last_trade_id, 5);
    cr_assert(l->has_balances);
    nd_free(l);
    unlink(path);
}

/* ---- property: random local and venue states over many seeds ----------------------------- */

#define P_ORDERS 24
#define P_TRADES 64

typedef struct world {
    nd_recon_order_t truth[P_ORDERS + 4];  /* the venue's orders: ours, then foreign */
    uint32_t count, ours;
    nd_recon_trade_t trades[P_TRADES];
    uint32_t trade_count;
    nd_recon_asset_t opening[2], venue_bal[2];
    nd_recon_order_t open[P_ORDERS + 4], queried[P_ORDERS];
    uint32_t open_count, queried_count;
} world_t;

static void add_trade(world_t *w, nd_rand_t *rng, nd_recon_order_t *o, int64_t qty)
{
    if (w->trade_count == P_TRADES || qty <= 0)
        return;
    nd_recon_trade_t *t = &w->trades[w->trade_count++];
    memset(t, 0, sizeof *t);
    t->venue_order_id = o->venue_id;
    t->side = o->side;
    t->px = o->px;
    t->qty = qty;
    t->quote_qty = o->px / E8 * qty;
    t->commission = (int64_t)nd_rand_below(rng, 1000);
    o->filled_qty += qty;
}

/* The venue's truth: orders in every state, trades for them (ids in random interleaving). */
static void make_truth(world_t *w, nd_rand_t *rng)
{
    static const nd_recon_status_t states[] = {ND_RECON_OPEN, ND_RECON_FILLED, ND_RECON_CANCELLED,
                                               ND_RECON_EXPIRED, ND_RECON_UNKNOWN};
    w->ours = 1 + (uint32_t)nd_rand_below(rng, P_ORDERS);
    w->count = w->ours + (uint32_t)nd_rand_below(rng, 4);
    for (uint32_t i = 0; i < w->count; i++) {
        char clid[ND_CLID_SIZE];
        if (i < w->ours)
            nd_clid_format("s1", 1, 0, i + 1, clid);
        else
            snprintf(clid, sizeof clid, "web_%u", i);
        w->truth[i] = order(clid, states[nd_rand_below(rng, i < w->ours ? 5 : 1)],
                            100 + i, 0);
        w->truth[i].side = nd_rand_below(rng, 2) ? ND_SIDE_BUY : ND_SIDE_SELL;
        w->truth[i].qty = (int64_t)(1 + nd_rand_below(rng, 5)) * E8;
        nd_recon_order_t *o = &w->truth[i];
        if (o->status == ND_RECON_UNKNOWN)
            continue;
        int parts = (int)nd_rand_below(rng, 3);
        for (int k = 0; k < parts; k++)
            add_trade(w, rng, o, (int64_t)nd_rand_below(rng, (uint64_t)(o->qty - o->filled_qty) / 2 + 1));
        if (o->status == ND_RECON_FILLED)
            add_trade(w, rng, o, o->qty - o->filled_qty);
        if (o->status == ND_RECON_FILLED && o->filled_qty < o->qty)
            o->status = ND_RECON_CANCELLED; /* the trade table was full */
    }
    for (uint32_t i = w->trade_count; i > 1; i--) { /* trade ids in a random order */
        uint32_t k = (uint32_t)nd_rand_below(rng, i);
        nd_recon_trade_t tmp = w->trades[i - 1];
        w->trades[i - 1] = w->trades[k];
        w->trades[k] = tmp;
    }
    for (uint32_t i = 0; i < w->trade_count; i++)
        w->trades[i].trade_id = i + 1;
}

static int64_t first_trade(const world_t *w, int64_t venue_id)
{
    for (uint32_t i = 0; i < w->trade_count; i++)
        if (w->trades[i].venue_order_id == venue_id)
            return w->trades[i].trade_id;
    return INT64_MAX;
}

static bool all_trades_below(const world_t *w, int64_t venue_id, int64_t cut)
{
    for (uint32_t i = 0; i < w->trade_count; i++)
        if (w->trades[i].venue_order_id == venue_id && w->trades[i].trade_id > cut)
            return false;
    return true;
}

/* A local view that is a stale prefix of the truth: trades up to cut booked, each order in a
 * state it could have had then (absent only when still open at the venue). */
static void make_local(world_t *w, nd_recon_local_t *l, nd_rand_t *rng, int64_t cut)
{
    w->opening[0] = (nd_recon_asset_t){.asset = "BTC", .amount = 50 * E8};
    w->opening[1] = (nd_recon_asset_t){.asset = "USDT", .amount = 100000 * E8};
    nd_recon_balance_add(l, "BTC", w->opening[0].amount);
    nd_recon_balance_add(l, "USDT", w->opening[1].amount);
    l->has_balances = true;
    for (uint32_t i = 0; i < w->ours; i++) {
        nd_recon_order_t *t = &w->truth[i], lo = *t;
        lo.filled_qty = 0;
        uint64_t pick = nd_rand_below(rng, 4);
        if (t->status == ND_RECON_UNKNOWN || (pick == 0 && first_trade(w, t->venue_id) > cut)) {
            lo.status = ND_RECON_SENT;
            lo.venue_id = 0;
        } else if (pick == 1 && t->status == ND_RECON_OPEN && first_trade(w, t->venue_id) > cut) {
            continue; /* unknown locally (so none of its trades was booked) */
        } else if (pick == 2 || !all_trades_below(w, t->venue_id, cut)) {
            lo.status = ND_RECON_OPEN;
        }
        l->orders[l->order_count++] = lo;
    }
    for (uint32_t i = 0; i < w->trade_count; i++)
        if (w->trades[i].trade_id <= cut) {
            nd_recon_trade_t t = w->trades[i];
            for (uint32_t k = 0; k < w->count; k++)
                if (w->truth[k].venue_id == t.venue_order_id)
                    memcpy(t.clid, w->truth[k].clid, sizeof t.clid);
            cr_assert_eq(nd_recon_book_trade(l, &t, insts, 1), ND_OK);
        }
}

/* The venue's view as the caller fetches it: open orders, queries for local SENT/OPEN orders
 * not open, trades after the last booked, balances (with a random deposit now and then). */
static nd_recon_venue_t make_view(world_t *w, const nd_recon_local_t *l, nd_rand_t *rng)
{
    w->open_count = w->queried_count = 0;
    for (uint32_t i = 0; i < w->count; i++)
        if (w->truth[i].status == ND_RECON_OPEN)
            w->open[w->open_count++] = w->truth[i];
    for (uint32_t i = 0; i < l->order_count; i++) {
        const nd_recon_order_t *lo = &l->orders[i];
        if (lo->status != ND_RECON_SENT && lo->status != ND_RECON_OPEN)
            continue;
        for (uint32_t k = 0; k < w->ours; k++)
            if (strcmp(w->truth[k].clid, lo->clid) == 0 && w->truth[k].status != ND_RECON_OPEN)
                w->queried[w->queried_count++] = w->truth[k];
    }
    nd_recon_local_t *all = local_new();
    nd_recon_balance_add(all, "BTC", w->opening[0].amount);
    nd_recon_balance_add(all, "USDT", w->opening[1].amount);
    for (uint32_t i = 0; i < w->trade_count; i++)
        cr_assert_eq(nd_recon_book_trade(all, &w->trades[i], insts, 1), ND_OK);
    memcpy(w->venue_bal, all->balances, sizeof w->venue_bal);
    nd_free(all);
    if (nd_rand_below(rng, 4) == 0)
        w->venue_bal[1].amount += (int64_t)nd_rand_below(rng, 1000) * E8; /* a deposit */
    size_t first = 0;
    while (first < w->trade_count && w->trades[first].trade_id <= l->last_trade_id)
        first++;
    nd_recon_trade_t *sorted = w->trades; /* ids are 1..n in index order after make_truth */
    return (nd_recon_venue_t){.open = w->open, .open_count = w->open_count,
                              .queried = w->queried, .queried_count = w->queried_count,
                              .trades = sorted + first, .trade_count = w->trade_count - (uint32_t)first,
                              .balances = w->venue_bal, .balance_count = 2, .has_balances = true};
}

static void sort_trades(world_t *w)
{
    for (uint32_t i = 1; i < w->trade_count; i++)
        for (uint32_t k = i; k > 0 && w->trades[k - 1].trade_id > w->trades[k].trade_id; k--) {
            nd_recon_trade_t tmp = w->trades[k];
            w->trades[k] = w->trades[k - 1];
            w->trades[k - 1] = tmp;
        }
}

/* After the resolutions: every order of ours the venue knows is local with its state and
 * executed quantity, every intent it does not know is DROPPED, balances are the venue's. */
static void check_equal(const world_t *w, nd_recon_local_t *l, uint64_t seed)
{
    for (uint32_t i = 0; i < w->ours; i++) {
        const nd_recon_order_t *t = &w->truth[i];
        nd_recon_order_t *lo = nd_recon_find(l, t->clid);
        cr_assert_not_null(lo, "seed %llu: %s missing", (unsigned long long)seed, t->clid);
        nd_recon_status_t want = t->status == ND_RECON_UNKNOWN ? ND_RECON_DROPPED : t->status;
        cr_assert_eq(lo->status, want, "seed %llu: %s is %s, venue %s", (unsigned long long)seed,
                     t->clid, nd_recon_status_name(lo->status), nd_recon_status_name(want));
        cr_assert_eq(lo->filled_qty, t->filled_qty, "seed %llu: %s", (unsigned long long)seed,
                     t->clid);
    }
    for (uint32_t i = 0; i < 2; i++)
        for (uint32_t k = 0; k < l->balance_count; k++)
            if (strcmp(l->balances[k].asset, w->venue_bal[i].asset) == 0)
                cr_assert_eq(l->balances[k].amount, w->venue_bal[i].amount, "seed %llu",
                             (unsigned long long)seed);
    for (uint32_t i = 0; i < w->trade_count; i++)
        cr_assert(nd_recon_booked(l, w->trades[i].trade_id, w->trades[i].side), "seed %llu", (unsigned long long)seed);
}

Test(reconcile, property_resolutions_make_the_views_equal_and_are_idempotent, .timeout = 120)
{
    world_t *w = nd_calloc(1, sizeof *w);
    nd_recon_diff_t *d = nd_calloc(256, sizeof *d);
    nd_recon_local_t *l = local_new(), *once = local_new();
    nd_recon_policy_t p = {.never_sent = ND_RESOLVE_DROP, .unknown_ours = ND_RESOLVE_ADOPT,
                           .balance = ND_RESOLVE_ADOPT};
    int seen[ND_RECON_BALANCE + 1] = {0};
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        nd_rand_t rng;
        nd_rand_init(&rng, seed);
        memset(w, 0, sizeof *w);
        memset(l, 0, sizeof *l);
        make_truth(w, &rng);
        make_local(w, l, &rng, (int64_t)nd_rand_below(&rng, w->trade_count + 1));
        sort_trades(w);
        nd_recon_venue_t v = make_view(w, l, &rng);
        size_t n = 0;
        cr_assert_eq(nd_recon_compare(l, &v, "s1", insts, 1, &p, d, 256, &n), ND_OK);
        for (size_t i = 0; i < n; i++) {
            seen[d[i].kind]++;
            cr_assert_eq(nd_recon_apply(l, &d[i], insts, 1), ND_OK, "seed %llu", (unsigned long long)seed);
        }
        check_equal(w, l, seed);
        memcpy(once, l, sizeof *l);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(nd_recon_apply(l, &d[i], insts, 1), ND_OK);
        cr_assert_eq(memcmp(once, l, sizeof *l), 0, "seed %llu: applying twice changed the view",
                     (unsigned long long)seed);
        v = make_view(w, l, &rng);
        v.balances = w->venue_bal;
        memcpy(w->venue_bal, once->balances, sizeof w->venue_bal); /* no new deposit */
        cr_assert_eq(nd_recon_compare(l, &v, "s1", insts, 1, &p, d, 256, &n), ND_OK);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(d[i].kind, ND_RECON_FOREIGN, "seed %llu: %s left after resolving",
                         (unsigned long long)seed, nd_recon_kind_name(d[i].kind));
    }
    for (int k = ND_RECON_NEVER_SENT; k <= ND_RECON_BALANCE; k++)
        if (k != ND_RECON_VANISHED) /* covered by its own test: the generator never loses orders */
            cr_assert_gt(seen[k], 100, "%s seen %d times", nd_recon_kind_name((nd_recon_kind_t)k), seen[k]);
    nd_free(once);
    nd_free(l);
    nd_free(d);
    nd_free(w);
}

/* ---- compaction: a long session through a view of ND_RECON_ORDERS_MAX orders ------------- */

static void fold_into(void *ctx, const nd_journal_rec_t *rec)
{
    cr_assert_eq(nd_recon_local_fold(ctx, rec, insts, 1), ND_OK, "record %lld", (long long)rec->seq);
}

/* The adapter's path (compact just before journaling a NEW into a full view) and the replay's
 * (the fold compacts when a NEW finds the view full) reach the same view; done orders go,
 * working ones and their fills stay; booked keys before the last trade id go when full. */
Test(reconcile, compaction_keeps_a_long_session_within_the_view_and_replays_the_same, .timeout = 60)
{
    char path[128], err[256] = "";
    temp_path(path, sizeof path);
    nd_journal_t *j = NULL;
    cr_assert_eq(nd_journal_open(path, NULL, NULL, &j, err, sizeof err), ND_OK);
    nd_recon_local_t *live = local_new(), *replay = local_new();
    nd_rand_t rng;
    nd_rand_init(&rng, 12);
    int64_t trade_id = 0;
    uint32_t open_total = 0;
    for (uint64_t k = 1; k <= 3 * ND_RECON_ORDERS_MAX; k++) {
        if (live->order_count == ND_RECON_ORDERS_MAX)
            cr_assert_gt(nd_recon_local_compact(live, NULL), 0);
        nd_journal_rec_t r = new_rec("", E8);
        cr_assert_eq(nd_clid_format("s1", 1, 0, k, r.order.clid), ND_OK);
        cr_assert_eq(nd_journal_append(j, &r, err, sizeof err), ND_OK);
        cr_assert_eq(nd_recon_local_fold(live, &r, insts, 1), ND_OK);
        nd_journal_rec_t st = {.kind = ND_JOURNAL_STATUS, .order = r.order};
        st.order.status = nd_rand_below(&rng, 8) ? ND_RECON_CANCELLED : ND_RECON_OPEN;
        st.order.venue_id = (int64_t)k;
        open_total += st.order.status == ND_RECON_OPEN;
        cr_assert_eq(nd_journal_append(j, &st, err, sizeof err), ND_OK);
        cr_assert_eq(nd_recon_local_fold(live, &st, insts, 1), ND_OK);
        for (int f = 0; f < 5; f++) { /* five fills an order: the booked keys fill up too */
            nd_journal_rec_t fill = {.kind = ND_JOURNAL_FILL};
            fill.trade = (nd_recon_trade_t){.trade_id = ++trade_id, .venue_order_id = (int64_t)k,
                                            .side = ND_SIDE_SELL, .px = 100 * E8, .qty = 1,
                                            .quote_qty = 100};
            memcpy(fill.trade.clid, r.order.clid, sizeof fill.trade.clid);
            cr_assert_eq(nd_journal_append(j, &fill, err, sizeof err), ND_OK);
            cr_assert_eq(nd_recon_local_fold(live, &fill, insts, 1), ND_OK);
        }
    }
    nd_journal_close(j);
    cr_assert_leq(live->order_count, ND_RECON_ORDERS_MAX);
    cr_assert_eq(live->last_trade_id, trade_id);
    cr_assert(nd_recon_booked(live, trade_id, ND_SIDE_SELL));
    uint32_t open_seen = 0;
    for (uint32_t i = 0; i < live->order_count; i++)
        open_seen += live->orders[i].status == ND_RECON_OPEN;
    cr_assert_eq(open_seen, open_total); /* every working order survived every compaction */
    cr_assert_eq(nd_journal_open(path, fold_into, replay, &j, err, sizeof err), ND_OK);
    nd_journal_close(j);
    cr_assert_eq(replay->order_count, live->order_count);
    cr_assert_eq(replay->booked_count, live->booked_count);
    cr_assert_eq(memcmp(replay, live, sizeof *live), 0);
    nd_free(live);
    nd_free(replay);
    unlink(path);
}
