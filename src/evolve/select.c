/* select.c: which parameter set a walk-forward run writes (docs/evolve.md, "What --out
 * writes"). Each window's winner is a candidate; every candidate is scored out of sample on
 * every window's test slice, and the rule takes the candidate with the highest median
 * out-of-sample score among those not flagged in their own window (ties: the earlier window).
 * When every candidate is flagged the best median is still taken, and the caller must say so.
 * Pure functions of their inputs; NaN scores are left out of a median. */
#include "noderr/evolve.h"

#include "noderr/assert.h"

#include <math.h>

/* Insertion sort: windows number in the tens, and the order is then fully determined. */
double nd_evolve_median(double *values, size_t count)
{
    ND_ASSERT(values != NULL || count == 0);
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        if (isfinite(values[i]))
            values[n++] = values[i];
    for (size_t i = 1; i < n; i++) {
        double v = values[i];
        size_t j = i;
        for (; j > 0 && values[j - 1] > v; j--)
            values[j] = values[j - 1];
        values[j] = v;
    }
    if (n == 0)
        return NAN;
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/* True when a beats b: a finite median beats NaN, then higher wins; ties keep the earlier. */
static bool better(double a, double b)
{
    if (isnan(a))
        return false;
    return isnan(b) || a > b;
}

long nd_evolve_select_oos(const double *scores, size_t candidates, size_t windows,
                          const bool *flagged, double *medians, double *scratch,
                          bool *chose_flagged)
{
    ND_ASSERT(scores != NULL || candidates * windows == 0);
    ND_ASSERT(flagged != NULL || candidates == 0);
    ND_ASSERT(chose_flagged != NULL);
    long best_clean = -1, best_any = -1;
    for (size_t c = 0; c < candidates; c++) {
        for (size_t w = 0; w < windows; w++)
            scratch[w] = scores[c * windows + w];
        medians[c] = nd_evolve_median(scratch, windows);
        if (best_any < 0 || better(medians[c], medians[best_any]))
            best_any = (long)c;
        if (!flagged[c] && (best_clean < 0 || better(medians[c], medians[best_clean])))
            best_clean = (long)c;
    }
    *chose_flagged = best_clean < 0 && best_any >= 0;
    return best_clean >= 0 ? best_clean : best_any;
}
