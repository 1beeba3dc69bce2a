/* plugin_bad.c: test plugins the loader must refuse, one defect each, chosen by BAD (meson
 * builds this file once per defect; tests/unit/test_strategy_plugin.c loads each). BAD 0 is the
 * correct plugin the defects start from. */
#include "noderr/strategy_plugin.h"

#include <stddef.h>

#ifndef BAD
#define BAD 0
#endif

/* Numbers, not an enum, so that #if can test them. */
enum {
    BAD_NONE = 0,
    BAD_ABI = 1,         /* built for another ABI version */
    BAD_SIZE = 2,        /* same ABI, another nd_strategy_def_t size */
    BAD_DEFAULT = 3,     /* default outside [min, max] */
    BAD_STEP = 4,        /* negative step */
    BAD_DUPLICATE = 5,   /* two parameters of one name */
    BAD_TOO_MANY = 6,    /* more than ND_STRATEGY_PARAMS_MAX parameters */
    BAD_NO_START = 7,    /* no on_start */
    BAD_NAME = 8,        /* strategy name not [a-z][a-z0-9_]* */
    BAD_CHOICES = 9,     /* a choice parameter whose max is not choice_count - 1 */
    BAD_NO_DEFS = 10,    /* offers no strategy */
    BAD_NO_SYMBOL = 11,  /* no noderr_strategy_plugin at all */
};

static size_t size(const double *params)
{
    (void)params;
    return 16;
}

static nd_err_t start(void *state, const double *params, uint32_t instrument_id,
                      nd_strategy_ctx_t *ctx)
{
    (void)state, (void)params, (void)instrument_id, (void)ctx;
    return ND_OK;
}

static void bar(void *state, const nd_bar_t *b, nd_strategy_ctx_t *ctx)
{
    (void)state, (void)b, (void)ctx;
}

static const char *const modes[] = {"fast", "slow"};

#define P(name, min, max, def, step) {name, ND_PARAM_INT, min, max, def, step, "", NULL, 0}
static const nd_param_def_t params[] = {
    P("a", 1, 10, BAD == BAD_DEFAULT ? 11 : 5, BAD == BAD_STEP ? -1 : 1),
    P(BAD == BAD_DUPLICATE ? "a" : "b", 1, 10, 5, 1),
    {"mode", ND_PARAM_CHOICE, 0, BAD == BAD_CHOICES ? 2 : 1, 0, 1, "", modes, 2},
    P("c", 1, 10, 5, 1), P("d", 1, 10, 5, 1), P("e", 1, 10, 5, 1), P("f", 1, 10, 5, 1),
    P("g", 1, 10, 5, 1), P("h", 1, 10, 5, 1), P("i", 1, 10, 5, 1), P("j", 1, 10, 5, 1),
    P("k", 1, 10, 5, 1), P("l", 1, 10, 5, 1), P("m", 1, 10, 5, 1), P("n", 1, 10, 5, 1),
    P("o", 1, 10, 5, 1), P("p", 1, 10, 5, 1),
};

static const nd_strategy_def_t def = {
    .name = BAD == BAD_NAME ? "Bad-Name" : "test_plugin",
    .summary = "a test plugin",
    .params = params,
    .param_count = BAD == BAD_TOO_MANY ? 17 : 3,
    .state_size = size,
    .on_start = BAD == BAD_NO_START ? NULL : start,
    .on_bar = bar,
};

static const nd_strategy_def_t *const defs[] = {&def};

#if BAD != 11 /* BAD_NO_SYMBOL */
const nd_strategy_plugin_t *noderr_strategy_plugin(void)
{
    static const nd_strategy_plugin_t plugin = {
        /* ND_STRATEGY_PLUGIN_HEADER, written out so that two fields can be wrong */
        .abi_version = ND_STRATEGY_ABI_VERSION + (BAD == BAD_ABI),
        .plugin_size = sizeof(nd_strategy_plugin_t),
        .def_size = sizeof(nd_strategy_def_t) + (BAD == BAD_SIZE ? 8 : 0),
        .param_def_size = sizeof(nd_param_def_t),
        .ctx_size = sizeof(nd_strategy_ctx_t),
        .name = "test_plugin",
        .defs = defs,
        .def_count = BAD == BAD_NO_DEFS ? 0 : 1,
    };
    return &plugin;
}
#else
const nd_strategy_def_t *const *not_the_entry(void);
const nd_strategy_def_t *const *not_the_entry(void)
{
    return defs;
}
#endif
