/* `upkeep install`: the files that hand scheduling to systemd or cron. Either one service
 * running `upkeep daemon`, or (with timers) one .service + .timer per scheduled job, or one
 * /etc/cron.d file. Paths are quoted for the reader (systemd or /bin/sh), never interpolated
 * raw. */
#ifndef UK_INSTALL_H
#define UK_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

typedef struct InstallFile {
    char *name; /* file name, e.g. upkeep.service */
    char *text;
} InstallFile;

typedef struct InstallPlan {
    InstallFile *files;
    size_t n_files;
    char **notes; /* what could not be expressed, for the user */
    size_t n_notes;
} InstallPlan;

/* UPKEEP and CONFIG are absolute paths of the executable and the config file. */
void install_systemd(const Config *c, const char *upkeep, const char *config, bool timers,
                     InstallPlan *plan);
void install_cron(const Config *c, const char *upkeep, const char *config, InstallPlan *plan);
void install_plan_free(InstallPlan *plan);

#endif
