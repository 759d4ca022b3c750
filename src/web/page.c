#include "web/page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "core/summary.h"
#include "sched/schedule.h"

#define RECENT_RUNS 15
#define CHART_W 500
#define CHART_H 150

/* Text into HTML (element content and quoted attributes alike). */
static void put(FILE *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*p, out);
        }
    }
}

static const char *status_class(const char *result)
{
    if (!result)
        return "none";
    if (strcmp(result, "success") == 0 || strcmp(result, "OK") == 0 || strcmp(result, "ok") == 0)
        return "ok";
    if (strcmp(result, "failed") == 0 || strcmp(result, "CRITICAL") == 0)
        return "bad";
    if (strcmp(result, "running") == 0)
        return "run";
    return "warn";
}

static void badge(FILE *out, const char *text)
{
    fprintf(out, "<span class=\"b %s\">", status_class(text));
    put(out, text);
    fputs("</span>", out);
}

static const char *when(time_t t, char *buf, size_t len)
{
    return t ? format_time_local(t, buf, len) : "never";
}

static const char *style =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2430;background:#f6f7f9}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}"
    ".meta{color:#5b6472}table{border-collapse:collapse;width:100%;background:#fff}"
    "th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}"
    "th{font-weight:600;color:#5b6472;font-size:12px;text-transform:uppercase}"
    ".b{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600}"
    ".ok{background:#dcf3e3;color:#17603a}.warn{background:#fdf0cf;color:#7a5800}"
    ".bad{background:#fbdcdc;color:#8f1d1d}.run{background:#dde9fb;color:#1d4f8f}"
    ".none{background:#eceef1;color:#5b6472}.num{text-align:right;white-space:nowrap}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart{background:#fff;padding:8px}"
    "svg text{font-size:11px;fill:#5b6472}";

static void health_section(FILE *out, const HealthReport *report)
{
    fputs("<h2>Health</h2><table><tr><th>status</th><th>check</th><th>subject</th>"
          "<th>detail</th></tr>",
          out);
    for (size_t i = 0; i < report->n; i++) {
        const HealthCheck *c = &report->checks[i];
        fputs("<tr><td>", out);
        badge(out, health_status_name(c->status));
        fputs("</td><td>", out);
        put(out, c->check);
        fputs("</td><td>", out);
        put(out, c->subject);
        fputs("</td><td>", out);
        put(out, c->message);
        fputs("</td></tr>", out);
    }
    fputs("</table>", out);
}

static void jobs_section(FILE *out, const Config *config, State *st)
{
    fputs("<h2>Jobs</h2><table><tr><th>job</th><th>task</th><th>schedule</th><th>next run</th>"
          "<th>last run</th><th>result</th><th>summary</th></tr>",
          out);
    for (size_t i = 0; i < config->n_jobs; i++) {
        const ConfigJob *job = config->jobs[i];
        RunRecord last;
        UkError err = {0};
        bool found = state_last_run(st, job->name, &last, &err) == 1;
        char next[64], t[32], line[512] = "";
        if (found)
            run_summary_line(last.summary, line, sizeof line);
        fputs("<tr><td>", out);
        put(out, job->name);
        fputs("</td><td>", out);
        put(out, job->task);
        fputs("</td><td><code>", out);
        put(out, job->schedule ? job->schedule : "manual");
        fputs("</code></td><td>", out);
        put(out, schedule_next_text(config, job, next, sizeof next));
        fputs("</td><td>", out);
        put(out, found ? when(last.started_at, t, sizeof t) : "never");
        fputs("</td><td>", out);
        if (found)
            badge(out, last.result);
        fputs("</td><td>", out);
        put(out, found && last.error ? last.error : line);
        fputs("</td></tr>", out);
        if (found) {
            free(last.summary);
            free(last.error);
        }
    }
    fputs("</table>", out);
}

static void runs_section(FILE *out, State *st)
{
    RunRecord *runs = NULL;
    size_t n = 0;
    UkError err = {0};
    if (state_history(st, NULL, RECENT_RUNS, &runs, &n, &err) != 0)
        return;
    fputs("<h2>Recent runs</h2><table><tr><th>started</th><th>job</th><th>trigger</th>"
          "<th class=num>duration</th><th>result</th><th>summary</th></tr>",
          out);
    for (size_t i = 0; i < n; i++) {
        const RunRecord *r = &runs[i];
        char t[32], d[32], line[512] = "";
        run_summary_line(r->summary, line, sizeof line);
        fputs("<tr><td>", out);
        put(out, when(r->started_at, t, sizeof t));
        fputs("</td><td>", out);
        put(out, r->job);
        fputs("</td><td>", out);
        put(out, r->trigger);
        fprintf(out, "</td><td class=num>%s</td><td>",
                r->ended_at ? format_duration((double)(r->ended_at - r->started_at), d, sizeof d)
                            : "-");
        badge(out, r->result);
        fputs("</td><td>", out);
        put(out, r->error ? r->error : line);
        fputs("</td></tr>", out);
    }
    fputs("</table>", out);
    state_runs_free(runs, n);
}

/* A line (database size) or bars (bytes stored) over the backups, oldest to newest. */
static void chart(FILE *out, const char *title, const BackupRecord *list, size_t n, bool bars)
{
    double max = 0;
    for (size_t i = 0; i < n; i++) {
        double v = (double)(bars ? list[i].stored_bytes : list[i].image_size);
        max = fmax(max, v);
    }
    char top[32];
    format_size((uint64_t)max, top, sizeof top);
    fprintf(out, "<div class=chart><svg role=img width=%d height=%d viewBox=\"0 0 %d %d\">",
            CHART_W, CHART_H + 30, CHART_W, CHART_H + 30);
    fputs("<title>", out);
    put(out, title);
    fputs("</title><text x=4 y=12>", out);
    put(out, title);
    fprintf(out, " (max %s)</text>", top);
    const double left = 4, width = CHART_W - 8, base = CHART_H + 14, height = CHART_H - 14;
    fprintf(out, "<line x1=%.0f y1=%.0f x2=%.0f y2=%.0f stroke=#c9ced6 />", left, base,
            left + width, base);
    if (n == 0) {
        fprintf(out, "<text x=%.0f y=%.0f>no backups yet</text>", left + 8, base - 8);
    } else if (bars) {
        double w = width / (double)n;
        for (size_t i = 0; i < n; i++) {
            double h = max > 0 ? height * (double)list[i].stored_bytes / max : 0;
            fprintf(out,
                    "<rect x=%.1f y=%.1f width=%.1f height=%.1f fill=#4f7fd9><title>%llu "
                    "bytes</title></rect>",
                    left + w * (double)i + w * 0.1, base - h, w * 0.8, h,
                    (unsigned long long)list[i].stored_bytes);
        }
    } else {
        fputs("<polyline fill=none stroke=#2f8f5b stroke-width=2 points=\"", out);
        for (size_t i = 0; i < n; i++) {
            double x = n == 1 ? left + width / 2 : left + width * (double)i / (double)(n - 1);
            double y = base - (max > 0 ? height * (double)list[i].image_size / max : 0);
            fprintf(out, "%.1f,%.1f ", x, y);
        }
        fputs("\"/>", out);
    }
    fputs("</svg></div>", out);
}

static void backups_section(FILE *out, const Config *config, State *st)
{
    BackupRecord *list = NULL;
    size_t n = 0;
    UkError err = {0};
    if (state_backups(st, NULL, &list, &n, &err) != 0)
        return;
    fputs("<h2>Backups</h2><div class=charts>", out);
    for (size_t d = 0; d < config->n_databases; d++) {
        /* This database's backups, oldest first (the catalogue's order). */
        BackupRecord *mine = xcalloc(n ? n : 1, sizeof *mine);
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(list[i].database, config->databases[d]->name) == 0)
                mine[m++] = list[i];
        if (m > 0) {
            char title[200];
            snprintf(title, sizeof title, "Database '%s' size at each backup",
                     config->databases[d]->name);
            chart(out, title, mine, m, false);
            snprintf(title, sizeof title, "Bytes stored by each backup of '%s'",
                     config->databases[d]->name);
            chart(out, title, mine, m, true);
        }
        free(mine);
    }
    fputs("</div><table><tr><th>id</th><th>database</th><th>repository</th><th>taken</th>"
          "<th class=num>size</th><th class=num>stored</th><th>tags</th><th>verified</th></tr>",
          out);
    for (size_t k = n; k-- > 0 && n - k <= 30;) { /* the newest 30 */
        const BackupRecord *b = &list[k];
        char t[32], s1[32], s2[32], v[32];
        fputs("<tr><td><code>", out);
        put(out, b->id);
        fputs("</code></td><td>", out);
        put(out, b->database);
        fputs("</td><td>", out);
        put(out, b->repository);
        fputs("</td><td>", out);
        put(out, when(b->created_at, t, sizeof t));
        fprintf(out, "</td><td class=num>%s</td><td class=num>%s</td><td>",
                format_size(b->image_size, s1, sizeof s1),
                format_size(b->stored_bytes, s2, sizeof s2));
        put(out, b->tags);
        fputs("</td><td>", out);
        if (b->verified_at) {
            badge(out, b->verify_result);
            fputc(' ', out);
            put(out, when(b->verified_at, v, sizeof v));
        } else {
            badge(out, "never");
        }
        fputs("</td></tr>", out);
    }
    fputs("</table>", out);
    free(list);
}

char *page_render(const Config *config, State *st, const HealthReport *report)
{
    char *html = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&html, &len);
    char host[256] = "", t[32];
    gethostname(host, sizeof host - 1);
    fprintf(out, "<!doctype html><html lang=en><head><meta charset=utf-8>"
                 "<meta name=viewport content=\"width=device-width\">"
                 "<meta http-equiv=refresh content=60><title>upkeep on ");
    put(out, host);
    fprintf(out, "</title><style>%s</style></head><body><h1>upkeep on ", style);
    put(out, host);
    fputs(" ", out);
    badge(out, health_status_name(report->overall));
    fputs("</h1><div class=meta>", out);
    put(out, config->path);
    fprintf(out, " &middot; %s</div>", when(report->at, t, sizeof t));
    health_section(out, report);
    jobs_section(out, config, st);
    backups_section(out, config, st);
    runs_section(out, st);
    fputs("</body></html>\n", out);
    fclose(out);
    return html;
}
