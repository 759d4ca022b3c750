/* The handler may run at any instant, so it only reads fixed buffers and calls unlink(),
 * which is async-signal-safe. A slot is "armed" only after its path is completely written. */
#include "common/cleanup.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 8

static char paths[SLOTS][PATH_MAX];
static volatile sig_atomic_t armed[SLOTS];

static void on_signal(int sig)
{
    for (int i = 0; i < SLOTS; i++)
        if (armed[i])
            unlink(paths[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void cleanup_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int cleanup_register(const char *path)
{
    if (strlen(path) >= PATH_MAX)
        return -1;
    for (int i = 0; i < SLOTS; i++) {
        if (!armed[i]) {
            memcpy(paths[i], path, strlen(path) + 1);
            armed[i] = 1;
            return i;
        }
    }
    return -1;
}

void cleanup_unregister(int slot)
{
    if (slot >= 0 && slot < SLOTS)
        armed[slot] = 0;
}
