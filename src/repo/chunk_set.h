/* A set of chunk ids with their locations that stays small in memory at any size: the
 * repository's index of every chunk (repo_load_index), and the chunks a backup has stored so
 * far. Up to a limit the entries live in a hash table in memory (chunk_index.h); past it the
 * table is written out as a sorted run to an unlinked temporary file (temp_file_open), with,
 * in memory, the first id of every 1 KiB block of the run (to find the block to read) and a
 * Bloom filter (to skip runs that do not hold an id, as most lookups of new chunks are).
 * Runs merge so that there are only a few. A lookup is a probe of the table, a Bloom filter
 * line for each run and, for an id that is there, one pread of a block the page cache
 * mostly holds.
 *
 * Memory: the table (about 70 bytes an entry, up to the limit) plus about 1.6 bytes an entry
 * for the Bloom filters and fences: a repository of 2.6 million chunks (20 GiB of SQLite
 * pages) takes about 9 MiB rather than 170. The limit is 65,536 entries
 * (UPKEEP_CHUNK_SET_MEMORY sets another, for tests of the runs on small repositories).
 *
 * Threads: adds come from one thread; finds may come from several at once, but not while an
 * add runs. */
#ifndef UK_CHUNK_SET_H
#define UK_CHUNK_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "repo/chunk_index.h"

typedef struct ChunkSet ChunkSet;

ChunkSet *chunk_set_new(void);
void chunk_set_free(ChunkSet *s);
/* Adds HASH unless present (LOC may be NULL for membership only): 1 added, 0 present, -1 when
 * a run could not be written (err set). */
int chunk_set_add(ChunkSet *s, const unsigned char *hash, const ChunkLocation *loc, UkError *err);
/* Where HASH is: true and *out filled, or false. */
bool chunk_set_find(const ChunkSet *s, const unsigned char *hash, ChunkLocation *out);
size_t chunk_set_count(const ChunkSet *s);

#endif
