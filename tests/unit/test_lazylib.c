/* test_lazylib.c: libraries loaded on first use (src/core/lazylib.c, tools/lazy_stubs.py).
 * The stubs must be invisible to callers: integer, pointer, variadic and floating-point
 * arguments arrive intact through the first (resolving) call and the later ones; a library is
 * mapped only once something calls into it; many threads racing on the first call all get the
 * real function; a library or function that cannot be found is exit 2 naming both. */
#include "noderr/lazylib.h"

#include "child_stderr.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <link.h>
#include <lua.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

static int find_mapped(struct dl_phdr_info *info, size_t size, void *stem)
{
    (void)size;
    return strstr(info->dlpi_name, (const char *)stem) != NULL;
}

static bool mapped(const char *stem)
{
    return dl_iterate_phdr(find_mapped, (void *)stem) != 0;
}

static bool lazy_build(void)
{
#ifdef ND_TEST_LAZY_LIBRARIES
    return true;
#else
    return false;
#endif
}

Test(lazylib, a_library_is_mapped_by_its_first_call_and_variadic_arguments_pass)
{
    if (lazy_build())
        cr_assert(!mapped("libcurl"), "libcurl mapped before any call");
    CURL *h = curl_easy_init();
    cr_assert(h != NULL);
    cr_assert(mapped("libcurl"));
    /* curl_easy_setopt is variadic: a long, a pointer and a curl_off_t through the stub. */
    cr_assert_eq(curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1500L), CURLE_OK);
    cr_assert_eq(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:9/x"), CURLE_OK);
    cr_assert_eq(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
    long code = -1;
    cr_assert_eq(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code), CURLE_OK);
    cr_assert_eq(code, 0);
    curl_easy_cleanup(h);
}

static void *lua_alloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

Test(lazylib, floating_point_arguments_survive_the_resolving_call)
{
    lua_State *L = lua_newstate(lua_alloc, NULL);
    cr_assert(L != NULL);
    /* The first call of lua_pushnumber resolves it with 2.5 in %xmm0: the resolver must give
     * the register back untouched. */
    lua_pushnumber(L, 2.5);
    lua_pushnumber(L, -0.125);
    cr_assert_eq(lua_tonumber(L, -2), 2.5);
    cr_assert_eq(lua_tonumber(L, -1), -0.125);
    lua_close(L);
}

static void *error_name(void *arg)
{
    (void)arg;
    return (void *)uv_strerror(UV_EAGAIN);
}

Test(lazylib, threads_racing_on_the_first_call_all_get_the_function)
{
    enum { THREADS = 8 };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, error_name, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *text = NULL;
        cr_assert_eq(pthread_join(t[i], &text), 0);
        cr_assert_str_eq((const char *)text, "resource temporarily unavailable");
    }
}

typedef struct resolve_call {
    nd_lazylib_t *lib;
    uint64_t index;
} resolve_call_t;

static void resolve(void *arg)
{
    resolve_call_t *call = arg;
    nd__lazylib_resolve(call->lib, call->index);
}

/* Runs resolve(lib, index) in a child; returns its exit code and what it wrote to stderr. */
static int resolve_in_child(nd_lazylib_t *lib, uint64_t index, char *err, size_t err_len)
{
    resolve_call_t call = {lib, index};
    int status = run_in_child(resolve, &call, err, err_len);
    cr_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

Test(lazylib, a_missing_library_or_function_is_exit_2_naming_both)
{
    const char *names[] = {"sqrt", "nd_no_such_function"};
    void *slots[2] = {NULL, NULL};
    nd_lazylib_t absent = {"libnoderr-absent.so.0", names, slots, 2, NULL};
    char err[512];
    cr_assert_eq(resolve_in_child(&absent, 0, err, sizeof err), 2);
    cr_assert(strstr(err, "cannot load libnoderr-absent.so.0 (needed for sqrt): ") != NULL,
              "%s", err);

    nd_lazylib_t libm = {"libm.so.6", names, slots, 2, NULL};
    double (*square_root)(double) = (double (*)(double))nd__lazylib_resolve(&libm, 0);
    cr_assert_eq(square_root(16.0), 4.0);
    cr_assert_eq(slots[0], (void *)square_root);
    cr_assert(nd_lazylib_loaded("libm.so.6"));
    cr_assert_eq(resolve_in_child(&libm, 1, err, sizeof err), 2);
    cr_assert(strstr(err, "cannot load libm.so.6 (needed for nd_no_such_function): ") != NULL,
              "%s", err);
}
