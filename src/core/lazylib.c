/* lazylib.c: the resolver behind the generated stubs of lazily loaded libraries
 * (include/noderr/lazylib.h, tools/lazy_stubs.py). */
#include "noderr/lazylib.h"
#include "noderr/assert.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

ND_STATIC_ASSERT(sizeof(nd_lazylib_t) == 40, "tools/lazy_stubs.py lays out five 8-byte fields");

/* One lock for every library: resolution happens once per function, so contention is moot,
 * and it keeps two threads from loading the same library twice. */
static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;

_Noreturn static void cannot_load(const nd_lazylib_t *lib, const char *name, const char *why)
{
    /* A stub cannot return an error to a caller that expects the real function, so this is
     * what the dynamic loader would have done at start-up, one call later. */
    fprintf(stderr, "noderr: cannot load %s (needed for %s): %s\n", lib->soname, name,
            why ? why : "unknown error");
    fflush(stderr);
    exit(2);
}

void *nd__lazylib_resolve(nd_lazylib_t *lib, uint64_t index)
{
    ND_ASSERT(lib != NULL);
    ND_ASSERT(index < lib->count);
    const char *name = lib->names[index];
    pthread_mutex_lock(&resolve_lock);
    void *fn = __atomic_load_n(&lib->slots[index], __ATOMIC_ACQUIRE);
    if (!fn) {
        if (!lib->handle) {
            /* RTLD_GLOBAL: as if linked, so libraries loaded later (LuaJIT's C modules, the
             * TLS libraries libcurl and libwebsockets share with us) see the same instance. */
            lib->handle = dlopen(lib->soname, RTLD_LAZY | RTLD_GLOBAL);
            if (!lib->handle)
                cannot_load(lib, name, dlerror());
        }
        fn = dlsym(lib->handle, name);
        if (!fn)
            cannot_load(lib, name, dlerror());
        __atomic_store_n(&lib->slots[index], fn, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&resolve_lock);
    return fn;
}

bool nd_lazylib_loaded(const char *soname)
{
    ND_ASSERT(soname != NULL);
    /* The dynamic loader knows: RTLD_NOLOAD only looks a loaded library up. */
    void *handle = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (handle)
        dlclose(handle); /* the look-up counted a reference */
    return handle != NULL;
}
