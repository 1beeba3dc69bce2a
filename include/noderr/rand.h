/* rand.h: seeded pseudo-random numbers (xoshiro256**, seeded through splitmix64).
 *
 * Every random choice in Noderr comes from an nd_rand_t with an explicit seed that the caller
 * prints, so a run can always be reproduced. Not for cryptography. */
#ifndef NODERR_RAND_H
#define NODERR_RAND_H

#include <stdint.h>

typedef struct nd_rand {
    uint64_t _s[4]; /* private */
    uint64_t seed;  /* read-only: the seed it was started from */
} nd_rand_t;

/* Seeds the generator; every seed, including 0, gives a valid distinct stream. */
void nd_rand_init(nd_rand_t *rng, uint64_t seed);
/* Next 64 random bits. */
uint64_t nd_rand_next(nd_rand_t *rng);
/* Uniform double in [0, 1), 53 bits. */
double nd_rand_uniform(nd_rand_t *rng);
/* Uniform integer in [0, bound) without modulo bias; bound > 0. */
uint64_t nd_rand_below(nd_rand_t *rng, uint64_t bound);
/* Standard normal deviate (Box-Muller; no cached state, so the stream stays simple). */
double nd_rand_normal(nd_rand_t *rng);

#endif
