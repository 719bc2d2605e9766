/* model_parse.c: what every part of model.json's reader shares: messages
 * that give the byte offset, required fields, tensor names, unique names. */
#include "model_parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A problem in model.json at token tok (-1: no position to give). */
mvb_status mvb_bad_json(mvb_error *err, mvb_status status, const mvb_json *j,
                        int tok, const char *format, ...) {
  char msg[MVB_ERROR_SIZE];
  va_list args;
  va_start(args, format);
  vsnprintf(msg, sizeof msg, format, args);
  va_end(args);
  if (tok >= 0)
    return mvb_fail(err, status, "model.json: %.440s (at byte %d)", msg,
                    mvb_json_offset(j, tok));
  return mvb_fail(err, status, "model.json: %.480s", msg);
}

mvb_status mvb_out_of_memory(mvb_error *err, const char *what) {
  return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY, "out of memory while reading %s",
                  what);
}

/* Decodes the string at tok into *out; ctx and field name it in messages. */
mvb_status mvb_take_string(const mvb_json *j, int tok, const char *ctx,
                           const char *field, char **out, mvb_error *err) {
  if (tok < 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, -1, "%s has no \"%s\"",
                        ctx, field);
  mvb_status status = mvb_json_string(j, tok, out);
  if (status == MVB_ERR_OUT_OF_MEMORY) return mvb_out_of_memory(err, ctx);
  if (status != MVB_OK)
    return mvb_bad_json(err, status, j, tok,
                        "%s: \"%s\" must be a string (without \\u0000)", ctx,
                        field);
  return MVB_OK;
}

/* The array or object at tok, or a message saying it is missing/wrong. */
mvb_status mvb_expect(const mvb_json *j, int tok, mvb_json_type type,
                      const char *ctx, const char *field, mvb_error *err) {
  const char *kind = type == MVB_JSON_ARRAY ? "an array" : "an object";
  if (tok < 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, -1,
                        "%s has no \"%s\" (%s)", ctx, field, kind);
  if (!mvb_json_is(j, tok, type))
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "%s: \"%s\" must be %s", ctx, field, kind);
  return MVB_OK;
}

char *mvb_dup_range(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

/* "name" -> (name, 0); "name:2" -> (name, 2). */
mvb_status mvb_split_tensor_name(const mvb_json *j, int tok, const char *s,
                                 const char *ctx, char **node, int *index,
                                 mvb_error *err) {
  const char *colon = strrchr(s, ':');
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  long value = 0;
  if (colon) {
    const char *p = colon + 1;
    if (!*p || strlen(p) > 9)
      return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                          "%s: bad tensor name \"%.200s\"", ctx, s);
    for (; *p; p++) {
      if (*p < '0' || *p > '9')
        return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                            "%s: bad tensor name \"%.200s\"", ctx, s);
      value = value * 10 + (*p - '0');
    }
  }
  if (n == 0)
    return mvb_bad_json(err, MVB_ERR_MODEL_FORMAT, j, tok,
                        "%s: empty node name in \"%.200s\"", ctx, s);
  *node = mvb_dup_range(s, n);
  if (!*node) return mvb_out_of_memory(err, ctx);
  *index = (int)value;
  return MVB_OK;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a repeated name among n names (sorted copy: n log n). */
mvb_status mvb_check_unique(const char **names, size_t n, const char *what,
                            mvb_error *err) {
  qsort(names, n, sizeof *names, compare_names);
  for (size_t k = 1; k < n; k++)
    if (!strcmp(names[k - 1], names[k]))
      return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                      "model.json: two %s are named \"%.300s\"", what,
                      names[k]);
  return MVB_OK;
}
