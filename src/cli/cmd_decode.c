/* cmd_decode.c: `noderr decode`, prints the normalised events of a recorded venue stream.
 *
 * Input is JSON lines (one message a line) or one JSON document: a single (possibly
 * pretty-printed) message, or an array of messages. Each message goes through the venue's
 * decoder (nd_md_decoder_ops_t); the Coinbase decoders are the Coinbase connector's. Bad
 * messages are counted per reason and summarised on stderr; they never stop the run.
 * Exit 0 when the file was read (even with bad messages, unless --strict), 2 on usage or
 * input errors, 1 with --strict when any message was bad. */
#include "cli.h"

#include "noderr/coinbase.h"

#include "noderr/alloc.h"
#include "noderr/binance.h"
#include "noderr/file.h"
#include "noderr/venue.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int nd_cmd_decode(int argc, char **argv);

/* Largest file decoded; as one JSON document only up to DOC_MAX (tokens cost memory). */
#define DECODE_FILE_MAX (1024u << 20)
#define DOC_MAX (16u << 20)

typedef struct decode_opts {
    const char *venue, *path;
    bool json, strict;
} decode_opts_t;

typedef struct decode_run {
    const nd_md_decoder_ops_t *ops;
    void *dec;
    bool json;
    char line[1 << 16];
} decode_run_t;

static void decode_usage(FILE *f)
{
    fputs("usage: noderr decode --venue binance|coinbase|coinbase-exchange FILE [--json] "
          "[--strict]\n"
          "\n"
          "  FILE       recorded messages: JSON lines, one JSON message, or a JSON array\n"
          "  --json     one JSON object per normalised event (default: a short text line)\n"
          "  --strict   exit 1 when any message was malformed, truncated or unknown\n"
          "A summary of messages, events and bad inputs by reason goes to stderr.\n",
          f);
}

static void print_event(void *ctx, const nd_md_event_t *ev)
{
    decode_run_t *run = ctx;
    size_t n = nd_md_event_json(ev, run->line, sizeof run->line);
    if (n >= sizeof run->line)
        fprintf(stderr, "noderr decode: event output cut at %zu bytes\n", sizeof run->line);
    if (run->json) {
        fputs(run->line, stdout);
        fputc('\n', stdout);
        return;
    }
    /* Text form: kind and symbol first, then the JSON fields after them. */
    const char *rest = strstr(run->line, ",\"recv_ts_ns\"");
    rest = rest ? strchr(rest + 1, ',') : NULL;
    printf("%-12s %-10s %s\n", nd_md_kind_name(ev->kind), ev->symbol, rest ? rest + 1 : "");
}

static void decode_one(decode_run_t *run, const char *msg, size_t len)
{
    (void)run->ops->decode(run->dec, msg, len, 0, print_event, run);
}

static void decode_lines(decode_run_t *run, const char *text, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        if (n > 0 && text[pos + n - 1] == '\r')
            n--;
        if (strspn(text + pos, " \t") < n)
            decode_one(run, text + pos, n);
        pos = end + 1;
    }
}

/* True when the first non-blank line closes every bracket it opens (JSON lines), false when
 * a value continues past it (a pretty-printed document). */
static bool first_line_complete(const char *text, size_t len)
{
    int depth = 0;
    bool in_str = false, seen = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '\n' && seen)
            return depth <= 0;
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
            depth--;
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            seen = true;
    }
    return true;
}

/* Decodes text as one JSON document; false when it is not one (the caller falls back). */
static bool decode_document(decode_run_t *run, const char *text, size_t len)
{
    if (len > DOC_MAX)
        return false;
    uint32_t cap = (uint32_t)(len / 2 + 16), count = 0;
    nd_jtok_t *tok = nd_calloc(cap, sizeof *tok);
    if (!tok || nd_json_tokenize(text, len, tok, cap, &count) != ND_OK) {
        nd_free(tok);
        return false;
    }
    if (tok[0].type != ND_J_ARRAY) {
        decode_one(run, text, len);
    } else {
        for (uint32_t i = 1; i < count; i = tok[i].next) {
            /* String tokens exclude their quotes: widen the span to the whole value. */
            uint32_t quote = tok[i].type == ND_J_STRING ? 1 : 0;
            decode_one(run, text + tok[i].start - quote, tok[i].end - tok[i].start + 2 * quote);
        }
    }
    nd_free(tok);
    return true;
}

static int parse_decode_opts(int argc, char **argv, decode_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--venue") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "noderr decode: --venue needs a value\n");
                return -1;
            }
            o->venue = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = true;
        } else if (strcmp(argv[i], "--strict") == 0) {
            o->strict = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "noderr decode: unknown option '%s'\n", argv[i]);
            return -1;
        } else if (!o->path) {
            o->path = argv[i];
        } else {
            fprintf(stderr, "noderr decode: more than one FILE given\n");
            return -1;
        }
    }
    if (!o->venue || !o->path) {
        fprintf(stderr, "noderr decode: --venue and FILE are required\n");
        return -1;
    }
    return 0;
}

static const nd_md_decoder_ops_t *venue_ops(const char *venue)
{
    if (strcmp(venue, "binance") == 0)
        return nd_binance_decoder_ops();
    if (strcmp(venue, "coinbase") == 0)
        return nd_coinbase_decoder_ops();
    if (strcmp(venue, "coinbase-exchange") == 0)
        return nd_coinbase_exchange_decoder_ops();
    return NULL;
}

static void summary(const nd_venue_counters_t *c, const char *venue, bool json)
{
    if (json) {
        fprintf(stderr, "{\"venue\":\"%s\",\"messages\":%" PRIu64 ",\"events\":%" PRIu64
                        ",\"bad\":{", venue, c->messages, c->events);
        for (int r = 0; r < ND_BAD_COUNT; r++)
            fprintf(stderr, "%s\"%s\":%" PRIu64, r ? "," : "", nd_bad_input_name((nd_bad_input_t)r),
                    c->bad[r]);
        fprintf(stderr, "}}\n");
        return;
    }
    fprintf(stderr, "noderr decode: %s: %" PRIu64 " messages, %" PRIu64 " events, %" PRIu64
                    " bad", venue, c->messages, c->events, nd_venue_bad_total(c));
    for (int r = 0; r < ND_BAD_COUNT; r++)
        if (c->bad[r])
            fprintf(stderr, " %s=%" PRIu64, nd_bad_input_name((nd_bad_input_t)r), c->bad[r]);
    fprintf(stderr, "\n");
}

int nd_cmd_decode(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            decode_usage(stdout);
            return ND_EXIT_OK;
        }
    decode_opts_t o = {0};
    if (parse_decode_opts(argc, argv, &o) != 0)
        return ND_EXIT_USAGE;
    const nd_md_decoder_ops_t *ops = venue_ops(o.venue);
    if (!ops) {
        fprintf(stderr, "noderr decode: venue '%s' is unknown or not built into this binary "
                        "(binance, coinbase, coinbase-exchange)\n", o.venue);
        return ND_EXIT_USAGE;
    }
    size_t len = 0;
    char *text = NULL, err[512];
    if (nd_file_read(o.path, DECODE_FILE_MAX, 0, &text, &len, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr decode: %s\n", err);
        return ND_EXIT_USAGE;
    }
    decode_run_t *run = nd_calloc(1, sizeof *run);
    if (!run || ops->create(&run->dec) != ND_OK) {
        fprintf(stderr, "noderr decode: out of memory\n");
        nd_free(run);
        nd_free(text);
        return ND_EXIT_USAGE;
    }
    run->ops = ops;
    run->json = o.json;
    if (first_line_complete(text, len) || !decode_document(run, text, len))
        decode_lines(run, text, len);
    fflush(stdout);
    const nd_venue_counters_t *c = ops->counters(run->dec);
    summary(c, o.venue, o.json);
    int rc = o.strict && nd_venue_bad_total(c) > 0 ? ND_EXIT_CHECK_FAILED : ND_EXIT_OK;
    ops->destroy(run->dec);
    nd_free(run);
    nd_free(text);
    return rc;
}
