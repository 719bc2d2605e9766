/* image.h: encoded bytes -> RGB pixels -> resized, normalized input tensor.
 * Knows nothing of XNNPACK or model files (internal).
 *
 * The preprocessing is part of a model's description (model.json's "mvb"
 * key, see model_file.h) so that training, the CLI and the browser produce
 * the same tensor from the same photo:
 *   1. decode (stb_image: JPEG, PNG, BMP, GIF first frame) to 8-bit RGB,
 *      alpha dropped; apply the JPEG's EXIF orientation (1-8);
 *   2. resize the whole image (no crop) to height x width with the named
 *      filter; "bilinear-antialias" is PIL's Image.resize(BILINEAR): a
 *      triangle filter whose support widens by the scale factor when
 *      shrinking, sample centres at (x + 0.5) * scale - 0.5, computed here
 *      in float without intermediate rounding;
 *   3. value = (channel / 255 - mean[c]) / std[c], laid out (H, W, 3).
 */
#ifndef MVB_IMAGE_H
#define MVB_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mvb.h"

typedef enum mvb_resize {
  MVB_RESIZE_BILINEAR_ANTIALIAS = 0,
} mvb_resize;

typedef struct mvb_preprocess {
  int height, width; /* model input size */
  mvb_resize resize;
  float mean[3]; /* per channel, on the 0..1 scale */
  float std[3];  /* per channel, > 0 */
} mvb_preprocess;

typedef struct mvb_image {
  int width, height;
  uint8_t *rgb; /* (height, width, 3), owned; free with mvb_image_free */
} mvb_image;

/* Decodes bytes; refuses empty input, non-images, truncated data (JPEG
 * scans that end early included), PNG data that inflates past what its
 * header declares, and images with more than max_pixels pixels, all before
 * the pixels are allocated. On failure *out is left empty. */
mvb_status mvb_image_decode(const uint8_t *bytes, size_t size,
                            uint64_t max_pixels, mvb_image *out,
                            mvb_error *err);

/* Copies RGBA pixels (width*height*4 bytes, rows packed) into RGB. */
mvb_status mvb_image_from_rgba(const uint8_t *rgba, int width, int height,
                               uint64_t max_pixels, mvb_image *out,
                               mvb_error *err);

void mvb_image_free(mvb_image *image); /* accepts an empty image */

/* Writes pp->height * pp->width * 3 floats into out. */
mvb_status mvb_image_to_tensor(const mvb_image *image, const mvb_preprocess *pp,
                               float *out, mvb_error *err);

#endif
