#ifndef EMPORIUM_CSODIUM_SHIM_H
#define EMPORIUM_CSODIUM_SHIM_H
#include <sodium.h>

/// The argon2id string format's size, as a function (the macro is an expression).
static inline size_t emp_pwhash_strbytes(void) { return crypto_pwhash_STRBYTES; }
static inline int emp_pwhash_alg_argon2id13(void) { return crypto_pwhash_ALG_ARGON2ID13; }
#endif
