#include "image.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "jpeg_scan.h"
#include "stb_impl.h"

#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb/stb_image.h>

/* ---- Checks before stb_image runs --------------------------------------
 * stb_image reports no size for headers it considers too large (so the
 * caller's limit could not be named), fills what is missing from a
 * truncated JPEG, BMP or GIF with grey or black instead of failing, and
 * inflates a PNG's data to whatever size it has. So every image is
 * inspected first (container.h), held to the caller's pixel limit, and
 * then a JPEG's scans are walked (jpeg_scan.h) and a PNG's data measured
 * (stb_impl.h) before any pixel buffer exists. */

/* The pixel limit, applied before any pixel buffer exists; also keeps every
 * later size product (w * h * 3 bytes or floats) inside size_t. */
static mvb_status check_size(uint64_t width, uint64_t height,
                             uint64_t max_pixels, mvb_error *err) {
  if (width == 0 || height == 0)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "image has no pixels (%" PRIu64 " x %" PRIu64 ")", width,
                    height);
  if (width > MVB_MAX_SIDE || height > MVB_MAX_SIDE)
    return mvb_fail(err, MVB_ERR_IMAGE_TOO_LARGE,
                    "image is %" PRIu64 " x %" PRIu64
                    " pixels; more than %" PRIu32 " per side is refused",
                    width, height, MVB_MAX_SIDE);
  uint64_t pixels = width * height;
  if (pixels > max_pixels)
    return mvb_fail(err, MVB_ERR_IMAGE_TOO_LARGE,
                    "image is %" PRIu64 " x %" PRIu64 " = %" PRIu64
                    " pixels, more than the limit of %" PRIu64,
                    width, height, pixels, max_pixels);
  if (pixels > SIZE_MAX / (3 * sizeof(float)))
    return mvb_fail(err, MVB_ERR_IMAGE_TOO_LARGE,
                    "image is %" PRIu64 " x %" PRIu64
                    " pixels, too many for this address space",
                    width, height);
  return MVB_OK;
}

/* A PNG's image data may inflate to at most twice what its rows take.
 * libpng and stb_image accept some trailing data (stb_image's issue #276
 * is such a PNG, its extra bytes all zero), and stb's buffer, sized to the
 * rows, doubles once for it anyway, so up to twice costs no more memory
 * than stb spends already. Past that the data is not this image's: a 1 MB
 * PNG declaring 1 x 1 pixels can inflate to 1 GB. Counting allocates only
 * a contiguous copy of the compressed data (no larger than the file). */
static mvb_status check_png_data(const uint8_t *bytes, size_t size,
                                 const mvb_container *png, mvb_error *err) {
  uint8_t *idat = malloc(png->png_idat_bytes);
  if (!idat)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for %zu bytes of PNG image data",
                    png->png_idat_bytes);
  mvb_png_copy_idat(bytes, size, idat);
  uint64_t need = png->png_inflated, limit = 2 * need, inflated;
  const char *reason;
  mvb_inflate r = mvb_zlib_inflated_size(idat, png->png_idat_bytes, limit,
                                         &inflated, &reason);
  free(idat);
  if (r == MVB_INFLATE_OVER_LIMIT)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "PNG image data inflates to more than %" PRIu64
                    " bytes (%zu compressed bytes, counting stopped at %" PRIu64
                    "); a %" PRIu32 " x %" PRIu32 " image needs %" PRIu64,
                    limit, png->png_idat_bytes, inflated, png->width,
                    png->height, need);
  if (r == MVB_INFLATE_CORRUPT)
    return mvb_fail(
        err, MVB_ERR_IMAGE,
        "corrupt PNG: its image data does not inflate after %" PRIu64
        " bytes (stb_image: %s)",
        inflated, reason);
  if (inflated < need)
    return mvb_fail(err, MVB_ERR_IMAGE,
                    "truncated PNG: image data inflates to %" PRIu64
                    " bytes; a %" PRIu32 " x %" PRIu32 " image needs %" PRIu64,
                    inflated, png->width, png->height, need);
  return MVB_OK;
}

/* ---- EXIF orientation ---------------------------------------------------
 * Output pixel (x, y) reads source pixel start + x * step_x + y * step_y,
 * counted in pixels; 5-8 swap width and height. */
static mvb_status orient(mvb_image *image, int orientation, mvb_error *err) {
  if (orientation < 2 || orientation > 8) return MVB_OK;
  /* Per orientation: does output (0, 0) come from the last column, the
   * last row; then the source (column, row) step per output x and per
   * output y. */
  static const signed char moves[9][6] = {
      {0, 0, 1, 0, 0, 1},   /* (unused) */
      {0, 0, 1, 0, 0, 1},   /* 1 as stored */
      {1, 0, -1, 0, 0, 1},  /* 2 mirrored */
      {1, 1, -1, 0, 0, -1}, /* 3 rotated 180 */
      {0, 1, 1, 0, 0, -1},  /* 4 flipped */
      {0, 0, 0, 1, 1, 0},   /* 5 transposed */
      {0, 1, 0, -1, 1, 0},  /* 6 rotated 90 clockwise */
      {1, 1, 0, -1, -1, 0}, /* 7 transversed */
      {1, 0, 0, 1, -1, 0},  /* 8 rotated 90 counter-clockwise */
  };
  const signed char *m = moves[orientation];
  ptrdiff_t w = image->width, h = image->height;
  ptrdiff_t start = m[0] * (w - 1) + m[1] * (h - 1) * w;
  ptrdiff_t step_x = m[2] + m[3] * w, step_y = m[4] + m[5] * w;
  int out_w = orientation >= 5 ? image->height : image->width;
  int out_h = orientation >= 5 ? image->width : image->height;
  uint8_t *out = malloc((size_t)out_w * (size_t)out_h * 3);
  if (!out)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory rotating a %d x %d image", image->width,
                    image->height);
  uint8_t *dst = out;
  for (int y = 0; y < out_h; y++) {
    ptrdiff_t src = start + y * step_y;
    for (int x = 0; x < out_w; x++, src += step_x, dst += 3)
      memcpy(dst, image->rgb + src * 3, 3);
  }
  free(image->rgb);
  image->rgb = out;
  image->width = out_w;
  image->height = out_h;
  return MVB_OK;
}

/* ---- Decoding ---------------------------------------------------------- */

static void image_clear(mvb_image *image) {
  image->width = image->height = 0;
  image->rgb = NULL;
}

void mvb_image_free(mvb_image *image) {
  if (!image) return;
  free(image->rgb); /* stb allocates with malloc */
  image_clear(image);
}

mvb_status mvb_image_decode(const uint8_t *bytes, size_t size,
                            uint64_t max_pixels, mvb_image *out,
                            mvb_error *err) {
  if (!out) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no output image");
  image_clear(out);
  if (size == 0) return mvb_fail(err, MVB_ERR_IMAGE, "empty image (0 bytes)");
  if (!bytes) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no image bytes");
  if (size > INT32_MAX) /* stb takes an int length */
    return mvb_fail(err, MVB_ERR_IMAGE_TOO_LARGE,
                    "image file of %zu bytes; at most %" PRId32 " are read",
                    size, INT32_MAX);
  /* Unknown bytes never reach stb_image: its own format probes are lenient
   * (a JPEG may start with fill bytes) and walk headers we have not checked. */
  mvb_container head;
  mvb_status st = mvb_container_inspect(bytes, size, &head, err);
  if (st == MVB_OK) st = check_size(head.width, head.height, max_pixels, err);
  if (st == MVB_OK && head.format == MVB_FORMAT_JPEG)
    st = mvb_jpeg_check_scans(bytes, size, &head.jpeg, err);
  if (st == MVB_OK && head.format == MVB_FORMAT_PNG)
    st = check_png_data(bytes, size, &head, err);
  if (st != MVB_OK) return st;

  int w = 0, h = 0, channels = 0;
  /* Asking for 3 channels makes stb expand grey, drop alpha and reduce
   * 16-bit PNGs to 8 bits. */
  uint8_t *rgb = stbi_load_from_memory(bytes, (int)size, &w, &h, &channels, 3);
  if (!rgb) {
    const char *reason = stbi_failure_reason();
    reason = reason ? reason : "unknown reason";
    return mvb_fail(
        err,
        strcmp(reason, "too large") == 0  ? MVB_ERR_IMAGE_TOO_LARGE
        : strcmp(reason, "outofmem") == 0 ? MVB_ERR_OUT_OF_MEMORY
                                          : MVB_ERR_IMAGE,
        "cannot decode %s image (%" PRIu32 " x %" PRIu32 "): stb_image: %s",
        mvb_format_name(head.format), head.width, head.height, reason);
  }
  out->rgb = rgb;
  out->width = w;
  out->height = h;
  /* The header check ran on the container's numbers; stb's are what the
   * buffer holds, so they are checked as well. */
  st = check_size((uint64_t)w, (uint64_t)h, max_pixels, err);
  if (st == MVB_OK) st = orient(out, head.orientation, err);
  if (st != MVB_OK) mvb_image_free(out);
  return st;
}

mvb_status mvb_image_from_rgba(const uint8_t *rgba, int width, int height,
                               uint64_t max_pixels, mvb_image *out,
                               mvb_error *err) {
  if (!out) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no output image");
  image_clear(out);
  if (width <= 0 || height <= 0)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                    "RGBA image size %d x %d; both must be positive", width,
                    height);
  if (!rgba) return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no RGBA pixels");
  mvb_status st =
      check_size((uint64_t)width, (uint64_t)height, max_pixels, err);
  if (st != MVB_OK) return st;
  size_t pixels = (size_t)width * (size_t)height;
  uint8_t *rgb = malloc(pixels * 3);
  if (!rgb)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for a %d x %d image", width, height);
  for (size_t i = 0; i < pixels; i++) memcpy(rgb + i * 3, rgba + i * 4, 3);
  out->rgb = rgb;
  out->width = width;
  out->height = height;
  return MVB_OK;
}

/* ---- Resizing (PIL's Image.resize(BILINEAR)) ---------------------------
 * As PIL's Resample.c precompute_coeffs: for output index i the filter is
 * centred on input coordinate (i + 0.5) * scale, the triangle's support is
 * max(scale, 1), the taps cover [centre - support, centre + support) clipped
 * to the image, and each output's weights are normalized to sum to 1. PIL
 * rounds to uint8 after each pass; here both passes stay in float, so the
 * two agree to within about one grey level. */

typedef struct axis {
  int ksize;     /* weights per output (max taps) */
  int *first;    /* (out) first input index read by each output */
  int *taps;     /* (out) number of inputs read */
  float *weight; /* (out, ksize) */
} axis;

static void axis_free(axis *a) {
  free(a->first);
  free(a->taps);
  free(a->weight);
}

static double triangle(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

static mvb_status axis_init(axis *a, int in_size, int out_size,
                            mvb_error *err) {
  double scale = (double)in_size / out_size;
  double filter_scale = scale < 1.0 ? 1.0 : scale;
  double support = 1.0 * filter_scale;   /* the triangle's radius is 1 */
  double inv_scale = 1.0 / filter_scale; /* as PIL, to the last bit */
  a->ksize = (int)ceil(support) * 2 + 1;
  a->first = malloc(sizeof(int) * (size_t)out_size);
  a->taps = malloc(sizeof(int) * (size_t)out_size);
  a->weight = malloc(sizeof(float) * (size_t)out_size * (size_t)a->ksize);
  if (!a->first || !a->taps || !a->weight)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for resize coefficients (%d -> %d)", in_size,
                    out_size);
  for (int i = 0; i < out_size; i++) {
    double center = (i + 0.5) * scale;
    /* PIL truncates toward zero here; negatives are clipped to 0 anyway. */
    int lo = (int)(center - support + 0.5);
    int hi = (int)(center + support + 0.5);
    if (lo < 0) lo = 0;
    if (hi > in_size) hi = in_size;
    int n = hi - lo;
    double sum = 0.0;
    for (int k = 0; k < n; k++)
      sum += triangle((k + lo - center + 0.5) * inv_scale);
    float *dst = a->weight + (size_t)i * (size_t)a->ksize;
    for (int k = 0; k < n; k++) {
      double w = triangle((k + lo - center + 0.5) * inv_scale);
      dst[k] = (float)(sum != 0.0 ? w / sum : 0.0);
    }
    /* PIL's windows end in zero-weight taps; dropping them saves work and
     * leaves every sum unchanged. At least one tap stays. */
    int skip = 0;
    while (n - skip > 1 && dst[skip] == 0.0f) skip++;
    while (n - skip > 1 && dst[n - 1] == 0.0f) n--;
    if (skip) memmove(dst, dst + skip, sizeof(float) * (size_t)(n - skip));
    a->first[i] = lo + skip;
    a->taps[i] = n - skip;
  }
  return MVB_OK;
}

/* acc[i] = sum_k weight[k] * rows[k * stride + i]: the vertical pass over
 * whole rows, contiguous so that the compiler can vectorize it. */
static void blend_rows(float *restrict acc, const uint8_t *restrict rows,
                       size_t stride, const float *weight, int taps, size_t n) {
  for (size_t i = 0; i < n; i++) acc[i] = weight[0] * (float)rows[i];
  int k = 1;
  /* Two rows per sweep halves the traffic through acc. */
  for (; k + 1 < taps; k += 2) {
    const uint8_t *r0 = rows + (size_t)k * stride, *r1 = r0 + stride;
    float w0 = weight[k], w1 = weight[k + 1];
    for (size_t i = 0; i < n; i++)
      acc[i] += w0 * (float)r0[i] + w1 * (float)r1[i];
  }
  if (k < taps) {
    const uint8_t *r0 = rows + (size_t)k * stride;
    float w0 = weight[k];
    for (size_t i = 0; i < n; i++) acc[i] += w0 * (float)r0[i];
  }
}

mvb_status mvb_image_to_tensor(const mvb_image *image, const mvb_preprocess *pp,
                               float *out, mvb_error *err) {
  if (!image || !image->rgb || image->width <= 0 || image->height <= 0)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "no image to preprocess");
  if (!pp || !out)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                    "no preprocessing description or output");
  if (pp->resize != MVB_RESIZE_BILINEAR_ANTIALIAS)
    return mvb_fail(err, MVB_ERR_UNSUPPORTED, "unknown resize method %d",
                    (int)pp->resize);
  if (pp->width <= 0 || pp->height <= 0 || (uint32_t)pp->width > MVB_MAX_SIDE ||
      (uint32_t)pp->height > MVB_MAX_SIDE)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                    "model input size %d x %d is out of range", pp->width,
                    pp->height);
  for (int c = 0; c < 3; c++)
    if (!isfinite(pp->mean[c]) || !isfinite(pp->std[c]) || !(pp->std[c] > 0))
      return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                      "channel %d: mean %g and std %g (std must be > 0)", c,
                      (double)pp->mean[c], (double)pp->std[c]);

  mvb_status st = MVB_OK;
  axis ax = {0}, ay = {0};
  size_t in_row = (size_t)image->width * 3;
  float *acc = malloc(sizeof(float) * in_row);
  if (!acc) {
    st = mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                  "out of memory for a %d-pixel resize row", image->width);
    goto done;
  }
  st = axis_init(&ax, image->width, pp->width, err);
  if (st == MVB_OK) st = axis_init(&ay, image->height, pp->height, err);
  if (st != MVB_OK) goto done;

  /* Vertical pass first: one output row needs only a few input rows, read
   * contiguously; the horizontal pass then runs on a single float row. */
  for (int oy = 0; oy < pp->height; oy++) {
    blend_rows(acc, image->rgb + (size_t)ay.first[oy] * in_row, in_row,
               ay.weight + (size_t)oy * (size_t)ay.ksize, ay.taps[oy], in_row);
    float *dst = out + (size_t)oy * (size_t)pp->width * 3;
    for (int ox = 0; ox < pp->width; ox++, dst += 3) {
      const float *wx = ax.weight + (size_t)ox * (size_t)ax.ksize;
      const float *src = acc + (size_t)ax.first[ox] * 3;
      float r = 0, g = 0, b = 0;
      for (int k = 0; k < ax.taps[ox]; k++, src += 3) {
        r += wx[k] * src[0];
        g += wx[k] * src[1];
        b += wx[k] * src[2];
      }
      dst[0] = (r / 255.0f - pp->mean[0]) / pp->std[0];
      dst[1] = (g / 255.0f - pp->mean[1]) / pp->std[1];
      dst[2] = (b / 255.0f - pp->mean[2]) / pp->std[2];
    }
  }
done:
  axis_free(&ax);
  axis_free(&ay);
  free(acc);
  return st;
}
