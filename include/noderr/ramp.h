/* ramp.h: the capital ramp (docs/launcher.md "Capital ramp"): the share of capital a strategy
 * (or the whole book: the launcher decides what one ramp covers) may use, climbing a schedule
 * from a small start (default 5%) to its end (default 100% after 30 days) while health and risk
 * hold.
 *
 * The ramp is pure and deterministic: the launcher calls nd_ramp_tick on a timer with the time
 * of its injected clock and whether health and risk hold; nothing here reads a clock, prints or
 * writes. Time counts toward the schedule only while the ramp runs ("progress"): the interval
 * between two ticks counts when the ramp was running at the earlier tick, the later tick is
 * healthy, and the interval is at most gap_max (a longer gap, such as a restart, was not
 * watched and does not count). Any unhealthy tick pauses the ramp; it resumes once ticks have
 * been healthy for resume_after. The share is always schedule(progress): exact millionths, never
 * above the schedule at the same wall time since the start, never above 100%. A cut (after a
 * rollback) moves progress back to the start of the latest schedule step whose share is at most
 * the cut share, and the ramp climbs from there.
 *
 * Every change (start, advance, pause, resume, cut) comes out as an nd_ramp_event_t for the
 * launcher to record in the store; the state serialises to JSON so a restart resumes it. */
#ifndef NODERR_RAMP_H
#define NODERR_RAMP_H

#include "noderr/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* A steps schedule holds at most this many steps: a ramp is a handful of stages (a 30-day ramp
 * with a step a day is 31); more would be a typo, and it bounds the state. */
#define ND_RAMP_STEPS_MAX 128
/* The most events one tick produces: a resume and an advance. */
#define ND_RAMP_TICK_EVENTS_MAX 2
#define ND_RAMP_SHARE_ONE 1000000 /* shares are millionths of capital */
#define ND_RAMP_REASON_MAX 96

typedef enum nd_ramp_kind {
    ND_RAMP_LINEAR = 0, /* from -> to over days, in equal steps of interval */
    ND_RAMP_STEPS = 1   /* [{day, share}...] */
} nd_ramp_kind_t;

typedef struct nd_ramp_step {
    int64_t at_ns;    /* progress at which the step starts (its "day" in ns) */
    int64_t share_e6; /* the share from then on */
} nd_ramp_step_t;

/* The "launch.ramp" object (docs/launcher.md lists keys and defaults). */
typedef struct nd_ramp_config {
    nd_ramp_kind_t kind;
    int64_t from_e6;          /* linear: the first share (default 50000 = 5%) */
    int64_t to_e6;            /* linear: the last share (default 1000000) */
    int64_t duration_ns;      /* linear: days (default 30) */
    int64_t interval_ns;      /* linear: the share moves every interval (default 1 day) */
    nd_ramp_step_t steps[ND_RAMP_STEPS_MAX]; /* steps: increasing at_ns from 0, shares not */
    uint32_t step_count;                     /* decreasing */
    int64_t resume_after_ns;  /* healthy this long before a paused ramp resumes (default 60 s) */
    int64_t gap_max_ns;       /* a longer interval between ticks does not count (default 120 s) */
} nd_ramp_config_t;

typedef enum nd_ramp_event_kind {
    ND_RAMP_EV_START = 0,   /* the first tick: the first share */
    ND_RAMP_EV_ADVANCE = 1, /* the share moved up the schedule */
    ND_RAMP_EV_PAUSE = 2,   /* an unhealthy tick: progress stops, the share holds */
    ND_RAMP_EV_RESUME = 3,  /* healthy for resume_after: progress counts again */
    ND_RAMP_EV_CUT = 4      /* nd_ramp_cut: the share fell, progress moved back */
} nd_ramp_event_kind_t;

typedef struct nd_ramp_event {
    nd_ramp_event_kind_t kind;
    int64_t at_ns;           /* the tick's time */
    int64_t share_before_e6; /* equal to after for pause and resume */
    int64_t share_after_e6;
    int64_t progress_ns;     /* after the event */
    char reason[ND_RAMP_REASON_MAX]; /* pause and cut: why (the caller's text); else "" */
} nd_ramp_event_t;

/* Caller-allocated; all fields read-only to callers (nd_ramp_state_json to persist). */
typedef struct nd_ramp {
    nd_ramp_config_t cfg;
    bool started;
    bool paused;
    int64_t start_ns;        /* the first tick */
    int64_t last_tick_ns;
    int64_t progress_ns;     /* running time that counted */
    int64_t healthy_since_ns; /* paused: first of the current run of healthy ticks, -1 none */
    int64_t share_e6;        /* schedule(progress_ns) */
    uint32_t pauses, cuts;   /* counts, for status */
} nd_ramp_t;

/* The defaults: linear 5% -> 100% over 30 days in daily steps, resume after 60 s, gap 120 s. */
void nd_ramp_config_default(nd_ramp_config_t *out /* OUT */);
/* Reads the "launch.ramp" object obj (NULL: every default) into out. `where` is the config
 * file's name, first in every message: "FILE: launch.ramp.linear.days: 0 is outside [1, 3650]".
 * ND_EINVAL with err set on a bad value; out is written only on success. */
nd_err_t nd_ramp_config_parse(const json_t *obj, const char *where, nd_ramp_config_t *out,
                              char *err, size_t err_len);

/* The schedule's share at progress_ns (>= 0). O(steps). */
int64_t nd_ramp_schedule_share(const nd_ramp_config_t *cfg, int64_t progress_ns);
/* The start of the schedule step holding progress_ns (its share's first progress). O(steps). */
int64_t nd_ramp_schedule_step_start(const nd_ramp_config_t *cfg, int64_t progress_ns);
/* Progress at which the schedule reaches its last share. */
int64_t nd_ramp_schedule_end(const nd_ramp_config_t *cfg);

/* Initialises a ramp that has not started (share 0 until the first tick). */
void nd_ramp_init(nd_ramp_t *r, const nd_ramp_config_t *cfg);
/* One observation at now_ns (not before the previous tick: ND_EINVAL, nothing changes):
 * `healthy` is true when health and risk hold (the launcher's health check passed and the
 * rollback guard decided none); `why` (may be NULL) names what failed, for the pause event.
 * Writes up to ND_RAMP_TICK_EVENTS_MAX events into out and their number into *count. */
nd_err_t nd_ramp_tick(nd_ramp_t *r, int64_t now_ns, bool healthy, const char *why,
                      nd_ramp_event_t out[ND_RAMP_TICK_EVENTS_MAX], uint32_t *count /* OUT */);
/* Cuts the share to at most share * factor_e6 / 10^6 (after a rollback): progress moves back to
 * the start of the latest schedule step whose share is at most that (to 0 when none is: the
 * share is then the schedule's first). The ramp keeps its pause state. Writes one event;
 * ND_ESTATE before the first tick, ND_EINVAL for a factor outside [0, 10^6]. */
nd_err_t nd_ramp_cut(nd_ramp_t *r, int64_t now_ns, int64_t factor_e6, const char *why,
                     nd_ramp_event_t *out /* OUT */);

/* "start", "advance", "pause", "resume", "cut". */
const char *nd_ramp_event_name(nd_ramp_event_kind_t kind);
/* The event as a JSON object for the store: {"event", "at", "share_before", "share_after",
 * "progress_s", "reason"} with shares as exact decimal strings ("0.081666"). Caller decrefs. */
json_t *nd_ramp_event_json(const nd_ramp_event_t *ev);
/* The state to persist: {"started", "paused", "start_ns", "last_tick_ns", "progress_ns",
 * "healthy_since_ns", "share", "pauses", "cuts"}. Caller decrefs; NULL on no memory. */
json_t *nd_ramp_state_json(const nd_ramp_t *r);
/* Restores a ramp from nd_ramp_state_json's object under cfg (which may differ from the saved
 * run's: the share is schedule(progress) under cfg). ND_EPARSE with err naming the field. */
nd_err_t nd_ramp_state_load(nd_ramp_t *r, const nd_ramp_config_t *cfg, const json_t *state,
                            char *err, size_t err_len);

#endif
