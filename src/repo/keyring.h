/* The keys of an encrypted repository, and what is done with them.
 *
 * A repository made with `encryption = aes-256` or `public-key` has a random 256-bit master
 * secret M, never stored in the clear: each key object keys/<id> holds it wrapped (AES-256-GCM)
 * under a key made from a key file (32 random bytes, HKDF-SHA256) or a passphrase (scrypt), so
 * that adding or removing a way in rewrites one small object, never the data. Everything else
 * comes from M through HKDF-SHA256 with labels of its own:
 *   - the id key: a chunk's id is HMAC-SHA256(id key, bytes), so the repository does not tell
 *     whether it holds a file someone knows;
 *   - the chunker's gear table (repo/chunker.h), so that cut points say nothing either;
 *   - the metadata key: every object other than packs and key objects (the marker config,
 *     indexes, manifests, locks, gc/marked, proofs) is sealed with AES-256-GCM under it, its
 *     name as associated data, so that no object can stand in for another;
 *   - the data key (aes-256) or an X25519 key pair (public-key): a pack's frames are sealed
 *     under a key of that pack alone, HKDF(data key, pack id), with the frame's number as
 *     nonce and its position, compression and lengths as associated data: a nonce never
 *     repeats under one key, whichever host writes. In public-key repositories each backup
 *     makes an ephemeral X25519 key pair and derives its packs' keys from the secret it shares
 *     with the repository's public key; the ephemeral public key heads every pack it writes.
 *     A host holding only a write-only key (the id key, the metadata key, the gear seed and
 *     the public key) can then write backups and read the repository's metadata, but cannot
 *     decrypt any pack: restore and verify run where a full key is.
 * A plain repository has no keyring (NULL), and every function below then does what a plain
 * repository does (SHA-256 ids, objects stored as they are). */
#ifndef UK_KEYRING_H
#define UK_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/config.h"
#include "core/error.h"
#include "repo/storage.h"

typedef enum { KEYRING_AES = 1, KEYRING_PUBLIC_KEY = 2 } KeyringMode;

typedef struct Keyring Keyring;

/* The credential a host opens a repository with: a key file's 32 bytes or a passphrase. */
typedef struct KeyCredential {
    bool is_passphrase;
    unsigned char secret[512]; /* wiped by key_credential_clear */
    size_t len;
    char source[1100]; /* "key file '/etc/upkeep/repo.key'", for messages */
} KeyCredential;

/* The repository's credential from its config: key_file, passphrase_file, or the
 * UPKEEP_PASSPHRASE environment variable. *found is false when none is given. A key file or
 * passphrase file readable by group or others is refused. */
int key_credential_load(const ConfigRepository *cfg, KeyCredential *out, bool *found, UkError *err);
/* The same from one file (upkeep key add). */
int key_credential_from_file(const char *path, bool is_passphrase, KeyCredential *out,
                             UkError *err);
void key_credential_clear(KeyCredential *c);

/* Writes a new key file: 32 random bytes, mode 0600, never replacing a file. */
int keyring_generate_key_file(const char *path, UkError *err);

/* A new repository's keys: M made now, a full key object for CRED written to keys/. The
 * caller then writes the marker with keyring_seal. */
int keyring_create(Storage *s, KeyringMode mode, const KeyCredential *cred, Keyring **out,
                   UkError *err);
/* Opens the keys of an existing repository with CRED: the key object it fits, whose keys
 * open the sealed MARKER (the config object's bytes). */
int keyring_unlock(Storage *s, const KeyCredential *cred, const unsigned char *marker,
                   size_t marker_len, Keyring **out, UkError *err);
void keyring_free(Keyring *k);
KeyringMode keyring_mode(const Keyring *k);
/* Whether this keyring can decrypt packs (not a write-only one). */
bool keyring_can_read(const Keyring *k);

/* The key object the keyring was opened with ("" for a new repository's). */
const char *keyring_opened_id(const Keyring *k);

/* What a key object says of itself. */
typedef struct KeyInfo {
    char id[33];
    char kind[16];       /* full or write-only */
    char credential[16]; /* key-file or passphrase */
    char host[256];
    time_t created;
} KeyInfo;
/* Every key object of the repository (caller frees *list). */
int keyring_list(Storage *s, KeyInfo **list, size_t *n, UkError *err);

/* Adds a key object for NEW_CRED: full, or write-only (public-key repositories only). Its id
 * goes into id_out (33 bytes). */
int keyring_add_key(Storage *s, const Keyring *k, const KeyCredential *new_cred, bool write_only,
                    char *id_out, UkError *err);

/* ---- sealed objects ---- */

/* Is this a sealed object's content (its magic)? */
bool keyring_is_sealed(const unsigned char *data, size_t len);
/* Seals PLAIN as object NAME: a fresh copy when k is NULL. Caller frees *out. */
int keyring_seal(const Keyring *k, const char *name, const void *plain, size_t len,
                 unsigned char **out, size_t *out_len, UkError *err);
/* Opens object NAME: a copy when k is NULL. A wrong key, a changed byte or an object stored
 * under another name fails with UK_E_CORRUPT naming the object. Caller frees *out. */
int keyring_open(const Keyring *k, const char *name, const unsigned char *data, size_t len,
                 unsigned char **out, size_t *out_len, UkError *err);

/* ---- chunk ids ---- */

/* Names chunks: SHA-256, or HMAC-SHA256 under the id key. One per thread. */
typedef struct ChunkNamer ChunkNamer;
ChunkNamer *chunk_namer_new(const Keyring *k);
void chunk_namer_id(ChunkNamer *n, const void *data, size_t len, unsigned char out[32]);
void chunk_namer_free(ChunkNamer *n);
/* The seed of the chunker's gear table (0: the fixed one of plain repositories). */
uint64_t keyring_gear_seed(const Keyring *k);

/* ---- packs ---- */

#define KEYRING_PACK_HEADER 32 /* the pack's ephemeral public key, zeros in aes-256 */

/* The key of a pack being written (pack_id: its 16-byte name) and the header it starts
 * with. Public-key repositories make the ephemeral key pair on the first call. */
int keyring_pack_key_for_writing(Keyring *k, const unsigned char pack_id[16],
                                 unsigned char header[KEYRING_PACK_HEADER], unsigned char key[32],
                                 UkError *err);
/* The key of a pack being read, from its header. A write-only keyring cannot. */
int keyring_pack_key_for_reading(const Keyring *k, const unsigned char pack_id[16],
                                 const unsigned char header[KEYRING_PACK_HEADER],
                                 unsigned char key[32], UkError *err);
/* A frame of pack PACK_ID sealed or opened: frame number FRAME at byte OFFSET, its
 * compression and raw length as associated data. seal writes len + 16 bytes. */
int keyring_frame_seal(const unsigned char key[32], const unsigned char pack_id[16], uint32_t frame,
                       uint64_t offset, uint8_t compression, uint32_t raw_len, const void *in,
                       size_t len, unsigned char *out, UkError *err);
int keyring_frame_open(const unsigned char key[32], const unsigned char pack_id[16], uint32_t frame,
                       uint64_t offset, uint8_t compression, uint32_t raw_len,
                       const unsigned char *in, size_t len, unsigned char *out, UkError *err);

#endif
