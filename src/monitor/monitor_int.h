/* monitor_int.h: what the files of src/monitor share (not public). */
#ifndef NODERR_MONITOR_INT_H
#define NODERR_MONITOR_INT_H

#include "noderr/prom.h"

/* nd_prom_on_collect whose ctx (nd_alloc'd) the registry frees with nd_free when destroyed:
 * collectors that keep per-registry state (the process metrics). On failure ctx is freed. */
nd_err_t nd__prom_on_collect_owned(nd_prom_t *p, nd_prom_collect_cb collect_cb, void *ctx);

#endif
