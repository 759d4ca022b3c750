/* "0640 carapp carapp": a new file's mode, owner and group as logrotate's create writes them.
 * Each part may be left out from the end (and the mode from the front): what is not given
 * is taken from the file being replaced. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

typedef struct FileOwner {
    bool has_mode, has_uid, has_gid;
    mode_t mode;
    uid_t uid;
    gid_t gid;
} FileOwner;

/* Reads TEXT: [MODE] [OWNER [GROUP]], MODE in octal (at most 07777), OWNER and GROUP names
 * or numbers. With RESOLVE false only the form is checked (names need not exist here). */
int file_owner_parse(const char *text, bool resolve, FileOwner *out, UkError *err);
