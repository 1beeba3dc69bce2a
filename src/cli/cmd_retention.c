/* cmd_retention.c: `noderr retention apply --db URL [--dry-run] [--now ISO] [--keep
 * CLASS=PERIOD]... [--jurisdiction LIST] [--below-legal-minimum REASON] [--json]`: deletes
 * what is past retention and records the prune in the audit chain. Without --now the time is
 * the system clock's (read through nd_clock_os). The legal minimums and the override live in
 * src/compliance/retention.c; this file parses, calls and prints. */
#include "cli.h"
#include "noderr/clock.h"
#include "noderr/store.h"

#include <jansson.h>

#include <stdio.h>
#include <string.h>

int nd_cmd_retention(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr retention apply --db URL [--dry-run] [--now ISO-8601] [--json]\n"
    "                              [--keep CLASS=Ny|CLASS=Nd]... [--jurisdiction US,EU,UK,SG]\n"
    "                              [--below-legal-minimum REASON]\n"
    "\n"
    "Deletes records past retention (defaults: trades 7y, logs 1y, metrics 5y, chaos 90d;\n"
    "CLASS is trades, logs, metrics or chaos) and appends a prune record so the audit chain\n"
    "still verifies. Nothing inside its retention period is ever deleted; a chain that does\n"
    "not verify is not pruned. --dry-run only counts.\n"
    "A --keep below a class's legal minimum (trades: 7y) under the jurisdictions given (default:\n"
    "all, the strictest binds) is refused (exit 2) unless --below-legal-minimum gives a reason;\n"
    "the override is then recorded in the audit chain with the prune.\n";

typedef struct options {
    const char *url;
    bool dry_run;
    bool json;
    bool have_now;
    int64_t now_ns;
    nd_retention_policy_t policy;
} options_t;

enum { OPT_NOW = 1, OPT_KEEP, OPT_JUR, OPT_BELOW };

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("db", options_t, url),
    ND_CLI_SET("dry-run", options_t, dry_run),
    ND_CLI_ARG("now", OPT_NOW),
    ND_CLI_ARG("keep", OPT_KEEP),
    ND_CLI_SET("json", options_t, json),
    ND_CLI_ARG("jurisdiction", OPT_JUR),
    ND_CLI_ARG("below-legal-minimum", OPT_BELOW),
    ND_CLI_OPTS_END,
};

static int parse_option(void *ctx, int opt, const char *arg)
{
    options_t *o = ctx;
    char err[256];
    switch (opt) {
    case OPT_NOW:
        if (nd_time_parse_iso(arg, &o->now_ns) != ND_OK) {
            fprintf(stderr, "noderr retention: --now: '%s' is not an ISO-8601 UTC time\n", arg);
            return -1;
        }
        o->have_now = true;
        return 0;
    case OPT_KEEP:
        if (nd_retention_policy_set(&o->policy, arg, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr retention: --keep %s\n", err);
            return -1;
        }
        return 0;
    case OPT_JUR:
        if (nd_jurisdiction_parse_list(arg, &o->policy.jurisdictions, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr retention: --jurisdiction: %s\n", err);
            return -1;
        }
        return 0;
    case OPT_BELOW:
        if (arg[0] == '\0') {
            fprintf(stderr, "noderr retention: --below-legal-minimum needs a reason\n");
            return -1;
        }
        o->policy.below_minimum_reason = arg;
        return 0;
    }
    return -1;
}

static int print_result(const options_t *o, const nd_retention_result_t *r)
{
    if (o->json) {
        json_t *doc = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I}", "dry_run", o->dry_run, "pruned",
                                (json_int_t)r->pruned_total, "kept", (json_int_t)r->kept,
                                "ranges", (json_int_t)r->ranges, "prune_seq",
                                (json_int_t)r->prune_seq, "override_records",
                                (json_int_t)r->override_records);
        json_t *by = json_object(), *cut = json_object();
        for (int c = 0; c < ND_RETENTION_CLASSES; c++) {
            char iso[40];
            nd_time_format_iso(r->cutoff_ns[c], iso, sizeof iso);
            json_object_set_new(by, nd_retention_class_name(c), json_integer(r->pruned[c]));
            json_object_set_new(cut, nd_retention_class_name(c), json_string(iso));
        }
        json_object_set_new(doc, "by_class", by);
        json_object_set_new(doc, "cutoffs", cut);
        return nd_cli_print_json_take(doc) ? ND_EXIT_USAGE : ND_EXIT_OK;
    }
    printf("noderr retention: %s %lld records (trades %lld, logs %lld, metrics %lld, chaos %lld)"
           " in %lld ranges; %lld kept", o->dry_run ? "would prune" : "pruned",
           (long long)r->pruned_total, (long long)r->pruned[0], (long long)r->pruned[1],
           (long long)r->pruned[2], (long long)r->pruned[3], (long long)r->ranges,
           (long long)r->kept);
    if (r->prune_seq > 0)
        printf("; prune record seq %lld", (long long)r->prune_seq);
    if (r->override_records > 0)
        printf("; %lld class(es) below the legal minimum, recorded as operator records",
               (long long)r->override_records);
    printf("\n");
    return ND_EXIT_OK;
}

static int apply(options_t *o)
{
    nd_store_t *s = NULL;
    char err[512] = "";
    nd_err_t rc = nd_store_open(o->url, 0, &s, err, sizeof err);
    nd_retention_result_t r;
    if (rc == ND_OK)
        rc = nd_retention_apply(s, &o->policy, o->now_ns, o->dry_run, &r, err, sizeof err);
    nd_store_close(s);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr retention apply: --db %s: %s%s\n", o->url,
                err[0] ? err : nd_strerror(rc),
                rc == ND_ERANGE ? " (--below-legal-minimum REASON overrides it)" : "");
        return rc == ND_ESTATE ? ND_EXIT_CHECK_FAILED : ND_EXIT_USAGE;
    }
    return print_result(o, &r);
}

int nd_cmd_retention(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "apply") != 0) {
        bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr, "%s%s", help ? "" : "noderr retention: expected "
                "'apply'\n", usage_text);
        return help ? ND_EXIT_OK : ND_EXIT_USAGE;
    }
    options_t o;
    memset(&o, 0, sizeof o);
    nd_retention_policy_default(&o.policy);
    int rc = nd_cli_parse("retention apply", argc - 1, argv + 1, options, usage_text,
                          parse_option, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (!o.url) {
        fprintf(stderr, "noderr retention apply: --db URL is required\n%s", usage_text);
        return ND_EXIT_USAGE;
    }
    if (!o.have_now)
        o.now_ns = nd_clock_now_ns(nd_clock_os());
    return apply(&o);
}
