/* rand.c: xoshiro256** (Blackman and Vigna, public domain algorithm) and splitmix64 seeding. */
#include "noderr/rand.h"
#include "noderr/assert.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void nd_rand_init(nd_rand_t *rng, uint64_t seed)
{
    ND_ASSERT(rng != NULL);
    uint64_t state = seed;
    for (int i = 0; i < 4; i++)
        rng->_s[i] = splitmix64(&state);
    rng->seed = seed;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t nd_rand_next(nd_rand_t *rng)
{
    uint64_t *s = rng->_s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nd_rand_uniform(nd_rand_t *rng)
{
    return (double)(nd_rand_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t nd_rand_below(nd_rand_t *rng, uint64_t bound)
{
    ND_ASSERT(bound > 0);
    /* Reject the top partial bucket so every value is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do {
        x = nd_rand_next(rng);
    } while (x >= limit);
    return x % bound;
}

double nd_rand_normal(nd_rand_t *rng)
{
    double u1 = nd_rand_uniform(rng), u2 = nd_rand_uniform(rng);
    if (u1 <= 0.0)
        u1 = 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
