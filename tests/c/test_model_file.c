/* test_model_file.c: model.json + shards -> mvb_model_file (src/model_file.c,
 * src/json.c). Every model here is written in this file; the last case also
 * parses the original model.json from ../shared when it is present (with
 * zero-filled shards), and says SKIP when it is not. */
#include "test_util.h"

#include <math.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "json.h"
#include "model_file.h"
#include "sha256.h"


/* ---- a tiny model with every weight encoding ------------------------------
 */

/* Group 0 (shards a1.bin: 16 bytes, a2.bin: 14 bytes; "wh" straddles them):
 *   w8  uint8   [2,3]  bytes 0..5     w16 uint16 [2] bytes 6..9
 *   wh  float16 [4]    bytes 10..17   wf  float32 [2] bytes 18..25
 *   wi  int32   []     bytes 26..29
 * Group 1 (b1.bin: 3 bytes): wq int32 quantized to uint8 [3]. */
static const char BASE[] =
    "{\"format\": \"graph-model\", \"generatedBy\": \"test\",\n"
    " \"signature\": {\"inputs\": {\"x:0\": {\"name\": \"x:0\", \"dtype\": "
    "\"DT_FLOAT\", \"tensorShape\": {\"dim\": [{\"size\": \"-1\"}, {\"size\": "
    "\"4\"}, {\"size\": \"5\"}, {\"size\": \"3\"}]}}},\n"
    "   \"outputs\": {\"out:0\": {\"name\": \"out:0\", \"dtype\": "
    "\"DT_FLOAT\"}}},\n"
    " \"modelTopology\": {\"node\": [\n"
    "  {\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"dtype\": "
    "{\"type\": \"DT_FLOAT\"}, \"shape\": {\"shape\": {\"dim\": [{\"size\": "
    "\"-1\"}, {\"size\": \"4\"}, {\"size\": \"5\"}, {\"size\": \"3\"}]}}}},\n"
    "  {\"name\": \"w8\", \"op\": \"Const\", \"attr\": {\"value\": "
    "{\"tensor\": "
    "{\"dtype\": \"DT_FLOAT\", \"tensorShape\": {}}}, \"dtype\": {\"type\": "
    "\"DT_FLOAT\"}}},\n"
    "  {\"name\": \"conv\", \"op\": \"_FusedConv2D\", \"input\": [\"x\", "
    "\"w8\", \"wf\", \"^ctrl\"], \"device\": \"/device:CPU:0\", \"attr\": {\n"
    "    \"padding\": {\"s\": \"U0FNRQ==\"}, \"strides\": {\"list\": {\"i\": "
    "[\"1\", \"2\", \"2\", \"1\"]}},\n"
    "    \"fused_ops\": {\"list\": {\"s\": [\"Qmlhc0FkZA==\", \"UmVsdQ==\"]}}, "
    "\"epsilon\": {\"f\": 0.5},\n"
    "    \"use_cudnn_on_gpu\": {\"b\": true}, \"T\": {\"type\": \"DT_FLOAT\"}, "
    "\"explicit_paddings\": {\"list\": {}},\n"
    "    \"weights\": {\"list\": {\"f\": [1.5, -2e-1]}}, \"num_args\": {\"i\": "
    "7}, \"name\\u00e9\\ud83d\\ude00\": {\"s\": \"YQ\"}}},\n"
    "  {\"name\": \"split\", \"op\": \"Split\", \"input\": [\"conv:1\"]},\n"
    "  {\"name\": \"out\", \"op\": \"Identity\", \"input\": [\"split:2\"]}\n"
    " ]},\n"
    " \"weightsManifest\": [\n"
    "  {\"paths\": [\"a1.bin\", \"a2.bin\"], \"weights\": [\n"
    "    {\"name\": \"w8\", \"shape\": [2, 3], \"dtype\": \"float32\", "
    "\"quantization\": {\"dtype\": \"uint8\", \"min\": -1.0, \"scale\": 0.5, "
    "\"original_dtype\": \"float32\"}},\n"
    "    {\"name\": \"w16\", \"shape\": [2], \"dtype\": \"float32\", "
    "\"quantization\": {\"dtype\": \"uint16\", \"min\": 0.25, \"scale\": "
    "0.001}},\n"
    "    {\"name\": \"wh\", \"shape\": [4], \"dtype\": \"float32\", "
    "\"quantization\": {\"dtype\": \"float16\"}},\n"
    "    {\"name\": \"wf\", \"shape\": [2], \"dtype\": \"float32\"},\n"
    "    {\"name\": \"wi\", \"shape\": [], \"dtype\": \"int32\"}]},\n"
    "  {\"paths\": [\"b1.bin\"], \"weights\": [\n"
    "    {\"name\": \"wq\", \"shape\": [3], \"dtype\": \"int32\", "
    "\"quantization\": {\"dtype\": \"uint8\", \"min\": -2, \"scale\": 0.5, "
    "\"original_dtype\": \"int32\"}}]}]}";

/* The shard bytes, with room for a "too long" shard. */
static const uint8_t GROUP0[40] = {0,    1,    2,    3,    4,    255, /* w8 */
                                   0x00, 0x00, 0xe8, 0x03, /* w16: 0, 1000 */
                                   0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00,
                                   0xff, 0x7b, /* wh: 1, -2, 2^-24, 65504 */
                                   0x00, 0x00, 0x60, 0x40, 0x00, 0x00,
                                   0x00, 0xbe, /* wf: 3.5, -0.125 */
                                   0xf9, 0xff, 0xff, 0xff}; /* wi: -7 */
static const uint8_t GROUP1[8] = {0, 5, 3}; /* wq: -2, 0.5, -0.5 */

static const size_t SIZES[3] = {16, 14, 3};

static mvb_status parse_sized(const char *json, const size_t sizes[3],
                              size_t count, mvb_model_file *out,
                              mvb_error *err) {
  const uint8_t *shards[3] = {GROUP0, GROUP0 + 16, GROUP1};
  return mvb_model_file_parse(json, strlen(json), shards, sizes, count, out,
                              err);
}

static mvb_status parse(const char *json, mvb_model_file *out, mvb_error *err) {
  return parse_sized(json, SIZES, 3, out, err);
}

/* BASE with the first occurrence of from replaced by to (static buffer). */
static const char *edit(const char *from, const char *to) {
  static char buf[sizeof BASE + 1024];
  const char *at = strstr(BASE, from);
  if (!at) {
    fprintf(stderr, "edit: \"%s\" is not in BASE\n", from);
    abort();
  }
  snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - BASE), BASE, to,
           at + strlen(from));
  return buf;
}

/* Parses json and expects failure with status and every listed fragment in
 * the message. */
static void expect_failure(const char *json, mvb_status status,
                           const char *fragment1, const char *fragment2,
                           int line) {
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = parse(json, &f, &err);
  EXPECT(s == status, "(from line %d) status %d, expected %d: %s", line, (int)s,
         (int)status, err.message);
  EXPECT(test_contains(err.message, fragment1),
         "(from line %d) message lacks \"%s\": %s", line, fragment1,
         err.message);
  if (fragment2)
    EXPECT(test_contains(err.message, fragment2),
           "(from line %d) message lacks \"%s\": %s", line, fragment2,
           err.message);
  EXPECT(f.nodes == NULL && f.consts == NULL && f.n_nodes == 0,
         "(from line %d) output not emptied after failure", line);
  mvb_model_file_free(&f);
}
#define EXPECT_FAILURE(json, status, f1, f2) \
  expect_failure(json, status, f1, f2, __LINE__)

/* ---- valid models
 * ------------------------------------------------------------ */

static void parses_every_weight_encoding(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = parse(BASE, &f, &err);
  REQUIRE(s == MVB_OK, "status %d: %s", s, err.message);
  REQUIRE(f.n_consts == 6, "%zu consts", f.n_consts);

  mvb_const *w8 = (mvb_const *)mvb_model_file_const(&f, "w8");
  /* uint8 floats keep their bytes until a reader asks for the floats */
  REQUIRE(w8 && w8->dtype == MVB_DTYPE_F32 && w8->u8 && !w8->f32 && !w8->i32,
          "w8 is kept as bytes");
  s = mvb_const_dequantize(w8, &err);
  REQUIRE(s == MVB_OK && w8->f32 && !w8->u8, "w8 dequantized: %s", err.message);
  const float *first = w8->f32;
  s = mvb_const_dequantize(w8, &err);
  EXPECT(s == MVB_OK && w8->f32 == first, "dequantizing twice is a no-op");
  EXPECT(
      w8->rank == 2 && w8->shape[0] == 2 && w8->shape[1] == 3 && w8->count == 6,
      "w8 shape");
  const float w8_want[6] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 126.5f};
  for (int k = 0; k < 6; k++)
    EXPECT(w8->f32[k] == w8_want[k], "w8[%d] = %g, want %g", k, w8->f32[k],
           w8_want[k]);

  const mvb_const *w16 = mvb_model_file_const(&f, "w16");
  REQUIRE(w16 && w16->f32, "w16");
  EXPECT(w16->f32[0] == 0.25f, "w16[0] = %g", w16->f32[0]);
  EXPECT(w16->f32[1] == (float)(0.25 + 0.001 * 1000), "w16[1] = %.9g",
         w16->f32[1]);

  const mvb_const *wh = mvb_model_file_const(&f, "wh");
  REQUIRE(wh && wh->f32 && wh->count == 4, "wh");
  EXPECT(wh->f32[0] == 1.0f && wh->f32[1] == -2.0f, "wh normal: %g %g",
         wh->f32[0], wh->f32[1]);
  EXPECT(wh->f32[2] == ldexpf(1.0f, -24), "wh subnormal: %g", wh->f32[2]);
  EXPECT(wh->f32[3] == 65504.0f, "wh max (split across shards): %g",
         wh->f32[3]);

  const mvb_const *wf = mvb_model_file_const(&f, "wf");
  REQUIRE(wf && wf->f32, "wf");
  EXPECT(wf->f32[0] == 3.5f && wf->f32[1] == -0.125f, "wf: %g %g", wf->f32[0],
         wf->f32[1]);

  const mvb_const *wi = mvb_model_file_const(&f, "wi");
  REQUIRE(wi && wi->dtype == MVB_DTYPE_I32 && wi->i32 && !wi->f32, "wi");
  EXPECT(wi->rank == 0 && wi->count == 1 && wi->i32[0] == -7,
         "wi: rank %d count %zu value %d", wi->rank, wi->count, wi->i32[0]);

  /* Quantized int32 rounds like Math.round: 0.5 -> 1, -0.5 -> 0. */
  const mvb_const *wq = mvb_model_file_const(&f, "wq");
  REQUIRE(wq && wq->dtype == MVB_DTYPE_I32 && wq->i32, "wq");
  EXPECT(wq->i32[0] == -2 && wq->i32[1] == 1 && wq->i32[2] == 0, "wq: %d %d %d",
         wq->i32[0], wq->i32[1], wq->i32[2]);

  mvb_const_release(&f.consts[0]);
  EXPECT(!f.consts[0].f32 && f.consts[0].name && f.consts[0].count == 6,
         "release keeps the name and shape");
  s = mvb_const_dequantize(&f.consts[0], &err);
  EXPECT(s == MVB_ERR_STATE && strstr(err.message, "released before"),
         "a released weight cannot be read: %d %s", s, err.message);
  mvb_model_file_free(&f);
  EXPECT(f.nodes == NULL && f.n_consts == 0, "free zeroes");
  mvb_model_file_free(&f); /* twice is fine */
}

static void parses_nodes_inputs_and_signature(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  REQUIRE(parse(BASE, &f, &err) == MVB_OK, "%s", err.message);
  EXPECT(f.n_nodes == 5, "%zu nodes", f.n_nodes);
  EXPECT(f.input_node && !strcmp(f.input_node, "x"), "input %s", f.input_node);
  EXPECT(f.input_rank == 4 && f.input_shape[0] == -1 && f.input_shape[1] == 4 &&
             f.input_shape[2] == 5 && f.input_shape[3] == 3,
         "input shape");
  EXPECT(f.n_outputs == 1 && !strcmp(f.outputs[0].node, "out") &&
             f.outputs[0].index == 0,
         "%zu outputs, first %s:%d", f.n_outputs, f.outputs[0].node,
         f.outputs[0].index);

  const mvb_node *conv = mvb_model_file_node(&f, "conv");
  REQUIRE(conv && !strcmp(conv->op, "_FusedConv2D"), "conv");
  REQUIRE(conv->n_inputs == 3, "control input not dropped: %zu inputs",
          conv->n_inputs);
  EXPECT(!strcmp(conv->inputs[0].node, "x") && conv->inputs[0].output == 0 &&
             !strcmp(conv->inputs[2].node, "wf"),
         "conv inputs");
  const mvb_node *split = mvb_model_file_node(&f, "split");
  const mvb_node *out = mvb_model_file_node(&f, "out");
  REQUIRE(split && out && split->n_inputs == 1 && out->n_inputs == 1, "split");
  EXPECT(!strcmp(split->inputs[0].node, "conv") && split->inputs[0].output == 1,
         "conv:1 -> %s:%d", split->inputs[0].node, split->inputs[0].output);
  EXPECT(!strcmp(out->inputs[0].node, "split") && out->inputs[0].output == 2,
         "split:2");
  EXPECT(mvb_model_file_node(&f, "nope") == NULL, "unknown node found");
  EXPECT(mvb_model_file_const(&f, "conv") == NULL, "node found as const");
  mvb_model_file_free(&f);
}

static void decodes_every_attr_form(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  REQUIRE(parse(BASE, &f, &err) == MVB_OK, "%s", err.message);
  const mvb_node *conv = mvb_model_file_node(&f, "conv");
  REQUIRE(conv && conv->n_attrs == 10, "conv attrs: %zu",
          conv ? conv->n_attrs : 0);
  const mvb_attr *a = mvb_node_attr(conv, "padding");
  REQUIRE(a && a->kind == MVB_ATTR_S, "padding");
  EXPECT(!strcmp(a->s, "SAME"), "base64 padding -> \"%s\"", a->s);
  a = mvb_node_attr(conv, "strides");
  REQUIRE(a && a->kind == MVB_ATTR_LIST && a->n_ints == 4, "strides");
  EXPECT(
      a->ints[0] == 1 && a->ints[1] == 2 && a->ints[2] == 2 && a->ints[3] == 1,
      "strides values");
  a = mvb_node_attr(conv, "fused_ops");
  REQUIRE(a && a->kind == MVB_ATTR_LIST && a->n_strs == 2, "fused_ops");
  EXPECT(!strcmp(a->strs[0], "BiasAdd") && !strcmp(a->strs[1], "Relu"),
         "fused_ops: %s %s", a->strs[0], a->strs[1]);
  a = mvb_node_attr(conv, "epsilon");
  EXPECT(a && a->kind == MVB_ATTR_F && a->f == 0.5f, "epsilon");
  a = mvb_node_attr(conv, "use_cudnn_on_gpu");
  EXPECT(a && a->kind == MVB_ATTR_B && a->i == 1, "b");
  a = mvb_node_attr(conv, "T");
  EXPECT(a && a->kind == MVB_ATTR_TYPE && !strcmp(a->s, "DT_FLOAT"), "type");
  a = mvb_node_attr(conv, "explicit_paddings");
  EXPECT(a && a->kind == MVB_ATTR_LIST && a->n_ints == 0 && a->n_strs == 0,
         "empty list");
  a = mvb_node_attr(conv, "weights");
  REQUIRE(a && a->kind == MVB_ATTR_LIST && a->n_floats == 2, "list of f");
  EXPECT(a->floats[0] == 1.5f && a->floats[1] == -0.2f, "floats");
  a = mvb_node_attr(conv, "num_args");
  EXPECT(a && a->kind == MVB_ATTR_I && a->i == 7, "i as a JSON number");
  /* JSON escapes in names, base64 without padding */
  a = mvb_node_attr(conv, "name\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT(a && a->kind == MVB_ATTR_S && !strcmp(a->s, "a"), "escaped name");

  const mvb_node *x = mvb_model_file_node(&f, "x");
  REQUIRE(x, "x");
  a = mvb_node_attr(x, "shape");
  REQUIRE(a && a->kind == MVB_ATTR_SHAPE && a->n_ints == 4, "shape attr");
  EXPECT(a->ints[0] == -1 && a->ints[1] == 4 && a->ints[3] == 3, "dims");
  a = mvb_node_attr(mvb_model_file_node(&f, "w8"), "value");
  EXPECT(a && a->kind == MVB_ATTR_OTHER, "tensor attr kept as OTHER");
  mvb_model_file_free(&f);
}

static void applies_preprocess_defaults_and_mvb_key(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  REQUIRE(parse(BASE, &f, &err) == MVB_OK, "%s", err.message);
  const mvb_preprocess *pp = &f.preprocess;
  EXPECT(pp->height == 4 && pp->width == 5, "default size %dx%d", pp->height,
         pp->width);
  EXPECT(pp->resize == MVB_RESIZE_BILINEAR_ANTIALIAS, "default resize");
  for (int c = 0; c < 3; c++)
    EXPECT(pp->mean[c] == 0.5f && pp->std[c] == 0.5f, "default mean/std");
  mvb_model_file_free(&f);

  const char *json =
      edit("{\"format\"",
           "{\"mvb\": {\"preprocess\": {\"size\": [4, 5], \"resize\": "
           "\"bilinear-antialias\", \"mean\": [0.485, 0.456, 0.406], \"std\": "
           "[0.229, 0.224, 0.225]}, \"labels\": {\"0\": \"beach\", \"1\": "
           "\"mountain\"}, \"thresholds\": [0.35, 0.65]}, \"format\"");
  REQUIRE(parse(json, &f, &err) == MVB_OK, "%s", err.message);
  EXPECT(pp->height == 4 && pp->width == 5, "size");
  EXPECT(pp->mean[0] == 0.485f && pp->mean[2] == 0.406f, "mean %g %g",
         pp->mean[0], pp->mean[2]);
  EXPECT(pp->std[1] == 0.224f, "std %g", pp->std[1]);
  mvb_model_file_free(&f);

  /* An input that is not an image: no size, but the model still loads. */
  json = edit("{\"size\": \"4\"}, {\"size\": \"5\"}, {\"size\": \"3\"}]}}}",
              "{\"size\": \"10\"}]}}}");
  REQUIRE(parse(json, &f, &err) == MVB_OK, "%s", err.message);
  EXPECT(f.input_rank == 2 && pp->height == 0 && pp->width == 0,
         "rank %d, %dx%d", f.input_rank, pp->height, pp->width);
  mvb_model_file_free(&f);
}

static void rejects_bad_preprocess(void) {
#define MVB_KEY(body) \
  edit("{\"format\"", "{\"mvb\": {\"preprocess\": " body "}, \"format\"")
  EXPECT_FAILURE(MVB_KEY("{\"resize\": \"nearest\"}"), MVB_ERR_UNSUPPORTED,
                 "\"nearest\"", "bilinear-antialias");
  EXPECT_FAILURE(MVB_KEY("{\"std\": [0.5, 0, 0.5]}"), MVB_ERR_MODEL_FORMAT,
                 "std[1]", "positive");
  EXPECT_FAILURE(MVB_KEY("{\"mean\": [0.5, 0.5]}"), MVB_ERR_MODEL_FORMAT,
                 "mean", "3 numbers");
  EXPECT_FAILURE(MVB_KEY("{\"size\": [0, 5]}"), MVB_ERR_MODEL_FORMAT,
                 "mvb.preprocess.size", "1..");
  EXPECT_FAILURE(MVB_KEY("{\"size\": [8, 8]}"), MVB_ERR_MODEL_FORMAT,
                 "[8, 8] does not match", "[-1, 4, 5, 3]");
  EXPECT_FAILURE(MVB_KEY("{\"meen\": [0, 0, 0]}"), MVB_ERR_MODEL_FORMAT,
                 "unknown key \"meen\"", NULL);
  EXPECT_FAILURE(MVB_KEY("[]"), MVB_ERR_MODEL_FORMAT, "\"preprocess\"",
                 "an object");
#undef MVB_KEY
}

static void reads_two_weight_groups_in_order(void) {
  /* Swap the shard sizes of group 0 (16+14 -> 10+20): the weights are laid
   * out across the group's concatenated shards, so values do not change. */
  uint8_t a[64], b[64];
  memcpy(a, GROUP0, 10);
  memcpy(b, GROUP0 + 10, 20);
  const uint8_t *shards[3] = {a, b, GROUP1};
  const size_t sizes[3] = {10, 20, 3};
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s =
      mvb_model_file_parse(BASE, strlen(BASE), shards, sizes, 3, &f, &err);
  REQUIRE(s == MVB_OK, "%s", err.message);
  const mvb_const *wh = mvb_model_file_const(&f, "wh");
  const mvb_const *wq = mvb_model_file_const(&f, "wq");
  REQUIRE(wh && wq && f.consts[5].i32 == wq->i32, "group 1's weight is last");
  EXPECT(wh->f32[0] == 1.0f && wh->f32[3] == 65504.0f, "wh");
  EXPECT(wq->i32[1] == 1, "wq");
  mvb_model_file_free(&f);
}

/* ---- JSON errors
 * ---------------------------------------------------------------- */

static void rejects_malformed_json_with_offset(void) {
  static const struct {
    const char *from, *to, *why;
  } cases[] = {
      {"\"graph-model\", \"generatedBy\"", "\"graph-model\" \"generatedBy\"",
       "expected ','"},
      {"\"format\": \"graph-model\"", "\"format\" \"graph-model\"",
       "expected ':'"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": test", "not a number"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": tru", "not a number"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": 01", "not a number"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": [1,]", "unexpected"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": {\"a\": 1,}",
       "unexpected"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": {1: 2}", "unexpected"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": \"a\\qb\"", "unexpected"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": [1}", "unexpected"},
      {"\"generatedBy\": \"test\"", "\"generatedBy\": \"a\tb\"",
       "control character"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const char *json = edit(cases[k].from, cases[k].to);
    mvb_model_file f;
    mvb_error err = {{0}};
    mvb_status s = parse(json, &f, &err);
    EXPECT(s == MVB_ERR_MODEL_FORMAT, "case %zu: status %d", k, s);
    EXPECT(test_contains(err.message, "malformed JSON at byte offset ") &&
               test_contains(err.message, cases[k].why),
           "case %zu: %s", k, err.message);
    /* The offset lies inside the edited part. */
    size_t at = (size_t)(strstr(BASE, cases[k].from) - BASE);
    const char *num = strstr(err.message, "offset ");
    size_t offset = num ? strtoul(num + 7, NULL, 10) : 0;
    EXPECT(offset >= at && offset <= at + strlen(cases[k].to),
           "case %zu: offset %zu outside %zu..%zu: %s", k, offset, at,
           at + strlen(cases[k].to), err.message);
    mvb_model_file_free(&f);
  }
  EXPECT_FAILURE("", MVB_ERR_INVALID_ARGUMENT, "empty", NULL);
  EXPECT_FAILURE("[1, 2]", MVB_ERR_MODEL_FORMAT, "must be a JSON object", NULL);
  EXPECT_FAILURE("{} {}", MVB_ERR_MODEL_FORMAT, "after the JSON value",
                 "offset 3");
  EXPECT_FAILURE("{\"a\": 1}}", MVB_ERR_MODEL_FORMAT, "offset 8", NULL);
}

/* Every prefix of a valid model.json is an error, never a crash or a leak. */
static void rejects_every_truncation(void) {
  size_t n = strlen(BASE);
  for (size_t len = 0; len < n; len++) {
    const uint8_t *shards[3] = {GROUP0, GROUP0 + 16, GROUP1};
    mvb_model_file f;
    mvb_error err = {{0}};
    mvb_status s = mvb_model_file_parse(BASE, len, shards, SIZES, 3, &f, &err);
    REQUIRE(s != MVB_OK, "the prefix of %zu bytes parsed", len);
    REQUIRE(err.message[0], "no message for the prefix of %zu bytes", len);
    if (len > 0)
      REQUIRE(test_contains(err.message, "truncated JSON"), "prefix of %zu: %s",
              len, err.message);
    mvb_model_file_free(&f);
  }
}

/* Single-byte mutations anywhere: any outcome but a crash, a leak or a
 * failure without a message. */
static void survives_byte_mutations(void) {
  static const char replacements[] = "\"{}[],:0x \\-";
  static char buf[sizeof BASE];
  size_t n = strlen(BASE), parsed = 0;
  for (size_t at = 0; at < n; at++) {
    for (const char *r = replacements; *r; r++) {
      memcpy(buf, BASE, n + 1);
      buf[at] = *r;
      mvb_model_file f;
      mvb_error err = {{0}};
      mvb_status s = parse(buf, &f, &err);
      if (s == MVB_OK)
        parsed++;
      else
        REQUIRE(err.message[0], "no message at byte %zu -> '%c'", at, *r);
      mvb_model_file_free(&f);
    }
  }
  size_t total = n * (sizeof replacements - 1);
  EXPECT(parsed > 0 && parsed < total / 2, "%zu of %zu mutations parsed",
         parsed, total);
}

static void rejects_wrong_types(void) {
  EXPECT_FAILURE(edit("\"node\": [", "\"node\": {\"a\": 1}, \"x\": ["),
                 MVB_ERR_MODEL_FORMAT, "\"node\" must be an array", "at byte");
  EXPECT_FAILURE(edit("\"shape\": [2, 3]", "\"shape\": \"2x3\""),
                 MVB_ERR_MODEL_FORMAT, "weight \"w8\"",
                 "\"shape\" must be an array");
  EXPECT_FAILURE(edit("\"shape\": [2, 3]", "\"shape\": [2, \"x\"]"),
                 MVB_ERR_MODEL_FORMAT, "weight \"w8\"", "shape[1]");
  EXPECT_FAILURE(edit("\"shape\": [2, 3]", "\"shape\": [-2, 3]"),
                 MVB_ERR_MODEL_FORMAT, "weight \"w8\"", "non-negative");
  EXPECT_FAILURE(edit("\"input\": [\"conv:1\"]", "\"input\": \"conv:1\""),
                 MVB_ERR_MODEL_FORMAT, "node 3 \"split\"", "\"input\"");
  EXPECT_FAILURE(edit("\"input\": [\"conv:1\"]", "\"input\": [\"conv:x\"]"),
                 MVB_ERR_MODEL_FORMAT, "node 3 \"split\"", "conv:x");
  EXPECT_FAILURE(edit("\"op\": \"Split\"", "\"op\": 3"), MVB_ERR_MODEL_FORMAT,
                 "node 3 \"split\"", "\"op\" must be a string");
  EXPECT_FAILURE(edit("\"padding\": {\"s\": \"U0FNRQ==\"}",
                      "\"padding\": {\"s\": \"U0F*RQ==\"}"),
                 MVB_ERR_MODEL_FORMAT, "attr \"padding\"", "base64");
  EXPECT_FAILURE(edit("{\"i\": [\"1\", \"2\"", "{\"i\": [\"1\", 2.5"),
                 MVB_ERR_MODEL_FORMAT, "attr \"strides\"", "integer");
  EXPECT_FAILURE(edit("\"name\": \"split\"", "\"name\": \"conv\""),
                 MVB_ERR_MODEL_FORMAT, "two nodes are named \"conv\"", NULL);
  EXPECT_FAILURE(edit("\"name\": \"wf\"", "\"name\": \"wh\""),
                 MVB_ERR_MODEL_FORMAT, "two weights are named \"wh\"", NULL);
  EXPECT_FAILURE(edit("\"signature\"", "\"signatur\""), MVB_ERR_MODEL_FORMAT,
                 "\"signature\"", NULL);
  EXPECT_FAILURE(edit("\"min\": -1.0, ", ""), MVB_ERR_MODEL_FORMAT,
                 "weight \"w8\"", "\"min\"");
  EXPECT_FAILURE(edit("\"name\": \"x\", \"op\"", "\"name\": \"\", \"op\""),
                 MVB_ERR_MODEL_FORMAT, "node[0]", "empty name");
  /* A weight without a name is named by its place in the manifest. */
  EXPECT_FAILURE(edit("{\"name\": \"wf\", ", "{"), MVB_ERR_MODEL_FORMAT,
                 "weightsManifest[0].weights[3] has no \"name\"", NULL);
}

static void reads_outputs_as_a_list_within_limits(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = parse(
      edit("\"outputs\": {", "\"outputs\": {\"b:0\": {\"name\": \"b:0\"}, "),
      &f, &err);
  REQUIRE(s == MVB_OK, "two outputs: %s", err.message);
  EXPECT(f.n_outputs == 2 && !strcmp(f.outputs[0].name, "b:0") &&
             !strcmp(f.outputs[0].node, "b") &&
             !strcmp(f.outputs[1].name, "out:0"),
         "%zu outputs", f.n_outputs);
  mvb_model_file_free(&f);
  char nine[600] = "\"outputs\": {";
  for (int k = 0; k < 8; k++)
    snprintf(nine + strlen(nine), sizeof nine - strlen(nine),
             "\"o%d:0\": {\"name\": \"o%d:0\"}, ", k, k);
  EXPECT_FAILURE(edit("\"outputs\": {", nine), MVB_ERR_UNSUPPORTED, "9 outputs",
                 "at most 8");
  EXPECT_FAILURE(edit("\"outputs\": {",
                      "\"outputs\": {\"o:0\": {\"name\": "
                      "\"out:0\"}, "),
                 MVB_ERR_MODEL_FORMAT, "two signature outputs", "out:0");
  EXPECT_FAILURE(
      edit("\"inputs\": {", "\"inputs\": {\"y:0\": {\"name\": \"y:0\"}, "),
      MVB_ERR_UNSUPPORTED, "2 inputs", "\"y:0\", \"x:0\"");
}

/* ---- weight errors
 * -------------------------------------------------------------- */

static void checks_shard_sizes(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  const size_t short_last[3] = {16, 13, 3};
  mvb_status s = parse_sized(BASE, short_last, 3, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT, "short: status %d", s);
  EXPECT(test_contains(err.message, "weight group 0") &&
             test_contains(err.message, "\"a2.bin\"") &&
             test_contains(err.message, "too short: 13 bytes, expected 14"),
         "short: %s", err.message);

  const size_t long_last[3] = {16, 15, 3};
  s = parse_sized(BASE, long_last, 3, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT, "long: status %d", s);
  EXPECT(test_contains(err.message, "\"a2.bin\"") &&
             test_contains(err.message, "too long: 15 bytes, expected 14"),
         "long: %s", err.message);

  const size_t long_group1[3] = {16, 14, 4};
  s = parse_sized(BASE, long_group1, 3, &f, &err);
  EXPECT(test_contains(err.message, "weight group 1") &&
             test_contains(err.message, "\"b1.bin\"") &&
             test_contains(err.message, "4 bytes, expected 3"),
         "group 1: %s", err.message);

  s = parse_sized(BASE, SIZES, 2, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT, "count: status %d", s);
  EXPECT(test_contains(err.message, "names 3 shard files but 2 shards"),
         "count: %s", err.message);
  mvb_model_file_free(&f);

  /* A short shard in the middle of three is the one named. */
  const char *json =
      edit("[\"a1.bin\", \"a2.bin\"]", "[\"a1.bin\", \"a2.bin\", \"a3.bin\"]");
  const uint8_t *shards[4] = {GROUP0, GROUP0 + 12, GROUP0 + 24, GROUP1};
  const size_t middle[4] = {12, 11, 6, 3};
  s = mvb_model_file_parse(json, strlen(json), shards, middle, 4, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT &&
             test_contains(err.message,
                           "\"a2.bin\" (2 of 3) is too short: "
                           "11 bytes, expected 12"),
         "middle: %s", err.message);
  const size_t fine[4] = {12, 12, 6, 3};
  s = mvb_model_file_parse(json, strlen(json), shards, fine, 4, &f, &err);
  EXPECT(s == MVB_OK, "three shards: %s", err.message);
  mvb_model_file_free(&f);
}

static void rejects_unsupported_dtypes(void) {
  EXPECT_FAILURE(edit("\"shape\": [2], \"dtype\": \"float32\"}",
                      "\"shape\": [2], \"dtype\": \"bool\"}"),
                 MVB_ERR_UNSUPPORTED, "weight \"wf\"", "\"bool\"");
  EXPECT_FAILURE(edit("\"dtype\": \"int32\"}", "\"dtype\": \"complex64\"}"),
                 MVB_ERR_UNSUPPORTED, "weight \"wi\"", "\"complex64\"");
  EXPECT_FAILURE(edit("{\"dtype\": \"uint16\"", "{\"dtype\": \"int8\""),
                 MVB_ERR_UNSUPPORTED, "weight \"w16\"", "\"int8\"");
}

static void rejects_rank_and_huge_shapes(void) {
  EXPECT_FAILURE(edit("\"shape\": [2, 3]", "\"shape\": [1, 1, 1, 1, 1, 1, 6]"),
                 MVB_ERR_UNSUPPORTED, "weight \"w8\"", "rank 7");
  /* The product overflows 64 bits. */
  EXPECT_FAILURE(edit("\"shape\": [2, 3]",
                      "\"shape\": [4294967296, 4294967296, 4294967296]"),
                 MVB_ERR_MODEL_FORMAT, "weight \"w8\"", "too many elements");
  /* A zero dimension makes any shape empty. */
  EXPECT_FAILURE(
      edit("\"shape\": [2, 3]", "\"shape\": [4294967296, 4294967296, 0]"),
      MVB_ERR_MODEL_FORMAT, "\"a2.bin\"", "too long");
  /* Fits in memory arithmetic but not in the shards: refused before any
   * allocation (asking for 4 TB would be MVB_ERR_OUT_OF_MEMORY). */
  EXPECT_FAILURE(edit("\"shape\": [2, 3]", "\"shape\": [1000000, 1000000]"),
                 MVB_ERR_MODEL_FORMAT, "weight group 0", "too short");
}

/* ---- reading a directory
 * ---------------------------------------------------------- */

static bool write_model_dir(const char *dir, const char *json) {
  return test_write_file(dir, "model.json", json, strlen(json)) &&
         test_write_file(dir, "a1.bin", GROUP0, 16) &&
         test_write_file(dir, "a2.bin", GROUP0 + 16, 14) &&
         test_write_file(dir, "b1.bin", GROUP1, 3);
}

static void reads_a_model_directory(void) {
  char dir[512], path[600];
  REQUIRE(test_make_dir(dir, sizeof dir), "cannot make a temp dir");
  mvb_model_file f;
  mvb_error err = {{0}};
  EXPECT(write_model_dir(dir, BASE), "cannot write files");
  mvb_status s = mvb_model_file_read_dir(dir, &f, &err);
  EXPECT(s == MVB_OK, "read_dir: %s", err.message);
  const mvb_const *wh = mvb_model_file_const(&f, "wh");
  EXPECT(wh && wh->f32 && wh->f32[3] == 65504.0f, "wh from files");
  mvb_model_file_free(&f);

  snprintf(path, sizeof path, "%s/a2.bin", dir);
  remove(path);
  s = mvb_model_file_read_dir(dir, &f, &err);
  EXPECT(s == MVB_ERR_IO && test_contains(err.message, path),
         "missing shard: %d %s", s, err.message);

  snprintf(path, sizeof path, "%s/model.json", dir);
  remove(path);
  s = mvb_model_file_read_dir(dir, &f, &err);
  EXPECT(s == MVB_ERR_IO && test_contains(err.message, path),
         "missing model.json: %d %s", s, err.message);

  EXPECT(test_write_file(dir, "model.json", BASE, 100), "write");
  s = mvb_model_file_read_dir(dir, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT && test_contains(err.message, path) &&
             test_contains(err.message, "truncated JSON"),
         "truncated file: %d %s", s, err.message);
  test_remove_dir(dir);
}

static void rejects_paths_leaving_the_directory(void) {
  static const char *bad[] = {"../a1.bin", "/tmp/a1.bin", "x/../../a1.bin",
                              ".."};
  char dir[512];
  REQUIRE(test_make_dir(dir, sizeof dir), "cannot make a temp dir");
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char to[64];
    snprintf(to, sizeof to, "\"%s\"", bad[k]);
    EXPECT(write_model_dir(dir, edit("\"a1.bin\"", to)), "write");
    mvb_model_file f;
    mvb_error err = {{0}};
    mvb_status s = mvb_model_file_read_dir(dir, &f, &err);
    EXPECT(s == MVB_ERR_MODEL_FORMAT && test_contains(err.message, bad[k]) &&
               test_contains(err.message, "relative"),
           "%s: %d %s", bad[k], s, err.message);
  }
  /* "..." and "a..b" are ordinary names. */
  EXPECT(write_model_dir(dir, edit("\"a1.bin\"", "\"a..b\"")), "write");
  EXPECT(test_write_file(dir, "a..b", GROUP0, 16), "write");
  mvb_model_file f;
  mvb_error err = {{0}};
  EXPECT(mvb_model_file_read_dir(dir, &f, &err) == MVB_OK, "a..b: %s",
         err.message);
  mvb_model_file_free(&f);
  test_remove_dir(dir);
}

/* One shard file listed many times, far larger than the weights need: it
 * was once read in full, every time it was listed, and copied into one
 * block before any size was checked (here 4 x 64 MiB read, 256 MiB copied).
 * Now the files' sizes are checked first and nothing is read: the load
 * runs in a child, whose peak memory must stay far below one shard. */
static void refuses_oversized_shards_before_reading_them(void) {
  enum { BIG = 64 << 20 };
  char dir[512], path[600];
  REQUIRE(test_make_dir(dir, sizeof dir), "cannot make a temp dir");
  const char *json = edit("[\"a1.bin\", \"a2.bin\"]",
                          "[\"big.bin\", \"big.bin\", \"big.bin\", "
                          "\"big.bin\"]");
  snprintf(path, sizeof path, "%s/big.bin", dir);
  bool written = write_model_dir(dir, json) &&
                 test_write_file(dir, "big.bin", "", 0) &&
                 truncate(path, BIG) == 0; /* sparse: no disk, all zeros */
  if (!written) test_remove_dir(dir);
  REQUIRE(written, "cannot write the model");

  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = mvb_model_file_read_dir(dir, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT &&
             test_contains(err.message,
                           "weight group 0: shards are too long: the group's "
                           "weights need 30 bytes but its 4 shards hold "
                           "268435456 (last shard \"big.bin\""),
         "status %d: %s", s, err.message);
  mvb_model_file_free(&f);

  pid_t child = fork();
  if (child == 0) {
    mvb_model_file g;
    mvb_error e;
    _exit(mvb_model_file_read_dir(dir, &g, &e) == MVB_ERR_MODEL_FORMAT ? 0 : 1);
  }
  int wstatus = 0;
  bool waited = child > 0 && waitpid(child, &wstatus, 0) == child;
  struct rusage use;
  getrusage(RUSAGE_CHILDREN, &use);
  test_remove_dir(dir);
  REQUIRE(waited && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
          "the child's load did not refuse the model (wait status %d)",
          wstatus);
  /* AddressSanitizer's shadow memory is not ours to measure. */
  double peak_mib = (double)use.ru_maxrss / 1024.0; /* Linux: KiB */
  EXPECT(SANITIZED || peak_mib < 32.0,
         "the child peaked at %.0f MiB: the shards were read", peak_mib);
}

/* ---- the JSON reader itself
 * --------------------------------------------------------- */

static void json_reader_decodes_values(void) {
  static const char text[] =
      "\xef\xbb\xbf {\"s\": \"a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00\\ud800\", "
      "\"i\": \"-9223372036854775808\", \"big\": 9223372036854775808, "
      "\"f\": -1.5e3, \"nan\": \"NaN\", \"t\": true, \"arr\": [[], {}, null]}";
  mvb_json j;
  mvb_error err = {{0}};
  REQUIRE(mvb_json_parse(text, sizeof text, "t", &j, &err) == MVB_OK, "%s",
          err.message);
  char *s = NULL;
  REQUIRE(mvb_json_string(&j, mvb_json_find(&j, 0, "s"), &s) == MVB_OK, "s");
  EXPECT(!strcmp(s, "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd"),
         "decoded \"%s\"", s);
  EXPECT(mvb_json_streq(&j, mvb_json_find(&j, 0, "s"), s), "streq");
  free(s);
  int64_t i = 0;
  EXPECT(mvb_json_int64(&j, mvb_json_find(&j, 0, "i"), &i) && i == INT64_MIN,
         "int64 min");
  EXPECT(!mvb_json_int64(&j, mvb_json_find(&j, 0, "big"), &i), "overflow");
  EXPECT(!mvb_json_int64(&j, mvb_json_find(&j, 0, "f"), &i), "not integral");
  double d = 0;
  EXPECT(mvb_json_double(&j, mvb_json_find(&j, 0, "f"), &d) && d == -1500,
         "double");
  EXPECT(mvb_json_double(&j, mvb_json_find(&j, 0, "nan"), &d) && isnan(d),
         "NaN");
  {
    /* 0.25 written with 400 digits: a number for all its length. */
    char long_text[512] = "[0.25";
    memset(long_text + 5, '0', 398);
    memcpy(long_text + 403, "]", 2);
    mvb_json lj;
    REQUIRE(mvb_json_parse(long_text, strlen(long_text), "long", &lj, &err) ==
                MVB_OK,
            "%s", err.message);
    EXPECT(mvb_json_double(&lj, 1, &d) && d == 0.25, "a 400-digit number: %g",
           d);
    mvb_json_free(&lj);
  }
  bool b = false;
  EXPECT(mvb_json_bool(&j, mvb_json_find(&j, 0, "t"), &b) && b, "bool");
  int arr = mvb_json_find(&j, 0, "arr");
  EXPECT(mvb_json_is(&j, arr, MVB_JSON_ARRAY) && j.tokens[arr].size == 3,
         "array");
  EXPECT(j.tokens[arr].next == j.count, "next of the last value");
  EXPECT(!mvb_json_double(&j, j.tokens[arr + 1].next + 1, &d), "null");
  EXPECT(mvb_json_find(&j, 0, "missing") == -1 &&
             mvb_json_find(&j, arr, "s") == -1,
         "find");
  mvb_json_free(&j);

  static const char nul[] = "{\"a\": \"x\\u0000y\"}";
  REQUIRE(mvb_json_parse(nul, strlen(nul), "t", &j, &err) == MVB_OK, "%s",
          err.message);
  EXPECT(mvb_json_string(&j, 2, &s) == MVB_ERR_MODEL_FORMAT && !s,
         "\\u0000 refused");
  mvb_json_free(&j);
  EXPECT(mvb_json_parse("{\"a\": 1}\0{", 10, "t", &j, &err) ==
                 MVB_ERR_MODEL_FORMAT &&
             test_contains(err.message, "t: malformed JSON at byte offset 8"),
         "NUL inside: %s", err.message);
}

/* ---- the original model
 * ---------------------------------------------------------- */

static void parses_the_original_model(void) {
  char path[1024];
  snprintf(path, sizeof path,
           "%s/../shared/conformance/seed-inception-v3/model.json",
           test_source_dir());
  if (access(path, R_OK) != 0) SKIP("%s is absent", path);
  FILE *file = fopen(path, "rb");
  REQUIRE(file, "cannot open %.900s", path);
  static char text[1 << 20];
  size_t size = fread(text, 1, sizeof text, file);
  fclose(file);
  REQUIRE(size > 0 && size < sizeof text, "read %zu bytes", size);

  /* The converter's layout: shards of 4 MiB, the last one shorter. */
  mvb_json j;
  mvb_error err = {{0}};
  REQUIRE(mvb_json_parse(text, size, "model.json", &j, &err) == MVB_OK, "%s",
          err.message);
  int group = mvb_json_find(&j, 0, "weightsManifest") + 1;
  int weights = mvb_json_find(&j, group, "weights");
  int n_paths = j.tokens[mvb_json_find(&j, group, "paths")].size;
  size_t total = 0;
  for (int k = 0, w = weights + 1; k < j.tokens[weights].size;
       k++, w = j.tokens[w].next) {
    int shape = mvb_json_find(&j, w, "shape");
    size_t count = 1;
    for (int d = 0, t = shape + 1; d < j.tokens[shape].size; d++, t++) {
      int64_t v = 0;
      mvb_json_int64(&j, t, &v);
      count *= (size_t)v;
    }
    total += mvb_json_find(&j, w, "quantization") >= 0 ? count : 4 * count;
  }
  mvb_json_free(&j);
  EXPECT(total == 48279113 && n_paths == 12, "%zu bytes in %d shards", total,
         n_paths);
  uint8_t *zeros = calloc(total, 1);
  REQUIRE(zeros, "out of memory");
  const uint8_t *shards[64];
  size_t sizes[64], unit = 4194304;
  REQUIRE(n_paths > 0 && n_paths <= 64, "%d paths", n_paths);
  for (int k = 0; k < n_paths; k++) {
    shards[k] = zeros + (size_t)k * unit;
    sizes[k] = k + 1 < n_paths ? unit : total - (size_t)k * unit;
  }

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  mvb_model_file f;
  mvb_status s = mvb_model_file_parse(text, size, shards, sizes,
                                      (size_t)n_paths, &f, &err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  free(zeros);
  REQUIRE(s == MVB_OK, "%s", err.message);
  printf(
      "# the original model.json (%zu bytes) + 48 MB of shards parsed in "
      "%.1f ms\n",
      size, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  size_t consts = 0, convs = 0;
  for (size_t k = 0; k < f.n_nodes; k++) {
    consts += !strcmp(f.nodes[k].op, "Const");
    convs += !strcmp(f.nodes[k].op, "_FusedConv2D");
  }
  EXPECT(f.n_consts == 153 && consts == 153, "%zu consts, %zu Const nodes",
         f.n_consts, consts);
  EXPECT(convs == 70, "%zu _FusedConv2D", convs);
  EXPECT(f.input_rank == 4 && f.input_shape[0] == -1 &&
             f.input_shape[1] == 200 && f.input_shape[2] == 200 &&
             f.input_shape[3] == 3,
         "input shape");
  EXPECT(!strcmp(f.input_node, "input_1") && f.n_outputs == 1 &&
             !strcmp(f.outputs[0].node, "Identity"),
         "%s -> %s", f.input_node, f.outputs[0].node);
  EXPECT(f.preprocess.height == 200 && f.preprocess.width == 200 &&
             f.preprocess.mean[0] == 0.5f,
         "default preprocess");
  mvb_const *kernel = (mvb_const *)mvb_model_file_const(
      &f, "StatefulPartitionedCall/model/dense/MatMul/ReadVariableOp");
  EXPECT(kernel && kernel->count == 76800u * 512 &&
             mvb_const_dequantize(kernel, &err) == MVB_OK &&
             kernel->f32[0] == (float)-0.013406092238922912,
         "dense kernel = its min for zero bytes");
  const mvb_node *conv =
      mvb_model_file_node(&f, "StatefulPartitionedCall/model/activation/Relu");
  const mvb_attr *padding = conv ? mvb_node_attr(conv, "padding") : NULL;
  EXPECT(padding && !strcmp(padding->s, "VALID"), "first conv padding");
  mvb_model_file_free(&f);
}

/* ---- weights must be finite; shards must match their digests ------------ */

/* Finite as doubles, yet past float32 or near it once dequantized: min
 * 1e300 made every photo "mountain 100%", scale 1e30 every score NaN. */
static void refuses_quantization_that_is_not_finite_in_float32(void) {
  static const struct {
    const char *from, *to, *weight, *why;
  } cases[] = {
      {"\"min\": -1.0", "\"min\": 1e300", "weight \"w8\"",
       "quantization min 1e+300, scale 0.5 dequantizes to values of magnitude "
       "1e+300; a weight must be finite in float32 and at most 1e+18"},
      {"\"scale\": 0.5", "\"scale\": 1e30", "weight \"w8\"",
       "scale 1e+30 dequantizes to values of magnitude 2.55e+32"},
      {"\"scale\": 0.001", "\"scale\": \"NaN\"", "weight \"w16\"",
       "quantization scale is nan; it must be a positive finite number"},
      {"\"min\": 0.25", "\"min\": \"-Infinity\"", "weight \"w16\"",
       "quantization min is -inf; it must be a finite number"},
      {"\"scale\": 0.5", "\"scale\": 0", "weight \"w8\"",
       "quantization scale is 0;"},
      {"\"scale\": 0.5", "\"scale\": -0.5", "weight \"w8\"",
       "quantization scale is -0.5;"},
      /* uint16's 65535 steps reach past the bound where 255 would not */
      {"\"scale\": 0.001", "\"scale\": 1e14", "weight \"w16\"",
       "values of magnitude 6.5535e+18"},
      /* int32 weights: the scale must still be positive */
      {"\"min\": -2, \"scale\": 0.5", "\"min\": -2, \"scale\": 0",
       "weight \"wq\"", "quantization scale is 0;"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    expect_failure(edit(cases[k].from, cases[k].to), MVB_ERR_MODEL_FORMAT,
                   cases[k].weight, cases[k].why, __LINE__);
}

/* BASE with GROUP0's bytes at `at` replaced by n bytes. */
static mvb_status parse_patched(const char *json, size_t at, const void *bytes,
                                size_t n, mvb_model_file *f, mvb_error *err) {
  uint8_t group0[sizeof GROUP0];
  memcpy(group0, GROUP0, sizeof group0);
  memcpy(group0 + at, bytes, n);
  const uint8_t *shards[3] = {group0, group0 + 16, GROUP1};
  return mvb_model_file_parse(json, strlen(json), shards, SIZES, 3, f, err);
}

static void expect_patched_failure(size_t at, const void *bytes, size_t n,
                                   const char *fragment, int line) {
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = parse_patched(BASE, at, bytes, n, &f, &err);
  EXPECT(s == MVB_ERR_MODEL_FORMAT && test_contains(err.message, fragment),
         "(from line %d) status %d: %s", line, (int)s, err.message);
  EXPECT(f.consts == NULL && f.n_consts == 0, "(from line %d) not emptied",
         line);
  mvb_model_file_free(&f);
}

/* wf (float32) sits at bytes 18..25, wh (float16) at 10..17 of group 0. */
static void refuses_nan_and_inf_in_float_weights(void) {
  const float nan = NAN, inf = INFINITY, huge = 1e20f;
  expect_patched_failure(22, &nan, 4, "weight \"wf\": value 1 is nan",
                         __LINE__);
  expect_patched_failure(18, &inf, 4, "weight \"wf\": value 0 is inf",
                         __LINE__);
  expect_patched_failure(18, &huge, 4,
                         "weight \"wf\": value 0 is 1e+20; a weight must be "
                         "finite and at most 1e+18",
                         __LINE__);
  const uint8_t half_inf[2] = {0x00, 0xfc}, half_nan[2] = {0x00, 0x7e};
  expect_patched_failure(14, half_inf, 2, "weight \"wh\": value 2 is -inf",
                         __LINE__);
  expect_patched_failure(14, half_nan, 2, "weight \"wh\": value 2 is nan",
                         __LINE__);
}

/* BASE with "mvb": {"shards": {entries}}. */
static const char *with_shards(const char *entries) {
  char mvb[1024];
  snprintf(mvb, sizeof mvb,
           "\"generatedBy\": \"test\", \"mvb\": {\"shards\": {%s}},", entries);
  return edit("\"generatedBy\": \"test\",", mvb);
}

/* "NAME": {"sha256": "<hex of n bytes at p>"} */
static void digest_entry(char *out, size_t size, const char *name,
                         const uint8_t *p, size_t n) {
  uint8_t d[MVB_SHA256_BYTES];
  char hex[MVB_SHA256_HEX];
  mvb_sha256(p, n, d);
  mvb_sha256_hex(d, hex);
  snprintf(out, size, "\"%s\": {\"sha256\": \"%s\"}", name, hex);
}

static void checks_shards_against_their_digests(void) {
  char a1[128], a2[128], b1[128], all[400];
  digest_entry(a1, sizeof a1, "a1.bin", GROUP0, 16);
  digest_entry(a2, sizeof a2, "a2.bin", GROUP0 + 16, 14);
  digest_entry(b1, sizeof b1, "b1.bin", GROUP1, 3);
  snprintf(all, sizeof all, "%s, %s, %s", b1, a1, a2);
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = parse(with_shards(all), &f, &err);
  EXPECT(s == MVB_OK && f.n_digests == 3, "all three: %s", err.message);
  mvb_model_file_free(&f);

  /* one flipped bit in a2.bin (a byte of wf: still a finite weight) */
  const uint8_t flipped = GROUP0[20] ^ 0x01;
  s = parse_patched(with_shards(all), 20, &flipped, 1, &f, &err);
  uint8_t patched[14], d[MVB_SHA256_BYTES];
  memcpy(patched, GROUP0 + 16, sizeof patched);
  patched[4] = flipped;
  mvb_sha256(patched, sizeof patched, d);
  char have[MVB_SHA256_HEX], want[200];
  mvb_sha256_hex(d, have);
  snprintf(want, sizeof want,
           "weight shard 2 (\"a2.bin\") is damaged: its SHA-256 is %s, "
           "model.json says %.64s",
           have, a2 + strlen("\"a2.bin\": {\"sha256\": \""));
  EXPECT(s == MVB_ERR_MODEL_FORMAT && test_contains(err.message, want),
         "damaged: status %d: %s\nwanted: %s", (int)s, err.message, want);
  EXPECT(f.consts == NULL, "not emptied");
  mvb_model_file_free(&f);
}

static void loads_shards_without_digests(void) {
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = parse(BASE, &f, &err);
  EXPECT(s == MVB_OK && f.n_digests == 0, "no digests: %s", err.message);
  mvb_model_file_free(&f);
  /* a digest for one shard checks that one; the others load unchecked */
  char b1[128];
  digest_entry(b1, sizeof b1, "b1.bin", GROUP1, 3);
  s = parse(with_shards(b1), &f, &err);
  EXPECT(s == MVB_OK && f.n_digests == 1, "one digest: %s", err.message);
  mvb_model_file_free(&f);
}

static void refuses_digests_for_unknown_paths_and_malformed_ones(void) {
  char a1[128], c[140];
  digest_entry(a1, sizeof a1, "a1.bin", GROUP0, 16);
  digest_entry(c, sizeof c, "group1-shard9of9.bin", GROUP0, 16);
  char both[300];
  snprintf(both, sizeof both, "%s, %s", a1, c);
  EXPECT_FAILURE(with_shards(both), MVB_ERR_MODEL_FORMAT,
                 "mvb.shards has a digest for \"group1-shard9of9.bin\", which "
                 "is not a shard of the weightsManifest",
                 NULL);
  EXPECT_FAILURE(with_shards("\"a1.bin\": {\"sha256\": \"abc\"}"),
                 MVB_ERR_MODEL_FORMAT,
                 "mvb.shards: the entry for \"a1.bin\" must be {\"sha256\": "
                 "\"<64 hex digits>\"}",
                 "at byte");
  EXPECT_FAILURE(with_shards("\"a1.bin\": \"abc\""), MVB_ERR_MODEL_FORMAT,
                 "the entry for \"a1.bin\" must be", NULL);
  EXPECT_FAILURE(with_shards("\"a1.bin\": {\"md5\": \"abc\"}"),
                 MVB_ERR_MODEL_FORMAT,
                 "unknown key \"md5\" in an mvb.shards entry", NULL);
  snprintf(both, sizeof both, "%s, %s", a1, a1);
  EXPECT_FAILURE(with_shards(both), MVB_ERR_MODEL_FORMAT,
                 "two mvb.shards entries are named \"a1.bin\"", NULL);
  EXPECT_FAILURE(edit("\"generatedBy\": \"test\",",
                      "\"generatedBy\": \"test\", \"mvb\": {\"shards\": []},"),
                 MVB_ERR_MODEL_FORMAT, "\"shards\" must be an object", NULL);
}

int main(void) {
  int failed = 0;
  failed +=
      test_run("parses_every_weight_encoding", parses_every_weight_encoding);
  failed += test_run("parses_nodes_inputs_and_signature",
                     parses_nodes_inputs_and_signature);
  failed += test_run("decodes_every_attr_form", decodes_every_attr_form);
  failed += test_run("applies_preprocess_defaults_and_mvb_key",
                     applies_preprocess_defaults_and_mvb_key);
  failed += test_run("rejects_bad_preprocess", rejects_bad_preprocess);
  failed += test_run("reads_two_weight_groups_in_order",
                     reads_two_weight_groups_in_order);
  failed += test_run("rejects_malformed_json_with_offset",
                     rejects_malformed_json_with_offset);
  failed += test_run("rejects_every_truncation", rejects_every_truncation);
  failed += test_run("survives_byte_mutations", survives_byte_mutations);
  failed += test_run("rejects_wrong_types", rejects_wrong_types);
  failed += test_run("reads_outputs_as_a_list_within_limits",
                     reads_outputs_as_a_list_within_limits);
  failed += test_run("checks_shard_sizes", checks_shard_sizes);
  failed += test_run("rejects_unsupported_dtypes", rejects_unsupported_dtypes);
  failed +=
      test_run("rejects_rank_and_huge_shapes", rejects_rank_and_huge_shapes);
  failed += test_run("reads_a_model_directory", reads_a_model_directory);
  failed += test_run("refuses_oversized_shards_before_reading_them",
                     refuses_oversized_shards_before_reading_them);
  failed += test_run("rejects_paths_leaving_the_directory",
                     rejects_paths_leaving_the_directory);
  failed += test_run("json_reader_decodes_values", json_reader_decodes_values);
  failed += test_run("parses_the_original_model", parses_the_original_model);
  failed += test_run("refuses_quantization_that_is_not_finite_in_float32",
                     refuses_quantization_that_is_not_finite_in_float32);
  failed += test_run("refuses_nan_and_inf_in_float_weights",
                     refuses_nan_and_inf_in_float_weights);
  failed += test_run("checks_shards_against_their_digests",
                     checks_shards_against_their_digests);
  failed +=
      test_run("loads_shards_without_digests", loads_shards_without_digests);
  failed += test_run("refuses_digests_for_unknown_paths_and_malformed_ones",
                     refuses_digests_for_unknown_paths_and_malformed_ones);
  return test_exit(failed);
}
