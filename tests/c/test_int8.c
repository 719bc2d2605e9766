/* test_int8.c: MVB_PRECISION_INT8. The requantization itself (quantize.h),
 * a model mixing ops with and without int8 kernels, uint8 weights read and
 * requantized in place giving what copies give, layers reading fewer
 * than 64 channels staying f32, weights int8 cannot represent (refused,
 * naming them), and the conformance kit's InceptionV3
 * in int8 against our f32 run of it (which conformance.test.mjs ties to
 * TensorFlow.js within 1e-5): |d prob| <= 0.01 and the 512 hidden
 * activations' cosine similarity >= 0.999 on the kit's three inputs. */
#include "test_util.h"

#include <float.h>
#include <math.h>

#include "mvb.h"
#include "quantize.h"

/* ---- quantize.h --------------------------------------------------------- */

/* A (kh*kw*in = 5, out = 3) TensorFlow filter: channel innermost. */
enum { PER = 5, CH = 3 };
static const mvb_qlayout FILTER = {CH, PER, /*channel_stride=*/1,
                                   /*element_stride=*/CH};

static void quantize_rounds_within_half_a_step(void) {
  const float w[PER * CH] = {0.5f, -2.0f, 0, -1.0f, 1.0f,  0, 0.25f, 0.3f, 0,
                             0.1f, -1.9f, 0, -0.7f, 0.05f, 0};
  mvb_qweights q;
  mvb_error err;
  const mvb_qsource src = {w, NULL, NULL};
  REQUIRE(mvb_quantize_channels(&src, &FILTER, "f", &q, &err) == MVB_OK, "%s",
          err.message);
  const float peak[CH] = {1.0f, 2.0f, 0.0f};
  for (int c = 0; c < CH; c++) {
    float want = peak[c] > 0 ? peak[c] / 127.0f : 1.0f;
    EXPECT(q.scale[c] == want, "channel %d: scale %g, expected %g", c,
           q.scale[c], want);
    for (int e = 0; e < PER; e++) {
      float v = w[e * CH + c], back = q.scale[c] * q.data[c * PER + e];
      EXPECT(fabsf(v - back) <= q.scale[c] / 2, "w[%d][%d] %g came back %g", e,
             c, v, back);
    }
  }
  EXPECT(q.data[0 * PER + 1] == -127 && q.data[1 * PER + 0] == -127,
         "a channel's largest weight must map to -127: %d, %d",
         q.data[0 * PER + 1], q.data[1 * PER + 0]);
  for (int e = 0; e < PER; e++)
    EXPECT(q.data[2 * PER + e] == 0, "the all-zero channel has q %d",
           q.data[2 * PER + e]);
  mvb_qweights_free(&q);
}

/* A uint8 weight read through its table requantizes exactly as its
 * floats do (the loader never makes the float copy of such a weight). */
static void quantize_reads_bytes_like_floats(void) {
  float table[256], w[PER * CH];
  uint8_t bytes[PER * CH];
  for (int b = 0; b < 256; b++) table[b] = (float)(-1.5 + 0.0117 * b);
  for (int i = 0; i < PER * CH; i++) {
    bytes[i] = (uint8_t)(i * 37 % 256);
    w[i] = table[bytes[i]];
  }
  const mvb_qsource from_floats = {w, NULL, NULL};
  const mvb_qsource from_bytes = {NULL, bytes, table};
  mvb_qweights a, b;
  mvb_error err;
  REQUIRE(mvb_quantize_channels(&from_floats, &FILTER, "f", &a, &err) == MVB_OK,
          "%s", err.message);
  REQUIRE(mvb_quantize_channels(&from_bytes, &FILTER, "f", &b, &err) == MVB_OK,
          "%s", err.message);
  EXPECT(memcmp(a.data, b.data, PER * CH) == 0 &&
             memcmp(a.scale, b.scale, CH * sizeof *a.scale) == 0,
         "bytes and floats must give the same int8 weights and scales");
  mvb_qweights_free(&a);
  mvb_qweights_free(&b);
}

/* Each bad tensor must be refused with its name and channel in the
 * message, and nothing left to free. */
static void expect_refused(const float *w, const mvb_qlayout *l,
                           const char *must_say) {
  mvb_qweights q;
  mvb_error err;
  const mvb_qsource src = {w, NULL, NULL};
  mvb_status s = mvb_quantize_channels(&src, l, "model/dense/kernel", &q, &err);
  EXPECT(s != MVB_OK, "accepted (expected a refusal saying \"%s\")", must_say);
  EXPECT(test_contains(err.message, "model/dense/kernel") &&
             test_contains(err.message, must_say),
         "message \"%s\" should name the tensor and say \"%s\"", err.message,
         must_say);
  EXPECT(q.data == NULL, "int8 data allocated for a refused tensor");
  mvb_qweights_free(&q);
}

static void quantize_refuses_what_int8_cannot_hold(void) {
  float w[PER * CH] = {0};
  w[7] = NAN;
  expect_refused(w, &FILTER, "channel 1 is not finite");
  w[7] = -INFINITY;
  expect_refused(w, &FILTER, "channel 1 is not finite");
  w[7] = 0;
  w[5] = 100.0f * FLT_MIN; /* channel 2's scale would be subnormal */
  expect_refused(w, &FILTER, "channel 2 peaks at");
  mvb_qlayout wide = {1, MVB_INT8_MAX_SUMS + 1, 0, 1};
  expect_refused(w, &wide, "sums 132105 products");
}

/* ---- models written by the test --------------------------------------- */

/* model.json with ' for " (readability): x (1, 6, 6, C) -> depthwise 3x3
 * (no int8 kernel: stays f32) -> _FusedConv2D 3x3 C -> 8 + Relu -> Mean ->
 * MatMul (8, 3) (8 channels: too few for int8, stays f32). */
static const char MIXED_JSON[] =
    "{'format': 'graph-model',"
    " 'signature': {'inputs': {'x:0': {'name': 'x:0', 'dtype': 'DT_FLOAT',"
    "  'tensorShape': {'dim': [{'size': '-1'}, {'size': '6'}, {'size': '6'},"
    "  {'size': '%d'}]}}}, 'outputs': {'Identity:0': {'name': 'Identity:0'}}},"
    " 'modelTopology': {'node': ["
    "  {'name': 'x', 'op': 'Placeholder', 'attr': {'dtype': {'type': "
    "'DT_FLOAT'}}},"
    "  {'name': 'dw/filter', 'op': 'Const'}, {'name': 'conv/filter', 'op': "
    "'Const'},"
    "  {'name': 'conv/bias', 'op': 'Const'}, {'name': 'dense/w', 'op': "
    "'Const'},"
    "  {'name': 'axes', 'op': 'Const'},"
    "  {'name': 'dw', 'op': 'DepthwiseConv2dNative', 'input': ['x', "
    "'dw/filter'],"
    "   'attr': {'padding': {'s': 'U0FNRQ=='}, 'strides': {'list': {'i': "
    "['1', '1', '1', '1']}}}},"
    "  {'name': 'conv', 'op': '_FusedConv2D', 'input': ['dw', 'conv/filter', "
    "'conv/bias'],"
    "   'attr': {'padding': {'s': 'U0FNRQ=='}, 'strides': {'list': {'i': "
    "['1', '1', '1', '1']}},"
    "   'fused_ops': {'list': {'s': ['Qmlhc0FkZA==', 'UmVsdQ==']}}, "
    "'num_args': {'i': '1'}}},"
    "  {'name': 'mean', 'op': 'Mean', 'input': ['conv', 'axes'], 'attr': "
    "{'keep_dims': {'b': false}}},"
    "  {'name': 'dense', 'op': 'MatMul', 'input': ['mean', 'dense/w']},"
    "  {'name': 'Identity', 'op': 'Identity', 'input': ['dense']}]},"
    " 'weightsManifest': [{'paths': ['w.bin'], 'weights': ["
    "  {'name': 'dw/filter', 'shape': [3, 3, %d, 1], 'dtype': 'float32'},"
    "  {'name': 'conv/filter', 'shape': [3, 3, %d, 8], 'dtype': 'float32'},"
    "  {'name': 'conv/bias', 'shape': [8], 'dtype': 'float32'},"
    "  {'name': 'dense/w', 'shape': [8, 3], 'dtype': 'float32'},"
    "  {'name': 'axes', 'shape': [2], 'dtype': 'int32'}]}]}";
enum { MAX_C = 64 };

/* x (1, 1, 1, N) -> Reshape [-1, N] -> MatMul dense/kernel (N, 1). */
static const char DENSE_JSON[] =
    "{'format': 'graph-model',"
    " 'signature': {'inputs': {'x:0': {'name': 'x:0', 'dtype': 'DT_FLOAT',"
    "  'tensorShape': {'dim': [{'size': '-1'}, {'size': '1'}, {'size': '1'},"
    "  {'size': '%d'}]}}}, 'outputs': {'Identity:0': {'name': "
    "'Identity:0'}}},"
    " 'modelTopology': {'node': ["
    "  {'name': 'x', 'op': 'Placeholder', 'attr': {'dtype': {'type': "
    "'DT_FLOAT'}}},"
    "  {'name': 'dense/kernel', 'op': 'Const'}, {'name': 'shape', 'op': "
    "'Const'},"
    "  {'name': 'flat', 'op': 'Reshape', 'input': ['x', 'shape']},"
    "  {'name': 'dense', 'op': 'MatMul', 'input': ['flat', 'dense/kernel']},"
    "  {'name': 'Identity', 'op': 'Identity', 'input': ['dense']}]},"
    " 'weightsManifest': [{'paths': ['w.bin'], 'weights': ["
    "  {'name': 'dense/kernel', 'shape': [%d, 1], 'dtype': 'float32'},"
    "  {'name': 'shape', 'shape': [2], 'dtype': 'int32'}]}]}";

/* x (1, 3, 3, 64) -> Conv2D 3x3 VALID (f, 4 channels) and, flattened to
 * 576 values, four matmuls: w1 twice (a weight with two readers), w2
 * transposed (4, 576), w3 (576, 4); summed. Every weight uint8. */
#define U8 "'dtype': 'float32', 'quantization': {'dtype': 'uint8', " \
           "'min': -0.5, 'scale': 0.00390625}"
static const char IN_PLACE_JSON[] =
    "{'format': 'graph-model',"
    " 'signature': {'inputs': {'x:0': {'name': 'x:0', 'dtype': 'DT_FLOAT',"
    "  'tensorShape': {'dim': [{'size': '-1'}, {'size': '3'}, {'size': '3'},"
    "  {'size': '64'}]}}}, 'outputs': {'Identity:0': {'name': 'Identity:0'}}},"
    " 'modelTopology': {'node': ["
    "  {'name': 'x', 'op': 'Placeholder', 'attr': {'dtype': {'type': "
    "'DT_FLOAT'}}},"
    "  {'name': 'f', 'op': 'Const'}, {'name': 'w1', 'op': 'Const'},"
    "  {'name': 'w2', 'op': 'Const'}, {'name': 'w3', 'op': 'Const'},"
    "  {'name': 'flat_shape', 'op': 'Const'}, {'name': 'r_shape', 'op': "
    "'Const'},"
    "  {'name': 'conv', 'op': 'Conv2D', 'input': ['x', 'f'], 'attr': "
    "{'padding': {'s': 'VkFMSUQ='}, 'strides': {'list': {'i': ['1', '1', "
    "'1', '1']}}}},"
    "  {'name': 'r', 'op': 'Reshape', 'input': ['conv', 'r_shape']},"
    "  {'name': 'flat', 'op': 'Reshape', 'input': ['x', 'flat_shape']},"
    "  {'name': 'a', 'op': 'MatMul', 'input': ['flat', 'w1']},"
    "  {'name': 'b', 'op': 'MatMul', 'input': ['flat', 'w1']},"
    "  {'name': 'c', 'op': 'MatMul', 'input': ['flat', 'w2'], 'attr': "
    "{'transpose_b': {'b': true}}},"
    "  {'name': 'd', 'op': 'MatMul', 'input': ['flat', 'w3']},"
    "  {'name': 'ab', 'op': 'AddV2', 'input': ['a', 'b']},"
    "  {'name': 'cd', 'op': 'AddV2', 'input': ['c', 'd']},"
    "  {'name': 'cdr', 'op': 'AddV2', 'input': ['cd', 'r']},"
    "  {'name': 'sum', 'op': 'AddV2', 'input': ['ab', 'cdr']},"
    "  {'name': 'Identity', 'op': 'Identity', 'input': ['sum']}]},"
    " 'weightsManifest': [{'paths': ['w.bin'], 'weights': ["
    "  {'name': 'f', 'shape': [3, 3, 64, 4], " U8 "},"
    "  {'name': 'w1', 'shape': [576, 4], " U8 "},"
    "  {'name': 'w2', 'shape': [4, 576], " U8 "},"
    "  {'name': 'w3', 'shape': [576, 4], " U8 "},"
    "  {'name': 'flat_shape', 'shape': [2], 'dtype': 'int32'},"
    "  {'name': 'r_shape', 'shape': [2], 'dtype': 'int32'}]}]}";
#undef U8
enum { IN_PLACE_U8 = 4 * 2304, IN_PLACE_BYTES = IN_PLACE_U8 + 16 };

/* Formats a ' -quoted template, every %d n, into real JSON (malloc'ed). */
static char *json_of(const char *template, int n) {
  size_t size = strlen(template) + 64;
  char *json = malloc(size);
  if (!json) return NULL;
  snprintf(json, size, template, n, n, n);
  for (char *p = json; *p; p++)
    if (*p == '\'') *p = '"';
  return json;
}

/* Loads json + one shard of bytes with the given precision. */
static mvb_model *load_with(mvb_precision precision, const char *json,
                            const void *shard, size_t shard_size,
                            mvb_status *status) {
  mvb_options o = mvb_default_options();
  o.precision = precision;
  mvb_model *m = mvb_model_create(&o);
  const uint8_t *shards[1] = {shard};
  *status =
      m ? mvb_model_load_buffers(m, json, strlen(json), shards, &shard_size, 1)
        : MVB_ERR_OUT_OF_MEMORY;
  return m;
}

/* Deterministic values in [-1, 1). */
static float next_value(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return (float)(*state >> 8) / (float)(1u << 23) - 1.0f;
}

/* f32 and int8 runs of the same model on the same input: the largest
 * difference, or -1 if either fails (with why). */
static float run_both(const char *json, const void *shard, size_t shard_size,
                      const float *input, size_t n_input, float *largest) {
  float out[2][8], worst = -1;
  size_t count[2] = {0, 0};
  for (int p = 0; p < 2; p++) {
    mvb_status s;
    mvb_model *m = load_with(p ? MVB_PRECISION_INT8 : MVB_PRECISION_F32, json,
                             shard, shard_size, &s);
    if (s == MVB_OK)
      s = mvb_run_tensor(m, input, n_input, out[p], 8, &count[p]);
    EXPECT(s == MVB_OK, "%s: %s", p ? "int8" : "f32", mvb_model_error(m));
    mvb_model_free(m);
    if (s != MVB_OK) return -1;
  }
  *largest = 0;
  for (size_t i = 0; i < count[0] && count[0] == count[1]; i++) {
    worst = fmaxf(worst, fabsf(out[0][i] - out[1][i]));
    *largest = fmaxf(*largest, fabsf(out[0][i]));
  }
  return worst;
}

/* The in-place model's output with its weights copied
 * (mvb_model_load_buffers) or read where they lie in a block the model
 * takes over (mvb_model_load_weights_owned); false if either failed. */
static bool run_in_place_model(mvb_precision precision, bool in_place,
                               const char *json, const uint8_t *shard,
                               const float *input, float out[4]) {
  mvb_status s;
  mvb_model *m;
  if (in_place) {
    mvb_options o = mvb_default_options();
    o.precision = precision;
    m = mvb_model_create(&o);
    uint8_t *block = malloc(IN_PLACE_BYTES);
    size_t size = IN_PLACE_BYTES;
    if (block) memcpy(block, shard, IN_PLACE_BYTES);
    s = m ? mvb_model_load_weights_owned(m, json, strlen(json), block, &size, 1)
          : MVB_ERR_OUT_OF_MEMORY;
  } else {
    m = load_with(precision, json, shard, IN_PLACE_BYTES, &s);
  }
  size_t count = 0;
  if (s == MVB_OK) s = mvb_run_tensor(m, input, 576, out, 4, &count);
  EXPECT(s == MVB_OK && count == 4, "%s, %s: %s (%zu values)",
         precision == MVB_PRECISION_INT8 ? "int8" : "f32",
         in_place ? "in place" : "copied", mvb_model_error(m), count);
  mvb_model_free(m);
  return s == MVB_OK && count == 4;
}

/* uint8 weights read where they lie, and in int8 requantized over their
 * own bytes (a matmul's as stored, (K, N) or transposed (N, K); a 3x3
 * convolution's rewritten channel-major), give what copies of them give,
 * bit for bit, in both precisions, and int8 stays within 3% of f32; a
 * weight two matmuls read is requantized into a copy. */
static void weights_read_in_place_run_as_copies(void) {
  char *json = json_of(IN_PLACE_JSON, 0);
  uint8_t shard[IN_PLACE_BYTES];
  float input[576], out[2][2][4];
  uint32_t state = 7;
  REQUIRE(json, "out of memory");
  for (int i = 0; i < IN_PLACE_U8; i++)
    shard[i] = (uint8_t)((next_value(&state) + 1.0f) * 127.5f);
  const int32_t shapes[4] = {-1, 576, -1, 4};
  memcpy(shard + IN_PLACE_U8, shapes, sizeof shapes);
  for (int i = 0; i < 576; i++) input[i] = next_value(&state);
  bool ok = true;
  for (int p = 0; p < 2; p++)
    for (int in_place = 0; in_place < 2; in_place++)
      ok &= run_in_place_model(p ? MVB_PRECISION_INT8 : MVB_PRECISION_F32,
                               in_place, json, shard, input, out[p][in_place]);
  free(json);
  if (!ok) return;
  for (int p = 0; p < 2; p++)
    EXPECT(memcmp(out[p][0], out[p][1], sizeof out[p][0]) == 0,
           "%s: in place %g %g %g %g, copied %g %g %g %g",
           p ? "int8" : "f32", out[p][1][0], out[p][1][1], out[p][1][2],
           out[p][1][3], out[p][0][0], out[p][0][1], out[p][0][2],
           out[p][0][3]);
  float d = 0, largest = 0;
  for (int i = 0; i < 4; i++) {
    d = fmaxf(d, fabsf(out[1][1][i] - out[0][1][i]));
    largest = fmaxf(largest, fabsf(out[0][1][i]));
  }
  printf("# in-place model: max |int8 - f32| %.3g, largest output %.3g\n", d,
         largest);
  EXPECT(d > 0, "int8 gave exactly the f32 outputs: was int8 used?");
  EXPECT(d <= 0.03f * fmaxf(1.0f, largest), "int8 is %g from f32", d);
}

/* The mixed model with c input channels, f32 and int8 on one input: the
 * largest difference (-1 if a run failed) and the largest output. */
static float run_mixed(int c, float *largest) {
  char *json = json_of(MIXED_JSON, c);
  int n_floats = 9 * c + 9 * c * 8 + 8 + 24;
  size_t size = (size_t)n_floats * sizeof(float) + 2 * sizeof(int32_t);
  unsigned char *shard = malloc(size);
  float input[6 * 6 * MAX_C];
  uint32_t state = 1;
  float d = -1;
  if (json && shard) {
    for (int i = 0; i < n_floats; i++) {
      float v = next_value(&state);
      memcpy(shard + i * sizeof v, &v, sizeof v);
    }
    const int32_t axes[2] = {1, 2};
    memcpy(shard + (size_t)n_floats * sizeof(float), axes, sizeof axes);
    for (int i = 0; i < 6 * 6 * c; i++) input[i] = next_value(&state);
    d = run_both(json, shard, size, input, (size_t)(6 * 6 * c), largest);
  }
  free(shard);
  free(json);
  return d;
}

/* A depthwise convolution has no int8 kernel in XNNPACK: it stays f32
 * while the convolution after it (64 channels) goes int8. The two runs
 * must differ (int8 really ran) by at most 3% of the largest output. */
static void mixed_model_runs_in_int8(void) {
  float largest = 0, d = run_mixed(64, &largest);
  if (d < 0) return;
  printf("# mixed model: max |int8 - f32| %.3g, largest output %.3g\n", d,
         largest);
  EXPECT(d > 0, "int8 gave exactly the f32 outputs: was int8 used?");
  EXPECT(d <= 0.03f * fmaxf(1.0f, largest), "int8 is %g from f32", d);
}

/* Convolutions and matmuls reading fewer than 64 channels stay f32 in int8
 * precision: with 4 channels the mixed model gives f32's outputs exactly. */
static void layers_reading_few_channels_stay_f32(void) {
  float largest = 0, d = run_mixed(4, &largest);
  if (d < 0) return;
  EXPECT(d == 0, "int8 precision moved a 4-channel model by %g", d);
}

/* dense/kernel (n, 1) holding value everywhere: in int8 it must be refused
 * naming the weight and saying why; in f32 the same model runs. */
static void expect_int8_refuses_dense(int n, float value, const char *why) {
  char *json = json_of(DENSE_JSON, n);
  size_t size = (size_t)n * sizeof(float) + 2 * sizeof(int32_t);
  unsigned char *shard = malloc(size);
  REQUIRE(json && shard, "out of memory");
  for (int i = 0; i < n; i++) memcpy(shard + 4 * i, &value, sizeof value);
  int32_t shape[2] = {-1, n};
  memcpy(shard + (size_t)n * sizeof(float), shape, sizeof shape);
  mvb_status s;
  mvb_model *m = load_with(MVB_PRECISION_INT8, json, shard, size, &s);
  EXPECT(s == MVB_ERR_UNSUPPORTED, "int8 load of %d x %g: status %s (%s)", n,
         value, mvb_status_name(s), mvb_model_error(m));
  EXPECT(test_contains(mvb_model_error(m), "dense/kernel") &&
             test_contains(mvb_model_error(m), why),
         "message \"%s\" should name dense/kernel and say \"%s\"",
         mvb_model_error(m), why);
  mvb_model_free(m);
  m = load_with(MVB_PRECISION_F32, json, shard, size, &s);
  EXPECT(s == MVB_OK, "f32 load of the same model: %s", mvb_model_error(m));
  mvb_model_free(m);
  free(shard);
  free(json);
}

static void int8_refuses_unrepresentable_weights_naming_them(void) {
  expect_int8_refuses_dense((int)MVB_INT8_MAX_SUMS + 1, 0.5f,
                            "int8 accumulator");
  expect_int8_refuses_dense(64, 1e-39f, "is not a normal float");
}

/* The dense model with "mvb": {"precision": VALUE} (VALUE NULL: no key),
 * loaded with the given option; the precision it runs in, or -2 if it
 * failed to load (with its message in why). */
static int loaded_precision(const char *value, mvb_precision option, char *why,
                            size_t why_size) {
  char *dense = json_of(DENSE_JSON, 2);
  char json[2048];
  snprintf(json, sizeof json, "{\"mvb\": {\"precision\": \"%s\"}, %s",
           value ? value : "", dense ? dense + 1 : "}");
  mvb_status s;
  unsigned char shard[16] = {0};
  int32_t shape[2] = {-1, 2};
  memcpy(shard + 8, shape, sizeof shape);
  mvb_model *m =
      load_with(option, value ? json : dense, shard, sizeof shard, &s);
  int got = s == MVB_OK ? (int)mvb_model_precision(m) : -2;
  snprintf(why, why_size, "%s", mvb_model_error(m));
  mvb_model_free(m);
  free(dense);
  return got;
}

/* model.json's "mvb".precision is the default; an explicit option wins;
 * without the key a model runs in f32; a value that is neither is refused. */
static void the_model_chooses_its_precision_unless_told(void) {
  char why[512];
  EXPECT(loaded_precision("int8", MVB_PRECISION_MODEL, why, sizeof why) ==
             MVB_PRECISION_INT8,
         "the model's int8: %s", why);
  EXPECT(loaded_precision("int8", MVB_PRECISION_F32, why, sizeof why) ==
             MVB_PRECISION_F32,
         "an f32 option over the model's int8: %s", why);
  EXPECT(loaded_precision("f32", MVB_PRECISION_INT8, why, sizeof why) ==
             MVB_PRECISION_INT8,
         "an int8 option over the model's f32: %s", why);
  EXPECT(loaded_precision(NULL, MVB_PRECISION_MODEL, why, sizeof why) ==
             MVB_PRECISION_F32,
         "no mvb.precision: f32: %s", why);
  EXPECT(loaded_precision("int4", MVB_PRECISION_MODEL, why, sizeof why) == -2 &&
             test_contains(why, "mvb.precision must be"),
         "int4 must be refused naming the key: %s", why);
  mvb_model *m = mvb_model_create(NULL);
  EXPECT(mvb_model_precision(m) == MVB_PRECISION_MODEL,
         "before load there is no precision yet");
  mvb_model_free(m);
}

static void unknown_precision_is_refused(void) {
  mvb_options o = mvb_default_options();
  o.precision = (mvb_precision)7;
  mvb_status s;
  char *json = json_of(DENSE_JSON, 2);
  unsigned char shard[16] = {0};
  int32_t shape[2] = {-1, 2};
  memcpy(shard + 8, shape, sizeof shape);
  mvb_model *m = mvb_model_create(&o);
  const uint8_t *shards[1] = {shard};
  size_t size = sizeof shard;
  s = mvb_model_load_buffers(m, json, strlen(json), shards, &size, 1);
  EXPECT(s == MVB_ERR_INVALID_ARGUMENT &&
             test_contains(mvb_model_error(m), "precision 7"),
         "precision 7: %s (%s)", mvb_status_name(s), mvb_model_error(m));
  mvb_model_free(m);
  free(json);
}

/* ---- the conformance kit's InceptionV3 ---------------------------------- */

static const char *const KIT_INPUTS[] = {"half", "rand01", "page_u8"};
enum { KIT_INPUT_FLOATS = 200 * 200 * 3, HIDDEN = 512 };

/* The kit's InputName.f32 into x; false if unreadable. */
static bool read_kit_input(const char *kit, const char *name, float *x) {
  char path[1024];
  snprintf(path, sizeof path, "%s/inputs/%s.f32", kit, name);
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  bool ok = fread(x, sizeof *x, KIT_INPUT_FLOATS, f) == KIT_INPUT_FLOATS;
  fclose(f);
  return ok;
}

/* Runs dir's model in one precision on every kit input; out[i] gets
 * count values of input i. */
static bool run_kit(const char *dir, mvb_precision precision, const char *kit,
                    float *x, float (*out)[HIDDEN], size_t count) {
  mvb_options o = mvb_default_options();
  o.precision = precision;
  mvb_model *m = mvb_model_create(&o);
  mvb_status s = m ? mvb_model_load_dir(m, dir) : MVB_ERR_OUT_OF_MEMORY;
  EXPECT(s == MVB_OK, "loading %s: %s", dir, mvb_model_error(m));
  for (size_t i = 0; s == MVB_OK && i < 3; i++) {
    size_t got = 0;
    EXPECT(read_kit_input(kit, KIT_INPUTS[i], x), "cannot read input %s",
           KIT_INPUTS[i]);
    s = mvb_run_tensor(m, x, KIT_INPUT_FLOATS, out[i], HIDDEN, &got);
    EXPECT(s == MVB_OK && got == count, "%s on %s: %s (%zu values)", dir,
           KIT_INPUTS[i], mvb_model_error(m), got);
  }
  mvb_model_free(m);
  return s == MVB_OK && !test_why[0];
}

static double cosine(const float *a, const float *b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  return ab / sqrt(aa * bb);
}

static void conformance_model_in_int8_stays_close_to_f32(void) {
  char kit[1024], cmd[4096], prob_dir[1024], hidden_dir[1024];
  const char *src = test_source_dir();
  snprintf(kit, sizeof kit, "%s/../shared/conformance/seed-inception-v3", src);
  snprintf(cmd, sizeof cmd, "%s/model.json", kit);
  if (access(cmd, R_OK) != 0)
    SKIP("needs the conformance kit at %s (../shared), which is absent", kit);
  /* The shards come from the kit's generator, as the node tests make them
   * (tests/node/seed-model.mjs: one truth for how). */
  snprintf(cmd, sizeof cmd,
           "cd '%s' && node --input-type=module -e \"import {ensureSeedModel,"
           " ensureVariantModel} from './tests/node/seed-model.mjs';"
           " ensureSeedModel(); ensureVariantModel('hidden');\" >&2",
           src);
  /* The kit is here, so the weights must come: a generator that fails (a
   * digest that no longer matches, say) is a failure, not a skip. */
  REQUIRE(system(cmd) == 0,
          "node could not generate the seed weights from the kit (%s)", cmd);
  snprintf(prob_dir, sizeof prob_dir, "%s/build/seed-model", src);
  snprintf(hidden_dir, sizeof hidden_dir, "%s/build/seed-model-hidden", src);
  float *x = malloc(KIT_INPUT_FLOATS * sizeof *x);
  float(*runs)[3][HIDDEN] = malloc(4 * sizeof *runs);
  REQUIRE(x && runs, "out of memory");
  bool ok = run_kit(prob_dir, MVB_PRECISION_F32, kit, x, runs[0], 1) &&
            run_kit(prob_dir, MVB_PRECISION_INT8, kit, x, runs[1], 1) &&
            run_kit(hidden_dir, MVB_PRECISION_F32, kit, x, runs[2], HIDDEN) &&
            run_kit(hidden_dir, MVB_PRECISION_INT8, kit, x, runs[3], HIDDEN);
  for (int i = 0; ok && i < 3; i++) {
    float dp = fabsf(runs[1][i][0] - runs[0][i][0]);
    double cos = cosine(runs[3][i], runs[2][i], HIDDEN);
    printf("# %s: prob f32 %.6f int8 %.6f (|d| %.2e), hidden cosine %.6f\n",
           KIT_INPUTS[i], runs[0][i][0], runs[1][i][0], dp, cos);
    EXPECT(dp <= 0.01f, "%s: |d prob| %g", KIT_INPUTS[i], dp);
    EXPECT(cos >= 0.999, "%s: hidden cosine %g", KIT_INPUTS[i], cos);
  }
  free(runs);
  free(x);
}

int main(void) {
  int failed = 0;
  failed += test_run("quantize_rounds_within_half_a_step",
                     quantize_rounds_within_half_a_step);
  failed += test_run("quantize_reads_bytes_like_floats",
                     quantize_reads_bytes_like_floats);
  failed += test_run("quantize_refuses_what_int8_cannot_hold",
                     quantize_refuses_what_int8_cannot_hold);
  failed += test_run("mixed_model_runs_in_int8", mixed_model_runs_in_int8);
  failed += test_run("weights_read_in_place_run_as_copies",
                     weights_read_in_place_run_as_copies);
  failed += test_run("layers_reading_few_channels_stay_f32",
                     layers_reading_few_channels_stay_f32);
  failed += test_run("int8_refuses_unrepresentable_weights_naming_them",
                     int8_refuses_unrepresentable_weights_naming_them);
  failed +=
      test_run("unknown_precision_is_refused", unknown_precision_is_refused);
  failed += test_run("the_model_chooses_its_precision_unless_told",
                     the_model_chooses_its_precision_unless_told);
  failed += test_run("conformance_model_in_int8_stays_close_to_f32",
                     conformance_model_in_int8_stays_close_to_f32);
  return test_exit(failed);
}
