/* model_file.c: model.json + weight shards -> mvb_model_file: the entry
 * points (from memory, from a directory), lookups and cleanup. Each part of
 * the document has its own file: model_nodes.c, model_signature.c,
 * model_mvb.c, model_weights.c (shared helpers: model_parse.c). */
#include "model_file.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "file_io.h"
#include "json.h"
#include "model_parse.h"

static mvb_status parse_document(const mvb_json *j,
                                 const uint8_t *const *shards,
                                 const size_t *shard_sizes, size_t shard_count,
                                 bool in_place, mvb_model_file *out,
                                 mvb_error *err) {
  mvb_status status;
  if (!mvb_json_is(j, 0, MVB_JSON_OBJECT))
    status = mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, 0,
                          "the document must be a JSON object");
  else if ((status = mvb_read_nodes(j, out, err)) == MVB_OK &&
           (status = mvb_read_signature(j, out, err)) == MVB_OK &&
           (status = mvb_read_mvb_key(j, out, err)) == MVB_OK)
    status = mvb_read_weights(j, shards, shard_sizes, shard_count, in_place,
                              out, err);
  if (status != MVB_OK) mvb_model_file_free(out);
  return status;
}

/* Checks the arguments, clears out and parses the JSON text into j (which
 * the caller frees when this succeeds). */
static mvb_status open_document(const char *json, size_t json_size,
                                bool have_shards, size_t shard_count,
                                mvb_model_file *out, mvb_json *j,
                                mvb_error *err) {
  if (!out) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no output");
  memset(out, 0, sizeof *out);
  if (!json || json_size == 0)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "model.json is empty");
  if (shard_count && !have_shards)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "%zu shards but no buffers",
                    shard_count);
  return mvb_json_parse(json, json_size, "model.json", j, err);
}

mvb_status mvb_model_file_parse(const char *json, size_t json_size,
                                const uint8_t *const *shards,
                                const size_t *shard_sizes, size_t shard_count,
                                mvb_model_file *out, mvb_error *err) {
  mvb_json j;
  mvb_status status = open_document(json, json_size, shards && shard_sizes,
                                    shard_count, out, &j, err);
  if (status != MVB_OK) return status;
  status = parse_document(&j, shards, shard_sizes, shard_count,
                          /*in_place=*/false, out, err);
  mvb_json_free(&j);
  return status;
}

/* Where each shard starts in a block holding them back to back (NULL for
 * a NULL block); NULL if out of memory. */
static const uint8_t **block_views(const uint8_t *block, const size_t *sizes,
                                   size_t count) {
  /* One spare element: malloc(0) may return NULL. */
  const uint8_t **views = malloc((count + 1) * sizeof *views);
  for (size_t k = 0, at = 0; views && k < count; k++) {
    views[k] = block ? block + at : NULL;
    at += sizes ? sizes[k] : 0;
  }
  return views;
}

/* Parses j with its shards back to back in block, which out takes over:
 * its uint8 weights are read where they lie, and out keeps the block while
 * any does; else (and after a failure) the block goes at once. */
static mvb_status parse_block(const mvb_json *j, uint8_t *block,
                              const size_t *sizes, size_t count,
                              mvb_model_file *out, mvb_error *err) {
  const uint8_t **views = block_views(block, sizes, count);
  mvb_status status = views ? parse_document(j, views, sizes, count,
                                             block != NULL, out, err)
                            : mvb_out_of_memory(err, "the shard list");
  free(views);
  if (status != MVB_OK) {
    free(block);
    return status;
  }
  out->weights = block;
  bool read_in_place = false;
  for (size_t k = 0; k < out->n_consts; k++)
    read_in_place |= out->consts[k].u8_in_weights;
  if (!read_in_place) mvb_model_file_drop_weights(out);
  return status;
}

mvb_status mvb_model_file_parse_weights_owned(const char *json, size_t json_size,
                                              uint8_t *weights,
                                              const size_t *shard_sizes,
                                              size_t shard_count,
                                              mvb_model_file *out,
                                              mvb_error *err) {
  mvb_json j;
  mvb_status status = open_document(json, json_size, shard_sizes != NULL,
                                    shard_count, out, &j, err);
  if (status != MVB_OK) {
    free(weights);
    return status;
  }
  status = parse_block(&j, weights, shard_sizes, shard_count, out, err);
  mvb_json_free(&j);
  return status;
}

void mvb_model_file_drop_weights(mvb_model_file *file) {
  if (!file->weights) return;
  for (size_t k = 0; k < file->n_consts; k++)
    if (file->consts[k].u8_in_weights) mvb_const_drop_u8(&file->consts[k]);
  free(file->weights);
  file->weights = NULL;
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
  mvb_status status =
      mvb_read_manifest(j, &manifest, &n_paths, &n_weights, err);
  if (status != MVB_OK || n_paths == 0) return status;
  *paths = calloc(n_paths, sizeof **paths);
  if (!*paths) return mvb_out_of_memory(err, "the weightsManifest");
  *n = n_paths;
  size_t k = 0;
  int g = mvb_json_first(manifest);
  for (int group = 0; group < mvb_json_children(j, manifest);
       group++, g = mvb_json_next(j, g)) {
    int list = mvb_json_find(j, g, "paths");
    int p = mvb_json_first(list);
    for (int i = 0; i < mvb_json_children(j, list);
         i++, p = mvb_json_next(j, p), k++) {
      char *rel = NULL;
      status = mvb_take_string(j, p, "weightsManifest", "paths", &rel, err);
      if (status != MVB_OK) return status;
      if (!safe_relative_path(rel))
        status = mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, p,
                              "weight group %d: shard path \"%.200s\" must be "
                              "relative and must not contain \"..\"",
                              group, rel);
      else if (!((*paths)[k] = mvb_join_path(dir, rel)))
        status = mvb_out_of_memory(err, "the weightsManifest");
      free(rel);
      if (status != MVB_OK) return status;
    }
  }
  return MVB_OK;
}

/* The shards into one new block, back to back, each freed once copied. */
static mvb_status concatenate(uint8_t **shards, const size_t *sizes, size_t n,
                              uint8_t **block, mvb_error *err) {
  size_t total = 0;
  for (size_t k = 0; k < n; k++) {
    if (sizes[k] > SIZE_MAX - total)
      return mvb_fail(err, MVB_ERR_MODEL_FORMAT, "the shards' sizes overflow");
    total += sizes[k];
  }
  /* One spare byte: malloc(0) may return NULL. */
  if (!(*block = malloc(total + 1)))
    return mvb_out_of_memory(err, "the weight shards");
  for (size_t k = 0, at = 0; k < n; at += sizes[k], k++) {
    if (sizes[k]) memcpy(*block + at, shards[k], sizes[k]);
    free(shards[k]);
    shards[k] = NULL;
  }
  return MVB_OK;
}

mvb_status mvb_model_file_read_dir(const char *dir, mvb_model_file *out,
                                   mvb_error *err) {
  char *json_path = NULL, **paths = NULL;
  uint8_t *text = NULL, **shards = NULL, *block = NULL;
  size_t text_size = 0, n = 0, *sizes = NULL;
  mvb_json j = {0};
  mvb_status status;
  if (!out) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no output");
  memset(out, 0, sizeof *out);
  if (!dir || !dir[0])
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no model directory");
  if (!(json_path = mvb_join_path(dir, "model.json"))) {
    status = mvb_out_of_memory(err, dir);
    goto done;
  }
  status = mvb_read_file(json_path, "model file", MVB_MAX_MODEL_JSON_BYTES,
                         &text, &text_size, err);
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
    status = mvb_out_of_memory(err, json_path);
    goto done;
  }
  /* Sizes before bytes: shards the weights do not need (one file listed many
   * times, say) are refused before any is read. */
  for (size_t k = 0; k < n && status == MVB_OK; k++)
    status = mvb_file_size(paths[k], "weight shard", MVB_MAX_SHARD_BYTES,
                           &sizes[k], err);
  if (status == MVB_OK) status = mvb_check_shard_sizes(&j, sizes, n, err);
  /* No more than was checked: a shard that has grown since is refused. */
  for (size_t k = 0; k < n && status == MVB_OK; k++)
    status = mvb_read_file(paths[k], "weight shard", sizes[k], &shards[k],
                           &sizes[k], err);
  /* Back to back in one block, read in place, as a browser loads them. */
  if (status == MVB_OK) status = concatenate(shards, sizes, n, &block, err);
  if (status == MVB_OK) {
    status = parse_block(&j, block, sizes, n, out, err);
    block = NULL;
  }
done:
  for (size_t k = 0; k < n; k++) {
    if (shards) free(shards[k]);
    if (paths) free(paths[k]);
  }
  free(shards);
  free(block);
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
  long k = mvb_name_index_find(&file->node_index, name);
  return k < 0 ? NULL : &file->nodes[k];
}

const mvb_const *mvb_model_file_const(const mvb_model_file *file,
                                      const char *name) {
  long k = mvb_name_index_find(&file->const_index, name);
  return k < 0 ? NULL : &file->consts[k];
}

const mvb_attr *mvb_node_attr(const mvb_node *node, const char *name) {
  for (size_t k = 0; k < node->n_attrs; k++)
    if (node->attrs[k].name && !strcmp(node->attrs[k].name, name))
      return &node->attrs[k];
  return NULL;
}

void mvb_const_drop_u8(mvb_const *c) {
  if (!c->u8_in_weights) free(c->u8);
  c->u8 = NULL;
  c->u8_in_weights = false;
}

void mvb_const_release(mvb_const *c) {
  free(c->f32);
  free(c->i32);
  mvb_const_drop_u8(c);
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
  for (size_t k = 0; k < file->n_digests; k++) free(file->digests[k].path);
  mvb_name_index_free(&file->node_index);
  mvb_name_index_free(&file->const_index);
  mvb_name_index_free(&file->digest_index);
  free(file->nodes);
  free(file->consts);
  free(file->digests);
  free(file->weights);
  free(file->input_node);
  for (size_t k = 0; k < file->n_outputs; k++) {
    free(file->outputs[k].name);
    free(file->outputs[k].node);
  }
  memset(file, 0, sizeof *file);
}
