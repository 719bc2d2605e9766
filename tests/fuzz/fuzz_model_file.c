/* fuzz_model_file.c: libFuzzer target for the model.json + shards parser
 * (mvb_model_file_parse), which reads whatever a web page is given. The
 * input layout is fuzz_input.h's. Any crash, leak or undefined behaviour is
 * a bug in src/model_file.c or src/json.c; a refusal is fine. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "model_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_model_input in;
  if (!fuzz_model_input_split(data, size, &in)) return 0;
  mvb_model_file file = {0};
  mvb_error err = {{0}};
  mvb_model_file_parse(in.json, in.json_size,
                       (const uint8_t *const *)in.shards, in.sizes, in.count,
                       &file, &err);
  /* Freed on failure too: the parser promises an empty file then, and
   * freeing an empty one is allowed, so a half-built one shows as a leak or
   * a double free here. */
  mvb_model_file_free(&file);
  fuzz_model_input_free(&in);
  return 0;
}
