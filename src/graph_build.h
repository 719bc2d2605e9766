/* graph_build.h: the parts of the graph builder, one file each, and what
 * they share (internal to graph.c's family, as model_parse.h is to
 * model_file.c's):
 *
 *     graph.c          the walk over the nodes, the runtime, mvb_graph_*
 *     graph_ops.c      one function per TensorFlow op, and the op table
 *     graph_values.c   a node's inputs and output tensor, weights as f32
 *                      tensors, biases, fused activations, buffers kept
 *                      until XNNPACK has packed them
 *     graph_weights.c  convolution and matmul weights in f32 or int8
 *                      (mvb_options.precision), and the input they read
 *
 * Everything stays NHWC, as TensorFlow.js graph models are. Every failure
 * names the node. Knows nothing of images, files or the verdict. */
#ifndef MVB_GRAPH_BUILD_H
#define MVB_GRAPH_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xnnpack.h>

#include "error.h"
#include "graph.h"
#include "model_file.h"
#include "quantize.h"

/* External values: the input, then output k as EXTERNAL_OUTPUT_ID + k. */
enum {
  EXTERNAL_INPUT_ID = 0,
  EXTERNAL_OUTPUT_ID = 1,
  EXTERNAL_COUNT = 1 + MVB_MAX_OUTPUTS
};

/* What a node produces: an XNNPACK value, or (for Const) a weight. */
typedef struct value {
  int state;          /* graph.c's walk */
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

/* ---- graph_ops.c ---- */

/* Defines node n's XNNPACK nodes and its output tensor in *out, once
 * every input of n is defined. */
typedef mvb_status (*op_fn)(builder *b, const mvb_node *n, value *out);
op_fn mvb_find_op(const char *name); /* NULL: not supported */

/* ---- graph_values.c ---- */

const char *mvb_xnn_status_text(enum xnn_status s);
/* An XNNPACK failure as our status, naming the node and what it did. */
mvb_status mvb_check_xnn(builder *b, enum xnn_status s, const mvb_node *n,
                         const char *what);
long mvb_find_node(const mvb_model_file *f, const char *name); /* or -1 */
size_t mvb_dims_product(const size_t *dims, int rank);

/* Input i of n (already defined); a computed tensor of the given rank
 * (0: any); a constant of the given dtype and rank (-1: any). */
mvb_status mvb_node_input(builder *b, const mvb_node *n, size_t i, value **out);
mvb_status mvb_tensor_input(builder *b, const mvb_node *n, size_t i, int rank,
                            value **out);
mvb_status mvb_const_input(builder *b, const mvb_node *n, size_t i,
                           mvb_dtype dtype, int rank, const mvb_const **out);
/* c's values as floats, dequantized when its first reader needs them. */
mvb_status mvb_const_floats(builder *b, const mvb_node *n, const mvb_const *c,
                            const float **out);

/* Which signature output n computes, or -1. */
int mvb_output_slot(const builder *b, const mvb_node *n);
/* n's output tensor (external if the signature names it), its shape
 * checked; an unnamed intermediate tensor; a static f32 tensor; a
 * constant XNNPACK reads while running. */
mvb_status mvb_define_output(builder *b, const mvb_node *n, value *out,
                             int rank, const size_t *dims);
mvb_status mvb_define_internal(builder *b, const mvb_node *n, int rank,
                               const size_t *dims, uint32_t *id);
mvb_status mvb_define_static(builder *b, const mvb_node *n, const float *data,
                             int rank, const size_t *dims, uint32_t *id);
mvb_status mvb_define_kept_const(builder *b, const mvb_node *n,
                                 const mvb_const *c, uint32_t *id);

/* Buffers freed once XNNPACK has packed them: p (from malloc; freed at
 * once if it cannot be kept), or count zeroed floats. */
mvb_status mvb_temp_adopt(builder *b, const mvb_node *n, void *p);
mvb_status mvb_temp_buffer(builder *b, const mvb_node *n, size_t count,
                           float **out);

/* A conv's or matmul's bias: the constant of input i, or zeros. */
mvb_status mvb_bias_value(builder *b, const mvb_node *n, size_t i,
                          size_t channels, uint32_t *id);
/* fused_ops ["BiasAdd"] (+ "Relu" or "Relu6") as an output clamp. */
mvb_status mvb_fused_activation(builder *b, const mvb_node *n, float *lo,
                                float *hi);

/* ---- graph_weights.c ---- */

/* Whether a convolution or matmul summing over `channels` runs int8. */
bool mvb_runs_int8(const builder *b, size_t channels);
/* An int8 matmul's weights; *flags says how XNNPACK reads them. */
mvb_status mvb_int8_matmul_weights(builder *b, const mvb_node *n,
                                   const mvb_const *c, const mvb_qlayout *l,
                                   uint32_t *id, uint32_t *flags);
/* Weights in XNNPACK's layout, dims channels first: f32 or int8. */
mvb_status mvb_gathered_weights(builder *b, const mvb_node *n,
                                const mvb_const *c, const mvb_qlayout *l,
                                bool int8, int rank, const size_t *dims,
                                uint32_t *id);

/* How a convolution or matmul reads its input x. */
typedef enum input_mode {
  INPUT_F32,           /* x itself, for f32 weights */
  INPUT_QD8_PER_IMAGE, /* for int8 weights, quantized with one scale per
                          image of an (N, H, W, C) x: convolutions */
  INPUT_QD8_PER_ROW,   /* per row of the values a matmul multiplies (per
                          pixel of a 1x1 convolution's input) */
} input_mode;

mvb_status mvb_weights_input(builder *b, const mvb_node *n, const value *x,
                             input_mode mode, uint32_t *id);

#endif
