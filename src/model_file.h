/* model_file.h: a TensorFlow.js graph model (model.json + weight shards) as an
 * in-memory graph description. Parses the JSON, checks every shard's byte
 * count against the weightsManifest and reads the weights (uint8 ones are
 * dequantized on first use, see mvb_const). Knows
 * nothing of XNNPACK (internal).
 *
 * model.json may carry our own top-level key, which TensorFlow.js ignores:
 *   "mvb": {"preprocess": {"size": [H, W], "resize": "bilinear-antialias",
 *                          "mean": [r, g, b], "std": [r, g, b]}}
 * Without it (e.g. the original system's model.json) the defaults are the
 * signature's input H x W, "bilinear-antialias", mean 0.5 and std 0.5 per
 * channel (pixels scaled to [-1, 1], as InceptionV3 expects). Unknown keys
 * inside "preprocess" are errors (a typo must not silently change the
 * tensor). The verdict's rules, also under "mvb" (model_mvb.c documents
 * them), name which output holds which class and the thresholds; without
 * them the first output is one value, P(mountain), judged 0.35 / 0.65.
 * Other keys under "mvb" (labels, temperature) are informational.
 *
 * A graph whose input is not an (N, H, W, C) image still loads, with
 * preprocess.height and width 0: it can be run on raw tensors but not
 * classify photos. The signature is required; without a tensorShape the
 * input shape comes from the Placeholder's "shape" attribute.
 */
#ifndef MVB_MODEL_FILE_H
#define MVB_MODEL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "image.h"
#include "mvb.h"
#include "name_index.h"
#include "sha256.h"

#define MVB_MAX_OUTPUTS 8 /* signature outputs a model may have */
/* Nodes a graph may have: InceptionV3 has about 800, so this leaves two
 * orders of magnitude for larger photo models while keeping a hostile
 * graph's load time and memory bounded. */
#define MVB_MAX_NODES 100000

typedef enum mvb_dtype { MVB_DTYPE_F32 = 0, MVB_DTYPE_I32 = 1 } mvb_dtype;

/* A weight named in the weightsManifest. A float weight stored as uint8
 * (nearly every byte of a converted model) keeps its bytes until its first
 * reader calls mvb_const_dequantize: a loader then holds one tensor's
 * floats at a time, not the whole model's (4x the download). */
typedef struct mvb_const {
  char *name;
  mvb_dtype dtype;
  int rank;
  int64_t shape[MVB_MAX_RANK];
  size_t count; /* product of shape (1 for a scalar) */
  float *f32; /* (count) when dtype is F32 and dequantized, else NULL; owned */
  int32_t *i32; /* (count) when dtype is I32, else NULL; owned */
  uint8_t *u8;  /* (count) uint8 bytes until dequantized, else NULL; owned
                   unless u8_in_weights */
  bool u8_in_weights; /* u8 lies in the file's weights block, read in place */
  double u8_min, u8_scale; /* their value = u8_min + u8_scale * byte */
} mvb_const;

typedef enum mvb_attr_kind {
  MVB_ATTR_I,     /* {"i": "3"} */
  MVB_ATTR_F,     /* {"f": 0.5} */
  MVB_ATTR_B,     /* {"b": true} */
  MVB_ATTR_S,     /* {"s": base64}, decoded */
  MVB_ATTR_TYPE,  /* {"type": "DT_FLOAT"} */
  MVB_ATTR_LIST,  /* {"list": {"i": [...]}} or {"list": {"s": [...]}} or
                     {"list": {"f": [...]}} or {"list": {}} */
  MVB_ATTR_SHAPE, /* {"shape": {"dim": [{"size": "-1"}, ...]}} */
  MVB_ATTR_OTHER, /* e.g. {"tensor": ...}: kept by name only */
} mvb_attr_kind;

typedef struct mvb_attr {
  char *name;
  mvb_attr_kind kind;
  int64_t i;     /* I; B as 0/1 */
  float f;       /* F */
  char *s;       /* S (decoded, NUL-terminated) or TYPE ("DT_FLOAT") */
  int64_t *ints; /* LIST of i, or SHAPE dims (-1 = unknown) */
  size_t n_ints;
  float *floats; /* LIST of f */
  size_t n_floats;
  char **strs; /* LIST of s, decoded */
  size_t n_strs;
} mvb_attr;

/* One input of a node: "name", "name:1" (output 1), never "^control"
 * (control inputs are dropped while parsing). */
typedef struct mvb_input {
  char *node;
  int output;
} mvb_input;

typedef struct mvb_node {
  char *name;
  char *op;
  mvb_input *inputs;
  size_t n_inputs;
  mvb_attr *attrs;
  size_t n_attrs;
} mvb_node;

/* One signature output: the tensor a caller reads, and what "mvb".outputs
 * says it holds. */
typedef struct mvb_output_ref {
  char *name; /* as the signature writes it, e.g. "Identity:0" */
  char *node; /* the node ("Identity") */
  int index;  /* the ":N" of name */
  mvb_output_kind kind;
  int n_classes;   /* probabilities / heatmap: values per cell */
  int class_at[3]; /* position (channel) -> mvb_class */
  int grid[2];     /* heatmap: (rows, columns) */
} mvb_output_ref;

/* How outputs become a verdict ("mvb".outputs and "mvb".verdict). */
typedef struct mvb_rules {
  /* Index into outputs of the class probabilities, or -1: the first output
   * is one value, P(mountain) (the original system's sigmoid). */
  int probabilities;
  float mountain_above; /* score > this: mountain */
  float beach_below;    /* score < this: beach */
  float neither_above;  /* P(neither) > this: neither */
  float unsure_above;   /* P(neither) > this (and not neither): not sure */
} mvb_rules;

/* "mvb".shards: the digest a weight shard must have (model_mvb.c). */
typedef struct mvb_shard_digest {
  char *path; /* as the weightsManifest writes it; owned */
  uint8_t sha256[MVB_SHA256_BYTES];
} mvb_shard_digest;

typedef struct mvb_model_file {
  mvb_node *nodes; /* (n_nodes) in model.json order */
  size_t n_nodes;
  mvb_name_index node_index; /* node name -> position in nodes */
  mvb_const *consts;         /* (n_consts) in manifest order */
  size_t n_consts;
  mvb_name_index const_index; /* weight name -> position in consts */
  mvb_shard_digest *digests;  /* (n_digests) in "mvb".shards order */
  size_t n_digests;
  mvb_name_index digest_index; /* shard path -> position in digests */
  char *input_node; /* signature input, e.g. "input_1" (":0" removed) */
  int64_t input_shape[MVB_MAX_RANK]; /* from the signature; -1 = batch */
  int input_rank;
  mvb_output_ref outputs[MVB_MAX_OUTPUTS]; /* signature order */
  size_t n_outputs;
  mvb_preprocess preprocess;
  mvb_rules rules;
  mvb_precision precision; /* "mvb".precision: F32 (the default) or INT8 */
  /* The shards back to back, when the loader handed them over
   * (mvb_model_file_parse_weights_owned): uint8 weights are read where
   * they lie (u8_in_weights) until mvb_model_file_drop_weights. Owned. */
  uint8_t *weights;
} mvb_model_file;

/* Parses model.json text plus its shards (in manifest order: groups in
 * order, paths in order). Shard buffers are only read during the call.
 * A shard that "mvb".shards gives a SHA-256 for must have it. */
mvb_status mvb_model_file_parse(const char *json, size_t json_size,
                                const uint8_t *const *shards,
                                const size_t *shard_sizes, size_t shard_count,
                                mvb_model_file *out, mvb_error *err);

/* As mvb_model_file_parse, with the shards back to back in one malloc'd
 * block, which out takes over (freed at once after a failure): its uint8
 * weights are not copied but read where they lie, in out->weights, until
 * mvb_model_file_drop_weights. No copy of the download is ever made. */
mvb_status mvb_model_file_parse_weights_owned(const char *json, size_t json_size,
                                              uint8_t *weights,
                                              const size_t *shard_sizes,
                                              size_t shard_count,
                                              mvb_model_file *out,
                                              mvb_error *err);

/* Frees file->weights, forgetting every weight read in it that is still
 * there (mvb_const_dequantize would then fail). The graph builder calls it
 * once nothing reads them; NULL weights are fine. */
void mvb_model_file_drop_weights(mvb_model_file *file);

/* Reads dir/model.json and the shard files it names, then parses them as
 * mvb_model_file_parse_weights_owned does: back to back in one block
 * (out->weights), read in place. */
mvb_status mvb_model_file_read_dir(const char *dir, mvb_model_file *out,
                                   mvb_error *err);

void mvb_model_file_free(mvb_model_file *file); /* zeroes it; empty is ok */

/* Lookups by name, O(1) on average (hashed while parsing); NULL if none. */
const mvb_node *mvb_model_file_node(const mvb_model_file *file,
                                    const char *name);
const mvb_const *mvb_model_file_const(const mvb_model_file *file,
                                      const char *name);
const mvb_attr *mvb_node_attr(const mvb_node *node, const char *name);

/* Makes c->f32 hold a float weight's values, dequantizing its uint8 bytes
 * (then freed) on the first call; a no-op for a weight that has its floats.
 * MVB_ERR_STATE if its data was already released. */
mvb_status mvb_const_dequantize(mvb_const *c, mvb_error *err);

/* The value of each byte of a weight kept as uint8 (c->u8): what
 * mvb_const_dequantize writes, for readers that go byte by byte. */
void mvb_const_u8_table(const mvb_const *c, float table[256]);

/* Frees one constant's data early (the graph builder calls this once
 * XNNPACK has packed it), keeping its name and shape. */
void mvb_const_release(mvb_const *c);

/* Forgets c's uint8 bytes: frees them, unless they lie in the file's
 * weights block (which is freed as a whole). */
void mvb_const_drop_u8(mvb_const *c);

#endif
