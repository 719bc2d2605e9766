/* model_nodes.c: modelTopology.node -> mvb_node list: names, ops, inputs and
 * attributes (attribute strings are base64 in the format). */
#include "model_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* {"dim": [{"size": "-1"}, ...]} -> dims; a missing size is 0 (protobuf's
 * JSON mapping drops zeros). *unknown is set for {"unknownRank": true}. */
mvb_status mvb_read_shape(const mvb_json *j, int tok, const char *ctx,
                          int64_t **dims, size_t *n, bool *unknown,
                          mvb_error *err) {
  *dims = NULL;
  *n = 0;
  *unknown = false;
  if (!mvb_json_is(j, tok, MVB_JSON_OBJECT))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
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
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, dim,
                        "%s: \"dim\" must be an array", ctx);
  int count = mvb_json_children(j, dim);
  if (count == 0) return MVB_OK;
  *dims = malloc((size_t)count * sizeof **dims);
  if (!*dims) return mvb_out_of_memory(err, ctx);
  int c = mvb_json_first(dim);
  for (int k = 0; k < count; k++, c = mvb_json_next(j, c)) {
    int size = mvb_json_find(j, c, "size");
    int64_t v = 0;
    if (!mvb_json_is(j, c, MVB_JSON_OBJECT) ||
        (size >= 0 && !mvb_json_int64(j, size, &v)) || v < -1) {
      free(*dims);
      *dims = NULL;
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                          "%s: dimension %d must be {\"size\": integer >= -1}",
                          ctx, k);
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
  int count = mvb_json_children(j, arr);
  bool is_i = mvb_json_streq(j, key, "i"), is_b = mvb_json_streq(j, key, "b");
  bool is_f = mvb_json_streq(j, key, "f"), is_s = mvb_json_streq(j, key, "s");
  bool is_type = mvb_json_streq(j, key, "type");
  if (!mvb_json_is(j, arr, MVB_JSON_ARRAY))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, arr,
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
  if (!a->ints && !a->floats && !a->strs) return mvb_out_of_memory(err, ctx);
  int c = mvb_json_first(arr);
  for (int k = 0; k < count; k++, c = mvb_json_next(j, c)) {
    if (is_i || is_b) {
      bool b = false;
      if (is_i && !mvb_json_int64(j, c, &a->ints[k]))
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                            "%s: list element %d must be an integer", ctx, k);
      if (is_b && !mvb_json_bool(j, c, &b))
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                            "%s: list element %d must be true or false", ctx,
                            k);
      if (is_b) a->ints[k] = b;
      a->n_ints = (size_t)k + 1;
    } else if (is_f) {
      double v;
      if (!mvb_json_double(j, c, &v))
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                            "%s: list element %d must be a number", ctx, k);
      a->floats[k] = (float)v;
      a->n_floats = (size_t)k + 1;
    } else {
      char *raw = NULL;
      mvb_status status = mvb_take_string(j, c, ctx, "list element", &raw, err);
      if (status != MVB_OK) return status;
      if (is_type) {
        a->strs[k] = raw;
      } else {
        status = base64_decode(raw, &a->strs[k]);
        free(raw);
        if (status == MVB_ERR_OUT_OF_MEMORY) return mvb_out_of_memory(err, ctx);
        if (status != MVB_OK)
          return mvb_bad_json(err, status, j, c,
                              "%s: list element %d is not valid base64", ctx,
                              k);
      }
      a->n_strs = (size_t)k + 1;
    }
  }
  return MVB_OK;
repeated:
  return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                      "%s: list has two members of the same kind", ctx);
}

/* "name": {"i": "3"} and the other forms of mvb_attr_kind. */
static mvb_status read_attr(const mvb_json *j, int key, const char *node_ctx,
                            mvb_attr *a, mvb_error *err) {
  char ctx[400];
  int value = key + 1;
  mvb_status status =
      mvb_take_string(j, key, node_ctx, "attr name", &a->name, err);
  if (status != MVB_OK) return status;
  snprintf(ctx, sizeof ctx, "%.250s: attr \"%.100s\"", node_ctx, a->name);
  a->kind = MVB_ATTR_OTHER;
  if (!mvb_json_is(j, value, MVB_JSON_OBJECT))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, value,
                        "%s must be an object", ctx);
  if (mvb_json_children(j, value) == 0) return MVB_OK;
  /* An AttrValue holds one member (a protobuf oneof). */
  int k = mvb_json_first(value), v = k + 1;
  bool b = false;
  double f = 0;
  if (mvb_json_streq(j, k, "i")) {
    a->kind = MVB_ATTR_I;
    if (!mvb_json_int64(j, v, &a->i))
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                          "%s: \"i\" must be an integer", ctx);
  } else if (mvb_json_streq(j, k, "f")) {
    a->kind = MVB_ATTR_F;
    if (!mvb_json_double(j, v, &f))
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                          "%s: \"f\" must be a number", ctx);
    a->f = (float)f;
  } else if (mvb_json_streq(j, k, "b")) {
    a->kind = MVB_ATTR_B;
    if (!mvb_json_bool(j, v, &b))
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                          "%s: \"b\" must be true or false", ctx);
    a->i = b;
  } else if (mvb_json_streq(j, k, "s")) {
    char *raw = NULL;
    a->kind = MVB_ATTR_S;
    if ((status = mvb_take_string(j, v, ctx, "s", &raw, err)) != MVB_OK)
      return status;
    status = base64_decode(raw, &a->s);
    free(raw);
    if (status == MVB_ERR_OUT_OF_MEMORY) return mvb_out_of_memory(err, ctx);
    if (status != MVB_OK)
      return mvb_bad_json(err, status, j, v, "%s: \"s\" is not valid base64",
                          ctx);
  } else if (mvb_json_streq(j, k, "type")) {
    a->kind = MVB_ATTR_TYPE;
    return mvb_take_string(j, v, ctx, "type", &a->s, err);
  } else if (mvb_json_streq(j, k, "list")) {
    a->kind = MVB_ATTR_LIST;
    if (!mvb_json_is(j, v, MVB_JSON_OBJECT))
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                          "%s: \"list\" must be an object", ctx);
    int m = mvb_json_first(v);
    for (int n = 0; n < mvb_json_children(j, v); n++, m = mvb_json_next(j, m))
      if ((status = read_list_member(j, m, m + 1, ctx, a, err)) != MVB_OK)
        return status;
  } else if (mvb_json_streq(j, k, "shape")) {
    bool unknown = false;
    a->kind = MVB_ATTR_SHAPE;
    status = mvb_read_shape(j, v, ctx, &a->ints, &a->n_ints, &unknown, err);
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
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "%s must be an object", ctx);
  status = mvb_take_string(j, mvb_json_find(j, tok, "name"), ctx, "name",
                           &node->name, err);
  if (status != MVB_OK) return status;
  if (!node->name[0])
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "%s has an empty name", ctx);
  snprintf(ctx, sizeof ctx, "node %d \"%.200s\"", index, node->name);
  status = mvb_take_string(j, mvb_json_find(j, tok, "op"), ctx, "op", &node->op,
                           err);
  if (status != MVB_OK) return status;

  int inputs = mvb_json_find(j, tok, "input");
  if (inputs >= 0) {
    if ((status = mvb_expect(j, inputs, MVB_JSON_ARRAY, ctx, "input", err)))
      return status;
    int count = mvb_json_children(j, inputs);
    node->inputs = calloc(count ? (size_t)count : 1, sizeof *node->inputs);
    if (!node->inputs) return mvb_out_of_memory(err, ctx);
    int c = mvb_json_first(inputs);
    for (int k = 0; k < count; k++, c = mvb_json_next(j, c)) {
      char *s = NULL;
      if ((status = mvb_take_string(j, c, ctx, "input", &s, err)) != MVB_OK)
        return status;
      if (s[0] != '^') { /* "^name" only orders execution: no data */
        mvb_input *in = &node->inputs[node->n_inputs];
        status =
            mvb_split_tensor_name(j, c, s, ctx, &in->node, &in->output, err);
        if (status == MVB_OK) node->n_inputs++;
      }
      free(s);
      if (status != MVB_OK) return status;
    }
  }

  int attrs = mvb_json_find(j, tok, "attr");
  if (attrs >= 0) {
    if ((status = mvb_expect(j, attrs, MVB_JSON_OBJECT, ctx, "attr", err)))
      return status;
    int count = mvb_json_children(j, attrs);
    node->attrs = calloc(count ? (size_t)count : 1, sizeof *node->attrs);
    if (!node->attrs) return mvb_out_of_memory(err, ctx);
    int c = mvb_json_first(attrs);
    for (int k = 0; k < count; k++, c = mvb_json_next(j, c)) {
      node->n_attrs = (size_t)k + 1; /* so that a failure frees this one */
      if ((status = read_attr(j, c, ctx, &node->attrs[k], err)) != MVB_OK)
        return status;
    }
  }
  return MVB_OK;
}

mvb_status mvb_read_nodes(const mvb_json *j, mvb_model_file *out,
                          mvb_error *err) {
  int topology = mvb_json_find(j, 0, "modelTopology");
  mvb_status status = mvb_expect(j, topology, MVB_JSON_OBJECT, "the document",
                                 "modelTopology", err);
  if (status != MVB_OK) return status;
  int nodes = mvb_json_find(j, topology, "node");
  if ((status =
           mvb_expect(j, nodes, MVB_JSON_ARRAY, "modelTopology", "node", err)))
    return status;
  size_t count = (size_t)mvb_json_children(j, nodes);
  if (count == 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, nodes,
                        "modelTopology.node is empty");
  if (count > MVB_MAX_NODES)
    return mvb_bad_json(err, MVB_ERR_UNSUPPORTED, j, nodes,
                        "modelTopology.node has %zu nodes; at most %d are "
                        "supported",
                        count, MVB_MAX_NODES);
  out->nodes = calloc(count, sizeof *out->nodes);
  if (!out->nodes) return mvb_out_of_memory(err, "model.json nodes");
  out->n_nodes = count;
  int c = mvb_json_first(nodes);
  for (size_t k = 0; k < count; k++, c = mvb_json_next(j, c))
    if ((status = read_node(j, c, (int)k, &out->nodes[k], err)) != MVB_OK)
      return status;

  /* The graph builder looks every input up by name. */
  const char **names = malloc(count * sizeof *names);
  if (!names) return mvb_out_of_memory(err, "model.json nodes");
  for (size_t k = 0; k < count; k++) names[k] = out->nodes[k].name;
  status = mvb_name_index_build(&out->node_index, names, count, "nodes", err);
  free(names);
  return status;
}
