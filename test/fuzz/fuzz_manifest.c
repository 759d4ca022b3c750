/* libFuzzer target: the backup manifest decoder, on any bytes (a damaged or hostile
 * repository). */
#include <stdint.h>

#include "repo/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Manifest m;
    UkError err = {0};
    if (manifest_decode(data, size, true, &m, &err) == 0)
        manifest_clear(&m);
    if (manifest_decode_header(data, size, &m, &err) == 0)
        manifest_clear(&m);
    return 0;
}
