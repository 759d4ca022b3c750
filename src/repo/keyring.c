/* See keyring.h for the design. Key objects are JSON, the one kind of object an outsider can
 * read: which credential wraps it, the salt and scrypt cost, and the wrapped keys (hex). */
#include "repo/keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cipher.h"
#include "common/crypto.h"
#include "common/util.h"
#include "core/log.h"

#define SEAL_MAGIC "UKSEAL1\n"
#define SEAL_OVERHEAD (8 + CIPHER_NONCE_LEN + CIPHER_TAG_LEN)
/* scrypt's cost for passphrases: 32 MiB and about a tenth of a second here. */
#define SCRYPT_N 32768
#define SCRYPT_R 8
#define SCRYPT_P 1
#define WRITE_ONLY_LEN (4 * 32) /* id key, metadata key, gear seed, public key */

struct Keyring {
    KeyringMode mode;
    bool full; /* holds M (else a write-only key) */
    unsigned char master[32];
    unsigned char id_key[32], meta_key[32], gear[32], data_key[32];
    unsigned char priv[32], pub[32];
    /* public-key repositories, writing: this keyring's ephemeral key pair */
    bool have_ephemeral;
    unsigned char eph_pub[32], backup_key[32];
    char opened_id[33];
};

/* ---- credentials ---- */

static int read_secret(const char *path, bool is_passphrase, KeyCredential *out, UkError *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return uk_error_set(err, UK_E_CONFIG, errno, "unable to read %s '%s'",
                            is_passphrase ? "passphrase file" : "key file", path);
    if (st.st_mode & 077)
        return uk_error_set(
            err, UK_E_CONFIG, 0, "%s '%s' is readable by group or others (mode %03o): chmod 600 it",
            is_passphrase ? "passphrase file" : "key file", path, (unsigned)(st.st_mode & 0777));
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_file_all(path, sizeof out->secret, &data, &len, err) != 0)
        return -1;
    if (is_passphrase)
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            len--;
    int rc = 0;
    if (!is_passphrase && len != 32)
        rc = uk_error_set(err, UK_E_CONFIG, 0,
                          "key file '%s' holds %zu bytes, not 32 (make one with upkeep key "
                          "generate)",
                          path, len);
    else if (is_passphrase && len == 0)
        rc = uk_error_set(err, UK_E_CONFIG, 0, "passphrase file '%s' is empty", path);
    if (rc == 0) {
        memcpy(out->secret, data, len);
        out->len = len;
        out->is_passphrase = is_passphrase;
        snprintf(out->source, sizeof out->source, "%s '%s'",
                 is_passphrase ? "passphrase file" : "key file", path);
    }
    explicit_bzero(data, len);
    free(data);
    return rc;
}

int key_credential_from_file(const char *path, bool is_passphrase, KeyCredential *out, UkError *err)
{
    memset(out, 0, sizeof *out);
    return read_secret(path, is_passphrase, out, err);
}

int key_credential_load(const ConfigRepository *cfg, KeyCredential *out, bool *found, UkError *err)
{
    memset(out, 0, sizeof *out);
    *found = true;
    if (cfg->key_file)
        return read_secret(cfg->key_file, false, out, err);
    if (cfg->passphrase_file)
        return read_secret(cfg->passphrase_file, true, out, err);
    const char *env = getenv("UPKEEP_PASSPHRASE");
    if (env && *env) {
        size_t len = strlen(env);
        if (len > sizeof out->secret)
            return uk_error_set(err, UK_E_CONFIG, 0, "UPKEEP_PASSPHRASE is too long");
        memcpy(out->secret, env, len);
        out->len = len;
        out->is_passphrase = true;
        snprintf(out->source, sizeof out->source, "UPKEEP_PASSPHRASE");
        return 0;
    }
    *found = false;
    return 0;
}

void key_credential_clear(KeyCredential *c)
{
    explicit_bzero(c, sizeof *c);
}

int keyring_generate_key_file(const char *path, UkError *err)
{
    unsigned char key[32];
    if (crypto_random(key, sizeof key, err) != 0)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        explicit_bzero(key, sizeof key);
        return uk_error_set(err, errno == EEXIST ? UK_E_EXISTS : UK_E_IO, errno,
                            errno == EEXIST ? "'%s' exists already: a key file is never replaced"
                                            : "unable to create key file '%s'",
                            path);
    }
    int rc = write_all(fd, key, sizeof key, path, err);
    explicit_bzero(key, sizeof key);
    if (rc == 0 && fsync(fd) != 0)
        rc = uk_error_set(err, UK_E_IO, errno, "unable to sync key file '%s'", path);
    close(fd);
    if (rc != 0)
        unlink(path);
    return rc;
}

/* ---- keys ---- */

static int derive(const unsigned char master[32], const char *label, unsigned char out[32],
                  UkError *err)
{
    return cipher_hkdf(master, 32, NULL, 0, label, out, 32, err);
}

/* Everything that comes from M. */
static int derive_all(Keyring *k, UkError *err)
{
    if (derive(k->master, "upkeep id key", k->id_key, err) != 0 ||
        derive(k->master, "upkeep metadata key", k->meta_key, err) != 0 ||
        derive(k->master, "upkeep chunker gear", k->gear, err) != 0 ||
        derive(k->master, "upkeep data key", k->data_key, err) != 0 ||
        derive(k->master, "upkeep x25519 key", k->priv, err) != 0)
        return -1;
    return cipher_x25519_public(k->priv, k->pub, err);
}

/* The key that wraps M (or a write-only key) for CRED, with SALT (and the scrypt cost). */
static int wrapping_key(const KeyCredential *cred, const unsigned char salt[16], uint64_t n,
                        uint32_t r, uint32_t p, unsigned char out[32], UkError *err)
{
    if (cred->is_passphrase)
        return cipher_scrypt((const char *)cred->secret, cred->len, salt, 16, n, r, p, out, err);
    return cipher_hkdf(cred->secret, cred->len, salt, 16, "upkeep key file", out, 32, err);
}

/* Writes keys/<id>: PAYLOAD (M, or a write-only key) wrapped for CRED. */
static int write_key_object(Storage *s, const KeyCredential *cred, bool write_only,
                            const unsigned char *payload, size_t len, char *id_out, UkError *err)
{
    unsigned char salt[16], nonce[CIPHER_NONCE_LEN], id[16], wrap[32];
    unsigned char sealed[WRITE_ONLY_LEN + CIPHER_TAG_LEN];
    if (crypto_random(salt, sizeof salt, err) != 0 ||
        crypto_random(nonce, sizeof nonce, err) != 0 || crypto_random(id, sizeof id, err) != 0)
        return -1;
    const char *kind = write_only ? "write-only" : "full";
    char aad[64];
    snprintf(aad, sizeof aad, "upkeep key v1 %s", kind);
    if (wrapping_key(cred, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, wrap, err) != 0)
        return -1;
    int rc = cipher_seal(wrap, nonce, aad, strlen(aad), payload, len, sealed, err);
    explicit_bzero(wrap, sizeof wrap);
    if (rc != 0)
        return -1;
    char salt_hex[33], nonce_hex[25], sealed_hex[2 * sizeof sealed + 1], id_hex[33];
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    hex_encode(salt, sizeof salt, salt_hex);
    hex_encode(nonce, sizeof nonce, nonce_hex);
    hex_encode(sealed, len + CIPHER_TAG_LEN, sealed_hex);
    hex_encode(id, sizeof id, id_hex);
    json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "version", 1, "kind", kind,
                            "credential", cred->is_passphrase ? "passphrase" : "key-file", "salt",
                            salt_hex, "nonce", nonce_hex, "wrapped", sealed_hex, "created",
                            (json_int_t)time(NULL), "host", host);
    if (cred->is_passphrase)
        json_object_set_new(
            doc, "scrypt",
            json_pack("{s:I, s:i, s:i}", "n", (json_int_t)SCRYPT_N, "r", SCRYPT_R, "p", SCRYPT_P));
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    char *name = xasprintf("keys/%s", id_hex);
    rc = storage_put(s, name, text, strlen(text), true, err);
    free(name);
    free(text);
    if (rc == 0 && id_out)
        snprintf(id_out, 33, "%s", id_hex);
    return rc;
}

int keyring_create(Storage *s, KeyringMode mode, const KeyCredential *cred, Keyring **out,
                   UkError *err)
{
    *out = NULL;
    Keyring *k = xcalloc(1, sizeof *k);
    k->mode = mode;
    k->full = true;
    if (crypto_random(k->master, sizeof k->master, err) != 0 || derive_all(k, err) != 0 ||
        write_key_object(s, cred, false, k->master, 32, NULL, err) != 0) {
        keyring_free(k);
        return -1;
    }
    *out = k;
    return 0;
}

/* Tries key object NAME with CRED: 1 and *k filled when it opens, 0 when it does not fit. */
static int try_key_object(Storage *s, const char *name, const KeyCredential *cred, Keyring *k,
                          UkError *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (storage_get(s, name, &data, &len, err) != 0)
        return -1;
    json_t *doc = json_loadb((const char *)data, len, 0, NULL);
    free(data);
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *credential = json_string_value(json_object_get(doc, "credential"));
    const char *salt_hex = json_string_value(json_object_get(doc, "salt"));
    const char *nonce_hex = json_string_value(json_object_get(doc, "nonce"));
    const char *sealed_hex = json_string_value(json_object_get(doc, "wrapped"));
    json_t *scrypt = json_object_get(doc, "scrypt");
    unsigned char salt[16], nonce[CIPHER_NONCE_LEN], sealed[WRITE_ONLY_LEN + CIPHER_TAG_LEN];
    bool write_only = kind && strcmp(kind, "write-only") == 0;
    size_t sealed_len = (write_only ? WRITE_ONLY_LEN : 32) + CIPHER_TAG_LEN;
    int rc = 0;
    if (!kind || !credential || !salt_hex || !nonce_hex || !sealed_hex ||
        hex_decode(salt_hex, salt, sizeof salt) != 0 ||
        hex_decode(nonce_hex, nonce, sizeof nonce) != 0 ||
        hex_decode(sealed_hex, sealed, sealed_len) != 0) {
        rc = uk_error_set(err, UK_E_CORRUPT, 0, "key object '%s' is damaged", name);
        goto out;
    }
    if ((strcmp(credential, "passphrase") == 0) != cred->is_passphrase)
        goto out; /* made for the other kind of credential */
    uint64_t n = (uint64_t)json_integer_value(json_object_get(scrypt, "n"));
    uint32_t r = (uint32_t)json_integer_value(json_object_get(scrypt, "r"));
    uint32_t p = (uint32_t)json_integer_value(json_object_get(scrypt, "p"));
    if (cred->is_passphrase &&
        (n < 2 || n > (1u << 24) || (n & (n - 1)) || r < 1 || r > 32 || p < 1 || p > 16)) {
        rc = uk_error_set(err, UK_E_CORRUPT, 0,
                          "key object '%s' asks for an scrypt cost of "
                          "its own (N %llu, r %u, p %u): refused",
                          name, (unsigned long long)n, r, p);
        goto out;
    }
    unsigned char wrap[32], payload[WRITE_ONLY_LEN];
    char aad[64];
    snprintf(aad, sizeof aad, "upkeep key v1 %s", kind);
    if (wrapping_key(cred, salt, n, r, p, wrap, err) != 0) {
        rc = -1;
        goto out;
    }
    UkError open_err = {0};
    int opened = cipher_open(wrap, nonce, aad, strlen(aad), sealed, sealed_len, payload, &open_err);
    explicit_bzero(wrap, sizeof wrap);
    if (opened != 0)
        goto out; /* not this credential's */
    memset(k, 0, sizeof *k);
    if (write_only) {
        k->full = false;
        memcpy(k->id_key, payload, 32);
        memcpy(k->meta_key, payload + 32, 32);
        memcpy(k->gear, payload + 64, 32);
        memcpy(k->pub, payload + 96, 32);
    } else {
        k->full = true;
        memcpy(k->master, payload, 32);
        if (derive_all(k, err) != 0)
            rc = -1;
    }
    explicit_bzero(payload, sizeof payload);
    if (rc == 0)
        rc = 1;
out:
    json_decref(doc);
    return rc;
}

int keyring_unlock(Storage *s, const KeyCredential *cred, const unsigned char *marker,
                   size_t marker_len, Keyring **out, UkError *err)
{
    *out = NULL;
    char **names = NULL;
    size_t n = 0;
    if (storage_list(s, "keys", &names, &n, err) != 0)
        return -1;
    Keyring *k = xcalloc(1, sizeof *k);
    int rc = -1;
    bool fitted = false;
    for (size_t i = 0; i < n && rc != 0; i++) {
        char *name = xasprintf("keys/%s", names[i]);
        UkError key_err = {0};
        int tried = try_key_object(s, name, cred, k, &key_err);
        free(name);
        if (tried < 0) {
            log_warn("%s", key_err.msg);
            continue;
        }
        if (tried == 0)
            continue;
        fitted = true;
        /* Its keys must open the marker: a key object of another repository's (two hosts
         * creating one at once) fits the credential but not this repository. */
        unsigned char *plain = NULL;
        size_t plain_len = 0;
        UkError marker_err = {0};
        if (keyring_open(k, "config", marker, marker_len, &plain, &plain_len, &marker_err) == 0) {
            json_t *doc = json_loadb((const char *)plain, plain_len, 0, NULL);
            const char *mode = json_string_value(json_object_get(doc, "encryption"));
            k->mode = mode && strcmp(mode, "public-key") == 0 ? KEYRING_PUBLIC_KEY : KEYRING_AES;
            json_decref(doc);
            free(plain);
            snprintf(k->opened_id, sizeof k->opened_id, "%s", names[i]);
            rc = 0;
        }
    }
    storage_names_free(names, n);
    if (rc != 0) {
        keyring_free(k);
        return uk_error_set(err, UK_E_CONFIG, 0,
                            n == 0 ? "it holds no key objects"
                            : fitted
                                ? "the %s opens a key, but not this repository's"
                                : "the %s opens none of its %zu keys (wrong key or passphrase)",
                            cred->source, n);
    }
    *out = k;
    return 0;
}

void keyring_free(Keyring *k)
{
    if (!k)
        return;
    explicit_bzero(k, sizeof *k);
    free(k);
}

const char *keyring_opened_id(const Keyring *k)
{
    return k->opened_id;
}

int keyring_list(Storage *s, KeyInfo **list, size_t *n, UkError *err)
{
    *list = NULL;
    *n = 0;
    char **names = NULL;
    size_t count = 0;
    if (storage_list(s, "keys", &names, &count, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        char *name = xasprintf("keys/%s", names[i]);
        unsigned char *data = NULL;
        size_t len = 0;
        rc = storage_get(s, name, &data, &len, err);
        free(name);
        if (rc != 0)
            break;
        json_t *doc = json_loadb((const char *)data, len, 0, NULL);
        free(data);
        *list = xrealloc(*list, (*n + 1) * sizeof **list);
        KeyInfo *info = &(*list)[(*n)++];
        memset(info, 0, sizeof *info);
        snprintf(info->id, sizeof info->id, "%s", names[i]);
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        const char *credential = json_string_value(json_object_get(doc, "credential"));
        const char *host = json_string_value(json_object_get(doc, "host"));
        snprintf(info->kind, sizeof info->kind, "%s", kind ? kind : "damaged");
        snprintf(info->credential, sizeof info->credential, "%s", credential ? credential : "?");
        snprintf(info->host, sizeof info->host, "%s", host ? host : "");
        info->created = (time_t)json_integer_value(json_object_get(doc, "created"));
        json_decref(doc);
    }
    storage_names_free(names, count);
    if (rc != 0) {
        free(*list);
        *list = NULL;
        *n = 0;
    }
    return rc;
}

KeyringMode keyring_mode(const Keyring *k)
{
    return k->mode;
}

bool keyring_can_read(const Keyring *k)
{
    return !k || k->full;
}

int keyring_add_key(Storage *s, const Keyring *k, const KeyCredential *new_cred, bool write_only,
                    char *id_out, UkError *err)
{
    if (!k->full)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "a write-only key cannot add keys: run this where a full key is");
    if (write_only && k->mode != KEYRING_PUBLIC_KEY)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "write-only keys are for repositories with encryption = public-key");
    if (!write_only)
        return write_key_object(s, new_cred, false, k->master, 32, id_out, err);
    unsigned char payload[WRITE_ONLY_LEN];
    memcpy(payload, k->id_key, 32);
    memcpy(payload + 32, k->meta_key, 32);
    memcpy(payload + 64, k->gear, 32);
    memcpy(payload + 96, k->pub, 32);
    int rc = write_key_object(s, new_cred, true, payload, sizeof payload, id_out, err);
    explicit_bzero(payload, sizeof payload);
    return rc;
}

/* ---- sealed objects ---- */

bool keyring_is_sealed(const unsigned char *data, size_t len)
{
    return len >= 8 && memcmp(data, SEAL_MAGIC, 8) == 0;
}

int keyring_seal(const Keyring *k, const char *name, const void *plain, size_t len,
                 unsigned char **out, size_t *out_len, UkError *err)
{
    *out = NULL;
    *out_len = 0;
    if (!k) {
        *out = xmalloc(len ? len : 1);
        memcpy(*out, plain, len);
        *out_len = len;
        return 0;
    }
    unsigned char *buf = xmalloc(len + SEAL_OVERHEAD);
    memcpy(buf, SEAL_MAGIC, 8);
    if (crypto_random(buf + 8, CIPHER_NONCE_LEN, err) != 0 ||
        cipher_seal(k->meta_key, buf + 8, name, strlen(name), plain, len,
                    buf + 8 + CIPHER_NONCE_LEN, err) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = len + SEAL_OVERHEAD;
    return 0;
}

int keyring_open(const Keyring *k, const char *name, const unsigned char *data, size_t len,
                 unsigned char **out, size_t *out_len, UkError *err)
{
    *out = NULL;
    *out_len = 0;
    if (!k) {
        if (keyring_is_sealed(data, len))
            return uk_error_set(err, UK_E_FORMAT, 0, "'%s' is encrypted", name);
        *out = xmalloc(len + 1);
        memcpy(*out, data, len);
        (*out)[len] = 0;
        *out_len = len;
        return 0;
    }
    if (!keyring_is_sealed(data, len) || len < SEAL_OVERHEAD)
        return uk_error_set(err, UK_E_CORRUPT, 0,
                            "'%s' is not an encrypted object (this repository is encrypted)", name);
    size_t plain_len = len - SEAL_OVERHEAD;
    unsigned char *plain = xmalloc(plain_len + 1);
    if (cipher_open(k->meta_key, data + 8, name, strlen(name), data + 8 + CIPHER_NONCE_LEN,
                    len - 8 - CIPHER_NONCE_LEN, plain, err) != 0) {
        free(plain);
        return uk_error_set(err, UK_E_CORRUPT, 0,
                            "'%s' fails authentication (damaged, put there in place of another "
                            "object, or not this repository's)",
                            name);
    }
    plain[plain_len] = 0;
    *out = plain;
    *out_len = plain_len;
    return 0;
}

/* ---- chunk ids ---- */

struct ChunkNamer {
    CipherMac *mac; /* NULL: SHA-256 */
};

ChunkNamer *chunk_namer_new(const Keyring *k)
{
    ChunkNamer *n = xcalloc(1, sizeof *n);
    if (k && !(n->mac = cipher_mac_new(k->id_key)))
        abort(); /* libcrypto loaded with the keyring; only a broken one fails here */
    return n;
}

void chunk_namer_id(ChunkNamer *n, const void *data, size_t len, unsigned char out[32])
{
    if (n->mac)
        cipher_mac(n->mac, data, len, out);
    else
        crypto_sha256(data, len, out);
}

void chunk_namer_free(ChunkNamer *n)
{
    if (!n)
        return;
    cipher_mac_free(n->mac);
    free(n);
}

uint64_t keyring_gear_seed(const Keyring *k)
{
    if (!k)
        return 0;
    uint64_t seed = 0;
    for (int i = 0; i < 8; i++)
        seed = seed << 8 | k->gear[i];
    return seed ? seed : 1;
}

/* ---- packs ---- */

static int pack_key(const unsigned char base[32], const unsigned char pack_id[16],
                    unsigned char key[32], UkError *err)
{
    return cipher_hkdf(base, 32, pack_id, 16, "upkeep pack key", key, 32, err);
}

/* The key of the packs of one backup in a public-key repository, from the secret SHARED
 * between its ephemeral key and the repository's. */
static int backup_key(const unsigned char shared[32], const unsigned char eph_pub[32],
                      const unsigned char pub[32], unsigned char out[32], UkError *err)
{
    unsigned char salt[64];
    memcpy(salt, eph_pub, 32);
    memcpy(salt + 32, pub, 32);
    return cipher_hkdf(shared, 32, salt, sizeof salt, "upkeep backup key", out, 32, err);
}

int keyring_pack_key_for_writing(Keyring *k, const unsigned char pack_id[16],
                                 unsigned char header[KEYRING_PACK_HEADER], unsigned char key[32],
                                 UkError *err)
{
    memset(header, 0, KEYRING_PACK_HEADER);
    if (k->mode == KEYRING_AES)
        return pack_key(k->data_key, pack_id, key, err);
    if (!k->have_ephemeral) {
        unsigned char eph_priv[32], shared[32];
        int rc = crypto_random(eph_priv, sizeof eph_priv, err);
        if (rc == 0)
            rc = cipher_x25519_public(eph_priv, k->eph_pub, err);
        if (rc == 0)
            rc = cipher_x25519_shared(eph_priv, k->pub, shared, err);
        if (rc == 0)
            rc = backup_key(shared, k->eph_pub, k->pub, k->backup_key, err);
        explicit_bzero(eph_priv, sizeof eph_priv); /* this host can never read it again */
        explicit_bzero(shared, sizeof shared);
        if (rc != 0)
            return -1;
        k->have_ephemeral = true;
    }
    memcpy(header, k->eph_pub, 32);
    return pack_key(k->backup_key, pack_id, key, err);
}

int keyring_pack_key_for_reading(const Keyring *k, const unsigned char pack_id[16],
                                 const unsigned char header[KEYRING_PACK_HEADER],
                                 unsigned char key[32], UkError *err)
{
    if (!k->full)
        return uk_error_set(err, UK_E_USAGE, 0,
                            "this host's key is write-only: it writes backups but cannot read "
                            "them (verify and restore where a full key is)");
    if (k->mode == KEYRING_AES)
        return pack_key(k->data_key, pack_id, key, err);
    unsigned char shared[32], base[32];
    int rc = cipher_x25519_shared(k->priv, header, shared, err);
    if (rc == 0)
        rc = backup_key(shared, header, k->pub, base, err);
    if (rc == 0)
        rc = pack_key(base, pack_id, key, err);
    explicit_bzero(shared, sizeof shared);
    explicit_bzero(base, sizeof base);
    return rc;
}

/* The nonce is the frame's number, which no other frame under the pack's key has; the
 * associated data pins the frame to its pack, place, compression and length. */
static void frame_params(const unsigned char pack_id[16], uint32_t frame, uint64_t offset,
                         uint8_t compression, uint32_t raw_len,
                         unsigned char nonce[CIPHER_NONCE_LEN], unsigned char aad[29])
{
    memset(nonce, 0, CIPHER_NONCE_LEN);
    for (int i = 0; i < 4; i++)
        nonce[CIPHER_NONCE_LEN - 1 - i] = (unsigned char)(frame >> (8 * i));
    memcpy(aad, pack_id, 16);
    for (int i = 0; i < 8; i++)
        aad[16 + i] = (unsigned char)(offset >> (8 * i));
    aad[24] = compression;
    for (int i = 0; i < 4; i++)
        aad[25 + i] = (unsigned char)(raw_len >> (8 * i));
}

int keyring_frame_seal(const unsigned char key[32], const unsigned char pack_id[16], uint32_t frame,
                       uint64_t offset, uint8_t compression, uint32_t raw_len, const void *in,
                       size_t len, unsigned char *out, UkError *err)
{
    unsigned char nonce[CIPHER_NONCE_LEN], aad[29];
    frame_params(pack_id, frame, offset, compression, raw_len, nonce, aad);
    return cipher_seal(key, nonce, aad, sizeof aad, in, len, out, err);
}

int keyring_frame_open(const unsigned char key[32], const unsigned char pack_id[16], uint32_t frame,
                       uint64_t offset, uint8_t compression, uint32_t raw_len,
                       const unsigned char *in, size_t len, unsigned char *out, UkError *err)
{
    unsigned char nonce[CIPHER_NONCE_LEN], aad[29];
    frame_params(pack_id, frame, offset, compression, raw_len, nonce, aad);
    return cipher_open(key, nonce, aad, sizeof aad, in, len, out, err);
}
