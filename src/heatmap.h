/* heatmap.h: a class activation map drawn over a photo, and where it is
 * strongest in words (internal; the CLI's `mvb explain` uses it).
 * Knows nothing of models, files or XNNPACK: a grid of floats and RGB
 * pixels in, blended pixels or a phrase out. The page draws the same map
 * the same way; docs/design.md ("Where it looked") states the rules for
 * web/ to follow.
 *
 *   intensity  t = (v - min) / (max - min) over the grid's cells, so the
 *              weakest cell is 0 and the strongest 1; a flat map (range 0,
 *              or below 1e-5 of its largest magnitude) is 0 everywhere.
 *   upsampling bilinear, sample centres aligned (PyTorch's
 *              interpolate(mode="bilinear", align_corners=False)): pixel x
 *              of width reads grid column (x + 0.5) * cols / width - 0.5,
 *              clamped to [0, cols - 1]; likewise rows.
 *   colour     inferno (matplotlib), 9 stops at t = 0, 1/8, ..., 1,
 *              linear between them; alpha = MVB_HEATMAP_MAX_ALPHA * t, so
 *              where the model did not look the photo shows unchanged.
 *   words      mvb_heatmap_where below.
 */
#ifndef MVB_HEATMAP_H
#define MVB_HEATMAP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MVB_HEATMAP_MAX_ALPHA 0.7f /* opacity of the map where t = 1 */

typedef struct mvb_heatmap {
  const float *values; /* cell (r, c) is values[(r * cols + c) * stride];
                          borrowed: must outlive the map */
  int rows, cols;      /* >= 1 */
  size_t stride;       /* 1 for a plain grid; the channel count to read one
                          channel of (rows, cols, channels) data, values
                          then pointing at that channel of cell (0, 0) */
  float min, range;    /* set by mvb_heatmap_init; range 0 if flat */
} mvb_heatmap;

/* Fills *map after checking that rows, cols and stride are at least 1 and
 * every cell is finite (the message names the first that is not). */
mvb_status mvb_heatmap_init(mvb_heatmap *map, const float *values, int rows,
                            int cols, size_t stride, mvb_error *err);

/* Intensity of cell (r, c), in [0, 1]. */
float mvb_heatmap_cell(const mvb_heatmap *map, int r, int c);

/* Intensity at pixel (x, y) of a width x height image over which the grid
 * is stretched, in [0, 1]. */
float mvb_heatmap_at(const mvb_heatmap *map, int x, int y, int width,
                     int height);

/* The ramp's colour for intensity t (clamped to [0, 1]). */
void mvb_heatmap_colour(float t, uint8_t rgb[3]);

/* Blends the map over rgb ((height, width, 3), rows packed, width and
 * height >= 1) in place: each pixel becomes
 * round(pixel * (1 - a) + colour(t) * a) with a = MVB_HEATMAP_MAX_ALPHA * t. */
void mvb_heatmap_blend(const mvb_heatmap *map, uint8_t *rgb, int width,
                       int height);

/* Where the map is strongest, as a phrase that completes "Where it looked:"
 * (static string). The rule: cells at least halfway from the minimum to the
 * maximum count, weighted by w = t - 1/2. Of that weight, the share in the
 * upper half of the grid (an odd grid's middle row counting half to each
 * side) is "upper" at 2/3 or more and "lower" at 1/3 or less; likewise
 * "left" / "right". Both: "the upper left" (and so on); one: "mostly the
 * upper half" / "mostly the lower half" / "mostly the left half" / "mostly
 * the right half"; neither: "the middle" if at least half the weight lies
 * in the middle half of the rows and of the columns, else "all over the
 * photo". A flat map: "evenly across the photo". */
const char *mvb_heatmap_where(const mvb_heatmap *map);

#endif
