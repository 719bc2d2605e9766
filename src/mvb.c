/* mvb.c: the public API (mvb.h), tying the model file, the XNNPACK graph
 * and image preprocessing together. */
#include "mvb.h"

#include <math.h>
#include <pthreadpool.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "graph.h"
#include "image.h"
#include "model_file.h"

struct mvb_model {
  mvb_options options;
  mvb_error error;
  pthreadpool_t threadpool; /* NULL for one thread */
  mvb_model_file file;      /* consts XNNPACK reads unpacked live here */
  mvb_graph *graph;         /* NULL until a model is loaded */
};

mvb_options mvb_default_options(void) {
  mvb_options o;
  memset(&o, 0, sizeof o);
  o.num_threads = 1;
  o.max_image_pixels = MVB_DEFAULT_MAX_IMAGE_PIXELS;
  o.mountain_above = NAN; /* the model's rules */
  o.beach_below = NAN;
  o.neither_above = NAN;
  o.precision = MVB_PRECISION_MODEL;
  return o;
}

mvb_model *mvb_model_create(const mvb_options *options) {
  mvb_model *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->options = options ? *options : mvb_default_options();
  if (m->options.num_threads < 1) m->options.num_threads = 1;
  return m;
}

static void unload(mvb_model *m) {
  mvb_graph_free(m->graph);
  m->graph = NULL;
  mvb_model_file_free(&m->file);
  if (m->threadpool) pthreadpool_destroy(m->threadpool);
  m->threadpool = NULL;
}

static void log_line(const mvb_model *m, const char *line) {
  if (m->options.log) m->options.log(m->options.log_user, line);
}

/* A threshold option: NAN (the model's) or a number in [0, 1]. */
static bool threshold_ok(float t) {
  return isnan(t) || (t >= 0.0f && t <= 1.0f);
}

static mvb_status check_options(mvb_model *m) {
  const mvb_options *o = &m->options;
  if (!threshold_ok(o->beach_below) || !threshold_ok(o->mountain_above) ||
      !threshold_ok(o->neither_above) || o->beach_below > o->mountain_above)
    return mvb_fail(&m->error, MVB_ERR_INVALID_ARGUMENT,
                    "thresholds must be NAN (the model's) or satisfy 0 <= "
                    "beach_below (%g) <= mountain_above (%g) <= 1 and 0 <= "
                    "neither_above (%g) <= 1",
                    o->beach_below, o->mountain_above, o->neither_above);
  if (o->max_image_pixels == 0)
    return mvb_fail(&m->error, MVB_ERR_INVALID_ARGUMENT,
                    "max_image_pixels must be at least 1");
  if (o->precision != MVB_PRECISION_MODEL &&
      o->precision != MVB_PRECISION_F32 && o->precision != MVB_PRECISION_INT8)
    return mvb_fail(&m->error, MVB_ERR_INVALID_ARGUMENT,
                    "precision %d is none of MVB_PRECISION_MODEL, "
                    "MVB_PRECISION_F32 and MVB_PRECISION_INT8",
                    (int)o->precision);
  return MVB_OK;
}

/* The model's verdict rules, with the options' overrides applied. */
static mvb_status apply_option_rules(mvb_model *m) {
  mvb_rules *r = &m->file.rules;
  const mvb_options *o = &m->options;
  if (!isnan(o->mountain_above)) r->mountain_above = o->mountain_above;
  if (!isnan(o->beach_below)) r->beach_below = o->beach_below;
  if (!isnan(o->neither_above)) {
    r->neither_above = o->neither_above;
    if (r->unsure_above > r->neither_above) r->unsure_above = o->neither_above;
  }
  if (r->beach_below > r->mountain_above)
    return mvb_fail(&m->error, MVB_ERR_INVALID_ARGUMENT,
                    "verdict thresholds: beach_below (%g) is above "
                    "mountain_above (%g) once the options are applied to the "
                    "model's rules",
                    r->beach_below, r->mountain_above);
  return MVB_OK;
}

/* Every described output must have the shape its description implies:
 * probabilities one value per class; a heatmap (1, rows, columns, classes). */
static mvb_status check_described_outputs(mvb_model *m) {
  for (size_t k = 0; k < m->file.n_outputs; k++) {
    const mvb_output_ref *o = &m->file.outputs[k];
    size_t dims[MVB_MAX_RANK];
    int rank = mvb_graph_output_shape(m->graph, k, dims);
    size_t got = mvb_graph_output_size(m->graph, k);
    bool ok = true;
    if (o->kind == MVB_OUTPUT_SCORE) ok = got == 1;
    if (o->kind == MVB_OUTPUT_PROBABILITIES) ok = got == (size_t)o->n_classes;
    if (o->kind == MVB_OUTPUT_HEATMAP)
      ok = rank == 4 && dims[0] == 1 && dims[1] == (size_t)o->grid[0] &&
           dims[2] == (size_t)o->grid[1] && dims[3] == (size_t)o->n_classes;
    if (!ok)
      return mvb_fail(&m->error, MVB_ERR_SHAPE,
                      "output %s has %zu values (rank %d), not what "
                      "mvb.outputs describes",
                      o->name, got, rank);
  }
  return MVB_OK;
}

/* The precision the parsed model runs in: the options', or its own. */
static mvb_precision chosen_precision(const mvb_model *m) {
  return m->options.precision == MVB_PRECISION_MODEL ? m->file.precision
                                                     : m->options.precision;
}

/* Shared tail of both loaders: the parsed file becomes a runtime. */
static mvb_status build(mvb_model *m) {
  mvb_status s = check_options(m);
  if (s == MVB_OK) s = apply_option_rules(m);
  if (s != MVB_OK) return s;
  if (m->options.num_threads > 1) {
    m->threadpool = pthreadpool_create((size_t)m->options.num_threads);
    if (!m->threadpool)
      return mvb_fail(&m->error, MVB_ERR_OUT_OF_MEMORY,
                      "cannot create a pool of %d threads",
                      m->options.num_threads);
  }
  s = mvb_graph_build(&m->file, m->threadpool, chosen_precision(m), &m->graph,
                      &m->error);
  if (s == MVB_OK) s = check_described_outputs(m);
  if (s == MVB_OK) log_line(m, "model loaded");
  return s;
}

mvb_status mvb_model_load_dir(mvb_model *model, const char *dir) {
  if (!model) return MVB_ERR_INVALID_ARGUMENT;
  mvb_error_clear(&model->error);
  unload(model);
  if (!dir)
    return mvb_fail(&model->error, MVB_ERR_INVALID_ARGUMENT,
                    "model directory is NULL");
  mvb_status s = mvb_model_file_read_dir(dir, &model->file, &model->error);
  if (s == MVB_OK) s = build(model);
  if (s != MVB_OK) unload(model);
  return s;
}

/* What every loader from memory refuses before parsing. */
static mvb_status check_buffers(mvb_model *m, const char *json,
                                size_t json_size, size_t shard_count,
                                bool have_shards, bool have_sizes) {
  if (!json || json_size == 0 ||
      (shard_count > 0 && (!have_shards || !have_sizes)))
    return mvb_fail(
        &m->error, MVB_ERR_INVALID_ARGUMENT,
        "model.json text and shard arrays must not be NULL or empty");
  return MVB_OK;
}

/* The tail of the loaders from memory: the parse's outcome s, then the
 * runtime. */
static mvb_status build_parsed(mvb_model *m, mvb_status s) {
  if (s == MVB_OK) s = build(m);
  if (s != MVB_OK) unload(m);
  return s;
}

mvb_status mvb_model_load_buffers(mvb_model *model, const char *json,
                                  size_t json_size,
                                  const uint8_t *const *shards,
                                  const size_t *shard_sizes,
                                  size_t shard_count) {
  if (!model) return MVB_ERR_INVALID_ARGUMENT;
  mvb_error_clear(&model->error);
  unload(model);
  mvb_status s = check_buffers(model, json, json_size, shard_count,
                               shards != NULL, shard_sizes != NULL);
  if (s == MVB_OK)
    s = mvb_model_file_parse(json, json_size, shards, shard_sizes, shard_count,
                             &model->file, &model->error);
  return build_parsed(model, s);
}

mvb_status mvb_model_load_weights_owned(mvb_model *model, const char *json,
                                        size_t json_size, uint8_t *weights,
                                        const size_t *shard_sizes,
                                        size_t shard_count) {
  if (!model) {
    free(weights);
    return MVB_ERR_INVALID_ARGUMENT;
  }
  mvb_error_clear(&model->error);
  unload(model);
  mvb_status s = check_buffers(model, json, json_size, shard_count,
                               weights != NULL, shard_sizes != NULL);
  if (s == MVB_OK)
    s = mvb_model_file_parse_weights_owned(json, json_size, weights,
                                           shard_sizes, shard_count,
                                           &model->file, &model->error);
  else
    free(weights);
  return build_parsed(model, s);
}

static mvb_status require_loaded(mvb_model *m) {
  if (!m->graph)
    return mvb_fail(&m->error, MVB_ERR_STATE, "no model is loaded");
  return MVB_OK;
}

/* The verdict from the probabilities, by the model's rules. */
static void decide(const mvb_rules *r, mvb_result *res) {
  const float *p = res->probability;
  float bm = p[MVB_CLASS_BEACH] + p[MVB_CLASS_MOUNTAIN];
  res->score = bm > 0.0f ? p[MVB_CLASS_MOUNTAIN] / bm : 0.5f;
  if (res->has_neither && p[MVB_CLASS_NEITHER] > r->neither_above)
    res->verdict = MVB_NEITHER;
  else if (res->has_neither && p[MVB_CLASS_NEITHER] > r->unsure_above)
    res->verdict = MVB_NOT_SURE;
  else
    res->verdict =
        mvb_verdict_for_score(res->score, r->mountain_above, r->beach_below);
  switch (res->verdict) {
    case MVB_BEACH: res->confidence = p[MVB_CLASS_BEACH]; break;
    case MVB_MOUNTAIN: res->confidence = p[MVB_CLASS_MOUNTAIN]; break;
    case MVB_NEITHER: res->confidence = p[MVB_CLASS_NEITHER]; break;
    case MVB_NOT_SURE: res->confidence = fmaxf(fmaxf(p[0], p[1]), p[2]); break;
  }
}

/* Reads the class probabilities from the output the rules name. */
static mvb_status read_probabilities(mvb_model *m, mvb_result *res) {
  const mvb_rules *r = &m->file.rules;
  memset(res, 0, sizeof *res);
  if (r->probabilities < 0) {
    /* One value: require_classifier checked before the graph ran. */
    float score = mvb_graph_output(m->graph, 0)[0];
    if (!(score >= 0.0f && score <= 1.0f))
      return mvb_fail(&m->error, MVB_ERR_BACKEND,
                      "the model's score %g is not a probability in [0, 1]",
                      score);
    res->probability[MVB_CLASS_BEACH] = 1.0f - score;
    res->probability[MVB_CLASS_MOUNTAIN] = score;
    return MVB_OK;
  }
  const mvb_output_ref *o = &m->file.outputs[r->probabilities];
  const float *out = mvb_graph_output(m->graph, (size_t)r->probabilities);
  float sum = 0.0f;
  for (int k = 0; k < o->n_classes; k++) {
    if (!(out[k] >= 0.0f && out[k] <= 1.0f))
      return mvb_fail(&m->error, MVB_ERR_BACKEND,
                      "the model's probability %g (class %d) is not in "
                      "[0, 1]",
                      out[k], k);
    res->probability[o->class_at[k]] = out[k];
    sum += out[k];
    res->has_neither |= o->class_at[k] == MVB_CLASS_NEITHER;
  }
  if (!(fabsf(sum - 1.0f) <= 1e-3f))
    return mvb_fail(&m->error, MVB_ERR_BACKEND,
                    "the model's class probabilities add up to %g, not 1", sum);
  return MVB_OK;
}

/* Runs the graph on its (already filled) input and judges the outputs. */
static mvb_status score_input(mvb_model *m, mvb_result *result) {
  mvb_status s = mvb_graph_invoke(m->graph, &m->error);
  if (s == MVB_OK) s = read_probabilities(m, result);
  if (s == MVB_OK) decide(&m->file.rules, result);
  return s;
}

/* Any graph model loads (the op tests feed raw tensors), but only one whose
 * input is an image of the preprocessing's size, and whose verdict can be
 * read (described outputs are checked at load; without mvb.outputs the first
 * output must be one score), can classify photos. Checked before a photo is
 * decoded or the graph run: a model that cannot classify costs nothing. */
static mvb_status require_classifier(mvb_model *m) {
  mvb_status s = require_loaded(m);
  if (s != MVB_OK) return s;
  const mvb_preprocess *pp = &m->file.preprocess;
  if (mvb_graph_input_count(m->graph) != (size_t)pp->height * pp->width * 3)
    return mvb_fail(&m->error, MVB_ERR_SHAPE,
                    "the model's input has %zu values, not an image of "
                    "%d x %d x 3",
                    mvb_graph_input_count(m->graph), pp->height, pp->width);
  size_t first = mvb_graph_output_size(m->graph, 0);
  if (m->file.rules.probabilities < 0 && first != 1)
    return mvb_fail(&m->error, MVB_ERR_SHAPE,
                    "the model outputs %zu values; a classifier without "
                    "mvb.outputs must output one score",
                    first);
  return MVB_OK;
}

static mvb_status classify_image(mvb_model *m, mvb_image *image,
                                 mvb_result *result) {
  mvb_status s = mvb_image_to_tensor(image, &m->file.preprocess,
                                     mvb_graph_input(m->graph), &m->error);
  mvb_image_free(image);
  if (s != MVB_OK) return s;
  return score_input(m, result);
}

mvb_status mvb_classify_encoded(mvb_model *model, const uint8_t *bytes,
                                size_t size, mvb_result *result) {
  if (!model) return MVB_ERR_INVALID_ARGUMENT;
  mvb_error_clear(&model->error);
  if (!result || (!bytes && size > 0))
    return mvb_fail(&model->error, MVB_ERR_INVALID_ARGUMENT,
                    "image bytes and result must not be NULL");
  mvb_status s = require_classifier(model);
  mvb_image image = {0};
  if (s == MVB_OK)
    s = mvb_image_decode(bytes, size, model->options.max_image_pixels, &image,
                         &model->error);
  if (s != MVB_OK) return s;
  return classify_image(model, &image, result);
}

mvb_status mvb_classify_rgba(mvb_model *model, const uint8_t *rgba, int width,
                             int height, mvb_result *result) {
  if (!model) return MVB_ERR_INVALID_ARGUMENT;
  mvb_error_clear(&model->error);
  if (!result || !rgba)
    return mvb_fail(&model->error, MVB_ERR_INVALID_ARGUMENT,
                    "pixels and result must not be NULL");
  mvb_status s = require_classifier(model);
  mvb_image image = {0};
  if (s == MVB_OK)
    s = mvb_image_from_rgba(rgba, width, height,
                            model->options.max_image_pixels, &image,
                            &model->error);
  if (s != MVB_OK) return s;
  return classify_image(model, &image, result);
}

mvb_status mvb_decode_image(mvb_model *model, const uint8_t *bytes, size_t size,
                            uint8_t **rgb, int *width, int *height) {
  if (rgb) *rgb = NULL;
  if (width) *width = 0;
  if (height) *height = 0;
  if (!model) return MVB_ERR_INVALID_ARGUMENT;
  mvb_error_clear(&model->error);
  if (!rgb || !width || !height || (!bytes && size > 0))
    return mvb_fail(&model->error, MVB_ERR_INVALID_ARGUMENT,
                    "image bytes and the rgb, width and height pointers must "
                    "not be NULL");
  mvb_image image = {0};
  mvb_status s = mvb_image_decode(bytes, size, model->options.max_image_pixels,
                                  &image, &model->error);
  if (s != MVB_OK) return s;
  *rgb = image.rgb; /* from malloc (image.h), so free() releases it */
  *width = image.width;
  *height = image.height;
  return MVB_OK;
}

mvb_status mvb_run_tensor(mvb_model *model, const float *input,
                          size_t input_count, float *output, size_t capacity,
                          size_t *output_count) {
  if (!model) return MVB_ERR_INVALID_ARGUMENT;
  mvb_error_clear(&model->error);
  mvb_status s = require_loaded(model);
  if (s != MVB_OK) return s;
  if (!input || !output_count || (!output && capacity > 0))
    return mvb_fail(&model->error, MVB_ERR_INVALID_ARGUMENT,
                    "input, output and output_count must not be NULL");
  size_t expected = mvb_graph_input_count(model->graph);
  if (input_count != expected)
    return mvb_fail(&model->error, MVB_ERR_SHAPE,
                    "input has %zu values; the model expects %zu", input_count,
                    expected);
  for (size_t i = 0; i < input_count; i++)
    if (!isfinite(input[i]))
      return mvb_fail(&model->error, MVB_ERR_INVALID_ARGUMENT,
                      "input value %zu is %g; inputs must be finite", i,
                      input[i]);
  memcpy(mvb_graph_input(model->graph), input, expected * sizeof *input);
  s = mvb_graph_invoke(model->graph, &model->error);
  if (s != MVB_OK) return s;
  size_t n = mvb_graph_output_size(model->graph, 0);
  *output_count = n;
  if (capacity > 0) /* the CLI passes NULL, 0: memcpy(NULL, ., 0) is UB */
    memcpy(output, mvb_graph_output(model->graph, 0),
           (n < capacity ? n : capacity) * sizeof *output);
  return MVB_OK;
}

size_t mvb_output_count(const mvb_model *model) {
  return model && model->graph ? mvb_graph_output_count(model->graph) : 0;
}

const char *mvb_output_name(const mvb_model *model, size_t i) {
  return i < mvb_output_count(model) ? model->file.outputs[i].name : NULL;
}

size_t mvb_output_size(const mvb_model *model, size_t i) {
  return i < mvb_output_count(model) ? mvb_graph_output_size(model->graph, i)
                                     : 0;
}

int mvb_output_shape(const mvb_model *model, size_t i, int64_t *dims) {
  if (i >= mvb_output_count(model) || !dims) return 0;
  size_t d[MVB_MAX_RANK];
  int rank = mvb_graph_output_shape(model->graph, i, d);
  for (int k = 0; k < rank; k++) dims[k] = (int64_t)d[k];
  return rank;
}

const float *mvb_output_data(const mvb_model *model, size_t i) {
  return i < mvb_output_count(model) ? mvb_graph_output(model->graph, i) : NULL;
}

mvb_output_kind mvb_output_kind_of(const mvb_model *model, size_t i) {
  return i < mvb_output_count(model) ? model->file.outputs[i].kind
                                     : MVB_OUTPUT_OTHER;
}

int mvb_output_class(const mvb_model *model, size_t i, size_t channel) {
  if (i >= mvb_output_count(model)) return -1;
  const mvb_output_ref *o = &model->file.outputs[i];
  return channel < (size_t)o->n_classes ? o->class_at[channel] : -1;
}

void mvb_model_input_shape(const mvb_model *model, int *height, int *width,
                           int *channels) {
  const mvb_model_file *f = model && model->graph ? &model->file : NULL;
  /* The preprocessing's size is 0 x 0 when the input is no image
   * (model_mvb.c); an NHWC input's channels are its signature's. */
  int h = f ? f->preprocess.height : 0, c = 0;
  if (h > 0)
    c = f->input_rank == 4 && f->input_shape[3] > 0 ? (int)f->input_shape[3]
                                                    : 3;
  if (height) *height = h;
  if (width) *width = h > 0 ? f->preprocess.width : 0;
  if (channels) *channels = c;
}

size_t mvb_model_input_size(const mvb_model *model) {
  return model && model->graph ? mvb_graph_input_count(model->graph) : 0;
}

mvb_precision mvb_model_precision(const mvb_model *model) {
  return model && model->graph ? chosen_precision(model) : MVB_PRECISION_MODEL;
}

const char *mvb_model_error(const mvb_model *model) {
  return model ? model->error.message : "model handle is NULL";
}

void mvb_model_free(mvb_model *model) {
  if (!model) return;
  unload(model);
  free(model);
}

mvb_verdict mvb_verdict_for_score(float score, float mountain_above,
                                  float beach_below) {
  if (score > mountain_above) return MVB_MOUNTAIN;
  if (score < beach_below) return MVB_BEACH;
  return MVB_NOT_SURE;
}

const char *mvb_verdict_name(mvb_verdict verdict) {
  switch (verdict) {
    case MVB_BEACH: return "beach";
    case MVB_MOUNTAIN: return "mountain";
    case MVB_NOT_SURE: return "not sure";
    case MVB_NEITHER: return "neither";
  }
  return "unknown";
}

const char *mvb_status_name(mvb_status status) {
  switch (status) {
    case MVB_OK: return "ok";
    case MVB_ERR_INVALID_ARGUMENT: return "invalid argument";
    case MVB_ERR_OUT_OF_MEMORY: return "out of memory";
    case MVB_ERR_IO: return "i/o error";
    case MVB_ERR_MODEL_FORMAT: return "bad model format";
    case MVB_ERR_UNSUPPORTED: return "unsupported";
    case MVB_ERR_SHAPE: return "shape mismatch";
    case MVB_ERR_IMAGE: return "bad image";
    case MVB_ERR_IMAGE_TOO_LARGE: return "image too large";
    case MVB_ERR_BACKEND: return "backend failure";
    case MVB_ERR_STATE: return "invalid state";
  }
  return "unknown status";
}
