/* graph_values.c: what every op defines with (graph_build.h): its inputs,
 * looked up and checked; its output tensor, shape checked; weights as f32
 * tensors; biases and fused activations; buffers kept until XNNPACK has
 * packed them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_build.h"

/* ---- looking things up --------------------------------------------------- */

const char *mvb_xnn_status_text(enum xnn_status s) {
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
mvb_status mvb_check_xnn(builder *b, enum xnn_status s, const mvb_node *n,
                         const char *what) {
  if (s == xnn_status_success) return MVB_OK;
  return mvb_fail(
      b->err,
      s == xnn_status_out_of_memory ? MVB_ERR_OUT_OF_MEMORY : MVB_ERR_BACKEND,
      "node %s (%s): XNNPACK %s failed: %s", n->name, n->op, what,
      mvb_xnn_status_text(s));
}

static size_t node_index(const builder *b, const mvb_node *n) {
  return (size_t)(n - b->file->nodes);
}

/* The node's index in f->nodes, or -1 (hashed: O(1) on average). */
long mvb_find_node(const mvb_model_file *f, const char *name) {
  const mvb_node *n = mvb_model_file_node(f, name);
  return n ? (long)(n - f->nodes) : -1;
}

size_t mvb_dims_product(const size_t *dims, int rank) {
  size_t p = 1;
  for (int i = 0; i < rank; i++) p *= dims[i];
  return p;
}

/* ---- a node's inputs ----------------------------------------------------- */

mvb_status mvb_node_input(builder *b, const mvb_node *n, size_t i,
                          value **out) {
  if (i >= n->n_inputs)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (%s): expected at least %zu inputs, has %zu",
                    n->name, n->op, i + 1, n->n_inputs);
  long k = mvb_find_node(b->file, n->inputs[i].node);
  *out = &b->values[k]; /* resolved and visited before the node is defined */
  return MVB_OK;
}

/* Input i must be computed at run time (not a constant). */
mvb_status mvb_tensor_input(builder *b, const mvb_node *n, size_t i, int rank,
                            value **out) {
  mvb_status s = mvb_node_input(b, n, i, out);
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
mvb_status mvb_const_input(builder *b, const mvb_node *n, size_t i,
                           mvb_dtype dtype, int rank, const mvb_const **out) {
  value *v = NULL;
  mvb_status s = mvb_node_input(b, n, i, &v);
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
mvb_status mvb_const_floats(builder *b, const mvb_node *n, const mvb_const *c,
                            const float **out) {
  mvb_error why;
  mvb_status s =
      mvb_const_dequantize(&b->file->consts[c - b->file->consts], &why);
  if (s != MVB_OK)
    return mvb_fail(b->err, s, "node %s (%s): %s", n->name, n->op, why.message);
  *out = c->f32;
  return MVB_OK;
}

/* ---- tensors ------------------------------------------------------------- */

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
int mvb_output_slot(const builder *b, const mvb_node *n) {
  for (size_t k = 0; k < b->n_outputs; k++)
    if (b->output_nodes[k] == node_index(b, n)) return (int)k;
  return -1;
}

/* Defines this node's output tensor: external if the signature names it. */
mvb_status mvb_define_output(builder *b, const mvb_node *n, value *out,
                             int rank, const size_t *dims) {
  mvb_status s = check_dims(b, n, rank, dims);
  if (s != MVB_OK) return s;
  out->rank = rank;
  memcpy(out->dims, dims, (size_t)rank * sizeof *dims);
  int slot = mvb_output_slot(b, n);
  enum xnn_status xs = xnn_define_tensor_value(
      b->subgraph, xnn_datatype_fp32, (size_t)rank, dims, /*data=*/NULL,
      slot >= 0 ? EXTERNAL_OUTPUT_ID + (uint32_t)slot : XNN_INVALID_VALUE_ID,
      slot >= 0 ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0, &out->id);
  return mvb_check_xnn(b, xs, n, "define output tensor");
}

/* An intermediate tensor that no TensorFlow node names (concat chains). */
mvb_status mvb_define_internal(builder *b, const mvb_node *n, int rank,
                               const size_t *dims, uint32_t *id) {
  enum xnn_status s =
      xnn_define_tensor_value(b->subgraph, xnn_datatype_fp32, (size_t)rank,
                              dims, NULL, XNN_INVALID_VALUE_ID, 0, id);
  return mvb_check_xnn(b, s, n, "define intermediate tensor");
}

mvb_status mvb_define_static(builder *b, const mvb_node *n, const float *data,
                             int rank, const size_t *dims, uint32_t *id) {
  enum xnn_status s =
      xnn_define_tensor_value(b->subgraph, xnn_datatype_fp32, (size_t)rank,
                              dims, data, XNN_INVALID_VALUE_ID, 0, id);
  return mvb_check_xnn(b, s, n, "define weight tensor");
}

/* A constant XNNPACK reads while running (so it must not be released). */
mvb_status mvb_define_kept_const(builder *b, const mvb_node *n,
                                 const mvb_const *c, uint32_t *id) {
  size_t dims[MVB_MAX_RANK];
  for (int i = 0; i < c->rank; i++) dims[i] = (size_t)c->shape[i];
  b->keep[c - b->file->consts] = true;
  const float *data = NULL;
  mvb_status s = mvb_const_floats(b, n, c, &data);
  return s == MVB_OK ? mvb_define_static(b, n, data, c->rank, dims, id) : s;
}

/* ---- buffers kept until XNNPACK has packed them -------------------------- */

/* Keeps p (from malloc) until the runtime is created; frees it if it
 * cannot. */
mvb_status mvb_temp_adopt(builder *b, const mvb_node *n, void *p) {
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

mvb_status mvb_temp_buffer(builder *b, const mvb_node *n, size_t count,
                           float **out) {
  float *p = calloc(count ? count : 1, sizeof *p);
  if (!p)
    return mvb_fail(b->err, MVB_ERR_OUT_OF_MEMORY,
                    "node %s: out of memory for %zu weights", n->name, count);
  *out = p;
  return mvb_temp_adopt(b, n, p);
}

/* ---- what convolutions and matmuls share --------------------------------- */

/* Bias for a conv or matmul: the constant of input i, or zeros if none. */
mvb_status mvb_bias_value(builder *b, const mvb_node *n, size_t i,
                          size_t channels, uint32_t *id) {
  const float *data;
  if (i < n->n_inputs) {
    const mvb_const *c = NULL;
    mvb_status s = mvb_const_input(b, n, i, MVB_DTYPE_F32, 1, &c);
    if (s != MVB_OK) return s;
    if ((size_t)c->shape[0] != channels)
      return mvb_fail(b->err, MVB_ERR_SHAPE,
                      "node %s (%s): bias %s has %lld values, expected %zu",
                      n->name, n->op, c->name, (long long)c->shape[0],
                      channels);
    if ((s = mvb_const_floats(b, n, c, &data)) != MVB_OK) return s;
  } else {
    float *zeros = NULL;
    mvb_status s = mvb_temp_buffer(b, n, channels, &zeros);
    if (s != MVB_OK) return s;
    data = zeros;
  }
  return mvb_define_static(b, n, data, 1, &channels, id);
}

/* fused_ops of _FusedConv2D / _FusedMatMul / FusedDepthwiseConv2dNative:
 * ["BiasAdd"] optionally followed by "Relu" or "Relu6", folded into the
 * output clamp. The BiasAdd's bias is input 2, which must be there: without
 * it mvb_bias_value would add zeros in its place. */
mvb_status mvb_fused_activation(builder *b, const mvb_node *n, float *lo,
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
  if (n->n_inputs < 3)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (%s): fused_ops asks for BiasAdd but there is no "
                    "bias input (the node has %zu inputs; the bias would be "
                    "the third)",
                    n->name, n->op, n->n_inputs);
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
