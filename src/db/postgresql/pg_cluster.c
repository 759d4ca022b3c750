/* A throwaway PostgreSQL cluster (see pg_cluster.h). initdb refuses to run as root, so a root
 * upkeep runs initdb and pg_ctl through setpriv as the postgres user, in a folder that user
 * owns. The server's settings go into its postgresql.conf rather than pg_ctl -o, whose
 * string pg_ctl hands to a shell. */
#include "db/postgresql/pg_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/spawn.h"
#include "common/util.h"
#include "core/log.h"

#define CLUSTER_USER "postgres"
#define START_TIMEOUT "120"

/* Runs one of the cluster's programs (initdb, pg_ctl) to its end, as the cluster's user. */
static int run_tool(const PgCluster *cl, const char *tool, const char *const *args, UkError *err)
{
    char uid_arg[32], gid_arg[32], program[600];
    snprintf(program, sizeof program, "%s%s%s", cl->bindir, cl->bindir[0] ? "/" : "", tool);
    const char *argv[24];
    size_t argc = 0;
    if (cl->as_other_user) {
        snprintf(uid_arg, sizeof uid_arg, "--reuid=%ld", (long)cl->uid);
        snprintf(gid_arg, sizeof gid_arg, "--regid=%ld", (long)cl->gid);
        argv[argc++] = "setpriv";
        argv[argc++] = uid_arg;
        argv[argc++] = gid_arg;
        argv[argc++] = "--clear-groups";
        argv[argc++] = "--";
    }
    argv[argc++] = program;
    for (size_t i = 0; args[i] && argc < 23; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    Child child;
    if (child_start_in(&child, argv, NULL, cl->dir, 0, 0, err) != 0)
        return -1;
    return child_finish(&child, tool, err);
}

/* The first FATAL or PANIC line of the server's log, for a server that did not start. */
static void add_server_error(const PgCluster *cl, UkError *err)
{
    char *log = xasprintf("%s/server.log", cl->dir);
    unsigned char *data = NULL;
    size_t len = 0;
    UkError ignored = {0};
    if (read_file_all(log, 1 << 20, &data, &len, &ignored) == 0) {
        char *text = xmalloc(len + 1);
        memcpy(text, data, len);
        text[len] = '\0';
        char *line = strstr(text, "FATAL:");
        if (!line)
            line = strstr(text, "PANIC:");
        if (line) {
            line[strcspn(line, "\n")] = '\0';
            char *msg = xstrdup(err->msg);
            uk_error_set(err, err->code, err->sys_errno, "%s (%s)", msg, line);
            free(msg);
        }
        free(text);
        free(data);
    }
    free(log);
}

/* Appends the settings: a unix socket in our folder and no TCP listener; no fsync, since
 * the data lives only until verify ends. */
static int write_settings(const PgCluster *cl, UkError *err)
{
    char *conf = xasprintf("%s/data/postgresql.conf", cl->dir);
    FILE *f = fopen(conf, "a");
    if (!f) {
        int e = errno;
        uk_error_set(err, UK_E_IO, e, "unable to open %s", conf);
        free(conf);
        return -1;
    }
    fputs("\n# upkeep verify\nlisten_addresses = ''\nunix_socket_directories = '", f);
    for (const char *p = cl->dir; *p; p++) {
        if (*p == '\'')
            fputc('\'', f);
        fputc(*p, f);
    }
    fputs("'\nport = 5432\nfsync = off\nfull_page_writes = off\nsynchronous_commit = off\n"
          "autovacuum = off\nmax_wal_size = '4GB'\n",
          f);
    int rc = 0;
    if (fclose(f) != 0) {
        int e = errno;
        rc = uk_error_set(err, UK_E_IO, e, "unable to write %s", conf);
    }
    free(conf);
    return rc;
}

/* libpq reads the url's query values percent-decoded: the folder goes in encoded. */
static void set_url(PgCluster *cl)
{
    size_t n = (size_t)snprintf(cl->url, sizeof cl->url, "postgresql://upkeep@/postgres?host=");
    for (const unsigned char *p = (const unsigned char *)cl->dir; *p && n + 4 < sizeof cl->url;
         p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("/-._~", *p))
            cl->url[n++] = (char)*p;
        else
            n += (size_t)snprintf(cl->url + n, sizeof cl->url - n, "%%%02X", *p);
    }
    snprintf(cl->url + n, sizeof cl->url - n, "&port=5432&sslmode=disable");
}

static int find_binaries(PgCluster *cl, const char *server_version)
{
    int major = server_version ? atoi(server_version) : 0;
    cl->bindir[0] = '\0';
    if (major > 0) {
        char initdb[600];
        snprintf(cl->bindir, sizeof cl->bindir, "/usr/lib/postgresql/%d/bin", major);
        snprintf(initdb, sizeof initdb, "%s/initdb", cl->bindir);
        if (access(initdb, X_OK) != 0)
            cl->bindir[0] = '\0';
    }
    return 0;
}

#define DIR_PREFIX "upkeep-verify-"

static pid_t postmaster_pid(const PgCluster *cl);

/* Is process PID a server running in OLD's data folder? (A postmaster works in its data
 * folder; a pid file alone may name a process that has nothing to do with it by now.) */
static bool serves(pid_t pid, const PgCluster *old)
{
    char link[64], cwd[PATH_MAX] = "", *data = xasprintf("%s/data", old->dir);
    snprintf(link, sizeof link, "/proc/%ld/cwd", (long)pid);
    ssize_t n = readlink(link, cwd, sizeof cwd - 1);
    char *real = realpath(data, NULL);
    bool same = n > 0 && real && (cwd[n] = '\0', strcmp(cwd, real) == 0);
    free(real);
    free(data);
    return same;
}

/* Folders of upkeep processes that no longer exist (killed while verifying): their servers are
 * stopped and the folders removed. A folder's name carries its upkeep's pid. */
static void remove_leftovers(const PgCluster *cl, const char *tmp)
{
    DIR *dir = opendir(tmp);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + strlen(DIR_PREFIX), &end, 10);
        if (pid <= 0 || *end != '-' || pid == (long)getpid() ||
            !(kill((pid_t)pid, 0) != 0 && errno == ESRCH))
            continue;
        PgCluster old = *cl;
        snprintf(old.dir, sizeof old.dir, "%s/%s", tmp, e->d_name);
        pid_t server = postmaster_pid(&old);
        old.running = server > 0 && serves(server, &old);
        log_info("removing %s, left by upkeep %ld", old.dir, pid);
        pg_cluster_stop(&old);
    }
    closedir(dir);
}

int pg_cluster_start(PgCluster *cl, const char *server_version, const char *encoding, UkError *err)
{
    memset(cl, 0, sizeof *cl);
    find_binaries(cl, server_version);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(CLUSTER_USER);
        if (!pw)
            return uk_error_set(err, UK_E_CONFIG, 0,
                                "verify_cluster: initdb does not run as root, and there is no "
                                "'%s' user to run the cluster as",
                                CLUSTER_USER);
        cl->as_other_user = true;
        cl->uid = pw->pw_uid;
        cl->gid = pw->pw_gid;
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/var/tmp";
    remove_leftovers(cl, tmp);
    snprintf(cl->dir, sizeof cl->dir, "%s/" DIR_PREFIX "%ld-XXXXXX", tmp, (long)getpid());
    if (!mkdtemp(cl->dir)) {
        int e = errno;
        return uk_error_set(err, UK_E_IO, e,
                            "unable to create a folder for the verify cluster "
                            "(%s)",
                            cl->dir);
    }
    if (cl->as_other_user && chown(cl->dir, cl->uid, cl->gid) != 0) {
        int e = errno;
        uk_error_set(err, UK_E_IO, e, "unable to give %s to the %s user", cl->dir, CLUSTER_USER);
        remove_tree(cl->dir);
        return -1;
    }
    char *data = xasprintf("%s/data", cl->dir);
    char *log = xasprintf("%s/server.log", cl->dir);
    const char *initdb_args[] = {
        "-D",       data, "-U",        "upkeep", "--auth=trust", "-E", encoding ? encoding : "UTF8",
        "--locale", "C",  "--no-sync", NULL};
    const char *start_args[] = {"-D", data, "-l", log, "-w", "-t", START_TIMEOUT, "start", NULL};
    int rc = -1;
    if (run_tool(cl, "initdb", initdb_args, err) != 0 || write_settings(cl, err) != 0)
        goto out;
    if (run_tool(cl, "pg_ctl", start_args, err) != 0) {
        add_server_error(cl, err);
        cl->running = true; /* pg_ctl may give up on a server that still comes up */
        goto out;
    }
    cl->running = true;
    set_url(cl);
    rc = 0;
out:
    if (rc != 0) {
        uk_error_prefix(err, "verify_cluster: ");
        pg_cluster_stop(cl);
    }
    free(data);
    free(log);
    return rc;
}

/* The postmaster's pid from its pid file, for a server pg_ctl could not stop. */
static pid_t postmaster_pid(const PgCluster *cl)
{
    char *path = xasprintf("%s/data/postmaster.pid", cl->dir);
    FILE *f = fopen(path, "r");
    free(path);
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return (pid_t)pid;
}

void pg_cluster_stop(PgCluster *cl)
{
    if (!cl->dir[0])
        return;
    if (cl->running) {
        char *data = xasprintf("%s/data", cl->dir);
        const char *stop_args[] = {"-D", data, "-m", "immediate", "-w", "stop", NULL};
        UkError ignored = {0};
        if (run_tool(cl, "pg_ctl", stop_args, &ignored) != 0) {
            pid_t pid = postmaster_pid(cl);
            if (pid > 0)
                kill(pid, SIGKILL);
        }
        free(data);
        cl->running = false;
    }
    remove_tree(cl->dir);
    cl->dir[0] = '\0';
}
