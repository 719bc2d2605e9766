/* mvb.h: mountain-vs-beach, a photo classifier that runs TensorFlow.js graph
 * models (model.json + uint8 weight shards) on XNNPACK.
 *
 * Usage:
 *
 *     mvb_options opts = mvb_default_options();
 *     mvb_model *model = mvb_model_create(&opts);       // NULL only if out of
 * memory if (!model) return 1; if (mvb_model_load_dir(model, "weights") !=
 * MVB_OK) { fprintf(stderr, "%s\n", mvb_model_error(model));
 *         mvb_model_free(model);
 *         return 1;
 *     }
 *     mvb_result r;
 *     if (mvb_classify_encoded(model, jpeg_bytes, jpeg_size, &r) == MVB_OK)
 *         printf("%s %.1f%% (score %.4f)\n", mvb_verdict_name(r.verdict),
 *                100.0f * r.confidence, r.score);
 *     else
 *         fprintf(stderr, "%s\n", mvb_model_error(model));
 *     mvb_model_free(model);
 *
 * Thread safety: one mvb_model may be used by one thread at a time; distinct
 * models share nothing and may be used concurrently.
 *
 * Failure contract: every function that can fail returns an mvb_status; on
 * failure the model's message (mvb_model_error) names what was wrong (the
 * file, node, op, tensor or byte offset). Nothing here aborts or exits, and
 * there is no global error state.
 */
#ifndef MVB_H
#define MVB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mvb_status {
  MVB_OK = 0,
  MVB_ERR_INVALID_ARGUMENT = 1, /* NULL pointer, zero size, bad option */
  MVB_ERR_OUT_OF_MEMORY = 2,
  MVB_ERR_IO = 3,              /* a file is missing or unreadable */
  MVB_ERR_MODEL_FORMAT = 4,    /* malformed model.json, manifest or shard */
  MVB_ERR_UNSUPPORTED = 5,     /* unknown op, attribute value or dtype */
  MVB_ERR_SHAPE = 6,           /* tensor shapes do not fit together */
  MVB_ERR_IMAGE = 7,           /* bytes are not a decodable image */
  MVB_ERR_IMAGE_TOO_LARGE = 8, /* image exceeds options.max_image_pixels */
  MVB_ERR_BACKEND = 9,         /* XNNPACK refused or failed */
  MVB_ERR_STATE = 10,          /* e.g. classify before a model is loaded */
} mvb_status;

typedef enum mvb_verdict {
  MVB_BEACH = 0,
  MVB_MOUNTAIN = 1,
  MVB_NOT_SURE = 2,
} mvb_verdict;

/* Receives diagnostic lines (never errors; those come back as statuses). */
typedef void (*mvb_log_fn)(void *user, const char *message);

typedef struct mvb_options {
  int num_threads;           /* >= 1; 1 runs on the calling thread only */
  uint64_t max_image_pixels; /* decoded width*height above this is refused */
  float mountain_above;      /* score > this: mountain (default 0.65) */
  float beach_below;         /* score < this: beach (default 0.35) */
  mvb_log_fn log;            /* may be NULL */
  void *log_user;            /* passed to log unchanged */
} mvb_options;

#define MVB_DEFAULT_MAX_IMAGE_PIXELS ((uint64_t)50000000) /* 50 megapixels */

typedef struct mvb_result {
  float score;         /* the model's output: 0 = beach, 1 = mountain */
  mvb_verdict verdict; /* from score and the options' thresholds */
  float confidence;    /* score for mountain, 1 - score for beach,
                          max(score, 1 - score) when not sure; in [0, 1] */
} mvb_result;

typedef struct mvb_model mvb_model;

/* One thread, 50 MP image limit, thresholds 0.65 / 0.35, no log. */
mvb_options mvb_default_options(void);

/* Creates an empty handle; options are copied (NULL means defaults).
 * Returns NULL only when memory runs out. */
mvb_model *mvb_model_create(const mvb_options *options);

/* Loads dir/model.json and the shards its weightsManifest names (paths
 * relative to dir). A handle holds one model; loading again replaces it. */
mvb_status mvb_model_load_dir(mvb_model *model, const char *dir);

/* Same, from memory: json is model.json's text (json_size bytes, no NUL
 * needed); shards[i] holds shard_sizes[i] bytes of the i-th shard in
 * manifest order (groups in order, paths in order). The caller keeps
 * ownership of every buffer; none is referenced after the call returns. */
mvb_status mvb_model_load_buffers(mvb_model *model, const char *json,
                                  size_t json_size,
                                  const uint8_t *const *shards,
                                  const size_t *shard_sizes,
                                  size_t shard_count);

/* Same, but takes ownership of the shards (each from malloc): they are
 * freed once parsed, before XNNPACK packs the weights, so peak memory is
 * lower by their size (what matters in wasm, whose heap never shrinks).
 * Every shards[i] is freed and set to NULL, on failure too. */
mvb_status mvb_model_load_buffers_owned(mvb_model *model, const char *json,
                                        size_t json_size, uint8_t **shards,
                                        const size_t *shard_sizes,
                                        size_t shard_count);

/* Decodes JPEG, PNG, BMP or GIF (first frame) bytes, applies EXIF
 * orientation, resizes and normalizes as the model's model.json describes,
 * and runs the model. bytes are only read during the call. */
mvb_status mvb_classify_encoded(mvb_model *model, const uint8_t *bytes,
                                size_t size, mvb_result *result);

/* Same from already-decoded RGBA pixels (width*height*4 bytes, rows packed,
 * alpha ignored), e.g. what a browser decoded from WebP. */
mvb_status mvb_classify_rgba(mvb_model *model, const uint8_t *rgba, int width,
                             int height, mvb_result *result);

/* Runs the graph on a raw float32 NHWC input of exactly
 * mvb_model_input_size() values and copies the first output into output
 * (capacity values); *output_count receives the output's element count. */
mvb_status mvb_run_tensor(mvb_model *model, const float *input,
                          size_t input_count, float *output, size_t capacity,
                          size_t *output_count);

/* The loaded model's input as (height, width, channels); 0s before load. */
void mvb_model_input_shape(const mvb_model *model, int *height, int *width,
                           int *channels);
size_t mvb_model_input_size(const mvb_model *model);

/* The message of the last failure on this handle ("" if none). The string
 * belongs to the handle and stays valid until its next call. */
const char *mvb_model_error(const mvb_model *model);

/* Frees everything the handle owns; NULL is allowed. */
void mvb_model_free(mvb_model *model);

mvb_verdict mvb_verdict_for_score(float score, float mountain_above,
                                  float beach_below);
const char *mvb_verdict_name(mvb_verdict verdict); /* "beach", "mountain",
                                                      "not sure" */
const char *mvb_status_name(mvb_status status);

#ifdef __cplusplus
}
#endif

#endif /* MVB_H */
