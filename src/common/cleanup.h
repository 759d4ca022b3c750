/* Temporary files that must not outlive an interrupted run. A file registered here is
 * removed if the process is stopped by SIGINT, SIGTERM or SIGHUP before it unregisters it
 * (kill -9 cannot be caught: prune removes what such a run leaves in a repository). */
#ifndef UK_CLEANUP_H
#define UK_CLEANUP_H

#include <signal.h>

/* Installs the signal handlers (main calls this once). */
void cleanup_install(void);

/* Holds the stopping signals back until cleanup_release(). Create the file and register it
 * in between, so that no signal can fall after the file appears and before it is known. */
void cleanup_hold(sigset_t *saved);
void cleanup_release(const sigset_t *saved);

/* Returns a slot number, or -1 when all slots are taken (the file is then not protected).
 * SUFFIXES, NULL or NULL-terminated, names companion files (PATH + suffix, e.g. "-wal")
 * removed along with it. */
int cleanup_register(const char *path, const char *const *suffixes);
void cleanup_unregister(int slot);

/* Crash tests: when $UPKEEP_CRASH_AT equals NAME, the process kills itself with SIGKILL right
 * here, as a power cut or kill -9 at this instant would. Placed between the steps whose
 * order makes a change safe. */
void cleanup_crash_point(const char *name);

#endif
