/* lua_load.c: reading a Lua strategy script and its declared schema into a definition.
 *
 * The script runs once in a sandbox (lua_sandbox.c) and must return a table; its name, summary,
 * parameter schema and the callbacks it defines are copied into one nd__lua_script_t, allocated
 * once, which also keeps the source text for the instances (each runs the chunk again in its
 * own state). The state used to read the schema is closed before returning. */
#include "strategy/lua/lua_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"
#include "noderr/file.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const nd__lua_cb_names[ND_LUA_CB_COUNT] = {
    "on_start", "on_bar", "on_fill", "on_timer", "on_trade", "on_quote",
};

/* Copies the string field key of the table at idx into out (cap bytes). 0 absent, 1 copied,
 * -1 with a message in err (not a string, empty or too long). */
static int get_string(lua_State *L, int idx, const char *key, char *out, size_t cap,
                      const char *where, char *err, size_t err_len)
{
    lua_getfield(L, idx, key);
    int rc = 0;
    if (!lua_isnil(L, -1)) {
        size_t len = 0;
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (s == NULL || len == 0 || len >= cap) {
            snprintf(err, err_len, "%s: '%s' must be a string of 1 to %zu characters", where, key,
                     cap - 1);
            rc = -1;
        } else {
            memcpy(out, s, len + 1);
            rc = 1;
        }
    }
    lua_pop(L, 1);
    return rc;
}

/* The number field key of the table at idx: 0 absent, 1 read, -1 not a finite number. */
static int get_number(lua_State *L, int idx, const char *key, double *out, const char *where,
                      char *err, size_t err_len)
{
    lua_getfield(L, idx, key);
    int rc = 0;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER || !isfinite(lua_tonumber(L, -1))) {
            snprintf(err, err_len, "%s: '%s' must be a finite number", where, key);
            rc = -1;
        } else {
            *out = lua_tonumber(L, -1);
            rc = 1;
        }
    }
    lua_pop(L, 1);
    return rc;
}

static bool is_name(const char *s)
{
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return s[0] != '\0';
}

/* choices = {"a", "b", ...} of the parameter table at idx, into text and pd. */
static nd_err_t read_choices(lua_State *L, int idx, nd_param_def_t *pd, nd__lua_param_text_t *t,
                             const char *where, char *err, size_t err_len)
{
    lua_getfield(L, idx, "choices");
    int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : 0;
    if (n < 1 || n > ND_LUA_CHOICES_MAX) {
        lua_pop(L, 1);
        snprintf(err, err_len, "%s: a choice needs 'choices', a list of 1 to %d names", where,
                 ND_LUA_CHOICES_MAX);
        return ND_EINVAL;
    }
    for (int k = 0; k < n; k++) {
        lua_rawgeti(L, -1, k + 1);
        size_t len = 0;
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        bool ok = s != NULL && len < ND_LUA_NAME_MAX && is_name(s);
        if (ok)
            memcpy(t->choices[k], s, len + 1);
        lua_pop(L, 1);
        if (!ok) {
            lua_pop(L, 1);
            snprintf(err, err_len, "%s: choice %d is not a name (letters, digits, _)", where,
                     k + 1);
            return ND_EINVAL;
        }
        t->choice_ptrs[k] = t->choices[k];
    }
    lua_pop(L, 1);
    pd->choices = t->choice_ptrs;
    pd->choice_count = n;
    pd->min = 0;
    pd->max = n - 1;
    pd->step = 1;
    return ND_OK;
}

/* The bounds, default and step of a numeric parameter (its type already read). */
static nd_err_t read_bounds(lua_State *L, int idx, nd_param_def_t *pd, const char *where,
                            char *err, size_t err_len)
{
    int has_min = get_number(L, idx, "min", &pd->min, where, err, err_len);
    int has_max = has_min < 0 ? -1 : get_number(L, idx, "max", &pd->max, where, err, err_len);
    pd->step = pd->type == ND_PARAM_INT ? 1 : 0;
    int has_step = has_max < 0 ? -1 : get_number(L, idx, "step", &pd->step, where, err, err_len);
    if (has_step < 0)
        return ND_EINVAL;
    if (has_min == 0 || has_max == 0 || pd->min > pd->max) {
        snprintf(err, err_len, "%s: needs 'min' <= 'max'", where);
        return ND_EINVAL;
    }
    if (pd->step < 0 || (pd->type == ND_PARAM_INT && pd->step != floor(pd->step))) {
        snprintf(err, err_len, "%s: 'step' must be >= 0 (whole for an int)", where);
        return ND_EINVAL;
    }
    if (pd->type == ND_PARAM_INT && (pd->min != floor(pd->min) || pd->max != floor(pd->max) ||
                                     fabs(pd->min) > 1e15 || fabs(pd->max) > 1e15)) {
        snprintf(err, err_len, "%s: an int's 'min' and 'max' must be whole numbers", where);
        return ND_EINVAL;
    }
    return ND_OK;
}

/* One entry of params = {...}: {name=, type="int"|"real"|"choice", min=, max=, default=, step=,
 * help=, choices=}. */
static nd_err_t read_param(lua_State *L, int idx, nd_param_def_t *pd, nd__lua_param_text_t *t,
                           const char *where, char *err, size_t err_len)
{
    char type[16] = "";
    if (!lua_istable(L, idx)) {
        snprintf(err, err_len, "%s: must be a table {name=..., type=...}", where);
        return ND_EINVAL;
    }
    if (get_string(L, idx, "name", t->name, sizeof t->name, where, err, err_len) <= 0 ||
        !is_name(t->name)) {
        if (err[0] == '\0' || strstr(err, "'name'") == NULL)
            snprintf(err, err_len, "%s: needs a 'name' of letters, digits and _", where);
        return ND_EINVAL;
    }
    if (get_string(L, idx, "type", type, sizeof type, where, err, err_len) <= 0 ||
        (strcmp(type, "int") != 0 && strcmp(type, "real") != 0 && strcmp(type, "choice") != 0)) {
        snprintf(err, err_len, "%s (%s): 'type' must be \"int\", \"real\" or \"choice\"", where,
                 t->name);
        return ND_EINVAL;
    }
    if (get_string(L, idx, "help", t->help, sizeof t->help, where, err, err_len) < 0)
        return ND_EINVAL;
    pd->name = t->name;
    pd->help = t->help;
    pd->type = type[0] == 'i' ? ND_PARAM_INT : type[0] == 'r' ? ND_PARAM_REAL : ND_PARAM_CHOICE;
    nd_err_t rc = pd->type == ND_PARAM_CHOICE ? read_choices(L, idx, pd, t, where, err, err_len)
                                              : read_bounds(L, idx, pd, where, err, err_len);
    if (rc != ND_OK)
        return rc;
    int has_def = get_number(L, idx, "default", &pd->def, where, err, err_len);
    if (has_def <= 0 || pd->def < pd->min || pd->def > pd->max ||
        (pd->type != ND_PARAM_REAL && pd->def != floor(pd->def))) {
        snprintf(err, err_len, "%s (%s): needs a 'default' within [min, max]%s", where, t->name,
                 pd->type == ND_PARAM_REAL ? "" : ", a whole number");
        return ND_EINVAL;
    }
    return ND_OK;
}

/* params = {...} of the script's table at idx, checked (names unique). */
static nd_err_t read_params(lua_State *L, int idx, nd__lua_script_t *s, char *err, size_t err_len)
{
    lua_getfield(L, idx, "params");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return ND_OK;
    }
    int n = lua_istable(L, -1) ? (int)lua_objlen(L, -1) : -1;
    if (n < 0 || n > ND_STRATEGY_PARAMS_MAX) {
        lua_pop(L, 1);
        snprintf(err, err_len, "%s: 'params' must be a list of at most %d parameters", s->path,
                 ND_STRATEGY_PARAMS_MAX);
        return ND_EINVAL;
    }
    nd_err_t rc = ND_OK;
    for (int k = 0; k < n && rc == ND_OK; k++) {
        char where[600];
        snprintf(where, sizeof where, "%s: params[%d]", s->path, k + 1);
        lua_rawgeti(L, -1, k + 1);
        rc = read_param(L, lua_gettop(L), &s->params[k], &s->text[k], where, err, err_len);
        lua_pop(L, 1);
        for (int j = 0; j < k && rc == ND_OK; j++) {
            if (strcmp(s->text[j].name, s->text[k].name) == 0) {
                snprintf(err, err_len, "%s: parameter '%s' is declared twice", where,
                         s->text[k].name);
                rc = ND_EINVAL;
            }
        }
    }
    lua_pop(L, 1);
    s->def.param_count = n;
    return rc;
}

/* name, summary and the callbacks of the script's table at idx. */
static nd_err_t read_header(lua_State *L, int idx, nd__lua_script_t *s, char *err, size_t err_len)
{
    int rc = get_string(L, idx, "name", s->name, sizeof s->name, s->path, err, err_len);
    if (rc <= 0 || !is_name(s->name)) {
        if (rc == 0 || rc == 1)
            snprintf(err, err_len, "%s: the table needs a 'name' of letters, digits and _",
                     s->path);
        return ND_EINVAL;
    }
    if (get_string(L, idx, "summary", s->summary, sizeof s->summary, s->path, err, err_len) < 0)
        return ND_EINVAL;
    if (s->summary[0] == '\0')
        snprintf(s->summary, sizeof s->summary, "Lua strategy (%.200s)", s->path);
    for (int k = 0; k < ND_LUA_CB_COUNT; k++) {
        lua_getfield(L, idx, nd__lua_cb_names[k]);
        int type = lua_type(L, -1);
        lua_pop(L, 1);
        if (type != LUA_TNIL && type != LUA_TFUNCTION) {
            snprintf(err, err_len, "%s: '%s' must be a function", s->path, nd__lua_cb_names[k]);
            return ND_EINVAL;
        }
        s->has_cb[k] = type == LUA_TFUNCTION;
    }
    if (!s->has_cb[ND_LUA_ON_BAR] && !s->has_cb[ND_LUA_ON_TRADE] && !s->has_cb[ND_LUA_ON_QUOTE]) {
        snprintf(err, err_len, "%s: the table defines none of on_bar, on_trade, on_quote",
                 s->path);
        return ND_EINVAL;
    }
    return ND_OK;
}

/* Reads the source; refuses precompiled bytecode (it bypasses the compiler's checks). */
static nd_err_t read_source(nd__lua_script_t *s, char *err, size_t err_len)
{
    char *text = NULL;
    nd_err_t rc = nd_file_read(s->path, ND_LUA_SOURCE_MAX, 0, &text, &s->source_len, err,
                               err_len);
    if (rc != ND_OK)
        return rc;
    s->source = text;
    if (s->source_len > 0 && s->source[0] == '\033') {
        snprintf(err, err_len, "%s: precompiled Lua bytecode is refused; give the source", s->path);
        return ND_EINVAL;
    }
    return ND_OK;
}

nd_err_t nd_lua_strategy_load(const char *path, const nd_strategy_def_t **out, char *err,
                              size_t err_len)
{
    ND_ASSERT(path != NULL);
    ND_ASSERT(out != NULL);
    nd__lua_script_t *s = nd_calloc(1, sizeof *s);
    if (s == NULL)
        return ND_ENOMEM;
    if (strlen(path) >= sizeof s->path) {
        nd_free(s);
        snprintf(err, err_len, "%s: path too long", path);
        return ND_ERANGE;
    }
    snprintf(s->path, sizeof s->path, "%s", path);
    err[0] = '\0';
    nd_err_t rc = read_source(s, err, err_len);
    nd__lua_vm_t vm;
    memset(&vm, 0, sizeof vm);
    if (rc == ND_OK)
        rc = nd__lua_vm_open(&vm, s, err, err_len);
    if (rc == ND_OK)
        rc = read_header(vm.L, lua_gettop(vm.L), s, err, err_len);
    if (rc == ND_OK)
        rc = read_params(vm.L, lua_gettop(vm.L), s, err, err_len);
    if (rc == ND_OK)
        rc = nd__lua_requires_read(vm.L, lua_gettop(vm.L), s, err, err_len);
    nd__lua_vm_close(&vm);
    s->validate_slot = -1;
    if (rc == ND_OK)
        rc = nd__lua_validate_bind(s, err, err_len);
    if (rc != ND_OK) {
        nd_free(s->source);
        nd_free(s);
        return rc;
    }
    s->def.name = s->name;
    s->def.summary = s->summary;
    s->def.params = s->params;
    s->def.user = s;
    nd__lua_bind(s);
    *out = &s->def;
    return ND_OK;
}

void nd_lua_strategy_free(const nd_strategy_def_t *def)
{
    if (def == NULL)
        return;
    ND_ASSERT(nd_lua_strategy_is(def));
    nd__lua_script_t *s = (nd__lua_script_t *)def->user;
    nd__lua_validate_unbind(s);
    nd_free(s->source);
    nd_free(s);
}

const char *nd_lua_strategy_error(const nd_strategy_def_t *def)
{
    if (def == NULL || !nd_lua_strategy_is(def))
        return NULL;
    const nd__lua_script_t *s = def->user;
    return atomic_load(&s->error_ready) ? s->error : NULL;
}
