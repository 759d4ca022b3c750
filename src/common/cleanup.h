/* Temporary files that must not outlive an interrupted run. A file registered here is
 * removed if the process is stopped by SIGINT, SIGTERM or SIGHUP before it unregisters it
 * (kill -9 cannot be caught: prune removes what such a run leaves in a repository). */
#ifndef UK_CLEANUP_H
#define UK_CLEANUP_H

/* Installs the signal handlers (main calls this once). */
void cleanup_install(void);
/* Returns a slot number, or -1 when all slots are taken (the file is then not protected). */
int cleanup_register(const char *path);
void cleanup_unregister(int slot);

#endif
