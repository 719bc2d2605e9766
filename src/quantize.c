/* quantize.c: per-output-channel symmetric int8 requantization (quantize.h). */
#include "quantize.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The int8 copy is written in tiles of this many elements of every channel:
 * a channel-innermost source (a TensorFlow filter, a (K, N) matrix) is then
 * read a few cache lines at a time, not one line per value. */
#define TILE 64

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Weight i of the source (a branch the CPU predicts: one kind per call). */
static float at(const mvb_qsource *s, size_t i) {
  return s->f32 ? s->f32[i] : s->table[s->u8[i]];
}

/* max|w| of every channel into peak (channels), in the source's order;
 * false if a weight is not finite. */
static bool channel_peaks(const mvb_qsource *src, const mvb_qlayout *l,
                          float *peak) {
  bool finite = true;
  for (size_t c = 0; c < l->channels; c++) peak[c] = 0.0f;
  for (size_t e = 0; e < l->per_channel; e++) {
    size_t row = e * l->element_stride;
    for (size_t c = 0; c < l->channels; c++) {
      float a = fabsf(at(src, row + c * l->channel_stride));
      finite &= a <= FLT_MAX; /* false for inf and NaN */
      peak[c] = a > peak[c] ? a : peak[c];
    }
  }
  return finite;
}

/* The first weight that is not finite, for the message. */
static void find_non_finite(const mvb_qsource *src, const mvb_qlayout *l,
                            size_t *channel, size_t *element) {
  for (size_t c = 0; c < l->channels; c++)
    for (size_t e = 0; e < l->per_channel; e++)
      if (!isfinite(at(src, c * l->channel_stride + e * l->element_stride))) {
        *channel = c;
        *element = e;
        return;
      }
}

/* Rounds x (|x| <= 127.5) to the nearest integer, ties to even: adding
 * 1.5 * 2^23 leaves no fraction bits. Unlike lrintf it is never a call,
 * which made requantizing InceptionV3's 39M-weight matmul take a second. */
static int8_t round_to_int8(float x) {
  float r = (x + 12582912.0f) - 12582912.0f;
  return (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : (int)r);
}

/* The checks every requantization makes before it writes, and the scales
 * into out->scale (out->data untouched). */
static mvb_status channel_scales(const mvb_qsource *src, const mvb_qlayout *l,
                                 const char *name, mvb_qweights *out,
                                 mvb_error *err) {
  if (l->per_channel > MVB_INT8_MAX_SUMS)
    return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                    "weight %s: an output channel sums %zu products, more than "
                    "the %zu an int8 accumulator holds",
                    name, l->per_channel, MVB_INT8_MAX_SUMS);
  if (l->channels == 0 || l->per_channel == 0)
    return mvb_fail(err, MVB_ERR_SHAPE, "weight %s: no values to quantize",
                    name);
  out->scale = malloc(l->channels * sizeof *out->scale);
  if (!out->scale)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "weight %s: out of memory for %zu scales", name,
                    l->channels);
  if (!channel_peaks(src, l, out->scale)) {
    size_t bad_c = 0, bad_e = 0;
    find_non_finite(src, l, &bad_c, &bad_e);
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "weight %s: value %zu of output channel %zu is not finite",
                    name, bad_e, bad_c);
  }
  for (size_t c = 0; c < l->channels; c++) {
    float peak = out->scale[c];
    float scale = peak == 0.0f ? 1.0f : peak / 127.0f;
    if (!isnormal(scale))
      return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                      "weight %s: output channel %zu peaks at %g, so its int8 "
                      "scale %g is not a normal float",
                      name, c, peak, scale);
    out->scale[c] = scale;
  }
  return MVB_OK;
}

/* Writes the int8 weights: element e of channel c goes to
 * dst[c * to->channel_stride + e * to->element_stride]. Each weight is read
 * once, before the write to its own index, so dst may be the source's bytes
 * when to is the source's layout. */
static void write_int8(const mvb_qsource *src, const mvb_qlayout *l,
                       const float *scale, int8_t *dst,
                       const mvb_qlayout *to) {
  for (size_t e0 = 0; e0 < l->per_channel; e0 += TILE) {
    size_t e1 = min_size(e0 + TILE, l->per_channel);
    for (size_t c = 0; c < l->channels; c++) {
      size_t from = c * l->channel_stride, into = c * to->channel_stride;
      float inverse = 1.0f / scale[c];
      for (size_t e = e0; e < e1; e++)
        dst[into + e * to->element_stride] =
            round_to_int8(at(src, from + e * l->element_stride) * inverse);
    }
  }
}

mvb_status mvb_quantize_channels(const mvb_qsource *src, const mvb_qlayout *l,
                                 const char *name, mvb_qweights *out,
                                 mvb_error *err) {
  out->data = NULL;
  out->scale = NULL;
  mvb_status s = channel_scales(src, l, name, out, err);
  if (s != MVB_OK) return s;
  /* Bounded by the caller's tensor size check: no overflow. */
  out->data = malloc(l->channels * l->per_channel);
  if (!out->data)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "weight %s: out of memory for %zu int8 weights", name,
                    l->channels * l->per_channel);
  const mvb_qlayout channel_major = {l->channels, l->per_channel,
                                     l->per_channel, 1};
  write_int8(src, l, out->scale, out->data, &channel_major);
  return MVB_OK;
}

mvb_status mvb_quantize_channels_in_place(uint8_t *bytes,
                                          const float table[256],
                                          const mvb_qlayout *l,
                                          bool channel_major, const char *name,
                                          mvb_qweights *out, mvb_error *err) {
  const mvb_qsource src = {NULL, bytes, table};
  if (channel_major) { /* through a copy of this one tensor */
    mvb_status s = mvb_quantize_channels(&src, l, name, out, err);
    if (s != MVB_OK) return s;
    memcpy(bytes, out->data, l->channels * l->per_channel);
    free(out->data);
    out->data = (int8_t *)bytes;
    return MVB_OK;
  }
  out->data = NULL;
  out->scale = NULL;
  mvb_status s = channel_scales(&src, l, name, out, err);
  if (s != MVB_OK) return s;
  write_int8(&src, l, out->scale, (int8_t *)bytes, l);
  out->data = (int8_t *)bytes;
  return MVB_OK;
}

void mvb_qweights_free(mvb_qweights *q) {
  if (!q) return;
  free(q->data);
  free(q->scale);
  q->data = NULL;
  q->scale = NULL;
}
