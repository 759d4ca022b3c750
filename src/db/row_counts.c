#include "db/row_counts.h"

#include <stdio.h>

long row_counts_compare(const char *details, json_t *actual, char *result, size_t len)
{
    json_t *doc = json_loads(details ? details : "{}", 0, NULL);
    json_t *recorded = json_object_get(doc, "tables");
    const char *name;
    json_t *value;
    long tables = 0;
    json_object_foreach (recorded, name, value) {
        json_t *got = json_object_get(actual, name);
        if (!got || json_integer_value(got) != json_integer_value(value)) {
            snprintf(result, len, "table %s has %lld rows, the backup recorded %lld", name,
                     got ? (long long)json_integer_value(got) : -1LL,
                     (long long)json_integer_value(value));
            json_decref(doc);
            return -1;
        }
        tables++;
    }
    json_decref(doc);
    return tables;
}
