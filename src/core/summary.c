/* One line for people from a run's JSON summary; the CLI, the daemon's log and the status
 * page all describe runs with it. */
#include "core/summary.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

/* What a vacuum job did besides VACUUM: "; then ANALYZE, REINDEX", or "". */
static void vacuum_extras(json_t *doc, bool dry, char *buf, size_t len)
{
    static const struct {
        const char *field, *name;
    } extras[] = {{"analyzed", "ANALYZE"},
                  {"reindexed", "REINDEX"},
                  {"optimized", "optimize"},
                  {"checkpointed", "checkpoint"}};
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof extras / sizeof extras[0] && n < len; i++)
        if (json_is_true(json_object_get(doc, extras[i].field)))
            n += (size_t)snprintf(buf + n, len - n, "%s%s",
                                  n ? ", " : (dry ? "; would then run " : "; then "),
                                  extras[i].name);
}

/* The integrity checks that ran, each with its answer: "quick_check: ok, foreign_key_check:
 * ok". A check that did not run is left out. */
static void integrity_line(json_t *doc, char *buf, size_t len)
{
    static const char *checks[] = {"quick_check", "integrity_check", "foreign_key_check"};
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof checks / sizeof checks[0] && n < len; i++) {
        const char *answer = json_string_value(json_object_get(doc, checks[i]));
        if (answer && *answer)
            n += (size_t)snprintf(buf + n, len - n, "%s%s: %s", n ? ", " : "", checks[i], answer);
    }
    if (!n)
        snprintf(buf, len, "no checks ran");
}

void run_summary_line(const char *summary_json, char *buf, size_t len)
{
    buf[0] = '\0';
    json_error_t jerr;
    json_t *doc = summary_json ? json_loads(summary_json, 0, &jerr) : NULL;
    if (!doc)
        return;
    const char *id = json_string_value(json_object_get(doc, "backup_id"));
    if (id) {
        char image[32], stored[32];
        size_t n = (size_t)snprintf(
            buf, len, "backup %s: image %s, stored %s new (%lld new chunks, %lld reused)", id,
            format_size((uint64_t)json_integer_value(json_object_get(doc, "image_bytes")), image,
                        sizeof image),
            format_size((uint64_t)json_integer_value(json_object_get(doc, "bytes_stored")), stored,
                        sizeof stored),
            (long long)json_integer_value(json_object_get(doc, "chunks_new")),
            (long long)json_integer_value(json_object_get(doc, "chunks_reused")));
        json_t *entries = json_object_get(doc, "file_entries");
        if (entries && n < len) {
            char bytes[32];
            n += (size_t)snprintf(
                buf + n, len - n, "; files: %lld entries, %s",
                (long long)json_integer_value(entries),
                format_size((uint64_t)json_integer_value(json_object_get(doc, "file_bytes")), bytes,
                            sizeof bytes));
            json_int_t changed = json_integer_value(json_object_get(doc, "files_changed"));
            const char *first = json_string_value(json_object_get(doc, "file_changed_first"));
            if (changed && n < len)
                n += (size_t)snprintf(buf + n, len - n, ", %lld kept changing while read (%s)",
                                      (long long)changed, first ? first : "?");
        }
        json_t *pruned = json_object_get(doc, "backups_pruned");
        if (pruned && n < len)
            n += (size_t)snprintf(buf + n, len - n, ", %lld pruned",
                                  (long long)json_integer_value(pruned));
        const char *verified = json_string_value(json_object_get(doc, "verified"));
        if (verified && n < len)
            n += (size_t)snprintf(buf + n, len - n, ", verified %s", verified);
        json_int_t missing = json_integer_value(json_object_get(doc, "files_missing"));
        if (missing && n < len)
            snprintf(buf + n, len - n, "; %lld of the files its rows name were missing",
                     (long long)missing);
    } else if (json_object_get(doc, "rows_deleted") || json_object_get(doc, "rows_updated") ||
               json_object_get(doc, "rows_archived")) {
        bool dry = json_is_true(json_object_get(doc, "dry_run"));
        const char *verb = json_object_get(doc, "rows_updated")    ? "update"
                           : json_object_get(doc, "rows_archived") ? "archive"
                                                                   : "delete";
        json_t *rows = json_object_get(doc, "rows_updated") ? json_object_get(doc, "rows_updated")
                       : json_object_get(doc, "rows_archived")
                           ? json_object_get(doc, "rows_archived")
                           : json_object_get(doc, "rows_deleted");
        bool moved = json_integer_value(json_object_get(doc, "files_moved")) > 0;
        char bytes[32], batches[96] = "", kept[64] = "";
        json_int_t files_kept = json_integer_value(json_object_get(doc, "files_kept"));
        if (files_kept > 0)
            snprintf(kept, sizeof kept, ", %lld kept (still referenced)", (long long)files_kept);
        if (!dry)
            snprintf(batches, sizeof batches, " in %lld transactions (longest %.1f ms)",
                     (long long)json_integer_value(json_object_get(doc, "batches")),
                     json_number_value(json_object_get(doc, "longest_transaction_ms")));
        snprintf(buf, len, "%s%s%s %lld rows%s; files: %lld %s (%s), %lld missing, %lld refused%s",
                 dry ? "would " : "", verb, dry ? "" : "d", (long long)json_integer_value(rows),
                 batches,
                 (long long)json_integer_value(
                     json_object_get(doc, moved ? "files_moved" : "files_deleted")),
                 dry ? (moved ? "to move" : "to delete") : (moved ? "moved" : "deleted"),
                 format_size((uint64_t)json_integer_value(json_object_get(doc, "file_bytes")),
                             bytes, sizeof bytes),
                 (long long)json_integer_value(json_object_get(doc, "files_missing")),
                 (long long)json_integer_value(json_object_get(doc, "files_refused")), kept);
    } else if (json_object_get(doc, "size_before")) {
        bool dry = json_is_true(json_object_get(doc, "dry_run"));
        const char *mode = json_string_value(json_object_get(doc, "mode"));
        const char *skipped = json_string_value(json_object_get(doc, "skipped"));
        char before[32], after[32], freed[32], extras[96];
        int64_t reclaimed = json_integer_value(json_object_get(doc, "bytes_reclaimed"));
        vacuum_extras(doc, dry, extras, sizeof extras);
        if (skipped && *skipped)
            snprintf(buf, len, "VACUUM skipped: %s%s", skipped, extras);
        else if (dry)
            snprintf(buf, len, "would run VACUUM (%s) on %s with %lld free pages%s%s", mode,
                     format_size((uint64_t)json_integer_value(json_object_get(doc, "size_before")),
                                 before, sizeof before),
                     (long long)json_integer_value(json_object_get(doc, "freelist_before")),
                     mode && strcmp(mode, "full") == 0
                         ? "; a full VACUUM blocks the application's writers until it ends"
                         : "",
                     extras);
        else
            snprintf(buf, len,
                     "VACUUM (%s): %s -> %s, reclaimed %s (%.1f%%), longest "
                     "transaction %.1f ms%s",
                     mode,
                     format_size((uint64_t)json_integer_value(json_object_get(doc, "size_before")),
                                 before, sizeof before),
                     format_size((uint64_t)json_integer_value(json_object_get(doc, "size_after")),
                                 after, sizeof after),
                     format_size(reclaimed > 0 ? (uint64_t)reclaimed : 0, freed, sizeof freed),
                     json_number_value(json_object_get(doc, "percent_reclaimed")),
                     json_number_value(json_object_get(doc, "longest_transaction_ms")), extras);
    } else if (json_object_get(doc, "rows_changed")) {
        snprintf(buf, len, "%s %lld rows in one transaction (%.1f ms)",
                 json_is_true(json_object_get(doc, "dry_run")) ? "would change" : "changed",
                 (long long)json_integer_value(json_object_get(doc, "rows_changed")),
                 json_number_value(json_object_get(doc, "longest_transaction_ms")));
    } else if (json_is_array(json_object_get(doc, "disk"))) {
        size_t used = 0, i;
        json_t *p;
        json_array_foreach (json_object_get(doc, "disk"), i, p) {
            char u[32], t[32], f[32];
            if (used >= len)
                break;
            if (json_object_get(p, "error")) {
                used += (size_t)snprintf(buf + used, len - used, "%s%s: %s", i ? "; " : "",
                                         json_string_value(json_object_get(p, "path")),
                                         json_string_value(json_object_get(p, "error")));
                continue;
            }
            used += (size_t)snprintf(
                buf + used, len - used, "%s%s: %s of %s used (%.0f%%), %s free, %zu files larger",
                i ? "; " : "", json_string_value(json_object_get(p, "path")),
                format_size((uint64_t)json_number_value(json_object_get(p, "used_bytes")), u,
                            sizeof u),
                format_size((uint64_t)json_number_value(json_object_get(p, "total_bytes")), t,
                            sizeof t),
                json_number_value(json_object_get(p, "used_percent")),
                format_size((uint64_t)json_number_value(json_object_get(p, "free_bytes")), f,
                            sizeof f),
                json_array_size(json_object_get(p, "files_larger")));
        }
    } else if (json_object_get(doc, "rotate")) {
        char a[32], b[32];
        snprintf(buf, len, "%s %lld of %lld logs (%s)%s; %lld copies compressed, %lld removed (%s)",
                 json_is_true(json_object_get(doc, "dry_run")) ? "would rotate" : "rotated",
                 (long long)json_integer_value(json_object_get(doc, "logs_rotated")),
                 (long long)json_integer_value(json_object_get(doc, "logs_seen")),
                 format_size((uint64_t)json_integer_value(json_object_get(doc, "bytes_rotated")), a,
                             sizeof a),
                 json_integer_value(json_object_get(doc, "logs_skipped")) ? ", some skipped" : "",
                 (long long)json_integer_value(json_object_get(doc, "copies_compressed")),
                 (long long)json_integer_value(json_object_get(doc, "copies_removed")),
                 format_size((uint64_t)json_integer_value(json_object_get(doc, "bytes_removed")), b,
                             sizeof b));
    } else if (json_object_get(doc, "clean")) {
        bool dry = json_is_true(json_object_get(doc, "dry_run"));
        bool moved = json_integer_value(json_object_get(doc, "files_moved")) > 0;
        char bytes[32];
        snprintf(buf, len,
                 "%s %lld files (%s) of %lld scanned; %lld changed meanwhile (skipped), "
                 "%lld failed, %lld empty folders removed",
                 dry ? (moved ? "would move" : "would delete") : (moved ? "moved" : "deleted"),
                 (long long)json_integer_value(
                     json_object_get(doc, moved ? "files_moved" : "files_deleted")),
                 format_size((uint64_t)json_integer_value(json_object_get(doc, "file_bytes")),
                             bytes, sizeof bytes),
                 (long long)json_integer_value(json_object_get(doc, "files_scanned")),
                 (long long)json_integer_value(json_object_get(doc, "files_skipped")),
                 (long long)json_integer_value(json_object_get(doc, "files_failed")),
                 (long long)json_integer_value(json_object_get(doc, "dirs_removed")));
    } else if (json_object_get(doc, "report")) {
        const char *output = json_string_value(json_object_get(doc, "output"));
        snprintf(buf, len, "report: %lld rows%s%s",
                 (long long)json_integer_value(json_object_get(doc, "row_count")),
                 output ? ", written to " : "", output ? output : "");
    } else if (json_object_get(doc, "export")) {
        size_t files = json_array_size(json_object_get(doc, "files"));
        snprintf(buf, len, "exported %lld rows to %zu file%s",
                 (long long)json_integer_value(json_object_get(doc, "rows_exported")), files,
                 files == 1 ? "" : "s");
    } else if (json_object_get(doc, "verify")) {
        const char *subset = json_string_value(json_object_get(doc, "subset"));
        json_int_t ok = json_integer_value(json_object_get(doc, "backups_verified"));
        json_int_t bad = json_integer_value(json_object_get(doc, "backups_failed"));
        if (json_is_true(json_object_get(doc, "dry_run")))
            snprintf(buf, len, "would verify %zu backups%s%s%s",
                     json_array_size(json_object_get(doc, "backups")), subset ? " (subset " : "",
                     subset ? subset : "", subset ? ")" : "");
        else
            snprintf(buf, len, "verified %lld backups%s%s%s, %lld failed", (long long)ok,
                     subset ? " (subset " : "", subset ? subset : "", subset ? ")" : "",
                     (long long)bad);
    } else if (json_object_get(doc, "integrity_ok")) {
        integrity_line(doc, buf, len);
    }
    json_decref(doc);
}
