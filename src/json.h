/* json.h: a small strict JSON reader over jsmn tokens (internal).
 *
 * mvb_json_parse tokenizes a whole document and checks its grammar (jsmn
 * alone accepts missing commas, trailing commas and bare words); afterwards
 * the accessors below only read tokens, never fail on structure, and never
 * allocate except mvb_json_string.
 *
 * Tokens are stored in document order. For a token i, tokens[i].next is the
 * index just past its whole subtree, so walking the children of a container
 * costs one step per child:
 *
 *     for (int k = 0, c = i + 1; k < tokens[i].size; k++, c = tokens[c].next)
 *         ... c is an array element, or an object key whose value is c + 1 ...
 */
#ifndef MVB_JSON_H
#define MVB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "mvb.h"

/* Containers a document may nest: our deepest model.json (weights/, the
 * op tests, InceptionV3) nests 10; deeper documents are refused before they
 * are tokenized (see mvb_json_parse). */
#define MVB_JSON_MAX_DEPTH 64

typedef enum mvb_json_type {
  MVB_JSON_OBJECT = 1,
  MVB_JSON_ARRAY = 2,
  MVB_JSON_STRING = 3,
  MVB_JSON_PRIMITIVE = 4, /* number, true, false, null */
} mvb_json_type;

typedef struct mvb_json_token {
  mvb_json_type type;
  int start, end; /* byte range in the text; strings exclude the quotes */
  int size;       /* members of an object, elements of an array, 1 for a key */
  int next;       /* index of the first token after this subtree */
} mvb_json_token;

typedef struct mvb_json {
  const char *text; /* borrowed: must outlive the mvb_json */
  size_t size;
  mvb_json_token *tokens; /* (count), owned; tokens[0] is the root value */
  int count;
} mvb_json;

/* Tokenizes and checks text (size bytes, no NUL needed; trailing NUL bytes
 * and a UTF-8 byte order mark are ignored). what names the document in
 * messages, e.g. "model.json"; syntax errors give the byte offset.
 * Nesting deeper than MVB_JSON_MAX_DEPTH is MVB_ERR_UNSUPPORTED, with the
 * offset of the bracket that goes too deep. Time and memory are linear in
 * size. */
mvb_status mvb_json_parse(const char *text, size_t size, const char *what,
                          mvb_json *out, mvb_error *err);
void mvb_json_free(mvb_json *json); /* zeroes it; empty is ok */

/* The value of key in the object at token obj; -1 if obj is not an object
 * or has no such key (the first one wins if a key repeats). */
int mvb_json_find(const mvb_json *json, int obj, const char *key);

bool mvb_json_is(const mvb_json *json, int i, mvb_json_type type);

/* Byte offset of token i's first character (for messages). */
int mvb_json_offset(const mvb_json *json, int i);

/* True if token i is a string equal to s once its escapes are decoded. */
bool mvb_json_streq(const mvb_json *json, int i, const char *s);

/* Decodes the string at token i into a new NUL-terminated UTF-8 string.
 * MVB_ERR_MODEL_FORMAT if i is not a string or holds "\u0000";
 * MVB_ERR_OUT_OF_MEMORY. Sets no message: the caller knows the context. */
mvb_status mvb_json_string(const mvb_json *json, int i, char **out);

/* An integer written as a JSON number ("3") or, as protobuf's JSON mapping
 * does for int64, as a string ("\"-1\""). False if not an integer or out of
 * int64 range. */
bool mvb_json_int64(const mvb_json *json, int i, int64_t *out);

/* A JSON number, or one of the strings "NaN", "Infinity", "-Infinity"
 * (protobuf's JSON mapping of non-finite floats). */
bool mvb_json_double(const mvb_json *json, int i, double *out);

bool mvb_json_bool(const mvb_json *json, int i, bool *out);

/* Walking a container at token i: its member count, its first member, and
 * the member after c (see the loop at the top of this file). */
static inline int mvb_json_children(const mvb_json *json, int i) {
  return json->tokens[i].size;
}
static inline int mvb_json_first(int i) { return i + 1; }
static inline int mvb_json_next(const mvb_json *json, int c) {
  return json->tokens[c].next;
}

#endif
