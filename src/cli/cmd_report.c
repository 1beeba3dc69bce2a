/* cmd_report.c: `noderr report --db URL --period P [--jurisdiction J] --format csv|json
 * [--out FILE]`: the compliance report of one period from the store. A regular file is written
 * through a temporary name and renamed, so a failed report never leaves half a file; a device or
 * FIFO is written in place. */
#include "cli.h"
#include "noderr/file.h"
#include "noderr/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int nd_cmd_report(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr report --db URL --period daily:YYYY-MM-DD|monthly:YYYY-MM|\n"
    "                                      quarterly:YYYY-Qn|annual:YYYY\n"
    "                     [--jurisdiction CODE] [--format csv|json] [--out FILE]\n"
    "\n"
    "Trade summary, volume, fees and realised P&L by instrument and strategy, surveillance\n"
    "alerts with their evidence and breaker events for one UTC period. Default format csv.\n";

enum { OPT_FORMAT = 1 };

typedef struct options {
    const char *url;
    const char *period_text;
    const char *jurisdiction;
    const char *out_path;
    nd_compliance_format_t format;
} options_t;

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("db", options_t, url),
    ND_CLI_TEXT("period", options_t, period_text),
    ND_CLI_TEXT("jurisdiction", options_t, jurisdiction),
    ND_CLI_ARG("format", OPT_FORMAT),
    ND_CLI_TEXT("out", options_t, out_path),
    ND_CLI_OPTS_END,
};

static int parse_option(void *ctx, int opt, const char *arg)
{
    options_t *o = ctx;
    switch (opt) {
    case OPT_FORMAT:
        if (strcmp(arg, "csv") == 0 || strcmp(arg, "json") == 0) {
            o->format = arg[0] == 'c' ? ND_COMPLIANCE_CSV : ND_COMPLIANCE_JSON;
            return 0;
        }
        fprintf(stderr, "noderr report: --format: '%s' is not csv or json\n", arg);
        return -1;
    }
    return -1;
}

static int write_out(nd_store_t *s, const options_t *o, const nd_compliance_period_t *period)
{
    char err[512] = "";
    FILE *out = stdout;
    /* --out goes through nd_file_out (file.h): a temporary name renamed over a regular file, in
     * place for a device or a FIFO, every write, the flush and the close checked. */
    nd_file_out_t file;
    if (o->out_path) {
        if (nd_file_out_open(&file, o->out_path, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr report: --out %s\n", err);
            return ND_EXIT_USAGE;
        }
        out = file.f;
    }
    nd_err_t rc = nd_compliance_report_write(s, period, o->jurisdiction, o->format, out, err,
                                             sizeof err);
    if (o->out_path) {
        char close_err[512] = "";
        if (nd_file_out_close(&file, rc == ND_OK, close_err, sizeof close_err) != ND_OK) {
            fprintf(stderr, "noderr report: writing to --out %s\n", close_err);
            return ND_EXIT_USAGE;
        }
    }
    if (rc != ND_OK) {
        fprintf(stderr, "noderr report: %s\n", err[0] ? err : nd_strerror(rc));
        return ND_EXIT_USAGE;
    }
    return ND_EXIT_OK;
}

int nd_cmd_report(int argc, char **argv)
{
    options_t o;
    memset(&o, 0, sizeof o);
    int rc = nd_cli_parse("report", argc, argv, options, usage_text, parse_option, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    if (!o.url || !o.period_text) {
        fprintf(stderr, "noderr report: --db URL and --period P are required\n%s", usage_text);
        return ND_EXIT_USAGE;
    }
    nd_compliance_period_t period;
    char err[512] = "";
    if (nd_compliance_period_parse(o.period_text, &period, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr report: %s\n", err);
        return ND_EXIT_USAGE;
    }
    nd_store_t *s = NULL;
    if (nd_store_open(o.url, 0, &s, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr report: --db %s: %s\n", o.url, err);
        return ND_EXIT_USAGE;
    }
    rc = write_out(s, &o, &period);
    nd_store_close(s);
    return rc;
}
