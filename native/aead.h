#ifndef COFFER_AEAD_H
#define COFFER_AEAD_H
#include <node_api.h>

/* xchachaOpenInto(key, sealed, ad, out) -> plaintext length or -1 (see aead.c). */
napi_value js_xchacha_open_into(napi_env env, napi_callback_info info);

#endif
