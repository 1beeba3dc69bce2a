/* lua_requires.c: relations between a script's parameters, checked as the definition's
 * validate().
 *
 *   requires = { "fast < slow" }    -- NAME OP NAME, OP one of < <= > >= ~=
 *
 * The C interface's validate(params, err, err_len) carries no pointer to its definition, so a
 * script with requirements takes one of ND_LUA_VALIDATE_SLOTS entry points, each bound to one
 * slot of a table of scripts: the function itself says which script it checks. Slots are taken
 * and released on the loading thread (atomic compare-and-swap), and read from any thread (evolve
 * validates candidates on its workers). */
#include "strategy/lua/lua_int.h"

#include "noderr/assert.h"

#include <stdio.h>
#include <string.h>

static _Atomic(nd__lua_script_t *) slots[ND_LUA_VALIDATE_SLOTS];

static nd_err_t check(int slot, const double *params, char *err, size_t err_len)
{
    const nd__lua_script_t *s = atomic_load(&slots[slot]);
    ND_ASSERT(s != NULL);
    for (int k = 0; k < s->require_count; k++) {
        const nd__lua_require_t *r = &s->requires[k];
        double a = params[r->lhs], b = params[r->rhs];
        const char *op = r->op;
        bool ok = op[0] == '<' ? (op[1] ? a <= b : a < b)
                  : op[0] == '>' ? (op[1] ? a >= b : a > b)
                                 : a != b;
        if (!ok) {
            snprintf(err, err_len, "%s: %s (%g) must be %s %s (%g)", s->name,
                     s->params[r->lhs].name, a, op, s->params[r->rhs].name, b);
            return ND_EINVAL;
        }
    }
    return ND_OK;
}

#define SLOT_FN(n)                                                                    \
    static nd_err_t validate_##n(const double *params, char *err, size_t err_len)    \
    {                                                                                 \
        return check(n, params, err, err_len);                                        \
    }
#define SLOTS_8(X, b) X(b##0) X(b##1) X(b##2) X(b##3) X(b##4) X(b##5) X(b##6) X(b##7)
SLOT_FN(0) SLOT_FN(1) SLOT_FN(2) SLOT_FN(3) SLOT_FN(4) SLOT_FN(5) SLOT_FN(6) SLOT_FN(7)
SLOTS_8(SLOT_FN, 1) SLOTS_8(SLOT_FN, 2) SLOTS_8(SLOT_FN, 3) SLOTS_8(SLOT_FN, 4)
SLOTS_8(SLOT_FN, 5) SLOTS_8(SLOT_FN, 6) SLOTS_8(SLOT_FN, 7)

#define SLOT_REF(n) validate_##n,
static nd_err_t (*const validate_fns[ND_LUA_VALIDATE_SLOTS])(const double *, char *, size_t) = {
    SLOT_REF(0) SLOT_REF(1) SLOT_REF(2) SLOT_REF(3) SLOT_REF(4) SLOT_REF(5) SLOT_REF(6)
    SLOT_REF(7) SLOTS_8(SLOT_REF, 1) SLOTS_8(SLOT_REF, 2) SLOTS_8(SLOT_REF, 3)
    SLOTS_8(SLOT_REF, 4) SLOTS_8(SLOT_REF, 5) SLOTS_8(SLOT_REF, 6) SLOTS_8(SLOT_REF, 7)};
_Static_assert(ND_LUA_VALIDATE_SLOTS == 64, "one entry point a slot");

static int param_index(const nd__lua_script_t *s, const char *name, size_t len)
{
    for (int k = 0; k < s->def.param_count; k++)
        if (strlen(s->params[k].name) == len && memcmp(s->params[k].name, name, len) == 0)
            return k;
    return -1;
}

/* "a OP b" into r; false when it is not that shape or names an undeclared parameter. */
static bool parse_require(const nd__lua_script_t *s, const char *text, nd__lua_require_t *r)
{
    static const char *const ops[] = {"<=", ">=", "~=", "<", ">"};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const char *at = strstr(text, ops[k]);
        if (at == NULL)
            continue;
        const char *a = text, *b = at + strlen(ops[k]);
        while (*a == ' ')
            a++;
        size_t alen = (size_t)(at - a);
        while (alen > 0 && a[alen - 1] == ' ')
            alen--;
        while (*b == ' ')
            b++;
        size_t blen = strlen(b);
        while (blen > 0 && b[blen - 1] == ' ')
            blen--;
        r->lhs = param_index(s, a, alen);
        r->rhs = param_index(s, b, blen);
        snprintf(r->op, sizeof r->op, "%s", ops[k]);
        return r->lhs >= 0 && r->rhs >= 0;
    }
    return false;
}

nd_err_t nd__lua_requires_read(lua_State *L, int idx, nd__lua_script_t *s, char *err,
                               size_t err_len)
{
    lua_getfield(L, idx, "requires");
    int n = lua_isnil(L, -1) ? 0 : lua_istable(L, -1) ? (int)lua_objlen(L, -1) : -1;
    nd_err_t rc = n >= 0 && n <= ND_LUA_REQUIRES_MAX ? ND_OK : ND_EINVAL;
    if (rc != ND_OK)
        snprintf(err, err_len, "%s: 'requires' must be a list of at most %d relations", s->path,
                 ND_LUA_REQUIRES_MAX);
    for (int k = 0; k < n && rc == ND_OK; k++) {
        lua_rawgeti(L, -1, k + 1);
        const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (text == NULL || !parse_require(s, text, &s->requires[k])) {
            snprintf(err, err_len, "%s: requires[%d]: expected \"NAME OP NAME\" with declared "
                     "parameters and OP one of < <= > >= ~=", s->path, k + 1);
            rc = ND_EINVAL;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    s->require_count = rc == ND_OK ? n : 0;
    return rc;
}

nd_err_t nd__lua_validate_bind(nd__lua_script_t *s, char *err, size_t err_len)
{
    s->validate_slot = -1;
    s->def.validate = NULL;
    if (s->require_count == 0)
        return ND_OK;
    for (int k = 0; k < ND_LUA_VALIDATE_SLOTS; k++) {
        nd__lua_script_t *expected = NULL;
        if (atomic_compare_exchange_strong(&slots[k], &expected, s)) {
            s->validate_slot = k;
            s->def.validate = validate_fns[k];
            return ND_OK;
        }
    }
    snprintf(err, err_len, "%s: more than %d scripts with 'requires' loaded at once", s->path,
             ND_LUA_VALIDATE_SLOTS);
    return ND_EFULL;
}

void nd__lua_validate_unbind(nd__lua_script_t *s)
{
    if (s->validate_slot < 0)
        return;
    ND_ASSERT(atomic_load(&slots[s->validate_slot]) == s);
    atomic_store(&slots[s->validate_slot], NULL);
    s->validate_slot = -1;
}
