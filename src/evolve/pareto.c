/* pareto.c: NSGA-II ranking (fast non-dominated sort with constrained domination, crowding
 * distance) and the exact hypervolume of a set of maximised points.
 *
 * Invariants: ranking is a pure function of the individuals' objectives and violations, so it
 * gives the same ranks and crowding on every run; ties in the sorts are broken by index. */
#include "evolve/evolve_int.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int nd__evolve_dominates(const nd_evolve_individual_t *a, const nd_evolve_individual_t *b,
                         uint32_t objective_count)
{
    ND_ASSERT(a != NULL && b != NULL);
    ND_ASSERT(objective_count >= 1 && objective_count <= ND_EVOLVE_OBJECTIVES_MAX);
    if (a->violation > 0.0 || b->violation > 0.0)
        return a->violation < b->violation;
    int better = 0;
    for (uint32_t k = 0; k < objective_count; k++) {
        if (a->objectives[k] < b->objectives[k])
            return 0;
        better |= a->objectives[k] > b->objectives[k];
    }
    return better;
}

typedef struct crowd_sort {
    const nd_evolve_individual_t *inds;
    uint32_t objective;
} crowd_sort_t;

static int cmp_objective(const void *x, const void *y, void *arg)
{
    const crowd_sort_t *cs = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    double a = cs->inds[i].objectives[cs->objective], b = cs->inds[j].objectives[cs->objective];
    if (a != b)
        return a < b ? -1 : 1;
    return (i > j) - (i < j);
}

/* Crowding distance of the members[0..n) of one front: the boundary members get infinity, the
 * others the sum over objectives of the normalised gap between their neighbours. */
static void crowding(nd_evolve_individual_t *inds, size_t *members, size_t n, uint32_t m)
{
    ND_ASSERT(inds != NULL);
    ND_ASSERT(n > 0);
    for (size_t i = 0; i < n; i++)
        inds[members[i]].crowding = 0.0;
    for (uint32_t k = 0; k < m; k++) {
        crowd_sort_t cs = {inds, k};
        qsort_r(members, n, sizeof *members, cmp_objective, &cs);
        double lo = inds[members[0]].objectives[k], hi = inds[members[n - 1]].objectives[k];
        inds[members[0]].crowding = INFINITY;
        inds[members[n - 1]].crowding = INFINITY;
        if (!(hi > lo))
            continue;
        for (size_t i = 1; i + 1 < n; i++)
            inds[members[i]].crowding += (inds[members[i + 1]].objectives[k] -
                                          inds[members[i - 1]].objectives[k]) / (hi - lo);
    }
}

/* Peels fronts: count[i] is how many individuals dominate i; row i of `dom` (a bitset) the
 * ones i dominates. Each front's members lose one dominator from everyone they dominate. */
static void peel_fronts(nd_evolve_individual_t *inds, size_t n, uint32_t m, const uint64_t *dom,
                        size_t words, uint32_t *count, size_t *front, size_t *next)
{
    size_t front_n = 0;
    for (size_t i = 0; i < n; i++)
        if (count[i] == 0)
            front[front_n++] = i;
    uint32_t rank = 0;
    while (front_n > 0) {
        size_t next_n = 0;
        for (size_t f = 0; f < front_n; f++) {
            size_t i = front[f];
            inds[i].rank = rank;
            for (size_t j = 0; j < n; j++) {
                if ((dom[i * words + j / 64] >> (j % 64)) & 1u) {
                    ND_ASSERT(count[j] > 0);
                    if (--count[j] == 0)
                        next[next_n++] = j;
                }
            }
        }
        crowding(inds, front, front_n, m);
        size_t *swap = front;
        front = next;
        next = swap;
        front_n = next_n;
        rank++;
    }
}

nd_err_t nd__evolve_rank(nd_evolve_individual_t *inds, size_t n, uint32_t m)
{
    ND_ASSERT(inds != NULL || n == 0);
    ND_ASSERT(m >= 1);
    if (n == 0)
        return ND_OK;
    size_t words = (n + 63) / 64;
    uint64_t *dom = nd_calloc(n * words, sizeof *dom);
    uint32_t *count = nd_calloc(n, sizeof *count);
    size_t *front = nd_calloc(n, sizeof *front), *next = nd_calloc(n, sizeof *next);
    if (!dom || !count || !front || !next) {
        nd_free(dom);
        nd_free(count);
        nd_free(front);
        nd_free(next);
        return ND_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (nd__evolve_dominates(&inds[i], &inds[j], m)) {
                dom[i * words + j / 64] |= (uint64_t)1 << (j % 64);
                count[j]++;
            } else if (nd__evolve_dominates(&inds[j], &inds[i], m)) {
                dom[j * words + i / 64] |= (uint64_t)1 << (i % 64);
                count[i]++;
            }
        }
    }
    peel_fronts(inds, n, m, dom, words, count, front, next);
    nd_free(dom);
    nd_free(count);
    nd_free(front);
    nd_free(next);
    return ND_OK;
}

/* ---- Hypervolume. ------------------------------------------------------------------------ */

typedef struct hv_sort {
    uint32_t dims;
    uint32_t axis;
} hv_sort_t;

static int cmp_axis_desc(const void *x, const void *y, void *arg)
{
    const hv_sort_t *hs = arg;
    double a = ((const double *)x)[hs->axis], b = ((const double *)y)[hs->axis];
    return (a < b) - (a > b);
}

/* Hypervolume of pts[n][stride] over their first d coordinates; sorts pts in place. Slices the
 * last coordinate: between consecutive values of it, the volume is the slice's thickness times
 * the (d-1)-dimensional hypervolume of the points at or above the slice. */
static double hv_rec(double *pts, size_t n, uint32_t d, uint32_t stride, const double *ref)
{
    ND_ASSERT(d >= 1);
    if (n == 0)
        return 0.0;
    hv_sort_t hs = {stride, d - 1};
    qsort_r(pts, n, stride * sizeof(double), cmp_axis_desc, &hs);
    if (d == 1)
        return pts[0] - ref[0];
    if (d == 2) {
        double area = 0.0, x_max = ref[0];
        for (size_t i = 0; i < n; i++) {
            /* Sorted by the second coordinate, descending: sweep the first. */
            double x = pts[i * stride], y = pts[i * stride + 1];
            if (x > x_max) {
                area += (x - x_max) * (y - ref[1]);
                x_max = x;
            }
        }
        return area;
    }
    double *sub = nd_alloc(n * stride * sizeof *sub);
    if (!sub)
        return NAN;
    double volume = 0.0;
    for (size_t i = 0; i < n; i++) {
        double top = pts[i * stride + d - 1];
        double bottom = i + 1 < n ? pts[(i + 1) * stride + d - 1] : ref[d - 1];
        if (top <= bottom)
            continue;
        memcpy(sub, pts, (i + 1) * stride * sizeof *sub);
        volume += (top - bottom) * hv_rec(sub, i + 1, d - 1, stride, ref);
    }
    nd_free(sub);
    return volume;
}

double nd_evolve_hypervolume(const double *points, size_t count, uint32_t dims,
                             const double *reference)
{
    ND_ASSERT(points != NULL || count == 0);
    ND_ASSERT(dims >= 1 && reference != NULL);
    double *pts = nd_alloc((count ? count : 1) * dims * sizeof *pts);
    if (!pts)
        return NAN;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        int inside = 1;
        for (uint32_t k = 0; k < dims; k++)
            inside &= points[i * dims + k] > reference[k];
        if (inside)
            memcpy(&pts[kept++ * dims], &points[i * dims], dims * sizeof *pts);
    }
    double hv = hv_rec(pts, kept, dims, dims, reference);
    nd_free(pts);
    return hv;
}
