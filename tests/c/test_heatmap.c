/* test_heatmap.c: where the model looked. Through the public API, a
 * crafted model's class activation maps on a synthetic two-part photo
 * (sky and peak above, sea and sand below) peak in different halves; then
 * heatmap.h on small known grids (upsampling, colour ramp, blending, the
 * words), mvb_decode_image, and png_file.h writing what decodes back.
 *
 * The model: input (16, 16, 3), pixel / 255 -> AvgPool 4x4 -> a 1x1
 * _FusedConv2D with BiasAdd, 2 channels (beach, mountain): the heatmap
 * (1, 4, 4, 2) -> Mean -> Softmax: the probabilities. Per pixel, beach =
 * r + g/2 - 3b/2 (sand high, sky and sea low) and mountain = -r + g/2 + b
 * (sky high, sand low), so a map's mean is its logit less the bias. */
#include "test_util.h"

#include <math.h>

#include "heatmap.h"
#include "mvb.h"
#include "png_file.h"

/* ---- the crafted model ------------------------------------------------ */

static const char MODEL_JSON[] =
    "{\"format\": \"graph-model\","
    " \"mvb\": {\"preprocess\": {\"size\": [16, 16], \"mean\": [0, 0, 0],"
    " \"std\": [1, 1, 1]}, \"outputs\": {"
    "  \"Identity:0\": {\"kind\": \"probabilities\","
    "   \"classes\": [\"beach\", \"mountain\"]},"
    "  \"heatmap:0\": {\"kind\": \"heatmap\","
    "   \"classes\": [\"beach\", \"mountain\"], \"grid\": [4, 4]}}},"
    " \"signature\": {\"inputs\": {\"x:0\": {\"name\": \"x:0\", \"dtype\":"
    " \"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"-1\"},"
    " {\"size\": \"16\"}, {\"size\": \"16\"}, {\"size\": \"3\"}]}}},"
    " \"outputs\": {\"Identity:0\": {\"name\": \"Identity:0\"},"
    "  \"heatmap:0\": {\"name\": \"heatmap:0\"}}},"
    " \"modelTopology\": {\"node\": ["
    "{\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"dtype\":"
    " {\"type\": \"DT_FLOAT\"}}},"
    "{\"name\": \"filter\", \"op\": \"Const\"},"
    "{\"name\": \"bias\", \"op\": \"Const\"},"
    "{\"name\": \"axes\", \"op\": \"Const\"},"
    "{\"name\": \"pool\", \"op\": \"AvgPool\", \"input\": [\"x\"], \"attr\": {"
    " \"padding\": {\"s\": \"VkFMSUQ=\"},"
    " \"ksize\": {\"list\": {\"i\": [\"1\", \"4\", \"4\", \"1\"]}},"
    " \"strides\": {\"list\": {\"i\": [\"1\", \"4\", \"4\", \"1\"]}}}},"
    "{\"name\": \"cam\", \"op\": \"_FusedConv2D\","
    " \"input\": [\"pool\", \"filter\", \"bias\"], \"attr\": {"
    " \"padding\": {\"s\": \"VkFMSUQ=\"},"
    " \"strides\": {\"list\": {\"i\": [\"1\", \"1\", \"1\", \"1\"]}},"
    " \"fused_ops\": {\"list\": {\"s\": [\"Qmlhc0FkZA==\"]}},"
    " \"num_args\": {\"i\": \"1\"}}},"
    "{\"name\": \"mean\", \"op\": \"Mean\", \"input\": [\"cam\", \"axes\"],"
    " \"attr\": {\"keep_dims\": {\"b\": false}}},"
    "{\"name\": \"prob\", \"op\": \"Softmax\", \"input\": [\"mean\"]},"
    "{\"name\": \"Identity\", \"op\": \"Identity\", \"input\": [\"prob\"]},"
    "{\"name\": \"heatmap\", \"op\": \"Identity\", \"input\": [\"cam\"]}]},"
    " \"weightsManifest\": [{\"paths\": [\"group1-shard1of1.bin\"],"
    " \"weights\": ["
    "{\"name\": \"filter\", \"shape\": [1, 1, 3, 2], \"dtype\": \"float32\"},"
    "{\"name\": \"bias\", \"shape\": [2], \"dtype\": \"float32\"},"
    "{\"name\": \"axes\", \"shape\": [2], \"dtype\": \"int32\"}]}]}";

enum { BEACH_CH = 0, MOUNTAIN_CH = 1, GRID = 4 };

static mvb_model *load_model(void) {
  /* filter (1, 1, 3, 2): [input channel][output channel] */
  const float weights[8] = {1.0f,  -1.0f, /* r */
                            0.5f,  0.5f,  /* g */
                            -1.5f, 1.0f,  /* b */
                            0.0f,  1.0f}; /* bias: beach, mountain */
  const int32_t axes[2] = {1, 2};
  uint8_t shard[sizeof weights + sizeof axes];
  memcpy(shard, weights, sizeof weights);
  memcpy(shard + sizeof weights, axes, sizeof axes);
  const uint8_t *shards[1] = {shard};
  const size_t sizes[1] = {sizeof shard};
  mvb_model *model = mvb_model_create(NULL);
  if (model && mvb_model_load_buffers(model, MODEL_JSON, strlen(MODEL_JSON),
                                      shards, sizes, 1) != MVB_OK) {
    printf("# load: %s\n", mvb_model_error(model));
    mvb_model_free(model);
    return NULL;
  }
  return model;
}

/* ---- the synthetic photo --------------------------------------------- */

enum { SIDE = 64 };

/* Sky with a grey peak and a snow cap above; a band of sea, then sand. */
static void two_part_photo(uint8_t *rgba) {
  for (int y = 0; y < SIDE; y++) {
    for (int x = 0; x < SIDE; x++) {
      uint8_t c[3] = {110, 160, 235}; /* sky */
      int half_base = y - 4;          /* the peak widens downwards from y 4 */
      if (y < SIDE / 2 && half_base >= 0 && abs(x - SIDE / 2) <= half_base) {
        const uint8_t rock[3] = {120, 120, 130}, snow[3] = {240, 240, 245};
        memcpy(c, y < 16 ? snow : rock, 3);
      } else if (y >= SIDE / 2 && y < SIDE / 2 + 8) {
        const uint8_t sea[3] = {30, 100, 150};
        memcpy(c, sea, 3);
      } else if (y >= SIDE / 2) {
        const uint8_t sand[3] = {230, 200, 140};
        memcpy(c, sand, 3);
      }
      uint8_t *p = rgba + ((size_t)y * SIDE + (size_t)x) * 4;
      memcpy(p, c, 3);
      p[3] = 255;
    }
  }
}

/* Mean of channel ch over the grid's upper (or lower) two rows. */
static float half_mean(const float *cam, int ch, int upper) {
  float sum = 0.0f;
  for (int r = upper ? 0 : GRID / 2; r < (upper ? GRID / 2 : GRID); r++)
    for (int c = 0; c < GRID; c++) sum += cam[(r * GRID + c) * 2 + ch];
  return sum / (GRID * GRID / 2);
}

/* Row of the grid's strongest cell of channel ch. */
static int peak_row(const float *cam, int ch) {
  int best = 0;
  for (int k = 1; k < GRID * GRID; k++)
    if (cam[k * 2 + ch] > cam[best * 2 + ch]) best = k;
  return best / GRID;
}

static void maps_of_a_two_part_photo_peak_in_different_halves(void) {
  mvb_model *model = load_model();
  REQUIRE(model, "the crafted model did not load");
  uint8_t *rgba = malloc((size_t)SIDE * SIDE * 4);
  mvb_result r;
  mvb_status s = MVB_ERR_OUT_OF_MEMORY;
  if (rgba) {
    two_part_photo(rgba);
    s = mvb_classify_rgba(model, rgba, SIDE, SIDE, &r);
  }
  free(rgba);
  const float *cam = mvb_output_data(model, 1);
  int64_t dims[MVB_MAX_RANK] = {0};
  int rank = mvb_output_shape(model, 1, dims);
  EXPECT(s == MVB_OK, "classify: %s", mvb_model_error(model));
  EXPECT(mvb_output_kind_of(model, 1) == MVB_OUTPUT_HEATMAP &&
             mvb_output_kind_of(model, 0) == MVB_OUTPUT_PROBABILITIES,
         "output kinds %d, %d", (int)mvb_output_kind_of(model, 0),
         (int)mvb_output_kind_of(model, 1));
  EXPECT(rank == 4 && dims[0] == 1 && dims[1] == GRID && dims[2] == GRID &&
             dims[3] == 2,
         "heatmap rank %d, dims %lld %lld %lld %lld", rank, (long long)dims[0],
         (long long)dims[1], (long long)dims[2], (long long)dims[3]);
  EXPECT(mvb_output_class(model, 1, BEACH_CH) == MVB_CLASS_BEACH &&
             mvb_output_class(model, 1, MOUNTAIN_CH) == MVB_CLASS_MOUNTAIN,
         "heatmap channels hold classes %d, %d", mvb_output_class(model, 1, 0),
         mvb_output_class(model, 1, 1));
  if (s == MVB_OK && cam && rank == 4) {
    float m_up = half_mean(cam, MOUNTAIN_CH, 1),
          m_low = half_mean(cam, MOUNTAIN_CH, 0);
    float b_up = half_mean(cam, BEACH_CH, 1),
          b_low = half_mean(cam, BEACH_CH, 0);
    EXPECT(m_up > m_low + 0.1f, "mountain map: upper %g, lower %g", m_up,
           m_low);
    EXPECT(b_low > b_up + 0.1f, "beach map: upper %g, lower %g", b_up, b_low);
    EXPECT(peak_row(cam, MOUNTAIN_CH) < GRID / 2, "mountain peaks in row %d",
           peak_row(cam, MOUNTAIN_CH));
    EXPECT(peak_row(cam, BEACH_CH) >= GRID / 2, "beach peaks in row %d",
           peak_row(cam, BEACH_CH));
    mvb_heatmap map;
    mvb_error err;
    REQUIRE(mvb_heatmap_init(&map, cam + MOUNTAIN_CH, GRID, GRID, 2, &err) ==
                MVB_OK,
            "%s", err.message);
    EXPECT(strcmp(mvb_heatmap_where(&map), "mostly the upper half") == 0,
           "mountain: %s", mvb_heatmap_where(&map));
    REQUIRE(
        mvb_heatmap_init(&map, cam + BEACH_CH, GRID, GRID, 2, &err) == MVB_OK,
        "%s", err.message);
    EXPECT(strcmp(mvb_heatmap_where(&map), "mostly the lower half") == 0,
           "beach: %s", mvb_heatmap_where(&map));
    EXPECT(r.verdict == MVB_MOUNTAIN, "verdict %s (score %g)",
           mvb_verdict_name(r.verdict), r.score);
  }
  mvb_model_free(model);
}

/* ---- heatmap.h on known grids ----------------------------------------- */

static void upsampling_is_bilinear_with_aligned_centres(void) {
  /* v = c + 2r is linear, so bilinear sampling reproduces it exactly: on a
   * 4 x 4 image, pixels 0..3 read grid positions 0, .25, .75, 1 (centres
   * (i + .5) / 2 - .5, clamped). Intensity = v / 3. */
  const float grid[4] = {0, 1, 2, 3};
  const float at[4] = {0.0f, 0.25f, 0.75f, 1.0f};
  mvb_heatmap map;
  mvb_error err;
  REQUIRE(mvb_heatmap_init(&map, grid, 2, 2, 1, &err) == MVB_OK, "%s",
          err.message);
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      float want = (at[x] + 2.0f * at[y]) / 3.0f;
      float got = mvb_heatmap_at(&map, x, y, 4, 4);
      EXPECT(fabsf(got - want) < 1e-6f, "pixel (%d, %d): %g, want %g", x, y,
             got, want);
    }
  /* One channel of interleaved (rows, cols, 2) data: channel 1 is 10 - v. */
  const float two[8] = {9, 10, 9, 9, 9, 8, 9, 7};
  REQUIRE(mvb_heatmap_init(&map, two + 1, 2, 2, 2, &err) == MVB_OK, "%s",
          err.message);
  EXPECT(mvb_heatmap_cell(&map, 0, 0) == 1.0f &&
             mvb_heatmap_cell(&map, 1, 1) == 0.0f &&
             fabsf(mvb_heatmap_cell(&map, 0, 1) - 2.0f / 3.0f) < 1e-6f,
         "channel 1 cells %g %g %g", mvb_heatmap_cell(&map, 0, 0),
         mvb_heatmap_cell(&map, 0, 1), mvb_heatmap_cell(&map, 1, 1));
  /* A flat map shows nothing, nor does one flat but for rounding. */
  const float flat[4] = {5, 5, 5, 5}, nearly[4] = {5, 5.00001f, 5, 5};
  REQUIRE(mvb_heatmap_init(&map, flat, 2, 2, 1, &err) == MVB_OK, "%s",
          err.message);
  EXPECT(mvb_heatmap_at(&map, 1, 2, 3, 3) == 0.0f, "flat map: %g",
         mvb_heatmap_at(&map, 1, 2, 3, 3));
  REQUIRE(mvb_heatmap_init(&map, nearly, 2, 2, 1, &err) == MVB_OK, "%s",
          err.message);
  EXPECT(mvb_heatmap_at(&map, 1, 0, 2, 2) == 0.0f, "nearly flat map: %g",
         mvb_heatmap_at(&map, 1, 0, 2, 2));
}

static void colour_ramp_is_inferno_and_blend_weighs_by_intensity(void) {
  uint8_t c[3];
  mvb_heatmap_colour(0.0f, c);
  EXPECT(c[0] == 0 && c[1] == 0 && c[2] == 4, "t 0: %d %d %d", c[0], c[1],
         c[2]);
  mvb_heatmap_colour(0.5f, c);
  EXPECT(c[0] == 186 && c[1] == 54 && c[2] == 85, "t .5: %d %d %d", c[0], c[1],
         c[2]);
  mvb_heatmap_colour(1.0f, c);
  EXPECT(c[0] == 252 && c[1] == 255 && c[2] == 164, "t 1: %d %d %d", c[0], c[1],
         c[2]);
  mvb_heatmap_colour(1.0f / 16.0f, c); /* halfway between the first stops */
  EXPECT(c[0] == 16 && c[1] == 6 && c[2] == 38, "t 1/16: %d %d %d", c[0], c[1],
         c[2]);
  /* A 1 x 2 grid [0, 1] over a 2 x 1 image: the left pixel is untouched,
   * the right one 30% photo, 70% the ramp's top (11 * .3 + 252 * .7 ...). */
  const float grid[2] = {0, 1};
  uint8_t px[6] = {11, 11, 11, 11, 11, 11};
  mvb_heatmap map;
  mvb_error err;
  REQUIRE(mvb_heatmap_init(&map, grid, 1, 2, 1, &err) == MVB_OK, "%s",
          err.message);
  mvb_heatmap_blend(&map, px, 2, 1);
  EXPECT(px[0] == 11 && px[1] == 11 && px[2] == 11, "left: %d %d %d", px[0],
         px[1], px[2]);
  EXPECT(px[3] == 180 && px[4] == 182 && px[5] == 118, "right: %d %d %d", px[3],
         px[4], px[5]);
}

/* where() on a rows x cols grid of 0s with 1s at the listed cells. */
static const char *where(int rows, int cols, const char *hot) {
  static float grid[64];
  static mvb_heatmap map;
  static mvb_error err;
  for (int k = 0; k < rows * cols; k++) grid[k] = hot[k] == '#' ? 1.0f : 0.0f;
  if (mvb_heatmap_init(&map, grid, rows, cols, 1, &err) != MVB_OK)
    return err.message;
  return mvb_heatmap_where(&map);
}

static void words_name_the_half_or_corner_where_the_map_is_strongest(void) {
  static const struct {
    int rows, cols;
    const char *hot; /* row by row: '#' hot, '.' cold */
    const char *want;
  } CASES[] = {
      {2, 2, "#...", "the upper left"},
      {2, 2, "...#", "the lower right"},
      {2, 2, ".#..", "the upper right"},
      {2, 2, "..#.", "the lower left"},
      {4, 4, "########........", "mostly the upper half"},
      {4, 4, "........########", "mostly the lower half"},
      {4, 4, "#...#...#...#...", "mostly the left half"},
      {4, 4, "..##..##..##..##", "mostly the right half"},
      {3, 3, "....#....", "the middle"},
      {3, 1, ".#.", "the middle"}, /* the middle row counts half each way */
      {3, 3, "#.#...#.#", "all over the photo"},
      {2, 2, "####", "evenly across the photo"},
  };
  for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
    const char *got = where(CASES[i].rows, CASES[i].cols, CASES[i].hot);
    EXPECT(strcmp(got, CASES[i].want) == 0, "%dx%d %s: \"%s\", want \"%s\"",
           CASES[i].rows, CASES[i].cols, CASES[i].hot, got, CASES[i].want);
  }
  /* Only weight above halfway counts: two 0.45 cells below leave the 1 in
   * the upper right alone (weighing every cell would say the right half). */
  const float grid[4] = {0, 1, 0.45f, 0.45f};
  mvb_heatmap map;
  mvb_error err;
  REQUIRE(mvb_heatmap_init(&map, grid, 2, 2, 1, &err) == MVB_OK, "%s",
          err.message);
  EXPECT(strcmp(mvb_heatmap_where(&map), "the upper right") == 0, "%s",
         mvb_heatmap_where(&map));
}

static void heatmap_refuses_empty_grids_and_cells_that_are_not_finite(void) {
  const float grid[4] = {0, NAN, 1, 2};
  mvb_heatmap map;
  mvb_error err = {{0}};
  EXPECT(
      mvb_heatmap_init(&map, grid, 2, 2, 1, &err) == MVB_ERR_INVALID_ARGUMENT &&
          test_contains(err.message, "cell (0, 1)"),
      "NaN cell: %s", err.message);
  EXPECT(
      mvb_heatmap_init(&map, grid, 0, 2, 1, &err) == MVB_ERR_INVALID_ARGUMENT,
      "0 rows accepted");
  EXPECT(mvb_heatmap_init(&map, grid + 2, 1, 2, 0, &err) ==
             MVB_ERR_INVALID_ARGUMENT,
         "stride 0 accepted");
}

/* ---- decoding and writing the photo ----------------------------------- */

static uint8_t *read_whole(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = f ? malloc(1 << 20) : NULL;
  *size = data ? fread(data, 1, 1 << 20, f) : 0;
  if (f) fclose(f);
  return data;
}

static void png_written_decodes_back_pixel_for_pixel(void) {
  enum { W = 5, H = 3 }; /* not square: a transposition would show */
  uint8_t rgb[W * H * 3];
  for (int k = 0; k < W * H * 3; k++) rgb[k] = (uint8_t)(k * 17 + 3);
  char dir[256], path[300];
  REQUIRE(test_make_dir(dir, sizeof dir), "no temporary directory");
  snprintf(path, sizeof path, "%s/out.png", dir);
  mvb_error err = {{0}};
  mvb_status s = mvb_write_png(path, rgb, W, H, &err);
  size_t size = 0;
  uint8_t *bytes = s == MVB_OK ? read_whole(path, &size) : NULL;
  test_remove_dir(dir);
  EXPECT(s == MVB_OK, "write: %s", err.message);
  mvb_model *model = mvb_model_create(NULL); /* no model loaded: not needed */
  uint8_t *back = NULL;
  int w = 0, h = 0;
  s = model && bytes ? mvb_decode_image(model, bytes, size, &back, &w, &h)
                     : MVB_ERR_OUT_OF_MEMORY;
  EXPECT(s == MVB_OK, "decode: %s", mvb_model_error(model));
  EXPECT(w == W && h == H, "decoded %d x %d", w, h);
  EXPECT(back && w == W && h == H && memcmp(back, rgb, sizeof rgb) == 0,
         "pixels differ");
  free(back);
  free(bytes);
  mvb_model_free(model);
}

static void decode_image_refuses_what_classify_refuses(void) {
  mvb_options opts = mvb_default_options();
  opts.max_image_pixels = 14; /* the 5 x 3 PNG below has 15 */
  mvb_model *model = mvb_model_create(&opts);
  REQUIRE(model, "out of memory");
  const uint8_t junk[] = "not an image at all";
  uint8_t *rgb = (uint8_t *)junk;
  int w = -1, h = -1;
  mvb_status s = mvb_decode_image(model, junk, sizeof junk, &rgb, &w, &h);
  EXPECT(s == MVB_ERR_IMAGE && rgb == NULL && w == 0 && h == 0,
         "junk: status %d, %d x %d", (int)s, w, h);
  EXPECT(test_contains(mvb_model_error(model), "not a JPEG, PNG, BMP or GIF"),
         "junk: %s", mvb_model_error(model));
  /* Over the pixel limit. */
  char dir[256], path[300];
  uint8_t px[5 * 3 * 3] = {0};
  mvb_error err = {{0}};
  size_t size = 0;
  uint8_t *bytes = NULL;
  if (test_make_dir(dir, sizeof dir)) {
    snprintf(path, sizeof path, "%s/big.png", dir);
    if (mvb_write_png(path, px, 5, 3, &err) == MVB_OK)
      bytes = read_whole(path, &size);
    test_remove_dir(dir);
  }
  REQUIRE(bytes, "could not make the PNG: %s", err.message);
  s = mvb_decode_image(model, bytes, size, &rgb, &w, &h);
  EXPECT(s == MVB_ERR_IMAGE_TOO_LARGE && rgb == NULL, "15 pixels: status %d",
         (int)s);
  EXPECT(mvb_decode_image(model, bytes, size, NULL, &w, &h) ==
             MVB_ERR_INVALID_ARGUMENT,
         "NULL rgb accepted");
  free(bytes);
  mvb_model_free(model);
}

static void png_write_failure_names_the_file_and_the_reason(void) {
  uint8_t rgb[3] = {1, 2, 3};
  mvb_error err = {{0}};
  mvb_status s = mvb_write_png("/dev/full", rgb, 1, 1, &err);
  EXPECT(s == MVB_ERR_IO && test_contains(err.message, "/dev/full") &&
             test_contains(err.message, "No space left"),
         "/dev/full: status %d, %s", (int)s, err.message);
  s = mvb_write_png("/nonexistent-dir/x.png", rgb, 1, 1, &err);
  EXPECT(
      s == MVB_ERR_IO && test_contains(err.message, "/nonexistent-dir/x.png"),
      "missing dir: status %d, %s", (int)s, err.message);
}

int main(void) {
  int failed = 0;
  failed += test_run("maps_of_a_two_part_photo_peak_in_different_halves",
                     maps_of_a_two_part_photo_peak_in_different_halves);
  failed += test_run("upsampling_is_bilinear_with_aligned_centres",
                     upsampling_is_bilinear_with_aligned_centres);
  failed += test_run("colour_ramp_is_inferno_and_blend_weighs_by_intensity",
                     colour_ramp_is_inferno_and_blend_weighs_by_intensity);
  failed += test_run("words_name_the_half_or_corner_where_the_map_is_strongest",
                     words_name_the_half_or_corner_where_the_map_is_strongest);
  failed +=
      test_run("heatmap_refuses_empty_grids_and_cells_that_are_not_finite",
               heatmap_refuses_empty_grids_and_cells_that_are_not_finite);
  failed += test_run("png_written_decodes_back_pixel_for_pixel",
                     png_written_decodes_back_pixel_for_pixel);
  failed += test_run("decode_image_refuses_what_classify_refuses",
                     decode_image_refuses_what_classify_refuses);
  failed += test_run("png_write_failure_names_the_file_and_the_reason",
                     png_write_failure_names_the_file_and_the_reason);
  return test_exit(failed);
}
