#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strict mode makes jsmn reject bare words as values and keys; parent links
 * make closing brackets and commas O(depth) instead of O(tokens). O(depth)
 * per bracket is still O(depth^2) for a deep document (100,000 levels took
 * 18 s), hence the depth limit checked before jsmn runs. */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

/* ---- grammar checks jsmn leaves to us ---------------------------------- */

static bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* A value's text including a string's quotes. */
static int text_start(const mvb_json_token *t) {
  return t->type == MVB_JSON_STRING ? t->start - 1 : t->start;
}
static int text_end(const mvb_json_token *t) {
  return t->type == MVB_JSON_STRING ? t->end + 1 : t->end;
}

/* text[from, to) must be whitespace around exactly one sep (none if sep is
 * 0). Returns -1 if so, else the offset of the offending byte. */
static int check_gap(const char *text, int from, int to, char sep) {
  bool seen = false;
  for (int p = from; p < to; p++) {
    if (is_ws(text[p])) continue;
    if (sep && text[p] == sep && !seen) {
      seen = true;
      continue;
    }
    return p;
  }
  return sep && !seen ? to : -1;
}

/* JSON's number grammar, or true / false / null. */
static bool valid_primitive(const char *s, int n) {
  if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
      (n == 4 && !memcmp(s, "null", 4)))
    return true;
  int p = 0;
  if (p < n && s[p] == '-') p++;
  if (p < n && s[p] == '0') {
    p++;
  } else {
    if (p >= n || !is_digit(s[p])) return false;
    while (p < n && is_digit(s[p])) p++;
  }
  if (p < n && s[p] == '.') {
    p++;
    if (p >= n || !is_digit(s[p])) return false;
    while (p < n && is_digit(s[p])) p++;
  }
  if (p < n && (s[p] == 'e' || s[p] == 'E')) {
    p++;
    if (p < n && (s[p] == '+' || s[p] == '-')) p++;
    if (p >= n || !is_digit(s[p])) return false;
    while (p < n && is_digit(s[p])) p++;
  }
  return p == n;
}

/* Checks separators and member shapes of the container at token i.
 * Returns -1 if fine, else an offset and *why. */
static int check_container(const mvb_json *j, int i, const char **why) {
  const mvb_json_token *t = &j->tokens[i];
  bool object = t->type == MVB_JSON_OBJECT;
  int pos = t->start + 1, c = i + 1, bad;
  for (int k = 0; k < t->size; k++, c = j->tokens[c].next) {
    const mvb_json_token *child = &j->tokens[c];
    const mvb_json_token *value = child;
    *why = k ? "expected ',' between values" : "unexpected character";
    if ((bad = check_gap(j->text, pos, text_start(child), k ? ',' : 0)) >= 0)
      return bad;
    if (object) {
      *why = "expected a string key";
      if (child->type != MVB_JSON_STRING) return text_start(child);
      *why = "expected ':' after the key";
      if (child->size == 0) { /* where the colon should be */
        int p = text_end(child);
        while (p < t->end && is_ws(j->text[p])) p++;
        return p;
      }
      /* jsmn hangs a value that lacks its comma under the previous key */
      *why = "expected ',' between members";
      if (child->size > 1) return text_start(&j->tokens[j->tokens[c + 1].next]);
      value = &j->tokens[c + 1];
      *why = "expected ':' after the key";
      if ((bad = check_gap(j->text, text_end(child), text_start(value), ':')) >=
          0)
        return bad;
    }
    *why = "unexpected ':'";
    if (value->type >= MVB_JSON_STRING && value->size != 0)
      return text_end(value);
    pos = text_end(value);
  }
  *why = "unexpected character before the closing bracket";
  return check_gap(j->text, pos, t->end - 1, 0);
}

/* Fills next (children before parents: they come later in document order),
 * then checks every token. Returns -1 if fine, else an offset and *why. */
static int check_tokens(mvb_json *j, int begin, const char **why) {
  for (int i = j->count - 1; i >= 0; i--) {
    int c = i + 1;
    for (int k = 0; k < j->tokens[i].size; k++) {
      *why = "inconsistent structure";
      if (c >= j->count) return j->tokens[i].start;
      c = j->tokens[c].next;
    }
    j->tokens[i].next = c;
  }
  for (int i = 0; i < j->count; i++) {
    const mvb_json_token *t = &j->tokens[i];
    int bad;
    if (t->type == MVB_JSON_OBJECT || t->type == MVB_JSON_ARRAY) {
      if ((bad = check_container(j, i, why)) >= 0) return bad;
    } else if (t->type == MVB_JSON_PRIMITIVE) {
      *why = "not a number, true, false or null";
      if (!valid_primitive(j->text + t->start, t->end - t->start))
        return t->start;
    } else {
      *why = "control character inside a string";
      for (int p = t->start; p < t->end; p++)
        if ((unsigned char)j->text[p] < 0x20) return p;
    }
  }
  *why = "unexpected data after the JSON value";
  const mvb_json_token *root = &j->tokens[0];
  if (root->next != j->count) return text_start(&j->tokens[root->next]);
  for (int p = begin; p < text_start(root); p++)
    if (!is_ws(j->text[p])) return p;
  return check_gap(j->text, text_end(root), (int)j->size, 0);
}

/* ---- parsing ------------------------------------------------------------ */

/* The offset of the first bracket that opens more than MVB_JSON_MAX_DEPTH
 * levels (counting brackets outside strings), or size if none does. One
 * pass over the bytes, before any token is allocated. */
static size_t too_deep_at(const char *text, size_t size) {
  int depth = 0;
  bool in_string = false;
  for (size_t p = 0; p < size; p++) {
    char c = text[p];
    if (in_string) {
      if (c == '\\')
        p++;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > MVB_JSON_MAX_DEPTH) return p;
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return size;
}

static mvb_status syntax_error(const char *what, const char *text, size_t at,
                               size_t size, const char *why, mvb_error *err) {
  if (at >= size)
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "%s: truncated JSON: the text ends at byte %zu before the "
                    "document is complete",
                    what, size);
  unsigned char c = (unsigned char)text[at];
  if (c >= 0x20 && c < 0x7f)
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                    "%s: malformed JSON at byte offset %zu ('%c'): %s", what,
                    at, c, why);
  return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                  "%s: malformed JSON at byte offset %zu (byte 0x%02x): %s",
                  what, at, c, why);
}

static mvb_status jsmn_error(const char *what, const char *text, size_t size,
                             int r, unsigned pos, mvb_error *err) {
  if (r == JSMN_ERROR_PART)
    return syntax_error(what, text, size, size, "", err);
  return syntax_error(what, text, pos, size, "unexpected character", err);
}

mvb_status mvb_json_parse(const char *text, size_t size, const char *what,
                          mvb_json *out, mvb_error *err) {
  jsmntok_t *raw = NULL;
  mvb_status status = MVB_OK;
  memset(out, 0, sizeof *out);
  if (!text && size)
    return mvb_fail(err, MVB_ERR_INVALID_ARGUMENT, "%s: no text", what);
  while (size > 0 && text[size - 1] == '\0') size--;
  size_t skip = size >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;
  if (size > INT_MAX / 2)
    return mvb_fail(err, MVB_ERR_MODEL_FORMAT, "%s: %zu bytes is too large",
                    what, size);
  const char *nul = size ? memchr(text, '\0', size) : NULL;
  if (nul)
    return syntax_error(what, text, (size_t)(nul - text), size,
                        "NUL byte inside the text", err);
  size_t deep = too_deep_at(text, size);
  if (deep < size)
    return mvb_fail(err, MVB_ERR_UNSUPPORTED,
                    "%s: JSON nested deeper than %d levels at byte offset %zu "
                    "('%c'); at most %d are supported",
                    what, MVB_JSON_MAX_DEPTH, deep, text[deep],
                    MVB_JSON_MAX_DEPTH);
  /* jsmn sees the text after the BOM; offsets are shifted back so that
   * messages count bytes of the whole text. */
  const char *body = text + skip;
  size_t body_size = size - skip;

  jsmn_parser p;
  jsmn_init(&p);
  int n = jsmn_parse(&p, body, body_size, NULL, 0);
  if (n < 0)
    return jsmn_error(what, text, size, n, p.pos + (unsigned)skip, err);
  if (n == 0) return syntax_error(what, text, size, size, "", err);

  /* Our tokens are converted in place from jsmn's, in order: token i is
   * read before it is overwritten and never reaches past raw[i]. One buffer
   * instead of two halves the peak memory of a large document. */
  _Static_assert(sizeof(mvb_json_token) <= sizeof(jsmntok_t),
                 "tokens are converted in place");
  raw = malloc((size_t)n * sizeof *raw);
  if (!raw) {
    status = mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                      "%s: out of memory for %d JSON tokens", what, n);
    goto done;
  }
  jsmn_init(&p);
  int r = jsmn_parse(&p, body, body_size, raw, (unsigned)n);
  if (r < 0) {
    status = jsmn_error(what, text, size, r, p.pos + (unsigned)skip, err);
    goto done;
  }
  out->text = text;
  out->size = size;
  out->count = r;
  out->tokens = (mvb_json_token *)raw;
  for (int i = 0; i < r; i++) {
    jsmntok_t t = raw[i];
    out->tokens[i] = (mvb_json_token){.type = (mvb_json_type)t.type,
                                      .start = t.start + (int)skip,
                                      .end = t.end + (int)skip,
                                      .size = t.size};
  }
  raw = NULL; /* now out->tokens */
  const char *why = "";
  int bad = check_tokens(out, (int)skip, &why);
  if (bad >= 0) status = syntax_error(what, text, (size_t)bad, size, why, err);

done:
  free(raw);
  if (status != MVB_OK) mvb_json_free(out);
  return status;
}

void mvb_json_free(mvb_json *json) {
  if (!json) return;
  free(json->tokens);
  memset(json, 0, sizeof *json);
}

/* ---- accessors ---------------------------------------------------------- */

bool mvb_json_is(const mvb_json *json, int i, mvb_json_type type) {
  return i >= 0 && i < json->count && json->tokens[i].type == type;
}

int mvb_json_offset(const mvb_json *json, int i) {
  if (i < 0 || i >= json->count) return 0;
  return text_start(&json->tokens[i]);
}

static unsigned hex4(const char *s) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    char c = s[k];
    v = v * 16 + (unsigned)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

static int utf8(unsigned cp, unsigned char out[4]) {
  if (cp < 0x80) {
    out[0] = (unsigned char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (unsigned char)(0xc0 | cp >> 6);
    out[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (unsigned char)(0xe0 | cp >> 12);
    out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp & 0x3f));
    return 3;
  }
  out[0] = (unsigned char)(0xf0 | cp >> 18);
  out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
  out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
  out[3] = (unsigned char)(0x80 | (cp & 0x3f));
  return 4;
}

/* Decodes one character or escape of a checked string at *pos (< end);
 * never produces more bytes than it consumes. */
static int decode_unit(const char *text, int *pos, int end,
                       unsigned char out[4]) {
  char c = text[*pos];
  if (c != '\\') {
    out[0] = (unsigned char)c;
    (*pos)++;
    return 1;
  }
  char e = text[*pos + 1];
  *pos += 2;
  switch (e) {
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: out[0] = (unsigned char)e; return 1; /* " \ / */
  }
  unsigned cp = hex4(text + *pos);
  *pos += 4;
  if (cp >= 0xd800 && cp < 0xdc00 && *pos + 6 <= end && text[*pos] == '\\' &&
      text[*pos + 1] == 'u') {
    unsigned lo = hex4(text + *pos + 2);
    if (lo >= 0xdc00 && lo < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      *pos += 6;
    }
  }
  if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; /* a lone surrogate */
  return utf8(cp, out);
}

bool mvb_json_streq(const mvb_json *json, int i, const char *s) {
  if (!mvb_json_is(json, i, MVB_JSON_STRING)) return false;
  const mvb_json_token *t = &json->tokens[i];
  size_t k = 0;
  for (int p = t->start; p < t->end;) {
    unsigned char buf[4];
    int n = decode_unit(json->text, &p, t->end, buf);
    for (int b = 0; b < n; b++, k++)
      if (s[k] == '\0' || (unsigned char)s[k] != buf[b]) return false;
  }
  return s[k] == '\0';
}

mvb_status mvb_json_string(const mvb_json *json, int i, char **out) {
  *out = NULL;
  if (!mvb_json_is(json, i, MVB_JSON_STRING)) return MVB_ERR_MODEL_FORMAT;
  const mvb_json_token *t = &json->tokens[i];
  char *s = malloc((size_t)(t->end - t->start) + 1);
  if (!s) return MVB_ERR_OUT_OF_MEMORY;
  size_t k = 0;
  for (int p = t->start; p < t->end;) {
    unsigned char buf[4];
    int n = decode_unit(json->text, &p, t->end, buf);
    if (n == 1 && buf[0] == 0) {
      free(s);
      return MVB_ERR_MODEL_FORMAT;
    }
    memcpy(s + k, buf, (size_t)n);
    k += (size_t)n;
  }
  s[k] = '\0';
  *out = s;
  return MVB_OK;
}

/* The characters of a primitive, or of a string without escapes. */
static bool scalar_text(const mvb_json *json, int i, const char **s, int *n) {
  if (i < 0 || i >= json->count) return false;
  const mvb_json_token *t = &json->tokens[i];
  if (t->type != MVB_JSON_PRIMITIVE && t->type != MVB_JSON_STRING) return false;
  *s = json->text + t->start;
  *n = t->end - t->start;
  return true;
}

bool mvb_json_int64(const mvb_json *json, int i, int64_t *out) {
  const char *s;
  int n, p = 0;
  if (!scalar_text(json, i, &s, &n)) return false;
  bool negative = n > 0 && s[0] == '-';
  if (negative) p++;
  if (p >= n) return false;
  uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  for (; p < n; p++) {
    if (!is_digit(s[p])) return false;
    unsigned d = (unsigned)(s[p] - '0');
    if (v > (limit - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = negative ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v)
                  : (int64_t)v;
  return true;
}

bool mvb_json_double(const mvb_json *json, int i, double *out) {
  const char *s;
  int n;
  char buf[128];
  if (!scalar_text(json, i, &s, &n)) return false;
  if (json->tokens[i].type == MVB_JSON_STRING) {
    if (n == 3 && !memcmp(s, "NaN", 3))
      *out = NAN;
    else if (n == 8 && !memcmp(s, "Infinity", 8))
      *out = INFINITY;
    else if (n == 9 && !memcmp(s, "-Infinity", 9))
      *out = -INFINITY;
    else
      return false;
    return true;
  }
  /* The grammar was checked while parsing; only true/false/null remain. */
  if (n <= 0 || !(s[0] == '-' || is_digit(s[0]))) return false;
  /* Any length is a number (a converter may write 0.1 to 300 digits):
   * a long one gets a copy of its own. */
  char *copy = n < (int)sizeof buf ? buf : malloc((size_t)n + 1);
  if (!copy) return false;
  memcpy(copy, s, (size_t)n);
  copy[n] = '\0';
  /* strtod reads the locale's decimal point; JSON's is always '.'. The
   * point is read off a formatted number, not localeconv(), whose shared
   * buffer two threads loading two models would race on. */
  char probe[8];
  snprintf(probe, sizeof probe, "%.1f", 0.5);
  char point = probe[1];
  char *dot = point && point != '.' ? strchr(copy, '.') : NULL;
  if (dot) *dot = point;
  *out = strtod(copy, NULL);
  if (copy != buf) free(copy);
  return true;
}

bool mvb_json_bool(const mvb_json *json, int i, bool *out) {
  const char *s;
  int n;
  if (!scalar_text(json, i, &s, &n) ||
      json->tokens[i].type != MVB_JSON_PRIMITIVE)
    return false;
  if (n == 4 && !memcmp(s, "true", 4))
    *out = true;
  else if (n == 5 && !memcmp(s, "false", 5))
    *out = false;
  else
    return false;
  return true;
}

int mvb_json_find(const mvb_json *json, int obj, const char *key) {
  if (!mvb_json_is(json, obj, MVB_JSON_OBJECT)) return -1;
  const mvb_json_token *t = &json->tokens[obj];
  for (int k = 0, c = obj + 1; k < t->size; k++, c = json->tokens[c].next)
    if (mvb_json_streq(json, c, key)) return c + 1;
  return -1;
}
