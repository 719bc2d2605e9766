/* graph_ops.c: one function per TensorFlow op, each mapping its node onto
 * xnn_define_* with its output's shape inferred and checked, and the table
 * graph.c looks them up in. Convolutions and pools read their window
 * (strides, dilations, padding) through spatial_params. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph_build.h"

/* ---- attributes several ops read ----------------------------------------- */

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

/* ---- spatial parameters (convolutions and pools) ------------------------- */

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

/* ---- ops ----------------------------------------------------------------- */

static mvb_status op_placeholder(builder *b, const mvb_node *n, value *out) {
  const mvb_model_file *f = b->file;
  if (strcmp(n->name, f->input_node) != 0)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (Placeholder): only the signature input %s can "
                    "be fed",
                    n->name, f->input_node);
  if (mvb_output_slot(b, n) >= 0)
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
  return mvb_check_xnn(b, s, n, "define input tensor");
}

static mvb_status op_const(builder *b, const mvb_node *n, value *out) {
  const mvb_const *c = mvb_model_file_const(b->file, n->name);
  if (!c)
    return mvb_fail(b->err, MVB_ERR_MODEL_FORMAT,
                    "node %s (Const): no weight of that name in the "
                    "weightsManifest",
                    n->name);
  if (mvb_output_slot(b, n) >= 0)
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
  mvb_status s = mvb_node_input(b, n, 0, &in);
  if (s != MVB_OK) return s;
  if (mvb_output_slot(b, n) >= 0) {
    s = mvb_tensor_input(b, n, 0, 0, &in);
    if (s == MVB_OK) s = mvb_define_output(b, n, out, in->rank, in->dims);
    if (s != MVB_OK) return s;
    return mvb_check_xnn(b, xnn_define_copy(b->subgraph, in->id, out->id, 0), n,
                         "copy");
  }
  int state = out->state;
  *out = *in;
  out->state = state;
  return MVB_OK;
}

/* What every convolution reads first: the input, the filter constant
 * (kh, kw, ., .), the fused activation and the window. The batch is
 * usually 1 but need not be (a Reshape or a ConcatV2 on axis 0 can change
 * it; a Pad cannot, op_pad refuses that). */
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
  mvb_status s = mvb_tensor_input(b, n, 0, 4, &c->x);
  if (s == MVB_OK) s = mvb_const_input(b, n, 1, MVB_DTYPE_F32, 4, &c->filter);
  if (s == MVB_OK && fused) s = mvb_fused_activation(b, n, &c->lo, &c->hi);
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
  mvb_status s =
      mvb_bias_value(b, n, fused ? 2 : n->n_inputs, channels, bias_id);
  size_t odims[4] = {c->x->dims[0], c->p.out_h, c->p.out_w, channels};
  if (s == MVB_OK) s = mvb_define_output(b, n, out, 4, odims);
  return s;
}

/* Conv2D and _FusedConv2D: filter (kh, kw, in/groups, out) is transposed
 * to XNNPACK's (out, kh, kw, in/groups), or to int8 (mvb_runs_int8). An int8
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
  bool int8 = mvb_runs_int8(b, group_in);
  bool matmul = int8 && kh * kw == 1 && groups == 1 &&
                p->sh * p->sw * p->dh * p->dw == 1 &&
                (p->top | p->right | p->bottom | p->left) == 0;
  uint32_t input_id, filter_id, bias_id, fc_flags = 0;
  size_t fdims[4] = {cout, kh, kw, group_in};
  mvb_qlayout hwio = {cout, kh * kw * group_in, /*channel_stride=*/1,
                      /*element_stride=*/cout};
  s = matmul
          ? mvb_int8_matmul_weights(b, n, filter, &hwio, &filter_id, &fc_flags)
          : mvb_gathered_weights(b, n, filter, &hwio, int8, 4, fdims,
                                 &filter_id);
  input_mode mode = !int8    ? INPUT_F32
                    : matmul ? INPUT_QD8_PER_ROW
                             : INPUT_QD8_PER_IMAGE;
  if (s == MVB_OK) s = mvb_weights_input(b, n, c.x, mode, &input_id);
  if (s == MVB_OK) s = conv_operands(b, n, fused, &c, cout, out, &bias_id);
  if (s != MVB_OK) return s;
  if (matmul)
    return mvb_check_xnn(
        b,
        xnn_define_fully_connected(b->subgraph, c.lo, c.hi, input_id, filter_id,
                                   bias_id, out->id, fc_flags),
        n, "1x1 convolution as a matmul");
  enum xnn_status xs = xnn_define_convolution_2d(
      b->subgraph, p->top, p->right, p->bottom, p->left, p->kh, p->kw, p->sh,
      p->sw, p->dh, p->dw, (uint32_t)groups, group_in, cout / groups, c.lo,
      c.hi, input_id, filter_id, bias_id, out->id, /*flags=*/0);
  return mvb_check_xnn(b, xs, n, "convolution");
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
  s = mvb_const_floats(b, n, filter, &w);
  if (s == MVB_OK) s = mvb_define_static(b, n, w, 4, fdims, &filter_id);
  if (s == MVB_OK)
    s = conv_operands(b, n, fused, &c, cin * mult, out, &bias_id);
  if (s != MVB_OK) return s;
  const spatial *p = &c.p;
  enum xnn_status xs = xnn_define_depthwise_convolution_2d(
      b->subgraph, p->top, p->right, p->bottom, p->left, p->kh, p->kw, p->sh,
      p->sw, p->dh, p->dw, (uint32_t)mult, cin, c.lo, c.hi, c.x->id, filter_id,
      bias_id, out->id, /*flags=*/0);
  return mvb_check_xnn(b, xs, n, "depthwise convolution");
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
  mvb_status s = mvb_node_input(b, n, 0, &x);
  if (s == MVB_OK) s = mvb_node_input(b, n, 1, &y);
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
    s = mvb_const_input(b, n, (size_t)i, MVB_DTYPE_F32, -1, &c);
    if (s == MVB_OK) s = mvb_define_kept_const(b, n, c, &ids[i]);
    if (s != MVB_OK) return s;
  }
  int rank;
  size_t dims[MVB_MAX_RANK];
  s = broadcast(b, n, x, y, &rank, dims);
  bool bias_add = strcmp(n->op, "BiasAdd") == 0;
  /* The bias goes along x's last dimension, which a scalar lacks. */
  if (s == MVB_OK && bias_add && x->rank < 1)
    s = mvb_fail(b->err, MVB_ERR_SHAPE,
                 "node %s (BiasAdd): input %s has rank 0; a bias needs a "
                 "tensor of rank 1 or more (it is added along the last "
                 "dimension)",
                 n->name, n->inputs[0].node);
  if (s == MVB_OK && bias_add &&
      (!y->c || y->rank != 1 || y->dims[0] != x->dims[x->rank - 1]))
    s = mvb_fail(b->err, MVB_ERR_SHAPE,
                 "node %s (BiasAdd): bias %s must be a constant with one value "
                 "per channel",
                 n->name, n->inputs[1].node);
  if (s == MVB_OK) s = require_nhwc(b, n);
  if (s == MVB_OK) s = mvb_define_output(b, n, out, rank, dims);
  if (s != MVB_OK) return s;
  struct xnn_binary_params params = {-INFINITY, INFINITY};
  enum xnn_status xs = xnn_define_binary(b->subgraph, xnn_binary_add, &params,
                                         ids[0], ids[1], out->id, 0);
  return mvb_check_xnn(b, xs, n, "add");
}

static mvb_status unary(builder *b, const mvb_node *n, value *out,
                        enum xnn_unary_operator op, float lo, float hi) {
  value *x = NULL;
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = mvb_define_output(b, n, out, x->rank, x->dims);
  if (s != MVB_OK) return s;
  union xnn_unary_params params;
  params.clamp.min = lo;
  params.clamp.max = hi;
  enum xnn_status xs =
      xnn_define_unary(b->subgraph, op, op == xnn_unary_clamp ? &params : NULL,
                       x->id, out->id, 0);
  return mvb_check_xnn(b, xs, n, "unary op");
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
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = mvb_define_output(b, n, out, x->rank, x->dims);
  if (s != MVB_OK) return s;
  return mvb_check_xnn(b, xnn_define_softmax(b->subgraph, x->id, out->id, 0), n,
                       "softmax");
}

/* Reads an int32 constant holding one axis and normalizes it to 0..rank-1. */
static mvb_status axis_input(builder *b, const mvb_node *n, size_t i, int rank,
                             int *axis) {
  const mvb_const *c = NULL;
  mvb_status s = mvb_const_input(b, n, i, MVB_DTYPE_I32, -1, &c);
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
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &first);
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
    s = mvb_tensor_input(b, n, i, first->rank, &x);
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
  if (s == MVB_OK) s = mvb_define_output(b, n, out, first->rank, dims);
  /* Chain: [a b c d e] -> t, [t f g h i] -> t', ... -> out. */
  size_t done = 0;
  uint32_t acc = XNN_INVALID_VALUE_ID;
  while (s == MVB_OK && done < count) {
    uint32_t group[5] = {0}; /* concat_n reads the first k */
    size_t k = 0;
    if (acc != XNN_INVALID_VALUE_ID) group[k++] = acc;
    while (k < 5 && done < count) group[k++] = ids[done++];
    uint32_t target = out->id;
    if (done < count) {
      size_t tdims[MVB_MAX_RANK];
      memcpy(tdims, dims, sizeof tdims);
      tdims[axis] = partial[done - 1];
      s = mvb_define_internal(b, n, first->rank, tdims, &target);
      if (s != MVB_OK) break;
    }
    s = mvb_check_xnn(b, concat_n(b->subgraph, axis, group, k, target), n,
                      "concatenate");
    acc = target;
  }
  free(ids);
  free(partial);
  return s;
}

static mvb_status pool(builder *b, const mvb_node *n, value *out, bool avg) {
  value *x = NULL;
  mvb_status s = mvb_tensor_input(b, n, 0, 4, &x);
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
  s = mvb_define_output(b, n, out, 4, odims);
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
  return mvb_check_xnn(b, xs, n, avg ? "average pooling" : "max pooling");
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
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = mvb_const_input(b, n, 1, MVB_DTYPE_I32, -1, &axes);
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
  s = mvb_define_output(b, n, out, rank, dims);
  if (s != MVB_OK) return s;
  enum xnn_status xs = xnn_define_static_reduce(
      b->subgraph, xnn_reduce_mean, n_axes, list, x->id, out->id,
      keep_dims ? XNN_FLAG_KEEP_DIMS : 0);
  return mvb_check_xnn(b, xs, n, "mean");
}

static mvb_status op_pad(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  const mvb_const *pads = NULL;
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = mvb_const_input(b, n, 1, MVB_DTYPE_I32, 2, &pads);
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
    /* Images of zeros added to the batch are work for nothing: a fuzzed
     * model added 16,384 to one 17x17 photo (0.8 s and 650 MB natively). */
    if (a == 0 && (before > 0 || after > 0))
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s (Pad): padding %d/%d on the batch axis is not "
                      "supported (the engine runs one image at a time)",
                      n->name, before, after);
    pre[a] = (size_t)before;
    post[a] = (size_t)after;
    dims[a] = x->dims[a] + pre[a] + post[a];
  }
  s = mvb_define_output(b, n, out, x->rank, dims);
  if (s != MVB_OK) return s;
  return mvb_check_xnn(b,
                       xnn_define_static_constant_pad(b->subgraph, pre, post,
                                                      0.0f, x->id, out->id, 0),
                       n, "pad");
}

static mvb_status reshape_to(builder *b, const mvb_node *n, value *out,
                             const value *x, int rank, const size_t *dims) {
  if (mvb_dims_product(dims, rank) != mvb_dims_product(x->dims, x->rank))
    return mvb_fail(b->err, MVB_ERR_SHAPE,
                    "node %s (%s): cannot reshape %zu values into %zu", n->name,
                    n->op, mvb_dims_product(x->dims, x->rank),
                    mvb_dims_product(dims, rank));
  mvb_status s = mvb_define_output(b, n, out, rank, dims);
  if (s != MVB_OK) return s;
  return mvb_check_xnn(b,
                       xnn_define_static_reshape(b->subgraph, (size_t)rank,
                                                 dims, x->id, out->id, 0),
                       n, "reshape");
}

static mvb_status op_reshape(builder *b, const mvb_node *n, value *out) {
  value *x = NULL;
  const mvb_const *shape = NULL;
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &x);
  if (s == MVB_OK) s = mvb_const_input(b, n, 1, MVB_DTYPE_I32, 1, &shape);
  if (s != MVB_OK) return s;
  if (shape->count == 0 || shape->count > MVB_MAX_RANK)
    return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                    "node %s (Reshape): target rank %zu is not supported",
                    n->name, shape->count);
  size_t dims[MVB_MAX_RANK], known = 1,
                             total = mvb_dims_product(x->dims, x->rank);
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
  mvb_status s = mvb_tensor_input(b, n, 0, 0, &x);
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
 * when requantized in place (mvb_int8_matmul_weights). */
static mvb_status matmul(builder *b, const mvb_node *n, value *out,
                         bool fused) {
  value *x = NULL;
  const mvb_const *w = NULL;
  mvb_status s = mvb_tensor_input(b, n, 0, 2, &x);
  if (s == MVB_OK) s = mvb_const_input(b, n, 1, MVB_DTYPE_F32, 2, &w);
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
  if (fused) s = mvb_fused_activation(b, n, &lo, &hi);
  uint32_t input_id, w_id, bias_id;
  uint32_t fc_flags = transposed ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS;
  bool int8 = mvb_runs_int8(b, k);
  size_t wdims[2] = {(size_t)w->shape[0], (size_t)w->shape[1]};
  mvb_qlayout l = {cols, k, /*channel_stride=*/transposed ? k : 1,
                   /*element_stride=*/transposed ? 1 : cols};
  const float *wf = NULL;
  if (s == MVB_OK && !int8) s = mvb_const_floats(b, n, w, &wf);
  if (s == MVB_OK)
    s = int8 ? mvb_int8_matmul_weights(b, n, w, &l, &w_id, &fc_flags)
             : mvb_define_static(b, n, wf, 2, wdims, &w_id);
  if (s == MVB_OK)
    s = mvb_weights_input(b, n, x, int8 ? INPUT_QD8_PER_ROW : INPUT_F32,
                          &input_id);
  if (s == MVB_OK)
    s = mvb_bias_value(b, n, fused ? 2 : n->n_inputs, cols, &bias_id);
  size_t odims[2] = {x->dims[0], cols};
  if (s == MVB_OK) s = mvb_define_output(b, n, out, 2, odims);
  if (s != MVB_OK) return s;
  enum xnn_status xs = xnn_define_fully_connected(
      b->subgraph, lo, hi, input_id, w_id, bias_id, out->id, fc_flags);
  return mvb_check_xnn(b, xs, n, "fully connected");
}

static mvb_status op_matmul(builder *b, const mvb_node *n, value *out) {
  return matmul(b, n, out, false);
}

static mvb_status op_fused_matmul(builder *b, const mvb_node *n, value *out) {
  return matmul(b, n, out, true);
}

/* ---- the op table -------------------------------------------------------- */

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

op_fn mvb_find_op(const char *name) {
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
    if (strcmp(OPS[i].name, name) == 0) return OPS[i].define;
  return NULL;
}
