/* Hashes, comparison and random bytes, from OpenSSL's libcrypto loaded on first use
 * (common/dynlib.h): its relocations cost about 1.4 MiB of resident memory in every process
 * that links it, and the daemon never hashes anything (the runs it forks do). Random ids come
 * from getrandom(2), the kernel's generator that libcrypto itself seeds from. */
#ifndef UK_CRYPTO_H
#define UK_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define CRYPTO_SHA256_LEN 32

/* Loads libcrypto now, so that a command can report a broken installation as an error before
 * it starts writing; 0, or -1 with err set. Later calls return at once. */
int crypto_load(UkError *err);

/* SHA-256 of len bytes. Loads libcrypto if crypto_load() has not; a process that cannot load
 * it exits with a message (the installation is broken; nothing has been hashed yet). */
void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);

/* SHA-256 over data given in pieces: new, update as often as needed, then final (which frees
 * it; free alone discards it). */
typedef struct CryptoSha256 CryptoSha256;
CryptoSha256 *crypto_sha256_new(void);
void crypto_sha256_update(CryptoSha256 *h, const void *data, size_t len);
void crypto_sha256_final(CryptoSha256 *h, unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_sha256_free(CryptoSha256 *h);

/* Whether the n bytes at a and b are equal, in time that does not depend on where they
 * differ (tokens). */
bool crypto_equal(const void *a, const void *b, size_t n);

/* len bytes from the kernel's random generator (never blocks once the system has booted);
 * 0, or -1 with err set. */
int crypto_random(void *buf, size_t len, UkError *err);

#endif
