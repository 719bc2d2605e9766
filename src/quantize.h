/* quantize.h: float weights -> per-output-channel symmetric int8, the form
 * XNNPACK's qcint8 tensors take (internal; no XNNPACK).
 *
 * Each output channel c gets scale[c] = max|w| / 127 and q = round(w /
 * scale[c]) in [-127, 127], zero point 0, so w ~ scale[c] * q with an error
 * of at most scale[c] / 2. An all-zero channel gets scale 1 (XNNPACK wants
 * every scale positive; its q are all 0, so it stays exact). */
#ifndef MVB_QUANTIZE_H
#define MVB_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mvb.h"

/* Products one output channel may sum: the int32 accumulator holds
 * 132104 * 128 * 127 < 2^31 (an int8 activation times an int8 weight). */
#define MVB_INT8_MAX_SUMS ((size_t)132104)

/* Where the weights of a channel lie in the float source: element e of
 * channel c is src[c * channel_stride + e * element_stride]. A TensorFlow
 * (kh, kw, in, out) filter: channel_stride 1, element_stride out. */
typedef struct mvb_qlayout {
  size_t channels;    /* output channels */
  size_t per_channel; /* weights each output channel sums over */
  size_t channel_stride;
  size_t element_stride;
} mvb_qlayout;

/* The float weights to requantize: src->f32, or, when that is NULL,
 * src->u8 read through src->table (the value of each byte: a TensorFlow.js
 * uint8 weight, so that no float copy of the tensor is made). Indexed as
 * mvb_qlayout says. */
typedef struct mvb_qsource {
  const float *f32;
  const uint8_t *u8;
  const float *table; /* (256) */
} mvb_qsource;

typedef struct mvb_qweights {
  int8_t *data; /* (channels, per_channel), channel-major (in place: the
                   source's layout); owned */
  float *scale; /* (channels); owned */
} mvb_qweights;

/* Requantizes src (laid out as layout says) into out, which the caller
 * frees with mvb_qweights_free (also after a failure). Refused, naming the
 * tensor name: a non-finite weight, a channel whose scale is not a normal
 * positive float (its largest weight is below 127 * FLT_MIN), more than
 * MVB_INT8_MAX_SUMS weights per channel. Checked before the int8 copy is
 * allocated. */
mvb_status mvb_quantize_channels(const mvb_qsource *src,
                                 const mvb_qlayout *layout, const char *name,
                                 mvb_qweights *out, mvb_error *err);

/* As mvb_quantize_channels, for a uint8 weight read through its table, but
 * written over its own bytes (int8 and uint8 take the same room): in its
 * own layout (element e of channel c stays at c * channel_stride + e *
 * element_stride), or channel_major as mvb_quantize_channels writes it,
 * through a temporary copy of this one tensor. On success out->data is
 * bytes, which the caller takes over; after a refusal the bytes are
 * unchanged and out is freed as after mvb_quantize_channels. */
mvb_status mvb_quantize_channels_in_place(uint8_t *bytes,
                                          const float table[256],
                                          const mvb_qlayout *layout,
                                          bool channel_major, const char *name,
                                          mvb_qweights *out, mvb_error *err);

void mvb_qweights_free(mvb_qweights *q); /* zeroes it; NULLs are fine */

#endif
