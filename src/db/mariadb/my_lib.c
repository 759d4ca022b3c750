#include "db/mariadb/my_lib.h"

#include <stdbool.h>

#include "common/dynlib.h"

#define MY_SONAME "libmariadb.so.3"

MyLib my_fn;
static bool loaded;

static const DynSymbol symbols[] = {
    {(void **)&my_fn.init, "mysql_init"},
    {(void **)&my_fn.optionsv, "mysql_optionsv"},
    {(void **)&my_fn.real_connect, "mysql_real_connect"},
    {(void **)&my_fn.error, "mysql_error"},
    {(void **)&my_fn.errno_, "mysql_errno"},
    {(void **)&my_fn.close, "mysql_close"},
    {(void **)&my_fn.query, "mysql_query"},
    {(void **)&my_fn.store_result, "mysql_store_result"},
    {(void **)&my_fn.free_result, "mysql_free_result"},
    {(void **)&my_fn.next_result, "mysql_next_result"},
    {(void **)&my_fn.fetch_row, "mysql_fetch_row"},
    {(void **)&my_fn.num_rows, "mysql_num_rows"},
    {(void **)&my_fn.real_escape_string, "mysql_real_escape_string"},
    {(void **)&my_fn.use_result, "mysql_use_result"},
    {(void **)&my_fn.fetch_lengths, "mysql_fetch_lengths"},
    {(void **)&my_fn.fetch_fields, "mysql_fetch_fields"},
    {(void **)&my_fn.num_fields, "mysql_num_fields"},
    {(void **)&my_fn.field_count, "mysql_field_count"},
    {(void **)&my_fn.affected_rows, "mysql_affected_rows"},
    {(void **)&my_fn.data_seek, "mysql_data_seek"},
};

int my_lib_load(UkError *err)
{
    if (loaded)
        return 0;
    if (dynlib_load(MY_SONAME, symbols, sizeof symbols / sizeof symbols[0],
                    "MariaDB databases need libmariadb", err) != 0)
        return -1;
    loaded = true;
    return 0;
}
