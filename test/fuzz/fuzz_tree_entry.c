/* libFuzzer target: tree entries (a backup's file list, JSON Lines). An entry that decodes
 * must name a path a restore can take (no "..", no absolute path) and encode back to a line
 * that decodes to the same entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tree/tree_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TreeEntry e;
    UkError err = {0};
    if (tree_entry_decode((const char *)data, size, &e, &err) != 0)
        return 0;
    if (!tree_path_valid(e.path) || (e.type == TREE_HARDLINK && !tree_path_valid(e.target)))
        abort();
    char *line = tree_entry_encode(&e, false);
    TreeEntry back;
    if (tree_entry_decode(line, strlen(line) - 1, &back, &err) != 0 ||
        strcmp(back.path, e.path) != 0 || back.type != e.type || back.size != e.size)
        abort();
    tree_entry_clear(&back);
    free(line);
    tree_entry_clear(&e);
    return 0;
}
