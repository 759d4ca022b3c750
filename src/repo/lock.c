/* Repository lock objects (see lock.h). */
#include "repo/lock.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"

struct RepoLock {
    Storage *storage; /* the caller's: for the final removal */
    char name[64];    /* locks/<32 hex> */
    char *body_json;  /* what the object holds, less the refresh time */
    Storage *own;     /* the refresh thread's connection */
    LockSeal seal;
    bool exclusive;
    pthread_t thread;
    bool have_thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    bool stopping;
};

/* The object's bytes for a refresh at NOW (sealed when the repository is encrypted). */
static unsigned char *lock_bytes(const RepoLock *l, time_t now, size_t *len)
{
    char *json = xasprintf("{%s,\"refreshed\":%lld}", l->body_json, (long long)now);
    unsigned char *out;
    if (l->seal.seal) {
        out = l->seal.seal(l->seal.ctx, l->name, json, strlen(json), len);
        free(json);
    } else {
        *len = strlen(json);
        out = (unsigned char *)json;
    }
    return out;
}

static int write_lock(Storage *s, const RepoLock *l, bool exclusive, UkError *err)
{
    size_t len = 0;
    unsigned char *data = lock_bytes(l, time(NULL), &len);
    int rc = storage_put(s, l->name, data, len, exclusive, err);
    free(data);
    return rc;
}

/* What another lock object says. */
typedef struct Holder {
    char host[256];
    char what[64];
    long long pid;
    bool exclusive;
    time_t since, refreshed;
} Holder;

static int read_holder(Storage *s, const char *name, const LockSeal *seal, Holder *h, bool *gone,
                       UkError *err)
{
    memset(h, 0, sizeof *h);
    *gone = false;
    unsigned char *data = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    UkError get_err = {0};
    if (storage_get(s, name, &data, &len, &get_err) != 0) {
        if (get_err.code == UK_E_NOTFOUND) { /* released meanwhile */
            *gone = true;
            return 0;
        }
        *err = get_err;
        return -1;
    }
    int rc = 0;
    if (seal->open) {
        rc = seal->open(seal->ctx, name, data, len, &plain, &plain_len, err);
    } else {
        plain = data;
        plain_len = len;
        data = NULL;
    }
    json_t *doc = rc == 0 ? json_loadb((const char *)plain, plain_len, 0, NULL) : NULL;
    if (rc == 0 && !json_is_object(doc))
        rc = uk_error_set(err, UK_E_CORRUPT, 0, "lock object '%s' is not a lock", name);
    if (rc == 0) {
        const char *host = json_string_value(json_object_get(doc, "host"));
        const char *what = json_string_value(json_object_get(doc, "command"));
        snprintf(h->host, sizeof h->host, "%s", host ? host : "?");
        snprintf(h->what, sizeof h->what, "%s", what ? what : "?");
        h->pid = json_integer_value(json_object_get(doc, "pid"));
        h->exclusive = json_is_true(json_object_get(doc, "exclusive"));
        h->since = (time_t)json_integer_value(json_object_get(doc, "time"));
        h->refreshed = (time_t)json_integer_value(json_object_get(doc, "refreshed"));
    }
    json_decref(doc);
    free(data);
    free(plain);
    return rc;
}

static bool is_stale(const Holder *h, const char *my_host, time_t now)
{
    if (now - h->refreshed > LOCK_STALE_S)
        return true;
    /* This host's own: stale as soon as its process is gone. */
    return strcmp(h->host, my_host) == 0 && h->pid > 0 && kill((pid_t)h->pid, 0) != 0 &&
           errno == ESRCH;
}

/* Looks for a lock that keeps this one from holding; *conflict gets it. Stale locks are
 * removed by an exclusive locker. */
static int find_conflict(Storage *s, const RepoLock *l, const char *my_host, bool *conflict,
                         Holder *holder, UkError *err)
{
    *conflict = false;
    char **names = NULL;
    size_t n = 0;
    if (storage_list(s, "locks", &names, &n, err) != 0)
        return -1;
    int rc = 0;
    time_t now = time(NULL);
    for (size_t i = 0; i < n && rc == 0 && !*conflict; i++) {
        char *name = xasprintf("locks/%s", names[i]);
        if (strcmp(name, l->name) != 0) {
            Holder h;
            bool gone = false;
            rc = read_holder(s, name, &l->seal, &h, &gone, err);
            if (rc == 0 && !gone && is_stale(&h, my_host, now)) {
                log_debug("lock '%s' of host '%s' pid %lld is stale", name, h.host, h.pid);
                if (l->exclusive)
                    storage_remove(s, name, NULL);
            } else if (rc == 0 && !gone && (l->exclusive || h.exclusive)) {
                *conflict = true;
                *holder = h;
            }
        }
        free(name);
    }
    storage_names_free(names, n);
    return rc;
}

static void *refresher(void *arg)
{
    RepoLock *l = arg;
    UkError err = {0};
    pthread_mutex_lock(&l->mutex);
    while (!l->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LOCK_REFRESH_S;
        pthread_cond_timedwait(&l->wake, &l->mutex, &until);
        if (l->stopping)
            break;
        pthread_mutex_unlock(&l->mutex);
        memset(&err, 0, sizeof err);
        if (write_lock(l->own, l, false, &err) != 0)
            log_warn("lock '%s': refresh failed: %s", l->name, err.msg);
        pthread_mutex_lock(&l->mutex);
    }
    pthread_mutex_unlock(&l->mutex);
    return NULL;
}

static void sleep_random(double max_seconds)
{
    unsigned char r[2] = {0};
    crypto_random(r, sizeof r, NULL);
    double f = ((unsigned)r[0] << 8 | r[1]) / 65536.0;
    double seconds = 0.05 + f * max_seconds;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

int repo_lock_take(Storage *s, const char *repo_name, bool exclusive, const char *what,
                   int wait_seconds, const LockSeal *seal, RepoLock **out, UkError *err)
{
    *out = NULL;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    unsigned char id[16];
    if (crypto_random(id, sizeof id, err) != 0)
        return -1;
    char hex[33];
    hex_encode(id, sizeof id, hex);
    RepoLock *l = xcalloc(1, sizeof *l);
    l->storage = s;
    l->exclusive = exclusive;
    if (seal)
        l->seal = *seal;
    snprintf(l->name, sizeof l->name, "locks/%s", hex);
    json_t *host_json = json_string(host), *what_json = json_string(what);
    char *host_text = json_dumps(host_json, JSON_ENCODE_ANY);
    char *what_text = json_dumps(what_json, JSON_ENCODE_ANY);
    l->body_json = xasprintf("\"host\":%s,\"pid\":%lld,\"command\":%s,\"exclusive\":%s,"
                             "\"time\":%lld",
                             host_text, (long long)getpid(), what_text,
                             exclusive ? "true" : "false", (long long)time(NULL));
    free(host_text);
    free(what_text);
    json_decref(host_json);
    json_decref(what_json);
    double deadline = monotonic_seconds() + wait_seconds;
    int rc = -1;
    for (;;) {
        if (write_lock(s, l, true, err) != 0)
            goto out;
        bool conflict = false;
        Holder holder;
        if (find_conflict(s, l, host, &conflict, &holder, err) != 0) {
            storage_remove(s, l->name, NULL);
            goto out;
        }
        if (!conflict)
            break;
        storage_remove(s, l->name, NULL);
        if (monotonic_seconds() >= deadline) {
            char since[32];
            format_time_local(holder.since, since, sizeof since);
            uk_error_set(err, UK_E_LOCKED, 0,
                         "repository '%s' is in use: %s holds it %s (host '%s', pid %lld, "
                         "since %s)",
                         repo_name, holder.what, holder.exclusive ? "exclusively" : "shared",
                         holder.host, holder.pid, since);
            goto out;
        }
        sleep_random(0.5);
    }
    pthread_mutex_init(&l->mutex, NULL);
    pthread_cond_init(&l->wake, NULL);
    UkError clone_err = {0};
    l->own = storage_clone(s, &clone_err);
    if (!l->own)
        log_warn("lock '%s': it will not be refreshed: %s", l->name, clone_err.msg);
    l->have_thread = l->own && pthread_create(&l->thread, NULL, refresher, l) == 0;
    *out = l;
    return 0;
out:
    free(l->body_json);
    free(l);
    return rc;
}

void repo_lock_release(RepoLock *l)
{
    if (!l)
        return;
    if (l->have_thread) {
        pthread_mutex_lock(&l->mutex);
        l->stopping = true;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&l->mutex);
        pthread_join(l->thread, NULL);
    }
    pthread_mutex_destroy(&l->mutex);
    pthread_cond_destroy(&l->wake);
    storage_free(l->own);
    UkError err = {0};
    if (storage_remove(l->storage, l->name, &err) != 0)
        log_warn("lock '%s' was not removed (it goes stale by itself): %s", l->name, err.msg);
    free(l->body_json);
    free(l);
}
