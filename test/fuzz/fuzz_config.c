/* libFuzzer target: the config parser (inih with upkeep's reader and key table) on any bytes.
 * The input becomes a file, as the parser only reads files; every outcome but a crash, a
 * sanitizer report or a leak is fine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[] = "/tmp/upkeep-fuzz-config-XXXXXX";
    static int fd = -1;
    if (fd < 0 && (fd = mkstemp(path)) < 0)
        abort();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    Config *config = NULL;
    UkError err = {0};
    if (config_load(path, &config, &err) == 0)
        config_free(config);
    return 0;
}
