/* Writes a file tree into a backup (repo/backup_writer.h): file contents into the data part
 * as they come, each file starting a chunk of its own; entries into a spool (a temporary
 * file), and at the end, once every data chunk has its id, the entries with their content
 * hashes into the tree part. Memory stays the same whatever the tree's size.
 *
 * Entries must come in tree order (tree_path_cmp). The backup walk (tree_walk.h) and copy
 * (which rewrites a tree for the target repository's own chunks) both write through it. */
#ifndef UK_TREE_WRITER_H
#define UK_TREE_WRITER_H

#include "repo/backup_writer.h"
#include "tree/tree_entry.h"

typedef struct TreeWriter TreeWriter;

/* Data chunks: 64 KiB on average (16 KiB to 512 KiB): most uploads are one chunk, and an
 * appended or edited large file costs the chunks around the change. */
#define TREE_DATA_CHUNK (64 * 1024)
/* Tree chunks: 4 KiB, about 25 entries, so that one changed file re-stores little. */
#define TREE_LIST_CHUNK 4096

/* Starts the data part of W. NULL with err set on failure. */
TreeWriter *tree_writer_new(BackupWriter *w, UkError *err);
/* A folder, symlink, hard link or FIFO. */
int tree_writer_add(TreeWriter *t, const TreeEntry *e, UkError *err);
/* A file: file_begin, its bytes through file_data (file_restart forgets them, to read a
 * changed file again), then file_end with the entry (size, metadata) to record. */
int tree_writer_file_begin(TreeWriter *t, UkError *err);
int tree_writer_file_data(TreeWriter *t, const void *data, size_t len, UkError *err);
int tree_writer_file_restart(TreeWriter *t, UkError *err);
int tree_writer_file_end(TreeWriter *t, TreeEntry *e, UkError *err);
/* A file unchanged since an earlier backup, by the N chunk ids that hold its E->size bytes
 * there: 1 when recorded so, 0 when they cannot be reused (then read the file). */
int tree_writer_file_known(TreeWriter *t, TreeEntry *e, const unsigned char *ids, uint64_t n,
                           UkError *err);
/* Writes the tree part and fills M's file counts (entries, bytes). */
int tree_writer_finish(TreeWriter *t, Manifest *m, UkError *err);
void tree_writer_free(TreeWriter *t);

#endif
