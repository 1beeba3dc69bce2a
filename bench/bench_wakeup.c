/* bench_wakeup.c: the machine's floor under loopback wire to wire (issue 12's target: p50 <= 50
 * us). Wire to wire crosses two processes twice: exchange-sim's write wakes the session, the
 * session's write wakes exchange-sim. Whatever the session does, each crossing costs at least
 * what one thread's write takes to wake another thread asleep in the kernel, and on a virtual
 * machine a wake-up on another vCPU is an inter-processor interrupt through the hypervisor.
 * This measures that floor with two threads and two pipes, one byte bounced back and forth:
 *
 *   - asleep, two vCPUs: both block in read(2) (as a libuv loop blocks in epoll_wait) on
 *     different CPUs: every crossing is a cross-CPU wake-up;
 *   - asleep, one vCPU: both on CPU 0: a crossing is a context switch, no interrupt;
 *   - spinning, two vCPUs: both poll with epoll_wait(timeout 0) (a busy-polling loop) on
 *     different CPUs: nobody sleeps, no wake-up at all.
 *
 * A round trip is two crossings; the figures are per crossing (round trip / 2), p50 and p99 over
 * ROUNDS bounces, each after a 200 us pause (as the session idles between trades).
 * Usage: bench_wakeup [ROUNDS] (default 5,000). Needs 2 CPUs for the two-vCPU rows. */
#include "bench_time.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct pair {
    int ping[2], pong[2];
    int rounds, cpu_peer;
    bool spin;
} pair_t;

static bool pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

/* Waits until fd is readable: asleep in read(2)'s wait, or polling with a zero timeout. */
static bool take_byte(int ep, int fd, bool spin)
{
    struct epoll_event ev;
    if (spin)
        while (epoll_wait(ep, &ev, 1, 0) == 0)
            ;
    char c;
    return read(fd, &c, 1) == 1;
}

static int poller(int fd)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(ep);
        return -1;
    }
    return ep;
}

static void *peer(void *arg)
{
    pair_t *p = arg;
    int ep = poller(p->ping[0]);
    if (ep < 0 || !pin(p->cpu_peer))
        return NULL;
    for (int i = 0; i < p->rounds; i++)
        if (!take_byte(ep, p->ping[0], p->spin) || write(p->pong[1], "x", 1) != 1)
            break;
    close(ep);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One row: ROUNDS bounces; false when the machine refused a pipe, a thread or the affinity. */
static bool row(const char *label, int cpu_peer, bool spin, int rounds, int64_t *rtt)
{
    pair_t p = {.rounds = rounds, .cpu_peer = cpu_peer, .spin = spin};
    if (pipe(p.ping) != 0 || pipe(p.pong) != 0 || !pin(0))
        return false;
    int ep = poller(p.pong[0]);
    pthread_t t;
    if (ep < 0 || pthread_create(&t, NULL, peer, &p) != 0)
        return false;
    const nd_clock_t *clock = nd_clock_os();
    int n = 0;
    for (; n < rounds; n++) {
        int64_t until = nd_clock_mono_ns(clock) + 200000;
        while (nd_clock_mono_ns(clock) < until) /* idle as between trades, without sleeping */
            if (!spin)
                usleep(50);
        int64_t t0 = nd_clock_mono_ns(clock);
        if (write(p.ping[1], "x", 1) != 1 || !take_byte(ep, p.pong[0], spin))
            break;
        rtt[n] = nd_clock_mono_ns(clock) - t0;
    }
    pthread_join(t, NULL);
    close(ep);
    for (int i = 0; i < 2; i++) {
        close(p.ping[i]);
        close(p.pong[i]);
    }
    if (n < rounds)
        return false;
    qsort(rtt, (size_t)n, sizeof *rtt, cmp_i64);
    printf("%-26s one crossing p50 %7.1f us  p99 %7.1f us  (round trip p50 %.1f us)\n", label,
           (double)rtt[n / 2] / 2e3, (double)rtt[n * 99 / 100] / 2e3, (double)rtt[n / 2] / 1e3);
    return true;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 5000;
    if (rounds < 100 || rounds > 10000000) {
        fprintf(stderr, "bench_wakeup: ROUNDS must be 100 to 10000000\n");
        return 2;
    }
    int64_t *rtt = malloc((size_t)rounds * sizeof *rtt);
    if (!rtt)
        return 1;
    bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
    bool ok = (!two || row("asleep, two vCPUs", 1, false, rounds, rtt)) &&
              row("asleep, one vCPU", 0, false, rounds, rtt) &&
              (!two || row("spinning, two vCPUs", 1, true, rounds, rtt));
    if (!two)
        printf("one CPU online: the two-vCPU rows are not measured\n");
    free(rtt);
    return ok ? 0 : 1;
}
