/* cmd_audit.c: `noderr audit verify --db URL [--json] [--head HASH]`: walks the audit chain.
 * Exit 0 with the count verified, 1 naming the first record altered, deleted, inserted or
 * reordered, 2 on a usage error or a store that cannot be read. */
#include "cli.h"
#include "noderr/store.h"

#include <jansson.h>

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int nd_cmd_audit(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr audit verify --db URL [--json] [--head HASH]\n"
    "\n"
    "Recomputes every record's SHA-256 link (sqlite:PATH, a bare PATH, or postgresql://...).\n"
    "Exit 0: every record verified; exit 1: the first record altered, deleted, inserted or\n"
    "reordered is named. --head checks that the chain still ends at a hash noted earlier\n"
    "(which catches records removed from, or rewritten at, the end).\n";

enum { OPT_DB = 256, OPT_JSON, OPT_HEAD, OPT_HELP };

static const struct option long_options[] = {
    {"db", required_argument, 0, OPT_DB},
    {"json", no_argument, 0, OPT_JSON},
    {"head", required_argument, 0, OPT_HEAD},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
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
        if (!ok) {
            json_object_set_new(doc, "problem", json_string(nd_audit_problem_name(r->problem)));
            json_object_set_new(doc, "seq", json_integer(r->seq));
            json_object_set_new(doc, "detail", json_string(r->detail));
        }
        int rc = nd_cli_print_json(doc);
        json_decref(doc);
        if (rc != 0)
            return ND_EXIT_USAGE;
    } else if (ok) {
        printf("noderr audit verify: %lld records verified (%lld pruned through %lld prune "
               "records), head %s\n", (long long)r->verified, (long long)r->pruned,
               (long long)r->prune_records, hex);
    } else {
        printf("noderr audit verify: %s at seq %lld: %s (%lld records verified before it)\n",
               nd_audit_problem_name(r->problem), (long long)r->seq, r->detail,
               (long long)r->verified);
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

int nd_cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
            fputs(usage_text, stdout);
            return ND_EXIT_OK;
        }
        fprintf(stderr, "noderr audit: expected 'verify'\n%s", usage_text);
        return ND_EXIT_USAGE;
    }
    const char *url = NULL, *head = NULL;
    bool json = false;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc - 1, argv + 1, "", long_options, NULL)) != -1) {
        switch (opt) {
        case OPT_DB: url = optarg; break;
        case OPT_JSON: json = true; break;
        case OPT_HEAD: head = optarg; break;
        case OPT_HELP: fputs(usage_text, stdout); return ND_EXIT_OK;
        default:
            fprintf(stderr, "noderr audit verify: unknown or incomplete option '%s'\n%s",
                    argv[optind], usage_text);
            return ND_EXIT_USAGE;
        }
    }
    if (optind < argc - 1 || !url) {
        fprintf(stderr, "noderr audit verify: %s\n%s",
                url ? "unexpected argument" : "--db URL is required", usage_text);
        return ND_EXIT_USAGE;
    }
    if (head && strlen(head) != 2 * ND_HASH_SIZE) {
        fprintf(stderr, "noderr audit verify: --head must be 64 hex digits\n");
        return ND_EXIT_USAGE;
    }
    return verify(url, json, head);
}
