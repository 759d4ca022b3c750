/* ${NAME} and ${NAME:-default} in configuration values, the way shells and Compose write
 * them, so one config serves hosts whose retention or paths come from their environment. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Expands every ${NAME} (an error when NAME is unset or empty) and ${NAME:-default} (default
 * when NAME is unset or empty) in TEXT; "$${" stands for a literal "${". A '$' not followed by
 * '{' is kept as written. On success *OUT is the expanded text (caller frees) and the return
 * value says whether anything was expanded; on failure returns -1 with WHY set and *OUT NULL. */
int env_expand(const char *text, char **out, char *why, size_t why_size);

/* Calls FN with each NAME that TEXT refers to as ${NAME} or ${NAME:-default}, in order. */
void env_names(const char *text, void (*fn)(const char *name, void *arg), void *arg);
