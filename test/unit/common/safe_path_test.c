/* safe_path: names normalised the same way however an application spelled them, nothing
 * outside the root touched through "..", absolute paths or symlinks, and no escape while
 * another thread swaps a folder for a symlink to an outside folder, with openat2 and with
 * the openat() walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "../test_util.h"
#include "common/safe_path.h"
#include "common/util.h"

static char *tree(const char *name)
{
    char *dir = xstrdup(test_scratch_dir(name));
    char *root = xasprintf("%s/root", dir), *outside = xasprintf("%s/outside", dir);
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(outside, 0755), 0);
    free(root);
    free(outside);
    return dir;
}

static void test_relative_names(void **state)
{
    (void)state;
    char *dir = tree("safe-rel");
    char *root_path = xasprintf("%s/root", dir), *alias = xasprintf("%s/alias", dir);
    assert_int_equal(symlink("root", alias), 0);
    const char *why;
    SafeRoot *root = safe_root_open(alias, false, &why); /* configured through a symlink */
    assert_non_null(root);
    struct {
        const char *name, *rel;
    } cases[] = {
        {"a/x.pdf", "a/x.pdf"},    {"./a//x.pdf", "a/x.pdf"},
        {"a/./x.pdf/", "a/x.pdf"}, {NULL, "a/x.pdf"}, /* through the configured (symlinked) root */
        {NULL, "a/x.pdf"},                            /* through the real root */
    };
    cases[3].name = xasprintf("%s//a/x.pdf", alias);
    cases[4].name = xasprintf("%s/a/x.pdf", root_path);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *rel = safe_relative(root, cases[i].name, &why);
        assert_non_null(rel);
        assert_string_equal(rel, cases[i].rel);
        free(rel);
    }
    free((char *)cases[3].name);
    free((char *)cases[4].name);
    const struct {
        const char *name, *why;
    } refused[] = {{"", "empty path"},
                   {"a/../../outside/x", "path contains '..'"},
                   {"/etc/passwd", "outside files_root"},
                   {".", "not a file name"}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_null(safe_relative(root, refused[i].name, &why));
        assert_string_equal(why, refused[i].why);
    }
    safe_root_close(root);
    free(root_path);
    free(alias);
    free(dir);
}

/* A symlinked folder on the way is refused whether it leads out or not; a symlink as the
 * last component is removed itself only when its target stays inside. */
static void check_symlinks(bool openat2)
{
    safe_path_use_openat2(openat2);
    char *dir = tree("safe-links");
    char *p = xasprintf("%s/outside/secret", dir);
    test_write_file(p, "keep");
    free(p);
    p = xasprintf("%s/root/in", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
    p = xasprintf("%s/root/in/file", dir);
    test_write_file(p, "inside");
    free(p);
    p = xasprintf("%s/root/out", dir);
    assert_int_equal(symlink("../outside", p), 0);
    free(p);
    p = xasprintf("%s/root/in-alias", dir);
    assert_int_equal(symlink("in", p), 0);
    free(p);
    p = xasprintf("%s/root/link-out", dir);
    assert_int_equal(symlink("../outside/secret", p), 0);
    free(p);
    p = xasprintf("%s/root", dir);
    const char *why;
    SafeRoot *root = safe_root_open(p, false, &why);
    free(p);
    uint64_t bytes;
    assert_int_equal(safe_remove(root, "out/secret", false, &bytes, &why), SAFE_REFUSED);
    assert_string_equal(why, "a symlink on the way");
    assert_int_equal(safe_remove(root, "in-alias/file", false, &bytes, &why), SAFE_REFUSED);
    assert_int_equal(safe_remove(root, "link-out", false, &bytes, &why), SAFE_REFUSED);
    assert_string_equal(why, "symlink leads outside files_root");
    assert_int_equal(safe_remove(root, "in", false, &bytes, &why), SAFE_REFUSED);
    assert_string_equal(why, "is a folder");
    assert_int_equal(safe_remove(root, "in/nothing", false, &bytes, &why), SAFE_MISSING);
    assert_int_equal(safe_remove(root, "nothing/file", false, &bytes, &why), SAFE_MISSING);
    assert_int_equal(safe_remove(root, "in/file", true, &bytes, &why), SAFE_REMOVED);
    assert_int_equal(bytes, 6);
    assert_int_equal(safe_remove(root, "in/file", false, &bytes, &why), SAFE_REMOVED);
    p = xasprintf("%s/outside/secret", dir);
    assert_true(path_exists(p));
    free(p);
    safe_root_close(root);
    free(dir);
    safe_path_use_openat2(true);
}

static void test_symlinks_openat2(void **state)
{
    (void)state;
    check_symlinks(true);
}

static void test_symlinks_walk(void **state)
{
    (void)state;
    check_symlinks(false);
}

typedef struct Swapper {
    char *a, *b;
    atomic_bool stop;
    long swaps;
} Swapper;

static void *swap_loop(void *arg)
{
    Swapper *s = arg;
    while (!atomic_load(&s->stop))
        if (renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE) == 0)
            s->swaps++;
    return NULL;
}

/* The attack from the issue: root/d (a real folder) and root/s (a symlink to the outside
 * folder) exchanged atomically in a loop while names below d are removed. Every outside file
 * must survive; files inside may go. */
static void check_race(bool openat2)
{
    safe_path_use_openat2(openat2);
    enum { FILES = 2000 };
    char *dir = tree("safe-race");
    char *d = xasprintf("%s/root/d", dir), *s = xasprintf("%s/root/s", dir);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(symlink("../outside", s), 0);
    for (int i = 0; i < FILES; i++) {
        char *in = xasprintf("%s/f%d", d, i), *out = xasprintf("%s/outside/f%d", dir, i);
        test_write_file(in, "inside");
        test_write_file(out, "outside");
        free(in);
        free(out);
    }
    char *root_path = xasprintf("%s/root", dir);
    const char *why;
    SafeRoot *root = safe_root_open(root_path, false, &why);
    Swapper swapper = {.a = d, .b = s};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, swap_loop, &swapper), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < FILES; i++) {
            char name[32];
            snprintf(name, sizeof name, "d/f%d", i);
            uint64_t bytes;
            safe_remove(root, name, false, &bytes, &why);
        }
    }
    atomic_store(&swapper.stop, true);
    pthread_join(thread, NULL);
    assert_true(swapper.swaps > 0);
    int lost = 0;
    for (int i = 0; i < FILES; i++) {
        char *out = xasprintf("%s/outside/f%d", dir, i);
        lost += !path_exists(out);
        free(out);
    }
    assert_int_equal(lost, 0);
    safe_root_close(root);
    free(root_path);
    free(d);
    free(s);
    free(dir);
    safe_path_use_openat2(true);
}

static void test_race_openat2(void **state)
{
    (void)state;
    check_race(true);
}

static void test_race_walk(void **state)
{
    (void)state;
    check_race(false);
}

/* Moves: a symlink inside the destination never leads the file out; a move interrupted
 * between link and unlink (both names, one file) is finished; another file at the
 * destination is never replaced. */
static void test_moves(void **state)
{
    (void)state;
    char *dir = tree("safe-move");
    char *p = xasprintf("%s/dest", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
    p = xasprintf("%s/dest/sub", dir);
    assert_int_equal(symlink("../outside", p), 0);
    free(p);
    p = xasprintf("%s/root/sub", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
    const char *names[] = {"sub/a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        p = xasprintf("%s/root/%s", dir, names[i]);
        test_write_file(p, names[i]);
        free(p);
    }
    char *src = xasprintf("%s/root/b", dir), *dst = xasprintf("%s/dest/b", dir);
    assert_int_equal(link(src, dst), 0); /* as if killed after link() */
    free(src);
    free(dst);
    p = xasprintf("%s/dest/c", dir);
    test_write_file(p, "other");
    free(p);
    char *root_path = xasprintf("%s/root", dir), *dest_path = xasprintf("%s/dest", dir);
    const char *why;
    SafeRoot *root = safe_root_open(root_path, false, &why);
    SafeRoot *dest = safe_root_open(dest_path, true, &why);
    uint64_t bytes;
    assert_int_equal(safe_move(root, "sub/a", dest, false, &bytes, &why), SAFE_REFUSED);
    p = xasprintf("%s/outside/a", dir);
    assert_false(path_exists(p));
    free(p);
    assert_int_equal(safe_move(root, "b", dest, false, &bytes, &why), SAFE_REMOVED);
    p = xasprintf("%s/root/b", dir);
    assert_false(path_exists(p));
    free(p);
    assert_int_equal(safe_move(root, "c", dest, false, &bytes, &why), SAFE_REFUSED);
    assert_string_equal(why, "destination already exists");
    safe_root_close(root);
    safe_root_close(dest);
    free(root_path);
    free(dest_path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relative_names), cmocka_unit_test(test_symlinks_openat2),
        cmocka_unit_test(test_symlinks_walk),  cmocka_unit_test(test_race_openat2),
        cmocka_unit_test(test_race_walk),      cmocka_unit_test(test_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
