/* test_strategy_plugin.c: the plugin loader (strategy_plugin.h) and nd_strategy_def_check.
 *
 * The plugins are built by tests/plugins/meson.build: tpl_sma.so is the `strategy new`
 * template as scaffolded; plugin_bad_*.so each carry one defect the loader must name. The
 * file checks (not a regular file, world-writable) use copies in a temporary directory. The
 * template's SMA cross is also driven bar by bar against the built-in sma_cross on random
 * walks: the same targets on the same bars. */
#include <criterion/criterion.h>

#include "noderr/alloc.h"
#include "noderr/rand.h"
#include "noderr/strategy.h"
#include "noderr/strategy_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PLUGIN(name) ND_TEST_PLUGIN_DIR "/" name ".so"

static char err[1024];

/* Opens path expecting rc, and err to contain want. */
static void expect_refused(const char *path, nd_err_t rc, const char *want)
{
    nd_strategy_lib_t lib;
    memset(&lib, 0, sizeof lib);
    err[0] = '\0';
    nd_err_t got = nd_strategy_lib_open(&lib, path, err, sizeof err);
    cr_assert_eq(got, rc, "%s: got %d (%s), want %d", path, got, err, rc);
    cr_assert(strstr(err, want) != NULL, "%s: error '%s' lacks '%s'", path, err, want);
    cr_assert_null(lib._handle);
}

Test(strategy_plugin, loads_the_template)
{
    nd_strategy_lib_t lib;
    cr_assert_eq(nd_strategy_lib_open(&lib, PLUGIN("tpl_sma"), err, sizeof err), ND_OK, "%s",
                 err);
    int count = 0;
    const nd_strategy_def_t *const *defs = nd_strategy_lib_defs(&lib, &count);
    cr_assert_eq(count, 1);
    cr_assert_str_eq(defs[0]->name, "tpl_sma");
    cr_assert_eq(nd_strategy_lib_find(&lib, "tpl_sma"), defs[0]);
    cr_assert_null(nd_strategy_lib_find(&lib, "sma_cross"));
    cr_assert_str_eq(nd_strategy_lib_name(&lib), "tpl_sma");
    cr_assert_str_eq(nd_strategy_lib_path(&lib), PLUGIN("tpl_sma"));
    /* Its parameters work like a built-in's. */
    double values[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(defs[0], values);
    cr_assert_eq(nd_strategy_param_set(defs[0], values, "fast=12", err, sizeof err), ND_OK);
    cr_assert_eq(nd_strategy_param_set(defs[0], values, "slow=9", err, sizeof err), ND_OK);
    cr_assert_eq(nd_strategy_params_check(defs[0], values, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "fast (12) must be less than slow (9)") != NULL, "%s", err);
    nd_strategy_lib_close(&lib);
    cr_assert_null(lib._handle);
    nd_strategy_lib_close(&lib); /* twice is harmless */
}

Test(strategy_plugin, the_correct_test_plugin_loads)
{
    nd_strategy_lib_t lib;
    cr_assert_eq(nd_strategy_lib_open(&lib, PLUGIN("plugin_bad_none"), err, sizeof err), ND_OK,
                 "%s", err);
    nd_strategy_lib_close(&lib);
}

Test(strategy_plugin, refuses_another_abi_and_other_sizes)
{
    char want[128];
    snprintf(want, sizeof want, "built for strategy ABI %d, this noderr has ABI %d",
             ND_STRATEGY_ABI_VERSION + 1, ND_STRATEGY_ABI_VERSION);
    expect_refused(PLUGIN("plugin_bad_abi"), ND_ESTATE, want);
    expect_refused(PLUGIN("plugin_bad_abi"), ND_ESTATE, PLUGIN("plugin_bad_abi") ": ");
    expect_refused(PLUGIN("plugin_bad_size"), ND_ESTATE, "built with other struct sizes");
}

Test(strategy_plugin, refuses_a_library_without_the_entry_symbol)
{
    expect_refused(PLUGIN("plugin_bad_no_symbol"), ND_EINVAL, "no noderr_strategy_plugin symbol");
}

Test(strategy_plugin, refuses_bad_schemas)
{
    expect_refused(PLUGIN("plugin_bad_default"), ND_EINVAL,
                   "parameter 'a': needs min <= default <= max, has min 1, default 11, max 10");
    expect_refused(PLUGIN("plugin_bad_step"), ND_EINVAL, "parameter 'a': step must be >= 0");
    expect_refused(PLUGIN("plugin_bad_duplicate"), ND_EINVAL, "parameter 'a' is declared twice");
    expect_refused(PLUGIN("plugin_bad_too_many"), ND_EINVAL, "17 parameters (at most 16");
    expect_refused(PLUGIN("plugin_bad_no_start"), ND_EINVAL, "strategy 'test_plugin' lacks on_start");
    expect_refused(PLUGIN("plugin_bad_name"), ND_EINVAL, "strategy name 'Bad-Name' is not");
    expect_refused(PLUGIN("plugin_bad_choices"), ND_EINVAL,
                   "choice parameter 'mode' must have min 0 and max 1");
    expect_refused(PLUGIN("plugin_bad_no_defs"), ND_EINVAL, "offers 0 strategies");
}

Test(strategy_plugin, refuses_missing_files_directories_and_world_writable_files)
{
    expect_refused(ND_TEST_PLUGIN_DIR "/no_such_plugin.so", ND_ENOTFOUND,
                   "no_such_plugin.so: No such file or directory");
    expect_refused(ND_TEST_PLUGIN_DIR, ND_EINVAL, ": not a regular file");
    char dir[] = "/tmp/nd_plugin_XXXXXX", path[256], cmd[1024];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/copy.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", PLUGIN("tpl_sma"), path);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(chmod(path, 0666), 0);
    expect_refused(path, ND_EINVAL, "writable by everyone (mode 666)");
    cr_assert_eq(chmod(path, 0664), 0); /* group-writable is a site's choice, not refused */
    nd_strategy_lib_t lib;
    cr_assert_eq(nd_strategy_lib_open(&lib, path, err, sizeof err), ND_OK, "%s", err);
    nd_strategy_lib_close(&lib);
    /* A bare name is a file in the current directory, never a library-path search. */
    cr_assert_eq(chdir(dir), 0);
    cr_assert_eq(nd_strategy_lib_open(&lib, "copy.so", err, sizeof err), ND_OK, "%s", err);
    nd_strategy_lib_close(&lib);
    expect_refused("libm.so.6", ND_ENOTFOUND, "libm.so.6");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(strategy_plugin, every_builtin_passes_the_definition_check)
{
    int count = 0;
    const nd_strategy_def_t *const *defs = nd_strategy_builtins(&count);
    for (int i = 0; i < count; i++)
        cr_assert_eq(nd_strategy_def_check(defs[i], err, sizeof err), ND_OK, "%s", err);
    defs = nd_strategy_event_builtins(&count);
    for (int i = 0; i < count; i++)
        cr_assert_eq(nd_strategy_def_check(defs[i], err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_strategy_def_check(NULL, err, sizeof err), ND_EINVAL);
}

/* ---- The template's SMA cross against the built-in, bar by bar. ------------------------ */

#define BARS 20000
#define CALLS_MAX BARS

typedef struct recorder {
    nd_strategy_ctx_t ctx; /* first, so the callback can cast back */
    int bar;
    int calls;
    int bar_of[CALLS_MAX];
    int dir_of[CALLS_MAX];
} recorder_t;

static nd_err_t record_target(nd_strategy_ctx_t *ctx, uint32_t instrument_id, int direction)
{
    recorder_t *r = (recorder_t *)ctx;
    cr_assert_eq(instrument_id, 3u);
    cr_assert_lt(r->calls, CALLS_MAX);
    r->bar_of[r->calls] = r->bar;
    r->dir_of[r->calls] = direction;
    r->calls++;
    return ND_OK;
}

/* Runs def with fast/slow over closes, recording its targets into r. */
static void run(const nd_strategy_def_t *def, double fast, double slow, const int64_t *closes,
                recorder_t *r)
{
    double values[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, values);
    values[0] = fast;
    values[1] = slow;
    cr_assert_eq(nd_strategy_params_check(def, values, err, sizeof err), ND_OK, "%s", err);
    memset(r, 0, sizeof *r);
    r->ctx.target = record_target;
    r->ctx.def = def;
    void *state = nd_calloc(1, def->state_size(values));
    cr_assert_not_null(state);
    cr_assert_eq(def->on_start(state, values, 3u, &r->ctx), ND_OK);
    for (r->bar = 0; r->bar < BARS; r->bar++) {
        nd_bar_t bar = {.ts_ns = r->bar * 3600000000000LL, .close = closes[r->bar],
                        .instrument_id = 3u};
        bar.open = bar.high = bar.low = bar.close;
        def->on_bar(state, &bar, &r->ctx);
    }
    if (def->on_stop)
        def->on_stop(state);
    nd_free(state);
}

Test(strategy_plugin, template_sma_cross_targets_equal_the_builtin, .timeout = 120)
{
    nd_strategy_lib_t lib;
    cr_assert_eq(nd_strategy_lib_open(&lib, PLUGIN("tpl_sma"), err, sizeof err), ND_OK, "%s",
                 err);
    const nd_strategy_def_t *plugin = nd_strategy_lib_find(&lib, "tpl_sma");
    const nd_strategy_def_t *builtin = nd_strategy_find("sma_cross");
    static int64_t closes[BARS];
    static recorder_t a, b;
    static const double windows[][2] = {{2, 3}, {10, 30}, {5, 74}, {50, 200}, {999, 5000}};
    static const int64_t levels[] = {100, 250000, 7000000000LL};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        nd_rand_t rng;
        nd_rand_init(&rng, seed);
        int64_t level = levels[seed - 1], px = level;
        for (int i = 0; i < BARS; i++) {
            /* A random walk with ties: steps of -2..+2 hundredths of the level. */
            px += (int64_t)(nd_rand_below(&rng, 5) - 2) * (level / 100 > 0 ? level / 100 : 1);
            px = px < 1 ? 1 : px;
            closes[i] = px;
        }
        for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
            run(builtin, windows[w][0], windows[w][1], closes, &a);
            run(plugin, windows[w][0], windows[w][1], closes, &b);
            cr_assert_gt(a.calls, 0, "seed %llu: no signal at all", (unsigned long long)seed);
            cr_assert_eq(a.calls, b.calls, "seed %llu fast %g slow %g: %d targets vs %d",
                         (unsigned long long)seed, windows[w][0], windows[w][1], a.calls,
                         b.calls);
            for (int k = 0; k < a.calls; k++) {
                cr_assert_eq(a.bar_of[k], b.bar_of[k], "seed %llu target %d",
                             (unsigned long long)seed, k);
                cr_assert_eq(a.dir_of[k], b.dir_of[k]);
            }
        }
    }
    nd_strategy_lib_close(&lib);
}
