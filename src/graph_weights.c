/* graph_weights.c: a convolution's or matmul's weights in XNNPACK's
 * layout, f32 or per-channel int8 (mvb_options.precision, quantize.h), and
 * the input it reads: x itself, or x quantized at every run. */
#include <stdlib.h>

#include "graph_build.h"

/* In int8 precision, a convolution or matmul whose dot products read fewer
 * channels than this stays f32: an image or a stem's first feature maps.
 * Its products are too short for int8 to gain much, and sitting early, at
 * full resolution, its rounding reaches every later layer: on the shipped
 * model, 99.0% -> 99.9% verdict agreement with f32 (docs/design.md). */
#define INT8_MIN_CHANNELS 64

/* Whether a convolution or matmul summing over `channels` input channels
 * runs int8. */
bool mvb_runs_int8(const builder *b, size_t channels) {
  return b->precision == MVB_PRECISION_INT8 && channels >= INT8_MIN_CHANNELS;
}

/* Whether c is a uint8 weight that no other node reads: it can be
 * requantized over its own bytes. */
static bool sole_uint8_reader(const builder *b, const mvb_const *c) {
  size_t k = (size_t)(c - b->file->consts);
  return c->u8 && b->const_uses[k] <= 1 && !b->keep[k];
}

/* Weights as XNNPACK's per-output-channel int8 (qcint8) tensor of dims,
 * its channels along channel_dim, requantized from c (laid out as l says)
 * into channel-major order, or kept in l's layout (as_stored, which needs
 * sole_uint8_reader). A uint8 weight nothing else reads is requantized
 * over its own bytes, so no second copy of it is ever held; any other
 * source is released at once unless another node still reads it. */
static mvb_status int8_weights(builder *b, const mvb_node *n,
                               const mvb_const *c, const mvb_qlayout *l,
                               bool as_stored, int rank, const size_t *dims,
                               size_t channel_dim, uint32_t *id) {
  size_t k = (size_t)(c - b->file->consts);
  bool in_place = sole_uint8_reader(b, c);
  /* A uint8 weight is requantized byte by byte: its float copy (4x the
   * download: 157 MB for InceptionV3's dense kernel) is never made. Any
   * other reads its floats (mvb_const_floats refuses a released weight). */
  float table[256];
  const float *floats = NULL;
  mvb_status s = c->u8 ? MVB_OK : mvb_const_floats(b, n, c, &floats);
  if (s != MVB_OK) return s;
  if (c->u8) mvb_const_u8_table(c, table);
  mvb_qsource src = {floats, c->u8, table};
  mvb_qweights q;
  mvb_error why;
  s = in_place ? mvb_quantize_channels_in_place(c->u8, table, l, !as_stored,
                                                c->name, &q, &why)
               : mvb_quantize_channels(&src, l, c->name, &q, &why);
  if (s != MVB_OK) {
    mvb_qweights_free(&q);
    return mvb_fail(b->err, s, "node %s (%s): %s", n->name, n->op, why.message);
  }
  /* In place, the bytes are q.data now: the builder's to free, or, in the
   * file's weights block, freed with it after XNNPACK has packed them. */
  bool in_block = in_place && c->u8_in_weights;
  b->int8_in_weights |= in_block;
  if (in_place) {
    b->file->consts[k].u8 = NULL;
    b->file->consts[k].u8_in_weights = false;
  }
  s = mvb_temp_adopt(b, n, q.scale);
  if (s != MVB_OK) {
    if (!in_block) free(q.data);
    return s;
  }
  if (!in_block) s = mvb_temp_adopt(b, n, q.data);
  if (s != MVB_OK) return s;
  if (b->const_uses[k] <= 1 && !b->keep[k])
    mvb_const_release(&b->file->consts[k]);
  enum xnn_status xs = xnn_define_channelwise_quantized_tensor_value(
      b->subgraph, xnn_datatype_qcint8, q.scale, (size_t)rank, channel_dim,
      dims, q.data, XNN_INVALID_VALUE_ID, /*flags=*/0, id);
  return mvb_check_xnn(b, xs, n, "define int8 weight tensor");
}

/* An int8 matmul's weights, for a (K, N) or (N, K) weight c as l says:
 * kept as they lie when requantized over c's own bytes (*flags then says
 * how XNNPACK's fully connected reads them), or written (N, K). As they
 * lie, even the temporary copy of one tensor is not made: for
 * InceptionV3's dense kernel that would be 39 MB at the load's peak. */
mvb_status mvb_int8_matmul_weights(builder *b, const mvb_node *n,
                                   const mvb_const *c, const mvb_qlayout *l,
                                   uint32_t *id, uint32_t *flags) {
  size_t nk[2] = {l->channels, l->per_channel};
  size_t kn[2] = {l->per_channel, l->channels};
  bool as_stored = sole_uint8_reader(b, c);
  bool stored_kn = as_stored && l->channel_stride == 1; /* channels innermost */
  *flags = stored_kn ? XNN_FLAG_TRANSPOSE_WEIGHTS : 0;
  return int8_weights(b, n, c, l, as_stored, 2, stored_kn ? kn : nk,
                      stored_kn ? 1 : 0, id);
}

/* A convolution's or matmul's weights in XNNPACK's layout, dims (channels
 * first): gathered from c as l says into a float copy, or requantized to
 * int8. */
mvb_status mvb_gathered_weights(builder *b, const mvb_node *n,
                                const mvb_const *c, const mvb_qlayout *l,
                                bool int8, int rank, const size_t *dims,
                                uint32_t *id) {
  if (int8) return int8_weights(b, n, c, l, false, rank, dims, 0, id);
  const float *w = NULL;
  float *copy = NULL;
  mvb_status s = mvb_const_floats(b, n, c, &w);
  if (s == MVB_OK)
    s = mvb_temp_buffer(b, n, l->channels * l->per_channel, &copy);
  if (s != MVB_OK) return s;
  for (size_t ch = 0; ch < l->channels; ch++)
    for (size_t e = 0; e < l->per_channel; e++)
      copy[ch * l->per_channel + e] =
          w[ch * l->channel_stride + e * l->element_stride];
  return mvb_define_static(b, n, copy, rank, dims, id);
}

/* What a convolution or matmul reads of x: x itself, or for int8 weights
 * its qd8 copy (XNNPACK then picks the qd8 x qc8w operator), which a
 * convert node quantizes at every run. Made once per value and mode,
 * shared by all its readers (InceptionV3's branches). */
mvb_status mvb_weights_input(builder *b, const mvb_node *n, const value *x,
                             input_mode mode, uint32_t *id) {
  *id = x->id;
  if (mode == INPUT_F32) return MVB_OK;
  bool per_row = mode == INPUT_QD8_PER_ROW;
  if (x->id >= b->n_qd8) {
    size_t cap = 2 * b->n_qd8 > x->id ? 2 * b->n_qd8 : (size_t)x->id + 1;
    uint32_t(*grown)[2] = realloc(b->qd8, cap * sizeof *grown);
    if (!grown)
      return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY, "node %s: out of memory",
                      n->name);
    for (size_t i = b->n_qd8; i < cap; i++)
      grown[i][0] = grown[i][1] = XNN_INVALID_VALUE_ID;
    b->qd8 = grown;
    b->n_qd8 = cap;
  }
  uint32_t *cached = &b->qd8[x->id][per_row];
  if (*cached != XNN_INVALID_VALUE_ID) {
    *id = *cached;
    return MVB_OK;
  }
  enum xnn_status xs = xnn_define_dynamically_quantized_tensor_value(
      b->subgraph, xnn_datatype_qdint8, (size_t)x->rank,
      /*num_nonbatch_dims=*/per_row ? 1 : (size_t)x->rank - 1, x->dims,
      XNN_INVALID_VALUE_ID, /*flags=*/0, id);
  if (xs == xnn_status_success)
    xs = xnn_define_unary(b->subgraph, xnn_unary_convert, /*params=*/NULL,
                          x->id, *id, /*flags=*/0);
  mvb_status s = mvb_check_xnn(b, xs, n, "quantize the input to int8");
  if (s == MVB_OK) *cached = *id;
  return s;
}
