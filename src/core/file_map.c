/* file_map.c: read-only mappings of whole input files (file.h), and the SIGBUS handler that
 * turns a file cut short under its mapping into a message naming it.
 *
 * Why map: a backtest reads its bar file once, front to back. read(2) copies every byte out of
 * the page cache into a buffer (about a tenth of a 100k-bar backtest's process); a mapping lets
 * the parser read the page cache itself, page faults mapping 16 pages at a time.
 *
 * The price: a mapped file truncated by someone else while it is read has pages that no longer
 * exist, and touching one raises SIGBUS. The handler below recognises an address inside one of
 * our mappings and ends the process with exit 2 and "PATH: the file shrank while it was being
 * read" (what stdio would have seen as a short read, here never silent); any other SIGBUS goes
 * to the handler that was there before. */
#include "noderr/file.h"

#include "noderr/alloc.h"
#include "noderr/assert.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Mappings alive at once: a run reads a handful of bar files. A request beyond it streams. */
#define ND_FILE_MAPS_MAX 16

typedef struct map_slot {
    const char *volatile base; /* NULL: free; set last, so the handler sees a whole entry */
    size_t len;
    char *path;
} map_slot_t;

static map_slot_t slots[ND_FILE_MAPS_MAX];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction previous_bus;
static bool handler_installed;

static void say(const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, text, len);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

/* Async-signal-safe: reads the table, writes with write(2), ends with _exit. */
static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    (void)context;
    const char *address = info->si_addr;
    for (int i = 0; i < ND_FILE_MAPS_MAX; i++) {
        const char *base = slots[i].base;
        if (base && address >= base && address < base + slots[i].len) {
            say("noderr: ");
            say(slots[i].path);
            say(": the file shrank while it was being read\n");
            _exit(2);
        }
    }
    /* Not ours: back to the previous disposition. A fault recurs on return and reaches it with
     * its own siginfo; a SIGBUS sent by kill or raise (si_code <= 0) is sent again. */
    sigaction(sig, &previous_bus, NULL);
    if (info->si_code <= 0)
        raise(sig);
}

static bool install_handler(void)
{
    if (handler_installed)
        return true;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    handler_installed = sigaction(SIGBUS, &sa, &previous_bus) == 0;
    return handler_installed;
}

bool nd_file_map(FILE *f, const char *path, size_t len_max, nd_file_map_t *out)
{
    ND_ASSERT(f != NULL && path != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->slot = -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > len_max)
        return false;
    char *path_copy = nd_strdup(path);
    if (!path_copy)
        return false;
    size_t len = (size_t)st.st_size;
    pthread_mutex_lock(&slots_lock);
    int slot = -1;
    for (int i = 0; i < ND_FILE_MAPS_MAX && slot < 0; i++)
        slot = slots[i].base == NULL ? i : -1;
    void *base = MAP_FAILED;
    if (slot >= 0 && install_handler())
        base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    if (base != MAP_FAILED) {
        madvise(base, len, MADV_SEQUENTIAL); /* read-ahead; a failure costs only speed */
        slots[slot].len = len;
        slots[slot].path = path_copy;
        slots[slot].base = base;
        *out = (nd_file_map_t){base, len, slot};
    }
    pthread_mutex_unlock(&slots_lock);
    if (base == MAP_FAILED)
        nd_free(path_copy);
    return base != MAP_FAILED;
}

void nd_file_unmap(nd_file_map_t *m)
{
    ND_ASSERT(m != NULL);
    if (m->data == NULL)
        return; /* never mapped (a zeroed struct included) */
    ND_ASSERT(m->slot < ND_FILE_MAPS_MAX);
    pthread_mutex_lock(&slots_lock);
    map_slot_t *s = &slots[m->slot];
    ND_ASSERT(s->base == m->data);
    s->base = NULL; /* first, so the handler never reads a path being freed */
    munmap((void *)m->data, m->len);
    nd_free(s->path);
    s->path = NULL;
    pthread_mutex_unlock(&slots_lock);
    memset(m, 0, sizeof *m);
    m->slot = -1;
}
