/* The status page: a self-contained HTML document (inline CSS and SVG, no external assets)
 * a person reads at a glance: health, jobs with last and next run, recent runs, backups, and
 * charts of the database size and the bytes each backup stored. */
#ifndef UK_PAGE_H
#define UK_PAGE_H

#include "core/config.h"
#include "core/state.h"
#include "health/health.h"

/* Returns the HTML (caller frees). */
char *page_render(const Config *config, State *st, const HealthReport *report);

#endif
