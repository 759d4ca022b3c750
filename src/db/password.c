#include "db/password.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int db_password_read(const ConfigDatabase *db, char **out, UkError *err)
{
    *out = NULL;
    if (!db->password_file)
        return 0;
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_file_all(db->password_file, 4096, &data, &len, err) != 0) {
        uk_error_prefix(err, "password_file: ");
        return -1;
    }
    char *text = xmalloc(len + 1);
    memcpy(text, data, len);
    text[len] = '\0';
    free(data);
    text[strcspn(text, "\r\n")] = '\0';
    *out = text;
    return 0;
}

void db_password_forget(char *secret)
{
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

int db_password_once(const ConfigDatabase *db, UkError *err)
{
    const char *start = strstr(db->url, "://");
    if (!db->password_file || !start)
        return 0;
    start += 3;
    size_t authority = strcspn(start, "/?");
    const char *at = memchr(start, '@', authority);
    if (!at || !memchr(start, ':', (size_t)(at - start)))
        return 0;
    char *shown = redact_url(db->url, true);
    uk_error_set(err, UK_E_CONFIG, 0, "%s has a password and password_file: give one", shown);
    free(shown);
    return -1;
}
