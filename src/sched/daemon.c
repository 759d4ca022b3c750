#include "sched/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "core/log.h"
#include "alert/alert.h"
#include "core/runner.h"
#include "health/health.h"
#include "health/metrics.h"
#include "sched/cron.h"
#include "sched/schedule.h"
#include "sched/tz.h"
#include "web/http.h"

#define KILL_AFTER 10.0 /* seconds between SIGTERM and SIGKILL for a child that does not stop */

typedef enum { STOP_NONE, STOP_TIMEOUT, STOP_SHUTDOWN } StopReason;

typedef struct Slot {
    char *job;      /* name; the ConfigJob is looked up again after a reload */
    bool scheduled; /* has a valid schedule in the current config */
    CronSpec spec;
    double tick;         /* the nominal time of the next run (no jitter); 0: none */
    double due;          /* tick plus this run's jitter */
    pid_t pid;           /* running child, 0 when idle */
    double started;      /* when the child started */
    int attempt;         /* 1 for a tick's first run, 2.. for retries */
    double retry_at;     /* 0: no retry pending */
    StopReason stop;     /* why the child was sent SIGTERM */
    double term_sent;    /* when */
    bool overlap_warned; /* a tick was skipped during this run (warned once) */
    bool catch_up;       /* run once now for a tick missed while the daemon was down */
    unsigned skipped;    /* ticks skipped during this run */
} Slot;

typedef struct Daemon {
    const DaemonOptions *opts;
    Config *config;
    State *st;
    Slot *slots;
    size_t n_slots;
    bool stopping;
    double stop_deadline;
    FILE *log_file;
    int signal_fd, timer_fd, pid_fd;
    double next_health; /* when health is evaluated next */
    WebServer *web;     /* the HTTP endpoint, NULL when listen = off */
} Daemon;

static double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *job_zone(const Daemon *d, const ConfigJob *job)
{
    return schedule_zone(d->config, job);
}

static const char *format_when(const Daemon *d, const ConfigJob *job, double t, char *buf,
                               size_t len)
{
    TzScope scope;
    tz_enter(&scope, job_zone(d, job));
    tz_format((time_t)t, buf, len);
    tz_leave(&scope);
    return buf;
}

/* The next nominal tick strictly after AFTER, and the due time with a fresh jitter. */
static void plan_next(Daemon *d, Slot *s, const ConfigJob *job, double after)
{
    time_t next;
    if (!s->scheduled || cron_next(&s->spec, job_zone(d, job), (time_t)floor(after), &next) != 0) {
        s->tick = s->due = 0;
        return;
    }
    s->tick = (double)next;
    s->due = s->tick;
    if (job->jitter > 0)
        s->due += (double)(random() % (job->jitter * 1000)) / 1000.0;
}

static Slot *find_slot(Daemon *d, const char *job)
{
    for (size_t i = 0; i < d->n_slots; i++)
        if (strcmp(d->slots[i].job, job) == 0)
            return &d->slots[i];
    return NULL;
}

/* Matches slots to the jobs of the current config: new jobs get a slot, removed ones keep
 * theirs (unscheduled) until their child ends. */
static void sync_slots(Daemon *d, double now)
{
    for (size_t i = 0; i < d->n_slots; i++)
        d->slots[i].scheduled = false;
    for (size_t i = 0; i < d->config->n_jobs; i++) {
        const ConfigJob *job = d->config->jobs[i];
        Slot *s = find_slot(d, job->name);
        if (!s) {
            d->slots = xrealloc(d->slots, (d->n_slots + 1) * sizeof *d->slots);
            s = &d->slots[d->n_slots++];
            memset(s, 0, sizeof *s);
            s->job = xstrdup(job->name);
        }
        char why[200];
        s->scheduled = job->enabled && job->schedule &&
                       cron_parse(job->schedule, &s->spec, why, sizeof why) == 0;
        plan_next(d, s, job, now);
    }
}

/* Forks a worker. In the worker (return 0) only the log file is left of the daemon's
 * descriptors (not its pid-file lock, listening socket, HTTP connections, signal and timer
 * fds), signals are unblocked, and *WORKER_STATE is a state connection of its own (NULL if
 * it could not be opened): SQLite's per-process file state must not cross fork(), so the
 * daemon closes its connection around it. */
static pid_t fork_worker(Daemon *d, State **worker_state)
{
    char *state_file = xstrdup(state_path(d->st));
    state_suspend(d->st);
    pid_t pid = fork();
    if (pid == 0) {
        int keep = d->log_file ? fileno(d->log_file) : -1;
        if (keep > 3)
            close_range(3, (unsigned)keep - 1, 0);
        close_range(keep >= 3 ? (unsigned)keep + 1 : 3, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        UkError err = {0};
        if (state_open(state_file, worker_state, &err) != 0)
            log_error("state database: %s", err.msg);
        free(state_file);
        return 0;
    }
    int fork_errno = errno;
    free(state_file);
    UkError err = {0};
    if (state_resume(d->st, &err) != 0)
        log_error("state database: %s", err.msg);
    errno = fork_errno; /* for the caller's message when fork() failed */
    return pid;
}

/* The child runs the job through the runner with the configuration the daemon holds, so a
 * config file edited (or broken) since the last good reload changes nothing until SIGHUP. */
static void start_child(Daemon *d, Slot *s, const ConfigJob *job, int attempt, double now)
{
    State *st = NULL;
    pid_t pid = fork_worker(d, &st);
    if (pid < 0) {
        log_error("job '%s': unable to start: %s", job->name, strerror(errno));
        return;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group: a stop reaches whatever it starts */
        UkError err = {0};
        RunOutcome outcome;
        RunOptions run = {.trigger = "schedule"};
        int code = 1;
        if (!st || runner_run_job(d->config, st, job, &run, &outcome, &err) != 0) {
            log_error("job '%s': %s", job->name, st ? err.msg : "no state database");
        } else {
            code = strcmp(outcome.result, "success") == 0 ? 0 : 1;
            run_outcome_clear(&outcome);
        }
        state_close(st);
        _exit(code);
    }
    setpgid(pid, pid);
    s->pid = pid;
    s->started = now;
    s->attempt = attempt;
    s->retry_at = 0;
    s->stop = STOP_NONE;
    s->overlap_warned = false;
    s->skipped = 0;
    if (attempt > 1)
        log_info("job '%s' started (retry %d of %d)", job->name, attempt - 1, job->retries);
    else
        log_info("job '%s' started", job->name);
}

/* Alerts can take their channels' timeouts: a child sends them, the loop goes on. */
static void send_health_alerts(Daemon *d, const HealthReport *report, const HealthChange *changes,
                               size_t n_changes)
{
    State *st = NULL;
    pid_t pid = fork_worker(d, &st);
    if (pid == 0) {
        if (st) {
            alerts_health(d->config, st, report, changes, n_changes);
            alerts_flush(d->config, st);
        }
        state_close(st);
        _exit(0);
    }
    if (pid < 0)
        log_warn("unable to start sending alerts: %s", strerror(errno));
}

/* Evaluates health and rewrites the metrics textfile. With ACT (on the health interval) it
 * also records the statuses and starts the on_critical jobs of checks that turned critical. */
static void check_health(Daemon *d, double now, bool act)
{
    if (!act && !d->config->metrics_textfile)
        return;
    HealthReport report;
    health_evaluate(d->config, d->st, &report);
    if (act) {
        HealthAction *actions = NULL;
        size_t n_actions = 0, n_changes = 0;
        HealthChange *changes = NULL;
        health_record(d->config, d->st, &report, &actions, &n_actions, &changes, &n_changes);
        if (d->config->n_alerts > 0)
            send_health_alerts(d, &report, changes, n_changes);
        free(changes);
        for (size_t i = 0; i < n_actions && !d->stopping; i++) {
            const HealthAction *a = &actions[i];
            const HealthCheck *c = &report.checks[a->check];
            if (a->command) {
                UkError err = {0};
                log_warn("%s %s turned critical: running '%s' (%s)", c->check, c->subject,
                         a->command, a->key);
                if (health_run_command(&report, a, &err) != 0)
                    log_error("%s", err.msg);
                continue;
            }
            if (!a->job->enabled) {
                log_warn("%s %s turned critical; its %s job '%s' is disabled", c->check, c->subject,
                         a->key, a->job->name);
                continue;
            }
            log_warn("%s %s turned critical: running job '%s' (%s)", c->check, c->subject,
                     a->job->name, a->key);
            Slot *s = find_slot(d, a->job->name);
            if (s && !s->pid)
                start_child(d, s, a->job, 1, now);
        }
        free(actions);
        if (report.overall != HEALTH_OK)
            for (size_t i = 0; i < report.n; i++)
                if (report.checks[i].status != HEALTH_OK)
                    log_info("health %s: %s", health_status_name(report.checks[i].status),
                             report.checks[i].message);
    }
    if (d->config->metrics_textfile) {
        char *text = metrics_render(d->config, d->st, &report);
        UkError err = {0};
        if (write_file_atomic(d->config->metrics_textfile, text, strlen(text), false, &err) != 0)
            log_warn("metrics_textfile: %s", err.msg);
        free(text);
    }
    health_report_clear(&report);
}

static void record_skipped_tick(Daemon *d, Slot *s, const ConfigJob *job)
{
    s->skipped++;
    if (s->overlap_warned)
        return;
    s->overlap_warned = true;
    char since[64];
    format_when(d, job, s->started, since, sizeof since);
    char *msg = xasprintf("still running since %s", since);
    int64_t id;
    UkError err = {0};
    if (state_run_begin(d->st, job->name, job->task, "schedule", &id, &err) == 0)
        state_run_end(d->st, id, "skipped", NULL, msg, &err);
    log_warn("job '%s': a run was due but the previous one is %s; skipped (further skips "
             "during this run are counted, not logged)",
             job->name, msg);
    free(msg);
}

/* A child ended: log what its run recorded, and plan a retry if it failed. */
static void child_ended(Daemon *d, Slot *s, int status, double now)
{
    const ConfigJob *job = config_find_job(d->config, s->job);
    pid_t pid = s->pid;
    s->pid = 0;
    UkError err = {0};
    if (WIFSIGNALED(status) || s->stop != STOP_NONE) {
        char msg[160], limit[32];
        if (s->stop == STOP_TIMEOUT)
            snprintf(msg, sizeof msg, "stopped after its timeout of %s",
                     job ? format_duration((double)job->timeout, limit, sizeof limit) : "?");
        else if (s->stop == STOP_SHUTDOWN)
            snprintf(msg, sizeof msg, "stopped: the daemon was shutting down");
        else
            snprintf(msg, sizeof msg, "ended by signal %d", WTERMSIG(status));
        state_run_stopped(d->st, pid, s->stop == STOP_SHUTDOWN ? "interrupted" : "failed", msg,
                          &err);
    }
    RunRecord last;
    bool found = state_run_of_process(d->st, s->job, pid, &last, &err) == 1;
    const char *result = found ? last.result : "failed";
    double seconds = now - s->started;
    char d_buf[32], line[512] = "";
    if (found && strcmp(result, "success") == 0 && d->opts->describe && last.summary)
        d->opts->describe(last.summary, line, sizeof line);
    if (strcmp(result, "success") == 0)
        log_info("job '%s' success in %s%s%s", s->job,
                 format_duration(seconds, d_buf, sizeof d_buf), line[0] ? ": " : "", line);
    else if (strcmp(result, "skipped") == 0)
        log_info("job '%s' skipped: %s", s->job, found && last.error ? last.error : "");
    else
        log_error("job '%s' %s after %s: %s", s->job, result,
                  format_duration(seconds, d_buf, sizeof d_buf),
                  found && last.error ? last.error : "(no record; see the lines above)");
    if (s->skipped > 1)
        log_warn("job '%s': %u due runs were skipped while it ran", s->job, s->skipped);
    bool failed = strcmp(result, "failed") == 0;
    if (failed && job && !d->stopping && s->attempt <= job->retries) {
        double delay = (double)job->retry_delay * pow(2.0, s->attempt - 1);
        s->retry_at = now + delay;
        char when[64];
        log_info("job '%s': retry %d of %d at %s", s->job, s->attempt, job->retries,
                 format_when(d, job, s->retry_at, when, sizeof when));
    }
    if (found) {
        free(last.summary);
        free(last.error);
    }
}

static void reap(Daemon *d)
{
    int status;
    pid_t pid;
    bool ended = false;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < d->n_slots; i++) {
            if (d->slots[i].pid == pid) {
                child_ended(d, &d->slots[i], status, now_wall());
                ended = true;
                break;
            }
        }
    }
    if (ended)
        check_health(d, now_wall(), false); /* the textfile follows every run */
}

static void reload(Daemon *d)
{
    Config *fresh = NULL;
    UkError err = {0};
    if (config_load(d->opts->config_path, &fresh, &err) != 0) {
        log_error("config not reloaded, the previous one stays in force: %s", err.msg);
        return;
    }
    config_free(d->config);
    d->config = fresh;
    sync_slots(d, now_wall());
    size_t scheduled = 0;
    for (size_t i = 0; i < d->n_slots; i++)
        scheduled += d->slots[i].scheduled;
    log_info("config reloaded: %zu scheduled job%s", scheduled, scheduled == 1 ? "" : "s");
}

/* At start: a job whose last run is older than a tick that has passed (within its window)
 * runs once now. A job that never ran has nothing to catch up. */
static void catch_up(Daemon *d, double now)
{
    for (size_t i = 0; i < d->n_slots; i++) {
        Slot *s = &d->slots[i];
        const ConfigJob *job = config_find_job(d->config, s->job);
        if (!s->scheduled || !job || !job->catch_up)
            continue;
        RunRecord last;
        UkError err = {0};
        if (state_last_run(d->st, s->job, &last, &err) != 1)
            continue;
        double from = fmax((double)last.started_at, now - (double)job->catch_up_window);
        free(last.summary);
        free(last.error);
        time_t missed;
        if (cron_next(&s->spec, job_zone(d, job), (time_t)from, &missed) == 0 &&
            (double)missed <= now) {
            char when[64];
            log_info("job '%s': catching up the run due at %s, missed while the daemon was down",
                     s->job, format_when(d, job, (double)missed, when, sizeof when));
            s->catch_up = true;
        }
    }
}

static void signal_children(Daemon *d, int sig, StopReason reason, double now)
{
    for (size_t i = 0; i < d->n_slots; i++) {
        Slot *s = &d->slots[i];
        if (!s->pid)
            continue;
        if (sig == SIGTERM) {
            if (s->stop != STOP_NONE)
                continue;
            s->stop = reason;
            s->term_sent = now;
        }
        kill(-s->pid, sig);
    }
}

/* Starts what is due and enforces timeouts; returns the next time anything needs doing
 * (0: nothing planned). */
static double step(Daemon *d, double now)
{
    double wake = 0;
#define WAKE_AT(t)                                                                                 \
    do {                                                                                           \
        double t_ = (t);                                                                           \
        if (t_ > 0 && (wake == 0 || t_ < wake))                                                    \
            wake = t_;                                                                             \
    } while (0)
    if (!d->stopping && d->config->health_interval > 0) {
        if (now >= d->next_health) {
            check_health(d, now, true);
            d->next_health = now + (double)d->config->health_interval;
        }
        WAKE_AT(d->next_health);
    }
    for (size_t i = 0; i < d->n_slots; i++) {
        Slot *s = &d->slots[i];
        const ConfigJob *job = config_find_job(d->config, s->job);
        if (!d->stopping && job) {
            if (!s->pid && s->catch_up)
                start_child(d, s, job, 1, now);
            s->catch_up = false;
            if (!s->pid && s->retry_at > 0 && s->retry_at <= now)
                start_child(d, s, job, s->attempt + 1, now);
            if (s->due > 0 && s->due <= now) {
                if (s->pid)
                    record_skipped_tick(d, s, job);
                else
                    start_child(d, s, job, 1, now); /* a new tick replaces a pending retry */
                plan_next(d, s, job, fmax(now, s->tick));
            }
            WAKE_AT(s->due);
            if (!s->pid)
                WAKE_AT(s->retry_at);
        }
        if (s->pid && job && job->timeout > 0 && s->stop == STOP_NONE) {
            double limit = s->started + (double)job->timeout;
            if (now >= limit) {
                log_warn("job '%s' passed its timeout; stopping it", s->job);
                s->stop = STOP_TIMEOUT;
                s->term_sent = now;
                kill(-s->pid, SIGTERM);
            } else {
                WAKE_AT(limit);
            }
        }
        if (s->pid && s->stop != STOP_NONE) {
            if (now >= s->term_sent + KILL_AFTER)
                kill(-s->pid, SIGKILL);
            else
                WAKE_AT(s->term_sent + KILL_AFTER);
        }
    }
    if (d->stopping) {
        if (now >= d->stop_deadline)
            signal_children(d, SIGTERM, STOP_SHUTDOWN, now);
        else
            WAKE_AT(d->stop_deadline);
    }
#undef WAKE_AT
    return wake;
}

static bool children_running(const Daemon *d)
{
    for (size_t i = 0; i < d->n_slots; i++)
        if (d->slots[i].pid)
            return true;
    return false;
}

static char *pid_file_path(const char *state_path)
{
    char *dir = path_dirname(state_path);
    char *path = xasprintf("%s/daemon.pid", dir);
    free(dir);
    return path;
}

bool daemon_is_running(const char *state_path, pid_t *pid)
{
    char *path = pid_file_path(state_path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return false;
    bool running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (running && pid) {
        char buf[32] = "";
        ssize_t n = read(fd, buf, sizeof buf - 1);
        *pid = n > 0 ? (pid_t)atol(buf) : 0;
    }
    close(fd);
    return running;
}

static void log_plan(Daemon *d)
{
    size_t scheduled = 0;
    for (size_t i = 0; i < d->n_slots; i++) {
        Slot *s = &d->slots[i];
        const ConfigJob *job = config_find_job(d->config, s->job);
        if (!s->scheduled || !job)
            continue;
        scheduled++;
        char when[64];
        log_info("job '%s' (%s): next run %s", s->job, job->schedule,
                 s->due > 0 ? format_when(d, job, s->due, when, sizeof when) : "never");
    }
    if (scheduled == 0)
        log_warn("no job has a schedule: the daemon has nothing to do");
}

int daemon_run(const DaemonOptions *opts, Config **config, State *st, UkError *err)
{
    Daemon d = {.opts = opts, .config = *config, .st = st};
    char *pid_path = pid_file_path(state_path(st));
    int pid_fd = open(pid_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (pid_fd < 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to open '%s'", pid_path);
        free(pid_path);
        return -1;
    }
    if (flock(pid_fd, LOCK_EX | LOCK_NB) != 0) {
        pid_t other = 0;
        daemon_is_running(state_path(st), &other);
        uk_error_set(err, UK_E_LOCKED, 0,
                     "a daemon is already running for state '%s' (pid %ld, see '%s')",
                     state_path(st), (long)other, pid_path);
        close(pid_fd);
        free(pid_path);
        return -1;
    }
    d.pid_fd = pid_fd;
    char pid_text[32];
    int pid_len = snprintf(pid_text, sizeof pid_text, "%ld\n", (long)getpid());
    if (ftruncate(pid_fd, 0) != 0 || pwrite(pid_fd, pid_text, (size_t)pid_len, 0) != pid_len)
        log_warn("unable to write '%s'", pid_path);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC);
    d.signal_fd = sfd;
    d.timer_fd = tfd;
    if (sfd < 0 || tfd < 0) {
        uk_error_set(err, UK_E_IO, errno, "unable to set up the daemon's signals and timer");
        goto out;
    }
    srandom((unsigned)getpid() ^ (unsigned)time(NULL));
    if (d.config->log_file) {
        d.log_file = fopen(d.config->log_file, "ae");
        if (!d.log_file)
            log_warn("unable to open log_file '%s': %s", d.config->log_file, strerror(errno));
        log_set_file(d.log_file);
    }
    if (web_enabled(d.config->listen)) {
        d.web = web_start(&d.config, st, err);
        if (!d.web)
            goto out;
    }
    double now = now_wall();
    sync_slots(&d, now);
    catch_up(&d, now);
    log_info("daemon started (pid %ld), config '%s'", (long)getpid(), opts->config_path);
    log_plan(&d);

    for (;;) {
        now = now_wall();
        double wake = step(&d, now);
        if (d.stopping && !children_running(&d))
            break;
        /* Sleep until WAKE (absolute wall time), a signal, or the clock being set. */
        struct itimerspec its = {0};
        if (wake > 0) {
            /* 5 ms late on purpose: time(), which stamps the records, lags this clock by up
             * to a scheduler tick, and a run must not look as if it started early. */
            double w = fmax(wake + 0.005, now + 0.001);
            its.it_value.tv_sec = (time_t)w;
            its.it_value.tv_nsec = (long)((w - floor(w)) * 1e9);
        }
        timerfd_settime(tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
        struct pollfd fds[3] = {{.fd = sfd, .events = POLLIN},
                                {.fd = tfd, .events = POLLIN},
                                {.fd = d.web ? web_fd(d.web) : -1, .events = POLLIN}};
        long web_wait = d.web ? web_timeout_ms(d.web) : -1;
        if (poll(fds, 3, web_wait < 0 ? -1 : (int)fmin((double)web_wait, 60000)) < 0 &&
            errno != EINTR) {
            uk_error_set(err, UK_E_IO, errno, "poll failed");
            break;
        }
        if (d.web)
            web_run(d.web); /* serves what is ready; also expires idle connections */
        if (fds[1].revents & POLLIN) {
            uint64_t expirations;
            if (read(tfd, &expirations, sizeof expirations) < 0 && errno == ECANCELED)
                log_info("the system clock was set; planning again");
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    reap(&d);
                } else if (si.ssi_signo == SIGHUP) {
                    log_info("SIGHUP: reloading '%s'", opts->config_path);
                    reload(&d);
                    log_plan(&d);
                } else if (!d.stopping) {
                    d.stopping = true;
                    d.stop_deadline = now_wall() + (double)d.config->shutdown_grace;
                    log_info("%s: starting no more jobs%s", strsignal((int)si.ssi_signo),
                             children_running(&d) ? "; waiting for running ones" : "");
                } else {
                    log_info("second stop signal: stopping running jobs now");
                    d.stop_deadline = now_wall();
                }
                /* A signalfd read returns one signal at a time: check for more. */
                struct pollfd more = {.fd = sfd, .events = POLLIN};
                if (poll(&more, 1, 0) <= 0)
                    break;
            }
        }
    }
    log_info("daemon stopped");
out:
    web_stop(d.web);
    if (sfd >= 0)
        close(sfd);
    if (tfd >= 0)
        close(tfd);
    sigprocmask(SIG_UNBLOCK, &mask, NULL);
    for (size_t i = 0; i < d.n_slots; i++)
        free(d.slots[i].job);
    free(d.slots);
    log_set_file(NULL);
    if (d.log_file)
        fclose(d.log_file);
    close(pid_fd); /* the file stays: its lock, not its existence, says a daemon runs */
    free(pid_path);
    *config = d.config;
    return err->code ? -1 : 0;
}
