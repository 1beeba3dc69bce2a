/* cmd_strategies.c: `noderr strategies [--json] [--strategy-lib PATH.so]`, the built-in
 * strategies (or a plugin library's) and their schemas.
 *
 * Prints every built-in in registry order (or the library's strategies in its order) with its summary and parameters (name, type, bounds,
 * default, optimiser step, help). The JSON form keeps key order fixed (JSON_PRESERVE_ORDER) so
 * its output is byte-for-byte reproducible and can be diffed or checked into docs. */
#include "cli/cli.h"

#include "noderr/assert.h"
#include "noderr/strategy.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {"int", "real", "choice"};

static const char usage_text[] =
    "usage: noderr strategies [--json] [--strategy-lib PATH.so]\n"
    "\n"
    "Lists the built-in strategies and their parameter schemas.\n"
    "\n"
    "  --json                 print the list as JSON\n"
    "  --strategy-lib PATH.so list the strategies of a plugin library instead\n"
    "                         (docs/strategy-sdk.md)\n"
    "  --help                 show this help\n";


typedef struct options {
    bool as_json;
    const char *lib_path; /* --strategy-lib */
} options_t;

static const nd_cli_opt_t options[] = {
    ND_CLI_SET("json", options_t, as_json),
    ND_CLI_TEXT("strategy-lib", options_t, lib_path),
    ND_CLI_OPTS_END,
};


/* A plugin's summary and help texts are optional. */
static const char *text_or_empty(const char *text)
{
    return text ? text : "";
}

static const char *type_name(nd_param_type_t type)
{
    ND_ASSERT(type >= ND_PARAM_INT && type <= ND_PARAM_CHOICE);
    return type_names[type];
}

/* A JSON number for a schema value: an integer for int and choice parameters. */
static json_t *json_number(const nd_param_def_t *pd, double v)
{
    if (pd->type == ND_PARAM_REAL) {
        return json_real(v);
    }
    return json_integer((json_int_t)v);
}

static json_t *param_json(const nd_param_def_t *pd)
{
    json_t *p = json_object();
    ND_ASSERT(p != NULL);
    json_object_set_new(p, "name", json_string(pd->name));
    json_object_set_new(p, "type", json_string(type_name(pd->type)));
    if (pd->type == ND_PARAM_CHOICE) {
        json_t *choices = json_array();
        for (int i = 0; i < pd->choice_count; i++) {
            json_array_append_new(choices, json_string(pd->choices[i]));
        }
        json_object_set_new(p, "choices", choices);
        int def_index = (int)pd->def;
        ND_ASSERT(def_index >= 0 && def_index < pd->choice_count);
        json_object_set_new(p, "default", json_string(pd->choices[def_index]));
    } else {
        json_object_set_new(p, "min", json_number(pd, pd->min));
        json_object_set_new(p, "max", json_number(pd, pd->max));
        json_object_set_new(p, "default", json_number(pd, pd->def));
        json_object_set_new(p, "step", json_number(pd, pd->step));
    }
    json_object_set_new(p, "help", json_string(text_or_empty(pd->help)));
    return p;
}

static int print_json(const nd_strategy_def_t *const *defs, int count)
{
    json_t *root = json_object();
    json_t *list = json_array();
    ND_ASSERT(root != NULL);
    ND_ASSERT(list != NULL);
    for (int i = 0; i < count; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "name", json_string(defs[i]->name));
        json_object_set_new(s, "summary", json_string(text_or_empty(defs[i]->summary)));
        json_t *params = json_array();
        for (int j = 0; j < defs[i]->param_count; j++) {
            json_array_append_new(params, param_json(&defs[i]->params[j]));
        }
        json_object_set_new(s, "params", params);
        json_array_append_new(list, s);
    }
    json_object_set_new(root, "strategies", list);
    /* 15 significant digits print schema values such as 0.1 as written, not 0.10000000000000001.
     * Dumping straight to stdout avoids a buffer from jansson's own allocator. */
    size_t flags = JSON_PRESERVE_ORDER | JSON_INDENT(2) | JSON_REAL_PRECISION(15);
    int rc = json_dumpf(root, stdout, flags);
    json_decref(root);
    if (rc != 0) {
        fprintf(stderr, "noderr strategies: could not write JSON to stdout\n");
        return ND_EXIT_USAGE;
    }
    fputc('\n', stdout);
    return ND_EXIT_OK;
}

static void print_param_text(const nd_param_def_t *pd)
{
    if (pd->type == ND_PARAM_CHOICE) {
        printf("    %-14s choice  default %s; one of:", pd->name, pd->choices[(int)pd->def]);
        for (int i = 0; i < pd->choice_count; i++) {
            printf(" %s", pd->choices[i]);
        }
        printf("\n      %s\n", text_or_empty(pd->help));
        return;
    }
    printf("    %-14s %-6s  [%g, %g]  default %g  step %g\n      %s\n", pd->name,
           type_name(pd->type), pd->min, pd->max, pd->def, pd->step, text_or_empty(pd->help));
}

static int print_text(const nd_strategy_def_t *const *defs, int count)
{
    for (int i = 0; i < count; i++) {
        if (i > 0) {
            printf("\n");
        }
        printf("%s\n  %s\n  parameters:\n", defs[i]->name, text_or_empty(defs[i]->summary));
        for (int j = 0; j < defs[i]->param_count; j++) {
            print_param_text(&defs[i]->params[j]);
        }
    }
    return ND_EXIT_OK;
}

int nd_cmd_strategies(int argc, char **argv)
{
    ND_ASSERT(argc >= 1);
    ND_ASSERT(argv != NULL);
    options_t o = {false, NULL};
    int rc = nd_cli_parse("strategies", argc, argv, options, usage_text, NULL, &o);
    if (rc != 0)
        return rc < 0 ? ND_EXIT_OK : rc;
    int count = 0;
    const nd_strategy_def_t *const *defs = NULL;
    if (o.lib_path == NULL)
        defs = nd_strategy_builtins(&count);
    else if (nd_cli_strategy_lib_list("--strategy-lib", o.lib_path, &defs, &count) != 0)
        return ND_EXIT_USAGE;
    return o.as_json ? print_json(defs, count) : print_text(defs, count);
}
