/* The files side of a backup: walks the configured paths (a backup job's `paths`, less its
 * `exclude` patterns) in tree order and writes every file, folder, symlink, hard link and
 * FIFO through a TreeWriter. A file that changes while it is read (its size, mtime or ctime
 * differ after the read, or it did not hold the bytes its size said) is read again, up to
 * three times; after that it is kept as last read, marked "changed" in the tree and counted,
 * so that nobody restores it believing it whole. */
#ifndef UK_TREE_WALK_H
#define UK_TREE_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "common/progress.h"
#include "tree/tree_reader.h"
#include "tree/tree_writer.h"

typedef struct TreeWalkOptions {
    char **paths; /* absolute */
    size_t n_paths;
    char **excludes; /* patterns: see tree_walk_excluded */
    size_t n_excludes;
    Progress *progress;
    /* The tree of the job's last backup, if any: a file whose size, mtime, ctime and inode
     * are as it recorded is not read again, its chunks are reused (as restic's parent). */
    TreeReader *parent;
} TreeWalkOptions;

typedef struct TreeWalkStats {
    uint64_t entries, files, bytes;
    uint64_t reread;         /* files read more than once because they changed meanwhile */
    uint64_t changed;        /* files still changing after the last read: kept, marked */
    uint64_t vanished;       /* files gone between listing their folder and reading them */
    uint64_t skipped;        /* sockets and devices, which a restore could not give back */
    uint64_t unchanged;      /* files taken from the last backup without reading them */
    char first_changed[512]; /* the first of the changed files, for the run's summary */
} TreeWalkStats;

int tree_walk(TreeWriter *t, const TreeWalkOptions *o, TreeWalkStats *s, UkError *err);

/* Exclusion: a pattern ending in '/' matches folders only; a pattern holding a '/' matches
 * the whole absolute path when it starts with '/', else the path's last components; any other
 * pattern matches the name (fnmatch: *, ?, [...]). An excluded folder is left out whole. */
bool tree_walk_excluded(char **excludes, size_t n, const char *abs_path, bool is_dir);

/* Checks the paths as a config gives them: absolute, no "..". NULL when fine, else why
 * (static text). */
const char *tree_walk_path_problem(const char *path);

#endif
