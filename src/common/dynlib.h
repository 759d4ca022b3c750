/* Libraries loaded on first use rather than linked: libcurl (alerts, S3), libcrypto (hashes),
 * libpq (PostgreSQL). Each brings its own dependencies (TLS, Kerberos, LDAP …) whose
 * relocations and constructors cost megabytes of resident memory in every process that links
 * them, while only the short-lived processes that use them need any of it; the daemon, which
 * forks its runs, stays small. The way systemd loads its optional libraries. */
#ifndef UK_DYNLIB_H
#define UK_DYNLIB_H

#include <stddef.h>

#include "core/error.h"

/* One function to take from a library: where its pointer goes, and the library's name for it. */
typedef struct DynSymbol {
    void **slot;
    const char *name;
} DynSymbol;

/* dlopen()s SONAME (the ABI the headers were compiled against) and fills every slot; the
 * library stays loaded for the life of the process. WHY says what needs it, for the message
 * when it cannot be loaded. 0, or -1 with err set and no slot filled. */
int dynlib_load(const char *soname, const DynSymbol *symbols, size_t n, const char *why,
                UkError *err);

#endif
