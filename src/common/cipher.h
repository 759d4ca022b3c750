/* The encryption primitives of encrypted repositories, from OpenSSL 3's libcrypto, loaded on
 * first use like the hashes in crypto.h: AES-256-GCM, HKDF-SHA256 and scrypt (EVP_KDF),
 * HMAC-SHA256 (EVP_MAC) and X25519 (EVP_PKEY). Nothing here knows about repositories; the
 * choices of keys, nonces and associated data are repo/keyring.h's. */
#ifndef UK_CIPHER_H
#define UK_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define CIPHER_KEY_LEN 32
#define CIPHER_NONCE_LEN 12
#define CIPHER_TAG_LEN 16

/* Loads libcrypto's functions; 0, or -1 with err set. Later calls return at once. */
int cipher_load(UkError *err);

/* AES-256-GCM. seal writes len bytes of ciphertext then the 16-byte tag into out (len + 16
 * bytes). open takes ciphertext and tag (len >= 16), writes len - 16 bytes into out, and fails
 * with UK_E_CORRUPT (err says "authentication failed") when the bytes, the key, the nonce or
 * the associated data are not those sealed. out may be in. */
int cipher_seal(const unsigned char key[CIPHER_KEY_LEN],
                const unsigned char nonce[CIPHER_NONCE_LEN], const void *aad, size_t aad_len,
                const void *in, size_t len, unsigned char *out, UkError *err);
int cipher_open(const unsigned char key[CIPHER_KEY_LEN],
                const unsigned char nonce[CIPHER_NONCE_LEN], const void *aad, size_t aad_len,
                const void *in, size_t len, unsigned char *out, UkError *err);

/* HKDF-SHA256 (RFC 5869): out_len bytes from ikm, salt (may be empty) and the label info. */
int cipher_hkdf(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                const char *info, unsigned char *out, size_t out_len, UkError *err);

/* scrypt (RFC 7914) of a passphrase into a 32-byte key. */
int cipher_scrypt(const char *pass, size_t pass_len, const unsigned char *salt, size_t salt_len,
                  uint64_t n, uint32_t r, uint32_t p, unsigned char out[CIPHER_KEY_LEN],
                  UkError *err);

/* HMAC-SHA256 under one key, many times: one per thread. */
typedef struct CipherMac CipherMac;
CipherMac *cipher_mac_new(const unsigned char key[CIPHER_KEY_LEN]);
void cipher_mac(CipherMac *m, const void *data, size_t len, unsigned char out[32]);
void cipher_mac_free(CipherMac *m);

/* X25519: the public key of a private one, and the secret shared with a peer's public key. */
int cipher_x25519_public(const unsigned char priv[32], unsigned char pub[32], UkError *err);
int cipher_x25519_shared(const unsigned char priv[32], const unsigned char peer[32],
                         unsigned char shared[32], UkError *err);

#endif
