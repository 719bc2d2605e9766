/* sha256.h: SHA-256 (FIPS 180-4), for the weight shards' digests (internal).
 * Self-contained so that the native build, the wasm build and any embedder
 * check shards the same way without a crypto library.
 *
 *     mvb_sha256_ctx c;
 *     mvb_sha256_init(&c);
 *     mvb_sha256_update(&c, part1, n1);   // any number of parts
 *     mvb_sha256_final(&c, digest);       // 32 bytes
 */
#ifndef MVB_SHA256_H
#define MVB_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MVB_SHA256_BYTES 32
#define MVB_SHA256_HEX 65 /* 64 hex digits + NUL */

typedef struct mvb_sha256_ctx {
  uint32_t h[8];
  uint64_t bytes;    /* message length so far */
  uint8_t block[64]; /* a partial block */
  size_t used;       /* bytes in block */
} mvb_sha256_ctx;

void mvb_sha256_init(mvb_sha256_ctx *c);
void mvb_sha256_update(mvb_sha256_ctx *c, const void *data, size_t n);
void mvb_sha256_final(mvb_sha256_ctx *c, uint8_t digest[MVB_SHA256_BYTES]);

/* One buffer at once. */
void mvb_sha256(const void *data, size_t n, uint8_t digest[MVB_SHA256_BYTES]);

/* Lowercase hex, as sha256sum and Python's hexdigest() write it. */
void mvb_sha256_hex(const uint8_t digest[MVB_SHA256_BYTES],
                    char hex[MVB_SHA256_HEX]);

/* Reads 64 hex digits (either case) into digest; false if s is anything
 * else (n is the length of s, which need not be NUL-terminated). */
bool mvb_sha256_from_hex(const char *s, size_t n,
                         uint8_t digest[MVB_SHA256_BYTES]);

#endif
