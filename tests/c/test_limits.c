/* test_limits.c: hostile model.json sizes are refused or loaded quickly and
 * in bounded memory (docs/design.md, "Limits"): a 200,000-node chain (which
 * once crashed the recursive graph walk after 110 s), a graph at the node
 * limit, JSON nested a million deep (once quadratic in jsmn), and nesting
 * at the depth limit. Every model here is written by the test.
 *
 * Times are wall clock on a loaded machine, so the bounds are the issue's
 * (2 s) with room; under AddressSanitizer they are four times as long and
 * memory is not measured (its shadow memory is not ours). */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

#include "json.h"
#include "model_file.h"
#include "mvb.h"

#define SLOWDOWN (SANITIZED ? 10.0 : 1.0)

/* CPU time of this process, not wall time: the bounds below are about the
 * work the loader does (the old walk was quadratic), and must not fail
 * because other processes share the cores (a CI machine, a training run). */
static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Peak resident memory of this process so far, in MiB. */
static double peak_mib(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* ---- models ------------------------------------------------------------ */

/* x (Placeholder, [-1, 4]) -> n Relu nodes r0 .. r<n-1>, each reading the
 * one before -> Identity "out", the signature output. With cycle set, r0
 * reads r<n-1> instead of x. Malloc'd; *size gets its length. */
static char *chain_json(size_t n, bool cycle, size_t *size) {
  size_t cap = 1024 + n * 64, len = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  len += (size_t)snprintf(
      s + len, cap - len,
      "{\"format\": \"graph-model\", \"signature\": {\"inputs\": {\"x:0\": "
      "{\"name\": \"x:0\", \"dtype\": \"DT_FLOAT\", \"tensorShape\": "
      "{\"dim\": [{\"size\": \"-1\"}, {\"size\": \"4\"}]}}}, \"outputs\": "
      "{\"out:0\": {\"name\": \"out:0\", \"dtype\": \"DT_FLOAT\"}}},\n"
      "\"modelTopology\": {\"node\": [\n"
      "{\"name\": \"x\", \"op\": \"Placeholder\", \"attr\": {\"dtype\": "
      "{\"type\": \"DT_FLOAT\"}}},\n");
  for (size_t k = 0; k < n; k++) {
    if (k == 0 && !cycle)
      len += (size_t)snprintf(s + len, cap - len,
                              "{\"name\": \"r0\", \"op\": \"Relu\", "
                              "\"input\": [\"x\"]},\n");
    else
      len += (size_t)snprintf(s + len, cap - len,
                              "{\"name\": \"r%zu\", \"op\": \"Relu\", "
                              "\"input\": [\"r%zu\"]},\n",
                              k, (k + n - 1) % n);
  }
  len += (size_t)snprintf(s + len, cap - len,
                          "{\"name\": \"out\", \"op\": \"Identity\", "
                          "\"input\": [\"r%zu\"]}]}}\n",
                          n - 1);
  *size = len;
  return s;
}

/* depth nested objects {"a": {"a": ... 1 ... }}; malloc'd. */
static char *nested_json(size_t depth, size_t *size) {
  size_t len = depth * 6 + 1;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  for (size_t k = 0; k < depth; k++) memcpy(s + 5 * k, "{\"a\":", 5);
  s[5 * depth] = '1';
  memset(s + 5 * depth + 1, '}', depth);
  s[len] = '\0';
  *size = len;
  return s;
}

/* Loads json (no weights) into a fresh handle; the handle is returned so
 * that its message can be read. */
static mvb_status load_json(const char *json, size_t size, mvb_model **m,
                            double *seconds) {
  *seconds = 0;
  *m = mvb_model_create(NULL);
  if (!*m) return MVB_ERR_OUT_OF_MEMORY;
  double t0 = now();
  mvb_status s = mvb_model_load_buffers(*m, json, size, NULL, NULL, 0);
  *seconds = now() - t0;
  return s;
}

/* ---- cases ------------------------------------------------------------- */

/* The bound on a hostile model.json: refused (or loaded) within 2 s and
 * 100 MB of peak memory. */
static void expect_quick_and_small(const char *what, size_t size,
                                   double seconds) {
  EXPECT(seconds < 2.0 * SLOWDOWN, "%s: took %.2f s", what, seconds);
  EXPECT(SANITIZED || peak_mib() < 100.0, "%s: peak memory %.0f MiB", what,
         peak_mib());
  printf("# %zu-byte %s refused in %.3f s, peak memory %.0f MiB\n", size, what,
         seconds, peak_mib());
}

/* Runs first, so that the peak memory is this case's. */
static void refuses_a_200000_node_chain_within_2_s_and_100_mb(void) {
  size_t size;
  char *json = chain_json(200000, false, &size);
  REQUIRE(json, "out of memory");
  EXPECT(size > 10000000, "the chain is only %zu bytes", size);
  mvb_model *m;
  double seconds;
  mvb_status s = load_json(json, size, &m, &seconds);
  EXPECT(s == MVB_ERR_UNSUPPORTED, "status %d: %s", (int)s, mvb_model_error(m));
  EXPECT(test_contains(mvb_model_error(m),
                       "modelTopology.node has 200002 nodes; at most 100000 "
                       "are supported"),
         "message: %s", mvb_model_error(m));
  expect_quick_and_small("chain", size, seconds);
  mvb_model_free(m);
  free(json);
}

static void refuses_a_million_nested_objects_at_the_65th(void) {
  size_t size;
  char *json = nested_json(1000000, &size);
  REQUIRE(json, "out of memory");
  mvb_model *m;
  double seconds;
  mvb_status s = load_json(json, size, &m, &seconds);
  /* the 65th '{' opens at byte 64 * 5 */
  EXPECT(s == MVB_ERR_UNSUPPORTED &&
             test_contains(mvb_model_error(m),
                           "JSON nested deeper than 64 levels at byte "
                           "offset 320 ('{'); at most 64 are supported"),
         "status %d: %s", (int)s, mvb_model_error(m));
  expect_quick_and_small("nesting", size, seconds);
  mvb_model_free(m);
  free(json);
}

static void accepts_64_levels_and_refuses_65(void) {
  mvb_error err = {{0}};
  mvb_json j;
  size_t size;
  char *json = nested_json(MVB_JSON_MAX_DEPTH, &size);
  REQUIRE(json, "out of memory");
  EXPECT(mvb_json_parse(json, size, "t", &j, &err) == MVB_OK, "64: %s",
         err.message);
  EXPECT(j.count == 2 * MVB_JSON_MAX_DEPTH + 1, "%d tokens", j.count);
  mvb_json_free(&j);
  free(json);

  json = nested_json(MVB_JSON_MAX_DEPTH + 1, &size);
  REQUIRE(json, "out of memory");
  EXPECT(mvb_json_parse(json, size, "t", &j, &err) == MVB_ERR_UNSUPPORTED &&
             test_contains(err.message,
                           "t: JSON nested deeper than 64 levels at byte "
                           "offset 320"),
         "65: %s", err.message);
  free(json);

  /* arrays count as objects do */
  char arrays[2 * 65 + 2];
  memset(arrays, '[', 65);
  memset(arrays + 65, ']', 65);
  EXPECT(mvb_json_parse(arrays + 1, 128, "t", &j, &err) == MVB_OK, "64: %s",
         err.message);
  mvb_json_free(&j);
  EXPECT(mvb_json_parse(arrays, 130, "t", &j, &err) == MVB_ERR_UNSUPPORTED &&
             test_contains(err.message, "at byte offset 64 ('[')"),
         "65 arrays: %s", err.message);
}

/* Brackets inside strings are text, after escaped quotes and before an
 * escaped backslash too: {"a\"[{": "{[{[ ... \\", "b": [1]}. */
static void brackets_in_strings_do_not_nest(void) {
  char json[512];
  int n = snprintf(json, sizeof json, "{\"a\\\"[{\": \"");
  for (int k = 0; k < 200; k++) json[n++] = k % 2 ? '[' : '{';
  n += snprintf(json + n, sizeof json - (size_t)n, "\\\\\", \"b\": [1]}");
  mvb_error err = {{0}};
  mvb_json j;
  EXPECT(mvb_json_parse(json, (size_t)n, "t", &j, &err) == MVB_OK, "%s",
         err.message);
  EXPECT(mvb_json_is(&j, mvb_json_find(&j, 0, "b"), MVB_JSON_ARRAY),
         "\"b\" not found after the string");
  mvb_json_free(&j);
}

/* The walk keeps its own stack: the load runs on a thread with a 256 KiB
 * stack, where the old recursion overflowed after a few thousand nodes. */
typedef struct chain_load {
  const char *json;
  size_t size;
  mvb_status status;
  char message[600];
  float out[4];
  double seconds;
} chain_load;

static void *load_and_run(void *arg) {
  chain_load *c = arg;
  mvb_model *m = mvb_model_create(NULL);
  if (!m) {
    c->status = MVB_ERR_OUT_OF_MEMORY;
    return NULL;
  }
  double t0 = now();
  c->status = mvb_model_load_buffers(m, c->json, c->size, NULL, NULL, 0);
  c->seconds = now() - t0;
  const float in[4] = {-1, 2, -3, 4};
  size_t got = 0;
  if (c->status == MVB_OK)
    c->status = mvb_run_tensor(m, in, 4, c->out, 4, &got);
  snprintf(c->message, sizeof c->message, "%s", mvb_model_error(m));
  mvb_model_free(m);
  return NULL;
}

static mvb_status load_on_small_stack(chain_load *c) {
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  bool ok = pthread_create(&thread, &attr, load_and_run, c) == 0;
  pthread_attr_destroy(&attr);
  if (!ok) return MVB_ERR_STATE;
  pthread_join(thread, NULL);
  return c->status;
}

static void loads_a_chain_at_the_node_limit(void) {
  chain_load c = {0};
  /* x, out and the Relus: MVB_MAX_NODES in all */
  c.json = chain_json(MVB_MAX_NODES - 2, false, &c.size);
  REQUIRE(c.json, "out of memory");
  mvb_status s = load_on_small_stack(&c);
  EXPECT(s == MVB_OK, "status %d: %s", (int)s, c.message);
  EXPECT(c.out[0] == 0 && c.out[1] == 2 && c.out[2] == 0 && c.out[3] == 4,
         "relu(-1, 2, -3, 4) = (%g, %g, %g, %g)", c.out[0], c.out[1], c.out[2],
         c.out[3]);
  /* the old walk took 3.7 s for 20,000 nodes, growing with the square */
  EXPECT(c.seconds < 5.0 * SLOWDOWN, "took %.2f s", c.seconds);
  printf("# %d-node chain loaded in %.2f s\n", MVB_MAX_NODES, c.seconds);
  free((char *)c.json);
}

static void finds_a_cycle_through_a_long_chain(void) {
  chain_load c = {0};
  c.json = chain_json(50000, true, &c.size);
  REQUIRE(c.json, "out of memory");
  mvb_status s = load_on_small_stack(&c);
  EXPECT(s == MVB_ERR_MODEL_FORMAT &&
             test_contains(c.message, "the graph has a cycle through it"),
         "status %d: %s", (int)s, c.message);
  free((char *)c.json);
}

static void refuses_one_node_over_the_limit_by_count(void) {
  size_t size;
  char *json = chain_json(MVB_MAX_NODES - 1, false, &size);
  REQUIRE(json, "out of memory");
  mvb_model_file f;
  mvb_error err = {{0}};
  mvb_status s = mvb_model_file_parse(json, size, NULL, NULL, 0, &f, &err);
  EXPECT(s == MVB_ERR_UNSUPPORTED &&
             test_contains(err.message, "has 100001 nodes; at most 100000"),
         "status %d: %s", (int)s, err.message);
  EXPECT(f.nodes == NULL && f.n_nodes == 0, "not emptied");
  mvb_model_file_free(&f);
  free(json);
}

int main(void) {
  int failed = 0;
  failed += test_run("refuses_a_200000_node_chain_within_2_s_and_100_mb",
                     refuses_a_200000_node_chain_within_2_s_and_100_mb);
  failed += test_run("refuses_a_million_nested_objects_at_the_65th",
                     refuses_a_million_nested_objects_at_the_65th);
  failed += test_run("accepts_64_levels_and_refuses_65",
                     accepts_64_levels_and_refuses_65);
  failed += test_run("brackets_in_strings_do_not_nest",
                     brackets_in_strings_do_not_nest);
  failed += test_run("loads_a_chain_at_the_node_limit",
                     loads_a_chain_at_the_node_limit);
  failed += test_run("finds_a_cycle_through_a_long_chain",
                     finds_a_cycle_through_a_long_chain);
  failed += test_run("refuses_one_node_over_the_limit_by_count",
                     refuses_one_node_over_the_limit_by_count);
  return test_exit(failed);
}
