/* child_stderr.h: runs a function in a forked child and keeps what it wrote to stderr, for tests
 * of paths that end the process (exit 2 with a message, a signal). Included by one test file
 * each; header-only. */
#ifndef ND_TEST_CHILD_STDERR_H
#define ND_TEST_CHILD_STDERR_H

#include <criterion/criterion.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs body(arg) in a child with stderr to a pipe; returns the child's wait status, with
 * everything it wrote to stderr (up to err_len - 1 bytes) in err. A body that returns exits 0. */
static int run_in_child(void (*body)(void *), void *arg, char *err, size_t err_len)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        body(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got < err_len - 1 && (n = read(fds[0], err + got, err_len - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(fds[0]);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

#endif
