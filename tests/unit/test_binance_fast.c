/* test_binance_fast.c: the one-pass decoder (binance_fast.c) against the generic tokenizing
 * decoder (binance_decode.c). Two decoders read the same bytes, one with the fast path switched
 * off; for the hot shapes the fast path must take the message and both must emit the same
 * events; for a seeded stream of mutated messages (byte flips, insertions, deletions,
 * truncations) both must return the same code, count the same bad-input reasons and emit the
 * same events, so the fast path never accepts what the generic decoder refuses. */
#include "../../src/venues/binance/binance_int.h"

#include "noderr/rand.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>

static const char *const seeds[] = {
    "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1790134512214,\"s\":\"BTCUSDT\","
    "\"t\":5000001,\"p\":\"86620.48000000\",\"q\":\"0.00120000\",\"T\":1790134512213,\"m\":true,"
    "\"M\":true}}",
    "{\"e\":\"trade\",\"E\":1639267200001,\"s\":\"ETHUSDT\",\"t\":7,\"p\":\"4001.1\",\"q\":\"2\","
    "\"b\":88,\"a\":99,\"T\":1639267200000,\"m\":false,\"M\":true}",
    "{\"stream\":\"lrcbtc@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1634032800123,\"s\":\"LRCBTC\","
    "\"a\":42,\"p\":\"0.00000912\",\"q\":\"1500.00000000\",\"f\":100,\"l\":103,\"T\":1634032800120,"
    "\"m\":true,\"M\":true}}",
    "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1790134512214,"
    "\"s\":\"BTCUSDT\",\"U\":1000,\"u\":1009,\"b\":[[\"86620.48000000\",\"0.42061000\"],"
    "[\"86620.45000000\",\"0.00000000\"]],\"a\":[[\"86620.49000000\",\"0.73471000\"]]}}",
    "{\"e\":\"depthUpdate\",\"E\":1790134512214123,\"s\":\"BNBBTC\",\"U\":157,\"u\":160,\"b\":[],"
    "\"a\":[[\"0.0026\",\"100.000000000\"]]}",
};

typedef struct out {
    char text[1 << 21]; /* recorded snapshots run to thousands of levels */
    size_t len;
} out_t;

static void collect(void *ctx, const nd_md_event_t *ev)
{
    out_t *o = ctx;
    static char line[1 << 20];
    size_t n = nd_md_event_json(ev, line, sizeof line);
    cr_assert_lt(n, sizeof line);
    cr_assert_lt(o->len + n + 2, sizeof o->text);
    {
        memcpy(o->text + o->len, line, n);
        o->len += n;
        o->text[o->len++] = '\n';
        o->text[o->len] = '\0';
    }
}

typedef struct pair {
    nd_binance_decoder_t *fast, *slow;
} pair_t;

static void pair_init(pair_t *p)
{
    cr_assert_eq(nd_binance_decoder_create(8, 4096, &p->fast), ND_OK);
    cr_assert_eq(nd_binance_decoder_create(8, 4096, &p->slow), ND_OK);
    p->slow->fast_off = true;
}

static void pair_fini(pair_t *p)
{
    nd_binance_decoder_destroy(p->fast);
    nd_binance_decoder_destroy(p->slow);
}

/* Decodes msg with both; asserts the same code, counters and events. */
static void same(pair_t *p, const char *msg, size_t len, const char *what)
{
    static out_t a, b;
    a.len = b.len = 0;
    a.text[0] = b.text[0] = '\0';
    nd_err_t ra = nd_binance_decode(p->fast, msg, len, 77, collect, &a);
    nd_err_t rb = nd_binance_decode(p->slow, msg, len, 77, collect, &b);
    cr_assert_eq(ra, rb, "%s: rc %d vs %d on %.*s", what, ra, rb, (int)len, msg);
    cr_assert_str_eq(a.text, b.text, "%s on %.*s", what, (int)len, msg);
    const nd_venue_counters_t *ca = nd_binance_decoder_counters(p->fast);
    const nd_venue_counters_t *cb = nd_binance_decoder_counters(p->slow);
    cr_assert_eq(ca->events, cb->events, "%s", what);
    for (int r = 0; r < ND_BAD_COUNT; r++)
        cr_assert_eq(ca->bad[r], cb->bad[r], "%s: reason %d on %.*s", what, r, (int)len, msg);
}

Test(binance_fast, takes_hot_shapes_and_agrees)
{
    pair_t p;
    pair_init(&p);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        uint64_t hits = p.fast->fast_hits;
        same(&p, seeds[i], strlen(seeds[i]), "seed");
        cr_assert_eq(p.fast->fast_hits, hits + 1, "seed %zu not taken by the fast path", i);
    }
    cr_assert_eq(p.slow->fast_hits, 0);
    pair_fini(&p);
}

Test(binance_fast, exact_values)
{
    static out_t o;
    o.len = 0;
    nd_binance_decoder_t *d;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    cr_assert_eq(nd_binance_decode(d, seeds[4], strlen(seeds[4]), 5, collect, &o), ND_OK);
    cr_assert_eq(d->fast_hits, 1);
    /* us times (timeUnit=MICROSECOND), 4 and 9 decimals with a trailing zero. */
    cr_assert(strstr(o.text, "\"venue_ts_ns\":1790134512214123000") != NULL, "%s", o.text);
    cr_assert(strstr(o.text, "\"recv_ts_ns\":5") != NULL, "%s", o.text);
    cr_assert(strstr(o.text, "\"0.00260000\"") != NULL, "%s", o.text);
    cr_assert(strstr(o.text, "\"100.00000000\"") != NULL, "%s", o.text);
    nd_binance_decoder_destroy(d);
}

/* Bytes a mutation writes: JSON punctuation, digits and a few troublemakers. */
static const char alphabet[] = "0123456789.-+\"{}[],: eE\\xtfnul\x01\xc3";

Test(binance_fast, mutations_agree, .timeout = 120)
{
    pair_t p;
    pair_init(&p);
    nd_rand_t rng;
    const uint64_t seed = 20261127;
    nd_rand_init(&rng, seed);
    char buf[1024];
    for (int iter = 0; iter < 60000; iter++) {
        const char *s = seeds[nd_rand_below(&rng, sizeof seeds / sizeof seeds[0])];
        size_t len = strlen(s);
        memcpy(buf, s, len);
        int muts = 1 + (int)nd_rand_below(&rng, 3);
        for (int m = 0; m < muts && len > 0; m++) {
            size_t at = (size_t)nd_rand_below(&rng, len);
            char ch = alphabet[nd_rand_below(&rng, sizeof alphabet - 1)];
            switch (nd_rand_below(&rng, 4)) {
            case 0: buf[at] = ch; break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1), len--; break;
            case 2:
                memmove(buf + at + 1, buf + at, len - at), buf[at] = ch, len++;
                break;
            default: len = at; break;
            }
        }
        char what[64];
        snprintf(what, sizeof what, "seed %llu iteration %d", (unsigned long long)seed, iter);
        same(&p, buf, len, what);
    }
    /* The mutations must have exercised both paths, and bad input. */
    cr_assert_gt(p.fast->fast_hits, 1000);
    cr_assert_gt(nd_venue_bad_total(nd_binance_decoder_counters(p.fast)), 10000);
    pair_fini(&p);
}

/* ---- every path stamps both times ------------------------------------------------------ */

typedef struct stamp {
    int n;
    int64_t venue_ts_ns[8], recv_ts_ns[8];
} stamp_t;

static void stamp_sink(void *ctx, const nd_md_event_t *ev)
{
    stamp_t *s = ctx;
    cr_assert_lt(s->n, 8);
    s->venue_ts_ns[s->n] = ev->venue_ts_ns;
    s->recv_ts_ns[s->n++] = ev->recv_ts_ns;
}

Test(binance_fast, every_kind_carries_venue_and_receive_time)
{
    static const struct { const char *msg; int64_t venue_ms; int events; } cases[] = {
        {"{\"e\":\"trade\",\"E\":1000,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":999,\"m\":true}",
         1000, 1},
        /* The same trade with a space: the generic path. */
        {"{\"e\":\"trade\", \"E\":1001,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":9,\"m\":true}",
         1001, 1},
        {"{\"stream\":\"x@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1002,\"s\":\"X\",\"a\":1,"
         "\"p\":\"1\",\"q\":\"1\",\"f\":1,\"l\":2,\"T\":9,\"m\":false}}", 1002, 1},
        {"{\"e\":\"depthUpdate\",\"E\":1003,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[],\"a\":[]}", 1003, 1},
        {"{\"e\":\"depthUpdate\",\"E\":1004,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[ ],\"a\":[]}", 1004, 1},
        {"{\"e\":\"kline\",\"E\":1005,\"s\":\"X\",\"k\":{\"t\":0,\"T\":59999,\"i\":\"1m\",\"o\":\"1\","
         "\"h\":\"1\",\"l\":\"1\",\"c\":\"1\",\"v\":\"1\",\"q\":\"1\",\"n\":1,\"x\":false}}", 1005, 1},
        {"{\"e\":\"balanceUpdate\",\"E\":1006,\"a\":\"BTC\",\"d\":\"1\",\"T\":1}", 1006, 1},
        {"{\"subscriptionId\":0,\"event\":{\"e\":\"outboundAccountPosition\",\"E\":1007,\"u\":1,"
         "\"B\":[{\"a\":\"A\",\"f\":\"1\",\"l\":\"0\"},{\"a\":\"B\",\"f\":\"2\",\"l\":\"0\"}]}}", 1007, 2},
        {"{\"stream\":\"!serverShutdown\",\"data\":{\"e\":\"serverShutdown\",\"E\":1008}}", 1008, 1},
        /* Binance sends no time with these: venue time 0. */
        {"{\"u\":5,\"s\":\"X\",\"b\":\"1\",\"B\":\"1\",\"a\":\"2\",\"A\":\"1\"}", 0, 1},
        {"{\"lastUpdateId\":5,\"bids\":[],\"asks\":[]}", 0, 1},
        {"{\"result\":null,\"id\":1}", 0, 1},
    };
    nd_binance_decoder_t *d;
    cr_assert_eq(nd_binance_decoder_create(0, 0, &d), ND_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stamp_t s = {0};
        int64_t recv = 1790000000000000000LL + (int64_t)i;
        cr_assert_eq(nd_binance_decode(d, cases[i].msg, strlen(cases[i].msg), recv, stamp_sink, &s),
                     ND_OK, "case %zu", i);
        cr_assert_eq(s.n, cases[i].events, "case %zu", i);
        for (int k = 0; k < s.n; k++) {
            cr_assert_eq(s.recv_ts_ns[k], recv, "case %zu event %d", i, k);
            cr_assert_eq(s.venue_ts_ns[k], cases[i].venue_ms * ND_NS_PER_MS, "case %zu", i);
        }
    }
    /* Cases 0, 2 and 3 took the fast path, 1 and 4 (a space) the generic one. */
    cr_assert_eq(d->fast_hits, 3);
    nd_binance_decoder_destroy(d);
}

/* ---- the two paths agree on every recorded message and on hostile ones (issue 10) ------- */

static void pair_init_default(pair_t *p)
{
    cr_assert_eq(nd_binance_decoder_create(0, 0, &p->fast), ND_OK);
    cr_assert_eq(nd_binance_decoder_create(0, 0, &p->slow), ND_OK);
    p->slow->fast_off = true;
}

/* Feeds a file to both decoders: one message a line for .jsonl, the whole file otherwise. */
static int same_file(pair_t *p, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int messages = 0;
    if (strstr(path, ".jsonl")) {
        for (char *line = buf, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            if (len > 0) {
                same(p, line, len, path);
                messages++;
            }
            if (!nl)
                break;
        }
    } else {
        same(p, buf, n, path);
        messages++;
    }
    return messages;
}

Test(binance_fast, recorded_fixtures_agree, .timeout = 60)
{
    static const char *const dirs[] = {"binance/ws", "binance/docs/ws", "binance/docs/user_data",
                                       "binance/docs/rest"};
    static const char *const sessions[] = {"BLZETH", "LRCBTC", "RUNEEUR", "binance_us_COMPUSDT",
                                           "binance_us_CRVUSDT"};
    pair_t p;
    pair_init_default(&p);
    int messages = 0;
    char path[1024];
    for (size_t i = 0; i < sizeof sessions / sizeof sessions[0]; i++) {
        snprintf(path, sizeof path, "%s/fixtures/binance/depth_sync/%s/diffs.jsonl", ND_SHARED_DIR,
                 sessions[i]);
        messages += same_file(&p, path);
        snprintf(path, sizeof path, "%s/fixtures/binance/depth_sync/%s/snapshot.json",
                 ND_SHARED_DIR, sessions[i]);
        messages += same_file(&p, path);
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/fixtures/%s", ND_SHARED_DIR, dirs[i]);
        DIR *d = opendir(path);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char file[2048];
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            messages += same_file(&p, file);
        }
        closedir(d);
    }
    if (messages == 0)
        cr_skip_test("shared Binance fixtures absent");
    /* The recorded diffs are the fast path's shape: it must have taken most of them. */
    cr_assert_gt(p.fast->fast_hits, 100, "fast path took %llu of %d messages",
                 (unsigned long long)p.fast->fast_hits, messages);
    pair_fini(&p);
}

Test(binance_fast, hostile_cases_agree)
{
    static const char *const cases[] = {
        /* symbols: 31 fit, 32 and more do not; escapes only on the generic path */
        "{\"e\":\"trade\",\"E\":1,\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ01234\",\"t\":1,\"p\":\"1\","
        "\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"t\":1,\"p\":\"1\","
        "\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"A\\nB\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"A\\ud800\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,"
        "\"m\":true}",
        "{\"stream\":\"abcdefghijklmnopqrstuvwxyz0123456789@trade\",\"data\":{\"e\":\"trade\","
        "\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
        "{\"stream\":\"abcdefghijklmnopqrstuvwxyz01234@trade\",\"data\":{\"e\":\"trade\","
        "\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}}",
        /* values: zero and negative prices and sizes */
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"0\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"0\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"0.00000000\",\"T\":1,"
        "\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"-1\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"aggTrade\",\"E\":1,\"s\":\"X\",\"a\":1,\"p\":\"1\",\"q\":\"0\",\"f\":1,\"l\":1,"
        "\"T\":1,\"m\":true}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[[\"0.00000000\",\"1\"]],"
        "\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[[\"1\",\"-1\"]],\"a\":[]}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":1,\"u\":2,\"b\":[[\"1\",\"0\"]],\"a\":[]}",
        /* numbers at the edges of the fast parser: long integers, leading zeros, 9 decimals */
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"99999999999\",\"q\":\"1\",\"T\":1,"
        "\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"0001\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1.000000001\",\"q\":\"1\",\"T\":1,"
        "\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1.000000000\",\"q\":\"1\",\"T\":1,"
        "\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1.\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\".5\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":9223372036854775807,\"p\":\"1\",\"q\":\"1\","
        "\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":-0,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}",
        /* shape: repeated keys, a missing key, unknown nested values */
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"s\":\"Y\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,"
        "\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"X\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\"T\":1,\"m\":true,"
        "\"Z\":{\"a\":[1]}}",
        "{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":3,\"u\":2,\"b\":[],\"a\":[]}",
    };
    pair_t p;
    pair_init_default(&p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "hostile case %zu", i);
        same(&p, cases[i], strlen(cases[i]), what);
    }
    /* The in-range cases went through the fast path; the refused ones were counted. */
    cr_assert_gt(p.fast->fast_hits, 3);
    cr_assert_gt(nd_venue_bad_total(nd_binance_decoder_counters(p.fast)), 12);
    pair_fini(&p);
}
