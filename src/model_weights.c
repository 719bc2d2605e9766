/* model_weights.c: the weightsManifest plan (dtype, quantization, byte
 * count of every weight), checked against the shards and their digests,
 * then dequantized.
 *
 * Every float weight must come out finite and at most MAX_WEIGHT_MAGNITUDE
 * in size: quantization parameters that are finite as doubles can still
 * dequantize past float32 (min 1e300 made every photo "mountain 100%"),
 * and weights that are finite but enormous overflow float32 a layer or two
 * later (scale 1e30 made every score NaN). Trained photo models hold
 * weights of order 1 to 1e3, so the bound refuses only broken or hostile
 * files. */
#include "model_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

/* Largest |value| of a float weight: a product of two such values still
 * fits in float32 (1e36 < 3.4e38). */
#define MAX_WEIGHT_MAGNITUDE 1e18

typedef enum quant {
  QUANT_NONE,
  QUANT_UINT8,
  QUANT_UINT16,
  QUANT_FLOAT16
} quant;

/* How one weight is stored in its group's shards. */
typedef struct weight_plan {
  int group;
  quant quant;
  double min, scale; /* uint8 / uint16: value = min + scale * q */
  size_t bytes;      /* in the shards */
} weight_plan;

/* The weightsManifest, checked for shape: groups with "paths" and
 * "weights" arrays. Missing means no weights. */
mvb_status mvb_read_manifest(const mvb_json *j, int *manifest, size_t *n_paths,
                             size_t *n_weights, mvb_error *err) {
  *manifest = mvb_json_find(j, 0, "weightsManifest");
  *n_paths = *n_weights = 0;
  if (*manifest < 0) return MVB_OK;
  mvb_status status = mvb_expect(j, *manifest, MVB_JSON_ARRAY, "the document",
                                 "weightsManifest", err);
  if (status != MVB_OK) return status;
  int g = mvb_json_first(*manifest);
  for (int k = 0; k < mvb_json_children(j, *manifest);
       k++, g = mvb_json_next(j, g)) {
    char ctx[48];
    snprintf(ctx, sizeof ctx, "weightsManifest[%d]", k);
    if (!mvb_json_is(j, g, MVB_JSON_OBJECT))
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, g,
                          "%s must be an object", ctx);
    int paths = mvb_json_find(j, g, "paths");
    int weights = mvb_json_find(j, g, "weights");
    if ((status = mvb_expect(j, paths, MVB_JSON_ARRAY, ctx, "paths", err)) ||
        (status = mvb_expect(j, weights, MVB_JSON_ARRAY, ctx, "weights", err)))
      return status;
    int p = mvb_json_first(paths);
    for (int n = 0; n < mvb_json_children(j, paths);
         n++, p = mvb_json_next(j, p))
      if (!mvb_json_is(j, p, MVB_JSON_STRING) ||
          j->tokens[p].end == j->tokens[p].start)
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, p,
                            "%s: paths must be non-empty strings", ctx);
    *n_paths += (size_t)mvb_json_children(j, paths);
    *n_weights += (size_t)mvb_json_children(j, weights);
  }
  return MVB_OK;
}

static double affine(const weight_plan *plan, unsigned q) {
  return plan->min + plan->scale * q;
}

static const char *dtype_name(const mvb_json *j, int tok, char *buf,
                              size_t size) {
  if (!mvb_json_is(j, tok, MVB_JSON_STRING)) return "(not a string)";
  const mvb_json_token *t = &j->tokens[tok];
  snprintf(buf, size, "%.*s", t->end - t->start > 40 ? 40 : t->end - t->start,
           j->text + t->start);
  return buf;
}

/* "min" and "scale" of a uint8 / uint16 weight: value = min + scale * q
 * must stay finite and within MAX_WEIGHT_MAGNITUDE for every q (int32
 * weights are range-checked as they are rounded). */
static mvb_status check_quantization(const mvb_json *j, int q, const char *ctx,
                                     mvb_dtype dtype, weight_plan *plan,
                                     mvb_error *err) {
  if (!mvb_json_double(j, mvb_json_find(j, q, "min"), &plan->min) ||
      !mvb_json_double(j, mvb_json_find(j, q, "scale"), &plan->scale))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, q,
                        "%s: quantization needs \"min\" and \"scale\" numbers",
                        ctx);
  if (!(plan->scale > 0) || !isfinite(plan->scale))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, q,
                        "%s: quantization scale is %g; it must be a positive "
                        "finite number",
                        ctx, plan->scale);
  if (!isfinite(plan->min))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, q,
                        "%s: quantization min is %g; it must be a finite "
                        "number",
                        ctx, plan->min);
  double top = affine(plan, plan->quant == QUANT_UINT8 ? 255u : 65535u);
  double far = fabs(plan->min) > fabs(top) ? fabs(plan->min) : fabs(top);
  if (dtype == MVB_DTYPE_F32 && !(far <= MAX_WEIGHT_MAGNITUDE))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, q,
                        "%s: quantization min %g, scale %g dequantizes to "
                        "values of magnitude %g; a weight must be finite "
                        "in float32 and at most %g",
                        ctx, plan->min, plan->scale, far, MAX_WEIGHT_MAGNITUDE);
  return MVB_OK;
}

/* Reads one manifest entry: name, dtype, shape, quantization, byte size.
 * Checks sizes for overflow; allocates only the name. */
static mvb_status plan_weight(const mvb_json *j, int tok, int group, int index,
                              mvb_const *c, weight_plan *plan, mvb_error *err) {
  char ctx[360], buf[48];
  mvb_status status;
  snprintf(ctx, sizeof ctx, "weightsManifest[%d].weights[%d]", group, index);
  if (!mvb_json_is(j, tok, MVB_JSON_OBJECT))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "%s must be an object", ctx);
  status = mvb_take_string(j, mvb_json_find(j, tok, "name"), ctx, "name",
                           &c->name, err);
  if (status != MVB_OK) return status;
  snprintf(ctx, sizeof ctx, "weight \"%.300s\"", c->name);
  plan->group = group;

  int dtype = mvb_json_find(j, tok, "dtype");
  if (mvb_json_streq(j, dtype, "float32"))
    c->dtype = MVB_DTYPE_F32;
  else if (mvb_json_streq(j, dtype, "int32"))
    c->dtype = MVB_DTYPE_I32;
  else if (dtype < 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok, "%s has no dtype",
                        ctx);
  else
    return mvb_bad_json(err, MVB_ERR_UNSUPPORTED, j, dtype,
                        "%s has dtype \"%s\"; supported: float32, int32", ctx,
                        dtype_name(j, dtype, buf, sizeof buf));

  size_t elem = 4;
  int q = mvb_json_find(j, tok, "quantization");
  if (q >= 0) {
    if ((status = mvb_expect(j, q, MVB_JSON_OBJECT, ctx, "quantization", err)))
      return status;
    int qd = mvb_json_find(j, q, "dtype");
    if (mvb_json_streq(j, qd, "uint8"))
      plan->quant = QUANT_UINT8, elem = 1;
    else if (mvb_json_streq(j, qd, "uint16"))
      plan->quant = QUANT_UINT16, elem = 2;
    else if (mvb_json_streq(j, qd, "float16"))
      plan->quant = QUANT_FLOAT16, elem = 2;
    else
      return mvb_bad_json(
          err, MVB_ERR_UNSUPPORTED, j, qd < 0 ? q : qd,
          "%s has quantization dtype \"%s\"; supported: uint8, "
          "uint16, float16",
          ctx, qd < 0 ? "(none)" : dtype_name(j, qd, buf, sizeof buf));
    if (plan->quant != QUANT_FLOAT16 &&
        (status = check_quantization(j, q, ctx, c->dtype, plan, err)))
      return status;
  }

  int shape = mvb_json_find(j, tok, "shape");
  if ((status = mvb_expect(j, shape, MVB_JSON_ARRAY, ctx, "shape", err)))
    return status;
  int rank = mvb_json_children(j, shape);
  if (rank > MVB_MAX_RANK)
    return mvb_bad_json(err, MVB_ERR_UNSUPPORTED, j, shape,
                        "%s has rank %d; at most %d is supported", ctx, rank,
                        MVB_MAX_RANK);
  /* Every float copy must fit in size_t bytes. */
  size_t count = 1, limit = SIZE_MAX / sizeof(float);
  int d = mvb_json_first(shape);
  for (int k = 0; k < rank; k++, d = mvb_json_next(j, d)) {
    int64_t v;
    if (!mvb_json_int64(j, d, &v) || v < 0)
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, d,
                          "%s: shape[%d] must be a non-negative integer", ctx,
                          k);
    c->shape[k] = v;
  }
  c->rank = rank;
  bool empty = false;
  for (int k = 0; k < rank; k++) empty = empty || c->shape[k] == 0;
  for (int k = 0; k < rank && !empty; k++) {
    uint64_t v = (uint64_t)c->shape[k];
    if (count > limit / v)
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, shape,
                          "%s: its shape has too many elements for memory",
                          ctx);
    count *= (size_t)v;
  }
  if (empty) count = 0;
  c->count = count;
  plan->bytes = count * elem;
  return MVB_OK;
}

/* The tfjs converter cuts a group's bytes into shards of one fixed size
 * (the last one shorter). Recovers that size as the most common size of the
 * shards but the last, so that a message can name the one shard that
 * differs. Returns 0 if no single size explains the group. */
static size_t likely_shard_size(const size_t *sizes, size_t n, uint64_t need) {
  if (n < 2) return 0;
  size_t *s = malloc((n - 1) * sizeof *s), best = 0, best_run = 0;
  if (!s) return 0;
  memcpy(s, sizes, (n - 1) * sizeof *s);
  for (size_t a = 0; a < n - 1; a++) /* insertion sort: n is small */
    for (size_t b = a; b > 0 && s[b - 1] > s[b]; b--) {
      size_t t = s[b];
      s[b] = s[b - 1];
      s[b - 1] = t;
    }
  for (size_t a = 0, b; a < n - 1; a = b) {
    for (b = a; b < n - 1 && s[b] == s[a]; b++) {
    }
    /* n shards of this size must leave 1..size bytes for the last one */
    uint64_t before = (uint64_t)s[a] * (n - 1);
    /* ties go to the larger size: a truncated shard is the odd one out */
    if (s[a] > 0 && before < need && need - before <= s[a] && b - a >= best_run)
      best = s[a], best_run = b - a;
  }
  free(s);
  return best;
}

/* The group's shards hold have bytes where its weights need need: names the
 * shard that differs from the converter's layout. */
static mvb_status shard_mismatch(const mvb_json *j, int paths, int group,
                                 const size_t *sizes, size_t n, uint64_t need,
                                 uint64_t have, mvb_error *err) {
  size_t unit = n == 1 ? (size_t)need : likely_shard_size(sizes, n, need);
  size_t blame = n - 1;
  uint64_t expected = 0;
  if (unit > 0) {
    for (size_t k = 0; k < n; k++) {
      uint64_t at = (uint64_t)unit * k;
      uint64_t want = k + 1 < n ? unit : (need > at ? need - at : 0);
      if (sizes[k] != want) {
        blame = k;
        expected = want;
        break;
      }
    }
  }
  int p = mvb_json_first(paths);
  for (size_t k = 0; k < blame; k++) p = mvb_json_next(j, p);
  const mvb_json_token *t = &j->tokens[p];
  const char *how = have < need ? "short" : "long";
  if (unit > 0)
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "weight group %d: shard \"%.*s\" (%zu of %zu) is too %s: "
                    "%zu bytes, expected %llu (the group's weights need %llu "
                    "bytes, its shards hold %llu)",
                    group, t->end - t->start > 200 ? 200 : t->end - t->start,
                    j->text + t->start, blame + 1, n, how, sizes[blame],
                    (unsigned long long)expected, (unsigned long long)need,
                    (unsigned long long)have);
  return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                  "weight group %d: shards are too %s: the group's weights "
                  "need %llu bytes but its %zu shards hold %llu (last shard "
                  "\"%.*s\", %zu bytes)",
                  group, how, (unsigned long long)need, n,
                  (unsigned long long)have,
                  t->end - t->start > 200 ? 200 : t->end - t->start,
                  j->text + t->start, sizes[n - 1]);
}

/* Reads a group's bytes in order across its shards. */
typedef struct shard_cursor {
  const uint8_t *const *shards;
  const size_t *sizes;
  size_t shard, offset;
} shard_cursor;

/* The next run of up to n (> 0) bytes within one shard, skipping shards
 * already read to their end; *took says how many, and the cursor moves
 * past them. The caller never asks for more than the group holds. */
static const uint8_t *cursor_next(shard_cursor *c, size_t n, size_t *took) {
  while (c->offset == c->sizes[c->shard]) {
    c->shard++;
    c->offset = 0;
  }
  size_t left = c->sizes[c->shard] - c->offset;
  const uint8_t *at = c->shards[c->shard] + c->offset;
  *took = n < left ? n : left;
  c->offset += *took;
  return at;
}

static void cursor_read(shard_cursor *c, uint8_t *dst, size_t n) {
  while (n > 0) {
    size_t took;
    const uint8_t *src = cursor_next(c, n, &took);
    memcpy(dst, src, took);
    dst += took;
    n -= took;
  }
}

/* The next n (> 0) bytes where they lie, if they are contiguous in memory
 * (in one shard, or across shards laid back to back), moving past them;
 * NULL otherwise, without moving. */
static const uint8_t *cursor_span(shard_cursor *c, size_t n) {
  shard_cursor at = *c;
  size_t took;
  const uint8_t *start = cursor_next(&at, n, &took), *end = start + took;
  for (n -= took; n > 0; end += took, n -= took)
    if (cursor_next(&at, n, &took) != end) return NULL;
  *c = at;
  return start;
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = h >> 10 & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0) { /* zero or subnormal: mant * 2^-24 */
    float f = ldexpf((float)mant, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | mant << 13; /* inf, nan */
  else
    bits = sign | (exp + 112) << 23 | mant << 13;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* Element k of a chunk as the weight's real value. */
static double element(const uint8_t *b, size_t k, const weight_plan *plan,
                      mvb_dtype dtype) {
  switch (plan->quant) {
    case QUANT_UINT8: return affine(plan, b[k]);
    case QUANT_UINT16:
      return affine(plan, (unsigned)(b[2 * k] | b[2 * k + 1] << 8));
    case QUANT_FLOAT16:
      return half_to_float((uint16_t)(b[2 * k] | b[2 * k + 1] << 8));
    case QUANT_NONE: break;
  }
  uint32_t bits = (uint32_t)b[4 * k] | (uint32_t)b[4 * k + 1] << 8 |
                  (uint32_t)b[4 * k + 2] << 16 | (uint32_t)b[4 * k + 3] << 24;
  if (dtype == MVB_DTYPE_I32) {
    int32_t i;
    memcpy(&i, &bits, sizeof i);
    return i;
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* uint8 -> float32: one table of the 256 values a byte can take (their
 * range was checked with the quantization parameters). */
void mvb_const_u8_table(const mvb_const *c, float table[256]) {
  for (unsigned b = 0; b < 256; b++)
    table[b] = (float)(c->u8_min + c->u8_scale * b);
}

/* Allocates c's data and fills it from the cursor. A uint8 float weight
 * keeps its bytes (mvb_const_dequantize): where they lie when in_place and
 * they are contiguous, else in a copy. Others are converted here.
 * Dequantization computes in double and rounds once, as TensorFlow.js
 * does; quantized int32 values are rounded like Math.round. */
static mvb_status load_weight(shard_cursor *cursor, mvb_const *c,
                              const weight_plan *plan, bool in_place,
                              mvb_error *err) {
  size_t alloc = c->count ? c->count : 1;
  bool keep_bytes = plan->quant == QUANT_UINT8 && c->dtype == MVB_DTYPE_F32;
  if (keep_bytes && in_place && c->count > 0 &&
      (c->u8 = (uint8_t *)cursor_span(cursor, c->count))) {
    c->u8_in_weights = true;
    c->u8_min = plan->min;
    c->u8_scale = plan->scale;
    return MVB_OK;
  }
  if (keep_bytes)
    c->u8 = malloc(alloc);
  else if (c->dtype == MVB_DTYPE_F32)
    c->f32 = malloc(alloc * sizeof *c->f32);
  else
    c->i32 = malloc(alloc * sizeof *c->i32);
  if (!c->f32 && !c->i32 && !c->u8)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for weight \"%.300s\" (%zu values)", c->name,
                    c->count);
  if (keep_bytes) {
    c->u8_min = plan->min;
    c->u8_scale = plan->scale;
    cursor_read(cursor, c->u8, c->count);
    return MVB_OK;
  }
  size_t elem = c->count ? plan->bytes / c->count : 1;
  uint8_t chunk[4096];
  for (size_t done = 0; done < c->count;) {
    size_t n = c->count - done < sizeof chunk / elem ? c->count - done
                                                     : sizeof chunk / elem;
    cursor_read(cursor, chunk, n * elem);
    for (size_t k = 0; k < n; k++) {
      double v = element(chunk, k, plan, c->dtype);
      if (c->dtype == MVB_DTYPE_F32) {
        if (!(fabs(v) <= MAX_WEIGHT_MAGNITUDE))
          return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                          "weight \"%.300s\": value %zu is %g; a weight must "
                          "be finite and at most %g in magnitude",
                          c->name, done + k, v, MAX_WEIGHT_MAGNITUDE);
        c->f32[done + k] = (float)v;
        continue;
      }
      if (plan->quant != QUANT_NONE) v = floor(v + 0.5);
      if (!(v >= INT32_MIN && v <= INT32_MAX))
        return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                        "weight \"%.300s\": value %d dequantizes to %g, "
                        "outside int32",
                        c->name, (int)(done + k), v);
      c->i32[done + k] = (int32_t)v;
    }
    done += n;
  }
  return MVB_OK;
}

mvb_status mvb_const_dequantize(mvb_const *c, mvb_error *err) {
  if (c->f32 || c->dtype != MVB_DTYPE_F32) return MVB_OK;
  if (!c->u8)
    return mvb_fail(err, MVB_ERR_STATE,
                    "weight \"%.300s\" was released before its last reader",
                    c->name);
  float *f32 = malloc((c->count ? c->count : 1) * sizeof *f32);
  if (!f32)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                    "out of memory for weight \"%.300s\" (%zu values)", c->name,
                    c->count);
  float table[256];
  mvb_const_u8_table(c, table);
  for (size_t k = 0; k < c->count; k++) f32[k] = table[c->u8[k]];
  mvb_const_drop_u8(c);
  c->f32 = f32;
  return MVB_OK;
}

/* Shard k of the manifest (in order) and its "mvb".shards digest, if any:
 * every digest must name a manifest path, and every shard that has one
 * must hash to it. Shards without a digest (the original system's model
 * has none) are taken as they are. */
static mvb_status check_digests(const mvb_json *j, int manifest,
                                const uint8_t *const *shards,
                                const size_t *shard_sizes,
                                const mvb_model_file *out, mvb_error *err) {
  if (out->n_digests == 0) return MVB_OK;
  bool *listed = calloc(out->n_digests, sizeof *listed);
  if (!listed) return mvb_out_of_memory(err, "mvb.shards");
  mvb_status status = MVB_OK;
  size_t shard = 0;
  int g = mvb_json_first(manifest);
  for (int group = 0; manifest >= 0 && status == MVB_OK &&
                      group < mvb_json_children(j, manifest);
       group++, g = mvb_json_next(j, g)) {
    int paths = mvb_json_find(j, g, "paths");
    int p = mvb_json_first(paths);
    for (int i = 0; status == MVB_OK && i < mvb_json_children(j, paths);
         i++, p = mvb_json_next(j, p), shard++) {
      char *path = NULL;
      status = mvb_take_string(j, p, "weightsManifest", "paths", &path, err);
      long d =
          status == MVB_OK ? mvb_name_index_find(&out->digest_index, path) : -1;
      free(path);
      if (d < 0) continue;
      listed[d] = true;
      uint8_t have[MVB_SHA256_BYTES];
      mvb_sha256(shards[shard], shard_sizes[shard], have);
      const mvb_shard_digest *want = &out->digests[d];
      if (memcmp(have, want->sha256, sizeof have) != 0) {
        char have_hex[MVB_SHA256_HEX], want_hex[MVB_SHA256_HEX];
        mvb_sha256_hex(have, have_hex);
        mvb_sha256_hex(want->sha256, want_hex);
        status = mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                          "weight shard %zu (\"%.200s\") is damaged: its "
                          "SHA-256 is %s, model.json says %s",
                          shard + 1, want->path, have_hex, want_hex);
      }
    }
  }
  for (size_t d = 0; status == MVB_OK && d < out->n_digests; d++)
    if (!listed[d])
      status = mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                        "model.json: mvb.shards has a digest for \"%.200s\", "
                        "which is not a shard of the weightsManifest",
                        out->digests[d].path);
  free(listed);
  return status;
}

/* The weightsManifest, which must name shard_count shards. */
static mvb_status open_manifest(const mvb_json *j, size_t shard_count,
                                int *manifest, size_t *n_weights,
                                mvb_error *err) {
  size_t n_paths;
  mvb_status status = mvb_read_manifest(j, manifest, &n_paths, n_weights, err);
  if (status == MVB_OK && n_paths != shard_count)
    status = mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                      "model.json's weightsManifest names %zu shard files but "
                      "%zu shards were given",
                      n_paths, shard_count);
  return status;
}

/* Plans every weight into consts and plans (one each per manifest entry;
 * names are allocated) and checks each group's bytes against its shards'
 * sizes, naming the shard that differs. Needs the sizes only. */
static mvb_status plan_weights(const mvb_json *j, int manifest,
                               const size_t *shard_sizes, mvb_const *consts,
                               weight_plan *plans, mvb_error *err) {
  size_t w = 0, first_shard = 0;
  int g = mvb_json_first(manifest);
  for (int group = 0; group < mvb_json_children(j, manifest);
       group++, g = mvb_json_next(j, g)) {
    int paths = mvb_json_find(j, g, "paths");
    int weights = mvb_json_find(j, g, "weights");
    size_t n = (size_t)mvb_json_children(j, paths);
    uint64_t need = 0, have = 0;
    int t = mvb_json_first(weights);
    for (int k = 0; k < mvb_json_children(j, weights);
         k++, t = mvb_json_next(j, t), w++) {
      mvb_status status =
          plan_weight(j, t, group, k, &consts[w], &plans[w], err);
      if (status != MVB_OK) return status;
      if (need > UINT64_MAX - plans[w].bytes)
        return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                        "weight group %d: byte count overflows", group);
      need += plans[w].bytes;
    }
    for (size_t k = 0; k < n; k++) have += shard_sizes[first_shard + k];
    if (need != have && n == 0)
      return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                      "weight group %d has no shard paths but its weights "
                      "need %llu bytes",
                      group, (unsigned long long)need);
    if (need != have)
      return shard_mismatch(j, paths, group, shard_sizes + first_shard, n, need,
                            have, err);
    first_shard += n;
  }
  return MVB_OK;
}

mvb_status mvb_check_shard_sizes(const mvb_json *j, const size_t *shard_sizes,
                                 size_t shard_count, mvb_error *err) {
  int manifest;
  size_t n_weights;
  mvb_status status = open_manifest(j, shard_count, &manifest, &n_weights, err);
  if (status != MVB_OK || manifest < 0) return status;
  /* One spare element: calloc(0) may return NULL. */
  mvb_const *consts = calloc(n_weights + 1, sizeof *consts);
  weight_plan *plans = calloc(n_weights + 1, sizeof *plans);
  if (consts && plans)
    status = plan_weights(j, manifest, shard_sizes, consts, plans, err);
  else
    status = mvb_out_of_memory(err, "the weightsManifest");
  for (size_t k = 0; consts && k < n_weights; k++) free(consts[k].name);
  free(consts);
  free(plans);
  return status;
}

mvb_status mvb_read_weights(const mvb_json *j, const uint8_t *const *shards,
                            const size_t *shard_sizes, size_t shard_count,
                            bool in_place, mvb_model_file *out,
                            mvb_error *err) {
  int manifest;
  size_t n_weights;
  weight_plan *plans = NULL;
  const char **names = NULL;
  mvb_status status = open_manifest(j, shard_count, &manifest, &n_weights, err);
  if (status != MVB_OK) return status;
  for (size_t k = 0; k < shard_count; k++)
    if (!shards[k] && shard_sizes[k])
      return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "shard %zu is NULL", k);
  if (manifest < 0) /* a graph without weights */
    return check_digests(j, manifest, shards, shard_sizes, out, err);
  /* One spare element: calloc(0) may return NULL. */
  out->consts = calloc(n_weights + 1, sizeof *out->consts);
  plans = calloc(n_weights + 1, sizeof *plans);
  names = malloc((n_weights + 1) * sizeof *names);
  if (!out->consts || !plans || !names) {
    status = mvb_out_of_memory(err, "the weightsManifest");
    goto done;
  }
  out->n_consts = n_weights;

  /* First every size, against the shards, before any weight's data. */
  status = plan_weights(j, manifest, shard_sizes, out->consts, plans, err);
  if (status != MVB_OK) goto done;
  for (size_t k = 0; k < n_weights; k++) names[k] = out->consts[k].name;
  status =
      mvb_name_index_build(&out->const_index, names, n_weights, "weights", err);
  if (status == MVB_OK)
    status = check_digests(j, manifest, shards, shard_sizes, out, err);
  if (status != MVB_OK) goto done;

  size_t w = 0, first_shard = 0;
  int g = mvb_json_first(manifest);
  for (int group = 0; group < mvb_json_children(j, manifest);
       group++, g = mvb_json_next(j, g)) {
    int weights = mvb_json_find(j, g, "weights");
    shard_cursor cursor = {shards + first_shard, shard_sizes + first_shard, 0,
                           0};
    for (int k = 0; k < mvb_json_children(j, weights); k++, w++)
      if ((status =
               load_weight(&cursor, &out->consts[w], &plans[w], in_place, err)))
        goto done;
    first_shard += (size_t)mvb_json_children(j, mvb_json_find(j, g, "paths"));
  }

done:
  free(plans);
  free(names);
  return status;
}
