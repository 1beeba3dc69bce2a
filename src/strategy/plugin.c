/* plugin.c: loading strategy plugins (shared libraries) and checking strategy definitions.
 *
 * A plugin is trusted code once loaded (it runs in the process), so the checks here are about
 * mistakes, not malice: the file must be a regular file that is not world-writable, the entry
 * symbol must be there, the descriptor must have been compiled against this ABI with the same
 * struct sizes, and every definition must satisfy nd_strategy_def_check so the engine, the
 * "k=v" parser and the optimiser can treat it exactly like a built-in. A library that fails any
 * check is unloaded before the error is returned, so a failed open leaves nothing behind.
 *
 * Invariant: an open nd_strategy_lib_t has _handle != NULL and _plugin pointing at a descriptor
 * that passed every check; a closed one has both NULL. */
#include "noderr/strategy_plugin.h"

#include "noderr/assert.h"
#include "noderr/limits.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Choices one parameter may list: the optimiser treats a choice as an index gene. */
#define CHOICES_MAX 64

/* A name as strategies and parameters use them: [a-z][a-z0-9_]*, shorter than ND_NAME_MAX. */
static bool name_ok(const char *name)
{
    if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
        return false;
    size_t i = 0;
    for (; name[i] != '\0' && i < ND_NAME_MAX; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return i < ND_NAME_MAX;
}

static nd_err_t check_choices(const char *who, const nd_param_def_t *pd, char *err,
                              size_t err_len)
{
    if (pd->choices == NULL || pd->choice_count < 1 || pd->choice_count > CHOICES_MAX) {
        nd_err_put(err, err_len, "%s: choice parameter '%s' needs 1..%d choices, has %d", who,
                   pd->name, CHOICES_MAX, pd->choices == NULL ? 0 : pd->choice_count);
        return ND_EINVAL;
    }
    if (pd->min != 0 || pd->max != pd->choice_count - 1) {
        nd_err_put(err, err_len,
                   "%s: choice parameter '%s' must have min 0 and max %d (its choices), has "
                   "[%g, %g]", who, pd->name, pd->choice_count - 1, pd->min, pd->max);
        return ND_EINVAL;
    }
    for (int k = 0; k < pd->choice_count; k++) {
        if (pd->choices[k] == NULL || pd->choices[k][0] == '\0') {
            nd_err_put(err, err_len, "%s: choice %d of parameter '%s' has no name", who, k,
                       pd->name);
            return ND_EINVAL;
        }
        for (int j = 0; j < k; j++) {
            if (strcmp(pd->choices[j], pd->choices[k]) == 0) {
                nd_err_put(err, err_len, "%s: parameter '%s' lists choice '%s' twice", who,
                           pd->name, pd->choices[k]);
                return ND_EINVAL;
            }
        }
    }
    return ND_OK;
}

/* One parameter's schema entry on its own: name, type, bounds, default, step, choices. */
static nd_err_t check_param(const char *who, const nd_param_def_t *pd, char *err, size_t err_len)
{
    ND_ASSERT(who != NULL);
    ND_ASSERT(pd != NULL);
    if (!name_ok(pd->name)) {
        nd_err_put(err, err_len, "%s: parameter name '%s' is not [a-z][a-z0-9_]* of at most %d "
                   "characters", who, pd->name ? pd->name : "(null)", ND_NAME_MAX - 1);
        return ND_EINVAL;
    }
    if (pd->type != ND_PARAM_INT && pd->type != ND_PARAM_REAL && pd->type != ND_PARAM_CHOICE) {
        nd_err_put(err, err_len, "%s: parameter '%s' has an unknown type %d", who, pd->name,
                   (int)pd->type);
        return ND_EINVAL;
    }
    if (!isfinite(pd->min) || !isfinite(pd->max) || !isfinite(pd->def) || !isfinite(pd->step)) {
        nd_err_put(err, err_len, "%s: parameter '%s': min, max, default and step must be finite",
                   who, pd->name);
        return ND_EINVAL;
    }
    if (!(pd->min <= pd->def && pd->def <= pd->max)) {
        nd_err_put(err, err_len, "%s: parameter '%s': needs min <= default <= max, has min %g, "
                   "default %g, max %g", who, pd->name, pd->min, pd->def, pd->max);
        return ND_EINVAL;
    }
    if (pd->step < 0) {
        nd_err_put(err, err_len, "%s: parameter '%s': step must be >= 0 (0: any), has %g", who,
                   pd->name, pd->step);
        return ND_EINVAL;
    }
    if (pd->type != ND_PARAM_REAL &&
        (pd->min != floor(pd->min) || pd->max != floor(pd->max) || pd->def != floor(pd->def))) {
        nd_err_put(err, err_len, "%s: parameter '%s' is whole-numbered but its min, max or "
                   "default is not", who, pd->name);
        return ND_EINVAL;
    }
    if (pd->type == ND_PARAM_CHOICE)
        return check_choices(who, pd, err, err_len);
    return ND_OK;
}

static nd_err_t check_schema(const nd_strategy_def_t *def, char *err, size_t err_len)
{
    if (def->param_count < 0 || def->param_count > ND_STRATEGY_PARAMS_MAX ||
        (def->param_count > 0 && def->params == NULL)) {
        nd_err_put(err, err_len, "strategy '%s': %d parameters (at most %d, and a schema when "
                   "any)", def->name, def->param_count, ND_STRATEGY_PARAMS_MAX);
        return ND_EINVAL;
    }
    char who[ND_NAME_MAX + 16];
    snprintf(who, sizeof who, "strategy '%s'", def->name);
    for (int i = 0; i < def->param_count; i++) {
        nd_err_t rc = check_param(who, &def->params[i], err, err_len);
        if (rc != ND_OK)
            return rc;
        for (int j = 0; j < i; j++) {
            if (strcmp(def->params[j].name, def->params[i].name) == 0) {
                nd_err_put(err, err_len, "%s: parameter '%s' is declared twice", who,
                           def->params[i].name);
                return ND_EINVAL;
            }
        }
    }
    double values[ND_STRATEGY_PARAMS_MAX];
    nd_strategy_params_default(def, values);
    char why[256] = "";
    if (nd_strategy_params_check(def, values, why, sizeof why) != ND_OK) {
        nd_err_put(err, err_len, "%s: the default parameters are refused: %s", who, why);
        return ND_EINVAL;
    }
    return ND_OK;
}

nd_err_t nd_strategy_def_check(const nd_strategy_def_t *def, char *err, size_t err_len)
{
    if (def == NULL) {
        nd_err_put(err, err_len, "a strategy definition is NULL");
        return ND_EINVAL;
    }
    if (!name_ok(def->name)) {
        nd_err_put(err, err_len, "strategy name '%s' is not [a-z][a-z0-9_]* of at most %d "
                   "characters", def->name ? def->name : "(null)", ND_NAME_MAX - 1);
        return ND_EINVAL;
    }
    if (def->state_size == NULL || def->on_start == NULL) {
        nd_err_put(err, err_len, "strategy '%s' lacks %s", def->name,
                   def->state_size == NULL ? "state_size" : "on_start");
        return ND_EINVAL;
    }
    if (!def->on_bar && !def->on_trade && !def->on_quote && !def->on_book) {
        nd_err_put(err, err_len,
                   "strategy '%s' has no market callback (on_bar, on_trade, on_quote, on_book)",
                   def->name);
        return ND_EINVAL;
    }
    return check_schema(def, err, err_len);
}

/* The file itself: a regular file that not everyone can rewrite. */
static nd_err_t check_file(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        nd_err_put(err, err_len, "%s: %s", path, strerror(e));
        return e == ENOENT ? ND_ENOTFOUND : ND_EINVAL;
    }
    if (!S_ISREG(st.st_mode)) {
        nd_err_put(err, err_len, "%s: not a regular file", path);
        return ND_EINVAL;
    }
    if (st.st_mode & S_IWOTH) {
        nd_err_put(err, err_len, "%s: writable by everyone (mode %03o); refusing to load code "
                   "anyone can change (chmod o-w)", path, (unsigned)(st.st_mode & 0777));
        return ND_EINVAL;
    }
    return ND_OK;
}

/* The descriptor: version first (readable at any ABI), then sizes, then the list. */
static nd_err_t check_descriptor(const char *path, const nd_strategy_plugin_t *p, char *err,
                                 size_t err_len)
{
    ND_ASSERT(path != NULL);
    if (p == NULL) {
        nd_err_put(err, err_len, "%s: %s() returned NULL", path, ND_STRATEGY_PLUGIN_SYMBOL);
        return ND_EINVAL;
    }
    if (p->abi_version != ND_STRATEGY_ABI_VERSION) {
        nd_err_put(err, err_len, "%s: built for strategy ABI %u, this noderr has ABI %d; rebuild "
                   "it against this noderr's SDK", path, p->abi_version, ND_STRATEGY_ABI_VERSION);
        return ND_ESTATE;
    }
    if (p->plugin_size != sizeof(nd_strategy_plugin_t) ||
        p->def_size != sizeof(nd_strategy_def_t) || p->param_def_size != sizeof(nd_param_def_t) ||
        p->ctx_size != sizeof(nd_strategy_ctx_t)) {
        nd_err_put(err, err_len, "%s: built with other struct sizes (descriptor %u, definition "
                   "%u, parameter %u, context %u bytes; this noderr: %zu, %zu, %zu, %zu) for the "
                   "same ABI %d; rebuild it against this noderr's SDK", path, p->plugin_size,
                   p->def_size, p->param_def_size, p->ctx_size, sizeof(nd_strategy_plugin_t),
                   sizeof(nd_strategy_def_t), sizeof(nd_param_def_t), sizeof(nd_strategy_ctx_t),
                   ND_STRATEGY_ABI_VERSION);
        return ND_ESTATE;
    }
    if (p->defs == NULL || p->def_count < 1 || p->def_count > ND_STRATEGY_PLUGIN_DEFS_MAX) {
        nd_err_put(err, err_len, "%s: offers %d strategies (1..%d expected)", path, p->def_count,
                   ND_STRATEGY_PLUGIN_DEFS_MAX);
        return ND_EINVAL;
    }
    char why[512];
    for (int i = 0; i < p->def_count; i++) {
        if (nd_strategy_def_check(p->defs[i], why, sizeof why) != ND_OK) {
            nd_err_put(err, err_len, "%s: %s", path, why);
            return ND_EINVAL;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(p->defs[j]->name, p->defs[i]->name) == 0) {
                nd_err_put(err, err_len, "%s: strategy '%s' is offered twice", path,
                           p->defs[i]->name);
                return ND_EINVAL;
            }
        }
    }
    return ND_OK;
}

nd_err_t nd_strategy_lib_open(nd_strategy_lib_t *lib, const char *path, char *err,
                              size_t err_len)
{
    ND_ASSERT(lib != NULL);
    ND_ASSERT(path != NULL);
    /* dlopen searches the library path for a bare name; a plugin is always a file we name. */
    char full[sizeof lib->_path];
    int n = snprintf(full, sizeof full, "%s%s", strchr(path, '/') ? "" : "./", path);
    if (n < 0 || (size_t)n >= sizeof full || path[0] == '\0') {
        nd_err_put(err, err_len, "'%s': not a usable library path", path);
        return ND_EINVAL;
    }
    nd_err_t rc = check_file(full, err, err_len);
    if (rc != ND_OK)
        return rc;
    void *handle = dlopen(full, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        nd_err_put(err, err_len, "cannot load %s: %s", path, why ? why : "unknown error");
        return ND_EINVAL;
    }
    /* POSIX's way from a data pointer to a function pointer. */
    nd_strategy_plugin_fn entry;
    *(void **)&entry = dlsym(handle, ND_STRATEGY_PLUGIN_SYMBOL);
    if (entry == NULL) {
        nd_err_put(err, err_len, "%s: no %s symbol; is it a noderr strategy plugin (built with "
                   "ND_STRATEGY_PLUGIN_EXPORT)?", path, ND_STRATEGY_PLUGIN_SYMBOL);
        dlclose(handle);
        return ND_EINVAL;
    }
    const nd_strategy_plugin_t *plugin = entry();
    rc = check_descriptor(path, plugin, err, err_len);
    if (rc != ND_OK) {
        dlclose(handle);
        return rc;
    }
    lib->_handle = handle;
    lib->_plugin = plugin;
    snprintf(lib->_path, sizeof lib->_path, "%s", path);
    return ND_OK;
}

void nd_strategy_lib_close(nd_strategy_lib_t *lib)
{
    ND_ASSERT(lib != NULL);
    if (lib->_handle != NULL)
        dlclose(lib->_handle);
    lib->_handle = NULL;
    lib->_plugin = NULL;
}

const nd_strategy_def_t *const *nd_strategy_lib_defs(const nd_strategy_lib_t *lib, int *count)
{
    ND_ASSERT(lib != NULL);
    ND_ASSERT(lib->_plugin != NULL);
    *count = lib->_plugin->def_count;
    return lib->_plugin->defs;
}

const nd_strategy_def_t *nd_strategy_lib_find(const nd_strategy_lib_t *lib, const char *name)
{
    ND_ASSERT(lib != NULL);
    ND_ASSERT(lib->_plugin != NULL);
    for (int i = 0; name != NULL && i < lib->_plugin->def_count; i++)
        if (strcmp(lib->_plugin->defs[i]->name, name) == 0)
            return lib->_plugin->defs[i];
    return NULL;
}

const char *nd_strategy_lib_path(const nd_strategy_lib_t *lib)
{
    ND_ASSERT(lib != NULL);
    return lib->_path;
}

const char *nd_strategy_lib_name(const nd_strategy_lib_t *lib)
{
    ND_ASSERT(lib != NULL);
    ND_ASSERT(lib->_plugin != NULL);
    return lib->_plugin->name ? lib->_plugin->name : lib->_path;
}
