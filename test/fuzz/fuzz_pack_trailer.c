/* libFuzzer target: rebuilding a pack's index from its trailer (what prune and restore do
 * when an index is missing or damaged), on any bytes stored as a pack: the trailer's lengths,
 * frame and chunk records, and the frames it sends to the decompressor. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"
#include "repo/pack.h"
#include "repo/storage.h"

static Storage *storage;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    UkError err = {0};
    if (!storage) {
        static char dir[] = "/tmp/upkeep-fuzz-trailer-XXXXXX";
        static ConfigRepository cfg = {.name = "fuzz"};
        if (!mkdtemp(dir))
            abort();
        cfg.url = xasprintf("file://%s", dir);
        if (storage_configure(&cfg, "/", &err) != 0 || !(storage = storage_open(&cfg, &err))) {
            fprintf(stderr, "fuzz_pack_trailer: %s\n", err.msg);
            abort();
        }
    }
    static const char name[] = "00112233445566778899aabbccddeeff";
    if (storage_put(storage, "packs/00/00112233445566778899aabbccddeeff", data, size, false,
                    &err) != 0) {
        fprintf(stderr, "fuzz_pack_trailer: %s\n", err.msg);
        abort();
    }
    PackIndex idx;
    unsigned char *encoded = NULL;
    size_t len = 0;
    if (pack_read_trailer(storage, NULL, name, &idx, &encoded, &len, &err) == 0) {
        pack_index_clear(&idx);
        free(encoded);
    }
    return 0;
}
