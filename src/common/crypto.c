#include "common/crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/dynlib.h"

#define CRYPTO_SONAME "libcrypto.so.3"

/* The functions upkeep takes from libcrypto, with the prototypes its headers declare. */
static struct {
    unsigned char *(*sha256)(const unsigned char *data, size_t len, unsigned char *md);
    int (*memcmp)(const void *a, const void *b, size_t len);
} lib;
static bool loaded;

static const DynSymbol symbols[] = {
    {(void **)&lib.sha256, "SHA256"},
    {(void **)&lib.memcmp, "CRYPTO_memcmp"},
};

int crypto_load(UkError *err)
{
    if (loaded)
        return 0;
    if (dynlib_load(CRYPTO_SONAME, symbols, sizeof symbols / sizeof symbols[0],
                    "OpenSSL's libcrypto", err) != 0)
        return -1;
    loaded = true;
    return 0;
}

static void need_crypto(void)
{
    UkError err = {0};
    if (crypto_load(&err) != 0) {
        fprintf(stderr, "upkeep: %s\n", err.msg);
        exit(uk_error_exit_status(err.code));
    }
}

void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
    need_crypto();
    lib.sha256(data, len, out);
}

bool crypto_equal(const void *a, const void *b, size_t n)
{
    need_crypto();
    return lib.memcmp(a, b, n) == 0;
}

int crypto_random(void *buf, size_t len, UkError *err)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return uk_error_set(err, UK_E_IO, errno, "unable to read random bytes: %s",
                                strerror(errno));
        }
        p += got;
        len -= (size_t)got;
    }
    return 0;
}
