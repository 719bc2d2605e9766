/* model_signature.c: the signature: which node is the input (and its shape)
 * and which are the outputs. */
#include "model_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The names of a signature map's entries, quoted, for a message. */
static void entry_names(const mvb_json *j, int map, char *names, size_t size) {
  size_t used = 0;
  names[0] = '\0';
  int c = mvb_json_first(map);
  for (int k = 0; k < mvb_json_children(j, map) && used < size - 1;
       k++, c = mvb_json_next(j, c)) {
    const mvb_json_token *t = &j->tokens[c];
    int n = snprintf(names + used, size - used, "%s\"%.*s\"", k ? ", " : "",
                     t->end - t->start, j->text + t->start);
    used = n < 0 ? used : used + (size_t)n;
  }
}

/* One entry of signature.inputs or .outputs (key at tok): its tensor name
 * and, when shape is not NULL, its shape. */
static mvb_status read_entry(const mvb_json *j, int key, const char *ctx,
                             char **tensor, char **node, int *index,
                             int64_t *shape, int *rank, mvb_error *err) {
  int entry = key + 1;
  if (!mvb_json_is(j, entry, MVB_JSON_OBJECT))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, entry,
                        "%s entries must be objects", ctx);
  int name_tok = mvb_json_find(j, entry, "name");
  if (name_tok < 0) name_tok = key;
  char *name = NULL;
  mvb_status status = mvb_take_string(j, name_tok, ctx, "name", &name, err);
  if (status != MVB_OK) return status;
  status = mvb_split_tensor_name(j, name_tok, name, ctx, node, index, err);
  if (tensor && status == MVB_OK)
    *tensor = name;
  else
    free(name);
  if (status != MVB_OK || !shape) return status;

  int tshape = mvb_json_find(j, entry, "tensorShape");
  int64_t *dims = NULL;
  size_t n = 0;
  bool unknown = false;
  *rank = 0; /* unknown: mvb_model_file_parse falls back on the Placeholder */
  if (tshape < 0) return MVB_OK;
  status = mvb_read_shape(j, tshape, ctx, &dims, &n, &unknown, err);
  if (status == MVB_OK && n > MVB_MAX_RANK)
    status = mvb_bad_json(err, MVB_ERR_UNSUPPORTED, j, tshape,
                          "%s: rank %zu is more than %d", ctx, n, MVB_MAX_RANK);
  if (status == MVB_OK && !unknown) {
    for (size_t k = 0; k < n; k++) shape[k] = dims[k];
    *rank = (int)n;
  }
  free(dims);
  return status;
}

/* signature.inputs or .outputs: an object of 1..max entries. */
static mvb_status entries(const mvb_json *j, int sig, const char *field,
                          int max, int *map, mvb_error *err) {
  *map = mvb_json_find(j, sig, field);
  mvb_status status =
      mvb_expect(j, *map, MVB_JSON_OBJECT, "signature", field, err);
  if (status != MVB_OK) return status;
  int count = mvb_json_children(j, *map);
  if (count == 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, *map,
                        "signature.%s is empty", field);
  if (count > max) {
    char names[300];
    entry_names(j, *map, names, sizeof names);
    return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                    "model.json: the model has %d %s (%s); at most %d "
                    "supported",
                    count, field, names, max);
  }
  return MVB_OK;
}

static mvb_status read_outputs(const mvb_json *j, int sig, mvb_model_file *out,
                               mvb_error *err) {
  int map;
  mvb_status status = entries(j, sig, "outputs", MVB_MAX_OUTPUTS, &map, err);
  int key = mvb_json_first(map);
  for (int k = 0; status == MVB_OK && k < mvb_json_children(j, map);
       k++, key = mvb_json_next(j, key)) {
    mvb_output_ref *o = &out->outputs[out->n_outputs];
    status = read_entry(j, key, "signature.outputs", &o->name, &o->node,
                        &o->index, NULL, NULL, err);
    if (status == MVB_OK) out->n_outputs++;
  }
  if (status != MVB_OK) return status;
  const char *names[MVB_MAX_OUTPUTS];
  for (size_t k = 0; k < out->n_outputs; k++) names[k] = out->outputs[k].name;
  return mvb_check_unique(names, out->n_outputs, "signature outputs", err);
}

mvb_status mvb_read_signature(const mvb_json *j, mvb_model_file *out,
                              mvb_error *err) {
  int sig = mvb_json_find(j, 0, "signature");
  mvb_status status =
      mvb_expect(j, sig, MVB_JSON_OBJECT, "the document", "signature", err);
  if (status != MVB_OK) return status;
  int index = 0, inputs;
  if ((status = entries(j, sig, "inputs", 1, &inputs, err))) return status;
  status = read_entry(j, mvb_json_first(inputs), "signature.inputs", NULL,
                      &out->input_node, &index, out->input_shape,
                      &out->input_rank, err);
  if (status != MVB_OK) return status;
  if (index != 0)
    return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                    "model.json: the signature input is output %d of node "
                    "\"%.300s\"; only a node's output 0 can be an input",
                    index, out->input_node);
  if ((status = read_outputs(j, sig, out, err))) return status;

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
