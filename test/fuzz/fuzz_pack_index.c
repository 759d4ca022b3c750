/* libFuzzer target: the pack index decoder, on any bytes (a damaged or hostile repository;
 * the same bytes a pack carries in its trailer). */
#include <stdint.h>

#include "repo/pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    PackIndex idx;
    UkError err = {0};
    if (pack_index_decode(data, size, &idx, &err) == 0)
        pack_index_clear(&idx);
    return 0;
}
