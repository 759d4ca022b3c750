/* Reads a backup's file tree back: its entries in order, and each file's bytes from the data
 * part, checked as they come (every chunk against its id, a file's chunk ids against its
 * content hash, its length against its size, the tree's order, and both parts' lists
 * against their hashes at the end). Restore, ls, diff, verify and copy read through it. */
#ifndef UK_TREE_READER_H
#define UK_TREE_READER_H

#include "repo/repo.h"
#include "tree/tree_entry.h"

typedef struct TreeReader TreeReader;

/* M as repo_read_manifest(…, with_hashes = true) gives it, with files; the index loaded. */
TreeReader *tree_reader_new(Repo *repo, const Manifest *m);
/* 1 and the next entry (the reader's, valid until the next call), 0 after the last one (both
 * parts then checked whole), -1 on error. The bytes of a file not read are skipped. */
int tree_reader_next(TreeReader *t, const TreeEntry **e, UkError *err);
/* The current file's next chunk: 1 (lent until the next call), 0 at its end (its length and
 * content hash then checked), -1 on error. */
int tree_reader_data(TreeReader *t, const unsigned char **data, size_t *len, UkError *err);
/* The current file's chunk ids instead of its bytes (a backup reusing them for a file that
 * has not changed): *n ids into *ids (the reader's, valid until the next call), checked
 * against the file's content hash. Before any tree_reader_data for the file. */
int tree_reader_file_ids(TreeReader *t, const unsigned char **ids, uint64_t *n, UkError *err);
void tree_reader_free(TreeReader *t);

#endif
