/* Running a helper program (pg_dump, pg_restore) as a child with an argv array, never a shell
 * command line: no value from the config is ever parsed by a shell. Its environment is ours
 * plus the given NAME=VALUE strings (connection settings and a password travel there rather
 * than in argv, where `ps` shows them). */
#ifndef UK_SPAWN_H
#define UK_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

typedef struct Child {
    pid_t pid;
    int in;            /* its stdin, for us to write; -1 when not asked for */
    int out;           /* its stdout, for us to read; -1 when not asked for */
    int err;           /* its stderr, always read by child_finish / child_pump */
    char errors[2048]; /* the start of what it wrote to stderr */
    size_t errors_len;
} Child;

/* Starts ARGV[0] (looked up in PATH) with pipes for stdin (want_in) and stdout (want_out);
 * ENV is NULL-terminated, may be NULL. With want_in, upkeep ignores SIGPIPE from then on, so
 * writing to a child that has ended fails with EPIPE. 0, or -1 with err set. */
int child_start(Child *c, const char *const *argv, const char *const *env, int want_in,
                int want_out, UkError *err);
/* The same, with the child's working directory set to CWD (a server tool run as another user
 * must not start in a directory that user cannot enter). */
int child_start_in(Child *c, const char *const *argv, const char *const *env, const char *cwd,
                   int want_in, int want_out, UkError *err);
/* Waits until FD (c->in or c->out) is ready for EVENTS (POLLIN, POLLOUT), reading what the
 * child writes to stderr meanwhile so that it never blocks on a full pipe. Returns FD's
 * revents (POLLHUP or POLLERR included), or -1 with err set. WHAT names the child. */
int child_wait(Child *c, int fd, short events, const char *what, UkError *err);
/* Closes our ends, waits for the child and turns a failure into an error naming WHAT, with
 * what it wrote to stderr. 0 when it exited with status 0. */
int child_finish(Child *c, const char *what, UkError *err);
/* Stops a child we no longer need (SIGTERM, then waits). */
void child_kill(Child *c);
/* Runs ARGV to its end within TIMEOUT seconds (then kills it), its stdin and stdout on
 * /dev/null: 0 when it exited with status 0, else an error naming WHAT with the start of
 * what it wrote to stderr. */
int child_run(const char *const *argv, const char *const *env, double timeout, const char *what,
              UkError *err);

#endif
