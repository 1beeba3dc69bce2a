/* prom_process.c: the standard process_* metrics (Prometheus client conventions) of the running
 * process, read from /proc/self and getrusage at each render: resident and virtual memory,
 * CPU seconds, open and maximum file descriptors, start time. Linux only (the platform). */
#include "monitor_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct process {
    nd_prom_cell_t *rss, *vsize, *cpu, *fds, *fds_max, *start;
} process_t;

/* Memory from /proc/self/statm (pages); unchanged cells when it cannot be read. */
static void read_statm(process_t *pr)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return;
    unsigned long long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0) {
        nd_prom_set(pr->vsize, (int64_t)(size * (unsigned long long)page));
        nd_prom_set(pr->rss, (int64_t)(resident * (unsigned long long)page));
    }
    fclose(f);
}

static int64_t count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    int64_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static void collect(void *ctx)
{
    process_t *pr = ctx;
    read_statm(pr);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        int64_t us = ((int64_t)ru.ru_utime.tv_sec + (int64_t)ru.ru_stime.tv_sec) * 1000000 +
                     ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
        nd_prom_set(pr->cpu, us);
    }
    nd_prom_set(pr->fds, count_fds());
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        nd_prom_set(pr->fds_max, rl.rlim_cur == RLIM_INFINITY ? INT64_MAX : (int64_t)rl.rlim_cur);
}

nd_err_t nd_prom_process_metrics(nd_prom_t *p, int64_t start_real_ns, char *err, size_t err_len)
{
    ND_ASSERT(p != NULL);
    ND_ASSERT(start_real_ns >= 0);
    static const struct {
        nd_prom_type_t type;
        const char *name, *help;
        int decimals;
        size_t offset;
    } defs[] = {
        {ND_PROM_GAUGE, "process_resident_memory_bytes", "Resident memory size in bytes.", 0,
         offsetof(process_t, rss)},
        {ND_PROM_GAUGE, "process_virtual_memory_bytes", "Virtual memory size in bytes.", 0,
         offsetof(process_t, vsize)},
        {ND_PROM_COUNTER, "process_cpu_seconds_total", "User and system CPU time in seconds.", 6,
         offsetof(process_t, cpu)},
        {ND_PROM_GAUGE, "process_open_fds", "Open file descriptors.", 0,
         offsetof(process_t, fds)},
        {ND_PROM_GAUGE, "process_max_fds", "Maximum number of open file descriptors.", 0,
         offsetof(process_t, fds_max)},
        {ND_PROM_GAUGE, "process_start_time_seconds",
         "Start time of the process since the Unix epoch in seconds.", 9,
         offsetof(process_t, start)},
    };
    process_t *pr = nd_calloc(1, sizeof *pr); /* the registry frees it (owned collect) */
    if (!pr)
        return ND_ENOMEM;
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        nd_prom_family_t *f;
        nd_err_t rc = nd_prom_family(p, defs[i].type, defs[i].name, defs[i].help,
                                     defs[i].decimals, NULL, NULL, 0, &f, err, err_len);
        nd_prom_cell_t **cell = (nd_prom_cell_t **)((char *)pr + defs[i].offset);
        if (rc == ND_OK)
            rc = nd_prom_series(f, NULL, cell);
        if (rc != ND_OK) {
            nd_free(pr);
            return rc;
        }
    }
    nd_prom_set(pr->start, start_real_ns);
    return nd__prom_on_collect_owned(p, collect, pr);
}
