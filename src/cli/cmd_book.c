/* cmd_book.c: `noderr book replay`, rebuilds a venue's order book from a recorded session and
 * prints its final state.
 *
 * --venue binance: a REST depth snapshot (--snapshot) and the recorded diff frames (--diffs,
 * one message a line, combined-stream envelopes allowed) go through Binance's documented
 * procedure (nd_binance_depth_*). --venue coinbase-exchange: the Coinbase
 * connector's nd_coinbase_exchange_replay. Prices and
 * quantities print with the decimals the venue uses (8 for Binance), as the venue sends them.
 * Depth messages for another symbol than the one followed are not applied and are counted
 * (events_other_symbol), never dropped silently. Exit 0 in sync, 1 when the replay ended out
 * of sync (Binance gap, a Coinbase stream that never synced: no snapshot, empty, unreadable
 * lines), with the reason on stderr; 2 usage or input error (unreadable file). */
#include "cli.h"

#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/book.h"
#include "noderr/coinbase.h"
#include "noderr/file.h"
#include "noderr/venue.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int nd_cmd_book(int argc, char **argv);

/* Largest recorded file accepted: a day of one symbol's diffs is far smaller. */
#define BOOK_FILE_MAX (512u << 20)

typedef struct book_opts {
    const char *venue, *snapshot, *diffs, *stream;
    bool json;
} book_opts_t;

static void book_usage(FILE *f)
{
    fputs("usage: noderr book replay --venue binance --snapshot FILE --diffs FILE [--json]\n"
          "       noderr book replay --venue coinbase-exchange --stream FILE [--json]\n"
          "\n"
          "  --snapshot FILE   Binance REST GET /api/v3/depth body\n"
          "  --diffs FILE      recorded depthUpdate frames, one message a line\n"
          "  --stream FILE     Coinbase Exchange level2 stream (snapshot then l2update)\n"
          "  --json            one JSON object: status, final_update_id, events_applied,\n"
          "                    events_dropped, bid_levels, ask_levels, top5_bids, top5_asks\n"
          "Exit codes: 0 in sync, 1 the replay ended out of sync or never synced (no usable\n"
          "snapshot, an empty or unreadable stream: the reason goes to stderr), 2 usage or\n"
          "input error.\n",
          f);
}

/* Reads a whole recorded file (nd_file_read); prints why on failure. */
static char *slurp(const char *path, size_t *len)
{
    char *buf = NULL, err[512];
    if (nd_file_read(path, BOOK_FILE_MAX, 0, &buf, len, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr book: %s\n", err);
        return NULL;
    }
    return buf;
}

static void print_levels(const nd_book_t *book, nd_book_side_t side, int px_shown, int qty_shown,
                         bool json)
{
    nd_book_level_t top[5];
    uint32_t n = nd_book_top(book, side, top, 5);
    for (uint32_t i = 0; i < n; i++) {
        char px[32], qty[32];
        nd_venue_format(top[i].px, ND_VENUE_DECIMALS, px_shown, px, sizeof px);
        nd_venue_format(top[i].qty, ND_VENUE_DECIMALS, qty_shown, qty, sizeof qty);
        if (json)
            printf("%s[\"%s\",\"%s\"]", i ? "," : "", px, qty);
        else
            printf("  %-4s %s  %s\n", side == ND_BOOK_BID ? "bid" : "ask", px, qty);
    }
}

static void print_book(const nd_book_t *book, const nd_replay_result_t *r, bool binance, bool json)
{
    uint32_t bids = nd_book_levels(book, ND_BOOK_BID), asks = nd_book_levels(book, ND_BOOK_ASK);
    if (!json) {
        if (binance)
            printf("status %s\nfinal_update_id %" PRId64 "\nevents_applied %" PRIu64
                   "\nevents_dropped %" PRIu64 "\n",
                   r->status, r->final_update_id, r->events_applied, r->events_dropped);
        else
            printf("status %s\nupdates_applied %" PRIu64 "\nmessages_bad %" PRIu64 "\n",
                   r->status, r->events_applied, r->messages_bad);
        printf("events_other_symbol %" PRIu64 "\n", r->events_other_symbol);
        printf("bid_levels %u\nask_levels %u\n", bids, asks);
        print_levels(book, ND_BOOK_BID, r->px_shown, r->qty_shown, false);
        print_levels(book, ND_BOOK_ASK, r->px_shown, r->qty_shown, false);
        return;
    }
    if (binance)
        printf("{\"status\":\"%s\",\"final_update_id\":%" PRId64 ",\"events_applied\":%" PRIu64
               ",\"events_dropped\":%" PRIu64 ",",
               r->status, r->final_update_id, r->events_applied, r->events_dropped);
    else
        printf("{\"status\":\"%s\",\"updates_applied\":%" PRIu64 ",\"messages_bad\":%" PRIu64
               ",", r->status, r->events_applied, r->messages_bad);
    printf("\"events_other_symbol\":%" PRIu64 ",", r->events_other_symbol);
    printf("\"bid_levels\":%u,\"ask_levels\":%u,\"top5_bids\":[", bids, asks);
    print_levels(book, ND_BOOK_BID, r->px_shown, r->qty_shown, true);
    printf("],\"top5_asks\":[");
    print_levels(book, ND_BOOK_ASK, r->px_shown, r->qty_shown, true);
    printf("]}\n");
}

typedef struct replay_ctx {
    nd_binance_depth_t *depth;
    bool snapshot_seen;
    nd_err_t snapshot_rc;
    char symbol[ND_NAME_MAX];
    uint64_t other_events; /* messages of other kinds, ignored */
    uint64_t other_symbol; /* depth diffs for another symbol: counted and shown, not applied */
} replay_ctx_t;

static void replay_sink(void *ctx, const nd_md_event_t *ev)
{
    replay_ctx_t *r = ctx;
    if (ev->kind != ND_MD_BOOK_UPDATE) {
        r->other_events++;
        return;
    }
    if (ev->u.book.snapshot) {
        r->snapshot_seen = true;
        r->snapshot_rc = nd_binance_depth_snapshot(r->depth, &ev->u.book);
        return;
    }
    /* A recording may interleave several symbols: follow the first one seen. */
    if (r->symbol[0] == '\0')
        snprintf(r->symbol, sizeof r->symbol, "%s", ev->symbol);
    if (strcmp(r->symbol, ev->symbol) != 0) {
        r->other_symbol++;
        return;
    }
    (void)nd_binance_depth_diff(r->depth, &ev->u.book);
}

/* Feeds every line of the diffs file to the decoder; bad lines are counted, not fatal. */
static void replay_lines(nd_binance_decoder_t *dec, char *text, size_t len, replay_ctx_t *r)
{
    size_t pos = 0;
    while (pos < len) {
        char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (strspn(text + pos, " \t") < n)
            (void)nd_binance_decode(dec, text + pos, n, 0, replay_sink, r);
        pos = end + 1;
    }
}

static int replay_binance(const book_opts_t *o)
{
    size_t snap_len = 0, diffs_len = 0;
    char *snap = slurp(o->snapshot, &snap_len);
    char *diffs = snap ? slurp(o->diffs, &diffs_len) : NULL;
    nd_binance_decoder_t *dec = NULL;
    nd_binance_depth_t depth;
    int rc = ND_EXIT_USAGE;
    memset(&depth, 0, sizeof depth);
    if (!diffs || nd_binance_decoder_create(0, BOOK_FILE_MAX, &dec) != ND_OK ||
        nd_binance_depth_init(&depth, ND_BOOK_LEVELS_MAX, 1, 1) != ND_OK)
        goto out;
    replay_ctx_t r = {.depth = &depth};
    if (nd_binance_decode(dec, snap, snap_len, 0, replay_sink, &r) != ND_OK || !r.snapshot_seen ||
        r.snapshot_rc != ND_OK) {
        if (r.snapshot_seen && r.snapshot_rc != ND_OK)
            fprintf(stderr, "noderr book: %s: snapshot refused: %s\n", o->snapshot,
                    r.snapshot_rc == ND_EFULL ? "more levels a side than the book holds"
                                              : "crossed (best bid >= best ask)");
        else
            fprintf(stderr, "noderr book: %s: not a Binance depth snapshot ({\"lastUpdateId\", "
                            "\"bids\", \"asks\"})\n", o->snapshot);
        goto out;
    }
    uint64_t bad_before = nd_venue_bad_total(nd_binance_decoder_counters(dec));
    replay_lines(dec, diffs, diffs_len, &r);
    uint64_t bad = nd_venue_bad_total(nd_binance_decoder_counters(dec)) - bad_before;
    if (bad > 0)
        fprintf(stderr, "noderr book: %s: %" PRIu64 " bad message(s) skipped\n", o->diffs, bad);
    if (r.other_symbol > 0)
        fprintf(stderr, "noderr book: %s: %" PRIu64 " depth message(s) for a symbol other than %s "
                        "not applied\n", o->diffs, r.other_symbol, r.symbol);
    nd_replay_result_t res = {.final_update_id = depth.last_update_id,
                              .events_applied = depth.applied,
                              .events_dropped = depth.dropped,
                              .px_shown = ND_VENUE_DECIMALS,
                              .qty_shown = ND_VENUE_DECIMALS,
                              .events_other_symbol = r.other_symbol,
                              .messages_bad = bad};
    /* A snapshot with no bridging diff is still a consistent book as of lastUpdateId. */
    bool in_sync = depth.status != ND_BINANCE_SYNC_RESYNC;
    snprintf(res.status, sizeof res.status, "%s", in_sync ? "ok" : "resync");
    print_book(&depth.book, &res, true, o->json);
    rc = in_sync ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
out:
    nd_binance_depth_deinit(&depth);
    nd_binance_decoder_destroy(dec);
    nd_free(snap);
    nd_free(diffs);
    return rc;
}

static int replay_coinbase_exchange(const book_opts_t *o)
{
    nd_book_t book;
    nd_replay_result_t res;
    char err[256] = "";
    if (nd_book_init(&book, ND_BOOK_LEVELS_MAX) != ND_OK) {
        fprintf(stderr, "noderr book: out of memory\n");
        return ND_EXIT_USAGE;
    }
    memset(&res, 0, sizeof res);
    nd_err_t e = nd_coinbase_exchange_replay(o->stream, &book, &res, err, sizeof err);
    if (e != ND_OK) {
        if (err[0])
            fprintf(stderr, "noderr book: %s\n", err);
        else
            fprintf(stderr, "noderr book: %s: %s\n", o->stream, nd_strerror(e));
        nd_book_deinit(&book);
        return ND_EXIT_USAGE;
    }
    print_book(&book, &res, false, o->json);
    nd_book_deinit(&book);
    if (strcmp(res.status, "ok") != 0) {
        fprintf(stderr, "noderr book: %s: the book never synced: %s\n", o->stream,
                res.reason[0] ? res.reason : res.status);
        return ND_EXIT_CHECK_FAILED;
    }
    if (res.messages_bad > 0)
        fprintf(stderr, "noderr book: %s: %" PRIu64 " bad message(s) refused\n", o->stream,
                res.messages_bad);
    return ND_EXIT_OK;
}

static int parse_book_opts(int argc, char **argv, book_opts_t *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--venue") == 0      ? &o->venue
                            : strcmp(a, "--snapshot") == 0 ? &o->snapshot
                            : strcmp(a, "--diffs") == 0    ? &o->diffs
                            : strcmp(a, "--stream") == 0   ? &o->stream
                                                           : NULL;
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "noderr book: %s needs a value\n", a);
                return -1;
            }
            *slot = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else {
            fprintf(stderr, "noderr book: unknown option '%s'\n", a);
            return -1;
        }
    }
    return 0;
}

int nd_cmd_book(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        book_usage(stdout);
        return ND_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "replay") != 0) {
        fprintf(stderr, "noderr book: expected the subcommand 'replay'\n");
        book_usage(stderr);
        return ND_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0) {
            book_usage(stdout);
            return ND_EXIT_OK;
        }
    book_opts_t o = {0};
    if (parse_book_opts(argc, argv, &o) != 0)
        return ND_EXIT_USAGE;
    if (!o.venue) {
        fprintf(stderr, "noderr book: --venue is required (binance or coinbase-exchange)\n");
        return ND_EXIT_USAGE;
    }
    if (strcmp(o.venue, "binance") == 0) {
        if (!o.snapshot || !o.diffs) {
            fprintf(stderr, "noderr book: --venue binance needs --snapshot and --diffs\n");
            return ND_EXIT_USAGE;
        }
        return replay_binance(&o);
    }
    if (strcmp(o.venue, "coinbase-exchange") == 0) {
        if (!o.stream) {
            fprintf(stderr, "noderr book: --venue coinbase-exchange needs --stream\n");
            return ND_EXIT_USAGE;
        }
        return replay_coinbase_exchange(&o);
    }
    fprintf(stderr, "noderr book: unknown venue '%s' (binance or coinbase-exchange)\n", o.venue);
    return ND_EXIT_USAGE;
}
