/* cmd_surveil.c: `noderr surveil`, market-abuse surveillance of an exported order-event log
 * (--events) or, post-trade, of the order events recorded in the compliance store (--db).
 *
 * Reads a CSV with header ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty
 * (ts ISO-8601 UTC or Unix ms; event new|cancel|fill; side buy|sell; exact decimals), an
 * optional accounts file (account,type,equity[,jurisdiction]) and holiday list, runs
 * nd_surv_scan under the chosen jurisdiction profiles and prints the alerts (text or JSON).
 * Every bad row stops the run with FILE:LINE: why and exit code 2; nothing is skipped. An
 * order id keeps the side, symbol, account and owner of its first row. With --db the events come
 * from nd_store_surv_load (owner = account; see docs/surveillance.md), the alerts print exactly
 * as in CSV mode, and --record appends them with their evidence plus an operator record of the
 * scan (nd_store_record_surv_alerts). */
#include "cli.h"
#include "noderr/file.h"
#include "noderr/text.h"

#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/fixed.h"
#include "noderr/store.h"
#include "noderr/surveillance.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nd_cmd_surveil(int argc, char **argv);

#define SURV_ADV_MAX 256
#define SURV_HEADER ND_SURV_CSV_HEADER

typedef struct surv_opts {
    const char *events_path;
    const char *db_url;       /* --db: scan the store instead of a CSV */
    int64_t from_ns, to_ns;   /* --from/--to with --db: [from, to); to 0 = no bound */
    const char *period_text[2];
    bool record;              /* --record: append the alerts and the scan to the store */
    const char *accounts_path;
    const char *holidays_path;
    uint32_t jurisdictions;
    const char *adv_text[SURV_ADV_MAX];
    size_t adv_count;
    bool adv_from_events;
    bool json;
    bool fail_on_alert;
    bool help;
} surv_opts_t;

typedef struct surv_input {
    nd_surv_dict_t *dict;
    nd_surv_inputs_t data;        /* events, accounts, holidays (surveil_csv.c or the store) */
    nd_surv_adv_t adv[SURV_ADV_MAX];
    size_t adv_count;
    nd_store_t *store;            /* --db: open until the alerts are recorded */
    int64_t store_records;        /* --db: records that became events */
} surv_input_t;

static const char usage_text[] =
    "usage: noderr surveil --events FILE.csv [--jurisdiction US[,EU,UK,SG]]\n"
    "       noderr surveil --db URL [--from ISO] [--to ISO] [--record] [options]\n"
    "                      [--accounts FILE] [--holidays FILE] [--adv SYMBOL=QTY]...\n"
    "                      [--adv-from-events] [--json] [--fail-on-alert]\n"
    "\n"
    "  --events FILE        order events, header " SURV_HEADER "\n"
    "                       (ts ISO-8601 UTC or Unix ms; event new|cancel|fill; "
    "side buy|sell)\n"
    "  --db URL             scan the order events and fills recorded in the compliance "
    "store\n"
    "                       (sqlite:PATH, PATH or postgresql://...); owner = account\n"
    "  --from, --to ISO     with --db: only records with from <= ts < to (UTC)\n"
    "  --record             with --db: append each alert with its evidence and a record "
    "of\n"
    "                       the scan to the store (see noderr report, noderr audit)\n"
    "  --jurisdiction LIST  profiles to apply (default US); alerts say which raised them\n"
    "  --accounts FILE      account,type,equity[,jurisdiction]: type cash|margin, equity "
    "in USD,\n"
    "                       jurisdiction like US|EU; without it accounts count as margin\n"
    "                       accounts of unknown equity under --jurisdiction\n"
    "  --holidays FILE      one YYYY-MM-DD a line: not business days (pattern day "
    "trading)\n"
    "  --adv SYMBOL=QTY     a symbol's average daily volume, for the large-volume share\n"
    "  --adv-from-events    derive each symbol's ADV from the file's own fills "
    "(lookback)\n"
    "  --json               {\"alerts\": [...]} with rule, jurisdiction, accounts, "
    "order_ids, from, to, reason\n"
    "  --fail-on-alert      exit 1 when there is at least one alert\n"
    "  --help               print this help\n";

enum { OPT_JUR = 1, OPT_ADV, OPT_FROM, OPT_TO };

/* --from/--to: ISO-8601 UTC (a bare date is midnight). */
static int parse_bound(const char *option, const char *text, surv_opts_t *o, int which)
{
    int64_t ns = 0;
    if (nd_time_parse_iso(text, &ns) != ND_OK) {
        fprintf(stderr, "noderr surveil: %s '%s': expected ISO-8601 UTC "
                "(2024-01-02 or 2024-01-02T09:30:00Z)\n", option, text);
        return -1;
    }
    o->period_text[which] = text;
    if (which == 0)
        o->from_ns = ns;
    else
        o->to_ns = ns;
    return 0;
}

/* The source options: exactly one of --events and --db; the store-only options need --db. */
static int check_sources(const surv_opts_t *o)
{
    const char *why = NULL;
    if (o->events_path && o->db_url)
        why = "give either --events FILE or --db URL, not both";
    else if (!o->events_path && !o->db_url)
        why = "--events FILE is required (or --db URL: the compliance store)";
    else if (!o->db_url && (o->record || o->period_text[0] || o->period_text[1]))
        why = "--record, --from and --to apply to --db only";
    else if (o->period_text[0] && o->period_text[1] && o->to_ns <= o->from_ns)
        why = "--to must be after --from";
    if (why)
        fprintf(stderr, "noderr surveil: %s\n", why);
    return why ? -1 : 0;
}

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("events", surv_opts_t, events_path),
    ND_CLI_ARG("jurisdiction", OPT_JUR),
    ND_CLI_TEXT("accounts", surv_opts_t, accounts_path),
    ND_CLI_TEXT("holidays", surv_opts_t, holidays_path),
    ND_CLI_ARG("adv", OPT_ADV),
    ND_CLI_SET("adv-from-events", surv_opts_t, adv_from_events),
    ND_CLI_SET("json", surv_opts_t, json),
    ND_CLI_SET("fail-on-alert", surv_opts_t, fail_on_alert),
    ND_CLI_TEXT("db", surv_opts_t, db_url),
    ND_CLI_ARG("from", OPT_FROM),
    ND_CLI_ARG("to", OPT_TO),
    ND_CLI_SET("record", surv_opts_t, record),
    ND_CLI_OPTS_END,
};

static int surveil_option(void *ctx, int c, const char *arg)
{
    surv_opts_t *o = ctx;
    char err[128];
    switch (c) {
    case OPT_JUR:
        if (nd_jurisdiction_parse_list(arg, &o->jurisdictions, err, sizeof err) != ND_OK) {
            fprintf(stderr, "noderr surveil: --jurisdiction: %s\n", err);
            return -1;
        }
        return 0;
    case OPT_ADV:
        if (o->adv_count == SURV_ADV_MAX) {
            fprintf(stderr, "noderr surveil: --adv: at most %d symbols\n", SURV_ADV_MAX);
            return -1;
        }
        o->adv_text[o->adv_count++] = arg;
        return 0;
    case OPT_FROM: return parse_bound("--from", arg, o, 0);
    case OPT_TO: return parse_bound("--to", arg, o, 1);
    }
    return -1;
}

/* 0 parsed (o->help after --help, the usage printed), -1 after a message. */
static int surveil_parse_options(int argc, char **argv, surv_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->jurisdictions = ND_JUR_BIT(ND_JUR_US);
    int rc = nd_cli_parse("surveil", argc, argv, options, usage_text, surveil_option, o);
    if (rc < 0) {
        o->help = true;
        return 0;
    }
    return rc == 0 ? check_sources(o) : -1;
}

static void print_names(const char *label, const nd_surv_dict_t *d, const uint32_t *ids,
                        uint32_t n)
{
    printf("    %-10s", label);
    for (uint32_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", nd_surv_dict_name(d, ids[i]));
    printf("\n");
}

static void print_alerts_text(const surv_input_t *in, const nd_surv_alerts_t *al)
{
    printf("%zu events scanned, %zu alert%s\n", in->data.event_count, al->count,
           al->count == 1 ? "" : "s");
    for (size_t i = 0; i < al->count; i++) {
        const nd_surv_alert_t *a = &al->items[i];
        char from[40], to[40];
        nd_time_format_iso(a->from_ns, from, sizeof from);
        nd_time_format_iso(a->to_ns, to, sizeof to);
        printf("\n[%zu] %s (%s) %s .. %s\n", i + 1, nd_surv_rule_name(a->rule),
               nd_jurisdiction_profile(a->jurisdiction)->code, from, to);
        printf("    %-10s%s\n", "owner:", a->owner == ND_SURV_ID_NONE
                                            ? "-" : nd_surv_dict_name(in->dict, a->owner));
        printf("    %-10s%s\n", "symbol:", a->symbol == ND_SURV_ID_NONE
                                             ? "(all)" : nd_surv_dict_name(in->dict, a->symbol));
        print_names("accounts:", in->dict, a->accounts, a->account_count);
        print_names("orders:", in->dict, a->orders, a->order_count);
        printf("    %-10s%s%s\n", "why:", a->reason, a->truncated ? " (evidence truncated)" : "");
    }
}

static int print_alerts_json(const surv_input_t *in, const nd_surv_alerts_t *al)
{
    json_t *root = json_object(), *arr = json_array();
    int rc = (root && arr) ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < al->count; i++) {
        json_t *a =
            nd_surv_alert_to_json(&al->items[i], in->dict, in->data.events, in->data.event_count);
        rc = a ? json_array_append_new(arr, a) : -1;
    }
    if (rc == 0) {
        rc = json_object_set_new(root, "alerts", arr); /* takes arr even when it fails */
        arr = NULL;
    }
    if (rc == 0)
        rc = nd_cli_print_json(root);
    json_decref(arr);
    json_decref(root);
    return rc;
}

/* --db: the store's order events and fills of the period (nd_store_surv_load). The store stays
 * open in `in` for --record. */
static int read_store(surv_input_t *in, const surv_opts_t *o)
{
    char err[512] = "";
    nd_err_t rc = nd_store_open(o->db_url, 0, &in->store, err, sizeof err);
    nd_store_surv_events_t ev;
    if (rc == ND_OK)
        rc = nd_store_surv_load(in->store, o->from_ns, o->to_ns, in->dict, &ev, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr surveil: --db %s: %s\n", o->db_url, err);
        return -1;
    }
    in->data.events = ev.events; /* taken over: free_inputs releases it */
    in->data.event_count = ev.count;
    in->data._event_cap = ev._cap;
    in->store_records = ev.records;
    return 0;
}

/* Prints "noderr surveil: PREFIX why" for a failed call; returns -1. */
static int fail(const char *prefix, const char *err, nd_err_t rc)
{
    fprintf(stderr, "noderr surveil: %s%s\n", prefix, err[0] ? err : nd_strerror(rc));
    return -1;
}

static int load_inputs(const surv_opts_t *o, surv_input_t *in)
{
    char err[512] = "";
    if (nd_surv_dict_create(&in->dict) != ND_OK)
        return fail("", "out of memory", ND_ENOMEM);
    nd_surv_inputs_init(&in->data, in->dict, o->jurisdictions);
    for (size_t i = 0; i < o->adv_count; i++) {
        nd_err_t rc = nd_surv_adv_parse(in->dict, o->adv_text[i], &in->adv[in->adv_count], err,
                                        sizeof err);
        if (rc != ND_OK) {
            fprintf(stderr, "noderr surveil: --adv '%s': %s\n", o->adv_text[i], err);
            return -1;
        }
        in->adv_count++;
    }
    nd_err_t rc = ND_OK;
    if (o->accounts_path)
        rc = nd_surv_csv_read_accounts(&in->data, o->accounts_path, err, sizeof err);
    if (rc == ND_OK && o->holidays_path)
        rc = nd_surv_csv_read_holidays(&in->data, o->holidays_path, err, sizeof err);
    if (rc != ND_OK)
        return fail("", err, rc);
    if (o->db_url && read_store(in, o) != 0)
        return -1;
    if (!o->db_url)
        rc = nd_surv_csv_read_events(&in->data, o->events_path, err, sizeof err);
    if (rc != ND_OK)
        return fail("", err, rc);
    rc = nd_surv_inputs_complete_accounts(&in->data);
    return rc == ND_OK ? 0 : fail("", "out of memory", rc);
}

static void free_inputs(surv_input_t *in)
{
    nd_surv_inputs_deinit(&in->data);
    nd_surv_dict_destroy(in->dict);
    nd_store_close(in->store); /* anything not flushed (a failed --record) is rolled back */
}

static int run_scan(const surv_opts_t *o, surv_input_t *in, nd_surv_alerts_t *alerts)
{
    uint32_t mask = o->jurisdictions;
    for (size_t i = 0; i < in->data.account_count; i++)
        mask |= in->data.accounts[i].jurisdictions;
    const nd_surv_profile_t *profiles[ND_JUR_COUNT];
    size_t np = 0;
    for (int j = 0; j < ND_JUR_COUNT; j++)
        if (mask & ND_JUR_BIT(j))
            profiles[np++] = nd_jurisdiction_profile((nd_jurisdiction_t)j);
    nd_surv_options_t opt = {
        .accounts = in->data.accounts, .account_count = in->data.account_count,
        .adv = in->adv, .adv_count = in->adv_count, .adv_from_events = o->adv_from_events,
        .holidays = in->data.holidays, .holiday_count = in->data.holiday_count,
        .first_line = o->db_url ? 0 : 2, /* one event a line after the header */
    };
    char err[256];
    if (nd_surv_scan(in->data.events, in->data.event_count, profiles, np, &opt, alerts, err,
                     sizeof err) != ND_OK) {
        fprintf(stderr, "noderr surveil: %s: %s\n", o->db_url ? o->db_url : o->events_path, err);
        return -1;
    }
    return 0;
}

/* --record: every alert with its evidence, then an operator record of the scan: what, the
 * period, the profiles and how many alerts. Returns 0 or -1 after printing why. */
static int record_scan(const surv_opts_t *o, const surv_input_t *in, const nd_surv_alerts_t *al)
{
    char jur[32] = "", note[512], err[512] = "";
    for (int j = 0, n = 0; j < ND_JUR_COUNT; j++)
        if (o->jurisdictions & ND_JUR_BIT(j))
            n += snprintf(jur + n, sizeof jur - (size_t)n, "%s%s", n ? "," : "",
                          nd_jurisdiction_profile((nd_jurisdiction_t)j)->code);
    snprintf(note, sizeof note,
             "post-trade scan of order events and fills from %s to %s under "
             "%s: %zu events from %lld records, %zu alert%s",
             o->period_text[0] ? o->period_text[0] : "the start",
             o->period_text[1] ? o->period_text[1] : "the end", jur, in->data.event_count,
             (long long)in->store_records, al->count, al->count == 1 ? "" : "s");
    nd_err_t rc =
        nd_store_record_surv_alerts(in->store, al, in->dict, in->data.events, in->data.event_count,
                                    nd_clock_now_ns(nd_clock_os()), note, err, sizeof err);
    if (rc != ND_OK) {
        fprintf(stderr, "noderr surveil: --record %s: %s (nothing was recorded)\n", o->db_url,
                err);
        return -1;
    }
    fprintf(stderr, "noderr surveil: recorded %zu alert%s and the scan in %s\n", al->count,
            al->count == 1 ? "" : "s", o->db_url);
    return 0;
}

int nd_cmd_surveil(int argc, char **argv)
{
    surv_opts_t o;
    if (surveil_parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "noderr surveil: see 'noderr surveil --help'\n");
        return ND_EXIT_USAGE;
    }
    if (o.help)
        return ND_EXIT_OK;
    surv_input_t in = {0};
    nd_surv_alerts_t alerts;
    nd_surv_alerts_init(&alerts);
    int code = ND_EXIT_USAGE;
    if (load_inputs(&o, &in) == 0 && run_scan(&o, &in, &alerts) == 0) {
        code = ND_EXIT_OK;
        if (o.json) {
            if (print_alerts_json(&in, &alerts) != 0) {
                fprintf(stderr, "noderr surveil: cannot write the JSON output\n");
                code = ND_EXIT_USAGE;
            }
        } else {
            print_alerts_text(&in, &alerts);
        }
        if (code == ND_EXIT_OK && o.record && record_scan(&o, &in, &alerts) != 0)
            code = ND_EXIT_USAGE;
        if (code == ND_EXIT_OK && o.fail_on_alert && alerts.count > 0)
            code = ND_EXIT_CHECK_FAILED;
    }
    nd_surv_alerts_deinit(&alerts);
    free_inputs(&in);
    return code;
}
