/* wasm_api.c: the functions the JavaScript loader (web/engine.js) calls.
 * A thin layer over mvb.h that keeps every argument a number or a heap
 * offset; see docs/design.md for the contract (ABI version 1). */
#include <emscripten/emscripten.h>
#include <stdint.h>

#include "mvb.h"

#define MVB_WASM_ABI_VERSION 1

EMSCRIPTEN_KEEPALIVE int mvbw_abi_version(void) { return MVB_WASM_ABI_VERSION; }

/* Returns a handle (0 when out of memory); max_pixels <= 0 keeps the
 * default limit. */
EMSCRIPTEN_KEEPALIVE mvb_model *mvbw_create(int threads, float mountain_above,
                                            float beach_below,
                                            double max_pixels) {
  mvb_options o = mvb_default_options();
  o.num_threads = threads;
  o.mountain_above = mountain_above;
  o.beach_below = beach_below;
  if (max_pixels > 0) o.max_image_pixels = (uint64_t)max_pixels;
  return mvb_model_create(&o);
}

/* Takes ownership of the shards (malloc'ed by the loader): each is freed
 * and its table entry zeroed once parsed, keeping the heap's peak, which
 * wasm never gives back, one copy of the download lower. */
EMSCRIPTEN_KEEPALIVE int mvbw_load(mvb_model *m, const char *json,
                                   size_t json_size, uint8_t **shards,
                                   const size_t *sizes, size_t count) {
  return (int)mvb_model_load_buffers_owned(m, json, json_size, shards, sizes,
                                           count);
}

static void write_result(const mvb_result *r, float *out3) {
  out3[0] = r->score;
  out3[1] = (float)r->verdict;
  out3[2] = r->confidence;
}

EMSCRIPTEN_KEEPALIVE int mvbw_classify_encoded(mvb_model *m,
                                               const uint8_t *bytes,
                                               size_t size, float *out3) {
  mvb_result r;
  mvb_status s = mvb_classify_encoded(m, bytes, size, &r);
  if (s == MVB_OK) write_result(&r, out3);
  return (int)s;
}

EMSCRIPTEN_KEEPALIVE int mvbw_classify_rgba(mvb_model *m, const uint8_t *rgba,
                                            int width, int height,
                                            float *out3) {
  mvb_result r;
  mvb_status s = mvb_classify_rgba(m, rgba, width, height, &r);
  if (s == MVB_OK) write_result(&r, out3);
  return (int)s;
}

EMSCRIPTEN_KEEPALIVE int mvbw_run(mvb_model *m, const float *in, size_t n,
                                  float *out, size_t capacity,
                                  size_t *out_count) {
  return (int)mvb_run_tensor(m, in, n, out, capacity, out_count);
}

EMSCRIPTEN_KEEPALIVE int mvbw_input_shape(mvb_model *m, int *out3) {
  mvb_model_input_shape(m, &out3[0], &out3[1], &out3[2]);
  return out3[0] > 0 ? (int)MVB_OK : (int)MVB_ERR_STATE;
}

EMSCRIPTEN_KEEPALIVE const char *mvbw_error(mvb_model *m) {
  return mvb_model_error(m);
}

EMSCRIPTEN_KEEPALIVE void mvbw_free(mvb_model *m) { mvb_model_free(m); }
