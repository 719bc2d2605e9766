/* fuzz_input.h: how one fuzz input encodes a model.json and its shards, shared
 * by fuzz_model_file.c and fuzz_load.c (make_seeds.py writes the same layout):
 *
 *     u32 LE json length, json bytes, then per shard: u32 LE length, bytes
 *
 * A length past the end is cut to what is left, so most mutations still reach
 * the parser. Every piece is copied into a buffer of its exact size, so that
 * AddressSanitizer sees a read past the end of the json or of a shard instead
 * of it landing in the next piece. Header only: each target is one file.
 */
#ifndef MVB_FUZZ_INPUT_H
#define MVB_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_SHARDS 16

typedef struct fuzz_model_input {
  char *json; /* (json_size), not NUL-terminated */
  size_t json_size;
  uint8_t *shards[FUZZ_MAX_SHARDS]; /* (sizes[i]) each */
  size_t sizes[FUZZ_MAX_SHARDS];
  size_t count;
} fuzz_model_input;

/* Cuts the next length-prefixed piece off *data; NULL when none is left or
 * memory runs out. malloc(0) may return NULL, hence the +1. */
static uint8_t *fuzz_take(const uint8_t **data, size_t *left, size_t *size) {
  if (*left < 4) return NULL;
  const uint8_t *p = *data;
  size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
             (size_t)p[3] << 24;
  if (n > *left - 4) n = *left - 4;
  uint8_t *copy = malloc(n + 1);
  if (!copy) return NULL;
  memcpy(copy, p + 4, n);
  *data += 4 + n;
  *left -= 4 + n;
  *size = n;
  return copy;
}

static void fuzz_model_input_free(fuzz_model_input *in) {
  free(in->json);
  for (size_t i = 0; i < in->count; i++) free(in->shards[i]);
  memset(in, 0, sizeof *in);
}

/* Returns 0 when the input has no json piece (or memory ran out). */
static int fuzz_model_input_split(const uint8_t *data, size_t size,
                                  fuzz_model_input *in) {
  memset(in, 0, sizeof *in);
  in->json = (char *)fuzz_take(&data, &size, &in->json_size);
  if (!in->json) return 0;
  while (in->count < FUZZ_MAX_SHARDS) {
    uint8_t *shard = fuzz_take(&data, &size, &in->sizes[in->count]);
    if (!shard) break;
    in->shards[in->count++] = shard;
  }
  return 1;
}

#endif
