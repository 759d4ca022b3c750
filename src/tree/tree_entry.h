/* One entry of a backed-up file tree: a file, folder, symlink, hard link or FIFO, with the
 * metadata a restore gives back. A backup's tree part (repo/manifest.h) is these entries as
 * JSON Lines, in tree order (tree_path_cmp), so that two backups' trees compare in one pass
 * (upkeep diff) and an unchanged stretch of the tree is the same chunks as the day before.
 * Field by field: docs/repository-format.md. */
#ifndef UK_TREE_ENTRY_H
#define UK_TREE_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { TREE_FILE, TREE_DIR, TREE_SYMLINK, TREE_HARDLINK, TREE_FIFO } TreeType;

typedef struct TreeEntry {
    char *path; /* the absolute path without its leading '/': "srv/app/uploads/a.jpg"; owned */
    TreeType type;
    uint32_t mode; /* permission bits, 07777 */
    uint32_t uid, gid;
    int64_t mtime_sec;
    long mtime_nsec;
    uint64_t size;             /* files: bytes */
    uint64_t chunks;           /* files: how many chunks of the data part hold it */
    unsigned char content[32]; /* files: SHA-256 over those chunks' ids */
    char *target; /* symlinks: what they point to; hard links: the path of the first name */
    bool changed; /* kept although it kept changing while it was read */
    /* Files: what says the file is unchanged since a backup (then it is not read again):
     * inode number and change time, besides size and mtime. */
    uint64_t ino;
    int64_t ctime_sec;
    long ctime_nsec;
    /* Only while a backup spools its entries: the file's first chunk in the data part. */
    uint64_t first;
} TreeEntry;

/* One JSON line, '\n' included; spool adds "first" in place of "content". Caller frees. */
char *tree_entry_encode(const TreeEntry *e, bool spool);
/* Parses one line (without its '\n'); an entry whose path could leave a restore's folder
 * ("..", "." or empty components, a leading '/') is refused as corrupt. */
int tree_entry_decode(const char *line, size_t len, TreeEntry *e, UkError *err);
void tree_entry_clear(TreeEntry *e);

/* Is PATH relative, with no empty, "." or ".." component? */
bool tree_path_valid(const char *path);
/* Tree order: component by component, each compared bytewise, a folder before what it holds
 * ("a" < "a/b" < "a.txt"). */
int tree_path_cmp(const char *a, const char *b);
/* Is PATH the folder FOLDER or below it ("" holds everything)? */
bool tree_path_within(const char *path, const char *folder);
const char *tree_type_name(TreeType t);

#endif
