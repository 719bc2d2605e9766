/* test_header_example.c: the usage example atop src/mvb.h, cut out by
 * CMakeLists.txt into mvb_header_example.inc, compiled here as it stands and
 * run on a real photo with the shipped weights: the example cannot rot. */
#include "test_util.h"

#include <stdint.h>
#include <stdio.h>

#include "mvb.h"

/* The example's free names: jpeg_bytes and jpeg_size; it returns 1 on any
 * failure it reports (loading or classifying), and falls off the end
 * otherwise. */
static int run_example(const uint8_t *jpeg_bytes, size_t jpeg_size) {
#include "mvb_header_example.inc"
  return 0;
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *data = malloc(1 << 22);
  *size = data ? fread(data, 1, 1 << 22, f) : 0;
  fclose(f);
  return data;
}

static void header_example_compiles_and_classifies(void) {
  size_t size = 0;
  uint8_t *jpeg = read_all("web/examples/picos-de-europa.jpg", &size);
  if (!jpeg) {
    SKIP("web/examples/picos-de-europa.jpg is missing");
    return;
  }
  EXPECT(run_example(jpeg, size) == 0, "the example reported a failure");
  /* The same block on bytes that are no photo must report it: a success
   * above then means the photo was classified, not that nothing checked. */
  static const uint8_t not_a_photo[] = "not a photo";
  EXPECT(run_example(not_a_photo, sizeof not_a_photo) == 1,
         "the example did not report a failure to classify");
  free(jpeg);
}

int main(void) {
  int failed = 0;
  failed += test_run("header_example_compiles_and_classifies",
                     header_example_compiles_and_classifies);
  return test_exit(failed);
}
