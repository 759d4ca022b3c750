#include "common/cipher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/dynlib.h"
#include "common/util.h"

#define CRYPTO_SONAME "libcrypto.so.3"

/* The functions taken from libcrypto, with the prototypes its headers declare. */
static struct {
    EVP_CIPHER_CTX *(*cipher_ctx_new)(void);
    void (*cipher_ctx_free)(EVP_CIPHER_CTX *ctx);
    const EVP_CIPHER *(*aes_256_gcm)(void);
    int (*encrypt_init)(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl,
                        const unsigned char *key, const unsigned char *iv);
    int (*encrypt_update)(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                          const unsigned char *in, int inl);
    int (*encrypt_final)(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
    int (*decrypt_init)(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *type, ENGINE *impl,
                        const unsigned char *key, const unsigned char *iv);
    int (*decrypt_update)(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl,
                          const unsigned char *in, int inl);
    int (*decrypt_final)(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl);
    int (*cipher_ctx_ctrl)(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr);
    EVP_KDF *(*kdf_fetch)(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);
    void (*kdf_free)(EVP_KDF *kdf);
    EVP_KDF_CTX *(*kdf_ctx_new)(EVP_KDF *kdf);
    void (*kdf_ctx_free)(EVP_KDF_CTX *ctx);
    int (*kdf_derive)(EVP_KDF_CTX *ctx, unsigned char *key, size_t keylen,
                      const OSSL_PARAM params[]);
    EVP_MAC *(*mac_fetch)(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);
    void (*mac_free)(EVP_MAC *mac);
    EVP_MAC_CTX *(*mac_ctx_new)(EVP_MAC *mac);
    void (*mac_ctx_free)(EVP_MAC_CTX *ctx);
    int (*mac_init)(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen,
                    const OSSL_PARAM params[]);
    int (*mac_update)(EVP_MAC_CTX *ctx, const unsigned char *data, size_t datalen);
    int (*mac_final)(EVP_MAC_CTX *ctx, unsigned char *out, size_t *outl, size_t outsize);
    OSSL_PARAM (*param_utf8)(const char *key, char *buf, size_t bsize);
    OSSL_PARAM (*param_octets)(const char *key, void *buf, size_t bsize);
    OSSL_PARAM (*param_uint64)(const char *key, uint64_t *buf);
    OSSL_PARAM (*param_uint32)(const char *key, uint32_t *buf);
    OSSL_PARAM (*param_end)(void);
    EVP_PKEY *(*pkey_new_raw_private)(int type, ENGINE *e, const unsigned char *key, size_t keylen);
    EVP_PKEY *(*pkey_new_raw_public)(int type, ENGINE *e, const unsigned char *key, size_t keylen);
    int (*pkey_get_raw_public)(const EVP_PKEY *pkey, unsigned char *pub, size_t *len);
    void (*pkey_free)(EVP_PKEY *pkey);
    EVP_PKEY_CTX *(*pkey_ctx_new)(EVP_PKEY *pkey, ENGINE *e);
    void (*pkey_ctx_free)(EVP_PKEY_CTX *ctx);
    int (*derive_init)(EVP_PKEY_CTX *ctx);
    int (*derive_set_peer)(EVP_PKEY_CTX *ctx, EVP_PKEY *peer);
    int (*derive)(EVP_PKEY_CTX *ctx, unsigned char *key, size_t *keylen);
} lib;
static bool loaded;

static const DynSymbol symbols[] = {
    {(void **)&lib.cipher_ctx_new, "EVP_CIPHER_CTX_new"},
    {(void **)&lib.cipher_ctx_free, "EVP_CIPHER_CTX_free"},
    {(void **)&lib.aes_256_gcm, "EVP_aes_256_gcm"},
    {(void **)&lib.encrypt_init, "EVP_EncryptInit_ex"},
    {(void **)&lib.encrypt_update, "EVP_EncryptUpdate"},
    {(void **)&lib.encrypt_final, "EVP_EncryptFinal_ex"},
    {(void **)&lib.decrypt_init, "EVP_DecryptInit_ex"},
    {(void **)&lib.decrypt_update, "EVP_DecryptUpdate"},
    {(void **)&lib.decrypt_final, "EVP_DecryptFinal_ex"},
    {(void **)&lib.cipher_ctx_ctrl, "EVP_CIPHER_CTX_ctrl"},
    {(void **)&lib.kdf_fetch, "EVP_KDF_fetch"},
    {(void **)&lib.kdf_free, "EVP_KDF_free"},
    {(void **)&lib.kdf_ctx_new, "EVP_KDF_CTX_new"},
    {(void **)&lib.kdf_ctx_free, "EVP_KDF_CTX_free"},
    {(void **)&lib.kdf_derive, "EVP_KDF_derive"},
    {(void **)&lib.mac_fetch, "EVP_MAC_fetch"},
    {(void **)&lib.mac_free, "EVP_MAC_free"},
    {(void **)&lib.mac_ctx_new, "EVP_MAC_CTX_new"},
    {(void **)&lib.mac_ctx_free, "EVP_MAC_CTX_free"},
    {(void **)&lib.mac_init, "EVP_MAC_init"},
    {(void **)&lib.mac_update, "EVP_MAC_update"},
    {(void **)&lib.mac_final, "EVP_MAC_final"},
    {(void **)&lib.param_utf8, "OSSL_PARAM_construct_utf8_string"},
    {(void **)&lib.param_octets, "OSSL_PARAM_construct_octet_string"},
    {(void **)&lib.param_uint64, "OSSL_PARAM_construct_uint64"},
    {(void **)&lib.param_uint32, "OSSL_PARAM_construct_uint32"},
    {(void **)&lib.param_end, "OSSL_PARAM_construct_end"},
    {(void **)&lib.pkey_new_raw_private, "EVP_PKEY_new_raw_private_key"},
    {(void **)&lib.pkey_new_raw_public, "EVP_PKEY_new_raw_public_key"},
    {(void **)&lib.pkey_get_raw_public, "EVP_PKEY_get_raw_public_key"},
    {(void **)&lib.pkey_free, "EVP_PKEY_free"},
    {(void **)&lib.pkey_ctx_new, "EVP_PKEY_CTX_new"},
    {(void **)&lib.pkey_ctx_free, "EVP_PKEY_CTX_free"},
    {(void **)&lib.derive_init, "EVP_PKEY_derive_init"},
    {(void **)&lib.derive_set_peer, "EVP_PKEY_derive_set_peer"},
    {(void **)&lib.derive, "EVP_PKEY_derive"},
};

int cipher_load(UkError *err)
{
    if (loaded)
        return 0;
    if (dynlib_load(CRYPTO_SONAME, symbols, sizeof symbols / sizeof symbols[0],
                    "encrypted repositories need OpenSSL's libcrypto", err) != 0)
        return -1;
    loaded = true;
    return 0;
}

static int failed(UkError *err, const char *what)
{
    return uk_error_set(err, UK_E_INTERNAL, 0, "libcrypto: %s failed", what);
}

/* OpenSSL takes int lengths; every length here is a frame or an object, far below 2 GiB. */
static int gcm(bool encrypt, const unsigned char *key, const unsigned char *nonce, const void *aad,
               size_t aad_len, const void *in, size_t len, unsigned char *out, UkError *err)
{
    if (cipher_load(err) != 0)
        return -1;
    if (len > (size_t)1 << 30 || aad_len > (size_t)1 << 20)
        return uk_error_set(err, UK_E_INTERNAL, 0, "libcrypto: %zu bytes to seal at once", len);
    EVP_CIPHER_CTX *ctx = lib.cipher_ctx_new();
    if (!ctx)
        return failed(err, "EVP_CIPHER_CTX_new");
    int n = 0, rc = -1;
    size_t body = encrypt ? len : len - CIPHER_TAG_LEN;
    if (encrypt) {
        if (lib.encrypt_init(ctx, lib.aes_256_gcm(), NULL, key, nonce) != 1 ||
            (aad_len && lib.encrypt_update(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
            lib.encrypt_update(ctx, out, &n, in, (int)body) != 1 ||
            lib.encrypt_final(ctx, out + n, &n) != 1 ||
            lib.cipher_ctx_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CIPHER_TAG_LEN, out + body) != 1) {
            failed(err, "AES-256-GCM encryption");
            goto out;
        }
    } else {
        unsigned char tag[CIPHER_TAG_LEN];
        memcpy(tag, (const unsigned char *)in + body, CIPHER_TAG_LEN); /* out may be in */
        if (lib.decrypt_init(ctx, lib.aes_256_gcm(), NULL, key, nonce) != 1 ||
            (aad_len && lib.decrypt_update(ctx, NULL, &n, aad, (int)aad_len) != 1) ||
            lib.decrypt_update(ctx, out, &n, in, (int)body) != 1 ||
            lib.cipher_ctx_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CIPHER_TAG_LEN, tag) != 1) {
            failed(err, "AES-256-GCM decryption");
            goto out;
        }
        if (lib.decrypt_final(ctx, out + n, &n) != 1) {
            uk_error_set(err, UK_E_CORRUPT, 0, "authentication failed");
            goto out;
        }
    }
    rc = 0;
out:
    lib.cipher_ctx_free(ctx);
    return rc;
}

int cipher_seal(const unsigned char key[CIPHER_KEY_LEN],
                const unsigned char nonce[CIPHER_NONCE_LEN], const void *aad, size_t aad_len,
                const void *in, size_t len, unsigned char *out, UkError *err)
{
    return gcm(true, key, nonce, aad, aad_len, in, len, out, err);
}

int cipher_open(const unsigned char key[CIPHER_KEY_LEN],
                const unsigned char nonce[CIPHER_NONCE_LEN], const void *aad, size_t aad_len,
                const void *in, size_t len, unsigned char *out, UkError *err)
{
    if (len < CIPHER_TAG_LEN)
        return uk_error_set(err, UK_E_CORRUPT, 0, "authentication failed (too short)");
    return gcm(false, key, nonce, aad, aad_len, in, len, out, err);
}

/* Runs KDF ALGORITHM with PARAMS into out. */
static int kdf(const char *algorithm, OSSL_PARAM *params, unsigned char *out, size_t out_len,
               UkError *err)
{
    if (cipher_load(err) != 0)
        return -1;
    EVP_KDF *k = lib.kdf_fetch(NULL, algorithm, NULL);
    EVP_KDF_CTX *ctx = k ? lib.kdf_ctx_new(k) : NULL;
    int rc = ctx && lib.kdf_derive(ctx, out, out_len, params) == 1 ? 0 : failed(err, algorithm);
    lib.kdf_ctx_free(ctx);
    lib.kdf_free(k);
    return rc;
}

int cipher_hkdf(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                const char *info, unsigned char *out, size_t out_len, UkError *err)
{
    if (cipher_load(err) != 0)
        return -1;
    static char digest[] = "SHA256";
    unsigned char empty = 0;
    OSSL_PARAM params[] = {
        lib.param_utf8(OSSL_KDF_PARAM_DIGEST, digest, 0),
        lib.param_octets(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        lib.param_octets(OSSL_KDF_PARAM_SALT, salt_len ? (void *)salt : &empty, salt_len),
        lib.param_octets(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
        lib.param_end(),
    };
    return kdf("HKDF", params, out, out_len, err);
}

int cipher_scrypt(const char *pass, size_t pass_len, const unsigned char *salt, size_t salt_len,
                  uint64_t n, uint32_t r, uint32_t p, unsigned char out[CIPHER_KEY_LEN],
                  UkError *err)
{
    if (cipher_load(err) != 0)
        return -1;
    OSSL_PARAM params[] = {
        lib.param_octets(OSSL_KDF_PARAM_PASSWORD, (void *)pass, pass_len),
        lib.param_octets(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len),
        lib.param_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
        lib.param_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
        lib.param_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
        lib.param_end(),
    };
    return kdf("SCRYPT", params, out, CIPHER_KEY_LEN, err);
}

struct CipherMac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

CipherMac *cipher_mac_new(const unsigned char key[CIPHER_KEY_LEN])
{
    UkError err = {0};
    if (cipher_load(&err) != 0)
        return NULL;
    CipherMac *m = xcalloc(1, sizeof *m);
    static char digest[] = "SHA256";
    OSSL_PARAM params[] = {lib.param_utf8(OSSL_MAC_PARAM_DIGEST, digest, 0), lib.param_end()};
    m->mac = lib.mac_fetch(NULL, "HMAC", NULL);
    m->ctx = m->mac ? lib.mac_ctx_new(m->mac) : NULL;
    if (!m->ctx || lib.mac_init(m->ctx, key, CIPHER_KEY_LEN, params) != 1) {
        cipher_mac_free(m);
        return NULL;
    }
    return m;
}

void cipher_mac(CipherMac *m, const void *data, size_t len, unsigned char out[32])
{
    size_t out_len = 0;
    /* A NULL key restarts with the key already set: no key schedule per chunk. */
    if (lib.mac_init(m->ctx, NULL, 0, NULL) != 1 || lib.mac_update(m->ctx, data, len) != 1 ||
        lib.mac_final(m->ctx, out, &out_len, 32) != 1 || out_len != 32)
        abort(); /* only a broken libcrypto fails here, and a wrong id must never be used */
}

void cipher_mac_free(CipherMac *m)
{
    if (!m)
        return;
    if (m->ctx)
        lib.mac_ctx_free(m->ctx);
    if (m->mac)
        lib.mac_free(m->mac);
    free(m);
}

int cipher_x25519_public(const unsigned char priv[32], unsigned char pub[32], UkError *err)
{
    if (cipher_load(err) != 0)
        return -1;
    EVP_PKEY *key = lib.pkey_new_raw_private(EVP_PKEY_X25519, NULL, priv, 32);
    size_t len = 32;
    int rc = key && lib.pkey_get_raw_public(key, pub, &len) == 1 && len == 32
                 ? 0
                 : failed(err, "X25519 public key");
    lib.pkey_free(key);
    return rc;
}

int cipher_x25519_shared(const unsigned char priv[32], const unsigned char peer[32],
                         unsigned char shared[32], UkError *err)
{
    if (cipher_load(err) != 0)
        return -1;
    EVP_PKEY *mine = lib.pkey_new_raw_private(EVP_PKEY_X25519, NULL, priv, 32);
    EVP_PKEY *theirs = lib.pkey_new_raw_public(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *ctx = mine ? lib.pkey_ctx_new(mine, NULL) : NULL;
    size_t len = 32;
    int rc = ctx && theirs && lib.derive_init(ctx) == 1 && lib.derive_set_peer(ctx, theirs) == 1 &&
                     lib.derive(ctx, shared, &len) == 1 && len == 32
                 ? 0
                 : failed(err, "X25519 key agreement");
    lib.pkey_ctx_free(ctx);
    lib.pkey_free(theirs);
    lib.pkey_free(mine);
    return rc;
}
