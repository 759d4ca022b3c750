/* See chunk_set.h. A run is an unlinked temporary file of 48-byte records (id, pack, frame,
 * offset, length) sorted by id, 21 to a 1 KiB block: a lookup reads one block, and with 4 KiB
 * blocks the copy out of the page cache was the larger part of its cost (perf). Chunk ids
 * are uniformly random (SHA-256 or HMAC-SHA256), so their first 8 bytes serve as the blocks'
 * fences and later bytes as the Bloom filter's hashes.
 *
 * Runs merge like a binary counter (a new run merges with the one before while that one is
 * no larger), so there are at most log2(count / limit) + 1 of them and every record is
 * rewritten that many times at most, sequentially. */
#include "repo/chunk_set.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

#define RECORD 48
#define BLOCK 1024
#define BLOCK_RECORDS (BLOCK / RECORD) /* 21 */
#define IO_BLOCKS 64                   /* merges read and write 64 KiB at a time */
#define DEFAULT_LIMIT 65536
/* Blocked Bloom filter: each id sets BLOOM_PROBES bits in one 512-bit line (one cache line a
 * lookup), BLOOM_BITS_PER_ENTRY bits an entry: about 1% false positives. */
#define BLOOM_LINE_BITS 512
#define BLOOM_LINE_WORDS (BLOOM_LINE_BITS / 64)
#define BLOOM_BITS_PER_ENTRY 10
#define BLOOM_PROBES 7

typedef struct Run {
    int fd;
    size_t n, n_blocks;
    uint64_t *fences; /* the first 8 bytes of each block's first id */
    uint64_t *bloom;
    size_t bloom_lines;
} Run;

struct ChunkSet {
    ChunkIndex *mem;
    size_t limit;
    Run *runs;
    size_t n_runs;
    size_t count;
};

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

ChunkSet *chunk_set_new(void)
{
    ChunkSet *s = xcalloc(1, sizeof *s);
    s->mem = chunk_index_new();
    const char *limit = getenv("UPKEEP_CHUNK_SET_MEMORY");
    s->limit = limit && atol(limit) > 0 ? (size_t)atol(limit) : DEFAULT_LIMIT;
    return s;
}

static void run_clear(Run *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->fences);
    free(r->bloom);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

void chunk_set_free(ChunkSet *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_runs; i++)
        run_clear(&s->runs[i]);
    free(s->runs);
    chunk_index_free(s->mem);
    free(s);
}

size_t chunk_set_count(const ChunkSet *s)
{
    return s->count;
}

/* ---- Bloom filter ---- */

static uint64_t *bloom_line(const Run *r, const unsigned char *id)
{
    uint64_t line = (uint64_t)(((unsigned __int128)be64(id + 8) * r->bloom_lines) >> 64);
    return r->bloom + line * BLOOM_LINE_WORDS;
}

static bool bloom_maybe(const Run *r, const unsigned char *id)
{
    const uint64_t *line = bloom_line(r, id);
    uint64_t bits = be64(id + 16);
    for (int i = 0; i < BLOOM_PROBES; i++, bits >>= 9)
        if (!(line[(bits & 511) / 64] >> (bits & 63) & 1))
            return false;
    return true;
}

static void bloom_set(Run *r, const unsigned char *id)
{
    uint64_t *line = bloom_line(r, id);
    uint64_t bits = be64(id + 16);
    for (int i = 0; i < BLOOM_PROBES; i++, bits >>= 9)
        line[(bits & 511) / 64] |= (uint64_t)1 << (bits & 63);
}

/* ---- writing a run, record by record, in id order ---- */

typedef struct RunBuilder {
    Run run;
    unsigned char buf[IO_BLOCKS * BLOCK];
    size_t buffered;  /* records in buf */
    uint64_t written; /* bytes in the file */
    unsigned char last_id[32];
} RunBuilder;

static int builder_start(RunBuilder *b, size_t max_records, UkError *err)
{
    memset(&b->run, 0, sizeof b->run);
    b->buffered = 0;
    b->written = 0;
    b->run.fd = temp_file_open(err);
    if (b->run.fd < 0)
        return -1;
    size_t blocks = (max_records + BLOCK_RECORDS - 1) / BLOCK_RECORDS;
    b->run.fences = xmalloc((blocks ? blocks : 1) * sizeof *b->run.fences);
    b->run.bloom_lines = max_records * BLOOM_BITS_PER_ENTRY / BLOOM_LINE_BITS + 1;
    b->run.bloom = xcalloc(b->run.bloom_lines * BLOOM_LINE_WORDS, sizeof *b->run.bloom);
    return 0;
}

static int builder_flush(RunBuilder *b, UkError *err)
{
    if (b->buffered == 0)
        return 0;
    size_t blocks = (b->buffered + BLOCK_RECORDS - 1) / BLOCK_RECORDS;
    if (pwrite_all(b->run.fd, b->buf, blocks * BLOCK, b->written, "a temporary chunk index", err) !=
        0)
        return -1;
    b->written += blocks * BLOCK;
    b->buffered = 0;
    memset(b->buf, 0, sizeof b->buf);
    return 0;
}

/* Appends a record (ids ascending); a repeated id is dropped. */
static int builder_add(RunBuilder *b, const unsigned char *record, UkError *err)
{
    if (b->run.n > 0 && memcmp(b->last_id, record, 32) == 0)
        return 0;
    size_t in_buf = b->buffered;
    size_t block = in_buf / BLOCK_RECORDS, slot = in_buf % BLOCK_RECORDS;
    if (slot == 0)
        b->run.fences[b->run.n_blocks++] = be64(record);
    memcpy(b->buf + block * BLOCK + slot * RECORD, record, RECORD);
    memcpy(b->last_id, record, 32);
    bloom_set(&b->run, record);
    b->run.n++;
    b->buffered++;
    if (b->buffered == IO_BLOCKS * BLOCK_RECORDS)
        return builder_flush(b, err);
    return 0;
}

/* ---- reading a run in order (merges) ---- */

typedef struct RunCursor {
    const Run *run;
    size_t next; /* record number */
    unsigned char buf[IO_BLOCKS * BLOCK];
    size_t buf_first, buf_blocks; /* blocks held */
} RunCursor;

/* The cursor's current record, or NULL at the end (or on a read error, err set). */
static const unsigned char *cursor_peek(RunCursor *c, UkError *err)
{
    if (c->next >= c->run->n)
        return NULL;
    size_t block = c->next / BLOCK_RECORDS;
    if (block < c->buf_first || block >= c->buf_first + c->buf_blocks) {
        size_t left = c->run->n_blocks - block;
        c->buf_first = block;
        c->buf_blocks = left < IO_BLOCKS ? left : IO_BLOCKS;
        if (pread_all(c->run->fd, c->buf, c->buf_blocks * BLOCK, (uint64_t)block * BLOCK,
                      "a temporary chunk index", err) != 0) {
            c->buf_blocks = 0;
            return NULL;
        }
    }
    return c->buf + (block - c->buf_first) * BLOCK + (c->next % BLOCK_RECORDS) * RECORD;
}

/* ---- spilling and merging ---- */

static void push_run(ChunkSet *s, Run *r)
{
    s->runs = xrealloc(s->runs, (s->n_runs + 1) * sizeof *s->runs);
    s->runs[s->n_runs++] = *r;
}

/* Merges the last two runs into one. */
static int merge_last_two(ChunkSet *s, UkError *err)
{
    Run *a = &s->runs[s->n_runs - 2], *b = &s->runs[s->n_runs - 1];
    RunBuilder *out = xmalloc(sizeof *out);
    RunCursor *ca = xcalloc(1, sizeof *ca), *cb = xcalloc(1, sizeof *cb);
    ca->run = a;
    cb->run = b;
    int rc = builder_start(out, a->n + b->n, err);
    while (rc == 0) {
        const unsigned char *ra = cursor_peek(ca, err), *rb = cursor_peek(cb, err);
        if ((!ra && ca->next < a->n) || (!rb && cb->next < b->n)) {
            rc = -1; /* a read failed */
            break;
        }
        if (!ra && !rb)
            break;
        bool take_a = ra && (!rb || memcmp(ra, rb, 32) <= 0);
        rc = builder_add(out, take_a ? ra : rb, err);
        (take_a ? ca : cb)->next++;
    }
    if (rc == 0)
        rc = builder_flush(out, err);
    free(ca);
    free(cb);
    if (rc != 0) {
        run_clear(&out->run);
        free(out);
        return -1;
    }
    run_clear(a);
    run_clear(b);
    s->n_runs -= 2;
    push_run(s, &out->run);
    free(out);
    return 0;
}

typedef struct Dump {
    unsigned char *records;
    size_t n;
} Dump;

static void dump_entry(void *ctx, const unsigned char *hash, const ChunkLocation *loc)
{
    Dump *d = ctx;
    unsigned char *r = d->records + d->n++ * RECORD;
    memcpy(r, hash, 32);
    put32(r + 32, loc->pack);
    put32(r + 36, loc->frame);
    put32(r + 40, loc->offset);
    put32(r + 44, loc->length);
}

static int compare_records(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* Writes the table out as a sorted run, empties it, and merges runs while the one before the
 * newest is no larger than it. */
static int spill(ChunkSet *s, UkError *err)
{
    size_t n = chunk_index_count(s->mem);
    Dump d = {xmalloc(n * RECORD + 1), 0};
    chunk_index_foreach(s->mem, dump_entry, &d);
    qsort(d.records, d.n, RECORD, compare_records);
    RunBuilder *b = xmalloc(sizeof *b);
    int rc = builder_start(b, d.n, err);
    for (size_t i = 0; i < d.n && rc == 0; i++)
        rc = builder_add(b, d.records + i * RECORD, err);
    if (rc == 0)
        rc = builder_flush(b, err);
    free(d.records);
    if (rc != 0) {
        run_clear(&b->run);
        free(b);
        return -1;
    }
    push_run(s, &b->run);
    free(b);
    chunk_index_free(s->mem);
    s->mem = chunk_index_new();
    while (s->n_runs >= 2 && s->runs[s->n_runs - 2].n <= s->runs[s->n_runs - 1].n)
        if (merge_last_two(s, err) != 0)
            return -1;
    return 0;
}

/* ---- lookups ---- */

/* Searches block B of run R for ID. */
static bool block_find(const Run *r, size_t b, const unsigned char *id, ChunkLocation *out)
{
    unsigned char block[BLOCK];
    UkError err = {0};
    if (pread_all(r->fd, block, sizeof block, (uint64_t)b * BLOCK, "a temporary chunk index",
                  &err) != 0)
        return false; /* as if absent: a chunk stored twice, or a read that says it is missing */
    size_t lo = 0, hi = b + 1 < r->n_blocks ? BLOCK_RECORDS : r->n - b * BLOCK_RECORDS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const unsigned char *rec = block + mid * RECORD;
        int c = memcmp(rec, id, 32);
        if (c == 0) {
            out->pack = le32(rec + 32);
            out->frame = le32(rec + 36);
            out->offset = le32(rec + 40);
            out->length = le32(rec + 44);
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool run_find(const Run *r, const unsigned char *id, ChunkLocation *out)
{
    if (r->n == 0 || !bloom_maybe(r, id))
        return false;
    uint64_t prefix = be64(id);
    size_t lo = 0, hi = r->n_blocks; /* the first block whose fence is above the prefix */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->fences[mid] <= prefix)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* The block before it holds the id if any does; when that block's fence equals the
     * prefix, ids with this prefix may begin in the blocks before it too. */
    for (size_t b = lo; b > 0; b--) {
        if (block_find(r, b - 1, id, out))
            return true;
        if (r->fences[b - 1] != prefix)
            break;
    }
    return false;
}

bool chunk_set_find(const ChunkSet *s, const unsigned char *hash, ChunkLocation *out)
{
    const ChunkLocation *loc = chunk_index_get(s->mem, hash);
    if (loc) {
        *out = *loc;
        return true;
    }
    for (size_t i = 0; i < s->n_runs; i++) /* the oldest first: the largest */
        if (run_find(&s->runs[i], hash, out))
            return true;
    return false;
}

int chunk_set_add(ChunkSet *s, const unsigned char *hash, const ChunkLocation *loc, UkError *err)
{
    ChunkLocation found;
    for (size_t i = 0; i < s->n_runs; i++)
        if (run_find(&s->runs[i], hash, &found))
            return 0;
    if (!chunk_index_add(s->mem, hash, loc))
        return 0;
    s->count++;
    if (chunk_index_count(s->mem) >= s->limit && spill(s, err) != 0)
        return -1;
    return 1;
}
