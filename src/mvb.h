/* mvb.h: mountain-vs-beach, a photo classifier that runs TensorFlow.js graph
 * models (model.json + uint8 weight shards) on XNNPACK. */

/* The formatter would reflow the example into broken code: */
/* clang-format off */
/* Usage (tests/c/test_header_example.c compiles and runs this block):
 *
 * EXAMPLE-BEGIN
 *     mvb_options opts = mvb_default_options();
 *     mvb_model *model = mvb_model_create(&opts);   // NULL only if out of memory
 *     if (!model) return 1;
 *     if (mvb_model_load_dir(model, "weights") != MVB_OK) {
 *         fprintf(stderr, "%s\n", mvb_model_error(model));
 *         mvb_model_free(model);
 *         return 1;
 *     }
 *     mvb_result r;
 *     mvb_status s = mvb_classify_encoded(model, jpeg_bytes, jpeg_size, &r);
 *     if (s == MVB_OK) {
 *         printf("%s %.1f%% (score %.4f)\n", mvb_verdict_name(r.verdict),
 *                100.0f * r.confidence, r.score);
 *         if (r.has_neither)
 *             printf("P(neither) %.3f\n", r.probability[MVB_CLASS_NEITHER]);
 *         for (size_t i = 0; i < mvb_output_count(model); i++)  // every output
 *             printf("%s: %zu values\n", mvb_output_name(model, i),
 *                    mvb_output_size(model, i));
 *     } else {
 *         fprintf(stderr, "%s\n", mvb_model_error(model));
 *     }
 *     mvb_model_free(model);
 *     if (s != MVB_OK) return 1;
 * EXAMPLE-END
 */
/* clang-format on */

/* Thread safety: one mvb_model may be used by one thread at a time; distinct
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
  MVB_NOT_SURE = 2, /* in between, or both in one photo */
  MVB_NEITHER = 3,  /* no beach and no mountain (models with that class) */
} mvb_verdict;

/* Positions in mvb_result.probability. */
typedef enum mvb_class {
  MVB_CLASS_BEACH = 0,
  MVB_CLASS_MOUNTAIN = 1,
  MVB_CLASS_NEITHER = 2,
  MVB_CLASS_COUNT = 3,
} mvb_class;

/* What an output holds, as model.json's "mvb".outputs describes it. */
typedef enum mvb_output_kind {
  MVB_OUTPUT_OTHER = 0,         /* not described */
  MVB_OUTPUT_SCORE = 1,         /* one value, P(mountain) */
  MVB_OUTPUT_PROBABILITIES = 2, /* one value per class */
  MVB_OUTPUT_HEATMAP = 3,       /* (1, rows, columns, classes): class
                                   activation maps, one channel per class */
} mvb_output_kind;

/* The verdict rules when model.json's "mvb".verdict gives none. */
#define MVB_DEFAULT_MOUNTAIN_ABOVE 0.65f
#define MVB_DEFAULT_BEACH_BELOW 0.35f
#define MVB_DEFAULT_NEITHER_ABOVE 0.5f

/* The arithmetic of convolutions and matrix products. */
typedef enum mvb_precision {
  MVB_PRECISION_MODEL = -1, /* the model's own choice, model.json's
                               "mvb".precision; float32 when it makes none
                               (the default) */
  MVB_PRECISION_F32 = 0,    /* float32 throughout */
  MVB_PRECISION_INT8 = 1,   /* weights requantized at load to int8 per output
                               channel, inputs quantized to int8 at every run,
                               float32 out; ops without an int8 kernel
                               (depthwise, pools, ...) stay float32 */
} mvb_precision;

/* Receives diagnostic lines (never errors; those come back as statuses). */
typedef void (*mvb_log_fn)(void *user, const char *message);

/* The three thresholds override the model's own verdict rules (model.json's
 * "mvb".verdict) when set to a number in [0, 1]; NAN (the default) keeps
 * the model's. */
typedef struct mvb_options {
  int num_threads;           /* >= 1; 1 runs on the calling thread only */
  uint64_t max_image_pixels; /* decoded width*height above this is refused */
  float mountain_above;      /* score > this: mountain */
  float beach_below;         /* score < this: beach */
  float neither_above;       /* P(neither) > this: neither */
  mvb_log_fn log;            /* may be NULL */
  void *log_user;            /* passed to log unchanged */
  mvb_precision precision;   /* MVB_PRECISION_MODEL unless set */
} mvb_options;

#define MVB_DEFAULT_MAX_IMAGE_PIXELS ((uint64_t)50000000) /* 50 megapixels */

typedef struct mvb_result {
  float score;         /* P(mountain) among beach + mountain: 0 = beach,
                          1 = mountain (a one-output model's output) */
  mvb_verdict verdict; /* from the probabilities and the verdict rules */
  float confidence;    /* the probability of the verdict's class; when not
                          sure, the largest of the three; in [0, 1] */
  float probability[MVB_CLASS_COUNT]; /* by mvb_class; a model without a
                          "neither" class gives 1 - score, score, 0 */
  int has_neither;                    /* 1 if the model judges "neither" */
} mvb_result;

typedef struct mvb_model mvb_model;

/* One thread, 50 MP image limit, the model's verdict rules, no log,
 * the model's own precision. */
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

/* Same, with the shards back to back in one block from malloc (shard i
 * holds shard_sizes[i] bytes), which the model takes over and frees, on
 * failure too. Its uint8 weights are not copied but read where they lie
 * (in int8 precision, requantized over their own bytes), and the block is
 * freed once XNNPACK has packed them: no second copy of the download is
 * ever made, which keeps a wasm heap (it never shrinks) small. */
mvb_status mvb_model_load_weights_owned(mvb_model *model, const char *json,
                                        size_t json_size, uint8_t *weights,
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

/* Decodes bytes as mvb_classify_encoded does (same formats, EXIF
 * orientation applied, same refusals and options.max_image_pixels) without
 * classifying, e.g. to draw a heatmap over the photo. Needs no loaded
 * model. On success *rgb points to width * height * 3 bytes, (height,
 * width, RGB), rows packed, from malloc: the caller frees it with free().
 * On failure *rgb is NULL and the sides 0. */
mvb_status mvb_decode_image(mvb_model *model, const uint8_t *bytes, size_t size,
                            uint8_t **rgb, int *width, int *height);

/* Runs the graph on a raw float32 NHWC input of exactly
 * mvb_model_input_size() values and copies the first output into output
 * (capacity values); *output_count receives the output's element count.
 * Every output can then be read with mvb_output_*. Inputs that are NaN or
 * infinite are refused. */
mvb_status mvb_run_tensor(mvb_model *model, const float *input,
                          size_t input_count, float *output, size_t capacity,
                          size_t *output_count);

/* The outputs of the last run (classify or run_tensor), in the model's
 * signature order: i < mvb_output_count(). Names are the signature's (e.g.
 * "Identity:0"). Data pointers belong to the handle and stay valid until the
 * next load or free; the next run overwrites them. Out-of-range i gives
 * NULL / 0. */
size_t mvb_output_count(const mvb_model *model);
const char *mvb_output_name(const mvb_model *model, size_t i);
size_t mvb_output_size(const mvb_model *model, size_t i); /* values */
/* Copies output i's dims (batch first, at most MVB_MAX_RANK) into
 * dims; returns the rank (0 if there is no output i). */
int mvb_output_shape(const mvb_model *model, size_t i, int64_t *dims);
const float *mvb_output_data(const mvb_model *model, size_t i);
mvb_output_kind mvb_output_kind_of(const mvb_model *model, size_t i);
/* Which class (mvb_class) channel c of a probabilities or heatmap output
 * holds; -1 if none. */
int mvb_output_class(const mvb_model *model, size_t i, size_t channel);
#define MVB_MAX_RANK 6 /* of any tensor, outputs included */

/* The loaded model's input as (height, width, channels): channels as its
 * signature gives them (1 for a grey model); 0s before load and when the
 * input is not an image (e.g. a [-1, 10] tensor). */
void mvb_model_input_shape(const mvb_model *model, int *height, int *width,
                           int *channels);
size_t mvb_model_input_size(const mvb_model *model);

/* The arithmetic the loaded model runs in: the options' precision, or the
 * model's own when that is MVB_PRECISION_MODEL. MVB_PRECISION_MODEL before
 * load. */
mvb_precision mvb_model_precision(const mvb_model *model);

/* The message of the last failure on this handle ("" if none). The string
 * belongs to the handle and stays valid until its next call. */
const char *mvb_model_error(const mvb_model *model);

/* Frees everything the handle owns; NULL is allowed. */
void mvb_model_free(mvb_model *model);

/* The rule for a model with one output (P(mountain)). */
mvb_verdict mvb_verdict_for_score(float score, float mountain_above,
                                  float beach_below);
/* "beach", "mountain", "not sure", "neither" */
const char *mvb_verdict_name(mvb_verdict verdict);
const char *mvb_status_name(mvb_status status);

#ifdef __cplusplus
}
#endif

#endif /* MVB_H */
