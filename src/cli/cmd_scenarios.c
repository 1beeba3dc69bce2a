/* cmd_scenarios.c: `noderr scenarios`: lists the scenario catalogue (built-ins plus a config
 * file's), as a table or as JSON. A bad config file is exit 2 with the file, key and why. */
#include "cli.h"
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/scenario.h"

#include <stdio.h>
#include <string.h>

int nd_cmd_scenarios(int argc, char **argv);

static const char usage_text[] =
    "usage: noderr scenarios [--config FILE] [--json]\n"
    "\n"
    "Lists the validation scenarios: the real-history windows (covid-crash-2020, bull-2021,\n"
    "bear-2022, high-vol-2023; BTCUSDT 1h from the data dir) and the seeded synthetic stress\n"
    "scenarios (flash-crash, liquidity-crisis, gap-down), plus those of --config FILE\n"
    "(schema: docs/validation.md). --json prints {\"scenarios\": [...]}.\n";

typedef struct options {
    const char *config;
    bool json;
} options_t;

static const nd_cli_opt_t options[] = {
    ND_CLI_TEXT("config", options_t, config),
    ND_CLI_SET("json", options_t, json),
    ND_CLI_OPTS_END,
};

static void window_text(const nd_scenario_t *sc, char *buf, size_t cap)
{
    if (sc->kind == ND_SCENARIO_SYNTHETIC && strcmp(sc->synth.base, "synthetic") == 0) {
        snprintf(buf, cap, "%lld bars on the synthetic market, seed %llu",
                 (long long)sc->synth.bars, (unsigned long long)sc->synth.seed);
        return;
    }
    char from[40], to[40];
    nd_time_format_iso(sc->from_ns, from, sizeof from);
    nd_time_format_iso(sc->to_ns - 1, to, sizeof to);
    from[10] = '\0';
    to[10] = '\0';
    if (sc->kind == ND_SCENARIO_HISTORY)
        snprintf(buf, cap, "%s %s %s .. %s", sc->symbol, sc->interval, from, to);
    else
        snprintf(buf, cap, "on %s (%s %s .. %s), seed %llu", sc->synth.base, sc->symbol, from,
                 to, (unsigned long long)sc->synth.seed);
}

static void print_table(const nd_scenario_t *list, size_t n)
{
    printf("%-20s %-10s %-9s %s\n", "scenario", "kind", "condition", "window / base");
    for (size_t k = 0; k < n; k++) {
        const nd_scenario_t *sc = &list[k];
        char window[160];
        window_text(sc, window, sizeof window);
        printf("%-20s %-10s %-9s %s%s\n", sc->name, nd_scenario_kind_name(sc->kind),
               sc->condition, window, sc->builtin ? "" : "  (config)");
        printf("  %s\n", sc->description[0] ? sc->description : "(no description)");
    }
    printf("%zu scenarios\n", n);
}

int nd_cmd_scenarios(int argc, char **argv)
{
    options_t o = {NULL, false};
    int prc = nd_cli_parse("scenarios", argc, argv, options, usage_text, NULL, &o);
    if (prc != 0)
        return prc < 0 ? ND_EXIT_OK : prc;
    const char *config = o.config;
    bool json = o.json;
    nd_scenario_t *list = NULL;
    size_t n = 0;
    char err[512] = "";
    if (nd_scenario_catalogue(config, &list, &n, err, sizeof err) != ND_OK) {
        fprintf(stderr, "noderr scenarios: %s\n", err);
        return ND_EXIT_USAGE;
    }
    int rc = ND_EXIT_OK;
    if (json) {
        json_t *doc = json_object(), *arr = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append_new(arr, nd_scenario_json(&list[k]));
        json_object_set_new(doc, "scenarios", arr);
        rc = nd_cli_print_json_take(doc) == 0 ? ND_EXIT_OK : ND_EXIT_USAGE;
    } else {
        print_table(list, n);
    }
    nd_free(list);
    return rc;
}
