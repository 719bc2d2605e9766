/* test_verdict.c: the four verdicts and the rules that decide them, read
 * from model.json's "mvb" key (src/model_mvb.c) and applied in one place
 * (src/mvb.c), through the public API.
 *
 * The model is written by the test and answers the same whatever the photo:
 * input (8, 8, 3) -> Mean -> MatMul by zeros -> + bias -> Softmax, so its
 * probabilities are softmax(bias) and every rule can be hit exactly. */
#include "test_util.h"

#include <math.h>

#include "mvb.h"

/* Weights in manifest order: kernel (3, K) zeros, bias (K), axes int32 (2);
 * K = 3 classes, or 1 for a one-score model. */
#define SHARD_FLOATS(k) (3 * (k) + (k) + 2)

static const char MODEL[] =
    "{\"format\": \"graph-model\","
    " \"signature\": {\"inputs\": {\"x:0\": {\"name\": \"x:0\", "
    "\"tensorShape\":"
    " {\"dim\": [{\"size\": \"-1\"}, {\"size\": \"8\"}, {\"size\": \"8\"},"
    " {\"size\": \"3\"}]}}}, \"outputs\": {\"Identity:0\": {\"name\":"
    " \"Identity:0\"}}},"
    " \"modelTopology\": {\"node\": ["
    "{\"name\": \"x\", \"op\": \"Placeholder\"},"
    "{\"name\": \"kernel\", \"op\": \"Const\"}, {\"name\": \"bias\", \"op\":"
    " \"Const\"}, {\"name\": \"axes\", \"op\": \"Const\"},"
    "{\"name\": \"mean\", \"op\": \"Mean\", \"input\": [\"x\", \"axes\"],"
    " \"attr\": {\"keep_dims\": {\"b\": false}}},"
    "{\"name\": \"mm\", \"op\": \"MatMul\", \"input\": [\"mean\", \"kernel\"]},"
    "{\"name\": \"z\", \"op\": \"AddV2\", \"input\": [\"mm\", \"bias\"]},"
    "{\"name\": \"p\", \"op\": \"%s\", \"input\": [\"z\"]},"
    "{\"name\": \"Identity\", \"op\": \"Identity\", \"input\": [\"p\"]}]},"
    " \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": ["
    "{\"name\": \"kernel\", \"shape\": [3, %d], \"dtype\": \"float32\"},"
    "{\"name\": \"bias\", \"shape\": [%d], \"dtype\": \"float32\"},"
    "{\"name\": \"axes\", \"shape\": [2], \"dtype\": \"int32\"}]}],"
    " \"mvb\": {%s}}";

static const char OUTPUTS[] =
    "\"outputs\": {\"Identity:0\": {\"kind\": \"probabilities\", \"classes\":"
    " [\"beach\", \"mountain\", \"neither\"]}}";
static const char RULES[] =
    "\"verdict\": {\"mountain_above\": 0.65, \"beach_below\": 0.35,"
    " \"neither_above\": 0.5, \"unsure_above\": 0.3}";

/* Loads the model with k outputs, the given final op, "mvb" body and bias;
 * returns the status, the handle in *out (free it). */
static mvb_status load_k(int k, const char *op, const char *mvb_body,
                         const float *bias, const mvb_options *o,
                         mvb_model **out) {
  char json[4096];
  snprintf(json, sizeof json, MODEL, op, k, k, mvb_body);
  float shard[SHARD_FLOATS(3)] = {0};
  for (int i = 0; i < k; i++) shard[3 * k + i] = bias[i];
  int32_t axes[2] = {1, 2};
  memcpy(&shard[4 * k], axes, sizeof axes);
  const uint8_t *shards[1] = {(const uint8_t *)shard};
  size_t sizes[1] = {SHARD_FLOATS(k) * sizeof(float)};
  *out = mvb_model_create(o);
  return mvb_model_load_buffers(*out, json, strlen(json), shards, sizes, 1);
}

static mvb_status load(const char *op, const char *mvb_body,
                       const float bias[3], const mvb_options *o,
                       mvb_model **out) {
  return load_k(3, op, mvb_body, bias, o, out);
}

/* bias = log(p): the model's probabilities are p exactly (up to rounding). */
static void logs(float p0, float p1, float p2, float bias[3]) {
  bias[0] = logf(p0);
  bias[1] = logf(p1);
  bias[2] = logf(p2);
}

static mvb_status classify(mvb_model *m, mvb_result *r) {
  uint8_t grey[8 * 8 * 4];
  memset(grey, 128, sizeof grey);
  return mvb_classify_rgba(m, grey, 8, 8, r);
}

typedef struct verdict_case {
  float p[3]; /* beach, mountain, neither */
  mvb_verdict want;
} verdict_case;

static void each_rule_gives_its_verdict(void) {
  char body[1024];
  snprintf(body, sizeof body, "%s, %s", OUTPUTS, RULES);
  static const verdict_case cases[] = {
      {{0.05f, 0.90f, 0.05f}, MVB_MOUNTAIN}, /* score 0.947 */
      {{0.90f, 0.05f, 0.05f}, MVB_BEACH},
      {{0.45f, 0.50f, 0.05f}, MVB_NOT_SURE}, /* score 0.53: in between */
      {{0.10f, 0.10f, 0.80f}, MVB_NEITHER},
      {{0.05f, 0.55f, 0.40f}, MVB_NOT_SURE}, /* neither 0.4 in (0.3, 0.5] */
      {{0.05f, 0.70f, 0.25f}, MVB_MOUNTAIN}, /* neither 0.25: below band */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const verdict_case *c = &cases[k];
    float bias[3];
    logs(c->p[0], c->p[1], c->p[2], bias);
    mvb_model *m = NULL;
    mvb_result r;
    mvb_status s = load("Softmax", body, bias, NULL, &m);
    if (s == MVB_OK) s = classify(m, &r);
    EXPECT(s == MVB_OK, "case %zu: %s", k, mvb_model_error(m));
    if (s == MVB_OK) {
      EXPECT(r.verdict == c->want, "case %zu: verdict %s, want %s", k,
             mvb_verdict_name(r.verdict), mvb_verdict_name(c->want));
      EXPECT(r.has_neither == 1, "case %zu: has_neither", k);
      for (int i = 0; i < 3; i++)
        EXPECT(fabsf(r.probability[i] - c->p[i]) < 1e-5f,
               "case %zu: P[%d] %g, want %g", k, i, r.probability[i], c->p[i]);
      float score = c->p[1] / (c->p[0] + c->p[1]);
      EXPECT(fabsf(r.score - score) < 1e-5f, "case %zu: score %g, want %g", k,
             r.score, score);
      float conf = c->want == MVB_NOT_SURE
                       ? fmaxf(fmaxf(c->p[0], c->p[1]), c->p[2])
                       : c->p[c->want == MVB_NEITHER ? 2 : (int)c->want];
      EXPECT(fabsf(r.confidence - conf) < 1e-5f,
             "case %zu: confidence %g, want %g", k, r.confidence, conf);
    }
    mvb_model_free(m);
  }
}

/* Rules unlike the library's defaults (0.65 / 0.35 / 0.5 / 0.5), so that a
 * rule reset to its default instead of kept from model.json changes a
 * verdict below. */
static const char OWN_RULES[] =
    "\"verdict\": {\"mountain_above\": 0.8, \"beach_below\": 0.2,"
    " \"neither_above\": 0.5, \"unsure_above\": 0.3}";

typedef struct override_case {
  float p[3]; /* beach, mountain, neither */
  mvb_verdict want;
  const char *why;
} override_case;

/* Each case loads the model with the given options and checks its verdict. */
static void expect_verdicts(const mvb_options *o, const char *what,
                            const override_case *cases, size_t n) {
  char body[1024];
  snprintf(body, sizeof body, "%s, %s", OUTPUTS, OWN_RULES);
  for (size_t k = 0; k < n; k++) {
    float bias[3];
    logs(cases[k].p[0], cases[k].p[1], cases[k].p[2], bias);
    mvb_model *m = NULL;
    mvb_result r;
    mvb_status s = load("Softmax", body, bias, o, &m);
    if (s == MVB_OK) s = classify(m, &r);
    EXPECT(s == MVB_OK && r.verdict == cases[k].want,
           "%s, case %zu (%s): status %d verdict %s, want %s: %s", what, k,
           cases[k].why, s, mvb_verdict_name(r.verdict),
           mvb_verdict_name(cases[k].want), mvb_model_error(m));
    mvb_model_free(m);
  }
}

static void options_override_one_rule_and_keep_the_others(void) {
  mvb_options o = mvb_default_options();
  o.neither_above = 0.9f;
  static const override_case neither_09[] = {
      {{0.10f, 0.10f, 0.80f}, MVB_NOT_SURE, "0.8 is no longer neither"},
      {{0.05f, 0.55f, 0.40f},
       MVB_NOT_SURE,
       "unsure_above 0.3 kept (0.5: mountain)"},
      {{0.25f, 0.73f, 0.02f},
       MVB_NOT_SURE,
       "score 0.745: mountain_above 0.8 kept (0.65: mountain)"},
      {{0.70f, 0.28f, 0.02f},
       MVB_NOT_SURE,
       "score 0.286: beach_below 0.2 kept (0.35: beach)"},
      {{0.02f, 0.96f, 0.02f}, MVB_MOUNTAIN, "score 0.98"},
  };
  expect_verdicts(&o, "neither_above 0.9", neither_09,
                  sizeof neither_09 / sizeof neither_09[0]);

  o = mvb_default_options();
  o.mountain_above = 0.7f;
  static const override_case mountain_07[] = {
      {{0.25f, 0.73f, 0.02f}, MVB_MOUNTAIN, "score 0.745 > 0.7"},
      {{0.70f, 0.28f, 0.02f}, MVB_NOT_SURE, "beach_below 0.2 kept"},
      {{0.10f, 0.10f, 0.80f}, MVB_NEITHER, "neither_above 0.5 kept"},
      {{0.05f, 0.55f, 0.40f}, MVB_NOT_SURE, "unsure_above 0.3 kept"},
  };
  expect_verdicts(&o, "mountain_above 0.7", mountain_07,
                  sizeof mountain_07 / sizeof mountain_07[0]);
}

static void a_model_without_rules_uses_the_defaults(void) {
  float bias[3];
  logs(0.25f, 0.15f, 0.60f, bias); /* neither 0.6 > 0.5 by default */
  mvb_model *m = NULL;
  mvb_result r;
  mvb_status s = load("Softmax", OUTPUTS, bias, NULL, &m);
  if (s == MVB_OK) s = classify(m, &r);
  EXPECT(s == MVB_OK && r.verdict == MVB_NEITHER, "status %d verdict %s: %s", s,
         mvb_verdict_name(r.verdict), mvb_model_error(m));
  mvb_model_free(m);
}

static void outputs_are_read_as_a_list(void) {
  char body[1024];
  snprintf(body, sizeof body, "%s, %s", OUTPUTS, RULES);
  float bias[3];
  logs(0.2f, 0.3f, 0.5f, bias);
  mvb_model *m = NULL;
  mvb_result r;
  mvb_status s = load("Softmax", body, bias, NULL, &m);
  REQUIRE(s == MVB_OK, "%s", mvb_model_error(m));
  EXPECT(mvb_output_count(m) == 1, "%zu outputs", mvb_output_count(m));
  REQUIRE(classify(m, &r) == MVB_OK, "%s", mvb_model_error(m));
  int64_t dims[MVB_MAX_RANK] = {0};
  EXPECT(mvb_output_shape(m, 0, dims) == 2 && dims[0] == 1 && dims[1] == 3,
         "shape %lld x %lld", (long long)dims[0], (long long)dims[1]);
  EXPECT(!strcmp(mvb_output_name(m, 0), "Identity:0"), "name %s",
         mvb_output_name(m, 0));
  EXPECT(mvb_output_size(m, 0) == 3 &&
             fabsf(mvb_output_data(m, 0)[2] - 0.5f) < 1e-5f,
         "data");
  EXPECT(mvb_output_kind_of(m, 0) == MVB_OUTPUT_PROBABILITIES &&
             mvb_output_class(m, 0, 2) == MVB_CLASS_NEITHER &&
             mvb_output_class(m, 0, 3) == -1,
         "kind and classes");
  EXPECT(mvb_output_name(m, 1) == NULL && mvb_output_data(m, 1) == NULL &&
             mvb_output_size(m, 1) == 0 &&
             mvb_output_kind_of(m, 1) == MVB_OUTPUT_OTHER,
         "out of range");
  mvb_model_free(m);
}

typedef struct bad_case {
  const char *op;
  const char *body;
  mvb_status status;
  const char *fragment;
} bad_case;

static void bad_rules_and_outputs_are_refused_naming_them(void) {
  static const bad_case cases[] = {
      {"Softmax",
       "\"verdict\": {\"mountain_above\": 0.65, \"beach_belw\": 0.35}",
       MVB_ERR_MODEL_FORMAT, "unknown key \"beach_belw\" in mvb.verdict"},
      {"Softmax", "\"verdict\": {\"mountain_above\": 1.5}",
       MVB_ERR_MODEL_FORMAT,
       "mvb.verdict.mountain_above must be a number in [0, 1]"},
      {"Softmax",
       "\"verdict\": {\"mountain_above\": 0.3, \"beach_below\": 0.6}",
       MVB_ERR_MODEL_FORMAT, "beach_below (0.6) must not be above"},
      {"Softmax",
       "\"verdict\": {\"neither_above\": 0.3, \"unsure_above\": 0.6}",
       MVB_ERR_MODEL_FORMAT, "unsure_above (0.6) must not be above"},
      {"Softmax",
       "\"outputs\": {\"nope:0\": {\"kind\": \"probabilities\", \"classes\":"
       " [\"beach\", \"mountain\"]}}",
       MVB_ERR_MODEL_FORMAT, "names an output the signature does not have"},
      {"Softmax",
       "\"outputs\": {\"Identity:0\": {\"kind\": \"probabilities\","
       " \"classes\": [\"beach\", \"beach\", \"neither\"]}}",
       MVB_ERR_MODEL_FORMAT, "each named once"},
      {"Softmax",
       "\"outputs\": {\"Identity:0\": {\"kind\": \"probabilities\","
       " \"classes\": [\"beach\", \"neither\", \"cat\"]}}",
       MVB_ERR_MODEL_FORMAT, "class 2 must be one of"},
      {"Softmax",
       "\"outputs\": {\"Identity:0\": {\"kind\": \"probabilities\","
       " \"classes\": [\"beach\", \"mountain\"]}}",
       MVB_ERR_SHAPE, "output Identity:0 has 3 values"},
      {"Softmax", "\"outputs\": {\"Identity:0\": {\"kind\": \"logits\"}}",
       MVB_ERR_UNSUPPORTED, "\"kind\" must be"},
      {"Softmax",
       "\"outputs\": {\"Identity:0\": {\"kind\": \"heatmap\", \"classes\":"
       " [\"beach\", \"mountain\", \"neither\"], \"grid\": [4, 4]}}",
       MVB_ERR_SHAPE, "not what mvb.outputs describes"},
      {"Softmax",
       "\"outputs\": {\"Identity:0\": {\"kind\": \"score\", \"classes\":"
       " [\"beach\", \"mountain\", \"neither\"]}}",
       MVB_ERR_MODEL_FORMAT, "a \"score\" output has no \"classes\""},
      {"Softmax",
       "\"outputs\": {\"Identity:0\": {\"kind\": \"probabilities\","
       " \"classes\": [\"beach\", \"mountain\", \"neither\"], \"grid\": [4, "
       "4]}}",
       MVB_ERR_MODEL_FORMAT, "a \"probabilities\" output has no \"grid\""},
  };
  float bias[3] = {0, 0, 0};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const bad_case *c = &cases[k];
    mvb_model *m = NULL;
    mvb_status s = load(c->op, c->body, bias, NULL, &m);
    EXPECT(s == c->status, "case %zu: status %d, want %d: %s", k, s, c->status,
           mvb_model_error(m));
    EXPECT(test_contains(mvb_model_error(m), c->fragment),
           "case %zu: message lacks \"%s\": %s", k, c->fragment,
           mvb_model_error(m));
    mvb_model_free(m);
  }
}

static void probabilities_that_do_not_add_up_are_refused(void) {
  /* Relu instead of Softmax: three values that are no distribution. */
  float bias[3] = {0.5f, 0.5f, 0.5f};
  mvb_model *m = NULL;
  mvb_result r;
  mvb_status s = load("Relu", OUTPUTS, bias, NULL, &m);
  if (s == MVB_OK) s = classify(m, &r);
  EXPECT(s == MVB_ERR_BACKEND &&
             test_contains(mvb_model_error(m), "add up to 1.5, not 1"),
         "status %d: %s", s, mvb_model_error(m));
  mvb_model_free(m);
}

/* A one-score model (the original's kind): sigmoid(0) = 0.5, judged by
 * today's defaults (not sure) or by the first exporter's "thresholds". */
static void one_score_models_keep_todays_rules(void) {
  const float zero[1] = {0.0f};
  mvb_model *m = NULL;
  mvb_result r;
  mvb_status s = load_k(1, "Sigmoid", "\"preprocess\": {}", zero, NULL, &m);
  if (s == MVB_OK) s = classify(m, &r);
  EXPECT(s == MVB_OK && r.verdict == MVB_NOT_SURE && !r.has_neither &&
             fabsf(r.probability[MVB_CLASS_BEACH] - 0.5f) < 1e-6f,
         "defaults: status %d verdict %s: %s", s, mvb_verdict_name(r.verdict),
         mvb_model_error(m));
  mvb_model_free(m);
  s = load_k(1, "Sigmoid", "\"thresholds\": [0.2, 0.45]", zero, NULL, &m);
  if (s == MVB_OK) s = classify(m, &r);
  EXPECT(s == MVB_OK && r.verdict == MVB_MOUNTAIN,
         "thresholds: status %d verdict %s: %s", s, mvb_verdict_name(r.verdict),
         mvb_model_error(m));
  mvb_model_free(m);
  /* Three values and no "outputs": loads (raw tensors), cannot classify. */
  const float three[3] = {0, 0, 0};
  s = load("Sigmoid", "\"preprocess\": {}", three, NULL, &m);
  if (s == MVB_OK) s = classify(m, &r);
  EXPECT(s == MVB_ERR_SHAPE &&
             test_contains(mvb_model_error(m), "must output one score"),
         "status %d: %s", s, mvb_model_error(m));
  /* Said before any photo is decoded (so before the graph runs): bytes that
   * are no image get the model's refusal, not a decoding error. */
  const uint8_t junk[] = "not an image";
  s = m ? mvb_classify_encoded(m, junk, sizeof junk, &r) : MVB_ERR_STATE;
  EXPECT(s == MVB_ERR_SHAPE &&
             test_contains(mvb_model_error(m), "must output one score"),
         "before decoding: status %d: %s", s, mvb_model_error(m));
  mvb_model_free(m);
}

/* An output described twice once kept both descriptions' leftovers: here a
 * one-value output, first "probabilities" of three classes then "score",
 * passed the load check as a score while the verdict read three values
 * from it. */
static void an_output_described_twice_is_refused_naming_it(void) {
  const float zero[1] = {0.0f};
  mvb_model *m = NULL;
  mvb_status s = load_k(1, "Sigmoid",
                        "\"outputs\": {\"Identity:0\": {\"kind\": "
                        "\"probabilities\", \"classes\": [\"beach\", "
                        "\"mountain\", \"neither\"]}, \"Identity:0\": "
                        "{\"kind\": \"score\"}}",
                        zero, NULL, &m);
  EXPECT(s == MVB_ERR_MODEL_FORMAT &&
             test_contains(mvb_model_error(m),
                           "mvb.outputs describes output \"Identity:0\" "
                           "twice"),
         "status %d: %s", s, mvb_model_error(m));
  mvb_model_free(m);
}

int main(void) {
  int failed = 0;
  failed +=
      test_run("each_rule_gives_its_verdict", each_rule_gives_its_verdict);
  failed += test_run("options_override_one_rule_and_keep_the_others",
                     options_override_one_rule_and_keep_the_others);
  failed += test_run("a_model_without_rules_uses_the_defaults",
                     a_model_without_rules_uses_the_defaults);
  failed += test_run("outputs_are_read_as_a_list", outputs_are_read_as_a_list);
  failed += test_run("bad_rules_and_outputs_are_refused_naming_them",
                     bad_rules_and_outputs_are_refused_naming_them);
  failed += test_run("probabilities_that_do_not_add_up_are_refused",
                     probabilities_that_do_not_add_up_are_refused);
  failed += test_run("one_score_models_keep_todays_rules",
                     one_score_models_keep_todays_rules);
  failed += test_run("an_output_described_twice_is_refused_naming_it",
                     an_output_described_twice_is_refused_naming_it);
  return test_exit(failed);
}
