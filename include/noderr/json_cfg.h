/* json_cfg.h: typed fields of a JSON config document (a scenario config, a session config),
 * each error naming the file, the key path and why: "session.json: risk.max_drawdown: 1.5 is
 * outside [0, 1]". Absent optional fields keep the caller's default. Implemented in
 * src/backtest/json_file.c with nd_json_file_load (scenario.h), which reads the document. */
#ifndef NODERR_JSON_CFG_H
#define NODERR_JSON_CFG_H

#include "noderr/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nd_jcfg {
    const char *path; /* the file, first in every message */
    char key[96];     /* the object being read ("risk", "strategies[1]"; "" at the top) */
    char *err;
    size_t err_len;
} nd_jcfg_t;

/* Writes "PATH: KEY.FIELD: why" into the context's err; returns ND_EINVAL. */
nd_err_t nd_jcfg_bad(nd_jcfg_t *c, const char *field, const char *why);
/* A number in [lo, hi]. */
nd_err_t nd_jcfg_real(nd_jcfg_t *c, json_t *obj, const char *field, double lo, double hi,
                      double *out);
/* A whole number in [lo, hi]. */
nd_err_t nd_jcfg_int(nd_jcfg_t *c, json_t *obj, const char *field, int64_t lo, int64_t hi,
                     int64_t *out);
/* A non-empty string shorter than cap. */
nd_err_t nd_jcfg_str(nd_jcfg_t *c, json_t *obj, const char *field, char *out, size_t cap);
nd_err_t nd_jcfg_bool(nd_jcfg_t *c, json_t *obj, const char *field, bool *out);
/* A date or time (YYYY-MM-DD or ISO-8601 UTC) as ns since the epoch. */
nd_err_t nd_jcfg_time(nd_jcfg_t *c, json_t *obj, const char *field, int64_t *out);
/* An exact decimal at `decimals` places in [lo, hi]: a string ("0.01") or a whole number; a
 * JSON fraction is refused (a binary double cannot carry an exact price), as is a value with
 * more places than decimals. */
nd_err_t nd_jcfg_fixed(nd_jcfg_t *c, json_t *obj, const char *field, int decimals, int64_t lo,
                       int64_t hi, int64_t *out);
/* A number in [lo, hi] with at most `places` decimal places (<= 9) as an integer in
 * 10^-places (0.15 at 4 places -> 1500): shares, weights and percentages, where a JSON number is
 * natural; more places are refused, never rounded. */
nd_err_t nd_jcfg_fraction(nd_jcfg_t *c, json_t *obj, const char *field, double lo, double hi,
                          int places, int64_t *out);
/* A name a config gives (a scenario, a session): letters, digits, '-', '_' and '.', not empty,
 * not starting with '.' (so it is safe in a file name). */
bool nd_jcfg_name_ok(const char *name);
/* Starts an optional section of a config, obj being its value: *out is obj as a mutable handle
 * for the typed readers (they only read). Absent (NULL): *out is NULL and the context is left
 * as it was. Present: the context's key becomes key ("launch.ramp"), and anything but an object
 * is "PATH: KEY: must be an object". */
nd_err_t nd_jcfg_section(nd_jcfg_t *c, const json_t *obj, const char *key, json_t **out);
/* Every key of obj must be in allowed (NULL-terminated): "unknown key" otherwise. */
nd_err_t nd_jcfg_keys(nd_jcfg_t *c, json_t *obj, const char *const *allowed);

/* How nd_jcfg_fields reads one field, and where it puts it (the reader above of that kind). */
typedef enum nd_jcfg_kind {
    ND_JCFG_INT,      /* int64_t: nd_jcfg_int in [lo, hi], stored times scale (0: 1; ms -> ns) */
    ND_JCFG_FIXED,    /* int64_t: nd_jcfg_fixed at places decimals in [lo, hi] */
    ND_JCFG_FRACTION, /* int64_t: nd_jcfg_fraction in [real_lo, real_hi] at places */
    ND_JCFG_BOOL,     /* bool: nd_jcfg_bool */
    ND_JCFG_STR,      /* char[cap]: nd_jcfg_str */
    ND_JCFG_KEY,      /* an allowed key the caller reads itself (out unused) */
} nd_jcfg_kind_t;

/* One field of a section: a table of them, ended by a NULL key, is the section's schema (the
 * keys it allows, in order, and how each is read). */
typedef struct nd_jcfg_field {
    const char *key;
    nd_jcfg_kind_t kind;
    void *out;
    int64_t lo, hi;          /* INT, FIXED */
    double real_lo, real_hi; /* FRACTION */
    int places;              /* FIXED, FRACTION */
    size_t cap;              /* STR */
    int64_t scale;           /* INT: the stored unit per unit read (0 or 1: the same) */
} nd_jcfg_field_t;

/* Reads obj by the table: every key of obj must be one of the table's ("unknown key"), then
 * each field in the table's order, as its kind's reader does (absent keeps *out). The first
 * failure is the answer. */
nd_err_t nd_jcfg_fields(nd_jcfg_t *c, json_t *obj, const nd_jcfg_field_t *fields);
/* nd_jcfg_section, then, when the section is there, nd_jcfg_fields on it. */
nd_err_t nd_jcfg_section_fields(nd_jcfg_t *c, const json_t *obj, const char *key,
                                const nd_jcfg_field_t *fields, json_t **out);

#endif
