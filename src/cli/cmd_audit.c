/* cmd_audit.c: `noderr audit verify --db URL [--json] [--head HASH]`: walks the audit chain.
 * Exit 0 with the count verified, 1 naming the first record altered, deleted, inserted or
 * reordered, 2 on a usage error or a store that cannot be read.
 * `noderr audit export --db URL [--format csv|json]`: the records decoded from their stored
 * canonical encoding (the database keeps only that), for people reading them by hand. */
#include "cli.h"
#include "noderr/store.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nd_cmd_audit(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr audit verify --db URL [--json] [--head HASH]\n"
    "       noderr audit export --db URL [--format csv|json]\n"
    "\n"
    "Recomputes every record's SHA-256 link (sqlite:PATH, a bare PATH, or postgresql://...),\n"
    "then checks that the chain ends at the head the store wrote with its last commit (the\n"
    "audit_head table and, for SQLite, the head file PATH.head; signed with HMAC-SHA256 when\n"
    "NODERR_AUDIT_KEY or NODERR_AUDIT_KEY_FILE is set). Exit 0: every record verified, and the\n"
    "head verified (count and hash) is printed so it can be noted; exit 1: the first record\n"
    "altered, deleted, inserted or reordered, or a missing, rolled-back or wrongly signed\n"
    "head, is named. --head checks that the chain still ends at a hash noted earlier.\n"
    "export prints every record decoded (CSV with a header row, the default, or a JSON\n"
    "array), in seq order; it does not verify the chain.\n";

typedef struct audit_opts {
    const char *url, *head, *format;
    bool json;
} audit_opts_t;

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("db", audit_opts_t, url),
    ND_CLI_SET("json", audit_opts_t, json),
    ND_CLI_TEXT("head", audit_opts_t, head),
    ND_CLI_TEXT("format", audit_opts_t, format),
    ND_CLI_OPTS_END,
};

typedef struct head_find {
    const char *hex;
    int64_t seq;
} head_find_t;

static nd_err_t find_head(void *ctx, const nd_record_t *rec)
{
    head_find_t *h = ctx;
    char hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(rec->hash, hex);
    if (strcmp(hex, h->hex) == 0) {
        h->seq = rec->seq;
        return ND_EDECLINED;
    }
    return ND_OK;
}

/* --head: a verified chain must still end at the hash noted earlier. */
static void check_head(nd_store_t *s, const char *want, nd_audit_result_t *r)
{
    char hex[2 * ND_HASH_SIZE + 1], err[128];
    nd_hash_hex(r->head, hex);
    if (r->problem != ND_AUDIT_OK || strcmp(hex, want) == 0)
        return;
    head_find_t h = {want, 0};
    nd_store_scan(s, NULL, &h, find_head, err, sizeof err);
    if (h.seq > 0) {
        r->problem = ND_AUDIT_INSERTED;
        r->seq = h.seq + 1;
        snprintf(r->detail, sizeof r->detail, "the chain went on after the expected head "
                 "(seq %lld): seq %lld..%lld were added", (long long)h.seq,
                 (long long)h.seq + 1, (long long)r->last_seq);
    } else {
        r->problem = ND_AUDIT_DELETED;
        r->seq = r->last_seq + 1;
        snprintf(r->detail, sizeof r->detail, "the chain ends at seq %lld with head %.16s..., "
                 "not at the expected head: records at the end were removed or rewritten",
                 (long long)r->last_seq, hex);
    }
}

static int report(const nd_audit_result_t *r, bool json)
{
    char hex[2 * ND_HASH_SIZE + 1];
    nd_hash_hex(r->head, hex);
    bool ok = r->problem == ND_AUDIT_OK;
    if (json) {
        json_t *doc = json_pack("{s:b,s:I,s:I,s:I,s:I,s:s}", "ok", ok, "verified",
                                (json_int_t)r->verified, "pruned", (json_int_t)r->pruned,
                                "prune_records", (json_int_t)r->prune_records, "last_seq",
                                (json_int_t)r->last_seq, "head", hex);
        if (r->head_checked[0]) {
            json_object_set_new(doc, "store_head_seq", json_integer(r->head_seq));
            json_object_set_new(doc, "store_head_checked", json_string(r->head_checked));
            json_object_set_new(doc, "signature", json_string(r->signature));
        }
        if (!ok) {
            json_object_set_new(doc, "problem", json_string(nd_audit_problem_name(r->problem)));
            json_object_set_new(doc, "seq", json_integer(r->seq));
            json_object_set_new(doc, "detail", json_string(r->detail));
        }
        if (nd_cli_print_json_take(doc) != 0)
            return ND_EXIT_USAGE;
    } else if (ok) {
        printf("noderr audit verify: %lld records verified (%lld pruned through %lld prune "
               "records), head %s at seq %lld; the store's head (%s) agrees; signature %s\n",
               (long long)r->verified, (long long)r->pruned, (long long)r->prune_records, hex,
               (long long)r->last_seq, r->head_checked, r->signature);
    } else {
        printf("noderr audit verify: %s at seq %lld: %s (%lld records verified before it, up "
               "to seq %lld, head %s)\n", nd_audit_problem_name(r->problem), (long long)r->seq,
               r->detail, (long long)r->verified, (long long)r->last_seq, hex);
    }
    return ok ? ND_EXIT_OK : ND_EXIT_CHECK_FAILED;
}

static int verify(const char *url, bool json, const char *head)
{
    nd_store_t *s = NULL;
    char err[512] = "";
    nd_err_t rc = nd_store_open(url, 0, &s, err, sizeof err);
    nd_audit_result_t r;
    if (rc == ND_OK)
        rc = nd_audit_verify(s, &r, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr audit verify: --db %s: %s\n", url, err[0] ? err : nd_strerror(rc));
        nd_store_close(s);
        return ND_EXIT_USAGE;
    }
    if (head)
        check_head(s, head, &r);
    nd_store_close(s);
    return report(&r, json);
}

/* ---- export ------------------------------------------------------------------------------ */

static const char *const export_columns[] = {
    "seq", "ts_ns", "kind", "kind_name", "side", "event", "account", "strategy", "venue",
    "instrument", "jurisdiction", "client_order_id", "venue_order_id", "px", "px_scale", "qty",
    "qty_scale", "notional", "fee", "from_ns", "to_ns", "reason", "detail", "prev_hash", "hash",
};
#define EXPORT_COLUMNS (sizeof export_columns / sizeof export_columns[0])

typedef struct export_ctx {
    bool json;
    int64_t count;
} export_ctx_t;

/* The record's fields in export_columns order, as text (numbers in decimal). */
static void export_fields(const nd_record_t *r, char nums[11][24], char hex[2][65],
                          const char *out[EXPORT_COLUMNS])
{
    const int64_t ints[11] = {r->seq, r->ts_ns, r->kind, r->side, r->px, r->px_scale, r->qty,
                              r->qty_scale, r->notional, r->fee, r->from_ns};
    for (int k = 0; k < 11; k++)
        snprintf(nums[k], 24, "%lld", (long long)ints[k]);
    nd_hash_hex(r->prev_hash, hex[0]);
    nd_hash_hex(r->hash, hex[1]);
    const char *fields[EXPORT_COLUMNS] = {
        nums[0], nums[1], nums[2], nd_record_kind_name(r->kind), nums[3], r->event, r->account,
        r->strategy, r->venue, r->instrument, r->jurisdiction, r->client_order_id,
        r->venue_order_id, nums[4], nums[5], nums[6], nums[7], nums[8], nums[9], nums[10],
        NULL, r->reason, r->detail, hex[0], hex[1],
    };
    memcpy(out, fields, sizeof fields);
}

/* One CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void csv_field(const char *text, char sep)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        fputs(text, stdout);
    } else {
        putchar('"');
        for (const char *p = text; *p; p++) {
            if (*p == '"')
                putchar('"');
            putchar(*p);
        }
        putchar('"');
    }
    putchar(sep);
}

static nd_err_t export_record(void *ctx, const nd_record_t *r)
{
    export_ctx_t *x = ctx;
    char nums[11][24], to_ns[24], hex[2][65];
    const char *f[EXPORT_COLUMNS];
    export_fields(r, nums, hex, f);
    snprintf(to_ns, sizeof to_ns, "%lld", (long long)r->to_ns);
    f[20] = to_ns;
    if (!x->json) {
        for (size_t k = 0; k < EXPORT_COLUMNS; k++)
            csv_field(f[k], k + 1 < EXPORT_COLUMNS ? ',' : '\n');
    } else {
        json_t *o = json_object();
        for (size_t k = 0; k < EXPORT_COLUMNS; k++) {
            /* Numbers stay exact: int64 as JSON integers, everything else as strings. */
            bool number = k <= 4 ? k != 3 : (k >= 13 && k <= 20);
            json_object_set_new(o, export_columns[k],
                                number ? json_integer(strtoll(f[k], NULL, 10))
                                       : json_string(f[k]));
        }
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (!text)
            return ND_ENOMEM;
        printf("%s%s", x->count ? ",\n" : "", text);
        free(text); /* tidy:allow jansson allocates with malloc */
    }
    x->count++;
    return ND_OK;
}

static int export_records(const char *url, bool json)
{
    nd_store_t *s = NULL;
    char err[512] = "";
    nd_err_t rc = nd_store_open(url, 0, &s, err, sizeof err);
    export_ctx_t x = {json, 0};
    if (rc == ND_OK) {
        if (json) {
            printf("[\n");
        } else {
            for (size_t k = 0; k < EXPORT_COLUMNS; k++)
                printf("%s%c", export_columns[k], k + 1 < EXPORT_COLUMNS ? ',' : '\n');
        }
        rc = nd_store_scan(s, NULL, &x, export_record, err, sizeof err);
        if (json && rc == ND_OK)
            printf("%s]\n", x.count ? "\n" : "");
    }
    nd_store_close(s);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr audit export: --db %s: %s\n", url,
                err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    return ND_EXIT_OK; /* main() flushes and closes stdout and names the real error */
}

int nd_cmd_audit(int argc, char **argv)
{
    bool is_export = argc >= 2 && strcmp(argv[1], "export") == 0;
    if (argc < 2 || (strcmp(argv[1], "verify") != 0 && !is_export)) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
            fputs(usage_text, stdout);
            return ND_EXIT_OK;
        }
        fprintf(stderr, "noderr audit: expected 'verify' or 'export'\n%s", usage_text);
        return ND_EXIT_USAGE;
    }
    audit_opts_t o = {0};
    int rc = nd_cli_parse(is_export ? "audit export" : "audit verify", argc - 1, argv + 1,
                          options, usage_text, NULL, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    const char *url = o.url, *head = o.head, *format = o.format;
    bool json = o.json;
    const char *bad = !url ? "--db URL is required"
                      : is_export && (json || head) ? "--json and --head are verify's options"
                      : !is_export && format        ? "--format is export's option"
                      : format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0
                          ? "--format must be csv or json"
                          : NULL;
    if (bad) {
        fprintf(stderr, "noderr audit %s: %s\n%s", argv[1], bad, usage_text);
        return ND_EXIT_USAGE;
    }
    if (is_export)
        return export_records(url, format && strcmp(format, "json") == 0);
    if (head && strlen(head) != 2 * ND_HASH_SIZE) {
        fprintf(stderr, "noderr audit verify: --head must be 64 hex digits\n");
        return ND_EXIT_USAGE;
    }
    return verify(url, json, head);
}
