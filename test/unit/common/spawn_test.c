/* child_run: a command to its end within a time limit, its failure with what it said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/spawn.h"
#include "common/util.h"

static int run_sh(const char *script, double timeout, UkError *err)
{
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    return child_run(argv, NULL, timeout, "the script", err);
}

static void test_success_and_failure(void **state)
{
    (void)state;
    UkError err = {0};
    assert_int_equal(run_sh("exit 0", 5, &err), 0);
    assert_int_equal(run_sh("echo oops >&2; exit 3", 5, &err), -1);
    assert_string_equal(err.msg, "the script failed (exit status 3): oops");
}

/* A program that is not there: the reason once. */
static void test_missing_program(void **state)
{
    (void)state;
    UkError err = {0};
    const char *argv[] = {"/nonexistent/program", NULL};
    assert_int_equal(child_run(argv, NULL, 5, "it", &err), -1);
    assert_string_equal(err.msg, "unable to run /nonexistent/program: No such file or directory");
}

static void test_time_limit(void **state)
{
    (void)state;
    UkError err = {0};
    double started = monotonic_seconds();
    assert_int_equal(run_sh("sleep 10", 0.3, &err), -1);
    assert_string_equal(err.msg, "the script did not finish within 0.3 s");
    assert_true(monotonic_seconds() - started < 5);
}

/* Something it leaves running in the background keeps its stderr open: its own exit ends it. */
static void test_background_child(void **state)
{
    (void)state;
    UkError err = {0};
    double started = monotonic_seconds();
    assert_int_equal(run_sh("sleep 10 & exit 0", 5, &err), 0);
    assert_true(monotonic_seconds() - started < 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_and_failure),
        cmocka_unit_test(test_missing_program),
        cmocka_unit_test(test_time_limit),
        cmocka_unit_test(test_background_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
