/* model_file.c: model.json (TensorFlow.js graph-model format) + weight shards
 * -> mvb_model_file. Reading order: messages, JSON helpers, nodes and
 * attributes, signature, preprocessing, weights, entry points. */
#include "model_file.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Bounds on "mvb".preprocess.size: keeps H * W * 3 floats well inside a
 * 32-bit wasm address space. */
#define MAX_INPUT_SIDE 8192

/* ---- messages ----------------------------------------------------------- */

/* A problem in model.json at token tok (-1: no position to give). */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static mvb_status
bad_json(mvb_error *err, mvb_status status, const mvb_json *j, int tok,
         const char *format, ...) {
  char msg[MVB_ERROR_SIZE];
  va_list args;
  va_start(args, format);
  vsnprintf(msg, sizeof msg, format, args);
  va_end(args);
  if (tok >= 0)
    return mvb_fail(err, status, "model.json: %.440s (at byte %d)", msg,
                    mvb_json_offset(j, tok));
  return mvb_fail(err, status, "model.json: %.480s", msg);
}

static mvb_status out_of_memory(mvb_error *err, const char *what) {
  return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY, "out of memory while reading %s",
                  what);
}

/* ---- JSON helpers ------------------------------------------------------- */

/* Decodes the string at tok into *out; ctx and field name it in messages. */
static mvb_status take_string(const mvb_json *j, int tok, const char *ctx,
                              const char *field, char **out, mvb_error *err) {
  if (tok < 0)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, -1, "%s has no \"%s\"", ctx,
                    field);
  mvb_status status = mvb_json_string(j, tok, out);
  if (status == MVB_ERR_OUT_OF_MEMORY) return out_of_memory(err, ctx);
  if (status != MVB_OK)
    return bad_json(err, status, j, tok,
                    "%s: \"%s\" must be a string (without \\u0000)", ctx,
                    field);
  return MVB_OK;
}

/* The array or object at tok, or a message saying it is missing/wrong. */
static mvb_status expect(const mvb_json *j, int tok, mvb_json_type type,
                         const char *ctx, const char *field, mvb_error *err) {
  const char *kind = type == MVB_JSON_ARRAY ? "an array" : "an object";
  if (tok < 0)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, -1, "%s has no \"%s\" (%s)",
                    ctx, field, kind);
  if (!mvb_json_is(j, tok, type))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok, "%s: \"%s\" must be %s",
                    ctx, field, kind);
  return MVB_OK;
}

static int children(const mvb_json *j, int tok) { return j->tokens[tok].size; }
static int first_child(int tok) { return tok + 1; }
static int next_sibling(const mvb_json *j, int tok) {
  return j->tokens[tok].next;
}

static char *dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Standard base64, padding optional. Returns MVB_ERR_MODEL_FORMAT for
 * anything else (no message: the caller knows which attribute). */
static mvb_status base64_decode(const char *in, char **out) {
  size_t n = strlen(in);
  for (int pad = 0; pad < 2 && n > 0 && in[n - 1] == '='; pad++) n--;
  *out = NULL;
  if (n % 4 == 1) return MVB_ERR_MODEL_FORMAT;
  char *d = malloc(n / 4 * 3 + 3);
  if (!d) return MVB_ERR_OUT_OF_MEMORY;
  size_t k = 0;
  unsigned bits = 0;
  int nbits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = base64_value((unsigned char)in[i]);
    if (v < 0) {
      free(d);
      return MVB_ERR_MODEL_FORMAT;
    }
    bits = (bits << 6 | (unsigned)v) & 0xffffff;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      d[k++] = (char)(bits >> nbits & 0xff);
    }
  }
  d[k] = '\0';
  *out = d;
  return MVB_OK;
}

/* "name" -> (name, 0); "name:2" -> (name, 2). */
static mvb_status split_tensor_name(const mvb_json *j, int tok, const char *s,
                                    const char *ctx, char **node, int *index,
                                    mvb_error *err) {
  const char *colon = strrchr(s, ':');
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  long value = 0;
  if (colon) {
    const char *p = colon + 1;
    if (!*p || strlen(p) > 9)
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                      "%s: bad tensor name \"%.200s\"", ctx, s);
    for (; *p; p++) {
      if (*p < '0' || *p > '9')
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "%s: bad tensor name \"%.200s\"", ctx, s);
      value = value * 10 + (*p - '0');
    }
  }
  if (n == 0)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                    "%s: empty node name in \"%.200s\"", ctx, s);
  *node = dup_range(s, n);
  if (!*node) return out_of_memory(err, ctx);
  *index = (int)value;
  return MVB_OK;
}

/* ---- nodes and attributes ------------------------------------------------ */

/* {"dim": [{"size": "-1"}, ...]} -> dims; a missing size is 0 (protobuf's
 * JSON mapping drops zeros). *unknown is set for {"unknownRank": true}. */
static mvb_status read_shape(const mvb_json *j, int tok, const char *ctx,
                             int64_t **dims, size_t *n, bool *unknown,
                             mvb_error *err) {
  *dims = NULL;
  *n = 0;
  *unknown = false;
  if (!mvb_json_is(j, tok, MVB_JSON_OBJECT))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                    "%s: a shape must be an object", ctx);
  bool flag = false;
  int rank_tok = mvb_json_find(j, tok, "unknownRank");
  if (rank_tok >= 0 && mvb_json_bool(j, rank_tok, &flag) && flag) {
    *unknown = true;
    return MVB_OK;
  }
  int dim = mvb_json_find(j, tok, "dim");
  if (dim < 0) return MVB_OK; /* a scalar */
  if (!mvb_json_is(j, dim, MVB_JSON_ARRAY))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, dim,
                    "%s: \"dim\" must be an array", ctx);
  int count = children(j, dim);
  if (count == 0) return MVB_OK;
  *dims = malloc((size_t)count * sizeof **dims);
  if (!*dims) return out_of_memory(err, ctx);
  int c = first_child(dim);
  for (int k = 0; k < count; k++, c = next_sibling(j, c)) {
    int size = mvb_json_find(j, c, "size");
    int64_t v = 0;
    if (!mvb_json_is(j, c, MVB_JSON_OBJECT) ||
        (size >= 0 && !mvb_json_int64(j, size, &v)) || v < -1) {
      free(*dims);
      *dims = NULL;
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                      "%s: dimension %d must be {\"size\": integer >= -1}", ctx,
                      k);
    }
    (*dims)[k] = v;
  }
  *n = (size_t)count;
  return MVB_OK;
}

/* One {"list": {...}} member ("i", "f", "s", "b", "type", ...). */
static mvb_status read_list_member(const mvb_json *j, int key, int arr,
                                   const char *ctx, mvb_attr *a,
                                   mvb_error *err) {
  int count = children(j, arr);
  bool is_i = mvb_json_streq(j, key, "i"), is_b = mvb_json_streq(j, key, "b");
  bool is_f = mvb_json_streq(j, key, "f"), is_s = mvb_json_streq(j, key, "s");
  bool is_type = mvb_json_streq(j, key, "type");
  if (!mvb_json_is(j, arr, MVB_JSON_ARRAY))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, arr,
                    "%s: list members must be arrays", ctx);
  if (count == 0) return MVB_OK;
  if (!(is_i || is_b || is_f || is_s || is_type)) {
    a->kind = MVB_ATTR_OTHER; /* lists of shapes, tensors, funcs */
    return MVB_OK;
  }
  if ((is_i || is_b) && a->ints) goto repeated;
  if (is_f && a->floats) goto repeated;
  if ((is_s || is_type) && a->strs) goto repeated;
  if (is_i || is_b) a->ints = calloc((size_t)count, sizeof *a->ints);
  if (is_f) a->floats = calloc((size_t)count, sizeof *a->floats);
  if (is_s || is_type) a->strs = calloc((size_t)count, sizeof *a->strs);
  if (!a->ints && !a->floats && !a->strs) return out_of_memory(err, ctx);
  int c = first_child(arr);
  for (int k = 0; k < count; k++, c = next_sibling(j, c)) {
    if (is_i || is_b) {
      bool b = false;
      if (is_i && !mvb_json_int64(j, c, &a->ints[k]))
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                        "%s: list element %d must be an integer", ctx, k);
      if (is_b && !mvb_json_bool(j, c, &b))
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                        "%s: list element %d must be true or false", ctx, k);
      if (is_b) a->ints[k] = b;
      a->n_ints = (size_t)k + 1;
    } else if (is_f) {
      double v;
      if (!mvb_json_double(j, c, &v))
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                        "%s: list element %d must be a number", ctx, k);
      a->floats[k] = (float)v;
      a->n_floats = (size_t)k + 1;
    } else {
      char *raw = NULL;
      mvb_status status = take_string(j, c, ctx, "list element", &raw, err);
      if (status != MVB_OK) return status;
      if (is_type) {
        a->strs[k] = raw;
      } else {
        status = base64_decode(raw, &a->strs[k]);
        free(raw);
        if (status == MVB_ERR_OUT_OF_MEMORY) return out_of_memory(err, ctx);
        if (status != MVB_OK)
          return bad_json(err, status, j, c,
                          "%s: list element %d is not valid base64", ctx, k);
      }
      a->n_strs = (size_t)k + 1;
    }
  }
  return MVB_OK;
repeated:
  return bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                  "%s: list has two members of the same kind", ctx);
}

/* "name": {"i": "3"} and the other forms of mvb_attr_kind. */
static mvb_status read_attr(const mvb_json *j, int key, const char *node_ctx,
                            mvb_attr *a, mvb_error *err) {
  char ctx[400];
  int value = key + 1;
  mvb_status status = take_string(j, key, node_ctx, "attr name", &a->name, err);
  if (status != MVB_OK) return status;
  snprintf(ctx, sizeof ctx, "%.250s: attr \"%.100s\"", node_ctx, a->name);
  a->kind = MVB_ATTR_OTHER;
  if (!mvb_json_is(j, value, MVB_JSON_OBJECT))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, value, "%s must be an object",
                    ctx);
  if (children(j, value) == 0) return MVB_OK;
  /* An AttrValue holds one member (a protobuf oneof). */
  int k = first_child(value), v = k + 1;
  bool b = false;
  double f = 0;
  if (mvb_json_streq(j, k, "i")) {
    a->kind = MVB_ATTR_I;
    if (!mvb_json_int64(j, v, &a->i))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                      "%s: \"i\" must be an integer", ctx);
  } else if (mvb_json_streq(j, k, "f")) {
    a->kind = MVB_ATTR_F;
    if (!mvb_json_double(j, v, &f))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                      "%s: \"f\" must be a number", ctx);
    a->f = (float)f;
  } else if (mvb_json_streq(j, k, "b")) {
    a->kind = MVB_ATTR_B;
    if (!mvb_json_bool(j, v, &b))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                      "%s: \"b\" must be true or false", ctx);
    a->i = b;
  } else if (mvb_json_streq(j, k, "s")) {
    char *raw = NULL;
    a->kind = MVB_ATTR_S;
    if ((status = take_string(j, v, ctx, "s", &raw, err)) != MVB_OK)
      return status;
    status = base64_decode(raw, &a->s);
    free(raw);
    if (status == MVB_ERR_OUT_OF_MEMORY) return out_of_memory(err, ctx);
    if (status != MVB_OK)
      return bad_json(err, status, j, v, "%s: \"s\" is not valid base64", ctx);
  } else if (mvb_json_streq(j, k, "type")) {
    a->kind = MVB_ATTR_TYPE;
    return take_string(j, v, ctx, "type", &a->s, err);
  } else if (mvb_json_streq(j, k, "list")) {
    a->kind = MVB_ATTR_LIST;
    if (!mvb_json_is(j, v, MVB_JSON_OBJECT))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                      "%s: \"list\" must be an object", ctx);
    int m = first_child(v);
    for (int n = 0; n < children(j, v); n++, m = next_sibling(j, m))
      if ((status = read_list_member(j, m, m + 1, ctx, a, err)) != MVB_OK)
        return status;
  } else if (mvb_json_streq(j, k, "shape")) {
    bool unknown = false;
    a->kind = MVB_ATTR_SHAPE;
    status = read_shape(j, v, ctx, &a->ints, &a->n_ints, &unknown, err);
    if (status == MVB_OK && unknown) a->kind = MVB_ATTR_OTHER;
    return status;
  }
  return MVB_OK;
}

static mvb_status read_node(const mvb_json *j, int tok, int index,
                            mvb_node *node, mvb_error *err) {
  char ctx[300];
  mvb_status status;
  snprintf(ctx, sizeof ctx, "modelTopology.node[%d]", index);
  if (!mvb_json_is(j, tok, MVB_JSON_OBJECT))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok, "%s must be an object",
                    ctx);
  status = take_string(j, mvb_json_find(j, tok, "name"), ctx, "name",
                       &node->name, err);
  if (status != MVB_OK) return status;
  if (!node->name[0])
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok, "%s has an empty name",
                    ctx);
  snprintf(ctx, sizeof ctx, "node %d \"%.200s\"", index, node->name);
  status =
      take_string(j, mvb_json_find(j, tok, "op"), ctx, "op", &node->op, err);
  if (status != MVB_OK) return status;

  int inputs = mvb_json_find(j, tok, "input");
  if (inputs >= 0) {
    if ((status = expect(j, inputs, MVB_JSON_ARRAY, ctx, "input", err)))
      return status;
    int count = children(j, inputs);
    node->inputs = calloc(count ? (size_t)count : 1, sizeof *node->inputs);
    if (!node->inputs) return out_of_memory(err, ctx);
    int c = first_child(inputs);
    for (int k = 0; k < count; k++, c = next_sibling(j, c)) {
      char *s = NULL;
      if ((status = take_string(j, c, ctx, "input", &s, err)) != MVB_OK)
        return status;
      if (s[0] != '^') { /* "^name" only orders execution: no data */
        mvb_input *in = &node->inputs[node->n_inputs];
        status = split_tensor_name(j, c, s, ctx, &in->node, &in->output, err);
        if (status == MVB_OK) node->n_inputs++;
      }
      free(s);
      if (status != MVB_OK) return status;
    }
  }

  int attrs = mvb_json_find(j, tok, "attr");
  if (attrs >= 0) {
    if ((status = expect(j, attrs, MVB_JSON_OBJECT, ctx, "attr", err)))
      return status;
    int count = children(j, attrs);
    node->attrs = calloc(count ? (size_t)count : 1, sizeof *node->attrs);
    if (!node->attrs) return out_of_memory(err, ctx);
    int c = first_child(attrs);
    for (int k = 0; k < count; k++, c = next_sibling(j, c)) {
      node->n_attrs = (size_t)k + 1; /* so that a failure frees this one */
      if ((status = read_attr(j, c, ctx, &node->attrs[k], err)) != MVB_OK)
        return status;
    }
  }
  return MVB_OK;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a repeated name among n names (sorted copy: n log n). */
static mvb_status check_unique(const char **names, size_t n, const char *what,
                               mvb_error *err) {
  qsort(names, n, sizeof *names, compare_names);
  for (size_t k = 1; k < n; k++)
    if (!strcmp(names[k - 1], names[k]))
      return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                      "model.json: two %s are named \"%.300s\"", what,
                      names[k]);
  return MVB_OK;
}

static mvb_status read_nodes(const mvb_json *j, mvb_model_file *out,
                             mvb_error *err) {
  int topology = mvb_json_find(j, 0, "modelTopology");
  mvb_status status = expect(j, topology, MVB_JSON_OBJECT, "the document",
                             "modelTopology", err);
  if (status != MVB_OK) return status;
  int nodes = mvb_json_find(j, topology, "node");
  if ((status = expect(j, nodes, MVB_JSON_ARRAY, "modelTopology", "node", err)))
    return status;
  size_t count = (size_t)children(j, nodes);
  if (count == 0)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, nodes,
                    "modelTopology.node is empty");
  out->nodes = calloc(count, sizeof *out->nodes);
  if (!out->nodes) return out_of_memory(err, "model.json nodes");
  out->n_nodes = count;
  int c = first_child(nodes);
  for (size_t k = 0; k < count; k++, c = next_sibling(j, c))
    if ((status = read_node(j, c, (int)k, &out->nodes[k], err)) != MVB_OK)
      return status;

  const char **names = malloc(count * sizeof *names);
  if (!names) return out_of_memory(err, "model.json nodes");
  for (size_t k = 0; k < count; k++) names[k] = out->nodes[k].name;
  status = check_unique(names, count, "nodes", err);
  free(names);
  return status;
}

/* ---- signature ----------------------------------------------------------- */

/* The single entry of signature.inputs or .outputs: its tensor name and
 * (for inputs) its shape. */
static mvb_status read_signature_entry(const mvb_json *j, int sig,
                                       const char *field, char **node,
                                       int *index, int64_t *shape, int *rank,
                                       mvb_error *err) {
  int map = mvb_json_find(j, sig, field);
  char ctx[32];
  snprintf(ctx, sizeof ctx, "signature.%s", field);
  mvb_status status = expect(j, map, MVB_JSON_OBJECT, "signature", field, err);
  if (status != MVB_OK) return status;
  int count = children(j, map);
  if (count == 0)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, map, "%s is empty", ctx);
  if (count > 1) {
    char names[300] = "";
    size_t used = 0;
    int c = first_child(map);
    for (int k = 0; k < count && used < sizeof names - 1;
         k++, c = next_sibling(j, c)) {
      const mvb_json_token *t = &j->tokens[c];
      int n = snprintf(names + used, sizeof names - used, "%s\"%.*s\"",
                       k ? ", " : "", t->end - t->start, j->text + t->start);
      used = n < 0 ? used : used + (size_t)n;
    }
    return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                    "model.json: the model has %d %s (%s); only models with "
                    "one input and one output are supported",
                    count, field, names);
  }
  int key = first_child(map), entry = key + 1;
  if (!mvb_json_is(j, entry, MVB_JSON_OBJECT))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, entry,
                    "%s entries must be objects", ctx);
  int name_tok = mvb_json_find(j, entry, "name");
  if (name_tok < 0) name_tok = key;
  char *name = NULL;
  if ((status = take_string(j, name_tok, ctx, "name", &name, err)))
    return status;
  status = split_tensor_name(j, name_tok, name, ctx, node, index, err);
  free(name);
  if (status != MVB_OK || !shape) return status;

  int tshape = mvb_json_find(j, entry, "tensorShape");
  int64_t *dims = NULL;
  size_t n = 0;
  bool unknown = false;
  *rank = 0; /* unknown: mvb_model_file_parse falls back on the Placeholder */
  if (tshape < 0) return MVB_OK;
  status = read_shape(j, tshape, ctx, &dims, &n, &unknown, err);
  if (status == MVB_OK && n > MVB_MAX_RANK)
    status = bad_json(err, MVB_ERR_UNSUPPORTED, j, tshape,
                      "%s: rank %zu is more than %d", ctx, n, MVB_MAX_RANK);
  if (status == MVB_OK && !unknown) {
    for (size_t k = 0; k < n; k++) shape[k] = dims[k];
    *rank = (int)n;
  }
  free(dims);
  return status;
}

static mvb_status read_signature(const mvb_json *j, mvb_model_file *out,
                                 mvb_error *err) {
  int sig = mvb_json_find(j, 0, "signature");
  mvb_status status =
      expect(j, sig, MVB_JSON_OBJECT, "the document", "signature", err);
  if (status != MVB_OK) return status;
  int index = 0;
  status = read_signature_entry(j, sig, "inputs", &out->input_node, &index,
                                out->input_shape, &out->input_rank, err);
  if (status != MVB_OK) return status;
  if (index != 0)
    return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                    "model.json: the signature input is output %d of node "
                    "\"%.300s\"; only a node's output 0 can be an input",
                    index, out->input_node);
  status = read_signature_entry(j, sig, "outputs", &out->output_node,
                                &out->output_index, NULL, NULL, err);
  if (status != MVB_OK) return status;

  /* A signature without a shape: take the Placeholder's "shape" attr. */
  const mvb_node *input = mvb_model_file_node(out, out->input_node);
  const mvb_attr *shape = input ? mvb_node_attr(input, "shape") : NULL;
  if (out->input_rank == 0 && shape && shape->kind == MVB_ATTR_SHAPE &&
      shape->n_ints <= MVB_MAX_RANK) {
    for (size_t k = 0; k < shape->n_ints; k++)
      out->input_shape[k] = shape->ints[k];
    out->input_rank = (int)shape->n_ints;
  }
  return MVB_OK;
}

/* ---- preprocessing ("mvb" key) --------------------------------------------
 */

/* n numbers into v; all must be finite, and > 0 if positive is set. */
static mvb_status read_numbers(const mvb_json *j, int tok, const char *field,
                               int n, bool positive, float *v, mvb_error *err) {
  if (!mvb_json_is(j, tok, MVB_JSON_ARRAY) || children(j, tok) != n)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                    "mvb.preprocess.%s must be an array of %d numbers", field,
                    n);
  int c = first_child(tok);
  for (int k = 0; k < n; k++, c = next_sibling(j, c)) {
    double d;
    if (!mvb_json_double(j, c, &d) || !isfinite(d) || (positive && !(d > 0)))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                      "mvb.preprocess.%s[%d] must be a %snumber", field, k,
                      positive ? "positive " : "finite ");
    v[k] = (float)d;
  }
  return MVB_OK;
}

static mvb_status read_preprocess(const mvb_json *j, mvb_model_file *out,
                                  mvb_error *err) {
  mvb_preprocess *pp = &out->preprocess;
  const int64_t *shape = out->input_shape;
  *pp = (mvb_preprocess){.resize = MVB_RESIZE_BILINEAR_ANTIALIAS,
                         .mean = {0.5f, 0.5f, 0.5f},
                         .std = {0.5f, 0.5f, 0.5f}};
  /* 0 x 0 when the input is not an image (e.g. an op test's [-1, 10]):
   * such a model can still run raw tensors. */
  bool image = out->input_rank == 4 && shape[1] > 0 &&
               shape[1] <= MAX_INPUT_SIDE && shape[2] > 0 &&
               shape[2] <= MAX_INPUT_SIDE;
  if (image) {
    pp->height = (int)shape[1];
    pp->width = (int)shape[2];
  }
  int mvb = mvb_json_find(j, 0, "mvb");
  if (mvb < 0) return MVB_OK;
  mvb_status status =
      expect(j, mvb, MVB_JSON_OBJECT, "the document", "mvb", err);
  if (status != MVB_OK) return status;
  int pre = mvb_json_find(j, mvb, "preprocess");
  if (pre < 0) return MVB_OK;
  if ((status = expect(j, pre, MVB_JSON_OBJECT, "mvb", "preprocess", err)))
    return status;

  int key = first_child(pre);
  for (int k = 0; k < children(j, pre); k++, key = next_sibling(j, key)) {
    int v = key + 1;
    if (mvb_json_streq(j, key, "size")) {
      int64_t hw[2];
      if (!mvb_json_is(j, v, MVB_JSON_ARRAY) || children(j, v) != 2 ||
          !mvb_json_int64(j, v + 1, &hw[0]) ||
          !mvb_json_int64(j, next_sibling(j, v + 1), &hw[1]) || hw[0] < 1 ||
          hw[0] > MAX_INPUT_SIDE || hw[1] < 1 || hw[1] > MAX_INPUT_SIDE)
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                        "mvb.preprocess.size must be [height, width] with "
                        "each in 1..%d",
                        MAX_INPUT_SIDE);
      if (out->input_rank == 4 && ((shape[1] > 0 && shape[1] != hw[0]) ||
                                   (shape[2] > 0 && shape[2] != hw[1])))
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                        "mvb.preprocess.size [%lld, %lld] does not match the "
                        "signature input shape [%lld, %lld, %lld, %lld]",
                        (long long)hw[0], (long long)hw[1], (long long)shape[0],
                        (long long)shape[1], (long long)shape[2],
                        (long long)shape[3]);
      pp->height = (int)hw[0];
      pp->width = (int)hw[1];
    } else if (mvb_json_streq(j, key, "resize")) {
      if (!mvb_json_is(j, v, MVB_JSON_STRING))
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                        "mvb.preprocess.resize must be a string");
      if (!mvb_json_streq(j, v, "bilinear-antialias")) {
        const mvb_json_token *t = &j->tokens[v];
        return bad_json(err, MVB_ERR_UNSUPPORTED, j, v,
                        "mvb.preprocess.resize \"%.*s\" is not supported "
                        "(known: \"bilinear-antialias\")",
                        t->end - t->start > 100 ? 100 : t->end - t->start,
                        j->text + t->start);
      }
    } else if (mvb_json_streq(j, key, "mean")) {
      if ((status = read_numbers(j, v, "mean", 3, false, pp->mean, err)))
        return status;
    } else if (mvb_json_streq(j, key, "std")) {
      if ((status = read_numbers(j, v, "std", 3, true, pp->std, err)))
        return status;
    } else {
      const mvb_json_token *t = &j->tokens[key];
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                      "unknown key \"%.*s\" in mvb.preprocess (known: size, "
                      "resize, mean, std)",
                      t->end - t->start > 100 ? 100 : t->end - t->start,
                      j->text + t->start);
    }
  }
  return MVB_OK;
}

/* ---- weights --------------------------------------------------------------
 */

typedef enum quant {
  QUANT_NONE,
  QUANT_UINT8,
  QUANT_UINT16,
  QUANT_FLOAT16
} quant;

/* How one weight is stored in its group's shards. */
typedef struct weight_plan {
  int group;
  quant quant;
  double min, scale; /* uint8 / uint16: value = min + scale * q */
  size_t bytes;      /* in the shards */
} weight_plan;

/* The weightsManifest, checked for shape: groups with "paths" and
 * "weights" arrays. Missing means no weights. */
static mvb_status read_manifest(const mvb_json *j, int *manifest,
                                size_t *n_paths, size_t *n_weights,
                                mvb_error *err) {
  *manifest = mvb_json_find(j, 0, "weightsManifest");
  *n_paths = *n_weights = 0;
  if (*manifest < 0) return MVB_OK;
  mvb_status status = expect(j, *manifest, MVB_JSON_ARRAY, "the document",
                             "weightsManifest", err);
  if (status != MVB_OK) return status;
  int g = first_child(*manifest);
  for (int k = 0; k < children(j, *manifest); k++, g = next_sibling(j, g)) {
    char ctx[48];
    snprintf(ctx, sizeof ctx, "weightsManifest[%d]", k);
    if (!mvb_json_is(j, g, MVB_JSON_OBJECT))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, g, "%s must be an object",
                      ctx);
    int paths = mvb_json_find(j, g, "paths");
    int weights = mvb_json_find(j, g, "weights");
    if ((status = expect(j, paths, MVB_JSON_ARRAY, ctx, "paths", err)) ||
        (status = expect(j, weights, MVB_JSON_ARRAY, ctx, "weights", err)))
      return status;
    int p = first_child(paths);
    for (int n = 0; n < children(j, paths); n++, p = next_sibling(j, p))
      if (!mvb_json_is(j, p, MVB_JSON_STRING) ||
          j->tokens[p].end == j->tokens[p].start)
        return bad_json(err, MVB_ERR_MODEL_FORMAT, j, p,
                        "%s: paths must be non-empty strings", ctx);
    *n_paths += (size_t)children(j, paths);
    *n_weights += (size_t)children(j, weights);
  }
  return MVB_OK;
}

static const char *dtype_name(const mvb_json *j, int tok, char *buf,
                              size_t size) {
  if (!mvb_json_is(j, tok, MVB_JSON_STRING)) return "(not a string)";
  const mvb_json_token *t = &j->tokens[tok];
  snprintf(buf, size, "%.*s", t->end - t->start > 40 ? 40 : t->end - t->start,
           j->text + t->start);
  return buf;
}

/* Reads one manifest entry: name, dtype, shape, quantization, byte size.
 * Checks sizes for overflow; allocates only the name. */
static mvb_status plan_weight(const mvb_json *j, int tok, int group,
                              mvb_const *c, weight_plan *plan, mvb_error *err) {
  char ctx[360], buf[48];
  mvb_status status;
  snprintf(ctx, sizeof ctx, "weightsManifest[%d].weights entry", group);
  if (!mvb_json_is(j, tok, MVB_JSON_OBJECT))
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok, "%s must be an object",
                    ctx);
  status =
      take_string(j, mvb_json_find(j, tok, "name"), ctx, "name", &c->name, err);
  if (status != MVB_OK) return status;
  snprintf(ctx, sizeof ctx, "weight \"%.300s\"", c->name);
  plan->group = group;

  int dtype = mvb_json_find(j, tok, "dtype");
  if (mvb_json_streq(j, dtype, "float32"))
    c->dtype = MVB_DTYPE_F32;
  else if (mvb_json_streq(j, dtype, "int32"))
    c->dtype = MVB_DTYPE_I32;
  else if (dtype < 0)
    return bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok, "%s has no dtype", ctx);
  else
    return bad_json(err, MVB_ERR_UNSUPPORTED, j, dtype,
                    "%s has dtype \"%s\"; supported: float32, int32", ctx,
                    dtype_name(j, dtype, buf, sizeof buf));

  size_t elem = 4;
  int q = mvb_json_find(j, tok, "quantization");
  if (q >= 0) {
    if ((status = expect(j, q, MVB_JSON_OBJECT, ctx, "quantization", err)))
      return status;
    int qd = mvb_json_find(j, q, "dtype");
    if (mvb_json_streq(j, qd, "uint8"))
      plan->quant = QUANT_UINT8, elem = 1;
    else if (mvb_json_streq(j, qd, "uint16"))
      plan->quant = QUANT_UINT16, elem = 2;
    else if (mvb_json_streq(j, qd, "float16"))
      plan->quant = QUANT_FLOAT16, elem = 2;
    else
      return bad_json(err, MVB_ERR_UNSUPPORTED, j, qd < 0 ? q : qd,
                      "%s has quantization dtype \"%s\"; supported: uint8, "
                      "uint16, float16",
                      ctx,
                      qd < 0 ? "(none)" : dtype_name(j, qd, buf, sizeof buf));
    if (plan->quant != QUANT_FLOAT16 &&
        (!mvb_json_double(j, mvb_json_find(j, q, "min"), &plan->min) ||
         !mvb_json_double(j, mvb_json_find(j, q, "scale"), &plan->scale) ||
         !isfinite(plan->min) || !isfinite(plan->scale)))
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, q,
                      "%s: quantization needs finite \"min\" and \"scale\"",
                      ctx);
  }

  int shape = mvb_json_find(j, tok, "shape");
  if ((status = expect(j, shape, MVB_JSON_ARRAY, ctx, "shape", err)))
    return status;
  int rank = children(j, shape);
  if (rank > MVB_MAX_RANK)
    return bad_json(err, MVB_ERR_UNSUPPORTED, j, shape,
                    "%s has rank %d; at most %d is supported", ctx, rank,
                    MVB_MAX_RANK);
  /* Every float copy must fit in size_t bytes. */
  size_t count = 1, limit = SIZE_MAX / sizeof(float);
  int d = first_child(shape);
  for (int k = 0; k < rank; k++, d = next_sibling(j, d)) {
    int64_t v;
    if (!mvb_json_int64(j, d, &v) || v < 0)
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, d,
                      "%s: shape[%d] must be a non-negative integer", ctx, k);
    c->shape[k] = v;
  }
  c->rank = rank;
  bool empty = false;
  for (int k = 0; k < rank; k++) empty = empty || c->shape[k] == 0;
  for (int k = 0; k < rank && !empty; k++) {
    uint64_t v = (uint64_t)c->shape[k];
    if (count > limit / v)
      return bad_json(err, MVB_ERR_MODEL_FORMAT, j, shape,
                      "%s: its shape has too many elements for memory", ctx);
    count *= (size_t)v;
  }
  if (empty) count = 0;
  c->count = count;
  plan->bytes = count * elem;
  return MVB_OK;
}

/* The tfjs converter cuts a group's bytes into shards of one fixed size
 * (the last one shorter). Recovers that size as the most common size of the
 * shards but the last, so that a message can name the one shard that
 * differs. Returns 0 if no single size explains the group. */
static size_t likely_shard_size(const size_t *sizes, size_t n, uint64_t need) {
  if (n < 2) return 0;
  size_t *s = malloc((n - 1) * sizeof *s), best = 0, best_run = 0;
  if (!s) return 0;
  memcpy(s, sizes, (n - 1) * sizeof *s);
  for (size_t a = 0; a < n - 1; a++) /* insertion sort: n is small */
    for (size_t b = a; b > 0 && s[b - 1] > s[b]; b--) {
      size_t t = s[b];
      s[b] = s[b - 1];
      s[b - 1] = t;
    }
  for (size_t a = 0, b; a < n - 1; a = b) {
    for (b = a; b < n - 1 && s[b] == s[a]; b++) {
    }
    /* n shards of this size must leave 1..size bytes for the last one */
    uint64_t before = (uint64_t)s[a] * (n - 1);
    /* ties go to the larger size: a truncated shard is the odd one out */
    if (s[a] > 0 && before < need && need - before <= s[a] && b - a >= best_run)
      best = s[a], best_run = b - a;
  }
  free(s);
  return best;
}

/* The group's shards hold have bytes where its weights need need: names the
 * shard that differs from the converter's layout. */
static mvb_status shard_mismatch(const mvb_json *j, int paths, int group,
                                 const size_t *sizes, size_t n, uint64_t need,
                                 uint64_t have, mvb_error *err) {
  size_t unit = n == 1 ? (size_t)need : likely_shard_size(sizes, n, need);
  size_t blame = n - 1;
  uint64_t expected = 0;
  if (unit > 0) {
    for (size_t k = 0; k < n; k++) {
      uint64_t at = (uint64_t)unit * k;
      uint64_t want = k + 1 < n ? unit : (need > at ? need - at : 0);
      if (sizes[k] != want) {
        blame = k;
        expected = want;
        break;
      }
    }
  }
  int p = first_child(paths);
  for (size_t k = 0; k < blame; k++) p = next_sibling(j, p);
  const mvb_json_token *t = &j->tokens[p];
  const char *how = have < need ? "short" : "long";
  if (unit > 0)
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "weight group %d: shard \"%.*s\" (%zu of %zu) is too %s: "
                    "%zu bytes, expected %llu (the group's weights need %llu "
                    "bytes, its shards hold %llu)",
                    group, t->end - t->start > 200 ? 200 : t->end - t->start,
                    j->text + t->start, blame + 1, n, how, sizes[blame],
                    (unsigned long long)expected, (unsigned long long)need,
                    (unsigned long long)have);
  return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                  "weight group %d: shards are too %s: the group's weights "
                  "need %llu bytes but its %zu shards hold %llu (last shard "
                  "\"%.*s\", %zu bytes)",
                  group, how, (unsigned long long)need, n,
                  (unsigned long long)have,
                  t->end - t->start > 200 ? 200 : t->end - t->start,
                  j->text + t->start, sizes[n - 1]);
}

/* Reads a group's bytes in order across its shards. */
typedef struct shard_cursor {
  const uint8_t *const *shards;
  const size_t *sizes;
  size_t shard, offset;
} shard_cursor;

static void cursor_read(shard_cursor *c, uint8_t *dst, size_t n) {
  while (n > 0) {
    size_t left = c->sizes[c->shard] - c->offset;
    if (left == 0) {
      c->shard++;
      c->offset = 0;
      continue;
    }
    size_t take = n < left ? n : left;
    memcpy(dst, c->shards[c->shard] + c->offset, take);
    c->offset += take;
    dst += take;
    n -= take;
  }
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = h >> 10 & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0) { /* zero or subnormal: mant * 2^-24 */
    float f = ldexpf((float)mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | mant << 13; /* inf, nan */
  else
    bits = sign | (exp + 112) << 23 | mant << 13;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static double affine(const weight_plan *plan, unsigned q) {
  return plan->min + plan->scale * q;
}

/* Element k of a chunk as the weight's real value. */
static double element(const uint8_t *b, size_t k, const weight_plan *plan,
                      mvb_dtype dtype) {
  switch (plan->quant) {
    case QUANT_UINT8: return affine(plan, b[k]);
    case QUANT_UINT16:
      return affine(plan, (unsigned)(b[2 * k] | b[2 * k + 1] << 8));
    case QUANT_FLOAT16:
      return half_to_float((uint16_t)(b[2 * k] | b[2 * k + 1] << 8));
    case QUANT_NONE: break;
  }
  uint32_t bits = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 |
                  (uint32_t)b[4 * k + 2] << 16 | (uint32_t)b[4 * k + 3] << 24;
  if (dtype == MVB_DTYPE_I32) {
    int32_t i;
    memcpy(&i, &bits, sizeof i);
    return i;
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* Allocates c's data and fills it from the cursor. Dequantization computes
 * in double and rounds once, as TensorFlow.js does; quantized int32 values
 * are rounded like Math.round. */
static mvb_status load_weight(shard_cursor *cursor, mvb_const *c,
                              const weight_plan *plan, mvb_error *err) {
  size_t alloc = c->count ? c->count : 1;
  if (c->dtype == MVB_DTYPE_F32)
    c->f32 = malloc(alloc * sizeof *c->f32);
  else
    c->i32 = malloc(alloc * sizeof *c->i32);
  if (!c->f32 && !c->i32)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for weight \"%.300s\" (%zu values)", c->name,
                    c->count);
  size_t elem = c->count ? plan->bytes / c->count : 1;
  uint8_t chunk[4096];
  /* uint8 -> float32 is nearly every byte of a converted model: one table
   * of the 256 values it can take keeps it to a load per element. */
  float table[256];
  bool by_table = plan->quant == QUANT_UINT8 && c->dtype == MVB_DTYPE_F32;
  for (int b = 0; by_table && b < 256; b++)
    table[b] = (float)affine(plan, (unsigned)b);
  for (size_t done = 0; done < c->count;) {
    size_t n = c->count - done < sizeof chunk / elem ? c->count - done
                                                     : sizeof chunk / elem;
    cursor_read(cursor, chunk, n * elem);
    for (size_t k = 0; by_table && k < n; k++)
      c->f32[done + k] = table[chunk[k]];
    for (size_t k = 0; !by_table && k < n; k++) {
      double v = element(chunk, k, plan, c->dtype);
      if (c->dtype == MVB_DTYPE_F32) {
        c->f32[done + k] = (float)v;
        continue;
      }
      if (plan->quant != QUANT_NONE) v = floor(v + 0.5);
      if (!(v >= INT32_MIN && v <= INT32_MAX))
        return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                        "weight \"%.300s\": value %d dequantizes to %g, "
                        "outside int32",
                        c->name, (int)(done + k), v);
      c->i32[done + k] = (int32_t)v;
    }
    done += n;
  }
  return MVB_OK;
}

static mvb_status read_weights(const mvb_json *j, const uint8_t *const *shards,
                               const size_t *shard_sizes, size_t shard_count,
                               mvb_model_file *out, mvb_error *err) {
  int manifest;
  size_t n_paths, n_weights;
  weight_plan *plans = NULL;
  const char **names = NULL;
  mvb_status status = read_manifest(j, &manifest, &n_paths, &n_weights, err);
  if (status != MVB_OK) return status;
  if (n_paths != shard_count)
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "model.json's weightsManifest names %zu shard files but "
                    "%zu shards were given",
                    n_paths, shard_count);
  for (size_t k = 0; k < shard_count; k++)
    if (!shards[k] && shard_sizes[k])
      return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "shard %zu is NULL", k);
  if (manifest < 0) return MVB_OK; /* a graph without weights */
  /* One spare element: calloc(0) may return NULL. */
  out->consts = calloc(n_weights + 1, sizeof *out->consts);
  plans = calloc(n_weights + 1, sizeof *plans);
  names = malloc((n_weights + 1) * sizeof *names);
  if (!out->consts || !plans || !names) {
    status = out_of_memory(err, "the weightsManifest");
    goto done;
  }
  out->n_consts = n_weights;

  /* First every size, against the shards, before any weight's data. */
  size_t w = 0, first_shard = 0;
  int g = first_child(manifest);
  for (int group = 0; group < children(j, manifest);
       group++, g = next_sibling(j, g)) {
    int paths = mvb_json_find(j, g, "paths");
    int weights = mvb_json_find(j, g, "weights");
    size_t n = (size_t)children(j, paths);
    uint64_t need = 0, have = 0;
    int t = first_child(weights);
    for (int k = 0; k < children(j, weights);
         k++, t = next_sibling(j, t), w++) {
      status = plan_weight(j, t, group, &out->consts[w], &plans[w], err);
      if (status != MVB_OK) goto done;
      names[w] = out->consts[w].name;
      if (need > UINT64_MAX - plans[w].bytes) {
        status = mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                          "weight group %d: byte count overflows", group);
        goto done;
      }
      need += plans[w].bytes;
    }
    for (size_t k = 0; k < n; k++) have += shard_sizes[first_shard + k];
    if (need != have) {
      if (n == 0) {
        status = mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                          "weight group %d has no shard paths but its "
                          "weights need %llu bytes",
                          group, (unsigned long long)need);
      } else {
        status = shard_mismatch(j, paths, group, shard_sizes + first_shard, n,
                                need, have, err);
      }
      goto done;
    }
    first_shard += n;
  }
  status = check_unique(names, n_weights, "weights", err);
  if (status != MVB_OK) goto done;

  w = 0;
  first_shard = 0;
  g = first_child(manifest);
  for (int group = 0; group < children(j, manifest);
       group++, g = next_sibling(j, g)) {
    int weights = mvb_json_find(j, g, "weights");
    shard_cursor cursor = {shards + first_shard, shard_sizes + first_shard, 0,
                           0};
    for (int k = 0; k < children(j, weights); k++, w++)
      if ((status = load_weight(&cursor, &out->consts[w], &plans[w], err)))
        goto done;
    first_shard += (size_t)children(j, mvb_json_find(j, g, "paths"));
  }

done:
  free(plans);
  free(names);
  return status;
}

/* ---- entry points ----------------------------------------------------------
 */

static mvb_status parse_document(const mvb_json *j,
                                 const uint8_t *const *shards,
                                 const size_t *shard_sizes, size_t shard_count,
                                 mvb_model_file *out, mvb_error *err) {
  mvb_status status;
  if (!mvb_json_is(j, 0, MVB_JSON_OBJECT))
    status = bad_json(err, MVB_ERR_MODEL_FORMAT, j, 0,
                      "the document must be a JSON object");
  else if ((status = read_nodes(j, out, err)) == MVB_OK &&
           (status = read_signature(j, out, err)) == MVB_OK &&
           (status = read_preprocess(j, out, err)) == MVB_OK)
    status = read_weights(j, shards, shard_sizes, shard_count, out, err);
  if (status != MVB_OK) mvb_model_file_free(out);
  return status;
}

mvb_status mvb_model_file_parse(const char *json, size_t json_size,
                                const uint8_t *const *shards,
                                const size_t *shard_sizes, size_t shard_count,
                                mvb_model_file *out, mvb_error *err) {
  if (!out) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no output");
  memset(out, 0, sizeof *out);
  if (!json || json_size == 0)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "model.json is empty");
  if (shard_count && (!shards || !shard_sizes))
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "%zu shards but no buffers",
                    shard_count);
  mvb_json j;
  mvb_status status = mvb_json_parse(json, json_size, "model.json", &j, err);
  if (status != MVB_OK) return status;
  status = parse_document(&j, shards, shard_sizes, shard_count, out, err);
  mvb_json_free(&j);
  return status;
}

static char *join_path(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  bool slash = a > 0 && dir[a - 1] != '/';
  char *p = malloc(a + slash + b + 1);
  if (!p) return NULL;
  memcpy(p, dir, a);
  if (slash) p[a] = '/';
  memcpy(p + a + slash, name, b + 1);
  return p;
}

/* Reads a whole file; what says which file it is in messages. */
static mvb_status read_file(const char *path, const char *what, uint8_t **data,
                            size_t *size, mvb_error *err) {
  mvb_status status = MVB_OK;
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return mvb_fail(err, MVB_ERR_IO, "cannot open %s \"%.300s\": %s", what,
                    path, strerror(errno));
  long length = -1;
  if (fseek(f, 0, SEEK_END) == 0) length = ftell(f);
  if (length < 0 || fseek(f, 0, SEEK_SET) != 0) {
    status = mvb_fail(err, MVB_ERR_IO, "cannot read %s \"%.300s\"", what, path);
    goto done;
  }
  *data = malloc(length ? (size_t)length : 1);
  if (!*data) {
    status = mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                      "out of memory reading %s \"%.300s\" (%ld bytes)", what,
                      path, length);
    goto done;
  }
  if (fread(*data, 1, (size_t)length, f) != (size_t)length || ferror(f)) {
    status = mvb_fail(err, MVB_ERR_IO, "cannot read %s \"%.300s\"", what, path);
    goto done;
  }
  *size = (size_t)length;
done:
  fclose(f);
  if (status != MVB_OK) {
    free(*data);
    *data = NULL;
  }
  return status;
}

/* Shard paths stay inside the model directory. */
static bool safe_relative_path(const char *p) {
  if (p[0] == '/' || p[0] == '\\' || !p[0]) return false;
  for (const char *s = p; *s;) {
    size_t n = strcspn(s, "/\\");
    if (n == 2 && s[0] == '.' && s[1] == '.') return false;
    s += n;
    if (*s) s++;
  }
  return true;
}

/* The manifest's shard paths, in order, as dir/path. */
static mvb_status shard_paths(const mvb_json *j, const char *dir, char ***paths,
                              size_t *n, mvb_error *err) {
  int manifest;
  size_t n_paths, n_weights;
  *paths = NULL;
  *n = 0;
  mvb_status status = read_manifest(j, &manifest, &n_paths, &n_weights, err);
  if (status != MVB_OK || n_paths == 0) return status;
  *paths = calloc(n_paths, sizeof **paths);
  if (!*paths) return out_of_memory(err, "the weightsManifest");
  *n = n_paths;
  size_t k = 0;
  int g = first_child(manifest);
  for (int group = 0; group < children(j, manifest);
       group++, g = next_sibling(j, g)) {
    int list = mvb_json_find(j, g, "paths");
    int p = first_child(list);
    for (int i = 0; i < children(j, list); i++, p = next_sibling(j, p), k++) {
      char *rel = NULL;
      status = take_string(j, p, "weightsManifest", "paths", &rel, err);
      if (status != MVB_OK) return status;
      if (!safe_relative_path(rel))
        status = bad_json(err, MVB_ERR_MODEL_FORMAT, j, p,
                          "weight group %d: shard path \"%.200s\" must be "
                          "relative and must not contain \"..\"",
                          group, rel);
      else if (!((*paths)[k] = join_path(dir, rel)))
        status = out_of_memory(err, "the weightsManifest");
      free(rel);
      if (status != MVB_OK) return status;
    }
  }
  return MVB_OK;
}

mvb_status mvb_model_file_read_dir(const char *dir, mvb_model_file *out,
                                   mvb_error *err) {
  char *json_path = NULL, **paths = NULL;
  uint8_t *text = NULL, **shards = NULL;
  size_t text_size = 0, n = 0, *sizes = NULL;
  mvb_json j = {0};
  mvb_status status;
  if (!out) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no output");
  memset(out, 0, sizeof *out);
  if (!dir || !dir[0])
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no model directory");
  if (!(json_path = join_path(dir, "model.json"))) {
    status = out_of_memory(err, dir);
    goto done;
  }
  status = read_file(json_path, "model file", &text, &text_size, err);
  if (status != MVB_OK) goto done;
  if (text_size == 0) {
    status =
        mvb_fail(err, MVB_ERR_MODEL_FORMAT, "\"%.300s\" is empty", json_path);
    goto done;
  }
  status = mvb_json_parse((const char *)text, text_size, json_path, &j, err);
  if (status == MVB_OK) status = shard_paths(&j, dir, &paths, &n, err);
  if (status != MVB_OK) goto done;
  shards = calloc(n ? n : 1, sizeof *shards);
  sizes = calloc(n ? n : 1, sizeof *sizes);
  if (!shards || !sizes) {
    status = out_of_memory(err, json_path);
    goto done;
  }
  for (size_t k = 0; k < n && status == MVB_OK; k++)
    status = read_file(paths[k], "weight shard", &shards[k], &sizes[k], err);
  if (status == MVB_OK)
    status =
        parse_document(&j, (const uint8_t *const *)shards, sizes, n, out, err);
done:
  for (size_t k = 0; k < n; k++) {
    if (shards) free(shards[k]);
    if (paths) free(paths[k]);
  }
  free(shards);
  free(sizes);
  free(paths);
  mvb_json_free(&j);
  free(text);
  free(json_path);
  return status;
}

/* ---- lookups and cleanup ------------------------------------------ */

const mvb_node *mvb_model_file_node(const mvb_model_file *file,
                                    const char *name) {
  for (size_t k = 0; k < file->n_nodes; k++)
    if (file->nodes[k].name && !strcmp(file->nodes[k].name, name))
      return &file->nodes[k];
  return NULL;
}

const mvb_const *mvb_model_file_const(const mvb_model_file *file,
                                      const char *name) {
  for (size_t k = 0; k < file->n_consts; k++)
    if (file->consts[k].name && !strcmp(file->consts[k].name, name))
      return &file->consts[k];
  return NULL;
}

const mvb_attr *mvb_node_attr(const mvb_node *node, const char *name) {
  for (size_t k = 0; k < node->n_attrs; k++)
    if (node->attrs[k].name && !strcmp(node->attrs[k].name, name))
      return &node->attrs[k];
  return NULL;
}

void mvb_const_release(mvb_const *c) {
  free(c->f32);
  free(c->i32);
  c->f32 = NULL;
  c->i32 = NULL;
}

static void free_node(mvb_node *node) {
  for (size_t k = 0; k < node->n_inputs; k++) free(node->inputs[k].node);
  for (size_t k = 0; k < node->n_attrs; k++) {
    mvb_attr *a = &node->attrs[k];
    for (size_t s = 0; s < a->n_strs; s++) free(a->strs[s]);
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    free(a->strs);
  }
  free(node->name);
  free(node->op);
  free(node->inputs);
  free(node->attrs);
}

void mvb_model_file_free(mvb_model_file *file) {
  if (!file) return;
  for (size_t k = 0; k < file->n_nodes; k++) free_node(&file->nodes[k]);
  for (size_t k = 0; k < file->n_consts; k++) {
    mvb_const_release(&file->consts[k]);
    free(file->consts[k].name);
  }
  free(file->nodes);
  free(file->consts);
  free(file->input_node);
  free(file->output_node);
  memset(file, 0, sizeof *file);
}
