/* Run summaries as one line: each says what the job did, and nothing it did not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/summary.h"

static void expect_line(const char *summary_json, const char *expected)
{
    char line[512];
    run_summary_line(summary_json, line, sizeof line);
    assert_string_equal(line, expected);
}

static void test_vacuum_names_analyze_and_reindex(void **state)
{
    (void)state;
    expect_line("{\"mode\": \"full\", \"skipped\": \"\", \"size_before\": 2097152, "
                "\"size_after\": 1048576, \"bytes_reclaimed\": 1048576, \"percent_reclaimed\": "
                "50.0, \"longest_transaction_ms\": 12.5, \"analyzed\": true, \"reindexed\": true, "
                "\"optimized\": false, \"checkpointed\": false, \"dry_run\": false}",
                "VACUUM (full): 2.0 MiB -> 1.0 MiB, reclaimed 1.0 MiB (50.0%), longest "
                "transaction 12.5 ms; then ANALYZE, REINDEX");
    expect_line("{\"mode\": \"skipped\", \"skipped\": \"free pages are 1.0% of the file, below "
                "min_free_percent = 5\", \"size_before\": 100, \"analyzed\": true, "
                "\"dry_run\": false}",
                "VACUUM skipped: free pages are 1.0% of the file, below min_free_percent = 5; "
                "then ANALYZE");
    expect_line("{\"mode\": \"incremental\", \"skipped\": \"\", \"size_before\": 1048576, "
                "\"freelist_before\": 3, \"optimized\": true, \"dry_run\": true}",
                "would run VACUUM (incremental) on 1.0 MiB with 3 free pages; would then run "
                "optimize");
}

static void test_integrity_shows_only_checks_that_ran(void **state)
{
    (void)state;
    expect_line("{\"quick_check\": \"\", \"integrity_check\": \"ok\", \"foreign_key_check\": "
                "\"ok\", \"integrity_ok\": true}",
                "integrity_check: ok, foreign_key_check: ok");
    expect_line("{\"quick_check\": \"ok\", \"integrity_check\": \"\", \"foreign_key_check\": "
                "\"\", \"integrity_ok\": true}",
                "quick_check: ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vacuum_names_analyze_and_reindex),
        cmocka_unit_test(test_integrity_shows_only_checks_that_ran),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
