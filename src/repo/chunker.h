/* Content-defined chunking (FastCDC) for backups that arrive as a byte stream, such as a
 * server's dump, where an insert early in the stream shifts every byte after it: cutting where
 * the content says (a rolling "gear" hash over the last 64 bytes hits a mask) rather than every
 * N bytes lets the unchanged stretches after the insert come out as the same chunks as before.
 *
 * Measured on a 105 MB PostgreSQL dump before and after a day of typical changes: fixed 8 KiB
 * chunks re-stored 100% of it, CDC with an 8 KiB average 1.7%, 64 KiB 6.8%, 1 MiB 17.9%. On
 * bench/postgresql.sh's 884 MiB database, with 1% of the rows changed all over the tables
 * (every changed row costs the chunk around it), the second backup stored 7.2% of the first
 * with an 8 KiB average and 5.0% with 4 KiB, the hash list in the manifest included (32 bytes
 * a chunk); smaller chunks would cost more in hash lists than they save.
 * Chunks are cut before compression (compressed bytes never repeat).
 *
 * Normalised chunking (level 2): below the average size the hash must match two more bits,
 * above it two fewer, which keeps sizes close to the average. Cut points depend only on the
 * bytes, the gear table (splitmix64 from a fixed seed) and the three sizes, which is why the
 * manifest records the sizes and the table must never change. */
#ifndef UK_CHUNKER_H
#define UK_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct ChunkerParams {
    uint32_t min_size, avg_size, max_size; /* avg a power of two, min < avg < max */
} ChunkerParams;

/* What stream backups use unless their driver says otherwise: 1 KiB / 4 KiB / 32 KiB. */
extern const ChunkerParams chunker_default;

/* The sizes for an average of AVG bytes: a quarter of it at least, eight times it at most.
 *
 * The driver picks the average for its dump (ImageSink.begin_stream): each chunk costs
 * about 100 bytes of hashes and index entries whatever its size, which weighs more the
 * better the chunks compress, while every changed row re-stores the chunk around it. On
 * bench/mariadb.sh's SQL dump, which zstd shrinks sixfold, 4 KiB chunks left the first
 * backup 1.09x the size of the dump piped through zstd and 8 KiB chunks 1.03x, with the next
 * day's backup at 4.8% of the first (list blocks, manifest.h); pg_dump's custom format keeps
 * 4 KiB (5.0% at 4 KiB, 7.2% at 8 KiB, measured with whole hash lists). */
ChunkerParams chunker_params_for(uint32_t avg_size);

/* Are the sizes usable (a manifest's, say)? */
int chunker_params_valid(const ChunkerParams *p);

/* The length of the chunk that starts at data: a cut point in [min_size, max_size], or len
 * when len is at most min_size or no cut point comes before len. Callers pass at least
 * max_size bytes except at the end of the stream, so that a cut never depends on where a
 * read happened to end. */
size_t chunker_cut(const ChunkerParams *p, const unsigned char *data, size_t len);
/* The same with a gear table of one's own (an encrypted repository's, seeded from its keys,
 * so that where chunks are cut says nothing about what they hold). */
size_t chunker_cut_with(const ChunkerParams *p, const uint64_t gear[256], const unsigned char *data,
                        size_t len);
/* The gear table for SEED (0: the fixed one every plain repository uses). */
void chunker_gear_table(uint64_t seed, uint64_t table[256]);

#endif
