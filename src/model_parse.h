/* model_parse.h: the parts of the model.json reader, one file each, and what
 * they share (internal to model_file.c's family). Every reader fills its
 * part of an mvb_model_file and, on failure, names the place in model.json.
 *
 *     model_nodes.c      modelTopology.node    -> nodes and attributes
 *     model_signature.c  signature             -> input node and shape, outputs
 *     model_mvb.c        "mvb" (ours)          -> preprocessing, verdict rules
 *     model_weights.c    weightsManifest       -> dequantized constants
 *
 * Knows nothing of XNNPACK, files or images. */
#ifndef MVB_MODEL_PARSE_H
#define MVB_MODEL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "json.h"
#include "model_file.h"

/* ---- the parts, in the order model_file.c calls them ---- */
mvb_status mvb_read_nodes(const mvb_json *j, mvb_model_file *out,
                          mvb_error *err);
mvb_status mvb_read_signature(const mvb_json *j, mvb_model_file *out,
                              mvb_error *err);
mvb_status mvb_read_mvb_key(const mvb_json *j, mvb_model_file *out,
                            mvb_error *err);
/* in_place: a uint8 weight whose bytes are contiguous in memory points
 * into the shards (u8_in_weights) instead of being copied. */
mvb_status mvb_read_weights(const mvb_json *j, const uint8_t *const *shards,
                            const size_t *shard_sizes, size_t shard_count,
                            bool in_place, mvb_model_file *out, mvb_error *err);
/* mvb_read_weights' size check alone, from the shards' sizes (one per
 * manifest path, in order) without their bytes: a loader that reads files
 * refuses wrong sizes before it reads or allocates any. Same messages. */
mvb_status mvb_check_shard_sizes(const mvb_json *j, const size_t *shard_sizes,
                                 size_t shard_count, mvb_error *err);
/* The weightsManifest, checked for shape: groups with "paths" and "weights"
 * arrays. Missing (*manifest = -1) means no weights. */
mvb_status mvb_read_manifest(const mvb_json *j, int *manifest, size_t *n_paths,
                             size_t *n_weights, mvb_error *err);

/* ---- shared helpers ---- */

/* {"dim": [{"size": "-1"}, ...]} -> dims (malloc'd); a missing size is 0
 * (protobuf's JSON mapping drops zeros). *unknown is set for
 * {"unknownRank": true}. */
mvb_status mvb_read_shape(const mvb_json *j, int tok, const char *ctx,
                          int64_t **dims, size_t *n, bool *unknown,
                          mvb_error *err);

/* A problem in model.json at token tok (-1: no position to give). */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
mvb_status
mvb_bad_json(mvb_error *err, mvb_status status, const mvb_json *j, int tok,
             const char *format, ...);
mvb_status mvb_out_of_memory(mvb_error *err, const char *what);

/* Decodes the string at tok into *out; ctx and field name it in messages. */
mvb_status mvb_take_string(const mvb_json *j, int tok, const char *ctx,
                           const char *field, char **out, mvb_error *err);

/* The array or object at tok, or a message saying it is missing/wrong. */
mvb_status mvb_expect(const mvb_json *j, int tok, mvb_json_type type,
                      const char *ctx, const char *field, mvb_error *err);

/* "name" -> (name, 0); "name:2" -> (name, 2). */
mvb_status mvb_split_tensor_name(const mvb_json *j, int tok, const char *s,
                                 const char *ctx, char **node, int *index,
                                 mvb_error *err);

/* Finds a repeated name among n names (sorts names: n log n). */
mvb_status mvb_check_unique(const char **names, size_t n, const char *what,
                            mvb_error *err);

char *mvb_dup_range(const char *s, size_t n); /* NULL if out of memory */

#endif
