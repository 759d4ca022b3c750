/* The handler may run at any instant, so it only reads fixed buffers and calls memcpy() and
 * unlink(), which are async-signal-safe. A slot is "armed" only after it is completely
 * written; registering takes a mutex because writers of different threads may register. */
#include "common/cleanup.h"

#include <stdlib.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 8
#define MAX_SUFFIXES 3
#define SUFFIX_MAX 16

typedef struct {
    char path[PATH_MAX];
    size_t path_len;
    char suffixes[MAX_SUFFIXES][SUFFIX_MAX];
    size_t suffix_count;
} Slot;

static Slot slots[SLOTS];
static volatile sig_atomic_t armed[SLOTS];
static pthread_mutex_t register_lock = PTHREAD_MUTEX_INITIALIZER;
static sigset_t held_signals;

static void on_signal(int sig)
{
    static char companion[PATH_MAX + SUFFIX_MAX];
    for (int i = 0; i < SLOTS; i++) {
        if (!armed[i])
            continue;
        const Slot *s = &slots[i];
        unlink(s->path);
        for (size_t k = 0; k < s->suffix_count; k++) {
            size_t len = strlen(s->suffixes[k]);
            memcpy(companion, s->path, s->path_len);
            memcpy(companion + s->path_len, s->suffixes[k], len + 1);
            unlink(companion);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void cleanup_install(void)
{
    sigemptyset(&held_signals);
    sigaddset(&held_signals, SIGINT);
    sigaddset(&held_signals, SIGTERM);
    sigaddset(&held_signals, SIGHUP);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_mask = held_signals; /* one handler run at a time */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void cleanup_hold(sigset_t *saved)
{
    pthread_sigmask(SIG_BLOCK, &held_signals, saved);
}

void cleanup_release(const sigset_t *saved)
{
    pthread_sigmask(SIG_SETMASK, saved, NULL);
}

int cleanup_register(const char *path, const char *const *suffixes)
{
    size_t path_len = strlen(path);
    if (path_len >= PATH_MAX)
        return -1;
    int found = -1;
    pthread_mutex_lock(&register_lock);
    for (int i = 0; i < SLOTS && found < 0; i++) {
        if (armed[i])
            continue;
        Slot *s = &slots[i];
        memcpy(s->path, path, path_len + 1);
        s->path_len = path_len;
        s->suffix_count = 0;
        for (size_t k = 0; suffixes && suffixes[k] && k < MAX_SUFFIXES; k++) {
            if (strlen(suffixes[k]) >= SUFFIX_MAX)
                continue;
            snprintf(s->suffixes[s->suffix_count++], SUFFIX_MAX, "%s", suffixes[k]);
        }
        armed[i] = 1;
        found = i;
    }
    pthread_mutex_unlock(&register_lock);
    return found;
}

void cleanup_unregister(int slot)
{
    if (slot >= 0 && slot < SLOTS)
        armed[slot] = 0;
}

void cleanup_crash_point(const char *name)
{
    const char *at = getenv("UPKEEP_CRASH_AT");
    if (at && strcmp(at, name) == 0)
        raise(SIGKILL);
}
