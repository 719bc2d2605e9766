/* heatmap.c: class activation maps drawn over photos and put into words
 * (heatmap.h states the rules). */
#include "heatmap.h"

#include <math.h>

mvb_status mvb_heatmap_init(mvb_heatmap *map, const float *values, int rows,
                            int cols, size_t stride, mvb_error *err) {
  if (!map || !values || rows < 1 || cols < 1 || stride < 1)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                    "a heatmap needs values and rows, columns and stride of "
                    "at least 1 (got %d x %d, stride %zu)",
                    rows, cols, stride);
  float lo = values[0], hi = values[0];
  for (int r = 0; r < rows; r++) {
    for (int c = 0; c < cols; c++) {
      float v = values[((size_t)r * (size_t)cols + (size_t)c) * stride];
      if (!isfinite(v))
        return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT,
                        "heatmap cell (%d, %d) is %g, not a finite number", r,
                        c, v);
      lo = fminf(lo, v);
      hi = fmaxf(hi, v);
    }
  }
  /* A map that differs only by rounding has no place to point at. */
  float range = hi - lo;
  if (range <= 1e-5f * fmaxf(fabsf(lo), fabsf(hi))) range = 0.0f;
  *map = (mvb_heatmap){values, rows, cols, stride, lo, range};
  return MVB_OK;
}

float mvb_heatmap_cell(const mvb_heatmap *map, int r, int c) {
  if (map->range == 0.0f) return 0.0f;
  float v =
      map->values[((size_t)r * (size_t)map->cols + (size_t)c) * map->stride];
  return (v - map->min) / map->range;
}

/* The two grid cells pixel i of n reads along an axis of cells, and the
 * weight of the second. */
static void sample(int i, int n, int cells, int *lo, int *hi, float *frac) {
  float g = ((float)i + 0.5f) * (float)cells / (float)n - 0.5f;
  if (g < 0.0f) g = 0.0f;
  if (g > (float)(cells - 1)) g = (float)(cells - 1);
  *lo = (int)g;
  *hi = *lo + 1 < cells ? *lo + 1 : *lo;
  *frac = g - (float)*lo;
}

float mvb_heatmap_at(const mvb_heatmap *map, int x, int y, int width,
                     int height) {
  int r0, r1, c0, c1;
  float fy, fx;
  sample(y, height, map->rows, &r0, &r1, &fy);
  sample(x, width, map->cols, &c0, &c1, &fx);
  float top = mvb_heatmap_cell(map, r0, c0) * (1.0f - fx) +
              mvb_heatmap_cell(map, r0, c1) * fx;
  float bottom = mvb_heatmap_cell(map, r1, c0) * (1.0f - fx) +
                 mvb_heatmap_cell(map, r1, c1) * fx;
  return top * (1.0f - fy) + bottom * fy;
}

/* matplotlib's inferno at t = 0, 1/8, ..., 1. */
static const uint8_t INFERNO[9][3] = {
    {0, 0, 4},      {31, 12, 72},   {85, 15, 109},
    {136, 34, 106}, {186, 54, 85},  {227, 89, 51},
    {249, 140, 10}, {249, 201, 50}, {252, 255, 164},
};

void mvb_heatmap_colour(float t, uint8_t rgb[3]) {
  if (!(t > 0.0f)) t = 0.0f; /* NaN too */
  if (t > 1.0f) t = 1.0f;
  float pos = t * 8.0f;
  int k = pos >= 8.0f ? 7 : (int)pos;
  float f = pos - (float)k;
  for (int ch = 0; ch < 3; ch++)
    rgb[ch] = (uint8_t)lroundf((float)INFERNO[k][ch] * (1.0f - f) +
                               (float)INFERNO[k + 1][ch] * f);
}

void mvb_heatmap_blend(const mvb_heatmap *map, uint8_t *rgb, int width,
                       int height) {
  for (int y = 0; y < height; y++) {
    uint8_t *px = rgb + (size_t)y * (size_t)width * 3;
    for (int x = 0; x < width; x++, px += 3) {
      float t = mvb_heatmap_at(map, x, y, width, height);
      float a = MVB_HEATMAP_MAX_ALPHA * t;
      uint8_t colour[3];
      mvb_heatmap_colour(t, colour);
      for (int ch = 0; ch < 3; ch++)
        px[ch] = (uint8_t)lroundf((float)px[ch] * (1.0f - a) +
                                  (float)colour[ch] * a);
    }
  }
}

/* How much of cell i (covering [i, i + 1)) lies in [from, to). */
static float overlap(int i, float from, float to) {
  float o = fminf(to, (float)i + 1.0f) - fmaxf(from, (float)i);
  return o > 0.0f ? o : 0.0f;
}

const char *mvb_heatmap_where(const mvb_heatmap *map) {
  if (map->range == 0.0f) return "evenly across the photo";
  float rows = (float)map->rows, cols = (float)map->cols;
  float total = 0.0f, upper = 0.0f, left = 0.0f, middle = 0.0f;
  for (int r = 0; r < map->rows; r++) {
    for (int c = 0; c < map->cols; c++) {
      float w = mvb_heatmap_cell(map, r, c) - 0.5f;
      if (w <= 0.0f) continue;
      total += w;
      upper += w * overlap(r, 0.0f, rows / 2.0f);
      left += w * overlap(c, 0.0f, cols / 2.0f);
      middle += w * overlap(r, rows / 4.0f, rows * 3.0f / 4.0f) *
                overlap(c, cols / 4.0f, cols * 3.0f / 4.0f);
    }
  }
  /* total > 0: the strongest cell has w = 1/2. */
  float up = upper / total, lf = left / total;
  int v = up >= 2.0f / 3.0f ? 1 : up <= 1.0f / 3.0f ? -1 : 0;
  int h = lf >= 2.0f / 3.0f ? 1 : lf <= 1.0f / 3.0f ? -1 : 0;
  static const char *const PLACES[3][3] = {
      /* h = -1 (right), 0, 1 (left); rows v = -1 (lower), 0, 1 (upper) */
      {"the lower right", "mostly the lower half", "the lower left"},
      {"mostly the right half", NULL, "mostly the left half"},
      {"the upper right", "mostly the upper half", "the upper left"},
  };
  const char *place = PLACES[v + 1][h + 1];
  if (place) return place;
  return middle / total >= 0.5f ? "the middle" : "all over the photo";
}
