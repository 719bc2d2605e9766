/* fuzz_image.c: libFuzzer target for image decoding (stb_image, EXIF
 * orientation) and the resize to a tensor: the bytes of any file a user
 * drops on the page end up here. Any crash, leak or undefined behaviour is a
 * bug in src/image.c, src/container.c, src/jpeg_scan.c, src/exif.c or our
 * stb_image configuration. */
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* Small enough that a decode plus resize stays well under libFuzzer's 1 s
 * timeout with ASan, UBSan and coverage on every loop: under the former 4
 * megapixel limit a 64775 x 44 image took 0.8-1.2 s to resize (the release
 * CLI classifies it, model load included, in 0.10-0.18 s). */
#define FUZZ_MAX_PIXELS ((uint64_t)1000 * 1000)
#define FUZZ_SIDE 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static float tensor[FUZZ_SIDE * FUZZ_SIDE * 3];
  mvb_image image = {0};
  mvb_error err = {{0}};
  if (mvb_image_decode(data, size, FUZZ_MAX_PIXELS, &image, &err) == MVB_OK) {
    mvb_preprocess pp = {.height = FUZZ_SIDE,
                         .width = FUZZ_SIDE,
                         .resize = MVB_RESIZE_BILINEAR_ANTIALIAS,
                         .mean = {0.5f, 0.5f, 0.5f},
                         .std = {0.5f, 0.5f, 0.5f}};
    mvb_image_to_tensor(&image, &pp, tensor, &err);
  }
  mvb_image_free(&image);
  return 0;
}
