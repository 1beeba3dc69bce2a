/* test_file_map.c: whole input files read through a mapping (src/core/file_map.c).
 * The mapping shows the file's bytes; what cannot be mapped (empty, too large) says so and is
 * left to stdio; a file truncated under its mapping ends the process with exit 2 naming it,
 * never a silent short read; a SIGBUS that is not about a mapping goes to the handler that was
 * there before. */
#include "noderr/file.h"

#include "child_stderr.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static FILE *make_file(size_t len)
{
    strcpy(path, "/tmp/nd_file_map_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    for (size_t i = 0; i < len; i++) {
        char c = (char)('a' + i % 26);
        cr_assert_eq(write(fd, &c, 1), 1);
    }
    close(fd);
    FILE *f = NULL;
    char err[256];
    cr_assert_eq(nd_file_open(path, &f, err, sizeof err), ND_OK, "%s", err);
    return f;
}

Test(file_map, maps_the_whole_file_and_unmaps)
{
    FILE *f = make_file(10000);
    nd_file_map_t m;
    cr_assert(nd_file_map(f, path, 1 << 20, &m));
    cr_assert_eq(m.len, 10000);
    for (size_t i = 0; i < m.len; i++)
        cr_assert_eq(m.data[i], (char)('a' + i % 26));
    nd_file_unmap(&m);
    cr_assert(m.data == NULL);
    nd_file_unmap(&m); /* twice: a no-op */
    nd_file_map_t zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    nd_file_unmap(&zeroed);
    fclose(f);
    unlink(path);
}

Test(file_map, an_empty_or_too_large_file_is_left_to_stdio)
{
    FILE *f = make_file(0);
    nd_file_map_t m;
    cr_assert(!nd_file_map(f, path, 1 << 20, &m));
    cr_assert(m.data == NULL);
    fclose(f);
    unlink(path);
    f = make_file(5000);
    cr_assert(!nd_file_map(f, path, 4999, &m));
    cr_assert(m.data == NULL);
    char first[4] = {0};
    cr_assert_eq(fread(first, 1, 3, f), 3, "the stream is untouched");
    cr_assert_str_eq(first, "abc");
    fclose(f);
    unlink(path);
}

static void read_while_truncated(void *arg)
{
    (void)arg;
    FILE *f = make_file(3 * 4096 + 100);
    nd_file_map_t m;
    if (!nd_file_map(f, path, 1 << 20, &m))
        _exit(10);
    volatile char c = m.data[0];
    (void)c;
    if (truncate(path, 0) != 0)
        _exit(11);
    c = m.data[2 * 4096]; /* that page is gone: SIGBUS */
    _exit(12);
}

Test(file_map, a_file_truncated_under_its_mapping_is_exit_2_naming_it)
{
    char err[512];
    int status = run_in_child(read_while_truncated, NULL, err, sizeof err);
    unlink(path); /* the child's file: same name in the copied buffer */
    cr_assert(WIFEXITED(status), "status %d", status);
    cr_assert_eq(WEXITSTATUS(status), 2, "exit %d: %s", WEXITSTATUS(status), err);
    cr_assert(strstr(err, "noderr: /tmp/nd_file_map_") != NULL, "%s", err);
    cr_assert(strstr(err, ": the file shrank while it was being read\n") != NULL, "%s", err);
}

static void previous_handler(int sig)
{
    (void)sig;
    _exit(3);
}

static void sigbus_sent_by_kill(void *arg)
{
    (void)arg;
    /* The handler that was there before the first mapping (the default, or a sanitizer's). */
    signal(SIGBUS, previous_handler);
    FILE *f = make_file(100);
    nd_file_map_t m;
    if (!nd_file_map(f, path, 1 << 20, &m)) /* installs the handler */
        _exit(10);
    unlink(path);
    raise(SIGBUS);
    _exit(12);
}

Test(file_map, a_sigbus_not_about_a_mapping_goes_to_the_previous_handler)
{
    char err[512];
    int status = run_in_child(sigbus_sent_by_kill, NULL, err, sizeof err);
    cr_assert(WIFEXITED(status), "status %d: %s", status, err);
    cr_assert_eq(WEXITSTATUS(status), 3, "exit %d: %s", WEXITSTATUS(status), err);
}
