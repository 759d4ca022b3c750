/* Which files a row task may remove: a file goes only when no row that stays names it.
 *
 * Two rows may name one file, and the same file may be spelled several ways ("a/x.pdf",
 * "./a//x.pdf", an absolute path through the root or an alias of it). Names are compared in
 * the form safe_relative() gives them. A staying row whose name cannot be put in that form
 * (it holds "..", say) keeps every file with the same last component: when in doubt, keep. */
#ifndef UK_FILE_REFS_H
#define UK_FILE_REFS_H

#include <stddef.h>
#include <stdint.h>

#include "common/safe_path.h"
#include "core/error.h"
#include "db/row_store.h"

typedef struct FileRefs FileRefs;

typedef enum {
    REFS_GO,      /* no other row names it: the file may be removed */
    REFS_PENDING, /* another going row still names it: the last of them removes it */
    REFS_SHARED,  /* a staying row names it: keep the file ("still referenced") */
} RefsVerdict;

/* Takes the names of the going rows (those with keys GOING, sorted, and any whose rows are
 * gone already, from a journal), then scans the store's files column once for rows that stay
 * and name the same files. The root is borrowed and must outlive refs. */
FileRefs *file_refs_build(RowStore *store, const SafeRoot *root, const int64_t *going,
                          size_t n_going, char *const *names, size_t n_names, UkError *err);
void file_refs_free(FileRefs *refs);

/* A going row that named NAME is gone: what to do with the file. */
RefsVerdict file_refs_release(FileRefs *refs, const char *name);

#endif
