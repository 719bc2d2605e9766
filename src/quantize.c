/* quantize.c: per-output-channel symmetric int8 requantization (quantize.h). */
#include "quantize.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Weights are visited in tiles of this many elements of every channel, so
 * that both a channel-innermost source (a TensorFlow filter, a (K, N)
 * matrix) and the channel-major int8 copy are walked a cache line at a
 * time rather than one value per line. */
#define TILE 64

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* max|w| of every channel into peak (channels); false at a non-finite
 * weight, whose channel and element it reports. */
static int channel_peaks(const float *src, const mvb_qlayout *l, float *peak,
                         size_t *bad_c, size_t *bad_e) {
  for (size_t c = 0; c < l->channels; c++) peak[c] = 0.0f;
  for (size_t e0 = 0; e0 < l->per_channel; e0 += TILE) {
    size_t e1 = min_size(e0 + TILE, l->per_channel);
    for (size_t c = 0; c < l->channels; c++) {
      const float *w = src + c * l->channel_stride;
      for (size_t e = e0; e < e1; e++) {
        float a = fabsf(w[e * l->element_stride]);
        if (!isfinite(a)) {
          *bad_c = c;
          *bad_e = e;
          return 0;
        }
        if (a > peak[c]) peak[c] = a;
      }
    }
  }
  return 1;
}

static int8_t round_to_int8(float w, float scale) {
  long q = lrintf(w / scale);
  return (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

mvb_status mvb_quantize_channels(const float *src, const mvb_qlayout *l,
                                 const char *name, mvb_qweights *out,
                                 mvb_error *err) {
  out->data = NULL;
  out->scale = NULL;
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
  size_t bad_c = 0, bad_e = 0;
  if (!channel_peaks(src, l, out->scale, &bad_c, &bad_e))
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "weight %s: value %zu of output channel %zu is not finite",
                    name, bad_e, bad_c);
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
  /* Bounded by the caller's tensor size check: no overflow. */
  out->data = malloc(l->channels * l->per_channel);
  if (!out->data)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "weight %s: out of memory for %zu int8 weights", name,
                    l->channels * l->per_channel);
  for (size_t e0 = 0; e0 < l->per_channel; e0 += TILE) {
    size_t e1 = min_size(e0 + TILE, l->per_channel);
    for (size_t c = 0; c < l->channels; c++) {
      const float *w = src + c * l->channel_stride;
      int8_t *q = out->data + c * l->per_channel;
      for (size_t e = e0; e < e1; e++)
        q[e] = round_to_int8(w[e * l->element_stride], out->scale[c]);
    }
  }
  return MVB_OK;
}

void mvb_qweights_free(mvb_qweights *q) {
  if (!q) return;
  free(q->data);
  free(q->scale);
  q->data = NULL;
  q->scale = NULL;
}
