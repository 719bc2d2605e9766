/* test_api.c: the public API end to end (mvb.h): loading a model from a
 * directory and from buffers, classifying encoded images and pixels, the
 * verdict thresholds, and every kind of bad input a caller can hand it:
 * each case asserts the status and that the message names the culprit.
 *
 * The model is written by the test: input (8, 8, 3) -> _FusedConv2D with a
 * zero filter (so the result does not depend on the photo) -> Mean ->
 * _FusedMatMul -> Sigmoid. With bias1 = [1, -1, 2, 0], w = [.5, 3, .25, 1]
 * and bias2 = b the logit is 1 + b, so the score is known exactly. */
#include "test_util.h"

#include <math.h>

#include "mvb.h"
#include "sha256.h" /* to record a shard's digest as the exporter does */

/* stb_image_write makes the PNG test images (its JPEG writer trips UBSan;
 * the JPEG cases use a photo shipped in web/examples instead). */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#endif
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* Weights in manifest order: filter (3,3,3,4) = 108, bias1 4, w (4,1) 4,
 * bias2 1, axes int32 2. */
enum { N_FILTER = 108, N_BIAS1 = 4, N_W = 4, N_BIAS2 = 1, N_AXES = 2 };
#define SHARD_BYTES ((N_FILTER + N_BIAS1 + N_W + N_BIAS2 + N_AXES) * 4)

static const char MODEL_TEMPLATE[] =
    "{\"format\": \"graph-model\", \"mvb\": {\"preprocess\": {\"size\": [8, "
    "8]}},"
    " \"signature\": {\"inputs\": {\"x:0\": {\"name\": \"x:0\", \"dtype\": "
    "\"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"-1\"}, {\"size\": "
    "\"8\"}, {\"size\": \"8\"}, {\"size\": \"3\"}]}}},"
    " \"outputs\": {\"Identity:0\": {\"name\": \"Identity:0\"}}},"
    " \"modelTopology\": {\"node\": ["
    "{\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"dtype\": "
    "{\"type\": \"DT_FLOAT\"}}},"
    "{\"name\": \"filter\", \"op\": \"Const\"}, {\"name\": \"bias1\", \"op\": "
    "\"Const\"},"
    "{\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"bias2\", \"op\": "
    "\"Const\"}, {\"name\": \"axes\", \"op\": \"Const\"},"
    "{\"name\": \"conv\", \"op\": \"%s\", \"input\": [\"x\", \"filter\", "
    "\"bias1\"], \"attr\": {"
    "\"padding\": {\"s\": \"U0FNRQ==\"}, \"strides\": {\"list\": {\"i\": "
    "[\"1\", \"1\", \"1\", \"1\"]}},"
    " \"fused_ops\": {\"list\": {\"s\": [\"Qmlhc0FkZA==\", \"UmVsdQ==\"]}}, "
    "\"num_args\": {\"i\": \"1\"}}},"
    "{\"name\": \"mean\", \"op\": \"Mean\", \"input\": [\"conv\", \"axes\"], "
    "\"attr\": {\"keep_dims\": {\"b\": false}}},"
    "{\"name\": \"dense\", \"op\": \"_FusedMatMul\", \"input\": [\"mean\", "
    "\"w\", \"bias2\"], \"attr\": {"
    "\"fused_ops\": {\"list\": {\"s\": [\"Qmlhc0FkZA==\"]}}, \"num_args\": "
    "{\"i\": \"1\"}}},"
    "{\"name\": \"prob\", \"op\": \"Sigmoid\", \"input\": [\"dense\"]},"
    "{\"name\": \"Identity\", \"op\": \"Identity\", \"input\": [\"prob\"]}]},"
    " \"weightsManifest\": [{\"paths\": [\"group1-shard1of1.bin\"], "
    "\"weights\": ["
    "{\"name\": \"filter\", \"shape\": [3, 3, 3, 4], \"dtype\": \"float32\"},"
    "{\"name\": \"bias1\", \"shape\": [4], \"dtype\": \"float32\"},"
    "{\"name\": \"w\", \"shape\": [%d, 1], \"dtype\": \"float32\"},"
    "{\"name\": \"bias2\", \"shape\": [1], \"dtype\": \"%s\"},"
    "{\"name\": \"axes\", \"shape\": [2], \"dtype\": \"int32\"}]}]}";

typedef struct model_spec {
  const char *conv_op; /* "_FusedConv2D", or an unknown op */
  int w_rows;          /* 4 fits; anything else is a shape mismatch */
  const char *dtype;   /* of bias2: "float32", or an unsupported dtype */
  float bias2;
} model_spec;

static const model_spec GOOD = {"_FusedConv2D", N_W, "float32", 1.0f};

static int model_json(const model_spec *spec, char *json, size_t size) {
  return snprintf(json, size, MODEL_TEMPLATE, spec->conv_op, spec->w_rows,
                  spec->dtype);
}

static void model_shard(const model_spec *spec, unsigned char *shard) {
  float f[N_FILTER + N_BIAS1 + N_W + N_BIAS2] = {0};
  const float bias1[N_BIAS1] = {1, -1, 2, 0}, w[N_W] = {0.5f, 3, 0.25f, 1};
  memcpy(f + N_FILTER, bias1, sizeof bias1);
  memcpy(f + N_FILTER + N_BIAS1, w, sizeof w);
  f[N_FILTER + N_BIAS1 + N_W] = spec->bias2;
  const int32_t axes[N_AXES] = {1, 2};
  memcpy(shard, f, sizeof f);
  memcpy(shard + sizeof f, axes, sizeof axes);
}

/* Writes the model into a fresh directory; shard_delta changes the shard's
 * length (negative: shorter), write_shard = false leaves it out. */
static bool write_model(char *dir, size_t size, const model_spec *spec,
                        int shard_delta, bool write_shard) {
  char json[8192];
  unsigned char shard[SHARD_BYTES + 16] = {0};
  model_shard(spec, shard);
  int n = model_json(spec, json, sizeof json);
  return test_make_dir(dir, size) &&
         test_write_file(dir, "model.json", json, (size_t)n) &&
         (!write_shard || test_write_file(dir, "group1-shard1of1.bin", shard,
                                          (size_t)(SHARD_BYTES + shard_delta)));
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Loads spec from a directory; returns the status and keeps the model. */
static mvb_status load(const model_spec *spec, int shard_delta,
                       bool write_shard, const mvb_options *opts,
                       mvb_model **out) {
  char dir[256];
  *out = NULL;
  if (!write_model(dir, sizeof dir, spec, shard_delta, write_shard))
    return MVB_ERR_IO;
  *out = mvb_model_create(opts);
  mvb_status s = *out ? mvb_model_load_dir(*out, dir) : MVB_ERR_OUT_OF_MEMORY;
  test_remove_dir(dir);
  return s;
}

/* A w x h PNG in memory (stb_image_write's callback). */
typedef struct buffer {
  unsigned char data[1 << 17];
  size_t size;
} buffer;

static void append(void *context, void *data, int size) {
  buffer *b = context;
  if (b->size + (size_t)size <= sizeof b->data) {
    memcpy(b->data + b->size, data, (size_t)size);
    b->size += (size_t)size;
  }
}

static bool make_png(buffer *b, int w, int h) {
  static unsigned char rgb[64 * 64 * 3];
  if (w * h > 64 * 64) return false;
  for (int i = 0; i < w * h * 3; i++) rgb[i] = (unsigned char)(i * 7);
  b->size = 0;
  return stbi_write_png_to_func(append, b, w, h, 3, rgb, w * 3) != 0;
}

/* A real photo from the site's examples. */
static bool read_example_jpeg(buffer *b) {
  char path[1024];
  snprintf(path, sizeof path, "%s/web/examples/cold-ripple.jpg",
           test_source_dir());
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  b->size = fread(b->data, 1, sizeof b->data, f);
  bool whole = feof(f) && b->size > 0;
  fclose(f);
  return whole;
}

/* ---- cases ------------------------------------------------------------ */

static void classifies_png_with_known_score(void) {
  mvb_model *m;
  REQUIRE(load(&GOOD, 0, true, NULL, &m) == MVB_OK, "load: %s",
          mvb_model_error(m));
  static buffer img;
  REQUIRE(make_png(&img, 20, 12), "png");
  mvb_result r;
  mvb_status s = mvb_classify_encoded(m, img.data, img.size, &r);
  EXPECT(s == MVB_OK, "classify: %s", mvb_model_error(m));
  EXPECT(fabsf(r.score - sigmoid(2.0f)) < 1e-6f, "score %g", r.score);
  EXPECT(r.verdict == MVB_MOUNTAIN, "verdict %d", r.verdict);
  EXPECT(fabsf(r.confidence - r.score) < 1e-7f, "confidence %g", r.confidence);
  int h, w, c;
  mvb_model_input_shape(m, &h, &w, &c);
  EXPECT(h == 8 && w == 8 && c == 3, "input shape %d %d %d", h, w, c);
  EXPECT(mvb_model_input_size(m) == 192, "input size");
  mvb_model_free(m);
}

static void verdict_follows_thresholds(void) {
  const model_spec beach = {"_FusedConv2D", N_W, "float32", -4.0f};  /* 0.047 */
  const model_spec unsure = {"_FusedConv2D", N_W, "float32", -1.0f}; /* 0.5 */
  mvb_model *m;
  static buffer img;
  mvb_result r;
  REQUIRE(make_png(&img, 9, 9), "png");
  REQUIRE(load(&beach, 0, true, NULL, &m) == MVB_OK, "load beach");
  EXPECT(mvb_classify_encoded(m, img.data, img.size, &r) == MVB_OK, "run");
  EXPECT(r.verdict == MVB_BEACH && fabsf(r.confidence - (1 - r.score)) < 1e-7f,
         "beach: verdict %d confidence %g", r.verdict, r.confidence);
  mvb_model_free(m);
  REQUIRE(load(&unsure, 0, true, NULL, &m) == MVB_OK, "load unsure");
  EXPECT(mvb_classify_encoded(m, img.data, img.size, &r) == MVB_OK, "run");
  EXPECT(r.verdict == MVB_NOT_SURE && fabsf(r.score - 0.5f) < 1e-6f,
         "unsure: verdict %d score %g", r.verdict, r.score);
  mvb_model_free(m);
  mvb_options o = mvb_default_options();
  o.mountain_above = 0.95f; /* 0.88 is no longer sure */
  REQUIRE(load(&GOOD, 0, true, &o, &m) == MVB_OK, "load strict");
  EXPECT(mvb_classify_encoded(m, img.data, img.size, &r) == MVB_OK, "run");
  EXPECT(r.verdict == MVB_NOT_SURE, "strict: verdict %d", r.verdict);
  mvb_model_free(m);
  EXPECT(mvb_verdict_for_score(0.65f, 0.65f, 0.35f) == MVB_NOT_SURE, "0.65");
  EXPECT(mvb_verdict_for_score(0.35f, 0.65f, 0.35f) == MVB_NOT_SURE, "0.35");
  EXPECT(strcmp(mvb_verdict_name(MVB_NOT_SURE), "not sure") == 0, "name");
}

static void loads_from_buffers(void) {
  char json[8192];
  unsigned char shard[SHARD_BYTES];
  int n = model_json(&GOOD, json, sizeof json);
  model_shard(&GOOD, shard);
  const uint8_t *shards[1] = {shard};
  size_t sizes[1] = {SHARD_BYTES};
  mvb_model *m = mvb_model_create(NULL);
  REQUIRE(m, "create");
  EXPECT(mvb_model_load_buffers(m, json, (size_t)n, shards, sizes, 1) == MVB_OK,
         "load: %s", mvb_model_error(m));
  float in[192] = {0}, out[4];
  size_t count = 0;
  EXPECT(mvb_run_tensor(m, in, 192, out, 4, &count) == MVB_OK, "run: %s",
         mvb_model_error(m));
  EXPECT(count == 1 && fabsf(out[0] - sigmoid(2.0f)) < 1e-6f, "out %g", out[0]);
  EXPECT(mvb_run_tensor(m, in, 191, out, 4, &count) == MVB_ERR_SHAPE &&
             test_contains(mvb_model_error(m), "191"),
         "wrong input size: %s", mvb_model_error(m));
  /* The owning variant takes the block over in every case (ASan: no
   * leak, no double free) and refuses what the others refuse. */
  uint8_t *block = malloc(SHARD_BYTES);
  REQUIRE(block, "malloc");
  memcpy(block, shard, SHARD_BYTES);
  EXPECT(mvb_model_load_weights_owned(m, json, (size_t)n, block, sizes, 1) ==
             MVB_OK,
         "block load: %s", mvb_model_error(m));
  EXPECT(mvb_run_tensor(m, in, 192, out, 4, &count) == MVB_OK &&
             fabsf(out[0] - sigmoid(2.0f)) < 1e-6f,
         "block load runs: %s, out %g", mvb_model_error(m), out[0]);
  EXPECT(mvb_model_load_weights_owned(m, "{", 1, malloc(SHARD_BYTES), sizes,
                                      1) == MVB_ERR_MODEL_FORMAT,
         "block load of bad JSON: %s", mvb_model_error(m));
  EXPECT(mvb_model_load_weights_owned(NULL, json, (size_t)n,
                                      malloc(SHARD_BYTES), sizes, 1) ==
             MVB_ERR_INVALID_ARGUMENT,
         "block load without a model");
  sizes[0] = SHARD_BYTES - 4;
  EXPECT(mvb_model_load_weights_owned(m, json, (size_t)n, malloc(SHARD_BYTES),
                                      sizes, 1) == MVB_ERR_MODEL_FORMAT &&
             test_contains(mvb_model_error(m), "group1-shard1of1.bin"),
         "short block: %s", mvb_model_error(m));
  EXPECT(mvb_model_load_buffers(m, json, (size_t)n, shards, sizes, 1) ==
             MVB_ERR_MODEL_FORMAT,
         "short buffer: %s", mvb_model_error(m));
  /* A failed load leaves no model behind. */
  EXPECT(mvb_run_tensor(m, in, 192, out, 4, &count) == MVB_ERR_STATE,
         "after failed load: %s", mvb_model_error(m));
  mvb_model_free(m);
}

static void classifies_rgba_pixels(void) {
  mvb_model *m;
  REQUIRE(load(&GOOD, 0, true, NULL, &m) == MVB_OK, "load");
  static uint8_t rgba[30 * 20 * 4];
  mvb_result r;
  EXPECT(mvb_classify_rgba(m, rgba, 30, 20, &r) == MVB_OK, "rgba: %s",
         mvb_model_error(m));
  EXPECT(fabsf(r.score - sigmoid(2.0f)) < 1e-6f, "score %g", r.score);
  EXPECT(mvb_classify_rgba(m, rgba, 0, 20, &r) != MVB_OK, "zero width");
  EXPECT(mvb_classify_rgba(m, NULL, 30, 20, &r) == MVB_ERR_INVALID_ARGUMENT,
         "NULL pixels");
  mvb_model_free(m);
}

static void missing_directory_names_the_path(void) {
  mvb_model *m = mvb_model_create(NULL);
  REQUIRE(m, "create");
  EXPECT(mvb_model_load_dir(m, "/nonexistent/mvb-model") == MVB_ERR_IO &&
             test_contains(mvb_model_error(m), "/nonexistent/mvb-model"),
         "message: %s", mvb_model_error(m));
  mvb_model_free(m);
}

static void missing_shard_names_it(void) {
  mvb_model *m;
  EXPECT(load(&GOOD, 0, false, NULL, &m) == MVB_ERR_IO &&
             test_contains(mvb_model_error(m), "group1-shard1of1.bin"),
         "message: %s", mvb_model_error(m));
  mvb_model_free(m);
}

static void short_and_long_shards_are_refused(void) {
  mvb_model *m;
  EXPECT(load(&GOOD, -1, true, NULL, &m) == MVB_ERR_MODEL_FORMAT &&
             test_contains(mvb_model_error(m), "group1-shard1of1.bin"),
         "short: %s", mvb_model_error(m));
  mvb_model_free(m);
  EXPECT(load(&GOOD, 8, true, NULL, &m) == MVB_ERR_MODEL_FORMAT &&
             test_contains(mvb_model_error(m), "group1-shard1of1.bin"),
         "long: %s", mvb_model_error(m));
  mvb_model_free(m);
}

static void unknown_op_names_node_and_op(void) {
  const model_spec spec = {"FancyConv", N_W, "float32", 1.0f};
  mvb_model *m;
  EXPECT(load(&spec, 0, true, NULL, &m) == MVB_ERR_UNSUPPORTED &&
             test_contains(mvb_model_error(m), "conv") &&
             test_contains(mvb_model_error(m), "FancyConv"),
         "message: %s", mvb_model_error(m));
  mvb_model_free(m);
}

static void shape_mismatch_names_the_node(void) {
  /* w has 5 rows (20 bytes); keep the shard length right by dropping a
   * float from nothing: the shard grows by 4 bytes. */
  const model_spec spec = {"_FusedConv2D", 5, "float32", 1.0f};
  mvb_model *m;
  EXPECT(load(&spec, 4, true, NULL, &m) == MVB_ERR_SHAPE &&
             test_contains(mvb_model_error(m), "dense"),
         "message: %s", mvb_model_error(m));
  mvb_model_free(m);
}

static void unsupported_dtype_names_the_weight(void) {
  const model_spec spec = {"_FusedConv2D", N_W, "complex64", 1.0f};
  mvb_model *m;
  EXPECT(load(&spec, 0, true, NULL, &m) == MVB_ERR_UNSUPPORTED &&
             test_contains(mvb_model_error(m), "bias2") &&
             test_contains(mvb_model_error(m), "complex64"),
         "message: %s", mvb_model_error(m));
  mvb_model_free(m);
}

/* A NaN weight once loaded and turned every score into NaN. */
static void non_finite_weight_is_refused_naming_it(void) {
  const model_spec spec = {"_FusedConv2D", N_W, "float32", NAN};
  mvb_model *m;
  EXPECT(
      load(&spec, 0, true, NULL, &m) == MVB_ERR_MODEL_FORMAT &&
          test_contains(mvb_model_error(m), "weight \"bias2\": value 0 is nan"),
      "message: %s", mvb_model_error(m));
  mvb_model_free(m);
}

/* The exporter records each shard's SHA-256 under "mvb".shards; a shard
 * changed afterwards is refused by the loader itself, so by the CLI, wasm
 * and any embedder alike, naming the shard. */
static void tampered_shard_is_refused_naming_it(void) {
  char dir[256], json[8192], with_digest[8400];
  unsigned char shard[SHARD_BYTES] = {0};
  model_shard(&GOOD, shard);
  uint8_t d[MVB_SHA256_BYTES];
  char hex[MVB_SHA256_HEX];
  mvb_sha256(shard, sizeof shard, d);
  mvb_sha256_hex(d, hex);
  model_json(&GOOD, json, sizeof json);
  const char *mvb = strstr(json, "\"mvb\": {");
  REQUIRE(mvb, "the template has no \"mvb\" key");
  size_t at = (size_t)(mvb - json) + strlen("\"mvb\": {");
  int n = snprintf(with_digest, sizeof with_digest,
                   "%.*s\"shards\": {\"group1-shard1of1.bin\": {\"sha256\": "
                   "\"%s\"}}, %s",
                   (int)at, json, hex, json + at);
  REQUIRE(test_make_dir(dir, sizeof dir) &&
              test_write_file(dir, "model.json", with_digest, (size_t)n) &&
              test_write_file(dir, "group1-shard1of1.bin", shard, sizeof shard),
          "cannot write the model");
  mvb_model *m = mvb_model_create(NULL);
  REQUIRE(m, "create");
  EXPECT(mvb_model_load_dir(m, dir) == MVB_OK, "intact: %s",
         mvb_model_error(m));
  shard[N_FILTER * 4 + 1] ^= 0x10; /* a byte of bias1 */
  REQUIRE(test_write_file(dir, "group1-shard1of1.bin", shard, sizeof shard),
          "cannot rewrite the shard");
  EXPECT(mvb_model_load_dir(m, dir) == MVB_ERR_MODEL_FORMAT &&
             test_contains(mvb_model_error(m),
                           "weight shard 1 (\"group1-shard1of1.bin\") is "
                           "damaged: its SHA-256 is ") &&
             test_contains(mvb_model_error(m), hex),
         "tampered: %s", mvb_model_error(m));
  mvb_model_free(m);
  test_remove_dir(dir);
}

static void bad_images_are_refused_with_reasons(void) {
  mvb_model *m;
  REQUIRE(load(&GOOD, 0, true, NULL, &m) == MVB_OK, "load");
  mvb_result r;
  const uint8_t empty[1] = {0};
  EXPECT(mvb_classify_encoded(m, empty, 0, &r) == MVB_ERR_IMAGE &&
             test_contains(mvb_model_error(m), "empty"),
         "zero bytes: %s", mvb_model_error(m));
  const char text[] = "<html>not an image</html>";
  EXPECT(mvb_classify_encoded(m, (const uint8_t *)text, sizeof text, &r) ==
                 MVB_ERR_IMAGE &&
             test_contains(mvb_model_error(m),
                           "not a JPEG, PNG, BMP or GIF image (26 bytes "
                           "starting 3c 68 74 6d)"),
         "text: %s", mvb_model_error(m));
  static buffer img;
  REQUIRE(read_example_jpeg(&img), "web/examples/cold-ripple.jpg unreadable");
  EXPECT(mvb_classify_encoded(m, img.data, img.size, &r) == MVB_OK, "jpeg: %s",
         mvb_model_error(m));
  EXPECT(mvb_classify_encoded(m, img.data, img.size / 2, &r) == MVB_ERR_IMAGE &&
             test_contains(mvb_model_error(m), "truncated"),
         "truncated jpeg: %s", mvb_model_error(m));
  mvb_model_free(m);

  mvb_options o = mvb_default_options();
  o.max_image_pixels = 400;
  REQUIRE(load(&GOOD, 0, true, &o, &m) == MVB_OK, "load with pixel limit");
  REQUIRE(make_png(&img, 21, 20), "png");
  EXPECT(mvb_classify_encoded(m, img.data, img.size, &r) ==
                 MVB_ERR_IMAGE_TOO_LARGE &&
             test_contains(mvb_model_error(m), "21"),
         "too large: %s", mvb_model_error(m));
  mvb_model_free(m);
}

/* A Reshape can make the batch 2 although the input's is 1: later ops must
 * size their outputs by the real batch (XNNPACK writes all of it). */
static void batch_changed_by_reshape_is_sized_right(void) {
  static const char json[] =
      "{\"signature\": {\"inputs\": {\"x:0\": {\"name\": \"x:0\", "
      "\"tensorShape\": {\"dim\": [{\"size\": \"1\"}, {\"size\": \"8\"}, "
      "{\"size\": \"8\"}, {\"size\": \"3\"}]}}}, \"outputs\": {\"pool:0\": "
      "{\"name\": \"pool:0\"}}}, \"modelTopology\": {\"node\": ["
      "{\"name\": \"x\", \"op\": \"Placeholder\"}, {\"name\": \"shape\", "
      "\"op\": \"Const\"}, {\"name\": \"r\", \"op\": \"Reshape\", "
      "\"input\": [\"x\", \"shape\"]}, {\"name\": \"pool\", \"op\": "
      "\"MaxPool\", \"input\": [\"r\"], \"attr\": {\"ksize\": {\"list\": "
      "{\"i\": [\"1\", \"2\", \"2\", \"1\"]}}, \"strides\": {\"list\": "
      "{\"i\": [\"1\", \"2\", \"2\", \"1\"]}}, \"padding\": {\"s\": "
      "\"VkFMSUQ=\"}}}]}, \"weightsManifest\": [{\"paths\": [\"s.bin\"], "
      "\"weights\": [{\"name\": \"shape\", \"shape\": [4], \"dtype\": "
      "\"int32\"}]}]}";
  const int32_t shape[4] = {2, 4, 8, 3};
  const uint8_t *shards[1] = {(const uint8_t *)shape};
  const size_t sizes[1] = {sizeof shape};
  mvb_model *m = mvb_model_create(NULL);
  REQUIRE(m, "create");
  REQUIRE(mvb_model_load_buffers(m, json, sizeof json - 1, shards, sizes, 1) ==
              MVB_OK,
          "load: %s", mvb_model_error(m));
  float in[192], out[64];
  for (int i = 0; i < 192; i++) in[i] = (float)i;
  size_t count = 0;
  EXPECT(mvb_run_tensor(m, in, 192, out, 64, &count) == MVB_OK, "run: %s",
         mvb_model_error(m));
  /* (2, 4, 8, 3) pooled 2x2 -> (2, 2, 4, 3): the max of each window is its
   * bottom-right cell. */
  EXPECT(count == 48, "output has %zu values, expected 48", count);
  EXPECT(out[0] == in[(1 * 8 + 1) * 3] && out[47] == in[191], "values %g %g",
         out[0], out[47]);
  mvb_model_free(m);
}

/* ---- small graphs, loaded from buffers ---------------------------------- */

/* A graph model with input x of the given dims ("{\"size\": \"1\"}, ...",
 * or NULL for no shape), the given nodes after the Placeholder, output
 * out:0, and (when weights is not NULL) one shard w.bin holding them. */
static mvb_status load_graph(const char *dims, const char *nodes,
                             const char *weights, const float *shard,
                             size_t shard_bytes, mvb_model **m) {
  char json[4096], shape[512] = "";
  if (dims)
    snprintf(shape, sizeof shape, ", \"tensorShape\": {\"dim\": [%s]}", dims);
  char manifest[1024] = "";
  if (weights)
    snprintf(manifest, sizeof manifest,
             ", \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": "
             "[%s]}]",
             weights);
  int n = snprintf(json, sizeof json,
                   "{\"signature\": {\"inputs\": {\"x:0\": {\"name\": "
                   "\"x:0\"%s}}, \"outputs\": {\"out:0\": {\"name\": "
                   "\"out:0\"}}}, \"modelTopology\": {\"node\": [{\"name\": "
                   "\"x\", \"op\": \"Placeholder\"}, %s]}%s}",
                   shape, nodes, manifest);
  const uint8_t *shards[1] = {(const uint8_t *)shard};
  size_t sizes[1] = {shard_bytes};
  *m = mvb_model_create(NULL);
  if (!*m) return MVB_ERR_OUT_OF_MEMORY;
  return mvb_model_load_buffers(*m, json, (size_t)n, weights ? shards : NULL,
                                weights ? sizes : NULL, weights ? 1 : 0);
}

#define FUSED_BIAS_ADD                                                     \
  "\"fused_ops\": {\"list\": {\"s\": [\"Qmlhc0FkZA==\"]}}, \"num_args\": " \
  "{\"i\": \"1\"}"

/* A graph of one weight, 1.0 (named in manifest), that must not load:
 * status want, with fragment in the message. */
static void expect_graph_refused(const char *what, const char *shape,
                                 const char *nodes, const char *manifest,
                                 mvb_status want, const char *fragment) {
  const float one[1] = {1.0f};
  mvb_model *m = NULL;
  mvb_status s = load_graph(shape, nodes, manifest, one, sizeof one, &m);
  EXPECT(s == want && test_contains(mvb_model_error(m), fragment),
         "%s: status %d: %s", what, s, mvb_model_error(m));
  mvb_model_free(m);
}

/* fused_ops ["BiasAdd"] with no bias input once ran with a zero bias. */
static void fused_bias_add_without_a_bias_is_refused_naming_the_node(void) {
  expect_graph_refused(
      "matmul", "{\"size\": \"1\"}, {\"size\": \"1\"}",
      "{\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"out\", \"op\": "
      "\"_FusedMatMul\", \"input\": [\"x\", \"w\"], \"attr\": {" FUSED_BIAS_ADD
      "}}",
      "{\"name\": \"w\", \"shape\": [1, 1], \"dtype\": \"float32\"}",
      MVB_ERR_MODEL_FORMAT,
      "node out (_FusedMatMul): fused_ops asks for BiasAdd but there is no "
      "bias input");
  expect_graph_refused(
      "conv",
      "{\"size\": \"1\"}, {\"size\": \"2\"}, {\"size\": \"2\"}, {\"size\": "
      "\"1\"}",
      "{\"name\": \"w\", \"op\": \"Const\"}, {\"name\": \"out\", \"op\": "
      "\"_FusedConv2D\", \"input\": [\"x\", \"w\"], \"attr\": {\"padding\": "
      "{\"s\": \"VkFMSUQ=\"}, \"strides\": {\"list\": {\"i\": [\"1\", \"1\", "
      "\"1\", \"1\"]}}, " FUSED_BIAS_ADD "}}",
      "{\"name\": \"w\", \"shape\": [1, 1, 1, 1], \"dtype\": \"float32\"}",
      MVB_ERR_MODEL_FORMAT,
      "node out (_FusedConv2D): fused_ops asks for BiasAdd but there is no "
      "bias input");
}

/* BiasAdd adds along the last dimension, which a scalar does not have: it
 * once read dims[-1]. */
static void bias_add_on_a_scalar_is_refused_naming_the_node(void) {
  expect_graph_refused(
      "scalar", NULL,
      "{\"name\": \"b\", \"op\": \"Const\"}, {\"name\": \"out\", \"op\": "
      "\"BiasAdd\", \"input\": [\"x\", \"b\"]}",
      "{\"name\": \"b\", \"shape\": [1], \"dtype\": \"float32\"}",
      MVB_ERR_SHAPE, "node out (BiasAdd): input x has rank 0");
}

/* The input shape is the signature's: a one-channel model says 1 (it once
 * said 3 for every model), and an input that is no image says 0s. */
static void input_shape_reports_the_signatures_channels(void) {
  mvb_model *m = NULL;
  int h = -1, w = -1, c = -1;
  mvb_status s = load_graph(
      "{\"size\": \"-1\"}, {\"size\": \"4\"}, {\"size\": \"5\"}, {\"size\": "
      "\"1\"}",
      "{\"name\": \"out\", \"op\": \"Relu\", \"input\": [\"x\"]}", NULL, NULL,
      0, &m);
  REQUIRE(s == MVB_OK, "one channel: load: %s", mvb_model_error(m));
  mvb_model_input_shape(m, &h, &w, &c);
  EXPECT(h == 4 && w == 5 && c == 1, "one channel: input shape %d %d %d", h, w,
         c);
  EXPECT(mvb_model_input_size(m) == 20, "one channel: input size %zu",
         mvb_model_input_size(m));
  mvb_model_free(m);
  s = load_graph("{\"size\": \"1\"}, {\"size\": \"10\"}",
                 "{\"name\": \"out\", \"op\": \"Relu\", \"input\": [\"x\"]}",
                 NULL, NULL, 0, &m);
  REQUIRE(s == MVB_OK, "no image: load: %s", mvb_model_error(m));
  mvb_model_input_shape(m, &h, &w, &c);
  EXPECT(h == 0 && w == 0 && c == 0, "no image: input shape %d %d %d", h, w, c);
  mvb_model_free(m);
}

static void misuse_is_reported_not_crashed(void) {
  mvb_model *m = mvb_model_create(NULL);
  REQUIRE(m, "create");
  mvb_result r;
  const uint8_t byte = 0xff;
  EXPECT(mvb_classify_encoded(m, &byte, 1, &r) == MVB_ERR_STATE &&
             test_contains(mvb_model_error(m), "no model"),
         "before load: %s", mvb_model_error(m));
  EXPECT(mvb_classify_encoded(m, &byte, 1, NULL) == MVB_ERR_INVALID_ARGUMENT,
         "NULL result");
  EXPECT(mvb_model_load_dir(m, NULL) == MVB_ERR_INVALID_ARGUMENT, "NULL dir");
  EXPECT(mvb_classify_encoded(NULL, &byte, 1, &r) == MVB_ERR_INVALID_ARGUMENT,
         "NULL model");
  mvb_model_free(m);
  mvb_model_free(NULL);
  mvb_options o = mvb_default_options();
  o.beach_below = 0.8f; /* above mountain_above */
  REQUIRE(load(&GOOD, 0, true, &o, &m) == MVB_ERR_INVALID_ARGUMENT,
          "bad thresholds accepted");
  EXPECT(test_contains(mvb_model_error(m), "threshold"), "message: %s",
         mvb_model_error(m));
  mvb_model_free(m);
}

int main(void) {
  int failed = 0;
  failed += test_run("classifies_png_with_known_score",
                     classifies_png_with_known_score);
  failed += test_run("verdict_follows_thresholds", verdict_follows_thresholds);
  failed += test_run("loads_from_buffers", loads_from_buffers);
  failed += test_run("classifies_rgba_pixels", classifies_rgba_pixels);
  failed += test_run("missing_directory_names_the_path",
                     missing_directory_names_the_path);
  failed += test_run("missing_shard_names_it", missing_shard_names_it);
  failed += test_run("short_and_long_shards_are_refused",
                     short_and_long_shards_are_refused);
  failed +=
      test_run("unknown_op_names_node_and_op", unknown_op_names_node_and_op);
  failed +=
      test_run("shape_mismatch_names_the_node", shape_mismatch_names_the_node);
  failed += test_run("unsupported_dtype_names_the_weight",
                     unsupported_dtype_names_the_weight);
  failed += test_run("non_finite_weight_is_refused_naming_it",
                     non_finite_weight_is_refused_naming_it);
  failed += test_run("tampered_shard_is_refused_naming_it",
                     tampered_shard_is_refused_naming_it);
  failed += test_run("bad_images_are_refused_with_reasons",
                     bad_images_are_refused_with_reasons);
  failed += test_run("batch_changed_by_reshape_is_sized_right",
                     batch_changed_by_reshape_is_sized_right);
  failed += test_run("fused_bias_add_without_a_bias_is_refused_naming_the_node",
                     fused_bias_add_without_a_bias_is_refused_naming_the_node);
  failed += test_run("bias_add_on_a_scalar_is_refused_naming_the_node",
                     bias_add_on_a_scalar_is_refused_naming_the_node);
  failed += test_run("input_shape_reports_the_signatures_channels",
                     input_shape_reports_the_signatures_channels);
  failed += test_run("misuse_is_reported_not_crashed",
                     misuse_is_reported_not_crashed);
  return test_exit(failed);
}
