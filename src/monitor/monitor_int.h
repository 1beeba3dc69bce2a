/* monitor_int.h: what the files of src/monitor share (not public). */
#ifndef NODERR_MONITOR_INT_H
#define NODERR_MONITOR_INT_H

#include "noderr/dashboard.h"
#include "noderr/prom.h"

/* nd_prom_on_collect whose ctx (nd_alloc'd) the registry frees with nd_free when destroyed:
 * collectors that keep per-registry state (the process metrics). On failure ctx is freed. */
nd_err_t nd__prom_on_collect_owned(nd_prom_t *p, nd_prom_collect_cb collect_cb, void *ctx);

/* The dashboard's snapshot (dashboard_srv.c, dashboard_thread.c), taken in two steps whichever
 * way the hooks give it: fill (the engine's thread: the caller's fill_cb into a preallocated
 * buffer, or its snapshot_cb's document, whose pointer the buffer then holds) and format (any
 * thread: format_cb, or that pointer taken out). A buffer is nd__dashboard_snap_size bytes; a
 * filled buffer is formatted exactly once. */
/* True when hooks give control_cb and exactly one of snapshot_cb or the binary trio. */
bool nd__dashboard_hooks_ok(const nd_dashboard_hooks_t *hooks);
size_t nd__dashboard_snap_size(const nd_dashboard_hooks_t *hooks);
/* Fills buf; false when there is nothing to format (a snapshot_cb that gave NULL). */
bool nd__dashboard_snap_fill(const nd_dashboard_hooks_t *hooks, void *buf);
/* The document of a filled buf (a new object; NULL on no memory). */
json_t *nd__dashboard_snap_format(const nd_dashboard_hooks_t *hooks, void *buf);

#endif
