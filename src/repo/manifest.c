/* Manifest encoding. The JSON part is for people and other tools; the hash list (or, in
 * version 2, the list blocks' hashes) is raw bytes because hex would double it. */
#include "repo/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void manifest_image_hash(const unsigned char *hashes, uint64_t count, unsigned char out[32])
{
    crypto_sha256(hashes, (size_t)count * 32, out);
}

static json_t *chunking_json(const ChunkerParams *c)
{
    return json_pack("{s:s, s:i, s:i, s:i}", "method", "fastcdc", "min", (int)c->min_size, "avg",
                     (int)c->avg_size, "max", (int)c->max_size);
}

static void chunking_parse(json_t *chunking, ChunkerParams *c)
{
    c->min_size = (uint32_t)json_integer_value(json_object_get(chunking, "min"));
    c->avg_size = (uint32_t)json_integer_value(json_object_get(chunking, "avg"));
    c->max_size = (uint32_t)json_integer_value(json_object_get(chunking, "max"));
}

static json_t *part_json(const ManifestPart *p)
{
    char hash_hex[65];
    hex_encode(p->image_hash, 32, hash_hex);
    return json_pack("{s:I, s:I, s:s, s:I, s:o}", "size", (json_int_t)p->size, "chunk_count",
                     (json_int_t)p->chunk_count, "image_hash", hash_hex, "blocks",
                     (json_int_t)p->list_count, "chunking", chunking_json(&p->chunking));
}

/* The files object of a version 3 manifest. */
static json_t *files_json(const Manifest *m)
{
    json_t *paths = json_array();
    char *copy = xstrdup(m->file_paths ? m->file_paths : "");
    for (char *save = NULL, *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
        json_array_append_new(paths, json_string(t));
    free(copy);
    return json_pack("{s:o, s:I, s:I, s:o, s:o}", "paths", paths, "entries",
                     (json_int_t)m->file_entries, "bytes", (json_int_t)m->file_bytes, "tree",
                     part_json(&m->parts[MANIFEST_PART_TREE]), "data",
                     part_json(&m->parts[MANIFEST_PART_DATA]));
}

void manifest_part(const Manifest *m, int k, Manifest *view)
{
    *view = *m;
    view->hashes = NULL;
    view->details = NULL;
    view->file_paths = NULL;
    if (k == MANIFEST_PART_IMAGE) {
        view->hashes = m->hashes;
        return;
    }
    const ManifestPart *p = &m->parts[k];
    view->version = 2;
    snprintf(view->format, sizeof view->format, "%s", MANIFEST_STREAM);
    view->chunking = p->chunking;
    view->image_size = p->size;
    view->chunk_size = p->chunking.max_size;
    view->chunk_count = p->chunk_count;
    memcpy(view->image_hash, p->image_hash, 32);
    view->list_hashes = p->list_hashes;
    view->list_count = p->list_count;
    view->has_files = false;
}

int manifest_part_count(const Manifest *m)
{
    return m->has_files ? MANIFEST_PARTS : 1;
}

int manifest_encode(const Manifest *m, unsigned char **out, size_t *len, UkError *err)
{
    *out = NULL;
    char time_text[32], hash_hex[65];
    format_time_utc(m->time, time_text, sizeof time_text);
    hex_encode(m->image_hash, 32, hash_hex);
    json_t *tags = json_array();
    char *copy = xstrdup(m->tags);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(tags, json_string(t));
    free(copy);
    bool blocks = m->version >= 2;
    int version = m->has_files ? 3 : blocks ? 2 : 1;
    if (m->has_files && !blocks)
        return uk_error_set(err, UK_E_INTERNAL, 0, "manifest '%s': files need list blocks", m->id);
    json_t *doc = json_pack(
        "{s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:o, s:I, s:i, s:i, s:I, s:s, s:s,"
        " s:{s:I, s:I, s:I, s:f}}",
        "version", version, "id", m->id, "database", m->database, "time", time_text, "time_unix",
        (json_int_t)m->time, "job", m->job, "driver", m->driver, "source", m->source, "hostname",
        m->hostname, "tags", tags, "image_size", (json_int_t)m->image_size, "page_size",
        (int)m->page_size, "chunk_size", (int)m->chunk_size, "chunk_count",
        (json_int_t)m->chunk_count, "chunk_hash", "sha256", "image_hash", hash_hex, "stats",
        "new_chunks", (json_int_t)m->new_chunks, "reused_chunks", (json_int_t)m->reused_chunks,
        "stored_bytes", (json_int_t)m->stored_bytes, "duration_seconds", m->duration);
    if (!doc)
        return uk_error_set(err, UK_E_INTERNAL, 0, "unable to encode manifest '%s'", m->id);
    if (m->details) {
        json_t *details = json_loads(m->details, 0, NULL);
        if (!json_is_object(details)) {
            json_decref(details);
            json_decref(doc);
            return uk_error_set(err, UK_E_INTERNAL, 0, "manifest '%s': details are not JSON",
                                m->id);
        }
        json_object_set_new(doc, "details", details);
    }
    bool stream = strcmp(m->format, MANIFEST_STREAM) == 0;
    json_object_set_new(doc, "format", json_string(stream ? MANIFEST_STREAM : MANIFEST_PAGES));
    if (stream)
        json_object_set_new(doc, "chunking", chunking_json(&m->chunking));
    if (m->has_files)
        json_object_set_new(doc, "files", files_json(m));
    if (blocks)
        json_object_set_new(doc, "chunk_list",
                            json_pack("{s:s, s:i, s:i, s:i, s:I}", "method", "hash-blocks", "min",
                                      MANIFEST_LIST_MIN, "avg", MANIFEST_LIST_AVG, "max",
                                      MANIFEST_LIST_MAX, "blocks", (json_int_t)m->list_count));
    char *json = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    size_t json_len = strlen(json);
    size_t hashes_len = (size_t)(blocks ? m->list_count : m->chunk_count) * 32;
    size_t parts_len = 0;
    for (int k = 1; m->has_files && k < MANIFEST_PARTS; k++)
        parts_len += (size_t)m->parts[k].list_count * 32;
    size_t total = 8 + 4 + json_len + hashes_len + parts_len + 32;
    unsigned char *buf = xmalloc(total), *p = buf;
    memcpy(p, version == 3 ? MANIFEST_MAGIC_V3 : blocks ? MANIFEST_MAGIC_V2 : MANIFEST_MAGIC, 8);
    p += 8;
    put_u32(p, (uint32_t)json_len);
    p += 4;
    memcpy(p, json, json_len);
    p += json_len;
    if (hashes_len)
        memcpy(p, blocks ? m->list_hashes : m->hashes, hashes_len);
    p += hashes_len;
    for (int k = 1; m->has_files && k < MANIFEST_PARTS; k++) {
        size_t n = (size_t)m->parts[k].list_count * 32;
        if (n)
            memcpy(p, m->parts[k].list_hashes, n);
        p += n;
    }
    crypto_sha256(buf, (size_t)(p - buf), p);
    free(json);
    *out = buf;
    *len = total;
    return 0;
}

static void copy_string(json_t *doc, const char *key, char *dst, size_t len)
{
    const char *v = json_string_value(json_object_get(doc, key));
    snprintf(dst, len, "%s", v ? v : "");
}

/* 1, 2 or 3 for a manifest's magic, else 0. */
static int magic_version(const unsigned char *buf)
{
    return memcmp(buf, MANIFEST_MAGIC, 8) == 0      ? 1
           : memcmp(buf, MANIFEST_MAGIC_V2, 8) == 0 ? 2
           : memcmp(buf, MANIFEST_MAGIC_V3, 8) == 0 ? 3
                                                    : 0;
}

uint32_t manifest_header_length(const unsigned char *prefix)
{
    return magic_version(prefix) ? 12 + get_u32(prefix + 8) : 0;
}

uint64_t manifest_list_cut(const unsigned char *hashes, uint64_t count, uint64_t start)
{
    uint64_t len = 0;
    while (start + len < count) {
        const unsigned char *h = hashes + (start + len) * 32;
        len++;
        if (len == MANIFEST_LIST_MAX ||
            (len >= MANIFEST_LIST_MIN && get_u32(h) % MANIFEST_LIST_AVG == 0))
            break;
    }
    return len;
}

/* Version 2: as many blocks as a list of CHUNKS hashes can have been cut into. */
static bool blocks_fit(uint64_t chunks, uint64_t blocks)
{
    if (chunks == 0)
        return blocks == 0;
    return blocks >= (chunks + MANIFEST_LIST_MAX - 1) / MANIFEST_LIST_MAX && blocks <= chunks;
}

static bool list_count_fits(const Manifest *m)
{
    return blocks_fit(m->chunk_count, m->list_count);
}

/* A version 3 part: a stream of SIZE bytes in chunks its chunking allows. */
static bool part_fits(const ManifestPart *p)
{
    uint64_t fewest =
        p->chunking.max_size ? (p->size + p->chunking.max_size - 1) / p->chunking.max_size : 0;
    return chunker_params_valid(&p->chunking) && p->chunk_count >= fewest &&
           p->chunk_count <= p->size && blocks_fit(p->chunk_count, p->list_count);
}

static int part_parse(json_t *doc, ManifestPart *p)
{
    chunking_parse(json_object_get(doc, "chunking"), &p->chunking);
    p->size = (uint64_t)json_integer_value(json_object_get(doc, "size"));
    p->chunk_count = (uint64_t)json_integer_value(json_object_get(doc, "chunk_count"));
    p->list_count = (uint64_t)json_integer_value(json_object_get(doc, "blocks"));
    const char *hex = json_string_value(json_object_get(doc, "image_hash"));
    return hex && hex_decode(hex, p->image_hash, 32) == 0 && part_fits(p) ? 0 : -1;
}

/* The paths are read with the hash lists only (listings and lookups free manifests without
 * clearing them). */
static int files_parse(json_t *files, bool header_only, Manifest *m)
{
    if (!json_is_object(files))
        return -1;
    m->has_files = true;
    m->file_entries = (uint64_t)json_integer_value(json_object_get(files, "entries"));
    m->file_bytes = (uint64_t)json_integer_value(json_object_get(files, "bytes"));
    size_t i, used = 0;
    json_t *path, *paths = json_object_get(files, "paths");
    for (i = 0; !header_only && i < json_array_size(paths); i++)
        used += strlen(json_string_value(json_array_get(paths, i))
                           ? json_string_value(json_array_get(paths, i))
                           : "") +
                1;
    if (!header_only)
        m->file_paths = xcalloc(1, used + 1);
    json_array_foreach (header_only ? NULL : paths, i, path) {
        strcat(m->file_paths, json_string_value(path) ? json_string_value(path) : "");
        strcat(m->file_paths, "\n");
    }
    if (part_parse(json_object_get(files, "tree"), &m->parts[MANIFEST_PART_TREE]) != 0 ||
        part_parse(json_object_get(files, "data"), &m->parts[MANIFEST_PART_DATA]) != 0)
        return -1;
    return 0;
}

/* Pages: one chunk per chunk_size bytes. Streams: chunks of 1 to chunk_size (the chunker's
 * largest) bytes, which says how few and how many there can be. */
static bool chunk_count_fits(const Manifest *m)
{
    uint64_t fewest = (m->image_size + m->chunk_size - 1) / m->chunk_size;
    if (strcmp(m->format, MANIFEST_PAGES) == 0)
        return m->chunk_count == fewest;
    return strcmp(m->format, MANIFEST_STREAM) == 0 && chunker_params_valid(&m->chunking) &&
           m->chunk_size == m->chunking.max_size && m->chunk_count >= fewest &&
           m->chunk_count <= m->image_size;
}

/* Parses magic, length and JSON; header_only skips what needs the whole file. */
static int decode(const unsigned char *buf, size_t len, bool header_only, bool with_hashes,
                  Manifest *m, UkError *err)
{
    memset(m, 0, sizeof *m);
    int version = len >= 8 ? magic_version(buf) : 0;
    if (len < 12 + (header_only ? 0 : 32) || !version)
        return uk_error_set(err, UK_E_FORMAT, 0, "not an upkeep manifest (bad magic)");
    if (!header_only) {
        unsigned char check[32];
        crypto_sha256(buf, len - 32, check);
        if (memcmp(check, buf + len - 32, 32) != 0)
            return uk_error_set(err, UK_E_CORRUPT, 0, "manifest checksum mismatch");
    }
    uint32_t json_len = get_u32(buf + 8);
    if ((size_t)json_len > len - 12 - (header_only ? 0 : 32))
        return uk_error_set(err, UK_E_CORRUPT, 0, "manifest length fields are inconsistent");
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)buf + 12, json_len, 0, &jerr);
    if (!doc)
        return uk_error_set(err, UK_E_CORRUPT, 0, "manifest metadata is not JSON: %s", jerr.text);
    int rc = -1;
    if (json_integer_value(json_object_get(doc, "version")) != version) {
        uk_error_set(err, UK_E_FORMAT, 0, "manifest version %lld is not supported (expected %d)",
                     (long long)json_integer_value(json_object_get(doc, "version")), version);
        goto out;
    }
    m->version = version;
    copy_string(doc, "id", m->id, sizeof m->id);
    copy_string(doc, "database", m->database, sizeof m->database);
    copy_string(doc, "job", m->job, sizeof m->job);
    copy_string(doc, "driver", m->driver, sizeof m->driver);
    copy_string(doc, "source", m->source, sizeof m->source);
    copy_string(doc, "hostname", m->hostname, sizeof m->hostname);
    size_t i;
    json_t *tag;
    json_array_foreach (json_object_get(doc, "tags"), i, tag) {
        size_t used = strlen(m->tags);
        snprintf(m->tags + used, sizeof m->tags - used, "%s%s", used ? "," : "",
                 json_string_value(tag) ? json_string_value(tag) : "");
    }
    m->time = (time_t)json_integer_value(json_object_get(doc, "time_unix"));
    /* Manifests from before streams existed carry no format: they are page images. */
    copy_string(doc, "format", m->format, sizeof m->format);
    if (!*m->format)
        snprintf(m->format, sizeof m->format, "%s", MANIFEST_PAGES);
    chunking_parse(json_object_get(doc, "chunking"), &m->chunking);
    m->image_size = (uint64_t)json_integer_value(json_object_get(doc, "image_size"));
    m->page_size = (uint32_t)json_integer_value(json_object_get(doc, "page_size"));
    m->chunk_size = (uint32_t)json_integer_value(json_object_get(doc, "chunk_size"));
    m->chunk_count = (uint64_t)json_integer_value(json_object_get(doc, "chunk_count"));
    json_t *stats = json_object_get(doc, "stats");
    m->new_chunks = (uint64_t)json_integer_value(json_object_get(stats, "new_chunks"));
    m->reused_chunks = (uint64_t)json_integer_value(json_object_get(stats, "reused_chunks"));
    m->stored_bytes = (uint64_t)json_integer_value(json_object_get(stats, "stored_bytes"));
    m->duration = json_real_value(json_object_get(stats, "duration_seconds"));
    m->list_count =
        (uint64_t)json_integer_value(json_object_get(json_object_get(doc, "chunk_list"), "blocks"));
    if (version == 3 &&
        files_parse(json_object_get(doc, "files"), header_only || !with_hashes, m) != 0) {
        uk_error_set(err, UK_E_CORRUPT, 0, "manifest files are inconsistent");
        goto out;
    }
    uint64_t listed = version >= 2 ? m->list_count : m->chunk_count;
    uint64_t parts_listed = 0;
    for (int k = 1; m->has_files && k < MANIFEST_PARTS; k++)
        parts_listed += m->parts[k].list_count;
    const char *hash_hex = json_string_value(json_object_get(doc, "image_hash"));
    if (!hash_hex || hex_decode(hash_hex, m->image_hash, 32) != 0 || m->chunk_size == 0 ||
        (!header_only && (listed + parts_listed > len / 32 ||
                          (size_t)(listed + parts_listed) * 32 != len - 44 - json_len)) ||
        !chunk_count_fits(m) || (version >= 2 && !list_count_fits(m))) {
        uk_error_set(err, UK_E_CORRUPT, 0, "manifest fields are inconsistent");
        goto out;
    }
    json_t *details = json_object_get(doc, "details");
    if (!header_only && json_is_object(details))
        m->details = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    if (with_hashes && !header_only && version >= 2) {
        const unsigned char *at = buf + 12 + json_len;
        m->list_hashes = xmalloc((size_t)m->list_count * 32 + 1);
        memcpy(m->list_hashes, at, (size_t)m->list_count * 32);
        at += m->list_count * 32;
        for (int k = 1; m->has_files && k < MANIFEST_PARTS; k++) {
            ManifestPart *p = &m->parts[k];
            p->list_hashes = xmalloc((size_t)p->list_count * 32 + 1);
            memcpy(p->list_hashes, at, (size_t)p->list_count * 32);
            at += p->list_count * 32;
        }
    } else if (with_hashes && !header_only) {
        m->hashes = xmalloc((size_t)m->chunk_count * 32 + 1);
        memcpy(m->hashes, buf + 12 + json_len, (size_t)m->chunk_count * 32);
        unsigned char image_hash[32];
        manifest_image_hash(m->hashes, m->chunk_count, image_hash);
        if (memcmp(image_hash, m->image_hash, 32) != 0) {
            uk_error_set(err, UK_E_CORRUPT, 0, "manifest chunk list does not match its image hash");
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(doc);
    if (rc != 0)
        manifest_clear(m);
    return rc;
}

int manifest_decode(const unsigned char *buf, size_t len, bool with_hashes, Manifest *m,
                    UkError *err)
{
    return decode(buf, len, false, with_hashes, m, err);
}

int manifest_decode_header(const unsigned char *buf, size_t len, Manifest *m, UkError *err)
{
    return decode(buf, len, true, false, m, err);
}

void manifest_clear(Manifest *m)
{
    free(m->hashes);
    m->hashes = NULL;
    free(m->list_hashes);
    m->list_hashes = NULL;
    free(m->details);
    m->details = NULL;
    for (int k = 0; k < MANIFEST_PARTS; k++) {
        free(m->parts[k].list_hashes);
        m->parts[k].list_hashes = NULL;
    }
    free(m->file_paths);
    m->file_paths = NULL;
}

const char *manifest_group(const Manifest *m)
{
    return *m->database ? m->database : m->job;
}

bool manifest_has_tag(const char *tags, const char *tag)
{
    size_t n = strlen(tag);
    for (const char *p = tags; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, tag, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}
