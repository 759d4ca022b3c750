#include "common/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

extern char **environ;

#define PIPE_BYTES (1024 * 1024)

/* Our environment with ENV's entries added, replacing variables of the same name. */
static char **merged_environment(const char *const *env)
{
    size_t n_own = 0, n_add = 0;
    while (environ[n_own])
        n_own++;
    while (env && env[n_add])
        n_add++;
    char **out = xcalloc(n_own + n_add + 1, sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < n_own; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int replaced = 0;
        for (size_t k = 0; k < n_add && !replaced; k++)
            replaced = strncmp(env[k], environ[i], name_len) == 0 && env[k][name_len] == '=';
        if (!replaced)
            out[n++] = environ[i];
    }
    for (size_t k = 0; k < n_add; k++)
        out[n++] = (char *)env[k];
    return out;
}

int child_start(Child *c, const char *const *argv, const char *const *env, int want_in,
                int want_out, UkError *err)
{
    return child_start_in(c, argv, env, NULL, want_in, want_out, err);
}

int child_start_in(Child *c, const char *const *argv, const char *const *env, const char *cwd,
                   int want_in, int want_out, UkError *err)
{
    memset(c, 0, sizeof *c);
    c->in = c->out = c->err = -1;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    if ((want_in && pipe2(in, O_CLOEXEC) != 0) || (want_out && pipe2(out, O_CLOEXEC) != 0) ||
        pipe2(errp, O_CLOEXEC) != 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (out[i] >= 0)
                close(out[i]);
        }
        return uk_error_set(err, UK_E_IO, e, "unable to create a pipe for %s", argv[0]);
    }
    /* A dump streams hundreds of megabytes through these pipes: 1 MiB of room instead of
     * 64 KiB lets each side run for longer before the other must be woken (the dump's wall
     * time fell by a tenth). Best effort: a lower pipe-max-size just keeps the default. */
    if (want_in)
        fcntl(in[1], F_SETPIPE_SZ, PIPE_BYTES);
    if (want_out)
        fcntl(out[0], F_SETPIPE_SZ, PIPE_BYTES);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (want_in)
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    else
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (want_out)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    else
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, errp[1], 2);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&actions, cwd);
    /* A child that stops reading early (pg_restore refusing a damaged dump) must make our
     * write fail with EPIPE, not kill upkeep; the child itself gets the default back. */
    if (want_in)
        signal(SIGPIPE, SIG_IGN);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    char **envp = merged_environment(env);
    int rc = posix_spawnp(&c->pid, argv[0], &actions, &attr, (char *const *)argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    free(envp);
    if (want_in)
        close(in[0]);
    if (want_out)
        close(out[1]);
    close(errp[1]);
    if (rc != 0) {
        if (want_in)
            close(in[1]);
        if (want_out)
            close(out[0]);
        close(errp[0]);
        return uk_error_set(err, UK_E_IO, rc, "unable to run %s", argv[0]);
    }
    c->in = want_in ? in[1] : -1;
    c->out = want_out ? out[0] : -1;
    c->err = errp[0];
    return 0;
}

/* Reads what the child wrote to stderr, keeping the start. 0 at its end, 1 otherwise. */
static int child_read_errors(Child *c)
{
    char buf[4096];
    ssize_t n = read(c->err, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n <= 0)
        return 0;
    size_t room = sizeof c->errors - 1 - c->errors_len;
    size_t keep = (size_t)n < room ? (size_t)n : room;
    memcpy(c->errors + c->errors_len, buf, keep);
    c->errors_len += keep;
    c->errors[c->errors_len] = '\0';
    return 1;
}

int child_wait(Child *c, int fd, short events, const char *what, UkError *err)
{
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = events}, {.fd = c->err, .events = POLLIN}};
        if (poll(fds, c->err >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return uk_error_set(err, UK_E_IO, errno, "unable to wait for %s", what);
        }
        if (c->err >= 0 && (fds[1].revents & (POLLIN | POLLHUP)) && !child_read_errors(c)) {
            close(c->err);
            c->err = -1;
        }
        if (fds[0].revents)
            return fds[0].revents;
    }
}

static void close_ends(Child *c)
{
    if (c->in >= 0)
        close(c->in);
    if (c->out >= 0)
        close(c->out);
    c->in = c->out = -1;
}

int child_finish(Child *c, const char *what, UkError *err)
{
    close_ends(c);
    while (c->err >= 0 && child_read_errors(c))
        ;
    if (c->err >= 0)
        close(c->err);
    c->err = -1;
    int status = 0;
    while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    /* The first line says what went wrong; later ones are detail. */
    char *nl = strchr(c->errors, '\n');
    if (nl)
        *nl = '\0';
    if (WIFSIGNALED(status))
        return uk_error_set(err, UK_E_IO, 0, "%s was killed by signal %d%s%s", what,
                            WTERMSIG(status), *c->errors ? ": " : "", c->errors);
    return uk_error_set(err, UK_E_IO, 0, "%s failed (exit status %d)%s%s", what,
                        WEXITSTATUS(status), *c->errors ? ": " : "", c->errors);
}

void child_kill(Child *c)
{
    close_ends(c);
    kill(c->pid, SIGTERM);
    if (c->err >= 0)
        close(c->err);
    c->err = -1;
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

int child_run(const char *const *argv, const char *const *env, double timeout, const char *what,
              UkError *err)
{
    Child c;
    if (child_start(&c, argv, env, 0, 0, err) != 0)
        return -1;
    double deadline = monotonic_seconds() + timeout;
    /* Its stderr is read as it comes (a full pipe would stop it) while it runs; its end is
     * its exit, even when something it started in the background keeps stderr open. */
    int status = 0;
    pid_t done;
    while ((done = waitpid(c.pid, &status, WNOHANG)) == 0 && monotonic_seconds() < deadline) {
        struct pollfd fd = {.fd = c.err, .events = POLLIN};
        if (c.err < 0) {
            struct timespec pause = {0, 20 * 1000 * 1000};
            nanosleep(&pause, NULL);
        } else if (poll(&fd, 1, 20) > 0 && !child_read_errors(&c)) {
            close(c.err);
            c.err = -1;
        }
    }
    /* What it wrote just before it ended (without waiting on a pipe others keep open). */
    for (struct pollfd fd = {.fd = c.err, .events = POLLIN};
         c.err >= 0 && poll(&fd, 1, 0) > 0 && child_read_errors(&c);)
        ;
    if (done == 0) {
        kill(c.pid, SIGKILL);
        while (waitpid(c.pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (c.err >= 0)
            close(c.err);
        return uk_error_set(err, UK_E_IO, 0, "%s did not finish within %g s", what, timeout);
    }
    if (c.err >= 0)
        close(c.err);
    c.err = -1;
    c.pid = 0;
    char *nl = strchr(c.errors, '\n');
    if (nl)
        *nl = '\0';
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return uk_error_set(err, UK_E_IO, 0, "%s failed (exit status %d)%s%s", what,
                        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                        *c.errors ? ": " : "", c.errors);
}
