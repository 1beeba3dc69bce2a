/* strategy_plugin.h: strategies in shared libraries (C plugins), and the loader.
 *
 * A plugin is a shared object that exports one function, noderr_strategy_plugin, returning a
 * descriptor: the ABI version and struct sizes it was built with (ND_STRATEGY_PLUGIN_HEADER
 * fills them) and the strategies it offers, each an nd_strategy_def_t like a built-in's. A
 * plugin includes only the installed headers and links libnoderr (pkg-config noderr) for the
 * indicator library and the parameter helpers. docs/strategy-sdk.md is the full story:
 *
 *     static const nd_strategy_def_t *const defs[] = {&my_def};
 *     ND_STRATEGY_PLUGIN_EXPORT const nd_strategy_plugin_t *noderr_strategy_plugin(void)
 *     {
 *         static const nd_strategy_plugin_t plugin = {
 *             ND_STRATEGY_PLUGIN_HEADER, .name = "mine", .version = "1.0",
 *             .defs = defs, .def_count = 1};
 *         return &plugin;
 *     }
 *
 * The loader (nd_strategy_lib_open) refuses, each with a message naming the path and why: a
 * path that is not a regular file or is writable by everyone, a library without the entry symbol,
 * another ABI version or other struct sizes, and any definition that fails
 * nd_strategy_def_check. Every definition and string a plugin hands over must stay valid while
 * the library is loaded (static storage). */
#ifndef NODERR_STRATEGY_PLUGIN_H
#define NODERR_STRATEGY_PLUGIN_H

#include "noderr/err.h"
#include "noderr/strategy.h"

#include <stddef.h>
#include <stdint.h>

/* The entry symbol's name, as the loader looks it up. */
#define ND_STRATEGY_PLUGIN_SYMBOL "noderr_strategy_plugin"

/* Exports the entry point from a library built with hidden visibility. */
#define ND_STRATEGY_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef struct nd_strategy_plugin {
    /* The first field at every ABI version, so any loader can read it. */
    uint32_t abi_version;     /* ND_STRATEGY_ABI_VERSION the plugin was compiled with */
    uint32_t plugin_size;     /* sizeof(nd_strategy_plugin_t) */
    uint32_t def_size;        /* sizeof(nd_strategy_def_t) */
    uint32_t param_def_size;  /* sizeof(nd_param_def_t) */
    uint32_t ctx_size;        /* sizeof(nd_strategy_ctx_t) */
    uint32_t _reserved;       /* zero */
    const char *name;         /* the plugin's name, for messages ("mysma") */
    const char *version;      /* the plugin's own version text, may be NULL */
    const nd_strategy_def_t *const *defs;
    int def_count;            /* 1 .. ND_STRATEGY_PLUGIN_DEFS_MAX */
} nd_strategy_plugin_t;

/* The version and size fields, as this SDK has them: the first initialisers of a descriptor. */
#define ND_STRATEGY_PLUGIN_HEADER                                                                  \
    .abi_version = ND_STRATEGY_ABI_VERSION, .plugin_size = sizeof(nd_strategy_plugin_t),           \
    .def_size = sizeof(nd_strategy_def_t), .param_def_size = sizeof(nd_param_def_t),               \
    .ctx_size = sizeof(nd_strategy_ctx_t)

/* The entry point a plugin defines; called once at load, it returns a descriptor in static
 * storage (never NULL). */
typedef const nd_strategy_plugin_t *(*nd_strategy_plugin_fn)(void);
const nd_strategy_plugin_t *noderr_strategy_plugin(void);

/* A loaded plugin library. Caller-allocated; fields are private. */
typedef struct nd_strategy_lib {
    void *_handle;                        /* dlopen's handle; NULL when closed */
    const nd_strategy_plugin_t *_plugin;  /* the checked descriptor */
    char _path[4096];                     /* as given, for messages */
} nd_strategy_lib_t;

/* Loads the library at path (a path without '/' is taken relative to the current directory,
 * never searched for), checks it as described above and fills lib. On failure lib is untouched
 * and err says why: ND_ENOTFOUND (no such file), ND_EINVAL (not a regular file, writable by
 * everyone, not loadable, no entry symbol, a bad definition), ND_ESTATE (built for another ABI or
 * with other struct sizes: rebuild it). Cost: dlopen plus O(definitions x parameters). */
nd_err_t nd_strategy_lib_open(nd_strategy_lib_t *lib /* OUT */, const char *path, char *err,
                              size_t err_len);
/* Unloads the library: every definition it handed out is invalid afterwards. Safe on a lib
 * that is closed already. */
void nd_strategy_lib_close(nd_strategy_lib_t *lib);
/* The library's definitions, in its order; *count gets their number. */
const nd_strategy_def_t *const *nd_strategy_lib_defs(const nd_strategy_lib_t *lib,
                                                     int *count /* OUT */);
/* A definition by name; NULL if the library has none by that name. O(definitions). */
const nd_strategy_def_t *nd_strategy_lib_find(const nd_strategy_lib_t *lib, const char *name);
/* The path the library was opened with, and the plugin's name from its descriptor. */
const char *nd_strategy_lib_path(const nd_strategy_lib_t *lib);
const char *nd_strategy_lib_name(const nd_strategy_lib_t *lib);

/* Checks a definition as the engine and the optimiser rely on it, whoever wrote it (plugin,
 * script or built-in): a name of 1..ND_NAME_MAX-1 characters [a-z0-9_] starting with a letter;
 * state_size and on_start set, and at least one of on_bar, on_trade, on_quote, on_book; at most
 * ND_STRATEGY_PARAMS_MAX parameters with unique names of the same form, each with min <= def <=
 * max (finite), step >= 0, whole bounds and default for integers, and for a choice 1..64 named
 * choices with min 0, max choice_count - 1; the defaults passing validate(). ND_EINVAL with
 * the reason (naming the strategy and the parameter) in err. O(parameters^2). */
nd_err_t nd_strategy_def_check(const nd_strategy_def_t *def, char *err, size_t err_len);

#endif
