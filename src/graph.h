/* graph.h: a parsed model file -> an XNNPACK runtime, ready to invoke
 * (internal). One small function per TensorFlow op maps it onto
 * xnn_define_*; shapes are inferred and checked here so that a bad model
 * fails at load time with the node's name, never at run time. */
#ifndef MVB_GRAPH_H
#define MVB_GRAPH_H

#include <pthreadpool.h>
#include <stddef.h>

#include "error.h"
#include "model_file.h"

typedef struct mvb_graph mvb_graph;

/* Builds a runtime for file's signature input -> outputs with batch 1.
 * Weights that XNNPACK packs into its own buffers are released from file
 * (mvb_const_release), so one float copy of them stays alive; file must
 * outlive the graph (constants used unpacked, e.g. an AddV2 operand, stay
 * referenced). threadpool may be NULL and must outlive the graph. With
 * MVB_PRECISION_INT8, convolution and matmul weights become per-channel
 * int8 (quantize.h) and their inputs are quantized at every run; every
 * other op stays f32. */
mvb_status mvb_graph_build(mvb_model_file *file, pthreadpool_t threadpool,
                           mvb_precision precision, mvb_graph **out,
                           mvb_error *err);

/* The input buffer to fill before mvb_graph_invoke: (H, W, C) floats. */
float *mvb_graph_input(mvb_graph *graph);
size_t mvb_graph_input_count(const mvb_graph *graph);

/* Runs the graph; afterwards each output's buffer holds its values. */
mvb_status mvb_graph_invoke(mvb_graph *graph, mvb_error *err);

/* The outputs, in the signature's order: k < mvb_graph_output_count. The
 * buffers live as long as the graph (zeros before the first invoke). */
size_t mvb_graph_output_count(const mvb_graph *graph);
const float *mvb_graph_output(const mvb_graph *graph, size_t k);
size_t mvb_graph_output_size(const mvb_graph *graph, size_t k); /* values */
/* Writes output k's dims (batch first) to dims[MVB_MAX_RANK]; its rank. */
int mvb_graph_output_shape(const mvb_graph *graph, size_t k, size_t *dims);

void mvb_graph_free(mvb_graph *graph); /* NULL is allowed */

#endif
