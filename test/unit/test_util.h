/* Small helpers for the cmocka unit tests: a scratch folder per test binary and file
 * writing. */
#ifndef UK_TEST_UTIL_H
#define UK_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline const char *test_scratch_dir(const char *name)
{
    static char dir[512];
    const char *base = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof dir, "%s/%s.XXXXXX", base && *base ? base : "/tmp", name);
    if (!mkdtemp(dir))
        abort();
    return dir;
}

static inline void test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

#endif
