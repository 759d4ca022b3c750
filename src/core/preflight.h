/* What `upkeep check` can know without running anything: the tables and columns row jobs
 * name exist, their folders exist, an archive is not the database itself under another
 * spelling, and secret files are not readable by group or others. The run would fail on each
 * of these; check says so first. Opens databases read-only and changes nothing. */
#ifndef UK_PREFLIGHT_H
#define UK_PREFLIGHT_H

#include "core/config.h"
#include "core/error.h"

/* 0 when every job could start; else -1 with the first problem as "FILE:LINE: message". */
int preflight_config(const Config *config, UkError *err);

#endif
