/* cmd_retention.c: `noderr retention apply --db URL [--dry-run] [--now ISO] [--keep
 * CLASS=PERIOD]... [--jurisdiction LIST] [--below-legal-minimum REASON] [--json]`: deletes
 * what is past retention and records the prune in the audit chain. Without --now the time is
 * the system clock's (read through nd_clock_os). The legal minimums and the override live in
 * src/compliance/retention.c; this file parses, calls and prints. */
#include "cli.h"
#include "noderr/clock.h"
#include "noderr/store.h"

#include <jansson.h>

#include <getopt.h>
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

enum { OPT_DB = 256, OPT_DRY, OPT_NOW, OPT_KEEP, OPT_JSON, OPT_HELP, OPT_JUR, OPT_BELOW };

static const struct option long_options[] = {
    {"db", required_argument, 0, OPT_DB},
    {"dry-run", no_argument, 0, OPT_DRY},
    {"now", required_argument, 0, OPT_NOW},
    {"keep", required_argument, 0, OPT_KEEP},
    {"json", no_argument, 0, OPT_JSON},
    {"jurisdiction", required_argument, 0, OPT_JUR},
    {"below-legal-minimum", required_argument, 0, OPT_BELOW},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

typedef struct options {
    const char *url;
    bool dry_run;
    bool json;
    bool have_now;
    int64_t now_ns;
    nd_retention_policy_t policy;
} options_t;

static int parse_option(options_t *o, int opt, const char *arg)
{
    char err[256];
    switch (opt) {
    case OPT_DB: o->url = arg; return 0;
    case OPT_DRY: o->dry_run = true; return 0;
    case OPT_JSON: o->json = true; return 0;
    case OPT_NOW:
        if (nd_time_parse_iso(arg, &o->now_ns) != ND_OK) {
            fprintf(stderr, "noderr retention: --now: '%s' is not an ISO-8601 UTC time\n", arg);
            return ND_EXIT_USAGE;
        }
        o->have_now = true;
        return 0;
    case OPT_KEEP:
        if (nd_retention_policy_set(&o->policy, arg, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr retention: --keep %s\n", err);
            return ND_EXIT_USAGE;
        }
        return 0;
    case OPT_JUR:
        if (nd_jurisdiction_parse_list(arg, &o->policy.jurisdictions, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr retention: --jurisdiction: %s\n", err);
            return ND_EXIT_USAGE;
        }
        return 0;
    case OPT_BELOW:
        if (arg[0] == '\0') {
            fprintf(stderr, "noderr retention: --below-legal-minimum needs a reason\n");
            return ND_EXIT_USAGE;
        }
        o->policy.below_minimum_reason = arg;
        return 0;
    case OPT_HELP: fputs(usage_text, stdout); return -1;
    }
    fprintf(stderr, "noderr retention apply: unknown or incomplete option\n%s", usage_text);
    return ND_EXIT_USAGE;
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
    optind = 1;
    opterr = 0;
    int opt, rc;
    while ((opt = getopt_long(argc - 1, argv + 1, "", long_options, NULL)) != -1)
        if ((rc = parse_option(&o, opt, optarg)) != 0)
            return rc < 0 ? ND_EXIT_OK : rc;
    if (optind < argc - 1 || !o.url) {
        fprintf(stderr, "noderr retention apply: %s\n%s",
                o.url ? "unexpected argument" : "--db URL is required", usage_text);
        return ND_EXIT_USAGE;
    }
    if (!o.have_now)
        o.now_ns = nd_clock_now_ns(nd_clock_os());
    return apply(&o);
}
