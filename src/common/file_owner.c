#include "common/file_owner.h"

#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool all_digits(const char *s, bool octal)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (octal ? (*s < '0' || *s > '7') : !isdigit((unsigned char)*s))
            return false;
    return true;
}

/* A user or group name as useradd accepts them: letters, digits, '_', '-', '.', a final '$'. */
static bool is_account_name(const char *s)
{
    if (!*s || *s == '-' || strlen(s) > 32)
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.' &&
            !(*p == '$' && p[1] == '\0'))
            return false;
    return true;
}

static int resolve_user(const char *name, uid_t *uid, UkError *err)
{
    if (all_digits(name, false)) {
        *uid = (uid_t)strtoul(name, NULL, 10);
        return 0;
    }
    struct passwd *pw = getpwnam(name);
    if (!pw)
        return uk_error_set(err, UK_E_CONFIG, 0, "no user '%s' on this system", name);
    *uid = pw->pw_uid;
    return 0;
}

static int resolve_group(const char *name, gid_t *gid, UkError *err)
{
    if (all_digits(name, false)) {
        *gid = (gid_t)strtoul(name, NULL, 10);
        return 0;
    }
    struct group *gr = getgrnam(name);
    if (!gr)
        return uk_error_set(err, UK_E_CONFIG, 0, "no group '%s' on this system", name);
    *gid = gr->gr_gid;
    return 0;
}

int file_owner_parse(const char *text, bool resolve, FileOwner *out, UkError *err)
{
    *out = (FileOwner){0};
    char copy[256], *words[4], *save = NULL;
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", text);
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (n == 3)
            goto bad;
        words[n++] = w;
    }
    size_t i = 0;
    if (n > 0 && all_digits(words[0], true)) {
        unsigned long mode = strtoul(words[0], NULL, 8);
        if (mode > 07777)
            goto bad;
        out->has_mode = true;
        out->mode = (mode_t)mode;
        i = 1;
    }
    if (n == 0 || n - i > 2)
        goto bad;
    for (size_t k = i; k < n; k++)
        if (!is_account_name(words[k]))
            goto bad;
    if (i < n) {
        out->has_uid = true;
        if (resolve && resolve_user(words[i], &out->uid, err) != 0)
            return -1;
    }
    if (i + 1 < n) {
        out->has_gid = true;
        if (resolve && resolve_group(words[i + 1], &out->gid, err) != 0)
            return -1;
    }
    return 0;
bad:
    return uk_error_set(err, UK_E_CONFIG, 0,
                        "invalid create '%s' (expected MODE OWNER GROUP as logrotate writes "
                        "them, e.g. 0640 www-data adm)",
                        text);
}
