#include "repo/storage/s3/s3_credentials.h"

#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src ? src : "");
}

typedef struct ProfileRead {
    const char *profile;
    S3Credentials *out;
    bool seen;
} ProfileRead;

static int on_entry(void *ctx, const char *section, const char *name, const char *value)
{
    ProfileRead *r = ctx;
    if (strcmp(section, r->profile) != 0)
        return 1;
    r->seen = true;
    if (strcmp(name, "aws_access_key_id") == 0)
        copy(r->out->access_key, sizeof r->out->access_key, value);
    else if (strcmp(name, "aws_secret_access_key") == 0)
        copy(r->out->secret_key, sizeof r->out->secret_key, value);
    else if (strcmp(name, "aws_session_token") == 0)
        copy(r->out->session_token, sizeof r->out->session_token, value);
    return 1;
}

int s3_credentials_resolve(const ConfigRepository *cfg, S3Credentials *out, UkError *err)
{
    memset(out, 0, sizeof *out);
    if (cfg->access_key_id || cfg->secret_access_key) {
        if (!cfg->access_key_id || !cfg->secret_access_key)
            return uk_error_set(err, UK_E_CONFIG, 0,
                                "repository '%s': access_key_id and secret_access_key go together",
                                cfg->name);
        copy(out->access_key, sizeof out->access_key, cfg->access_key_id);
        copy(out->secret_key, sizeof out->secret_key, cfg->secret_access_key);
        copy(out->session_token, sizeof out->session_token, cfg->session_token);
        copy(out->source, sizeof out->source, "the config");
        return 0;
    }
    const char *env_key = getenv("AWS_ACCESS_KEY_ID"),
               *env_secret = getenv("AWS_SECRET_ACCESS_KEY");
    if (env_key && *env_key && env_secret && *env_secret) {
        copy(out->access_key, sizeof out->access_key, env_key);
        copy(out->secret_key, sizeof out->secret_key, env_secret);
        copy(out->session_token, sizeof out->session_token, getenv("AWS_SESSION_TOKEN"));
        copy(out->source, sizeof out->source, "the environment");
        return 0;
    }
    const char *profile = cfg->profile ? cfg->profile : getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char *home_file = NULL;
    if (!file || !*file) {
        const char *home = getenv("HOME");
        home_file = xasprintf("%s/.aws/credentials", home && *home ? home : "");
        file = home_file;
    }
    ProfileRead r = {profile, out, false};
    int parsed = ini_parse(file, on_entry, &r); /* -1: no such file */
    int rc = 0;
    if (parsed == 0 && r.seen && out->access_key[0] && out->secret_key[0]) {
        snprintf(out->source, sizeof out->source, "%s [%s]", file, profile);
    } else {
        s3_credentials_clear(out);
        rc = uk_error_set(err, UK_E_CONFIG, 0,
                          "repository '%s': no S3 credentials: give access_key_id and "
                          "secret_access_key, or set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or profile [%s] in '%s'%s",
                          cfg->name, profile, file,
                          parsed > 0    ? " (it does not parse)"
                          : r.seen      ? " (the profile lacks a key)"
                          : parsed == 0 ? " (no such profile there)"
                                        : " (no such file)");
    }
    free(home_file);
    return rc;
}

void s3_credentials_clear(S3Credentials *c)
{
    explicit_bzero(c, sizeof *c);
}
