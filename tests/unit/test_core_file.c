/* test_core_file.c: nd_file_read / nd_file_open (file.h) refuse FIFOs, devices and directories
 * without blocking and bound the size; nd_text_escape / nd_text_bom_len and the one span parser
 * nd_span_parse (text.h) never overflow and say why. */
#include "noderr/alloc.h"
#include "noderr/clock.h"
#include "noderr/file.h"
#include "noderr/text.h"

#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/nd_core_file_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static const char *write_file(const char *name, const char *text, size_t len, mode_t mode)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, mode), 0);
    return path;
}

TestSuite(file, .init = make_dir, .fini = remove_dir, .timeout = 10);

Test(file, reads_a_regular_file_with_nul_bytes)
{
    const char *path = write_file("a", "a\0b\n", 4, 0644);
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    cr_assert_eq(nd_file_read(path, 100, 0, &buf, &len, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(len, 4);
    cr_assert_eq(memcmp(buf, "a\0b\n", 5), 0, "the bytes and a NUL after them");
    nd_free(buf);
}

Test(file, empty_file_and_exact_size_limit)
{
    const char *path = write_file("e", "", 0, 0644);
    char *buf = NULL, err[256] = "";
    size_t len = 9;
    cr_assert_eq(nd_file_read(path, 0, 0, &buf, &len, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(len, 0);
    cr_assert_eq(buf[0], '\0');
    nd_free(buf);
    path = write_file("s", "12345", 5, 0644);
    cr_assert_eq(nd_file_read(path, 5, 0, &buf, &len, err, sizeof err), ND_OK, "%s", err);
    nd_free(buf);
    buf = NULL;
    cr_assert_eq(nd_file_read(path, 4, 0, &buf, &len, err, sizeof err), ND_ERANGE);
    cr_assert_null(buf, "out is written only on success");
    cr_assert(strstr(err, "larger than the 4 bytes allowed") != NULL, "%s", err);
}

Test(file, a_fifo_is_refused_without_blocking)
{
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/fifo", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    char *buf = NULL;
    size_t len = 0;
    /* Without the stat first this open would block forever (no writer): the suite's timeout
     * turns that into a failure. */
    cr_assert_eq(nd_file_read(path, 100, 0, &buf, &len, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "is a FIFO (named pipe), not a regular file") != NULL, "%s", err);
    cr_assert(strncmp(err, path, strlen(path)) == 0, "names the path: %s", err);
    FILE *f = NULL;
    cr_assert_eq(nd_file_open(path, &f, err, sizeof err), ND_EINVAL);
    cr_assert_null(f);
}

Test(file, a_directory_and_a_device_are_named)
{
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    cr_assert_eq(nd_file_read(dir, 100, 0, &buf, &len, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "is a directory, not a regular file") != NULL, "%s", err);
    cr_assert_eq(nd_file_read("/dev/null", 100, 0, &buf, &len, err, sizeof err), ND_EINVAL);
    cr_assert(strstr(err, "is a character device") != NULL, "%s", err);
    cr_assert_eq(nd_file_read("/nonexistent/x", 100, 0, &buf, &len, err, sizeof err),
                 ND_ENOTFOUND);
    cr_assert_str_eq(err, "/nonexistent/x: No such file or directory");
}

Test(file, private_files_refuse_group_access_and_symlinks)
{
    const char *path = write_file("secret", "api_secret=x\n", 13, 0640);
    char saved[512], link_path[512], *buf = NULL, err[256] = "";
    size_t len = 0;
    snprintf(saved, sizeof saved, "%s", path);
    cr_assert_eq(nd_file_read(saved, 100, ND_FILE_PRIVATE, &buf, &len, err, sizeof err),
                 ND_EINVAL);
    cr_assert(strstr(err, "mode 0600") != NULL, "%s", err);
    cr_assert_eq(chmod(saved, 0600), 0);
    cr_assert_eq(nd_file_read(saved, 100, ND_FILE_PRIVATE, &buf, &len, err, sizeof err), ND_OK);
    nd_free(buf);
    snprintf(link_path, sizeof link_path, "%s/link", dir);
    cr_assert_eq(symlink(saved, link_path), 0);
    cr_assert_eq(nd_file_read(link_path, 100, ND_FILE_PRIVATE, &buf, &len, err, sizeof err),
                 ND_EINVAL);
    cr_assert(strstr(err, "symbolic link") != NULL, "%s", err);
}

Test(file, open_streams_a_regular_file)
{
    const char *path = write_file("b", "x\ny\n", 4, 0644);
    FILE *f = NULL;
    char err[256] = "", line[8];
    cr_assert_eq(nd_file_open(path, &f, err, sizeof err), ND_OK, "%s", err);
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert_str_eq(line, "x\n");
    cr_assert_eq(fclose(f), 0);
}

/* nd_file_write: a regular file is replaced whole through PATH.tmp; a device is written in place,
 * never renamed over (run as root, a rename onto /dev/full replaced the device node). The device
 * is reached through a symbolic link in the temporary directory, so a regression replaces only
 * the link, never /dev/full itself. */
Test(file, write_replaces_a_regular_file_whole, .init = make_dir, .fini = remove_dir)
{
    char path[512], tmp[520], err[256] = "";
    snprintf(path, sizeof path, "%s/out.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_eq(nd_file_write(path, "old", 3, err, sizeof err), ND_OK, "%s", err);
    cr_assert_eq(nd_file_write(path, "new text", 8, err, sizeof err), ND_OK, "%s", err);
    char *text = NULL;
    size_t len = 0;
    cr_assert_eq(nd_file_read(path, 100, 0, &text, &len, err, sizeof err), ND_OK);
    cr_assert_str_eq(text, "new text");
    nd_free(text);
    cr_assert_neq(access(tmp, F_OK), 0, "no temporary file is left behind");
}

/* A link to a regular file stays a link: the file it names is the one replaced. */
Test(file, write_through_a_link_replaces_the_file_not_the_link, .init = make_dir,
     .fini = remove_dir)
{
    char file[512], link[512], err[256] = "";
    snprintf(file, sizeof file, "%s/real.html", dir);
    snprintf(link, sizeof link, "%s/link.html", dir);
    cr_assert_eq(nd_file_write(file, "old", 3, err, sizeof err), ND_OK);
    cr_assert_eq(symlink(file, link), 0);
    cr_assert_eq(nd_file_write(link, "new", 3, err, sizeof err), ND_OK, "%s", err);
    struct stat st;
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link was replaced by a file");
    char *text = NULL;
    size_t len = 0;
    cr_assert_eq(nd_file_read(file, 100, 0, &text, &len, err, sizeof err), ND_OK);
    cr_assert_str_eq(text, "new");
    nd_free(text);
}

Test(file, write_to_a_full_device_fails_in_place, .init = make_dir, .fini = remove_dir)
{
    char link[512], err[256] = "";
    struct stat st;
    cr_assert_eq(stat("/dev/full", &st), 0);
    cr_assert(S_ISCHR(st.st_mode));
    snprintf(link, sizeof link, "%s/full", dir);
    cr_assert_eq(symlink("/dev/full", link), 0);
    char big[65536];
    memset(big, 'x', sizeof big);
    cr_assert_eq(nd_file_write(link, big, sizeof big, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "No space left on device") != NULL, "%s", err);
    cr_assert(strstr(err, link) != NULL, "the message names the file: %s", err);
    cr_assert_eq(nd_file_write(link, "x", 1, err, sizeof err), ND_EIO, "a short write too");
    cr_assert_eq(lstat(link, &st), 0);
    cr_assert(S_ISLNK(st.st_mode), "the link was replaced by a renamed file");
    cr_assert_eq(stat("/dev/full", &st), 0);
    cr_assert(S_ISCHR(st.st_mode), "/dev/full is no longer a character device");
}

Test(file, out_close_without_commit_keeps_the_old_file, .init = make_dir, .fini = remove_dir)
{
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/keep.csv", dir);
    cr_assert_eq(nd_file_write(path, "kept", 4, err, sizeof err), ND_OK);
    nd_file_out_t out;
    cr_assert_eq(nd_file_out_open(&out, path, err, sizeof err), ND_OK);
    fputs("half a report", out.f);
    cr_assert_eq(nd_file_out_close(&out, false, err, sizeof err), ND_OK);
    char *text = NULL;
    size_t len = 0;
    cr_assert_eq(nd_file_read(path, 100, 0, &text, &len, err, sizeof err), ND_OK);
    cr_assert_str_eq(text, "kept");
    nd_free(text);
    snprintf(path, sizeof path, "%s/no/such/dir/x", dir);
    cr_assert_eq(nd_file_out_open(&out, path, err, sizeof err), ND_EIO);
    cr_assert(strstr(err, "cannot write") != NULL, "%s", err);
}

Test(text, escape_shows_invisible_bytes)
{
    char out[64];
    cr_assert_str_eq(nd_text_escape("1\0", 2, out, sizeof out), "1\\x00");
    cr_assert_str_eq(nd_text_escape("\xef\xbb\xbfts", 5, out, sizeof out), "\\xef\\xbb\\xbfts");
    cr_assert_str_eq(nd_text_escape("a\\b\r", 4, out, sizeof out), "a\\\\b\\x0d");
    char small[12];
    cr_assert_str_eq(nd_text_escape("abcdefghijklmnop", 16, small, sizeof small), "abcdefgh...");
    cr_assert_str_eq(nd_text_escape("\x01\x02\x03", 3, small, sizeof small), "\\x01\\x02...");
    cr_assert_eq(nd_text_bom_len("\xef\xbb\xbfx", 4), 3);
    cr_assert_eq(nd_text_bom_len("\xef\xbb", 2), 0);
    cr_assert_eq(nd_text_bom_len("abc", 3), 0);
}

static nd_err_t span(const char *text, unsigned flags, nd_span_t *out, char *err)
{
    return nd_span_parse(text, strlen(text), flags, out, err, 160);
}

Test(text, span_units_and_bars)
{
    nd_span_t s;
    char err[160] = "";
    cr_assert_eq(span("180d", 0, &s, err), ND_OK);
    cr_assert_eq(s.value, 180 * ND_NS_PER_DAY);
    cr_assert(!s.bars);
    cr_assert_eq(span("2w", 0, &s, err), ND_OK);
    cr_assert_eq(s.value, 14 * ND_NS_PER_DAY);
    cr_assert_eq(span("36h", 0, &s, err), ND_OK);
    cr_assert_eq(s.value, 36 * ND_NS_PER_HOUR);
    cr_assert_eq(span("90m", 0, &s, err), ND_OK);
    cr_assert_eq(s.value, 90 * ND_NS_PER_MIN);
    cr_assert_eq(span("600", ND_SPAN_BARS_OK, &s, err), ND_OK);
    cr_assert_eq(s.value, 600);
    cr_assert(s.bars);
    cr_assert_eq(span("600", 0, &s, err), ND_EPARSE, "bars only when the caller takes them");
    cr_assert_eq(span("", 0, &s, err), ND_EPARSE);
    cr_assert_eq(span("d", 0, &s, err), ND_EPARSE);
    cr_assert_eq(span("1dd", 0, &s, err), ND_EPARSE);
    cr_assert_eq(span("-1d", 0, &s, err), ND_EPARSE);
    cr_assert_eq(span("1x", 0, &s, err), ND_EPARSE);
    cr_assert(strstr(err, "'1x' is not a whole number with a unit") != NULL, "%s", err);
}

Test(text, span_bounds_never_overflow)
{
    nd_span_t s = {123, false};
    char err[160] = "";
    /* 99999d fits int64 nanoseconds but is beyond 100 years; 100000w overflows int64. */
    cr_assert_eq(span("99999d", 0, &s, err), ND_ERANGE);
    cr_assert(strstr(err, "longer than 100 years") != NULL, "%s", err);
    cr_assert_eq(span("100000w", 0, &s, err), ND_ERANGE);
    cr_assert_eq(span("9223372036854775807d", 0, &s, err), ND_ERANGE);
    cr_assert_eq(span("99999999999999999999999999h", 0, &s, err), ND_ERANGE);
    cr_assert_eq(span("9223372036854775807", ND_SPAN_BARS_OK, &s, err), ND_ERANGE);
    cr_assert(strstr(err, "more than 100000000 bars") != NULL, "%s", err);
    cr_assert_eq(span("0d", 0, &s, err), ND_ERANGE);
    cr_assert(strstr(err, "must be positive") != NULL, "%s", err);
    cr_assert_eq(s.value, 123, "out is written only on success");
    cr_assert_eq(span("36525d", 0, &s, err), ND_OK, "the bound itself is allowed");
    cr_assert_eq(s.value, ND_SPAN_NS_MAX);
    cr_assert_eq(span("100000000", ND_SPAN_BARS_OK, &s, err), ND_OK);
}

Test(text, hex_digits_in_either_case)
{
    const char *digits = "0123456789abcdef", *upper = "ABCDEF";
    for (int k = 0; k < 16; k++)
        cr_assert_eq(nd_hex_digit(digits[k]), k);
    for (int k = 0; k < 6; k++)
        cr_assert_eq(nd_hex_digit(upper[k]), 10 + k);
    const char *bad = "gG/:@`xX \n";
    for (size_t k = 0; bad[k]; k++)
        cr_assert_eq(nd_hex_digit(bad[k]), -1, "'%c'", bad[k]);
    cr_assert_eq(nd_hex_digit('\0'), -1);
    cr_assert_eq(nd_hex_digit((char)0xff), -1);
}
