/* fuzz_load.c: libFuzzer target for the public API end to end: a hostile
 * model.json + shards (fuzz_input.h's layout), laid back to back in one
 * block as the CLI and the wasm engine load them, through
 * mvb_model_load_weights_owned (weights read and requantized in place),
 * which builds an XNNPACK subgraph from it, then a run on zeros and a
 * classification of a tiny grey picture. Any crash, leak or undefined
 * behaviour in our code is a bug; XNNPACK refusing a graph is fine. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "mvb.h"

/* Graphs with bigger inputs are loaded but not run: running them would only
 * measure XNNPACK's speed and push libFuzzer into its time limits. */
#define FUZZ_MAX_INPUT_VALUES ((size_t)1 << 20)
#define FUZZ_OUTPUT_CAPACITY 1024
#define FUZZ_PICTURE_SIDE 5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(mvb_model *model) {
  size_t n = mvb_model_input_size(model);
  if (n == 0 || n > FUZZ_MAX_INPUT_VALUES) return;
  static float output[FUZZ_OUTPUT_CAPACITY];
  float *zeros = calloc(n, sizeof *zeros);
  if (!zeros) return;
  size_t count = 0;
  mvb_run_tensor(model, zeros, n, output, FUZZ_OUTPUT_CAPACITY, &count);
  free(zeros);

  /* A model that describes photos also goes through preprocessing with its
   * own (hostile) size, mean and std. */
  int height = 0, width = 0, channels = 0;
  mvb_model_input_shape(model, &height, &width, &channels);
  if (height > 0 && width > 0) {
    static uint8_t rgba[FUZZ_PICTURE_SIDE * FUZZ_PICTURE_SIDE * 4];
    for (size_t i = 0; i < sizeof rgba; i++) rgba[i] = (uint8_t)(i * 37);
    mvb_result result;
    mvb_classify_rgba(model, rgba, FUZZ_PICTURE_SIDE, FUZZ_PICTURE_SIDE,
                      &result);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_model_input in;
  if (!fuzz_model_input_split(data, size, &in)) return 0;
  size_t total = 0;
  for (size_t k = 0; k < in.count; k++) total += in.sizes[k];
  uint8_t *block = malloc(total + 1);
  for (size_t k = 0, at = 0; block && k < in.count; at += in.sizes[k], k++)
    if (in.sizes[k]) memcpy(block + at, in.shards[k], in.sizes[k]);
  mvb_model *model = block ? mvb_model_create(NULL) : NULL;
  if (model && mvb_model_load_weights_owned(model, in.json, in.json_size,
                                            block, in.sizes,
                                            in.count) == MVB_OK)
    run(model);
  else if (!model)
    free(block);
  mvb_model_free(model);
  fuzz_model_input_free(&in);
  return 0;
}
