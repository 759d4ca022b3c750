#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cipher.h"
#include "common/util.h"

static void hex(const char *text, unsigned char *out, size_t len)
{
    assert_int_equal(hex_decode(text, out, len), 0);
}

/* Sealing and opening: the bytes come back; any change to them, the key, the nonce or the
 * associated data is refused. */
static void test_gcm(void **state)
{
    (void)state;
    unsigned char key[32], nonce[12] = {1}, plain[100], sealed[116], back[100];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 100; i++)
        plain[i] = (unsigned char)(i * 7);
    UkError err = {0};
    assert_int_equal(cipher_seal(key, nonce, "name", 4, plain, 100, sealed, &err), 0);
    assert_memory_not_equal(sealed, plain, 100);
    assert_int_equal(cipher_open(key, nonce, "name", 4, sealed, 116, back, &err), 0);
    assert_memory_equal(back, plain, 100);
    sealed[50] ^= 1;
    assert_int_equal(cipher_open(key, nonce, "name", 4, sealed, 116, back, &err), -1);
    assert_int_equal(err.code, UK_E_CORRUPT);
    assert_string_equal(err.msg, "authentication failed");
    sealed[50] ^= 1;
    assert_int_equal(cipher_open(key, nonce, "nam3", 4, sealed, 116, back, &err), -1);
    nonce[0] = 2;
    assert_int_equal(cipher_open(key, nonce, "name", 4, sealed, 116, back, &err), -1);
    nonce[0] = 1;
    key[0] ^= 1;
    assert_int_equal(cipher_open(key, nonce, "name", 4, sealed, 116, back, &err), -1);
    assert_int_equal(cipher_open(key, nonce, "name", 4, sealed, 10, back, &err), -1);
}

/* RFC 5869, test case 1. */
static void test_hkdf(void **state)
{
    (void)state;
    unsigned char ikm[22], salt[13], okm[42], want[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (unsigned char)i;
    hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        want, sizeof want);
    UkError err = {0};
    assert_int_equal(cipher_hkdf(ikm, sizeof ikm, salt, sizeof salt,
                                 "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9", okm, sizeof okm, &err),
                     0);
    assert_memory_equal(okm, want, sizeof want);
}

/* RFC 7914, the second vector (the first 32 of its 64 bytes: PBKDF2's blocks do not depend
 * on the length asked for). */
static void test_scrypt(void **state)
{
    (void)state;
    unsigned char out[32], want[32];
    hex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162", want, 32);
    UkError err = {0};
    assert_int_equal(
        cipher_scrypt("password", 8, (const unsigned char *)"NaCl", 4, 1024, 8, 16, out, &err), 0);
    assert_memory_equal(out, want, 32);
}

/* Python's hmac gives this for key 00..1f and "upkeep chunk". */
static void test_mac(void **state)
{
    (void)state;
    unsigned char key[32], out[32], want[32];
    for (int i = 0; i < 32; i++)
        key[i] = (unsigned char)i;
    hex("ee8c53ebe9debdd49f0b4b8ba45ed91bdc5f86d65fd0e9162263aefc47fa8f0e", want, 32);
    CipherMac *m = cipher_mac_new(key);
    assert_non_null(m);
    for (int round = 0; round < 3; round++) { /* the same each time: the context restarts */
        cipher_mac(m, "upkeep chunk", 12, out);
        assert_memory_equal(out, want, 32);
    }
    cipher_mac_free(m);
}

/* RFC 7748, section 6.1. */
static void test_x25519(void **state)
{
    (void)state;
    unsigned char a[32], b[32], a_pub[32], b_pub[32], want_a[32], want_b[32], shared[32], want[32];
    hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want_a, 32);
    hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", want_b, 32);
    hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
    UkError err = {0};
    assert_int_equal(cipher_x25519_public(a, a_pub, &err), 0);
    assert_int_equal(cipher_x25519_public(b, b_pub, &err), 0);
    assert_memory_equal(a_pub, want_a, 32);
    assert_memory_equal(b_pub, want_b, 32);
    assert_int_equal(cipher_x25519_shared(a, b_pub, shared, &err), 0);
    assert_memory_equal(shared, want, 32);
    assert_int_equal(cipher_x25519_shared(b, a_pub, shared, &err), 0);
    assert_memory_equal(shared, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gcm), cmocka_unit_test(test_hkdf),   cmocka_unit_test(test_scrypt),
        cmocka_unit_test(test_mac), cmocka_unit_test(test_x25519),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
