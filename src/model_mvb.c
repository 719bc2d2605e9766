/* model_mvb.c: our own "mvb" key in model.json, which TensorFlow.js ignores:
 * how a photo becomes the input tensor, and how outputs become a verdict.
 *
 *   "mvb": {
 *     "preprocess": {"size": [H, W], "resize": "bilinear-antialias",
 *                    "mean": [r, g, b], "std": [r, g, b]},
 *     "outputs": {"Identity:0": {"kind": "probabilities",
 *                                "classes": ["beach", "mountain", "neither"]}},
 *     "verdict": {"mountain_above": 0.65, "beach_below": 0.35,
 *                 "neither_above": 0.5, "unsure_above": 0.3},
 *     "shards": {"group1-shard1of1.bin": {"sha256": "<64 hex digits>"}},
 *     "precision": "int8"
 *   }
 *
 * "outputs" describes signature outputs by name: kind "probabilities" (one
 * value per class, in "classes" order; beach and mountain required,
 * neither optional) or "score" (one value, P(mountain)). Without it the
 * first output is a score. The verdict, from score = P(mountain) among
 * beach + mountain: neither when P(neither) > neither_above; not sure when
 * P(neither) > unsure_above or beach_below <= score <= mountain_above;
 * else mountain or beach. "thresholds": [beach_below, mountain_above] (our
 * first exporter's spelling) is read when "verdict" is absent. Unknown keys
 * are errors: a typo must not silently change a verdict.
 *
 * "shards" gives weight shards' SHA-256 digests, keyed by their path as the
 * weightsManifest writes it (train/export.py records them). A listed shard
 * whose bytes hash otherwise is refused, naming it (model_weights.c checks,
 * so the CLI, wasm and any embedder all do); a path the manifest does not
 * have is an error; a shard without a digest loads unchecked, as the
 * original system's model (which has none) must.
 *
 * "precision" ("f32" or "int8") is the arithmetic the model was validated
 * in and runs in unless the caller's options choose (train/export.py writes
 * it after measuring int8 against f32); float32 without it. */
#include "model_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* Bounds on "mvb".preprocess.size: keeps H * W * 3 floats well inside a
 * 32-bit wasm address space. */
#define MAX_INPUT_SIDE 8192

/* n numbers into v; all must be finite, and > 0 if positive is set. */
static mvb_status read_numbers(const mvb_json *j, int tok, const char *field,
                               int n, bool positive, float *v, mvb_error *err) {
  if (!mvb_json_is(j, tok, MVB_JSON_ARRAY) || mvb_json_children(j, tok) != n)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "mvb.preprocess.%s must be an array of %d numbers",
                        field, n);
  int c = mvb_json_first(tok);
  for (int k = 0; k < n; k++, c = mvb_json_next(j, c)) {
    double d;
    if (!mvb_json_double(j, c, &d) || !isfinite(d) || (positive && !(d > 0)))
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                          "mvb.preprocess.%s[%d] must be a %snumber", field, k,
                          positive ? "positive " : "finite ");
    v[k] = (float)d;
  }
  return MVB_OK;
}

/* A key no reader knows: a typo must not silently change the tensor or a
 * verdict. */
static mvb_status unknown_key(const mvb_json *j, int key, const char *where,
                              const char *known, mvb_error *err) {
  const mvb_json_token *t = &j->tokens[key];
  return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                      "unknown key \"%.*s\" in %s (known: %s)",
                      t->end - t->start > 100 ? 100 : t->end - t->start,
                      j->text + t->start, where, known);
}

static mvb_status read_preprocess(const mvb_json *j, int mvb,
                                  mvb_model_file *out, mvb_error *err) {
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
  if (mvb < 0) return MVB_OK;
  int pre = mvb_json_find(j, mvb, "preprocess");
  if (pre < 0) return MVB_OK;
  mvb_status status;
  if ((status = mvb_expect(j, pre, MVB_JSON_OBJECT, "mvb", "preprocess", err)))
    return status;

  int key = mvb_json_first(pre);
  for (int k = 0; k < mvb_json_children(j, pre);
       k++, key = mvb_json_next(j, key)) {
    int v = key + 1;
    if (mvb_json_streq(j, key, "size")) {
      int64_t hw[2];
      if (!mvb_json_is(j, v, MVB_JSON_ARRAY) || mvb_json_children(j, v) != 2 ||
          !mvb_json_int64(j, v + 1, &hw[0]) ||
          !mvb_json_int64(j, mvb_json_next(j, v + 1), &hw[1]) || hw[0] < 1 ||
          hw[0] > MAX_INPUT_SIDE || hw[1] < 1 || hw[1] > MAX_INPUT_SIDE)
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                            "mvb.preprocess.size must be [height, width] with "
                            "each in 1..%d",
                            MAX_INPUT_SIDE);
      if (out->input_rank == 4 && ((shape[1] > 0 && shape[1] != hw[0]) ||
                                   (shape[2] > 0 && shape[2] != hw[1])))
        return mvb_bad_json(
            err, MVB_ERR_MODEL_FORMAT, j, v,
            "mvb.preprocess.size [%lld, %lld] does not match the "
            "signature input shape [%lld, %lld, %lld, %lld]",
            (long long)hw[0], (long long)hw[1], (long long)shape[0],
            (long long)shape[1], (long long)shape[2], (long long)shape[3]);
      pp->height = (int)hw[0];
      pp->width = (int)hw[1];
    } else if (mvb_json_streq(j, key, "resize")) {
      if (!mvb_json_is(j, v, MVB_JSON_STRING))
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                            "mvb.preprocess.resize must be a string");
      if (!mvb_json_streq(j, v, "bilinear-antialias")) {
        const mvb_json_token *t = &j->tokens[v];
        return mvb_bad_json(err, MVB_ERR_UNSUPPORTED, j, v,
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
      return unknown_key(j, key, "mvb.preprocess", "size, resize, mean, std",
                         err);
    }
  }
  return MVB_OK;
}

/* ---- outputs and verdict rules ------------------------------------------ */

static const char *const CLASS_NAMES[] = {"beach", "mountain", "neither"};

/* "classes": ["beach", "mountain", "neither"] -> rules->class_at. */
static mvb_status read_classes(const mvb_json *j, int tok, mvb_output_ref *o,
                               mvb_error *err) {
  int n = mvb_json_is(j, tok, MVB_JSON_ARRAY) ? mvb_json_children(j, tok) : -1;
  if (n < 2 || n > 3)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "mvb.outputs: \"classes\" must list 2 or 3 of "
                        "\"beach\", \"mountain\", \"neither\"");
  bool seen[3] = {false, false, false};
  int c = mvb_json_first(tok);
  for (int k = 0; k < n; k++, c = mvb_json_next(j, c)) {
    int name = -1;
    for (int i = 0; i < 3; i++)
      if (mvb_json_streq(j, c, CLASS_NAMES[i])) name = i;
    if (name < 0 || seen[name])
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, c,
                          "mvb.outputs: class %d must be one of \"beach\", "
                          "\"mountain\", \"neither\", each named once",
                          k);
    seen[name] = true;
    o->class_at[k] = name;
  }
  if (!seen[MVB_CLASS_BEACH] || !seen[MVB_CLASS_MOUNTAIN])
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "mvb.outputs: \"classes\" must include \"beach\" and "
                        "\"mountain\"");
  o->n_classes = n;
  return MVB_OK;
}

/* One "mvb".outputs entry: key names a signature output. */
static mvb_status read_output_entry(const mvb_json *j, int key,
                                    mvb_model_file *out, mvb_error *err) {
  int v = key + 1, which = -1;
  for (size_t k = 0; k < out->n_outputs; k++)
    if (mvb_json_streq(j, key, out->outputs[k].name)) which = (int)k;
  if (which < 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                        "mvb.outputs names an output the signature does not "
                        "have");
  /* Every entry that reads sets a kind: one already set is a second entry,
   * whose description would mix with the first's (its classes, and
   * rules.probabilities), so the load check would pass an output of the
   * wrong shape. */
  if (out->outputs[which].kind != MVB_OUTPUT_OTHER)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                        "mvb.outputs describes output \"%.200s\" twice",
                        out->outputs[which].name);
  mvb_status status =
      mvb_expect(j, v, MVB_JSON_OBJECT, "mvb.outputs", "entry", err);
  if (status != MVB_OK) return status;
  int kind = mvb_json_find(j, v, "kind"), classes = -1, grid = -1;
  int c = mvb_json_first(v);
  for (int k = 0; k < mvb_json_children(j, v); k++, c = mvb_json_next(j, c)) {
    if (mvb_json_streq(j, c, "classes"))
      classes = c + 1;
    else if (mvb_json_streq(j, c, "grid"))
      grid = c + 1;
    else if (!mvb_json_streq(j, c, "kind"))
      return unknown_key(j, c, "an mvb.outputs entry", "kind, classes, grid",
                         err);
  }
  mvb_output_ref *o = &out->outputs[which];
  /* A key the kind does not read is refused, not ignored: "classes" on a
   * score would otherwise look as if it named the score's class. */
  if (mvb_json_streq(j, kind, "score")) {
    if (classes >= 0 || grid >= 0)
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j,
                          (classes >= 0 ? classes : grid) - 1,
                          "mvb.outputs: a \"score\" output has no \"%s\" (it "
                          "is P(mountain) among beach and mountain)",
                          classes >= 0 ? "classes" : "grid");
    o->kind = MVB_OUTPUT_SCORE;
    return MVB_OK;
  }
  bool heatmap = mvb_json_streq(j, kind, "heatmap");
  if (!heatmap && !mvb_json_streq(j, kind, "probabilities"))
    return mvb_bad_json(err, MVB_ERR_UNSUPPORTED, j, kind < 0 ? v : kind,
                        "mvb.outputs: \"kind\" must be \"probabilities\", "
                        "\"heatmap\" or \"score\"");
  if (!heatmap && grid >= 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, grid - 1,
                        "mvb.outputs: a \"probabilities\" output has no "
                        "\"grid\" (only a heatmap does)");
  if (classes < 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, v,
                        "mvb.outputs: a \"%s\" output needs \"classes\"",
                        heatmap ? "heatmap" : "probabilities");
  status = read_classes(j, classes, o, err);
  if (status != MVB_OK) return status;
  if (heatmap) {
    int64_t g[2];
    if (grid < 0 || !mvb_json_is(j, grid, MVB_JSON_ARRAY) ||
        mvb_json_children(j, grid) != 2 ||
        !mvb_json_int64(j, grid + 1, &g[0]) ||
        !mvb_json_int64(j, mvb_json_next(j, grid + 1), &g[1]) || g[0] < 1 ||
        g[1] < 1 || g[0] > 4096 || g[1] > 4096)
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, grid < 0 ? v : grid,
                          "mvb.outputs: a heatmap needs \"grid\": [rows, "
                          "columns], each in 1..4096");
    o->kind = MVB_OUTPUT_HEATMAP;
    o->grid[0] = (int)g[0];
    o->grid[1] = (int)g[1];
    return MVB_OK;
  }
  if (out->rules.probabilities >= 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, key,
                        "mvb.outputs: only one output can hold the class "
                        "probabilities");
  o->kind = MVB_OUTPUT_PROBABILITIES;
  out->rules.probabilities = which;
  return MVB_OK;
}

/* A threshold in [0, 1]. */
static mvb_status read_threshold(const mvb_json *j, int tok, const char *name,
                                 float *v, mvb_error *err) {
  double d;
  if (!mvb_json_double(j, tok, &d) || !(d >= 0.0 && d <= 1.0))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "mvb.verdict.%s must be a number in [0, 1]", name);
  *v = (float)d;
  return MVB_OK;
}

static mvb_status read_verdict(const mvb_json *j, int verdict, mvb_rules *r,
                               mvb_error *err) {
  static const char *const names[] = {"mountain_above", "beach_below",
                                      "neither_above", "unsure_above"};
  float *fields[] = {&r->mountain_above, &r->beach_below, &r->neither_above,
                     &r->unsure_above};
  bool unsure_given = false;
  int c = mvb_json_first(verdict);
  for (int k = 0; k < mvb_json_children(j, verdict);
       k++, c = mvb_json_next(j, c)) {
    int f = -1;
    for (int i = 0; i < 4; i++)
      if (mvb_json_streq(j, c, names[i])) f = i;
    if (f < 0)
      return unknown_key(j, c, "mvb.verdict",
                         "mountain_above, beach_below, neither_above, "
                         "unsure_above",
                         err);
    mvb_status status = read_threshold(j, c + 1, names[f], fields[f], err);
    if (status != MVB_OK) return status;
    unsure_given |= f == 3;
  }
  if (!unsure_given) r->unsure_above = r->neither_above;
  if (!(r->beach_below <= r->mountain_above))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, verdict,
                        "mvb.verdict: beach_below (%g) must not be above "
                        "mountain_above (%g)",
                        r->beach_below, r->mountain_above);
  if (!(r->unsure_above <= r->neither_above))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, verdict,
                        "mvb.verdict: unsure_above (%g) must not be above "
                        "neither_above (%g)",
                        r->unsure_above, r->neither_above);
  return MVB_OK;
}

/* The original exporter's "thresholds": [beach_below, mountain_above]. */
static mvb_status read_legacy_thresholds(const mvb_json *j, int tok,
                                         mvb_rules *r, mvb_error *err) {
  if (!mvb_json_is(j, tok, MVB_JSON_ARRAY) || mvb_json_children(j, tok) != 2)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "mvb.thresholds must be [beach_below, "
                        "mountain_above]");
  mvb_status status =
      read_threshold(j, tok + 1, "beach_below", &r->beach_below, err);
  if (status == MVB_OK)
    status = read_threshold(j, mvb_json_next(j, tok + 1), "mountain_above",
                            &r->mountain_above, err);
  if (status == MVB_OK && !(r->beach_below <= r->mountain_above))
    status = mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                          "mvb.thresholds must be [beach_below, "
                          "mountain_above] in increasing order");
  return status;
}

static mvb_status read_rules(const mvb_json *j, int mvb, mvb_model_file *out,
                             mvb_error *err) {
  mvb_rules *r = &out->rules;
  *r = (mvb_rules){.probabilities = -1,
                   .mountain_above = MVB_DEFAULT_MOUNTAIN_ABOVE,
                   .beach_below = MVB_DEFAULT_BEACH_BELOW,
                   .neither_above = MVB_DEFAULT_NEITHER_ABOVE,
                   .unsure_above = MVB_DEFAULT_NEITHER_ABOVE};
  if (mvb < 0) return MVB_OK;
  mvb_status status = MVB_OK;
  int outputs = mvb_json_find(j, mvb, "outputs");
  if (outputs >= 0) {
    status = mvb_expect(j, outputs, MVB_JSON_OBJECT, "mvb", "outputs", err);
    int key = mvb_json_first(outputs);
    for (int k = 0; status == MVB_OK && k < mvb_json_children(j, outputs);
         k++, key = mvb_json_next(j, key))
      status = read_output_entry(j, key, out, err);
  }
  if (status != MVB_OK) return status;
  int verdict = mvb_json_find(j, mvb, "verdict");
  if (verdict >= 0) {
    status = mvb_expect(j, verdict, MVB_JSON_OBJECT, "mvb", "verdict", err);
    if (status == MVB_OK) status = read_verdict(j, verdict, r, err);
    return status;
  }
  int legacy = mvb_json_find(j, mvb, "thresholds");
  if (legacy >= 0) return read_legacy_thresholds(j, legacy, r, err);
  return MVB_OK;
}

/* ---- shard digests ---------------------------------------------------- */

/* One "shards" entry's value: {"sha256": "<64 hex digits>"}. */
static mvb_status read_digest(const mvb_json *j, int v, mvb_shard_digest *d,
                              mvb_error *err) {
  int sha = -1;
  if (mvb_json_is(j, v, MVB_JSON_OBJECT)) {
    int c = mvb_json_first(v);
    for (int k = 0; k < mvb_json_children(j, v); k++, c = mvb_json_next(j, c))
      if (mvb_json_streq(j, c, "sha256"))
        sha = c + 1;
      else
        return unknown_key(j, c, "an mvb.shards entry", "sha256", err);
  }
  const mvb_json_token *t = sha >= 0 ? &j->tokens[sha] : NULL;
  if (!mvb_json_is(j, sha, MVB_JSON_STRING) ||
      !mvb_sha256_from_hex(j->text + t->start, (size_t)(t->end - t->start),
                           d->sha256))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, sha < 0 ? v : sha,
                        "mvb.shards: the entry for \"%.200s\" must be "
                        "{\"sha256\": \"<64 hex digits>\"}",
                        d->path);
  return MVB_OK;
}

static mvb_status read_shards(const mvb_json *j, int mvb, mvb_model_file *out,
                              mvb_error *err) {
  int shards = mvb < 0 ? -1 : mvb_json_find(j, mvb, "shards");
  if (shards < 0) return MVB_OK;
  mvb_status status =
      mvb_expect(j, shards, MVB_JSON_OBJECT, "mvb", "shards", err);
  size_t n = status == MVB_OK ? (size_t)mvb_json_children(j, shards) : 0;
  if (n == 0) return status;
  const char **paths = malloc(n * sizeof *paths);
  out->digests = calloc(n, sizeof *out->digests);
  if (!paths || !out->digests) {
    free(paths);
    return mvb_out_of_memory(err, "mvb.shards");
  }
  int key = mvb_json_first(shards);
  for (size_t k = 0; status == MVB_OK && k < n;
       k++, key = mvb_json_next(j, key)) {
    mvb_shard_digest *d = &out->digests[k];
    status = mvb_take_string(j, key, "mvb.shards", "path", &d->path, err);
    if (status != MVB_OK) break;
    out->n_digests = k + 1;
    paths[k] = d->path;
    status = read_digest(j, key + 1, d, err);
  }
  /* model_weights.c finds each manifest path's digest here */
  if (status == MVB_OK)
    status = mvb_name_index_build(&out->digest_index, paths, n,
                                  "mvb.shards entries", err);
  free(paths);
  return status;
}

/* ---- precision ---------------------------------------------------------- */

static mvb_status read_precision(const mvb_json *j, int mvb,
                                 mvb_model_file *out, mvb_error *err) {
  out->precision = MVB_PRECISION_F32;
  int p = mvb < 0 ? -1 : mvb_json_find(j, mvb, "precision");
  if (p < 0) return MVB_OK;
  if (mvb_json_streq(j, p, "int8"))
    out->precision = MVB_PRECISION_INT8;
  else if (!mvb_json_streq(j, p, "f32"))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, p,
                        "mvb.precision must be \"f32\" or \"int8\"");
  return MVB_OK;
}

mvb_status mvb_read_mvb_key(const mvb_json *j, mvb_model_file *out,
                            mvb_error *err) {
  int mvb = mvb_json_find(j, 0, "mvb");
  mvb_status status = MVB_OK;
  if (mvb >= 0)
    status = mvb_expect(j, mvb, MVB_JSON_OBJECT, "the document", "mvb", err);
  if (status == MVB_OK) status = read_preprocess(j, mvb, out, err);
  if (status == MVB_OK) status = read_rules(j, mvb, out, err);
  if (status == MVB_OK) status = read_shards(j, mvb, out, err);
  if (status == MVB_OK) status = read_precision(j, mvb, out, err);
  return status;
}
