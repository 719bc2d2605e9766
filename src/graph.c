/* graph.c: TensorFlow graph nodes -> an XNNPACK subgraph -> a runtime.
 *
 * Reading order: the value table and builder, small helpers (attributes,
 * XNNPACK values, spatial parameters), one op_* function per TensorFlow op,
 * the op table, the traversal, and finally mvb_graph_build / invoke / free.
 *
 * Everything stays NHWC with batch 1, as TensorFlow.js graph models are.
 * Shapes are inferred here, not only by XNNPACK, so a model that does not
 * fit together fails at load time with the node's name. */
#include "graph.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "quantize.h"

/* External values: the input, then output k as EXTERNAL_OUTPUT_ID + k. */
enum {
  EXTERNAL_INPUT_ID = 0,
  EXTERNAL_OUTPUT_ID = 1,
  EXTERNAL_COUNT = 1 + MVB_MAX_OUTPUTS
};
enum { UNVISITED = 0, VISITING = 1, DONE = 2 };

/* What a node produces: an XNNPACK value, or (for Const) a weight. */
typedef struct value {
  int state;
  uint32_t id;        /* XNN_INVALID_VALUE_ID for constants */
  const mvb_const *c; /* set for Const nodes */
  int rank;
  size_t dims[MVB_MAX_RANK];
} value;

typedef struct builder {
  mvb_model_file *file;
  mvb_precision precision;
  xnn_subgraph_t subgraph;
  value *values; /* (n_nodes) */
  bool *keep;    /* (n_consts) read by XNNPACK at run time, not packed */
  size_t output_nodes[MVB_MAX_OUTPUTS]; /* node computing signature output k */
  size_t n_outputs;
  void **temp; /* static buffers we made (transposed filters, zero biases,
                  int8 weights and scales); XNNPACK packs them, so freed
                  after create */
  size_t n_temp, cap_temp;
  /* int8 precision only: */
  unsigned *const_uses; /* (n_consts) node inputs reading each, through
                           Identity nodes */
  uint32_t (*qd8)[2];   /* (n_qd8) qd8 copies of XNNPACK value i, quantized
                           per image [0] or per row [1], or
                           XNN_INVALID_VALUE_ID */
  size_t n_qd8;
  bool int8_in_weights; /* some int8 weights lie in file->weights */
  mvb_error *err;
} builder;

/* One external output: its buffer and shape (batch 1). */
typedef struct graph_output {
  float *data; /* (count) + XNN_EXTRA_BYTES */
  size_t count;
  int rank;
  size_t dims[MVB_MAX_RANK];
} graph_output;

struct mvb_graph {
  xnn_runtime_t runtime;
  float *input; /* (input_count) + XNN_EXTRA_BYTES */
  size_t input_count;
  graph_output outputs[MVB_MAX_OUTPUTS]; /* signature order */
  size_t n_outputs;
};

/* ---- small helpers ---------------------------------------------------- */

static const char *xnn_status_text(enum xnn_status s) {
  switch (s) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "uninitialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
    default: return "unknown status";
  }
}

/* Turns an XNNPACK failure into our status with the node named. */
static mvb_status check_xnn(builder *b, enum xnn_status s, const mvb_node *n,
                            const char *what) {
  if (s == xnn_status_success) return MVB_OK;
  return mvb_fail(
      b->err,
      s == xnn_status_out_of_memory ? MVB_ERR_OUT_OF_MEMORY : MVB_ERR_BACKEND,
      "node %s (%s): XNNPACK %s failed: %s", n->name, n->op, what,
      xnn_status_text(s));
}

static size_t node_index(const builder *b, const mvb_node *n) {
  return (size_t)(n - b->file->nodes);
}

/* The node's index in f->nodes, or -1 (hashed: O(1) on average). */
static long find_node(const mvb_model_file *f, const char *name) {
  const mvb_node *n = mvb_model_file_node(f, name);
  return n ? (long)(n - f->nodes) : -1;
}

static size_t product(const size_t *dims, int rank) {
  size_t p = 1;
  for (int i = 0; i < rank; i++) p *= dims[i];
  return p;
}

/* Reads attr name as a list of 4 ints [1, h, w, 1] (strides, ksize,
 * dilations); absent means fallback for both. */
static mvb_status spatial_pair(builder *b, const mvb_node *n, const char *name,
                               uint32_t fallback, uint32_t *h, uint32_t *w) {
  const mvb_attr *a = mvb_node_attr(n, name);
  if (!a || (a->kind == MVB_ATTR_LIST && a->n_ints == 0)) {
    if (fallback == 0)
      return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                      "node %s (%s): attribute %s is missing", n->name, n->op,
                      name);
    *h = *w = fallback;
    return MVB_OK;
  }
  if (a->kind != MVB_ATTR_LIST || a->n_ints != 4 || a->ints[0] != 1 ||
      a->ints[3] != 1 || a->ints[1] < 1 || a->ints[2] < 1 ||
      a->ints[1] > 4096 || a->ints[2] > 4096)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): attribute %s must be [1, h, w, 1] with "
                    "h, w >= 1",
                    n->name, n->op, name);
  *h = (uint32_t)a->ints[1];
  *w = (uint32_t)a->ints[2];
  return MVB_OK;
}

static mvb_status require_nhwc(builder *b, const mvb_node *n) {
  const mvb_attr *a = mvb_node_attr(n, "data_format");
  if (a && a->s && strcmp(a->s, "NHWC") != 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): data_format %s is not supported (only NHWC)",
                    n->name, n->op, a->s);
  return MVB_OK;
}

static mvb_status get_input(builder *b, const mvb_node *n, size_t i,
                            value **out) {
  if (i >= n->n_inputs)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (%s): expected at least %zu inputs, has %zu",
                    n->name, n->op, i + 1, n->n_inputs);
  long k = find_node(b->file, n->inputs[i].node);
  *out = &b->values[k]; /* resolved and visited before the node is defined */
  return MVB_OK;
}

/* Input i must be computed at run time (not a constant). */
static mvb_status tensor_input(builder *b, const mvb_node *n, size_t i,
                               int rank, value **out) {
  mvb_status s = get_input(b, n, i, out);
  if (s != MVB_OK) return s;
  if ((*out)->c)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): input %zu (%s) is a constant; only "
                    "computed tensors are supported there",
                    n->name, n->op, i, n->inputs[i].node);
  if (rank > 0 && (*out)->rank != rank)
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): input %zu (%s) has rank %d, expected %d",
                    n->name, n->op, i, n->inputs[i].node, (*out)->rank, rank);
  return MVB_OK;
}

/* Input i must be a Const of the given dtype and rank (rank < 0: any). */
static mvb_status const_input(builder *b, const mvb_node *n, size_t i,
                              mvb_dtype dtype, int rank,
                              const mvb_const **out) {
  value *v = NULL;
  mvb_status s = get_input(b, n, i, &v);
  if (s != MVB_OK) return s;
  if (!v->c)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): input %zu (%s) must be a constant", n->name,
                    n->op, i, n->inputs[i].node);
  if (v->c->dtype != dtype)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): constant %s must be %s", n->name, n->op,
                    v->c->name, dtype == MVB_DTYPE_F32 ? "float32" : "int32");
  if (rank >= 0 && v->c->rank != rank)
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): constant %s has rank %d, expected %d",
                    n->name, n->op, v->c->name, v->c->rank, rank);
  *out = v->c;
  return MVB_OK;
}

/* c's values as floats: a uint8 weight is dequantized now, when its first
 * reader needs it, so the builder holds one weight's floats at a time, not
 * the model's (model_file.h). */
static mvb_status const_floats(builder *b, const mvb_node *n,
                               const mvb_const *c, const float **out) {
  mvb_error why;
  mvb_status s =
      mvb_const_dequantize(&b->file->consts[c - b->file->consts], &why);
  if (s != MVB_OK)
    return mvb_fail(b->err, s, "node %s (%s): %s", n->name, n->op, why.message);
  *out = c->f32;
  return MVB_OK;
}

/* No tensor may hold more values than this (512 MiB of float32): a hostile
 * model must not make XNNPACK allocate, or wrap a size product to, nonsense. */
#define MAX_TENSOR_VALUES ((size_t)1 << 27)

/* Checks a tensor's dimensions: none 0, product within MAX_TENSOR_VALUES
 * (tested before each multiplication, so it cannot overflow). */
static mvb_status check_dims(builder *b, const mvb_node *n, int rank,
                             const size_t *dims) {
  size_t total = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] == 0)
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (%s): output dimension %d is 0", n->name, n->op,
                      i);
    if (dims[i] > MAX_TENSOR_VALUES / total)
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s (%s): output has more than %zu values", n->name,
                      n->op, MAX_TENSOR_VALUES);
    total *= dims[i];
  }
  return MVB_OK;
}

/* Which signature output node n computes, or -1. */
static int output_slot(const builder *b, const mvb_node *n) {
  for (size_t k = 0; k < b->n_outputs; k++)
    if (b->output_nodes[k] == node_index(b, n)) return (int)k;
  return -1;
}

/* Defines this node's output tensor: external if the signature names it. */
static mvb_status define_output(builder *b, const mvb_node *n, value *out,
                                int rank, const size_t *dims) {
  mvb_status s = check_dims(b, n, rank, dims);
  if (s != MVB_OK) return s;
  out->rank = rank;
  memcpy(out->dims, dims, (size_t)rank * sizeof *dims);
  int slot = output_slot(b, n);
  enum xnn_status xs = xnn_define_tensor_value(
      b->subgraph, xnn_datatype_fp32, (size_t)rank, dims, /*data=*/NULL,
      slot >= 0 ? EXTERNAL_OUTPUT_ID + (uint32_t)slot : XNN_INVALID_VALUE_ID,
      slot >= 0 ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, &out->id);
  return check_xnn(b, xs, n, "define output tensor");
}

/* An intermediate tensor that no TensorFlow node names (concat chains). */
static mvb_status define_internal(builder *b, const mvb_node *n, int rank,
                                  const size_t *dims, uint32_t *id) {
  enum xnn_status s =
      xnn_define_tensor_value(b->subgraph, xnn_datatype_fp32, (size_t)rank,
                              dims, NULL, XNN_INVALID_VALUE_ID, 0, id);
  return check_xnn(b, s, n, "define intermediate tensor");
}

static mvb_status define_static(builder *b, const mvb_node *n,
                                const float *data, int rank, const size_t *dims,
                                uint32_t *id) {
  enum xnn_status s =
      xnn_define_tensor_value(b->subgraph, xnn_datatype_fp32, (size_t)rank,
                              dims, data, XNN_INVALID_VALUE_ID, 0, id);
  return check_xnn(b, s, n, "define weight tensor");
}

/* A constant XNNPACK reads while running (so it must not be released). */
static mvb_status define_kept_const(builder *b, const mvb_node *n,
                                    const mvb_const *c, uint32_t *id) {
  size_t dims[MVB_MAX_RANK];
  for (int i = 0; i < c->rank; i++) dims[i] = (size_t)c->shape[i];
  b->keep[c - b->file->consts] = true;
  const float *data = NULL;
  mvb_status s = const_floats(b, n, c, &data);
  return s == MVB_OK ? define_static(b, n, data, c->rank, dims, id) : s;
}

/* Keeps p (from malloc) until the runtime is created; frees it if it
 * cannot. */
static mvb_status temp_adopt(builder *b, const mvb_node *n, void *p) {
  if (b->n_temp == b->cap_temp) {
    size_t cap = b->cap_temp ? 2 * b->cap_temp : 16;
    void **grown = realloc(b->temp, cap * sizeof *grown);
    if (!grown) {
      free(p);
      return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY, "node %s: out of memory",
                      n->name);
    }
    b->temp = grown;
    b->cap_temp = cap;
  }
  b->temp[b->n_temp++] = p;
  return MVB_OK;
}

static mvb_status temp_buffer(builder *b, const mvb_node *n, size_t count,
                              float **out) {
  float *p = calloc(count ? count : 1, sizeof *p);
  if (!p)
    return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY,
                    "node %s: out of memory for %zu weights", n->name, count);
  *out = p;
  return temp_adopt(b, n, p);
}

/* Bias for a conv or matmul: the constant of input i, or zeros if none. */
static mvb_status bias_value(builder *b, const mvb_node *n, size_t i,
                             size_t channels, uint32_t *id) {
  const float *data;
  if (i < n->n_inputs) {
    const mvb_const *c = NULL;
    mvb_status s = const_input(b, n, i, MVB_DTYPE_F32, 1, &c);
    if (s != MVB_OK) return s;
    if ((size_t)c->shape[0] != channels)
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (%s): bias %s has %lld values, expected %zu",
                      n->name, n->op, c->name, (long long)c->shape[0],
                      channels);
    if ((s = const_floats(b, n, c, &data)) != MVB_OK) return s;
  } else {
    float *zeros = NULL;
    mvb_status s = temp_buffer(b, n, channels, &zeros);
    if (s != MVB_OK) return s;
    data = zeros;
  }
  return define_static(b, n, data, 1, &channels, id);
}

/* fused_ops of _FusedConv2D / _FusedMatMul / FusedDepthwiseConv2dNative:
 * ["BiasAdd"] optionally followed by "Relu" or "Relu6", folded into the
 * output clamp. */
static mvb_status fused_activation(builder *b, const mvb_node *n, float *lo,
                                   float *hi) {
  *lo = -INFINITY;
  *hi = INFINITY;
  const mvb_attr *ops = mvb_node_attr(n, "fused_ops");
  const mvb_attr *num_args = mvb_node_attr(n, "num_args");
  if (!ops || ops->kind != MVB_ATTR_LIST || ops->n_strs < 1 ||
      strcmp(ops->strs[0], "BiasAdd") != 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): fused_ops must start with BiasAdd (found "
                    "%s)",
                    n->name, n->op,
                    ops && ops->n_strs ? ops->strs[0] : "nothing");
  if (num_args && num_args->i != 1)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): num_args %lld is not supported (only 1)",
                    n->name, n->op, (long long)num_args->i);
  if (ops->n_strs > 2)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): %zu fused ops are not supported", n->name,
                    n->op, ops->n_strs);
  if (ops->n_strs == 2) {
    if (strcmp(ops->strs[1], "Relu") == 0) {
      *lo = 0.0f;
    } else if (strcmp(ops->strs[1], "Relu6") == 0) {
      *lo = 0.0f;
      *hi = 6.0f;
    } else {
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s (%s): fused activation %s is not supported",
                      n->name, n->op, ops->strs[1]);
    }
  }
  return MVB_OK;
}

/* ---- weights and int8 operands (mvb_options.precision) ------------------ */

/* In int8 precision, a convolution or matmul whose dot products read fewer
 * channels than this stays f32: an image or a stem's first feature maps.
 * Its products are too short for int8 to gain much, and sitting early, at
 * full resolution, its rounding reaches every later layer: on the shipped
 * model, 99.0% -> 99.9% verdict agreement with f32 (docs/design.md). */
#define INT8_MIN_CHANNELS 64

/* Whether a convolution or matmul summing over `channels` input channels
 * runs int8. */
static bool runs_int8(const builder *b, size_t channels) {
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
   * other reads its floats (const_floats refuses a released weight). */
  float table[256];
  const float *floats = NULL;
  mvb_status s = c->u8 ? MVB_OK : const_floats(b, n, c, &floats);
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
  s = temp_adopt(b, n, q.scale);
  if (s != MVB_OK) {
    if (!in_block) free(q.data);
    return s;
  }
  if (!in_block) s = temp_adopt(b, n, q.data);
  if (s != MVB_OK) return s;
  if (b->const_uses[k] <= 1 && !b->keep[k])
    mvb_const_release(&b->file->consts[k]);
  enum xnn_status xs = xnn_define_channelwise_quantized_tensor_value(
      b->subgraph, xnn_datatype_qcint8, q.scale, (size_t)rank, channel_dim,
      dims, q.data, XNN_INVALID_VALUE_ID, /*flags=*/0, id);
  return check_xnn(b, xs, n, "define int8 weight tensor");
}

/* An int8 matmul's weights, for a (K, N) or (N, K) weight c as l says:
 * kept as they lie when requantized over c's own bytes (*flags then says
 * how XNNPACK's fully connected reads them), or written (N, K). As they
 * lie, even the temporary copy of one tensor is not made: for
 * InceptionV3's dense kernel that would be 39 MB at the load's peak. */
static mvb_status int8_matmul_weights(builder *b, const mvb_node *n,
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
static mvb_status gathered_weights(builder *b, const mvb_node *n,
                                   const mvb_const *c, const mvb_qlayout *l,
                                   bool int8, int rank, const size_t *dims,
                                   uint32_t *id) {
  if (int8) return int8_weights(b, n, c, l, false, rank, dims, 0, id);
  const float *w = NULL;
  float *copy = NULL;
  mvb_status s = const_floats(b, n, c, &w);
  if (s == MVB_OK) s = temp_buffer(b, n, l->channels * l->per_channel, &copy);
  if (s != MVB_OK) return s;
  for (size_t ch = 0; ch < l->channels; ch++)
    for (size_t e = 0; e < l->per_channel; e++)
      copy[ch * l->per_channel + e] =
          w[ch * l->channel_stride + e * l->element_stride];
  return define_static(b, n, copy, rank, dims, id);
}

/* How a convolution or matmul reads its input x. */
typedef enum input_mode {
  INPUT_F32,           /* x itself, for f32 weights */
  INPUT_QD8_PER_IMAGE, /* for int8 weights, quantized with one scale per
                          image of an (N, H, W, C) x: convolutions */
  INPUT_QD8_PER_ROW,   /* per row of the values a matmul multiplies (per
                          pixel of a 1x1 convolution's input) */
} input_mode;

/* What a convolution or matmul reads of x: x itself, or for int8 weights
 * its qd8 copy (XNNPACK then picks the qd8 x qc8w operator), which a
 * convert node quantizes at every run. Made once per value and mode,
 * shared by all its readers (InceptionV3's branches). */
static mvb_status weights_input(builder *b, const mvb_node *n, const value *x,
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
  mvb_status s = check_xnn(b, xs, n, "quantize the input to int8");
  if (s == MVB_OK) *cached = *id;
  return s;
}

/* ---- spatial parameters (convolutions and pools) ------------------------ */

typedef struct spatial {
  uint32_t kh, kw, sh, sw, dh, dw;
  uint32_t top, right, bottom, left;
  size_t out_h, out_w;
} spatial;

/* TensorFlow's SAME / VALID / EXPLICIT padding for one axis. */
static mvb_status pad_axis(builder *b, const mvb_node *n, const char *padding,
                           const mvb_attr *explicit_pads, int axis, size_t in,
                           uint32_t k, uint32_t stride, uint32_t dilation,
                           uint32_t *before, uint32_t *after, size_t *out) {
  size_t eff = (size_t)(k - 1) * dilation + 1;
  if (strcmp(padding, "SAME") == 0) {
    *out = (in + stride - 1) / stride;
    size_t need = (*out - 1) * stride + eff;
    size_t total = need > in ? need - in : 0;
    *before = (uint32_t)(total / 2);
    *after = (uint32_t)(total - total / 2);
    return MVB_OK;
  }
  *before = *after = 0;
  if (strcmp(padding, "EXPLICIT") == 0) {
    if (!explicit_pads || explicit_pads->n_ints != 8)
      return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                      "node %s (%s): EXPLICIT padding needs 8 "
                      "explicit_paddings",
                      n->name, n->op);
    int64_t pb = explicit_pads->ints[2 * axis],
            pa = explicit_pads->ints[2 * axis + 1];
    if (pb < 0 || pa < 0 || pb > 4096 || pa > 4096)
      return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                      "node %s (%s): explicit padding out of range", n->name,
                      n->op);
    *before = (uint32_t)pb;
    *after = (uint32_t)pa;
  } else if (strcmp(padding, "VALID") != 0) {
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): padding %s is not supported", n->name, n->op,
                    padding);
  }
  size_t padded = in + *before + *after;
  if (padded < eff)
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): window %zu is larger than the padded input "
                    "%zu",
                    n->name, n->op, eff, padded);
  *out = (padded - eff) / stride + 1;
  return MVB_OK;
}

/* Fills p from the node's strides / dilations / padding attributes for an
 * input of in_h x in_w and a kernel of kh x kw. */
static mvb_status spatial_params(builder *b, const mvb_node *n, size_t in_h,
                                 size_t in_w, uint32_t kh, uint32_t kw,
                                 bool has_dilations, spatial *p) {
  mvb_status s = require_nhwc(b, n);
  if (s != MVB_OK) return s;
  p->kh = kh;
  p->kw = kw;
  s = spatial_pair(b, n, "strides", 0, &p->sh, &p->sw);
  if (s != MVB_OK) return s;
  p->dh = p->dw = 1;
  if (has_dilations) {
    s = spatial_pair(b, n, "dilations", 1, &p->dh, &p->dw);
    if (s != MVB_OK) return s;
  }
  const mvb_attr *pad = mvb_node_attr(n, "padding");
  if (!pad || !pad->s)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (%s): attribute padding is missing", n->name,
                    n->op);
  const mvb_attr *explicit_pads = mvb_node_attr(n, "explicit_paddings");
  s = pad_axis(b, n, pad->s, explicit_pads, 1, in_h, kh, p->sh, p->dh, &p->top,
               &p->bottom, &p->out_h);
  if (s != MVB_OK) return s;
  return pad_axis(b, n, pad->s, explicit_pads, 2, in_w, kw, p->sw, p->dw,
                  &p->left, &p->right, &p->out_w);
}

/* ---- ops ---------------------------------------------------------------- */

static mvb_status op_placeholder(builder *b, const mvb_node *n, value *out) {
  const mvb_model_file *f = b->file;
  if (strcmp(n->name, f->input_node) != 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (Placeholder): only the signature input %s can "
                    "be fed",
                    n->name, f->input_node);
  if (output_slot(b, n) >= 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s: the output is the input itself", n->name);
  size_t dims[MVB_MAX_RANK];
  for (int i = 0; i < f->input_rank; i++) {
    int64_t d = f->input_shape[i];
    if (d == -1 && i == 0) d = 1; /* batch: we run one image at a time */
    if (d <= 0)
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s: input dimension %d is %lld; only the batch "
                      "dimension may be unknown",
                      n->name, i, (long long)f->input_shape[i]);
    dims[i] = (size_t)d;
  }
  out->rank = f->input_rank;
  memcpy(out->dims, dims, sizeof dims);
  enum xnn_status s = xnn_define_tensor_value(
      b->subgraph, xnn_datatype_fp32, (size_t)f->input_rank, dims, NULL,
      EXTERNAL_INPUT_ID, XNN_VALUE_FLAG_EXTERNAL_INPUT, &out->id);
  return check_xnn(b, s, n, "define input tensor");
}

static mvb_status op_const(builder *b, const mvb_node *n, value *out) {
  const mvb_const *c = mvb_model_file_const(b->file, n->name);
  if (!c)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (Const): no weight of that name in the "
                    "weightsManifest",
                    n->name);
  if (output_slot(b, n) >= 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s: the output is a constant", n->name);
  out->c = c;
  out->id = XNN_INVALID_VALUE_ID;
  out->rank = c->rank;
  for (int i = 0; i < c->rank; i++) out->dims[i] = (size_t)c->shape[i];
  return MVB_OK;
}

/* Identity: no XNNPACK node (the output resolves through it beforehand),
 * except a graph that outputs its input, which needs a copy. */
static mvb_status op_identity(builder *b, const mvb_node *n, value *out) {
  value *in = NULL;
  mvb_status s = get_input(b, n, 0, &in);
  if (s != MVB_OK) return s;
  if (output_slot(b, n) >= 0) {
    s = tensor_input(b, n, 0, 0, &in);
    if (s == MVB_OK) s = define_output(b, n, out, in->rank, in->dims);
    if (s != MVB_OK) return s;
    return check_xnn(b, xnn_define_copy(b->subgraph, in->id, out->id, 0), n,
                     "copy");
  }
  int state = out->state;
  *out = *in;
  out->state = state;
  return MVB_OK;
}

/* What every convolution reads first: the input, the filter constant
 * (kh, kw, ., .), the fused activation and the window. The batch is
 * usually 1 but need not be (a Pad or Reshape can change it). */
typedef struct conv_setup {
  value *x;
  const mvb_const *filter;
  float lo, hi; /* output clamp */
  spatial p;
} conv_setup;

static mvb_status read_conv(builder *b, const mvb_node *n, bool fused,
                            conv_setup *c) {
  c->lo = -INFINITY;
  c->hi = INFINITY;
  mvb_status s = tensor_input(b, n, 0, 4, &c->x);
  if (s == MVB_OK) s = const_input(b, n, 1, MVB_DTYPE_F32, 4, &c->filter);
  if (s == MVB_OK && fused) s = fused_activation(b, n, &c->lo, &c->hi);
  if (s == MVB_OK)
    s = spatial_params(b, n, c->x->dims[1], c->x->dims[2],
                       (uint32_t)c->filter->shape[0],
                       (uint32_t)c->filter->shape[1], true, &c->p);
  return s;
}

/* A filter whose input channels (`expects` of them) do not fit its input. */
static mvb_status filter_mismatch(builder *b, const mvb_node *n,
                                  const conv_setup *c, size_t expects) {
  return mvb_fail(b->err, MVB_ERR_SHAPE,
                  "node %s (%s): filter %s expects %zu input channels, the "
                  "input has %zu",
                  n->name, n->op, c->filter->name, expects, c->x->dims[3]);
}

/* The bias (input 2 when fused, zeros otherwise) and the output tensor
 * (batch, out_h, out_w, channels). */
static mvb_status conv_operands(builder *b, const mvb_node *n, bool fused,
                                const conv_setup *c, size_t channels,
                                value *out, uint32_t *bias_id) {
  mvb_status s = bias_value(b, n, fused ? 2 : n->n_inputs, channels, bias_id);
  size_t odims[4] = {c->x->dims[0], c->p.out_h, c->p.out_w, channels};
  if (s == MVB_OK) s = define_output(b, n, out, 4, odims);
  return s;
}

/* Conv2D and _FusedConv2D: filter (kh, kw, in/groups, out) is transposed
 * to XNNPACK's (out, kh, kw, in/groups), or to int8 (runs_int8). An int8
 * 1x1 convolution (stride 1, no padding, one group) is defined as the
 * matmul it is: XNNPACK's qd8 convolution would run it through its
 * indirect GEMM and quantize the whole image with one scale, the matmul
 * runs a plain GEMM and quantizes each pixel on its own. */
static mvb_status conv2d(builder *b, const mvb_node *n, value *out,
                         bool fused) {
  conv_setup c = {0};
  mvb_status s = read_conv(b, n, fused, &c);
  if (s != MVB_OK) return s;
  const mvb_const *filter = c.filter;
  size_t kh = (size_t)filter->shape[0], kw = (size_t)filter->shape[1];
  size_t group_in = (size_t)filter->shape[2], cout = (size_t)filter->shape[3];
  size_t cin = c.x->dims[3];
  if (group_in == 0 || cin % group_in != 0 || cout % (cin / group_in) != 0)
    return filter_mismatch(b, n, &c, group_in);
  size_t groups = cin / group_in;

  const spatial *p = &c.p;
  bool int8 = runs_int8(b, group_in);
  bool matmul = int8 && kh * kw == 1 && groups == 1 &&
                p->sh * p->sw * p->dh * p->dw == 1 &&
                (p->top | p->right | p->bottom | p->left) == 0;
  uint32_t input_id, filter_id, bias_id, fc_flags = 0;
  size_t fdims[4] = {cout, kh, kw, group_in};
  mvb_qlayout hwio = {cout, kh * kw * group_in, /*channel_stride=*/1,
                      /*element_stride=*/cout};
  s = matmul ? int8_matmul_weights(b, n, filter, &hwio, &filter_id, &fc_flags)
             : gathered_weights(b, n, filter, &hwio, int8, 4, fdims,
                                &filter_id);
  input_mode mode = !int8    ? INPUT_F32
                    : matmul ? INPUT_QD8_PER_ROW
                             : INPUT_QD8_PER_IMAGE;
  if (s == MVB_OK) s = weights_input(b, n, c.x, mode, &input_id);
  if (s == MVB_OK) s = conv_operands(b, n, fused, &c, cout, out, &bias_id);
  if (s != MVB_OK) return s;
  if (matmul)
    return check_xnn(
        b,
        xnn_define_fully_connected(b->subgraph, c.lo, c.hi, input_id, filter_id,
                                   bias_id, out->id, fc_flags),
        n, "1x1 convolution as a matmul");
  enum xnn_status xs = xnn_define_convolution_2d(
      b->subgraph, p->top, p->right, p->bottom, p->left, p->kh, p->kw, p->sh,
      p->sw, p->dh, p->dw, (uint32_t)groups, group_in, cout / groups, c.lo,
      c.hi, input_id, filter_id, bias_id, out->id, /*flags=*/0);
  return check_xnn(b, xs, n, "convolution");
}

static mvb_status op_conv2d(builder *b, const mvb_node *n, value *out) {
  return conv2d(b, n, out, false);
}

static mvb_status op_fused_conv2d(builder *b, const mvb_node *n, value *out) {
  return conv2d(b, n, out, true);
}

/* Depthwise: TensorFlow's (kh, kw, in, multiplier) filter is already
 * XNNPACK's (1, kh, kw, in * multiplier) in memory. Always f32: XNNPACK
 * has no dynamically quantized depthwise convolution. */
static mvb_status depthwise(builder *b, const mvb_node *n, value *out,
                            bool fused) {
  conv_setup c = {0};
  mvb_status s = read_conv(b, n, fused, &c);
  if (s != MVB_OK) return s;
  const mvb_const *filter = c.filter;
  size_t kh = (size_t)filter->shape[0], kw = (size_t)filter->shape[1];
  size_t cin = (size_t)filter->shape[2], mult = (size_t)filter->shape[3];
  if (cin != c.x->dims[3] || mult == 0) return filter_mismatch(b, n, &c, cin);
  uint32_t filter_id, bias_id;
  size_t fdims[4] = {1, kh, kw, cin * mult};
  const float *w = NULL;
  s = const_floats(b, n, filter, &w);
  if (s == MVB_OK) s = define_static(b, n, w, 4, fdims, &filter_id);
  if (s == MVB_OK)
    s = conv_operands(b, n, fused, &c, cin * mult, out, &bias_id);
  if (s != MVB_OK) return s;
  const spatial *p = &c.p;
  enum xnn_status xs = xnn_define_depthwise_convolution_2d(
      b->subgraph, p->top, p->right, p->bottom, p->left, p->kh, p->kw, p->sh,
      p->sw, p->dh, p->dw, (uint32_t)mult, cin, c.lo, c.hi, c.x->id, filter_id,
      bias_id, out->id, /*flags=*/0);
  return check_xnn(b, xs, n, "depthwise convolution");
}

static mvb_status op_depthwise(builder *b, const mvb_node *n, value *out) {
  return depthwise(b, n, out, false);
}

static mvb_status op_fused_depthwise(builder *b, const mvb_node *n,
                                     value *out) {
  return depthwise(b, n, out, true);
}

/* numpy broadcasting of two shapes into out (rank = the larger rank). */
static mvb_status broadcast(builder *b, const mvb_node *n, const value *x,
                            const value *y, int *rank, size_t *dims) {
  *rank = x->rank > y->rank ? x->rank : y->rank;
  for (int i = 0; i < *rank; i++) {
    int xi = i - (*rank - x->rank), yi = i - (*rank - y->rank);
    size_t dx = xi >= 0 ? x->dims[xi] : 1, dy = yi >= 0 ? y->dims[yi] : 1;
    if (dx != dy && dx != 1 && dy != 1)
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (%s): shapes of %s and %s do not broadcast "
                      "(dimension %d: %zu vs %zu)",
                      n->name, n->op, n->inputs[0].node, n->inputs[1].node, i,
                      dx, dy);
    dims[i] = dx > dy ? dx : dy;
  }
  return MVB_OK;
}

/* AddV2 / BiasAdd: either operand may be a constant. */
static mvb_status op_add(builder *b, const mvb_node *n, value *out) {
  value *x = NULL, *y = NULL;
  mvb_status s = get_input(b, n, 0, &x);
  if (s == MVB_OK) s = get_input(b, n, 1, &y);
  if (s != MVB_OK) return s;
  if (x->c && y->c)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): adding two constants is not supported",
                    n->name, n->op);
  uint32_t ids[2];
  const value *operands[2] = {x, y};
  for (int i = 0; i < 2; i++) {
    const mvb_const *c = operands[i]->c;
    if (!c) {
      ids[i] = operands[i]->id;
      continue;
    }
    s = const_input(b, n, (size_t)i, MVB_DTYPE_F32, -1, &c);
    if (s == MVB_OK) s = define_kept_const(b, n, c, &ids[i]);
    if (s != MVB_OK) return s;
  }
  int rank;
  size_t dims[MVB_MAX_RANK];
  s = broadcast(b, n, x, y, &rank, dims);
  if (s == MVB_OK && strcmp(n->op, "BiasAdd") == 0 &&
      (!y->c || y->rank != 1 || y->dims[0] != x->dims[x->rank - 1]))
    s = mvb_fail(b->err, MVB_ERR_SHAPE,
                 "node %s (BiasAdd): bias %s must be a constant with one value "
                 "per channel",
                 n->name, n->inputs[1].node);
  if (s == MVB_OK) s = require_nhwc(b, n);
  if (s == MVB_OK) s = define_output(b, n, out, rank, dims);
  if (s != MVB_OK) return s;
  struct xnn_binary_params params = {-INFINITY, INFINITY};
  enum xnn_status xs = xnn_define_binary(b->subgraph, xnn_binary_add, &params,
                                         ids[0], ids[1], out->id, 0);
  return check_xnn(b, xs, n, "add");
}

static mvb_status unary(builder *b, const mvb_node *n, value *out,
                        enum xnn_unary_operator op, float lo, float hi) {
  value *x = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = define_output(b, n, out, x->rank, x->dims);
  if (s != MVB_OK) return s;
  union xnn_unary_params params;
  params.clamp.min = lo;
  params.clamp.max = hi;
  enum xnn_status xs =
      xnn_define_unary(b->subgraph, op, op == xnn_unary_clamp ? &params : NULL,
                       x->id, out->id, 0);
  return check_xnn(b, xs, n, "unary op");
}

static mvb_status op_relu(builder *b, const mvb_node *n, value *out) {
  return unary(b, n, out, xnn_unary_clamp, 0.0f, INFINITY);
}

static mvb_status op_relu6(builder *b, const mvb_node *n, value *out) {
  return unary(b, n, out, xnn_unary_clamp, 0.0f, 6.0f);
}

static mvb_status op_sigmoid(builder *b, const mvb_node *n, value *out) {
  return unary(b, n, out, xnn_unary_sigmoid, 0.0f, 0.0f);
}

static mvb_status op_softmax(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = define_output(b, n, out, x->rank, x->dims);
  if (s != MVB_OK) return s;
  return check_xnn(b, xnn_define_softmax(b->subgraph, x->id, out->id, 0), n,
                   "softmax");
}

/* Reads an int32 constant holding one axis and normalizes it to 0..rank-1. */
static mvb_status axis_input(builder *b, const mvb_node *n, size_t i, int rank,
                             int *axis) {
  const mvb_const *c = NULL;
  mvb_status s = const_input(b, n, i, MVB_DTYPE_I32, -1, &c);
  if (s != MVB_OK) return s;
  if (c->count != 1)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (%s): axis %s must hold one value", n->name, n->op,
                    c->name);
  int a = c->i32[0] < 0 ? c->i32[0] + rank : c->i32[0];
  if (a < 0 || a >= rank)
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): axis %d is out of range for rank %d",
                    n->name, n->op, c->i32[0], rank);
  *axis = a;
  return MVB_OK;
}

static enum xnn_status concat_n(xnn_subgraph_t g, int axis, const uint32_t *in,
                                size_t count, uint32_t out) {
  switch (count) {
    case 1: return xnn_define_copy(g, in[0], out, 0);
    case 2: return xnn_define_concatenate2(g, axis, in[0], in[1], out, 0);
    case 3:
      return xnn_define_concatenate3(g, axis, in[0], in[1], in[2], out, 0);
    case 4:
      return xnn_define_concatenate4(g, axis, in[0], in[1], in[2], in[3], out,
                                     0);
    default:
      return xnn_define_concatenate5(g, axis, in[0], in[1], in[2], in[3], in[4],
                                     out, 0);
  }
}

/* ConcatV2: inputs..., axis. XNNPACK concatenates at most 5 at a time, so
 * longer lists are chained through intermediate tensors. */
static mvb_status op_concat(builder *b, const mvb_node *n, value *out) {
  if (n->n_inputs < 2)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (ConcatV2): needs at least one input and an axis",
                    n->name);
  size_t count = n->n_inputs - 1;
  value *first = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &first);
  int axis = 0;
  if (s == MVB_OK) s = axis_input(b, n, count, first->rank, &axis);
  if (s != MVB_OK) return s;
  uint32_t *ids = malloc(count * sizeof *ids);
  size_t *partial = malloc(count * sizeof *partial); /* running axis sizes */
  if (!ids || !partial) {
    free(ids);
    free(partial);
    return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY, "node %s: out of memory",
                    n->name);
  }
  size_t dims[MVB_MAX_RANK];
  memcpy(dims, first->dims, sizeof dims);
  dims[axis] = 0;
  for (size_t i = 0; i < count && s == MVB_OK; i++) {
    value *x = NULL;
    s = tensor_input(b, n, i, first->rank, &x);
    for (int d = 0; s == MVB_OK && d < first->rank; d++)
      if (d != axis && x->dims[d] != first->dims[d])
        s = mvb_fail(b->err, MVB_ERR_SHAPE,
                     "node %s (ConcatV2): input %s has %zu in dimension %d, "
                     "expected %zu",
                     n->name, n->inputs[i].node, x->dims[d], d, first->dims[d]);
    if (s != MVB_OK) break;
    ids[i] = x->id;
    dims[axis] += x->dims[axis];
    partial[i] = dims[axis];
  }
  if (s == MVB_OK) s = define_output(b, n, out, first->rank, dims);
  /* Chain: [a b c d e] -> t, [t f g h i] -> t', ... -> out. */
  size_t done = 0;
  uint32_t acc = XNN_INVALID_VALUE_ID;
  while (s == MVB_OK && done < count) {
    uint32_t group[5];
    size_t k = 0;
    if (acc != XNN_INVALID_VALUE_ID) group[k++] = acc;
    while (k < 5 && done < count) group[k++] = ids[done++];
    uint32_t target = out->id;
    if (done < count) {
      size_t tdims[MVB_MAX_RANK];
      memcpy(tdims, dims, sizeof tdims);
      tdims[axis] = partial[done - 1];
      s = define_internal(b, n, first->rank, tdims, &target);
      if (s != MVB_OK) break;
    }
    s = check_xnn(b, concat_n(b->subgraph, axis, group, k, target), n,
                  "concatenate");
    acc = target;
  }
  free(ids);
  free(partial);
  return s;
}

static mvb_status pool(builder *b, const mvb_node *n, value *out, bool avg) {
  value *x = NULL;
  mvb_status s = tensor_input(b, n, 0, 4, &x);
  uint32_t kh = 0, kw = 0;
  if (s == MVB_OK) s = spatial_pair(b, n, "ksize", 0, &kh, &kw);
  if (s == MVB_OK && kh * kw == 1) /* XNNPACK refuses 1x1 windows */
    s = mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                 "node %s (%s): 1x1 pooling windows are not supported", n->name,
                 n->op);
  spatial p = {0};
  if (s == MVB_OK)
    s = spatial_params(b, n, x->dims[1], x->dims[2], kh, kw, false, &p);
  if (s != MVB_OK) return s;
  size_t odims[4] = {x->dims[0], p.out_h, p.out_w, x->dims[3]};
  s = define_output(b, n, out, 4, odims);
  if (s != MVB_OK) return s;
  /* XNNPACK's padded average pooling divides by the number of valid cells,
   * which is TensorFlow's semantics. */
  enum xnn_status xs =
      avg ? xnn_define_average_pooling_2d(b->subgraph, p.top, p.right, p.bottom,
                                          p.left, kh, kw, p.sh, p.sw, -INFINITY,
                                          INFINITY, x->id, out->id, 0)
          : xnn_define_max_pooling_2d(b->subgraph, p.top, p.right, p.bottom,
                                      p.left, kh, kw, p.sh, p.sw, 1, 1,
                                      -INFINITY, INFINITY, x->id, out->id, 0);
  return check_xnn(b, xs, n, avg ? "average pooling" : "max pooling");
}

static mvb_status op_avg_pool(builder *b, const mvb_node *n, value *out) {
  return pool(b, n, out, true);
}

static mvb_status op_max_pool(builder *b, const mvb_node *n, value *out) {
  return pool(b, n, out, false);
}

/* Mean over constant axes (global average pooling is axes [1, 2]). */
static mvb_status op_mean(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  const mvb_const *axes = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = const_input(b, n, 1, MVB_DTYPE_I32, -1, &axes);
  if (s != MVB_OK) return s;
  bool reduced[MVB_MAX_RANK] = {false};
  size_t list[MVB_MAX_RANK], n_axes = 0;
  for (size_t i = 0; i < axes->count; i++) {
    int a = axes->i32[i] < 0 ? axes->i32[i] + x->rank : axes->i32[i];
    if (a < 0 || a >= x->rank)
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (Mean): axis %d is out of range for rank %d",
                      n->name, axes->i32[i], x->rank);
    reduced[a] = true;
  }
  const mvb_attr *keep = mvb_node_attr(n, "keep_dims");
  bool keep_dims = keep && keep->i;
  size_t dims[MVB_MAX_RANK];
  int rank = 0;
  for (int a = 0; a < x->rank; a++) {
    if (reduced[a]) list[n_axes++] = (size_t)a;
    if (!reduced[a])
      dims[rank++] = x->dims[a];
    else if (keep_dims)
      dims[rank++] = 1;
  }
  if (n_axes == 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (Mean): no axes to reduce", n->name);
  s = define_output(b, n, out, rank, dims);
  if (s != MVB_OK) return s;
  enum xnn_status xs = xnn_define_static_reduce(
      b->subgraph, xnn_reduce_mean, n_axes, list, x->id, out->id,
      keep_dims ? XNN_FLAG_KEEP_DIMS : 0);
  return check_xnn(b, xs, n, "mean");
}

static mvb_status op_pad(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  const mvb_const *pads = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = const_input(b, n, 1, MVB_DTYPE_I32, 2, &pads);
  if (s != MVB_OK) return s;
  if (pads->shape[0] != x->rank || pads->shape[1] != 2)
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (Pad): paddings %s must be [%d, 2]", n->name,
                    pads->name, x->rank);
  size_t pre[MVB_MAX_RANK], post[MVB_MAX_RANK], dims[MVB_MAX_RANK];
  for (int a = 0; a < x->rank; a++) {
    int32_t before = pads->i32[2 * a], after = pads->i32[2 * a + 1];
    if (before < 0 || after < 0 || before > 65536 || after > 65536)
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s (Pad): padding %d/%d on axis %d is not "
                      "supported",
                      n->name, before, after, a);
    pre[a] = (size_t)before;
    post[a] = (size_t)after;
    dims[a] = x->dims[a] + pre[a] + post[a];
  }
  s = define_output(b, n, out, x->rank, dims);
  if (s != MVB_OK) return s;
  return check_xnn(b,
                   xnn_define_static_constant_pad(b->subgraph, pre, post, 0.0f,
                                                  x->id, out->id, 0),
                   n, "pad");
}

static mvb_status reshape_to(builder *b, const mvb_node *n, value *out,
                             const value *x, int rank, const size_t *dims) {
  if (product(dims, rank) != product(x->dims, x->rank))
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): cannot reshape %zu values into %zu", n->name,
                    n->op, product(x->dims, x->rank), product(dims, rank));
  mvb_status s = define_output(b, n, out, rank, dims);
  if (s != MVB_OK) return s;
  return check_xnn(b,
                   xnn_define_static_reshape(b->subgraph, (size_t)rank, dims,
                                             x->id, out->id, 0),
                   n, "reshape");
}

static mvb_status op_reshape(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  const mvb_const *shape = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = const_input(b, n, 1, MVB_DTYPE_I32, 1, &shape);
  if (s != MVB_OK) return s;
  if (shape->count == 0 || shape->count > MVB_MAX_RANK)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (Reshape): target rank %zu is not supported",
                    n->name, shape->count);
  size_t dims[MVB_MAX_RANK], known = 1, total = product(x->dims, x->rank);
  int unknown = -1;
  for (size_t i = 0; i < shape->count; i++) {
    int32_t d = shape->i32[i];
    if (d == -1 && unknown < 0) {
      unknown = (int)i;
      dims[i] = 1;
    } else if (d <= 0) {
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (Reshape): dimension %zu is %d", n->name, i, d);
    } else {
      dims[i] = (size_t)d;
      known *= dims[i];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || total % known != 0)
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (Reshape): %zu values do not divide into "
                      "blocks of %zu",
                      n->name, total, known);
    dims[unknown] = total / known;
  }
  return reshape_to(b, n, out, x, (int)shape->count, dims);
}

static mvb_status op_squeeze(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  mvb_status s = tensor_input(b, n, 0, 0, &x);
  if (s != MVB_OK) return s;
  const mvb_attr *sq = mvb_node_attr(n, "squeeze_dims");
  bool drop[MVB_MAX_RANK] = {false};
  if (!sq || sq->n_ints == 0) {
    for (int a = 0; a < x->rank; a++) drop[a] = x->dims[a] == 1;
  } else {
    for (size_t i = 0; i < sq->n_ints; i++) {
      int64_t a = sq->ints[i] < 0 ? sq->ints[i] + x->rank : sq->ints[i];
      if (a < 0 || a >= x->rank || x->dims[a] != 1)
        return mvb_fail(b->err, MVB_ERR_SHAPE,
                        "node %s (Squeeze): dimension %lld is not 1", n->name,
                        (long long)sq->ints[i]);
      drop[a] = true;
    }
  }
  size_t dims[MVB_MAX_RANK];
  int rank = 0;
  for (int a = 0; a < x->rank; a++)
    if (!drop[a]) dims[rank++] = x->dims[a];
  if (rank == 0) dims[rank++] = 1; /* XNNPACK values need a dimension */
  return reshape_to(b, n, out, x, rank, dims);
}

/* MatMul / _FusedMatMul: x (M, K) times a constant (K, N), or (N, K) with
 * transpose_b. f32 weights are used as they lie, and so are int8 ones
 * when requantized in place (int8_matmul_weights). */
static mvb_status matmul(builder *b, const mvb_node *n, value *out,
                         bool fused) {
  value *x = NULL;
  const mvb_const *w = NULL;
  mvb_status s = tensor_input(b, n, 0, 2, &x);
  if (s == MVB_OK) s = const_input(b, n, 1, MVB_DTYPE_F32, 2, &w);
  if (s != MVB_OK) return s;
  const mvb_attr *ta = mvb_node_attr(n, "transpose_a");
  const mvb_attr *tb = mvb_node_attr(n, "transpose_b");
  if (ta && ta->i)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (%s): transpose_a is not supported", n->name,
                    n->op);
  bool transposed = tb && tb->i;
  size_t k = (size_t)w->shape[transposed ? 1 : 0];
  size_t cols = (size_t)w->shape[transposed ? 0 : 1];
  if (k != x->dims[1])
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): weights %s expect %zu inputs, the input "
                    "has %zu",
                    n->name, n->op, w->name, k, x->dims[1]);
  float lo = -INFINITY, hi = INFINITY;
  if (fused) s = fused_activation(b, n, &lo, &hi);
  uint32_t input_id, w_id, bias_id;
  uint32_t fc_flags = transposed ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS;
  bool int8 = runs_int8(b, k);
  size_t wdims[2] = {(size_t)w->shape[0], (size_t)w->shape[1]};
  mvb_qlayout l = {cols, k, /*channel_stride=*/transposed ? k : 1,
                   /*element_stride=*/transposed ? 1 : cols};
  const float *wf = NULL;
  if (s == MVB_OK && !int8) s = const_floats(b, n, w, &wf);
  if (s == MVB_OK)
    s = int8 ? int8_matmul_weights(b, n, w, &l, &w_id, &fc_flags)
             : define_static(b, n, wf, 2, wdims, &w_id);
  if (s == MVB_OK)
    s = weights_input(b, n, x, int8 ? INPUT_QD8_PER_ROW : INPUT_F32, &input_id);
  if (s == MVB_OK)
    s = bias_value(b, n, fused ? 2 : n->n_inputs, cols, &bias_id);
  size_t odims[2] = {x->dims[0], cols};
  if (s == MVB_OK) s = define_output(b, n, out, 2, odims);
  if (s != MVB_OK) return s;
  enum xnn_status xs = xnn_define_fully_connected(
      b->subgraph, lo, hi, input_id, w_id, bias_id, out->id, fc_flags);
  return check_xnn(b, xs, n, "fully connected");
}

static mvb_status op_matmul(builder *b, const mvb_node *n, value *out) {
  return matmul(b, n, out, false);
}

static mvb_status op_fused_matmul(builder *b, const mvb_node *n, value *out) {
  return matmul(b, n, out, true);
}

typedef mvb_status (*op_fn)(builder *b, const mvb_node *n, value *out);

static const struct {
  const char *name;
  op_fn define;
} OPS[] = {
    {"Placeholder", op_placeholder},
    {"Const", op_const},
    {"Identity", op_identity},
    {"Conv2D", op_conv2d},
    {"_FusedConv2D", op_fused_conv2d},
    {"DepthwiseConv2dNative", op_depthwise},
    {"FusedDepthwiseConv2dNative", op_fused_depthwise},
    {"BiasAdd", op_add},
    {"AddV2", op_add},
    {"Add", op_add},
    {"Relu", op_relu},
    {"Relu6", op_relu6},
    {"Sigmoid", op_sigmoid},
    {"Softmax", op_softmax},
    {"ConcatV2", op_concat},
    {"AvgPool", op_avg_pool},
    {"MaxPool", op_max_pool},
    {"Mean", op_mean},
    {"Pad", op_pad},
    {"Reshape", op_reshape},
    {"Squeeze", op_squeeze},
    {"MatMul", op_matmul},
    {"_FusedMatMul", op_fused_matmul},
};

static op_fn find_op(const char *name) {
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
    if (strcmp(OPS[i].name, name) == 0) return OPS[i].define;
  return NULL;
}

/* ---- traversal ---------------------------------------------------------- */

/* A node on the walk's stack, and the next of its inputs to look at. */
typedef struct frame {
  size_t node;
  size_t input;
} frame;

/* Pushes node idx unless it is defined already; meeting a node that is
 * still on the stack means the graph has a cycle. */
static mvb_status enter(builder *b, frame *stack, size_t *depth, size_t idx) {
  value *v = &b->values[idx];
  if (v->state == DONE) return MVB_OK;
  if (v->state == VISITING)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s: the graph has a cycle through it",
                    b->file->nodes[idx].name);
  v->state = VISITING;
  stack[(*depth)++] = (frame){idx, 0};
  return MVB_OK;
}

/* Defines node idx after its inputs (depth first from the output), so
 * model.json's node order does not matter and unused nodes cost nothing.
 * The walk keeps its own stack rather than recursing: a chain of 20,000
 * nodes overflowed a 1 MB C stack (and wasm's). A node is on the stack at
 * most once, so n_nodes frames always suffice. */
static mvb_status visit(builder *b, size_t idx) {
  frame *stack = malloc(b->file->n_nodes * sizeof *stack);
  if (!stack)
    return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory walking a graph of %zu nodes",
                    b->file->n_nodes);
  size_t depth = 0;
  mvb_status s = enter(b, stack, &depth, idx);
  while (s == MVB_OK && depth > 0) {
    frame *f = &stack[depth - 1];
    const mvb_node *n = &b->file->nodes[f->node];
    if (f->input == n->n_inputs) { /* every input is defined */
      s = find_op(n->op)(b, n, &b->values[f->node]);
      b->values[f->node].state = DONE;
      depth--;
      continue;
    }
    const mvb_input *in = &n->inputs[f->input++];
    long k = find_node(b->file, in->node);
    if (k < 0)
      s = mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                   "node %s (%s): input %s is not a node of the graph", n->name,
                   n->op, in->node);
    else if (in->output != 0)
      s = mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                   "node %s (%s): input %s:%d (only the first output of a "
                   "node is supported)",
                   n->name, n->op, in->node, in->output);
    else
      s = enter(b, stack, &depth, (size_t)k);
  }
  free(stack);
  return s;
}

/* The node that really computes a signature output: followed through
 * Identity nodes (an Identity of the input itself stays: it becomes a copy). */
static long output_node(const mvb_model_file *f, const mvb_output_ref *o) {
  long out = find_node(f, o->node);
  for (size_t hops = 0; out >= 0 && hops < f->n_nodes; hops++) {
    const mvb_node *n = &f->nodes[out];
    if (strcmp(n->op, "Identity") != 0 || n->n_inputs < 1) break;
    long next = find_node(f, n->inputs[0].node);
    if (next >= 0 && strcmp(f->nodes[next].op, "Placeholder") == 0) break;
    out = next;
  }
  return out;
}

/* Every op must be known, even in nodes the outputs do not need: a model
 * we half understand is refused rather than half run. Then each output is
 * followed to the node that computes it; two outputs may not share one. */
static mvb_status check_ops_and_find_outputs(builder *b, size_t *input_idx) {
  const mvb_model_file *f = b->file;
  for (size_t i = 0; i < f->n_nodes; i++)
    if (!find_op(f->nodes[i].op))
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s: op %s is not supported", f->nodes[i].name,
                      f->nodes[i].op);
  long in = find_node(f, f->input_node);
  if (in < 0 || strcmp(f->nodes[in].op, "Placeholder") != 0)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "signature input %s is not a Placeholder node of the graph",
                    f->input_node);
  *input_idx = (size_t)in;
  for (size_t k = 0; k < f->n_outputs; k++) {
    const mvb_output_ref *o = &f->outputs[k];
    if (o->index != 0)
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "signature output %s: only first outputs are supported",
                      o->name);
    long out = output_node(f, o);
    if (out < 0)
      return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                      "signature output %s does not lead to a node of the "
                      "graph",
                      o->name);
    for (size_t i = 0; i < k; i++)
      if (b->output_nodes[i] == (size_t)out)
        return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                        "signature outputs %s and %s are the same tensor",
                        f->outputs[i].name, o->name);
    b->output_nodes[k] = (size_t)out;
  }
  b->n_outputs = f->n_outputs;
  return MVB_OK;
}

/* ---- public (internal) API ---------------------------------------------- */

static void free_builder(builder *b) {
  if (b->subgraph) xnn_delete_subgraph(b->subgraph);
  for (size_t i = 0; i < b->n_temp; i++) free(b->temp[i]);
  free(b->temp);
  free(b->values);
  free(b->keep);
  free(b->const_uses);
  free(b->qd8);
}

/* Identity hops followed from a reader to its constant. A longer chain
 * leaves every weight counted as read twice (released after create, as in
 * f32), which keeps a hostile chain from making the count quadratic. */
#define MAX_IDENTITY_HOPS 16

/* How many node inputs read each constant, through Identity nodes, so
 * that int8 weights can release their floats when they are the only
 * reader. */
static mvb_status count_const_uses(builder *b) {
  const mvb_model_file *f = b->file;
  b->const_uses = calloc(f->n_consts ? f->n_consts : 1, sizeof *b->const_uses);
  if (!b->const_uses)
    return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory counting the readers of %zu weights",
                    f->n_consts);
  bool too_deep = false;
  for (size_t i = 0; i < f->n_nodes; i++) {
    if (strcmp(f->nodes[i].op, "Identity") == 0) continue;
    for (size_t j = 0; j < f->nodes[i].n_inputs; j++) {
      const mvb_node *src = mvb_model_file_node(f, f->nodes[i].inputs[j].node);
      for (int hops = 0; src && strcmp(src->op, "Identity") == 0 &&
                         src->n_inputs > 0 && hops <= MAX_IDENTITY_HOPS;
           hops++)
        src = mvb_model_file_node(f, src->inputs[0].node);
      too_deep |= src && strcmp(src->op, "Identity") == 0;
      const mvb_const *c = src && strcmp(src->op, "Const") == 0
                               ? mvb_model_file_const(f, src->name)
                               : NULL;
      if (c) b->const_uses[c - f->consts]++;
    }
  }
  for (size_t k = 0; too_deep && k < f->n_consts; k++) b->const_uses[k] = 2;
  return MVB_OK;
}

static float *alloc_io(size_t count) {
  return calloc(1, count * sizeof(float) + XNN_EXTRA_BYTES);
}

/* After XNNPACK has packed the weights, our float copies of them go. */
static void release_packed(builder *b) {
  for (size_t i = 0; i < b->n_temp; i++) free(b->temp[i]);
  b->n_temp = 0;
  for (size_t i = 0; i < b->file->n_consts; i++)
    if (!b->keep[i]) mvb_const_release(&b->file->consts[i]);
}

/* Our output buffers are sized by our own shape inference; XNNPACK writes
 * what its inference says. Should the two ever disagree, refuse the model
 * rather than let XNNPACK write past a buffer. */
static mvb_status check_output_shapes(const mvb_graph *g, mvb_error *err) {
  for (size_t k = 0; k < g->n_outputs; k++) {
    size_t rank = 0, dims[XNN_MAX_TENSOR_DIMS];
    enum xnn_status xs = xnn_get_external_value_shape(
        g->runtime, EXTERNAL_OUTPUT_ID + (uint32_t)k, &rank, dims);
    if (xs != xnn_status_success)
      return mvb_fail(err, MVB_ERR_BACKEND,
                      "XNNPACK cannot report the shape of output %zu: %s", k,
                      xnn_status_text(xs));
    size_t total = 1;
    for (size_t i = 0; i < rank; i++) total *= dims[i];
    if (total != g->outputs[k].count)
      return mvb_fail(err, MVB_ERR_BACKEND,
                      "XNNPACK computes %zu values for output %zu where the "
                      "graph says %zu",
                      total, k, g->outputs[k].count);
  }
  return MVB_OK;
}

/* Input and output buffers, sized by our shape inference. */
static mvb_status alloc_buffers(const builder *b, size_t input_idx,
                                mvb_graph *g, mvb_error *err) {
  g->input_count =
      product(b->values[input_idx].dims, b->values[input_idx].rank);
  g->input = alloc_io(g->input_count);
  bool ok = g->input != NULL;
  g->n_outputs = b->n_outputs;
  for (size_t k = 0; k < b->n_outputs; k++) {
    const value *v = &b->values[b->output_nodes[k]];
    graph_output *o = &g->outputs[k];
    o->rank = v->rank;
    memcpy(o->dims, v->dims, sizeof o->dims);
    o->count = product(v->dims, v->rank);
    o->data = alloc_io(o->count);
    ok = ok && o->data;
  }
  if (!ok)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY, "out of memory for tensors");
  return MVB_OK;
}

static enum xnn_status setup(mvb_graph *g) {
  struct xnn_external_value ext[EXTERNAL_COUNT];
  ext[0] = (struct xnn_external_value){EXTERNAL_INPUT_ID, g->input};
  for (size_t k = 0; k < g->n_outputs; k++)
    ext[1 + k] = (struct xnn_external_value){EXTERNAL_OUTPUT_ID + (uint32_t)k,
                                             g->outputs[k].data};
  return xnn_setup_runtime_v2(g->runtime, 1 + g->n_outputs, ext);
}

mvb_status mvb_graph_build(mvb_model_file *file, pthreadpool_t threadpool,
                           mvb_precision precision, mvb_graph **out,
                           mvb_error *err) {
  *out = NULL;
  builder b = {.file = file, .precision = precision, .err = err};
  mvb_graph *g = calloc(1, sizeof *g);
  b.values = calloc(file->n_nodes ? file->n_nodes : 1, sizeof *b.values);
  b.keep = calloc(file->n_consts ? file->n_consts : 1, sizeof *b.keep);
  mvb_status s = MVB_OK;
  if (!g || !b.values || !b.keep)
    s = mvb_fail(err, MVB_ERR_OUT_OF_MEMORY, "out of memory building graph");
  enum xnn_status xs = xnn_status_success;
  if (s == MVB_OK) {
    xs = xnn_initialize(/*allocator=*/NULL);
    if (xs == xnn_status_success)
      xs = xnn_create_subgraph(EXTERNAL_COUNT, 0, &b.subgraph);
    if (xs != xnn_status_success && s == MVB_OK)
      s = mvb_fail(err, MVB_ERR_BACKEND, "XNNPACK initialization failed: %s",
                   xnn_status_text(xs));
  }
  size_t input_idx = 0;
  if (s == MVB_OK) s = check_ops_and_find_outputs(&b, &input_idx);
  if (s == MVB_OK && precision == MVB_PRECISION_INT8) s = count_const_uses(&b);
  if (s == MVB_OK) s = visit(&b, input_idx);
  for (size_t k = 0; s == MVB_OK && k < b.n_outputs; k++)
    s = visit(&b, b.output_nodes[k]);
  if (s == MVB_OK) s = alloc_buffers(&b, input_idx, g, err);
  /* The download's bytes go as soon as nothing reads them: before XNNPACK
   * packs its copy of the weights, unless int8 weights lie in them. */
  if (!b.int8_in_weights) mvb_model_file_drop_weights(file);
  if (s == MVB_OK) {
    xs = xnn_create_runtime_v2(b.subgraph, threadpool, 0, &g->runtime);
    if (xs == xnn_status_success) {
      release_packed(&b);
      mvb_model_file_drop_weights(file);
      xs = xnn_reshape_runtime(g->runtime);
    }
    if (xs == xnn_status_success) s = check_output_shapes(g, err);
    if (xs == xnn_status_success && s == MVB_OK) xs = setup(g);
    if (xs != xnn_status_success && s == MVB_OK)
      s = mvb_fail(err,
                   xs == xnn_status_out_of_memory ? MVB_ERR_OUT_OF_MEMORY
                                                  : MVB_ERR_BACKEND,
                   "XNNPACK could not create the runtime: %s",
                   xnn_status_text(xs));
  }
  free_builder(&b);
  if (s != MVB_OK) {
    mvb_graph_free(g);
    return s;
  }
  *out = g;
  return MVB_OK;
}

float *mvb_graph_input(mvb_graph *graph) { return graph->input; }

size_t mvb_graph_input_count(const mvb_graph *graph) {
  return graph->input_count;
}

mvb_status mvb_graph_invoke(mvb_graph *graph, mvb_error *err) {
  enum xnn_status xs = xnn_invoke_runtime(graph->runtime);
  if (xs != xnn_status_success)
    return mvb_fail(err, MVB_ERR_BACKEND, "XNNPACK invoke failed: %s",
                    xnn_status_text(xs));
  return MVB_OK;
}

size_t mvb_graph_output_count(const mvb_graph *graph) {
  return graph->n_outputs;
}

const float *mvb_graph_output(const mvb_graph *graph, size_t k) {
  return k < graph->n_outputs ? graph->outputs[k].data : NULL;
}

size_t mvb_graph_output_size(const mvb_graph *graph, size_t k) {
  return k < graph->n_outputs ? graph->outputs[k].count : 0;
}

int mvb_graph_output_shape(const mvb_graph *graph, size_t k, size_t *dims) {
  if (k >= graph->n_outputs) return 0;
  const graph_output *o = &graph->outputs[k];
  memcpy(dims, o->dims, (size_t)o->rank * sizeof *dims);
  return o->rank;
}

void mvb_graph_free(mvb_graph *graph) {
  if (!graph) return;
  if (graph->runtime) xnn_delete_runtime(graph->runtime);
  free(graph->input);
  for (size_t k = 0; k < graph->n_outputs; k++) free(graph->outputs[k].data);
  free(graph);
}
