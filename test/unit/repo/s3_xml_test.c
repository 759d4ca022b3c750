#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "repo/storage/s3/s3_xml.h"

/* A ListObjectsV2 answer as S3 writes it: namespace, entities, common prefixes. */
static const char listing[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>app/packs/</Prefix><KeyCount>3</KeyCount>"
    "<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxL+/aA==</NextContinuationToken>"
    "<Contents><Key>app/packs/a &amp; b</Key><Size>12</Size></Contents>"
    "<Contents><Key>app/packs/c</Key><Size>1</Size></Contents>"
    "<CommonPrefixes><Prefix>app/packs/ab/</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

typedef struct Seen {
    char text[512];
} Seen;

static void collect(void *ctx, const char *path, const char *text)
{
    Seen *s = ctx;
    size_t used = strlen(s->text);
    snprintf(s->text + used, sizeof s->text - used, "%s=%s;", path, text);
}

static void test_listing(void **state)
{
    (void)state;
    Seen seen = {{0}};
    assert_int_equal(s3_xml_walk(listing, strlen(listing), collect, &seen), 0);
    assert_non_null(strstr(seen.text, "ListBucketResult/Contents/Key=app/packs/a & b;"));
    assert_non_null(strstr(seen.text, "ListBucketResult/Contents/Key=app/packs/c;"));
    assert_non_null(strstr(seen.text, "ListBucketResult/CommonPrefixes/Prefix=app/packs/ab/;"));
    char *token = s3_xml_first(listing, strlen(listing), "ListBucketResult/NextContinuationToken");
    assert_string_equal(token, "1ueGcxL+/aA==");
    free(token);
    assert_null(s3_xml_first(listing, strlen(listing), "ListBucketResult/Missing"));
}

static void test_error_and_garbage(void **state)
{
    (void)state;
    static const char error[] = "<Error><Code>SlowDown</Code><Message>Reduce your request "
                                "rate.</Message><RequestId>1</RequestId></Error>";
    char *code = s3_xml_first(error, strlen(error), "Error/Code");
    assert_string_equal(code, "SlowDown");
    free(code);
    Seen seen = {{0}};
    assert_int_equal(s3_xml_walk("<a><b>x</a>", 11, collect, &seen), -1);
    assert_null(s3_xml_first("not xml", 7, "Error/Code"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_error_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
