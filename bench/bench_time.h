/* bench_time.h: the benchmarks' clocks. Wall time comes from the OS clock through nd_clock_t
 * (the one place the OS clock is read); CPU time (user + system) is printed beside it because on
 * a shared machine the wall clock also counts the time spent waiting for a core. */
#ifndef NODERR_BENCH_TIME_H
#define NODERR_BENCH_TIME_H

#include "noderr/clock.h"

#include <sys/resource.h>

static inline double bench_wall_s(void)
{
    return (double)nd_clock_mono_ns(nd_clock_os()) * 1e-9;
}

static inline double bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

#endif
