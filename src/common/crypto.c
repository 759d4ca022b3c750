#include "common/crypto.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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
    EVP_MD_CTX *(*md_ctx_new)(void);
    void (*md_ctx_free)(EVP_MD_CTX *ctx);
    const EVP_MD *(*sha256_md)(void);
    int (*digest_init)(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
    int (*digest_update)(EVP_MD_CTX *ctx, const void *data, size_t len);
    int (*digest_final)(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *len);
} lib;
static bool loaded;

static const DynSymbol symbols[] = {
    {(void **)&lib.sha256, "SHA256"},
    {(void **)&lib.memcmp, "CRYPTO_memcmp"},
    {(void **)&lib.md_ctx_new, "EVP_MD_CTX_new"},
    {(void **)&lib.md_ctx_free, "EVP_MD_CTX_free"},
    {(void **)&lib.sha256_md, "EVP_sha256"},
    {(void **)&lib.digest_init, "EVP_DigestInit_ex"},
    {(void **)&lib.digest_update, "EVP_DigestUpdate"},
    {(void **)&lib.digest_final, "EVP_DigestFinal_ex"},
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

/* Only allocation failure makes these calls fail, which is fatal like xmalloc's. */
static void need_ok(int ok)
{
    if (!ok) {
        fprintf(stderr, "upkeep: out of memory\n");
        abort();
    }
}

CryptoSha256 *crypto_sha256_new(void)
{
    need_crypto();
    EVP_MD_CTX *ctx = lib.md_ctx_new();
    need_ok(ctx != NULL);
    need_ok(lib.digest_init(ctx, lib.sha256_md(), NULL));
    return (CryptoSha256 *)ctx;
}

void crypto_sha256_update(CryptoSha256 *h, const void *data, size_t len)
{
    need_ok(lib.digest_update((EVP_MD_CTX *)h, data, len));
}

void crypto_sha256_final(CryptoSha256 *h, unsigned char out[CRYPTO_SHA256_LEN])
{
    unsigned int len = 0;
    need_ok(lib.digest_final((EVP_MD_CTX *)h, out, &len));
    lib.md_ctx_free((EVP_MD_CTX *)h);
}

void crypto_sha256_free(CryptoSha256 *h)
{
    if (h)
        lib.md_ctx_free((EVP_MD_CTX *)h);
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
            return uk_error_set(err, UK_E_IO, errno, "unable to read random bytes");
        }
        p += got;
        len -= (size_t)got;
    }
    return 0;
}
