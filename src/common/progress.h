/* A one-line progress indicator for long work (backup, verify, restore), drawn on stderr
 * only when stderr is a terminal and output is not quiet; otherwise every call is a no-op. */
#ifndef UK_PROGRESS_H
#define UK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct Progress Progress;

Progress *progress_new(const char *label, bool enabled);
void progress_update(Progress *p, uint64_t done, uint64_t total);
/* Clears the line and frees p (NULL is accepted). */
void progress_end(Progress *p);

#endif
