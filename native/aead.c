/*
 * xchachaOpenInto: opens an XChaCha20-Poly1305 object exactly as libsodium's
 * crypto_aead_xchacha20poly1305_ietf_decrypt does, writing the plaintext into
 * a buffer the caller owns and reuses. Node's decipher allocates a fresh
 * output buffer per call; on a restore those buffers were most of the pages
 * the process touched for the first time (page faults, not decryption, were
 * what the restore paid for).
 *
 * The cipher is the OpenSSL that Node links (the node binary exports its
 * symbols, the headers come with Node's): subkey = HChaCha20(key, nonce[0..16]),
 * then ChaCha20-Poly1305-IETF(subkey, 0x00000000 || nonce[16..24]).
 * Layout of a sealed object: nonce(24) || ciphertext || tag(16).
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "aead.h"

#define KEY_BYTES 32
#define NONCE_BYTES 24
#define TAG_BYTES 16

static uint32_t load32_le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void store32_le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

#define ROTL32(v, c) (((v) << (c)) | ((v) >> (32 - (c))))
#define QUARTER(a, b, c, d) \
  a += b; d ^= a; d = ROTL32(d, 16); \
  c += d; b ^= c; b = ROTL32(b, 12); \
  a += b; d ^= a; d = ROTL32(d, 8); \
  c += d; b ^= c; b = ROTL32(b, 7);

/* HChaCha20 (draft-irtf-cfrg-xchacha, section 2.2). */
static void hchacha20(uint8_t out[32], const uint8_t key[32], const uint8_t in[16]) {
  uint32_t x[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 };
  for (int i = 0; i < 8; i++) x[4 + i] = load32_le(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = load32_le(in + 4 * i);
  for (int round = 0; round < 10; round++) {
    QUARTER(x[0], x[4], x[8], x[12])
    QUARTER(x[1], x[5], x[9], x[13])
    QUARTER(x[2], x[6], x[10], x[14])
    QUARTER(x[3], x[7], x[11], x[15])
    QUARTER(x[0], x[5], x[10], x[15])
    QUARTER(x[1], x[6], x[11], x[12])
    QUARTER(x[2], x[7], x[8], x[13])
    QUARTER(x[3], x[4], x[9], x[14])
  }
  for (int i = 0; i < 4; i++) store32_le(out + 4 * i, x[i]);
  for (int i = 0; i < 4; i++) store32_le(out + 16 + 4 * i, x[12 + i]);
  OPENSSL_cleanse(x, sizeof x);
}

/* 1: authentic, plaintext in `out`; 0: it does not authenticate. */
static int open_into(const uint8_t *key, const uint8_t *sealed, size_t sealed_len, const uint8_t *ad, size_t ad_len, uint8_t *out) {
  const uint8_t *nonce = sealed;
  const uint8_t *ciphertext = sealed + NONCE_BYTES;
  int ciphertext_len = (int)(sealed_len - NONCE_BYTES - TAG_BYTES);
  uint8_t tag[TAG_BYTES];
  memcpy(tag, sealed + sealed_len - TAG_BYTES, TAG_BYTES);
  uint8_t subkey[KEY_BYTES];
  uint8_t iv[12] = { 0 };
  hchacha20(subkey, key, nonce);
  memcpy(iv + 4, nonce + 16, 8);

  int ok = 0;
  int len = 0;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx != NULL &&
      EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, (int)sizeof iv, NULL) == 1 &&
      EVP_DecryptInit_ex(ctx, NULL, NULL, subkey, iv) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, tag) == 1 &&
      (ad_len == 0 || EVP_DecryptUpdate(ctx, NULL, &len, ad, (int)ad_len) == 1) &&
      (ciphertext_len == 0 || EVP_DecryptUpdate(ctx, out, &len, ciphertext, ciphertext_len) == 1)) {
    int tail = 0;
    /* The tag is checked here; a forged or damaged object fails. */
    ok = EVP_DecryptFinal_ex(ctx, out + (ciphertext_len == 0 ? 0 : len), &tail) == 1;
  }
  EVP_CIPHER_CTX_free(ctx);
  OPENSSL_cleanse(subkey, sizeof subkey);
  /* Nothing of an object that did not authenticate may be used. */
  if (!ok && ciphertext_len > 0) OPENSSL_cleanse(out, (size_t)ciphertext_len);
  return ok;
}

static int typed_bytes(napi_env env, napi_value value, const char *name, uint8_t **data, size_t *len) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  napi_typedarray_type type;
  if (!is_typed || napi_get_typedarray_info(env, value, &type, len, (void **)data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    char msg[96];
    snprintf(msg, sizeof msg, "xchachaOpenInto: %s must be a Uint8Array", name);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

/*
 * xchachaOpenInto(key, sealed, ad, out) -> plaintext length, or -1 when the
 * object does not authenticate (then `out` holds no plaintext). Throws for a
 * key that is not 32 bytes, a sealed object shorter than nonce + tag, or an
 * `out` shorter than the plaintext.
 */
napi_value js_xchacha_open_into(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "xchachaOpenInto(key, sealed, ad, out)");
    return NULL;
  }
  uint8_t *key, *sealed, *ad, *out;
  size_t key_len, sealed_len, ad_len, out_len;
  if (!typed_bytes(env, argv[0], "key", &key, &key_len) || !typed_bytes(env, argv[1], "sealed", &sealed, &sealed_len) ||
      !typed_bytes(env, argv[2], "ad", &ad, &ad_len) || !typed_bytes(env, argv[3], "out", &out, &out_len)) {
    return NULL;
  }
  if (key_len != KEY_BYTES) {
    napi_throw_range_error(env, NULL, "xchachaOpenInto: key must be 32 bytes");
    return NULL;
  }
  if (sealed_len < NONCE_BYTES + TAG_BYTES) {
    napi_throw_range_error(env, NULL, "xchachaOpenInto: sealed data is shorter than nonce and tag");
    return NULL;
  }
  size_t plain_len = sealed_len - NONCE_BYTES - TAG_BYTES;
  if (plain_len > INT_MAX || ad_len > INT_MAX) {
    napi_throw_range_error(env, NULL, "xchachaOpenInto: sealed data or associated data above 2 GiB");
    return NULL;
  }
  if (out_len < plain_len) {
    napi_throw_range_error(env, NULL, "xchachaOpenInto: out is shorter than the plaintext");
    return NULL;
  }
  napi_value result;
  napi_create_int64(env, open_into(key, sealed, sealed_len, ad, ad_len, out) ? (int64_t)plain_len : -1, &result);
  return result;
}
