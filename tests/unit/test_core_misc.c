/* test_core_misc.c: the small core modules: error names (err.h), seeded randomness (rand.h),
 * the injectable allocator (alloc.h), the object pool and ring (pool.h), the hash table (hmap.h)
 * and the logger (log.h).
 * Random streams are compared with values from an independent reference implementation of
 * splitmix64 + xoshiro256** (Blackman and Vigna); statistical tests state their tolerance. */
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/err.h"
#include "noderr/hmap.h"
#include "noderr/limits.h"
#include "noderr/log.h"
#include "noderr/pool.h"
#include "noderr/rand.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- err.h ---- */

struct err_row {
    nd_err_t code;
    const char *name;
    const char *message;
};

static const struct err_row err_rows[] = {
#define ROW(name, value, msg) {ND_##name, #name, msg},
    ND_ERR_MAP(ROW)
#undef ROW
};
#define ERR_ROWS (sizeof err_rows / sizeof err_rows[0])

Test(err, values_are_stable)
{
    cr_assert_eq(ERR_ROWS, 16);
    cr_assert_eq(ND_OK, 0);
    cr_assert_eq(ND_EINVAL, -1);
    cr_assert_eq(ND_ENOMEM, -2);
    cr_assert_eq(ND_EOVERFLOW, -3);
    cr_assert_eq(ND_EAGAIN, -4);
    cr_assert_eq(ND_EDECLINED, -5);
    cr_assert_eq(ND_EPARSE, -7);
    cr_assert_eq(ND_EFULL, -11);
    cr_assert_eq(ND_EPRECISION, -12);
    cr_assert_eq(ND_EEXIST, -15);
}

Test(err, every_code_has_a_distinct_name_and_message)
{
    for (size_t i = 0; i < ERR_ROWS; i++) {
        const struct err_row *r = &err_rows[i];
        cr_assert(i == 0 ? r->code == 0 : r->code < 0, "%s is %d", r->name, r->code);
        cr_assert_str_eq(nd_err_name(r->code), r->name);
        cr_assert_str_eq(nd_strerror(r->code), r->message);
        cr_assert_gt(strlen(r->message), 0);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(err_rows[j].code, r->code, "%s and %s share a value", r->name,
                          err_rows[j].name);
            cr_assert_str_neq(nd_err_name(err_rows[j].code), nd_err_name(r->code));
            cr_assert_str_neq(nd_strerror(err_rows[j].code), nd_strerror(r->code));
        }
    }
    cr_assert_str_eq(nd_err_name(ND_EOVERFLOW), "EOVERFLOW");
    cr_assert_str_eq(nd_strerror(ND_EOVERFLOW), "arithmetic overflow");
    cr_assert_str_eq(nd_err_name(ND_OK), "OK");
}

Test(err, unknown_code)
{
    cr_assert_str_eq(nd_err_name((nd_err_t)-999), "UNKNOWN");
    cr_assert_str_eq(nd_err_name((nd_err_t)1), "UNKNOWN");
    cr_assert_str_eq(nd_err_name((nd_err_t)-16), "UNKNOWN");
    cr_assert_str_eq(nd_strerror((nd_err_t)-999), "unknown error");
    cr_assert_str_eq(nd_strerror((nd_err_t)1), "unknown error");
}

struct reject_row {
    nd_reject_t reason;
    const char *upper;
};

static const struct reject_row reject_rows[] = {
#define ROW(name, value, msg) {ND_REJECT_##name, #name},
    ND_REJECT_MAP(ROW)
#undef ROW
};
#define REJECT_ROWS (sizeof reject_rows / sizeof reject_rows[0])

Test(err, reject_names_are_stable)
{
    cr_assert_eq(ND_REJECT_POSITION_LIMIT_EXCEEDED, 3);
    cr_assert_eq(ND_REJECT_POOL_EXHAUSTED, 16);
    cr_assert_str_eq(nd_reject_name(ND_REJECT_NONE), "none");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_POSITION_LIMIT_EXCEEDED), "position_limit_exceeded");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_NOTIONAL_LIMIT_EXCEEDED), "notional_limit_exceeded");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_PRICE_OUTSIDE_BAND), "price_outside_band");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_KILL_SWITCH), "kill_switch");
    cr_assert_str_eq(nd_reject_name(ND_REJECT_POOL_EXHAUSTED), "pool_exhausted");
    cr_assert_str_eq(nd_reject_message(ND_REJECT_KILL_SWITCH), "the kill switch is engaged");
    /* Every name is the lower-case spelling of its enum name, distinct, with a message. */
    for (size_t i = 0; i < REJECT_ROWS; i++) {
        char want[64];
        size_t n = strlen(reject_rows[i].upper);
        cr_assert_lt(n, sizeof want);
        for (size_t k = 0; k <= n; k++)
            want[k] = (char)tolower((unsigned char)reject_rows[i].upper[k]);
        /* Values are explicit and may leave gaps (venues take a range of their own), but they
         * are distinct, ascending in the map, and fit the per-reason counters. */
        cr_assert_lt((int)reject_rows[i].reason, ND_REJECT_SLOTS);
        if (i > 0)
            cr_assert_gt(reject_rows[i].reason, reject_rows[i - 1].reason);
        cr_assert_str_eq(nd_reject_name(reject_rows[i].reason), want);
        cr_assert_gt(strlen(nd_reject_message(reject_rows[i].reason)), 0);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(nd_reject_message(reject_rows[j].reason),
                              nd_reject_message(reject_rows[i].reason));
    }
    cr_assert_str_eq(nd_reject_name((nd_reject_t)999), "unknown");
    cr_assert_str_eq(nd_reject_message((nd_reject_t)999), "unknown reject reason");
}

/* ---- rand.h ---- */

Test(rand, same_seed_same_stream)
{
    /* First outputs from the reference algorithm for seeds 0, 1 and 42. */
    static const uint64_t want[3][4] = {
        {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
         0x6aa594f1262d2d2cULL},
        {0xb3f2af6d0fc710c5ULL, 0x853b559647364ceaULL, 0x92f89756082a4514ULL,
         0x642e1c7bc266a3a7ULL},
        {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL, 0xae17533239e499a1ULL,
         0xecb8ad4703b360a1ULL},
    };
    static const uint64_t seeds[3] = {0, 1, 42};
    for (int s = 0; s < 3; s++) {
        nd_rand_t a, b;
        nd_rand_init(&a, seeds[s]);
        nd_rand_init(&b, seeds[s]);
        cr_assert_eq(a.seed, seeds[s]);
        for (int i = 0; i < 4; i++) {
            uint64_t x = nd_rand_next(&a);
            cr_assert_eq(x, want[s][i], "seed %llu draw %d: %#llx", (unsigned long long)seeds[s],
                         i, (unsigned long long)x);
            cr_assert_eq(nd_rand_next(&b), x);
        }
        for (int i = 0; i < 10000; i++)
            cr_assert_eq(nd_rand_next(&a), nd_rand_next(&b));
    }
}

Test(rand, seed_zero_is_a_real_stream)
{
    nd_rand_t r;
    nd_rand_init(&r, 0);
    /* The state must not be all zero (xoshiro's one fixed point) and draws must vary. */
    cr_assert(r._s[0] | r._s[1] | r._s[2] | r._s[3]);
    uint64_t first = nd_rand_next(&r);
    int differ = 0;
    for (int i = 0; i < 100; i++)
        differ += nd_rand_next(&r) != first;
    cr_assert_eq(differ, 100);
}

Test(rand, different_seeds_differ)
{
    /* Neighbouring seeds give unrelated streams: no equal draw in the first 1000 positions. */
    for (uint64_t seed = 0; seed < 16; seed++) {
        nd_rand_t a, b;
        nd_rand_init(&a, seed);
        nd_rand_init(&b, seed + 1);
        int equal = 0;
        for (int i = 0; i < 1000; i++)
            equal += nd_rand_next(&a) == nd_rand_next(&b);
        cr_assert_eq(equal, 0, "seeds %llu and %llu", (unsigned long long)seed,
                     (unsigned long long)seed + 1);
    }
}

Test(rand, uniform_in_unit_interval)
{
    /* Seed 7. The mean of 1e6 uniforms has standard deviation sqrt(1/12/1e6) = 0.00029; the
     * tolerance 0.002 is about 7 sigma. Each tenth holds 1e5 +- 300 draws; allow 2000. */
    nd_rand_t r;
    nd_rand_init(&r, 7);
    const int n = 1000000;
    double sum = 0.0, lo = 1.0, hi = 0.0;
    int bins[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = nd_rand_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0, "draw %d = %.17g", i, u);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        bins[(int)(u * 10)]++;
    }
    cr_assert_float_eq(sum / n, 0.5, 0.002, "seed 7: mean %f", sum / n);
    cr_assert_lt(lo, 1e-4);
    cr_assert_gt(hi, 1.0 - 1e-4);
    for (int b = 0; b < 10; b++)
        cr_assert(abs(bins[b] - n / 10) < 2000, "seed 7: bin %d holds %d", b, bins[b]);
}

Test(rand, uniform_is_53_bits_of_next)
{
    nd_rand_t a, b;
    nd_rand_init(&a, 99);
    nd_rand_init(&b, 99);
    for (int i = 0; i < 1000; i++) {
        uint64_t x = nd_rand_next(&b);
        cr_assert_eq(nd_rand_uniform(&a), (double)(x >> 11) / 9007199254740992.0);
    }
}

Test(rand, below_bounds_and_uniformity)
{
    nd_rand_t r;
    nd_rand_init(&r, 11);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(nd_rand_below(&r, 1), 0);
    /* 6e5 rolls of a die: each face expects 1e5 with sigma 289; allow 2000 (about 7 sigma). */
    int faces[6] = {0};
    for (int i = 0; i < 600000; i++) {
        uint64_t x = nd_rand_below(&r, 6);
        cr_assert_lt(x, 6);
        faces[x]++;
    }
    for (int f = 0; f < 6; f++)
        cr_assert(abs(faces[f] - 100000) < 2000, "seed 11: face %d came up %d times", f, faces[f]);
    /* Large and awkward bounds stay in range; 2^63 + 1 rejects almost half of all draws. */
    const uint64_t bounds[] = {2, 3, 1000, (1ULL << 63) + 1, UINT64_MAX - 1, UINT64_MAX};
    for (size_t k = 0; k < sizeof bounds / sizeof bounds[0]; k++)
        for (int i = 0; i < 10000; i++)
            cr_assert_lt(nd_rand_below(&r, bounds[k]), bounds[k]);
    /* Both halves of [0, 2^63 + 1) are reached. */
    int high = 0;
    for (int i = 0; i < 1000; i++)
        high += nd_rand_below(&r, (1ULL << 63) + 1) >= (1ULL << 62);
    cr_assert(high > 400 && high < 900, "seed 11: %d of 1000 in the upper part", high);
}

Test(rand, below_zero_aborts, .signal = SIGABRT)
{
    nd_rand_t r;
    nd_rand_init(&r, 1);
    (void)nd_rand_below(&r, 0);
}

Test(rand, normal_moments)
{
    /* Seed 3, 1e6 draws: the mean has sigma 0.001 (tolerance 0.006), the variance has sigma
     * sqrt(2/1e6) = 0.0014 (tolerance 0.01); 4.5% of |z| exceed 2 (tolerance 0.3 points). */
    nd_rand_t r;
    nd_rand_init(&r, 3);
    const int n = 1000000;
    double sum = 0.0, sum_sq = 0.0;
    int beyond_2 = 0;
    for (int i = 0; i < n; i++) {
        double z = nd_rand_normal(&r);
        cr_assert(isfinite(z), "draw %d not finite", i);
        sum += z;
        sum_sq += z * z;
        beyond_2 += fabs(z) > 2.0;
    }
    double mean = sum / n, var = sum_sq / n - mean * mean;
    cr_assert_float_eq(mean, 0.0, 0.006, "seed 3: mean %f", mean);
    cr_assert_float_eq(sqrt(var), 1.0, 0.01, "seed 3: std %f", sqrt(var));
    cr_assert_float_eq((double)beyond_2 / n, 0.0455, 0.003, "seed 3: tail %d", beyond_2);
}

/* ---- alloc.h ---- */

/* A counting allocator over libc, with a switch that makes every allocation fail. */
struct counting {
    int allocs, reallocs, frees;
    size_t bytes_last;
    int fail;
};

static void *counting_alloc(void *ctx, size_t size)
{
    struct counting *c = ctx;
    c->allocs++;
    c->bytes_last = size;
    return c->fail ? NULL : malloc(size);
}

static void *counting_realloc(void *ctx, void *ptr, size_t size)
{
    struct counting *c = ctx;
    c->reallocs++;
    c->bytes_last = size;
    return c->fail ? NULL : realloc(ptr, size);
}

static void counting_free(void *ctx, void *ptr)
{
    struct counting *c = ctx;
    c->frees++;
    free(ptr);
}

static struct counting counts;

static void use_counting(void)
{
    memset(&counts, 0, sizeof counts);
    nd_allocator_t a = {counting_alloc, counting_realloc, counting_free, &counts};
    nd_allocator_set(&a);
}

static void restore_allocator(void)
{
    nd_allocator_set(NULL);
}

Test(alloc, counts_through_the_injected_allocator, .init = use_counting,
     .fini = restore_allocator)
{
    char *p = nd_alloc(10);
    cr_assert_not_null(p);
    cr_assert_eq(counts.allocs, 1);
    cr_assert_eq(counts.bytes_last, 10);
    /* Zero bytes still asks for one, so the result is a unique pointer. */
    char *z = nd_alloc(0);
    cr_assert_not_null(z);
    cr_assert_eq(counts.bytes_last, 1);
    p = nd_realloc(p, 100);
    cr_assert_not_null(p);
    cr_assert_eq(counts.reallocs, 1);
    cr_assert_eq(counts.bytes_last, 100);
    nd_free(p);
    nd_free(z);
    nd_free(NULL);
    cr_assert_eq(counts.frees, 2, "nd_free(NULL) is a no-op");

    int64_t *q = nd_calloc(4, sizeof *q);
    cr_assert_not_null(q);
    cr_assert_eq(counts.bytes_last, 32);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(q[i], 0);
    nd_free(q);

    char *s = nd_strdup("hello");
    cr_assert_str_eq(s, "hello");
    cr_assert_eq(counts.bytes_last, 6);
    nd_free(s);
    cr_assert_eq(counts.allocs, 4);
    cr_assert_eq(counts.frees, 4);
}

Test(alloc, calloc_overflow_is_null, .init = use_counting, .fini = restore_allocator)
{
    /* (SIZE_MAX / 2) * 3 wraps around size_t: refused before the allocator is asked. */
    cr_assert_null(nd_calloc(SIZE_MAX / 2, 3));
    cr_assert_null(nd_calloc(3, SIZE_MAX / 2));
    cr_assert_null(nd_calloc(SIZE_MAX, 2));
    cr_assert_eq(counts.allocs, 0);
    void *p = nd_calloc(0, 8);
    cr_assert_not_null(p);
    nd_free(p);
}

Test(alloc, failing_allocator, .init = use_counting, .fini = restore_allocator)
{
    char *keep = nd_alloc(16);
    cr_assert_not_null(keep);
    memcpy(keep, "survives", 9);
    counts.fail = 1;
    cr_assert_null(nd_alloc(10));
    cr_assert_null(nd_calloc(2, 8));
    cr_assert_null(nd_strdup("x"));
    /* A failed realloc leaves the old block valid and unchanged. */
    cr_assert_null(nd_realloc(keep, 1 << 20));
    cr_assert_str_eq(keep, "survives");
    /* Pools and rings report out-of-memory as a value. */
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, 16, 8), ND_ENOMEM);
    cr_assert_eq(pool.capacity, 0);
    nd_ring_t ring;
    cr_assert_eq(nd_ring_init(&ring, 16, 8), ND_ENOMEM);
    counts.fail = 0;
    nd_free(keep);
    cr_assert_eq(counts.frees, 1, "nothing else was handed out");
}

Test(alloc, restore_libc)
{
    use_counting();
    nd_allocator_set(NULL);
    void *p = nd_alloc(64);
    cr_assert_not_null(p);
    nd_free(p);
    cr_assert_eq(counts.allocs, 0, "the counting allocator is no longer in use");
}

/* ---- pool.h ---- */

struct slot {
    int64_t a, b, c;
};

Test(pool, get_until_exhausted_then_reuse)
{
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, sizeof(struct slot), 3), ND_OK);
    cr_assert_eq(pool.capacity, 3);
    cr_assert_eq(pool.free_count, 3);
    struct slot *s0 = nd_pool_get(&pool), *s1 = nd_pool_get(&pool), *s2 = nd_pool_get(&pool);
    cr_assert(s0 && s1 && s2);
    /* Low indices first: three consecutive slots of one slab. */
    cr_assert_eq((char *)s1 - (char *)s0, (ptrdiff_t)sizeof(struct slot));
    cr_assert_eq((char *)s2 - (char *)s1, (ptrdiff_t)sizeof(struct slot));
    cr_assert_eq(pool.free_count, 0);
    cr_assert_null(nd_pool_get(&pool));
    cr_assert_null(nd_pool_get(&pool));

    nd_pool_put(&pool, s1);
    cr_assert_eq(pool.free_count, 1);
    cr_assert_eq(nd_pool_get(&pool), s1);
    cr_assert_null(nd_pool_get(&pool));
    nd_pool_put(&pool, s2);
    nd_pool_put(&pool, s0);
    /* A stack: the last slot put back is the first handed out. */
    cr_assert_eq(nd_pool_get(&pool), s0);
    cr_assert_eq(nd_pool_get(&pool), s2);
    nd_pool_put(&pool, s0);
    nd_pool_put(&pool, s1);
    nd_pool_put(&pool, s2);
    cr_assert_eq(pool.free_count, 3);
    nd_pool_deinit(&pool);
    cr_assert_eq(pool.capacity, 0);
}

Test(pool, slots_are_zeroed)
{
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, sizeof(struct slot), 2), ND_OK);
    struct slot *s = nd_pool_get(&pool);
    cr_assert(s->a == 0 && s->b == 0 && s->c == 0);
    memset(s, 0xFF, sizeof *s);
    nd_pool_put(&pool, s);
    struct slot *again = nd_pool_get(&pool);
    cr_assert_eq(again, s);
    cr_assert(again->a == 0 && again->b == 0 && again->c == 0, "reused slot was not zeroed");
    nd_pool_put(&pool, again);
    nd_pool_deinit(&pool);
}

Test(pool, many_cycles)
{
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, 8, 64), ND_OK);
    void *held[64];
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 64; i++) {
            held[i] = nd_pool_get(&pool);
            cr_assert_not_null(held[i]);
            *(int64_t *)held[i] = round * 64 + i;
        }
        cr_assert_null(nd_pool_get(&pool));
        for (int i = 0; i < 64; i++)
            cr_assert_eq(*(int64_t *)held[i], round * 64 + i, "slots overlap");
        for (int i = 0; i < 64; i++)
            nd_pool_put(&pool, held[(i * 7 + round) % 64]);
        cr_assert_eq(pool.free_count, 64);
    }
    nd_pool_deinit(&pool);
}

Test(pool, zero_sizes_are_invalid)
{
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, 0, 4), ND_EINVAL);
    cr_assert_eq(nd_pool_init(&pool, 8, 0), ND_EINVAL);
}

Test(pool, foreign, .signal = SIGABRT)
{
    nd_pool_t pool, other;
    cr_assert_eq(nd_pool_init(&pool, 16, 4), ND_OK);
    cr_assert_eq(nd_pool_init(&other, 16, 4), ND_OK);
    void *stranger = nd_pool_get(&other);
    (void)nd_pool_get(&pool);
    nd_pool_put(&pool, stranger);
}

Test(pool, misaligned, .signal = SIGABRT)
{
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, 16, 4), ND_OK);
    char *s = nd_pool_get(&pool);
    nd_pool_put(&pool, s + 1);
}

Test(pool, put_twice, .signal = SIGABRT)
{
    nd_pool_t pool;
    cr_assert_eq(nd_pool_init(&pool, 16, 4), ND_OK);
    void *a = nd_pool_get(&pool);
    (void)nd_pool_get(&pool);
    nd_pool_put(&pool, a);
    nd_pool_put(&pool, a);
}

Test(ring, push_until_full_pop_fifo)
{
    nd_ring_t ring;
    cr_assert_eq(nd_ring_init(&ring, sizeof(int64_t), 4), ND_OK);
    cr_assert_eq(nd_ring_count(&ring), 0);
    for (int64_t i = 1; i <= 4; i++) {
        cr_assert_eq(nd_ring_push(&ring, &i), ND_OK);
        cr_assert_eq(nd_ring_count(&ring), (uint32_t)i);
    }
    int64_t extra = 99;
    cr_assert_eq(nd_ring_push(&ring, &extra), ND_EFULL);
    cr_assert_eq(nd_ring_count(&ring), 4);
    for (int64_t i = 1; i <= 4; i++) {
        int64_t v = -1;
        cr_assert_eq(nd_ring_pop(&ring, &v), ND_OK);
        cr_assert_eq(v, i, "FIFO order");
    }
    int64_t v = -7;
    cr_assert_eq(nd_ring_pop(&ring, &v), ND_EAGAIN);
    cr_assert_eq(v, -7, "a failed pop leaves out untouched");
    cr_assert_eq(nd_ring_count(&ring), 0);
    nd_ring_deinit(&ring);
}

Test(ring, wraps_over_many_cycles)
{
    /* Capacity 4 with three items in flight: the slots are reused 25000 times. */
    nd_ring_t ring;
    cr_assert_eq(nd_ring_init(&ring, sizeof(int64_t), 4), ND_OK);
    int64_t next_in = 0, next_out = 0;
    for (int k = 0; k < 3; k++, next_in++)
        cr_assert_eq(nd_ring_push(&ring, &next_in), ND_OK);
    for (int k = 0; k < 100000; k++) {
        cr_assert_eq(nd_ring_push(&ring, &next_in), ND_OK);
        next_in++;
        if (k % 2 == 0) {
            int64_t full = -1;
            cr_assert_eq(nd_ring_push(&ring, &full), ND_EFULL);
        }
        int64_t v;
        cr_assert_eq(nd_ring_pop(&ring, &v), ND_OK);
        cr_assert_eq(v, next_out++);
        cr_assert_eq(nd_ring_count(&ring), 3);
    }
    nd_ring_deinit(&ring);
}

Test(ring, rewind_reuses_the_first_slots_only_when_empty)
{
    /* A ring rewound after every drain keeps using its first slots; rewinding a ring that
     * holds items changes nothing, so FIFO order holds across any mix of the two. */
    nd_ring_t ring;
    cr_assert_eq(nd_ring_init(&ring, sizeof(int64_t), 8), ND_OK);
    int64_t next_in = 0, next_out = 0;
    uint64_t x = 3;
    for (int k = 0; k < 20000; k++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t pushes = (uint32_t)(x >> 60) % 4, pops = (uint32_t)(x >> 56) % 4;
        for (uint32_t i = 0; i < pushes && nd_ring_count(&ring) < 8; i++, next_in++)
            cr_assert_eq(nd_ring_push(&ring, &next_in), ND_OK);
        for (uint32_t i = 0; i < pops && nd_ring_count(&ring) > 0; i++) {
            const int64_t *v = nd_ring_take(&ring);
            cr_assert(v != NULL);
            cr_assert_eq(*v, next_out++);
        }
        uint32_t before = nd_ring_count(&ring);
        nd_ring_rewind(&ring);
        cr_assert_eq(nd_ring_count(&ring), before);
        if (before == 0) {
            int64_t *slot = nd_ring_slot(&ring);
            cr_assert_eq((char *)slot, ring._items, "an empty ring rewinds to its first slot");
        }
    }
    nd_ring_deinit(&ring);
}

Test(ring, wraps_past_uint32_indices)
{
    /* The indices run free and wrap at 2^32. Reaching that by pushing would take minutes, so
     * start them just below the wrap (private fields, set here on purpose). */
    nd_ring_t ring;
    cr_assert_eq(nd_ring_init(&ring, sizeof(uint32_t), 8), ND_OK);
    ring._head = ring._tail = UINT32_MAX - 5;
    for (uint32_t i = 0; i < 8; i++)
        cr_assert_eq(nd_ring_push(&ring, &i), ND_OK);
    cr_assert_eq(nd_ring_count(&ring), 8);
    uint32_t x = 0;
    cr_assert_eq(nd_ring_push(&ring, &x), ND_EFULL);
    for (uint32_t i = 0; i < 8; i++) {
        uint32_t v;
        cr_assert_eq(nd_ring_pop(&ring, &v), ND_OK);
        cr_assert_eq(v, i);
    }
    cr_assert_eq(nd_ring_pop(&ring, &x), ND_EAGAIN);
    cr_assert_eq(nd_ring_count(&ring), 0);
    nd_ring_deinit(&ring);
}

Test(ring, capacity_must_be_a_power_of_two)
{
    nd_ring_t ring;
    static const uint32_t bad[] = {0, 3, 5, 6, 7, 12, 100, 1000, (1u << 31) + 1, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(nd_ring_init(&ring, 8, bad[i]), ND_EINVAL, "capacity %u", bad[i]);
    cr_assert_eq(nd_ring_init(&ring, 0, 4), ND_EINVAL);
    /* Capacity 1 is a power of two: one item, then full. */
    cr_assert_eq(nd_ring_init(&ring, 8, 1), ND_OK);
    int64_t a = 5, b = 6;
    cr_assert_eq(nd_ring_push(&ring, &a), ND_OK);
    cr_assert_eq(nd_ring_push(&ring, &b), ND_EFULL);
    cr_assert_eq(nd_ring_pop(&ring, &b), ND_OK);
    cr_assert_eq(b, 5);
    nd_ring_deinit(&ring);
}

/* ---- log.h ---- */

Test(log, level_parse)
{
    nd_log_level_t level = ND_LOG_DEBUG;
    cr_assert_eq(nd_log_level_parse("err", &level), ND_OK);
    cr_assert_eq(level, ND_LOG_ERR);
    cr_assert_eq(nd_log_level_parse("warn", &level), ND_OK);
    cr_assert_eq(level, ND_LOG_WARN);
    cr_assert_eq(nd_log_level_parse("info", &level), ND_OK);
    cr_assert_eq(level, ND_LOG_INFO);
    cr_assert_eq(nd_log_level_parse("debug", &level), ND_OK);
    cr_assert_eq(level, ND_LOG_DEBUG);
    static const char *const bad[] = {"", "WARN", "warning", "error", "trace", " info", "info "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        level = ND_LOG_INFO;
        cr_assert_eq(nd_log_level_parse(bad[i], &level), ND_EINVAL, "\"%s\"", bad[i]);
        cr_assert_eq(level, ND_LOG_INFO);
    }
}

static int evaluated;

static int count_evaluation(void)
{
    return ++evaluated;
}

/* Reads back everything written to f. */
static void slurp(FILE *f, char *buf, size_t cap)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
}

Test(log, disabled_levels_do_not_evaluate_arguments)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    nd_log_set_output(f, NULL);
    cr_assert_eq(nd__log_level, ND_LOG_WARN, "the default level is WARN");
    evaluated = 0;
    ND_LOG(ND_LOG_DEBUG, "n=%d", count_evaluation());
    ND_LOG(ND_LOG_INFO, "n=%d", count_evaluation());
    cr_assert_eq(evaluated, 0);
    ND_LOG(ND_LOG_WARN, "n=%d", count_evaluation());
    ND_LOG(ND_LOG_ERR, "n=%d", count_evaluation());
    cr_assert_eq(evaluated, 2);
    nd_log_set_level(ND_LOG_DEBUG);
    ND_LOG(ND_LOG_DEBUG, "n=%d", count_evaluation());
    cr_assert_eq(evaluated, 3);
    nd_log_set_level(ND_LOG_ERR);
    ND_LOG(ND_LOG_WARN, "n=%d", count_evaluation());
    cr_assert_eq(evaluated, 3);
    char buf[1024];
    slurp(f, buf, sizeof buf);
    cr_assert_not_null(strstr(buf, "level=WARN src="), "%s", buf);
    cr_assert_not_null(strstr(buf, " n=1\n"), "%s", buf);
    cr_assert_not_null(strstr(buf, "level=ERR src="), "%s", buf);
    cr_assert_not_null(strstr(buf, "level=DEBUG src="), "%s", buf);
    cr_assert_null(strstr(buf, "INFO"), "%s", buf);
    cr_assert_null(strstr(buf, "ts="), "no clock, no timestamp: %s", buf);
    nd_log_set_output(NULL, NULL);
    nd_log_set_level(ND_LOG_WARN);
    fclose(f);
}

Test(log, timestamped_line)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    nd_clock_sim_t sim;
    nd_clock_sim_init(&sim, 1577836800LL * ND_NS_PER_SEC);
    nd_log_set_output(f, &sim.clock);
    nd_log_set_level(ND_LOG_WARN);
    ND_LOG(ND_LOG_WARN, "event=breaker_trip symbol=%s", "BTC/USDT");
    ND_LOG(ND_LOG_INFO, "not written");
    cr_assert_eq(nd_clock_sim_set(&sim, 1577836800LL * ND_NS_PER_SEC + 250 * ND_NS_PER_MS), ND_OK);
    ND_LOG(ND_LOG_ERR, "second");
    char buf[1024];
    slurp(f, buf, sizeof buf);
    nd_log_set_output(NULL, NULL);
    fclose(f);
    cr_assert_eq(strncmp(buf, "ts=2020-01-01T00:00:00Z level=WARN src=", 39), 0, "%s", buf);
    cr_assert_not_null(strstr(buf, "test_core_misc.c:"), "%s", buf);
    cr_assert_not_null(strstr(buf, " event=breaker_trip symbol=BTC/USDT\n"), "%s", buf);
    cr_assert_not_null(strstr(buf, "\nts=2020-01-01T00:00:00.250Z level=ERR src="), "%s", buf);
    cr_assert_null(strstr(buf, "not written"), "%s", buf);
    /* Exactly two lines. */
    int lines = 0;
    for (const char *p = buf; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 2, "%s", buf);
}

Test(log, long_message_is_truncated_not_overflowed)
{
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    nd_log_set_output(f, NULL);
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ND_LOG(ND_LOG_ERR, "%s", big);
    char buf[4096];
    slurp(f, buf, sizeof buf);
    nd_log_set_output(NULL, NULL);
    fclose(f);
    const char *msg = strstr(buf, "aaa");
    cr_assert_not_null(msg);
    /* ND_LOG_LINE_MAX (512) bytes including the NUL: 511 letters, then the newline. */
    cr_assert_eq(strspn(msg, "a"), 511);
    cr_assert_eq(msg[511], '\n');
}

/* nd_array_grow: the one grow-by-doubling; the array and its capacity are untouched when the
 * size would overflow, and an array already large enough is returned as is. */
Test(alloc, array_grow_doubles_and_refuses_overflow)
{
    size_t cap = 0;
    int64_t *a = nd_array_grow(NULL, &cap, 1, sizeof *a, 4);
    cr_assert_not_null(a);
    cr_assert_eq(cap, 4);
    for (int i = 0; i < 4; i++)
        a[i] = i;
    cr_assert_eq(nd_array_grow(a, &cap, 4, sizeof *a, 4), a, "room enough: no realloc");
    int64_t *b = nd_array_grow(a, &cap, 5, sizeof *b, 4);
    cr_assert_not_null(b);
    cr_assert_eq(cap, 8);
    cr_assert_eq(b[3], 3, "the content is kept");
    b = nd_array_grow(b, &cap, 100, sizeof *b, 4);
    cr_assert_eq(cap, 128);
    size_t before = cap;
    cr_assert_null(nd_array_grow(b, &cap, SIZE_MAX / 4, sizeof *b, 4), "bytes overflow size_t");
    cr_assert_null(nd_array_grow(b, &cap, SIZE_MAX, 1, 4), "count overflows size_t");
    cr_assert_eq(cap, before, "the capacity is untouched on failure");
    nd_free(b);
}

/* nd_array_push: the new element is zeroed and counted, the content kept; out of room (the size
 * would overflow) nothing changes. */
Test(alloc, array_push_appends_zeroed)
{
    int64_t *a = NULL;
    size_t cap = 0, count = 0;
    for (int64_t i = 0; i < 9; i++) {
        int64_t *e = nd_array_push(&a, &cap, &count, sizeof *e, 4);
        cr_assert_not_null(e);
        cr_assert_eq(*e, 0, "zeroed");
        cr_assert_eq(e, &a[i], "the new last element");
        *e = i * 10;
    }
    cr_assert_eq(count, 9);
    cr_assert_eq(cap, 16);
    for (int64_t i = 0; i < 9; i++)
        cr_assert_eq(a[i], i * 10, "the content is kept");
    nd_free(a);
    int64_t *none = NULL;
    size_t big = SIZE_MAX / 4, n = big;
    cr_assert_null(nd_array_push(&none, &big, &n, sizeof *none, 4), "bytes overflow size_t");
    cr_assert_eq(n, SIZE_MAX / 4, "the count is untouched");
    cr_assert_eq(big, SIZE_MAX / 4, "the capacity is untouched");
    cr_assert_null(none);
}

/* ---- hmap.h ---- */

/* Every key lands in slot 0 first: probing, growth and lookups must still be exact. */
static uint64_t hash_collide(const void *key, size_t key_size)
{
    (void)key;
    (void)key_size;
    return 0;
}

static uint64_t hash_u64(const void *key, size_t key_size)
{
    uint64_t k;
    cr_assert_eq(key_size, sizeof k);
    memcpy(&k, key, sizeof k);
    return k * 0x9E3779B97F4A7C15ull;
}

static void hmap_fill_and_check(nd_hmap_hash_fn hash, uint64_t n)
{
    nd_hmap_t m;
    nd_hmap_init(&m, sizeof(uint64_t), sizeof(int64_t), hash);
    cr_assert_null(nd_hmap_get(&m, &n), "an empty table has nothing");
    for (uint64_t k = 0; k < n; k++) {
        cr_assert_eq(nd_hmap_reserve(&m, 1), ND_OK);
        uint64_t key = k * 7919u;
        size_t s = nd_hmap_slot(&m, &key);
        cr_assert(!nd_hmap_used(&m, s));
        int64_t *v = nd_hmap_claim(&m, s, &key);
        cr_assert_eq(*v, 0, "a claimed value starts at zero");
        *v = (int64_t)k - 5;
        cr_assert_leq(m.count * 2, m.capacity, "at most half full");
    }
    cr_assert_eq(m.count, n);
    cr_assert_eq(m.capacity & (m.capacity - 1), 0, "a power of two");
    for (uint64_t k = 0; k < n; k++) {
        uint64_t key = k * 7919u;
        const int64_t *v = nd_hmap_get(&m, &key);
        cr_assert_not_null(v);
        cr_assert_eq(*v, (int64_t)k - 5, "key %llu survived growth", (unsigned long long)key);
        cr_assert(nd_hmap_used(&m, nd_hmap_slot(&m, &key)));
    }
    uint64_t absent = 1;
    cr_assert_null(nd_hmap_get(&m, &absent));
    nd_hmap_deinit(&m);
    cr_assert_eq(m.capacity, 0);
    cr_assert_eq(m.count, 0);
}

Test(hmap, grows_and_keeps_every_key)
{
    hmap_fill_and_check(hash_u64, 5000);
}

Test(hmap, colliding_hashes_probe_linearly)
{
    hmap_fill_and_check(hash_collide, 600);
}

Test(hmap, first_capacity_and_doubling)
{
    nd_hmap_t m;
    nd_hmap_init(&m, 3 * sizeof(double), 2 * sizeof(double), hash_collide);
    cr_assert_eq(nd_hmap_reserve(&m, 1), ND_OK);
    cr_assert_eq(m.capacity, 256);
    cr_assert_eq(nd_hmap_reserve(&m, 128), ND_OK, "128 keys fit in 256 slots");
    cr_assert_eq(m.capacity, 256);
    cr_assert_eq(nd_hmap_reserve(&m, 129), ND_OK);
    cr_assert_eq(m.capacity, 512);
    double key[3] = {1.5, -2.0, 0.0};
    double *v = nd_hmap_claim(&m, nd_hmap_slot(&m, key), key);
    v[0] = 4.0;
    v[1] = 8.0;
    double *w = nd_hmap_get(&m, key);
    cr_assert_eq(w, v);
    cr_assert_eq(w[1], 8.0);
    nd_hmap_deinit(&m);
}

Test(hmap, out_of_memory_leaves_the_table_as_it_was, .init = use_counting,
     .fini = restore_allocator)
{
    nd_hmap_t m;
    nd_hmap_init(&m, sizeof(uint64_t), sizeof(int64_t), hash_u64);
    cr_assert_eq(nd_hmap_reserve(&m, 1), ND_OK);
    uint64_t key = 42;
    *(int64_t *)nd_hmap_claim(&m, nd_hmap_slot(&m, &key), &key) = 7;
    counts.fail = 1;
    cr_assert_eq(nd_hmap_reserve(&m, 1000), ND_ENOMEM);
    counts.fail = 0;
    cr_assert_eq(m.capacity, 256);
    cr_assert_eq(m.count, 1);
    cr_assert_eq(*(int64_t *)nd_hmap_get(&m, &key), 7);
    nd_hmap_deinit(&m);
}

Test(hmap, fnv1a_reference_values)
{
    /* The published FNV-1a 64-bit test vectors. */
    cr_assert_eq(nd_hash_fnv1a("", 0), 0xcbf29ce484222325ull);
    cr_assert_eq(nd_hash_fnv1a("a", 1), 0xaf63dc4c8601ec8cull);
    cr_assert_eq(nd_hash_fnv1a("foobar", 6), 0x85944171f73967e8ull);
}
