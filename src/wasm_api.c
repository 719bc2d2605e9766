/* wasm_api.c: the functions the JavaScript loader (web/engine.js) calls.
 * A thin layer over mvb.h that keeps every argument a number or a heap
 * offset; see docs/design.md for the contract (ABI version 5: results
 * carry the class probabilities, outputs are a list, mvbw_create takes the
 * precision, -1 for the model's own, mvbw_precision says which ran, and
 * mvbw_load takes the shards in one block). */
#include <emscripten/emscripten.h>
#include <stdint.h>

#include "mvb.h"

#define MVB_WASM_ABI_VERSION 5

/* What mvbw_classify_* write to out, as floats, in this order. */
enum {
  RESULT_SCORE,
  RESULT_VERDICT, /* mvb_verdict; mvbw_verdict_name gives its name */
  RESULT_CONFIDENCE,
  RESULT_P_BEACH,
  RESULT_P_MOUNTAIN,
  RESULT_P_NEITHER,
  RESULT_HAS_NEITHER, /* 0 or 1 */
  RESULT_FLOATS
};

EMSCRIPTEN_KEEPALIVE int mvbw_abi_version(void) { return MVB_WASM_ABI_VERSION; }

EMSCRIPTEN_KEEPALIVE int mvbw_result_floats(void) { return RESULT_FLOATS; }

/* NULL for a code that is no verdict. */
EMSCRIPTEN_KEEPALIVE const char *mvbw_verdict_name(int verdict) {
  if (verdict < MVB_BEACH || verdict > MVB_NEITHER) return NULL;
  return mvb_verdict_name((mvb_verdict)verdict);
}

/* The precision the loaded model runs in (0 f32, 1 int8; -1 before load). */
EMSCRIPTEN_KEEPALIVE int mvbw_precision(const mvb_model *m) {
  return (int)mvb_model_precision(m);
}

/* Returns a handle (0 when out of memory); max_pixels <= 0 keeps the
 * default limit; a NaN threshold keeps the model's rule; precision is an
 * mvb_precision (-1 the model's, 0 f32, 1 int8; another value fails at
 * load). */
EMSCRIPTEN_KEEPALIVE mvb_model *mvbw_create(int threads, float mountain_above,
                                            float beach_below,
                                            float neither_above,
                                            double max_pixels, int precision) {
  mvb_options o = mvb_default_options();
  o.num_threads = threads;
  o.precision = (mvb_precision)precision;
  o.mountain_above = mountain_above;
  o.beach_below = beach_below;
  o.neither_above = neither_above;
  if (max_pixels > 0) o.max_image_pixels = (uint64_t)max_pixels;
  return mvb_model_create(&o);
}

/* Takes ownership of the shards, back to back in one block malloc'ed by
 * the loader (freed in every case): the weights are read where they lie,
 * keeping the heap's peak, which wasm never gives back, low. */
EMSCRIPTEN_KEEPALIVE int mvbw_load(mvb_model *m, const char *json,
                                   size_t json_size, uint8_t *weights,
                                   const size_t *sizes, size_t count) {
  return (int)mvb_model_load_weights_owned(m, json, json_size, weights, sizes,
                                           count);
}

static void write_result(const mvb_result *r, float *out) {
  out[RESULT_SCORE] = r->score;
  out[RESULT_VERDICT] = (float)r->verdict;
  out[RESULT_CONFIDENCE] = r->confidence;
  out[RESULT_P_BEACH] = r->probability[MVB_CLASS_BEACH];
  out[RESULT_P_MOUNTAIN] = r->probability[MVB_CLASS_MOUNTAIN];
  out[RESULT_P_NEITHER] = r->probability[MVB_CLASS_NEITHER];
  out[RESULT_HAS_NEITHER] = (float)r->has_neither;
}

EMSCRIPTEN_KEEPALIVE int mvbw_classify_encoded(mvb_model *m,
                                               const uint8_t *bytes,
                                               size_t size, float *out) {
  mvb_result r;
  mvb_status s = mvb_classify_encoded(m, bytes, size, &r);
  if (s == MVB_OK) write_result(&r, out);
  return (int)s;
}

EMSCRIPTEN_KEEPALIVE int mvbw_classify_rgba(mvb_model *m, const uint8_t *rgba,
                                            int width, int height, float *out) {
  mvb_result r;
  mvb_status s = mvb_classify_rgba(m, rgba, width, height, &r);
  if (s == MVB_OK) write_result(&r, out);
  return (int)s;
}

EMSCRIPTEN_KEEPALIVE int mvbw_run(mvb_model *m, const float *in, size_t n,
                                  float *out, size_t capacity,
                                  size_t *out_count) {
  return (int)mvb_run_tensor(m, in, n, out, capacity, out_count);
}

/* The outputs of the last run; see mvb_output_* in mvb.h. */
EMSCRIPTEN_KEEPALIVE int mvbw_output_count(mvb_model *m) {
  return (int)mvb_output_count(m);
}

EMSCRIPTEN_KEEPALIVE const char *mvbw_output_name(mvb_model *m, int i) {
  return mvb_output_name(m, (size_t)i);
}

EMSCRIPTEN_KEEPALIVE int mvbw_output_size(mvb_model *m, int i) {
  return (int)mvb_output_size(m, (size_t)i);
}

EMSCRIPTEN_KEEPALIVE const float *mvbw_output_data(mvb_model *m, int i) {
  return mvb_output_data(m, (size_t)i);
}

/* Writes the dims (at most MVB_MAX_RANK) as int32 to dims; the rank. */
EMSCRIPTEN_KEEPALIVE int mvbw_output_shape(mvb_model *m, int i, int *dims) {
  int64_t d[MVB_MAX_RANK];
  int rank = mvb_output_shape(m, (size_t)i, d);
  for (int k = 0; k < rank; k++) dims[k] = (int)d[k];
  return rank;
}

/* Writes {height, width, channels} to out3: 0s for a loaded model whose
 * input is not an image (it runs raw tensors); MVB_ERR_STATE only when no
 * model is loaded. */
EMSCRIPTEN_KEEPALIVE int mvbw_input_shape(mvb_model *m, int *out3) {
  mvb_model_input_shape(m, &out3[0], &out3[1], &out3[2]);
  return mvb_model_input_size(m) > 0 ? (int)MVB_OK : (int)MVB_ERR_STATE;
}

EMSCRIPTEN_KEEPALIVE const char *mvbw_error(mvb_model *m) {
  return mvb_model_error(m);
}

EMSCRIPTEN_KEEPALIVE void mvbw_free(mvb_model *m) { mvb_model_free(m); }
