/* A throwaway PostgreSQL cluster for verify (verify_cluster = yes): initdb in a fresh private
 * folder, a server listening only on a unix socket there, its bootstrap superuser "upkeep"
 * trusted on that socket, and everything gone again after pg_cluster_stop. Being superuser
 * there is the point: a backup's extensions restore and amcheck runs whatever role made the
 * backup. */
#ifndef UK_PG_CLUSTER_H
#define UK_PG_CLUSTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

typedef struct PgCluster {
    char dir[512];      /* the folder holding data/, the socket and server.log */
    char bindir[512];   /* where initdb and pg_ctl are; "" for PATH */
    char url[1200];     /* postgresql://upkeep@/postgres?host=DIR… */
    bool as_other_user; /* upkeep is root: the cluster runs as the postgres user */
    uid_t uid;
    gid_t gid;
    bool running;
} PgCluster;

/* Starts a cluster of SERVER_VERSION's major version when its binaries are installed
 * (/usr/lib/postgresql/MAJOR/bin), else of initdb and pg_ctl in PATH, in ENCODING (NULL:
 * UTF8). Folders that an earlier upkeep, since gone, left behind (killed mid-verify) are
 * removed first, their servers stopped. 0, or -1 with err set and nothing left behind. */
int pg_cluster_start(PgCluster *cluster, const char *server_version, const char *encoding,
                     UkError *err);
/* Stops the server at once (its data is thrown away) and removes the folder. */
void pg_cluster_stop(PgCluster *cluster);

#endif
