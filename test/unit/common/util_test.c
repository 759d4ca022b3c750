#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "common/util.h"

static void test_durations(void **state)
{
    (void)state;
    struct {
        const char *text;
        int64_t seconds;
    } ok[] = {{"90s", 90},     {"15m", 900}, {"6h", 21600},   {"180d", 15552000},
              {"4w", 2419200}, {"45", 45},   {" 2d ", 172800}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        UkError err = {0};
        assert_int_equal(parse_duration(ok[i].text, &v, &err), 0);
        assert_int_equal(v, ok[i].seconds);
    }
    const char *bad[] = {"", "d", "10x", "-5d", "1.5h", "10 days", "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        UkError err = {0};
        assert_int_equal(parse_duration(bad[i], &v, &err), -1);
        assert_int_equal(err.code, UK_E_CONFIG);
    }
}

static void test_ranges(void **state)
{
    (void)state;
    int64_t v;
    UkError err = {0};
    assert_int_equal(parse_duration("36500d", &v, &err), 0);
    assert_int_equal(parse_duration("36501d", &v, &err), -1);
    assert_string_equal(err.msg, "duration '36501d' is out of range (at most 100 years, 36500d)");
    assert_int_equal(parse_duration("9223372036854775807s", &v, &err), -1);
    assert_int_equal(parse_duration("99999999999999999999999s", &v, &err), -1);
    assert_string_equal(err.msg,
                        "duration '99999999999999999999999s' is out of range (at most 100 years, "
                        "36500d)");
    uint64_t bytes;
    assert_int_equal(parse_size("1048576TiB", &bytes, &err), 0);
    assert_int_equal(parse_size("1048577TiB", &bytes, &err), -1);
    assert_string_equal(err.msg, "size '1048577TiB' is out of range (at most 1 EiB)");
    int ms;
    assert_int_equal(parse_millis("25ms", &ms, &err), 0);
    assert_int_equal(parse_millis("100000m", &ms, &err), -1);
}

static void test_redact_url(void **state)
{
    (void)state;
    const struct {
        const char *url;
        bool keep_path;
        const char *shown;
    } cases[] = {
        {"postgresql://app:s3cret@db.example:5432/app", true,
         "postgresql://app:***@db.example:5432/app"},
        {"postgresql://app:p@ss@word@db/app?sslmode=require", true,
         "postgresql://app:***@db/app?sslmode=require"},
        {"mariadb://app@localhost/app", true, "mariadb://app@localhost/app"},
        {"sqlite:///srv/app.db", true, "sqlite:///srv/app.db"},
        {"https://hooks.slack.com/services/T0/B0/XYZ", false, "https://hooks.slack.com/…"},
        {"smtp://user:pw@mail:587", true, "smtp://user:***@mail:587"},
        {"user:pw@host", true, "<redacted>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *shown = redact_url(cases[i].url, cases[i].keep_path);
        assert_string_equal(shown, cases[i].shown);
        free(shown);
    }
}

static void test_sizes(void **state)
{
    (void)state;
    struct {
        const char *text;
        uint64_t bytes;
    } ok[] = {{"512", 512},           {"64KB", 64000},         {"10MiB", 10485760},
              {"5GB", 5000000000ULL}, {"1gib", 1073741824ULL}, {"7B", 7}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 0;
        UkError err = {0};
        assert_int_equal(parse_size(ok[i].text, &v, &err), 0);
        assert_int_equal(v, ok[i].bytes);
    }
    uint64_t v;
    UkError err = {0};
    assert_int_equal(parse_size("5 apples", &v, &err), -1);
    assert_string_equal(err.msg, "invalid size '5 apples' (expected a number with B, KB, MB, GB, "
                                 "KiB, MiB or GiB)");
}

static void test_hex_and_time(void **state)
{
    (void)state;
    unsigned char in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];
    hex_encode(in, 3, hex);
    assert_string_equal(hex, "00abff");
    assert_int_equal(hex_decode(hex, out, 3), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(hex_decode("00abf", out, 3), -1);
    assert_int_equal(hex_decode("00abfg", out, 3), -1);
    time_t t;
    assert_int_equal(parse_time_rfc3339("2026-03-29T01:30:00Z", &t), 0);
    assert_int_equal(t, 1774747800);
    assert_int_equal(parse_time_rfc3339("2026-03-29T03:30:00+02:00", &t), 0);
    assert_int_equal(t, 1774747800);
    char buf[32];
    assert_string_equal(format_time_utc(1774747800, buf, sizeof buf), "2026-03-29T01:30:00Z");
    assert_int_equal(parse_time_rfc3339("yesterday", &t), -1);
}

/* Config lists split on commas, trimmed; command lines on blanks, as a NULL-ended argv. */
static void test_lists_and_words(void **state)
{
    (void)state;
    size_t n = 0;
    char **items = split_list(" a, b ,,c ", &n);
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "c");
    free_list(items, n);
    char **words = split_words("  /usr/bin/systemctl kill\t-s HUP  ", &n);
    assert_int_equal(n, 4);
    assert_string_equal(words[0], "/usr/bin/systemctl");
    assert_string_equal(words[3], "HUP");
    assert_null(words[4]);
    free_list(words, n);
    char *list = NULL;
    list_appendf(&list, "%s", "id");
    list_appendf(&list, "%s = excluded.%s", "v", "v");
    assert_string_equal(list, "id, v = excluded.v");
    free(list);
    words = split_words("   ", &n);
    assert_int_equal(n, 0);
    assert_null(words[0]);
    free_list(words, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),    cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_redact_url),   cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_hex_and_time), cmocka_unit_test(test_lists_and_words)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
