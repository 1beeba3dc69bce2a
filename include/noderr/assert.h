/* assert.h: assertions in two tiers, both on in production builds.
 *
 * ND_ASSERT(x) is always compiled in: on failure it prints the expression, file and line to
 * stderr and aborts. Programmer errors crash; operating errors are returned as nd_err_t.
 * ND_DEBUG_ASSERT(x) guards O(n) checks and is compiled only when ND_DEBUG_ASSERTIONS is
 * defined (test and sanitizer builds). */
#ifndef NODERR_ASSERT_H
#define NODERR_ASSERT_H

#include <stddef.h>

_Noreturn void nd__assert_fail(const char *expr, const char *file, int line);

#define ND_ASSERT(x) ((x) ? (void)0 : nd__assert_fail(#x, __FILE__, __LINE__))

#ifdef ND_DEBUG_ASSERTIONS
#define ND_DEBUG_ASSERT(x) ND_ASSERT(x)
#else
#define ND_DEBUG_ASSERT(x) ((void)0)
#endif

#define ND_STATIC_ASSERT(x, msg) _Static_assert(x, msg)

#endif
