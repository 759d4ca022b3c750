/* A backup's manifest: what the backup is (JSON metadata) and the ordered list of chunk
 * hashes that rebuild its image. Publishing the manifest is what makes a backup exist.
 * Byte layout: docs/repository-format.md.
 *
 * Two encodings. Version 1 carries the whole hash list (32 bytes a chunk). Version 2 cuts
 * the list into blocks where the hashes themselves say (manifest_list_cut), stores each block
 * as a chunk of its own, and carries only the blocks' hashes: the next day's backup of a
 * slowly changing database shares most blocks with today's, so its list costs little instead
 * of as much as the changed data itself (a 1 GiB database: 4 MiB of hashes a day). The hash
 * list is then read through the repository, a block at a time (repo/image_reader.h). */
#ifndef UK_MANIFEST_H
#define UK_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/error.h"
#include "repo/chunker.h"

#define MANIFEST_MAGIC "UKSNAP1\n"
#define MANIFEST_MAGIC_V2 "UKSNAP2\n"
#define MANIFEST_MAGIC_V3 "UKSNAP3\n"

/* Version 2's blocks: a block ends after a hash whose first four bytes, read as a
 * little-endian number, are a multiple of AVG, once it holds MIN hashes; or at MAX hashes;
 * or at the end of the list (about 40 hashes, 1.3 KiB, a block). */
#define MANIFEST_LIST_MIN 8
#define MANIFEST_LIST_AVG 32
#define MANIFEST_LIST_MAX 128

/* How a backup's bytes were cut into chunks. A page image (SQLite) is cut every chunk_size
 * bytes, so chunk i starts at i * chunk_size; a stream (a server's dump) is cut where its
 * content says (repo/chunker.h), and its chunks, at most chunk_size bytes each, are simply
 * concatenated. */
#define MANIFEST_PAGES "pages"
#define MANIFEST_STREAM "stream"

/* Version 3: a backup that also holds files carries two more streams, each kept like a stream
 * image (content-defined chunks, the hash list in blocks): the tree (one line of JSON per
 * file, folder or link: tree/tree_entry.h) and the data (every regular file's bytes in tree
 * order, each file starting a chunk of its own, so that a renamed or moved file is the same
 * chunks). Garbage collection, copy and verify walk the parts' hash lists the way they walk
 * the image's, without reading the tree. */
enum { MANIFEST_PART_IMAGE, MANIFEST_PART_TREE, MANIFEST_PART_DATA, MANIFEST_PARTS };

typedef struct ManifestPart {
    ChunkerParams chunking;
    uint64_t size, chunk_count;
    unsigned char image_hash[32]; /* SHA-256 over the part's chunk hashes */
    unsigned char *list_hashes;   /* the list blocks' hashes, list_count * 32 bytes, owned */
    uint64_t list_count;
} ManifestPart;

typedef struct Manifest {
    char id[64];
    char database[128];
    char job[128];
    char driver[16];
    char source[1024];
    char hostname[256];
    char tags[256]; /* comma-separated */
    time_t time;
    char format[16];        /* MANIFEST_PAGES or MANIFEST_STREAM */
    ChunkerParams chunking; /* streams: the content-defined chunking's sizes */
    uint64_t image_size;
    uint32_t page_size;
    uint32_t chunk_size; /* pages: every chunk but the last; streams: the largest */
    uint64_t chunk_count;
    unsigned char image_hash[32]; /* SHA-256 over the concatenated chunk hashes */
    uint64_t new_chunks, reused_chunks, stored_bytes;
    double duration;
    bool damaged; /* listing only: the manifest could not be read (see docs) */
    /* What the driver recorded under the backup's snapshot (server version, sizes, row counts
     * per table), a JSON object's text; owned, NULL when none or read as a header only. */
    char *details;
    unsigned char *hashes; /* chunk_count * 32 bytes, owned; NULL when not loaded */
    int version;           /* encoding: 1 (flat hash list), 2 (list blocks), 3 (with files) */
    /* Version 2: the hashes of the chunks holding the list, list_count * 32 bytes, owned. */
    unsigned char *list_hashes;
    uint64_t list_count;
    /* Version 3: the files. parts[MANIFEST_PART_TREE] and [MANIFEST_PART_DATA]; the image
     * part is the fields above (manifest_part gives all three alike). */
    bool has_files;
    ManifestPart parts[MANIFEST_PARTS];
    uint64_t file_entries, file_bytes; /* entries in the tree; bytes of regular files */
    char *file_paths;                  /* the paths backed up, one a line; owned */
} Manifest;

/* Part K of M as a manifest of a stream image of its own, for an ImageReader (which keeps a
 * pointer to VIEW); the image part is M's own fields. Borrows M's hash lists. */
void manifest_part(const Manifest *m, int k, Manifest *view);
/* How many parts M has: 1, or MANIFEST_PARTS with files. */
int manifest_part_count(const Manifest *m);

/* Encodes m as version m->version (list_hashes for 2, hashes for 1). Caller frees *out. */
int manifest_encode(const Manifest *m, unsigned char **out, size_t *len, UkError *err);
/* Checks the trailing checksum; with_hashes=false skips copying the hash list (version 1)
 * or the list blocks' hashes (version 2, whose hash list is not in the manifest itself). */
int manifest_decode(const unsigned char *buf, size_t len, bool with_hashes, Manifest *out,
                    UkError *err);
/* How many hashes the list block starting at hash START holds (the cut rule above). */
uint64_t manifest_list_cut(const unsigned char *hashes, uint64_t count, uint64_t start);
/* Reading only the metadata: manifest_header_length() tells, from the first 12 bytes, how
 * many bytes manifest_decode_header() needs (0: not a manifest). No checksum is checked:
 * listing uses this, verify and restore read the whole manifest. */
uint32_t manifest_header_length(const unsigned char *prefix);
int manifest_decode_header(const unsigned char *buf, size_t len, Manifest *out, UkError *err);
void manifest_clear(Manifest *m);
/* Image hash: SHA-256 over the concatenation of the chunk hashes. */
void manifest_image_hash(const unsigned char *hashes, uint64_t count, unsigned char out[32]);
/* What retention, copy and "latest" group backups by: the database, or for a backup of files
 * only, its job. */
const char *manifest_group(const Manifest *m);
/* Does the backup carry this tag? */
bool manifest_has_tag(const char *tags, const char *tag);

#endif
