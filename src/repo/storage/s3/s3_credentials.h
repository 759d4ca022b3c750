/* Where an S3 repository's credentials come from, in the order the AWS tools use: the
 * repository's own keys in the config (access_key_id, secret_access_key, session_token),
 * then the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) in the
 * profile the config's `profile` names, else AWS_PROFILE, else "default". */
#ifndef UK_S3_CREDENTIALS_H
#define UK_S3_CREDENTIALS_H

#include "core/config.h"
#include "core/error.h"

typedef struct S3Credentials {
    char access_key[256];
    char secret_key[256];
    char session_token[4096]; /* "" when none */
    char source[320];         /* "the config", "the environment", "~/.aws/credentials [x]" */
} S3Credentials;

/* Fills *out; an error names the places looked in, never a secret. Wipe *out with
 * s3_credentials_clear when done. */
int s3_credentials_resolve(const ConfigRepository *cfg, S3Credentials *out, UkError *err);
void s3_credentials_clear(S3Credentials *c);

#endif
