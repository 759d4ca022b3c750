/* Config: every kind of mistake gives its exact FILE:LINE: message; valid files parse into
 * the right values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "../test_util.h"
#include "core/config.h"

static char dir[512];

static void expect_error(const char *text, const char *expected_suffix)
{
    char path[600];
    snprintf(path, sizeof path, "%s/upkeep.conf", dir);
    test_write_file(path, text);
    Config *c = NULL;
    UkError err = {0};
    assert_int_equal(config_load(path, &c, &err), -1);
    assert_null(c);
    assert_int_equal(err.code, UK_E_CONFIG);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s%s", path, expected_suffix);
    assert_string_equal(err.msg, expected);
}

static const char *valid = "[upkeep]\n"
                           "state = state/state.db\n"
                           "timezone = Europe/Berlin\n"
                           "\n"
                           "[database app]\n"
                           "url = sqlite:///srv/app/app.db   ; the application's database\n"
                           "\n"
                           "[repository local]\n"
                           "url = file://backups\n"
                           "compression = zstd:5\n"
                           "keep_daily = 7\n"
                           "keep_within = 180d\n"
                           "keep_tag = pre-update\n"
                           "\n"
                           "[job nightly]\n"
                           "task = backup\n"
                           "database = app\n"
                           "repository = local\n"
                           "schedule = 0 3 * * *\n"
                           "verify = yes\n";

static void test_valid_config(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/valid.conf", dir);
    test_write_file(path, valid);
    Config *c = NULL;
    UkError err = {0};
    assert_int_equal(config_load(path, &c, &err), 0);
    char expected_state[700];
    snprintf(expected_state, sizeof expected_state, "%s/state/state.db", dir);
    assert_string_equal(c->state, expected_state);
    assert_string_equal(c->timezone, "Europe/Berlin");
    assert_int_equal(c->n_databases, 1);
    assert_string_equal(c->databases[0]->path, "/srv/app/app.db");
    assert_int_equal(c->repositories[0]->compression_level, 5);
    assert_int_equal(c->repositories[0]->retention.keep_daily, 7);
    assert_int_equal(c->repositories[0]->retention.keep_within, 180 * 86400);
    assert_string_equal(c->repositories[0]->retention.keep_tag, "pre-update");
    char expected_repo[700];
    snprintf(expected_repo, sizeof expected_repo, "%s/backups", dir);
    assert_string_equal(c->repositories[0]->path, expected_repo);
    ConfigJob *j = config_find_job(c, "nightly");
    assert_non_null(j);
    assert_true(j->verify);
    assert_ptr_equal(j->database, c->databases[0]);
    assert_ptr_equal(j->repository, c->repositories[0]);
    assert_string_equal(j->schedule, "0 3 * * *");
    config_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/defaults.conf", dir);
    test_write_file(path, "[repository r]\nurl = file:///tmp/x\n");
    Config *c = NULL;
    UkError err = {0};
    assert_int_equal(config_load(path, &c, &err), 0);
    assert_string_equal(c->state, "/var/lib/upkeep/state.db");
    assert_string_equal(c->repositories[0]->compression, "zstd:3");
    assert_int_equal(c->repositories[0]->compression_level, 3);
    config_free(c);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("[database app]\nurl = sqlite:///a.db\nfoo = 1\n",
                 ":3: unknown key 'foo' in [database]");
    expect_error("[repository r]\nurl = file:///r\nkeep_within = 10x\n",
                 ":3: keep_within: invalid duration '10x' (expected a number with s, m, h, d or "
                 "w, e.g. 180d)");
    expect_error("[repository r]\nurl = file:///r\nkeep_daily = many\n",
                 ":3: keep_daily: invalid number 'many' (expected a whole number >= 0)");
    expect_error("[repository r]\nurl = file:///r\ncompression = lz4\n",
                 ":3: compression: invalid compression 'lz4' (expected zstd:1 to zstd:19 or none)");
    expect_error("[database app]\nurl = sqlite:///a.db\n\n[database app]\nurl = sqlite:///b.db\n",
                 ":4: duplicate database 'app' (first defined at line 1)");
    expect_error("[database app]\nurl = sqlite:///a.db\nurl = sqlite:///b.db\n",
                 ":3: duplicate key 'url' (first set at line 2)");
    expect_error("[database app]\n\n[job j]\ntask = backup\n",
                 ":1: [database] is missing the required key 'url'");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job nightly]\ntask = backup\n"
                 "database = nope\nrepository = r\n",
                 ":3: job 'nightly': no [database nope] section");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job nightly]\ntask = backup\n"
                 "database = app\nrepository = r\n",
                 ":3: job 'nightly': no [repository r] section");
    expect_error(
        "[database app]\nurl = sqlite:///a.db\n[job nightly]\ntask = dance\n"
        "database = app\n",
        ":4: task: invalid value 'dance' (expected one of "
        "backup,purge,vacuum,integrity,update,archive,sql,clean,disk,rotate,verify,report,export)");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\ndatabase = app\n"
                 "table = forms; DROP TABLE users\nage_column = deleted_at\nolder_than = 180d\n",
                 ":6: table: invalid name 'forms; DROP TABLE users' (letters, digits and '_' "
                 "only, not starting with a digit; or quoted: \"Order Details\")");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\ndatabase = app\n"
                 "table = \"Order\" Details\"\nage_column = at\nolder_than = 1d\n",
                 ":6: table: invalid quoted name \"Order\" Details\" (\"…\" with \"\" for a "
                 "quote, no control characters, at most 128 bytes)");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\ndatabase = app\n"
                 "age_column = deleted_at\nolder_than = 180d\n",
                 ":3: job 'p': task purge needs 'table'");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job v]\ntask = vacuum\ndatabase = app\n"
                 "older_than = 180d\n",
                 ":6: key 'older_than' does not apply to task vacuum");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\ndatabase = app\n"
                 "table = forms\nage_column = deleted_at\nolder_than = 180d\n"
                 "files_column = path\n",
                 ":3: job 'p': files_column and files_root go together");
    expect_error("[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\ndatabase = app\n"
                 "table = forms\nage_column = deleted_at\nolder_than = 180d\npause = soon\n",
                 ":9: pause: invalid duration 'soon' (expected a number with ms, s or m, e.g. "
                 "25ms)");
    expect_error("[widget w]\n", ":1: unknown section [widget w] (expected [upkeep], [database "
                                 "NAME], [repository NAME], [job NAME] or [alert NAME])");
    expect_error("[alert a]\non = failure\n", ":1: alert 'a': give webhook, email, command or "
                                              "heartbeat");
    expect_error("[alert a]\nemail = ops@example.com\n",
                 ":1: alert 'a': email needs smtp = smtp://host:port");
    expect_error(
        "[alert a]\ncommand = /bin/true\non = failure, sometimes\n",
        ":1: on: unknown event 'sometimes' (failure, recovery, warning, critical, missed)");
    expect_error("[alert a]\ncommand = /bin/true\nquiet_hours = 22-7\n",
                 ":1: quiet_hours: expected HH:MM-HH:MM, got '22-7'");
    expect_error("[database bad;name]\nurl = sqlite:///a.db\n",
                 ":1: invalid database name 'bad;name' (letters, digits, '-', '_' and '.' only)");
    expect_error("[database app]\nurl = oracle://x\n",
                 ":1: database 'app': unsupported url 'oracle://x' (expected sqlite://PATH, "
                 "postgresql://HOST/DATABASE or mariadb://HOST/DATABASE)");
    expect_error("[database app]\nurl = mysql://x\n",
                 ":1: database 'app': no database named (expected "
                 "mariadb://USER@HOST:PORT/DATABASE or "
                 "mariadb://USER@localhost/DATABASE?socket=PATH)");
    expect_error("[job j]\n", ":1: [job] is missing the required key 'task'");
    expect_error("url = sqlite:///a.db\n", ":1: key 'url' outside of any section");
    expect_error("[database app]\nthis is not ini\n",
                 ":2: syntax error (expected 'key = value' or '[section]')");
    expect_error("[upkeep]\ntimezone = Mars/Olympus\n",
                 ":2: timezone: unknown time zone 'Mars/Olympus' (a name from the tz database, "
                 "e.g. Europe/Berlin)");
    expect_error("[job j]\ntask = integrity\ndatabase = x\nschedule = 0 0 30 2 *\n",
                 ":4: schedule: '0 0 30 2 *': never fires: none of the chosen months has the "
                 "chosen days");
    expect_error("[job j]\ntask = integrity\ndatabase = x\nschedule = 61 * * * *\n",
                 ":4: schedule: '61 * * * *': minute: 61 is out of range 0-59");
    expect_error("[job j]\ntask = integrity\ndatabase = x\nschedule = 0 3 * *\n",
                 ":4: schedule: '0 3 * *': expected 5 fields (minute hour day-of-month month "
                 "day-of-week) or 6 with seconds first, found 4");
    expect_error("[job j]\ntask = integrity\ndatabase = x\ntimezone = Europe/Nowhere\n",
                 ":4: timezone: unknown time zone 'Europe/Nowhere' (a name from the tz "
                 "database, e.g. Europe/Berlin)");
    expect_error("[job j]\ntask = backup\ndatabase = x\nverify = maybe\n",
                 ":4: verify: invalid boolean 'maybe' (expected yes or no)");
}

static void test_purge_job(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof path, "%s/purge.conf", dir);
    test_write_file(path, "[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\n"
                          "database = app\ntable = forms\nage_column = deleted_at\n"
                          "older_than = 180d\nfiles_column = attachment\nfiles_root = uploads\n"
                          "transaction_budget = 40ms\n");
    Config *c = NULL;
    UkError err = {0};
    assert_int_equal(config_load(path, &c, &err), 0);
    ConfigJob *j = c->jobs[0];
    assert_int_equal(j->kind, TASK_PURGE);
    assert_string_equal(j->table, "forms");
    assert_int_equal(j->older_than.seconds, 180 * 86400);
    assert_int_equal(j->older_than.months, 0);
    assert_int_equal(j->transaction_budget, 40);
    assert_int_equal(j->pause, 15);
    assert_string_equal(j->age_format, "auto");
    char root[700];
    snprintf(root, sizeof root, "%s/uploads", dir);
    assert_string_equal(j->files_root, root);
    config_free(c);
}

static void test_missing_file(void **state)
{
    (void)state;
    Config *c = NULL;
    UkError err = {0};
    assert_int_equal(config_load("/nonexistent/upkeep.conf", &c, &err), -1);
    assert_int_equal(err.code, UK_E_CONFIG);
    assert_string_equal(err.msg, "unable to open config file '/nonexistent/upkeep.conf': No such "
                                 "file or directory");
}

static const char *purge_older_than(const char *older_than)
{
    static char text[400];
    snprintf(text, sizeof text,
             "[database app]\nurl = sqlite:///a.db\n[job p]\ntask = purge\ndatabase = app\n"
             "table = forms\nage_column = deleted_at\nolder_than = %s\n",
             older_than);
    return text;
}

static ConfigJob *load_purge(Config **c, const char *older_than)
{
    char path[600];
    snprintf(path, sizeof path, "%s/age.conf", dir);
    test_write_file(path, purge_older_than(older_than));
    UkError err = {0};
    assert_int_equal(config_load(path, c, &err), 0);
    return (*c)->jobs[0];
}

static time_t utc(int year, int month, int day)
{
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = 12};
    return timegm(&tm);
}

/* "6mo" and "1y" are calendar months, counted back from the day; a day the shorter month
 * lacks is its last. */
static void test_calendar_ages(void **state)
{
    (void)state;
    Config *c = NULL;
    ConfigJob *j = load_purge(&c, "6mo");
    assert_int_equal(j->older_than.months, 6);
    assert_int_equal(j->older_than.seconds, 0);
    assert_true(age_cutoff(&j->older_than, utc(2026, 8, 31)) == utc(2026, 2, 28));
    assert_true(age_cutoff(&j->older_than, utc(2026, 3, 15)) == utc(2025, 9, 15));
    config_free(c);
    j = load_purge(&c, "1y");
    assert_int_equal(j->older_than.months, 12);
    assert_true(age_cutoff(&j->older_than, utc(2028, 2, 29)) == utc(2027, 2, 28));
    config_free(c);
    j = load_purge(&c, "90d");
    assert_true(age_cutoff(&j->older_than, utc(2026, 4, 1)) == utc(2026, 4, 1) - 90 * 86400);
    config_free(c);
    expect_error(purge_older_than("1.5mo"),
                 ":8: older_than: invalid age '1.5mo' (expected 1mo to 1200mo, or 1y to 100y)");
    expect_error(purge_older_than("0mo"),
                 ":8: older_than: invalid age '0mo' (expected 1mo to 1200mo, or 1y to 100y)");
    expect_error(purge_older_than("101y"),
                 ":8: older_than: invalid age '101y' (expected 1mo to 1200mo, or 1y to 100y)");
    expect_error(purge_older_than("6months"),
                 ":8: older_than: invalid duration '6months' "
                 "(expected a number with s, m, h, d or w, e.g. 180d)");
}

/* ${NAME} and ${NAME:-default} take the environment's value; an unset variable without a
 * default is an error naming it and the line; check lists what was used. */
static void test_environment_in_values(void **state)
{
    (void)state;
    unsetenv("UPKEEP_TEST_DAYS");
    Config *c = NULL;
    ConfigJob *j = load_purge(&c, "${UPKEEP_TEST_DAYS:-90}d");
    assert_int_equal(j->older_than.seconds, 90 * 86400);
    assert_int_equal(c->n_expansions, 1);
    assert_int_equal(c->expansions[0].line, 8);
    assert_string_equal(c->expansions[0].key, "older_than");
    assert_string_equal(c->expansions[0].written, "${UPKEEP_TEST_DAYS:-90}d");
    assert_string_equal(c->expansions[0].used, "90d");
    config_free(c);
    setenv("UPKEEP_TEST_DAYS", "30", 1);
    j = load_purge(&c, "${UPKEEP_TEST_DAYS:-90}d");
    assert_int_equal(j->older_than.seconds, 30 * 86400);
    config_free(c);
    j = load_purge(&c, "${UPKEEP_TEST_DAYS}d");
    assert_int_equal(j->older_than.seconds, 30 * 86400);
    config_free(c);
    unsetenv("UPKEEP_TEST_DAYS");
    expect_error(purge_older_than("${UPKEEP_TEST_DAYS}d"),
                 ":8: older_than: environment variable UPKEEP_TEST_DAYS is not set (give a "
                 "default: ${UPKEEP_TEST_DAYS:-VALUE})");
    expect_error(purge_older_than("${UPKEEP_TEST_DAYS"),
                 ":8: older_than: '${' without its closing '}'");
    expect_error(purge_older_than("${1X}d"),
                 ":8: older_than: invalid variable '${1X}' (expected ${NAME} or ${NAME:-default})");
    /* The value it expands to is checked like any other, and a secret stays hidden. */
    setenv("UPKEEP_TEST_DAYS", "soon", 1);
    expect_error(purge_older_than("${UPKEEP_TEST_DAYS}"),
                 ":8: older_than: invalid duration 'soon' (expected a number with s, m, h, d "
                 "or w, e.g. 180d)");
    unsetenv("UPKEEP_TEST_DAYS");
    char path[600];
    snprintf(path, sizeof path, "%s/secret.conf", dir);
    setenv("UPKEEP_TEST_SECRET", "hunter2", 1);
    test_write_file(path, "[alert a]\nwebhook = https://hooks.example/${UPKEEP_TEST_SECRET}\n");
    UkError err = {0};
    assert_int_equal(config_load(path, &c, &err), 0);
    assert_string_equal(c->alerts[0]->webhook, "https://hooks.example/hunter2");
    assert_int_equal(c->n_expansions, 1);
    assert_null(strstr(c->expansions[0].used, "hunter2"));
    config_free(c);
    unsetenv("UPKEEP_TEST_SECRET");
    /* $${ is a literal ${, and a lone $ is kept. */
    snprintf(path, sizeof path, "%s/literal.conf", dir);
    test_write_file(path, "[job s]\ntask = sql\ndatabase = app\nsql = SELECT '$${X}', '$1'\n"
                          "[database app]\nurl = sqlite:///a.db\n");
    assert_int_equal(config_load(path, &c, &err), 0);
    assert_string_equal(c->jobs[0]->sql, "SELECT '${X}', '$1'");
    config_free(c);
}

static void test_require_env(void **state)
{
    (void)state;
    setenv("UPKEEP_TEST_ENV", "production", 1);
    assert_true(config_env_requirement_holds(NULL));
    assert_true(config_env_requirement_holds("UPKEEP_TEST_ENV=production"));
    assert_false(config_env_requirement_holds("UPKEEP_TEST_ENV=development"));
    assert_false(config_env_requirement_holds("UPKEEP_TEST_UNSET=production"));
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", test_scratch_dir("config"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_config),  cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_require_env),   cmocka_unit_test(test_purge_job),
        cmocka_unit_test(test_calendar_ages), cmocka_unit_test(test_environment_in_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
