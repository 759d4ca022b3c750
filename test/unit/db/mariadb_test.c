/* MariaDB's pieces that need no server: the url's parts (percent-decoded, socket, port
 * range, unknown options refused) and the dump's row counts and binary log position, which
 * must come out the same however the stream is cut into pieces and whatever the strings
 * hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "db/mariadb/my_conn.h"
#include "db/mariadb/my_dump_rows.h"

static void test_url_parts(void **state)
{
    (void)state;
    MyTarget t;
    UkError err = {0};
    assert_int_equal(my_parse_url("mariadb://app%40x:p%3Aw@db.example:3307/shop%20db", &t, &err),
                     0);
    assert_string_equal(t.user, "app@x");
    assert_string_equal(t.password, "p:w");
    assert_true(t.has_password);
    assert_string_equal(t.host, "db.example");
    assert_int_equal(t.port, 3307);
    assert_string_equal(t.database, "shop db");
    assert_int_equal(my_parse_url("mysql://u@localhost/app?socket=/run/my%20sql.sock", &t, &err),
                     0);
    assert_string_equal(t.socket, "/run/my sql.sock");
    assert_int_equal(t.port, 0);
    assert_false(t.has_password);
    assert_int_equal(my_parse_url("mariadb://u@[::1]:3306/app", &t, &err), 0);
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 3306);
}

static void test_url_errors(void **state)
{
    (void)state;
    MyTarget t;
    const char *bad[] = {
        "mariadb://u@h:0/app", "mariadb://u@h:70000/app", "mariadb://u@h:x/app",
        "mariadb://u@h",       "mariadb://u@h/",          "mariadb://u@h/a?sslmode=on",
        "mariadb://u@h/a%zz",  "mariadb://u@h/a%4",       "mariadb://u@[::1/app"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        UkError err = {0};
        assert_int_equal(my_parse_url(bad[i], &t, &err), -1);
        assert_int_equal(err.code, UK_E_CONFIG);
    }
}

static const char dump[] =
    "-- MariaDB dump\n"
    "/*!40101 SET NAMES utf8mb4 */;\n"
    "-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n"
    "--\n"
    "-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=1089;\n"
    "CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `v` text\n);\n"
    "INSERT INTO `a` VALUES\n(1,'x),(y'),\n(2,'it\\'s; (\\\\'),\n(3,NULL);\n"
    "CREATE TABLE `odd `` name` (\n  `id` int\n);\n"
    "INSERT INTO `odd `` name` VALUES (1),(2);\n"
    "CREATE TABLE `empty` (\n  `id` int\n);\n"
    "INSERT INTO `a` VALUES (4,'more');\n"
    "-- SET GLOBAL gtid_slave_pos='0-1-5';\n";

static void check_counts(const MyDumpRows *r)
{
    assert_int_equal(r->n, 3);
    assert_string_equal(r->tables[0].name, "a");
    assert_int_equal(r->tables[0].rows, 4);
    assert_string_equal(r->tables[1].name, "odd ` name");
    assert_int_equal(r->tables[1].rows, 2);
    assert_string_equal(r->tables[2].name, "empty");
    assert_int_equal(r->tables[2].rows, 0);
    assert_string_equal(r->position, "'binlog.000001', MASTER_LOG_POS=1089;");
    assert_string_equal(r->gtid, "'0-1-5';");
}

static void test_dump_rows_whole_and_in_pieces(void **state)
{
    (void)state;
    MyDumpRows r;
    my_dump_rows_init(&r);
    my_dump_rows_feed(&r, (const unsigned char *)dump, strlen(dump));
    check_counts(&r);
    my_dump_rows_free(&r);
    /* Every split point, and byte by byte: the scanner keeps its state across pieces. */
    for (size_t cut = 0; cut <= strlen(dump); cut++) {
        my_dump_rows_init(&r);
        my_dump_rows_feed(&r, (const unsigned char *)dump, cut);
        my_dump_rows_feed(&r, (const unsigned char *)dump + cut, strlen(dump) - cut);
        check_counts(&r);
        my_dump_rows_free(&r);
    }
    my_dump_rows_init(&r);
    for (size_t i = 0; i < strlen(dump); i++)
        my_dump_rows_feed(&r, (const unsigned char *)dump + i, 1);
    check_counts(&r);
    my_dump_rows_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parts),
        cmocka_unit_test(test_url_errors),
        cmocka_unit_test(test_dump_rows_whole_and_in_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
