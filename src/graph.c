/* graph.c: TensorFlow graph nodes -> an XNNPACK subgraph -> a runtime.
 *
 * Reading order: the walk over the nodes (each defined by its op's
 * function in graph_ops.c once its inputs are), the outputs, then
 * mvb_graph_build / invoke / free. graph_build.h lists the other parts.
 *
 * Everything stays NHWC with batch 1, as TensorFlow.js graph models are.
 * Shapes are inferred by the ops, not only by XNNPACK, so a model that does
 * not fit together fails at load time with the node's name. */
#include "graph.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "graph_build.h"

/* value.state during the walk. */
enum { UNVISITED = 0, VISITING = 1, DONE = 2 };

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

/* ---- traversal ----------------------------------------------------------- */

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
      s = mvb_find_op(n->op)(b, n, &b->values[f->node]);
      b->values[f->node].state = DONE;
      depth--;
      continue;
    }
    const mvb_input *in = &n->inputs[f->input++];
    long k = mvb_find_node(b->file, in->node);
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
  long out = mvb_find_node(f, o->node);
  for (size_t hops = 0; out >= 0 && hops < f->n_nodes; hops++) {
    const mvb_node *n = &f->nodes[out];
    if (strcmp(n->op, "Identity") != 0 || n->n_inputs < 1) break;
    long next = mvb_find_node(f, n->inputs[0].node);
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
    if (!mvb_find_op(f->nodes[i].op))
      return mvb_fail(b->err, MVB_ERR_UNSUPPORTED,
                      "node %s: op %s is not supported", f->nodes[i].name,
                      f->nodes[i].op);
  long in = mvb_find_node(f, f->input_node);
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

/* ---- public (internal) API ----------------------------------------------- */

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
                      mvb_xnn_status_text(xs));
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
      mvb_dims_product(b->values[input_idx].dims, b->values[input_idx].rank);
  g->input = alloc_io(g->input_count);
  bool ok = g->input != NULL;
  g->n_outputs = b->n_outputs;
  for (size_t k = 0; k < b->n_outputs; k++) {
    const value *v = &b->values[b->output_nodes[k]];
    graph_output *o = &g->outputs[k];
    o->rank = v->rank;
    memcpy(o->dims, v->dims, sizeof o->dims);
    o->count = mvb_dims_product(v->dims, v->rank);
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
                   mvb_xnn_status_text(xs));
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
                   mvb_xnn_status_text(xs));
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
                    mvb_xnn_status_text(xs));
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
