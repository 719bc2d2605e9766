/* cli.c: the native command line, `mvb classify`, `mvb explain` and
 * `mvb run`. */
#define _DEFAULT_SOURCE /* realpath, readlink */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "file_io.h"
#include "heatmap.h"
#include "mvb.h"
#include "png_file.h"

static const char USAGE[] =
    "usage: mvb classify [--model DIR] [--json] [--threads N] [--precision P]\n"
    "                    IMAGE...\n"
    "       mvb explain [--model DIR] [--class CLASS] [--threads N]\n"
    "                   [--precision P] IMAGE -o OUT.png\n"
    "       mvb run --model DIR --input IN.f32 --output OUT.f32 [--threads N]\n"
    "                   [--precision P]\n"
    "\n"
    "classify  prints the verdict (mountain, beach, not sure or neither),\n"
    "          the confidence, the model's score (P(mountain) among beach and\n"
    "          mountain) and its class probabilities for each image; with "
    "--json,\n"
    "          one JSON object per line. A file that cannot be read or\n"
    "          decoded is reported and the rest go on; the exit status is 1\n"
    "          if any failed. Without --model, the weights/ folder of this\n"
    "          checkout is used.\n"
    "explain   classifies IMAGE as classify does, blends the model's class\n"
    "          activation map for CLASS over the photo and writes it to\n"
    "          OUT.png at the photo's size, then says where the map is\n"
    "          strongest (\"mostly the upper half\"). CLASS is beach,\n"
    "          mountain, neither or verdict (the default): the verdict's\n"
    "          class, for \"not sure\" the likelier of beach and mountain.\n"
    "          The model needs a heatmap output.\n"
    "run       feeds a raw little-endian float32 NHWC tensor to the graph and\n"
    "          writes its outputs, one after another in the model's signature\n"
    "          order, as raw float32.\n"
    "--threads N  runs on N threads, at most one per core online: a larger\n"
    "          N only slows the run, so it is lowered, with a note.\n"
    "--precision f32|int8  the arithmetic of convolutions and matrix\n"
    "          products; by default the model's own (model.json's\n"
    "          mvb.precision), else f32. int8 requantizes their weights at\n"
    "          load and quantizes their inputs at every run; the other ops\n"
    "          stay f32.\n"
    "\n"
    "File names and messages are printed with control characters escaped\n"
    "(\\x1b, \\u202e). A failed write of the results is reported, and the\n"
    "exit status is then 1.\n";

typedef struct args {
  const char *command;
  const char *model_dir;
  const char *input;
  const char *output;
  const char *class_name; /* explain --class; NULL: the verdict's */
  int json;
  int threads;
  char **files;
  int n_files;
  mvb_precision precision;
} args;

/* ---- text that cannot take over a terminal ----------------------------
 * File names, model.json strings and the messages quoting them are
 * untrusted: an ESC in a name could drive the terminal, a U+202E could show
 * the line reversed, a stray 0xFF would make a JSON line invalid. */

/* Length of the valid UTF-8 sequence at p (its code point in *cp), or 0 if
 * there is none: overlong, surrogate, past U+10FFFF or cut short. */
static size_t utf8_next(const unsigned char *p, uint32_t *cp) {
  size_t n;
  uint32_t c, min;
  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  } else if ((p[0] & 0xe0) == 0xc0) {
    n = 2, c = p[0] & 0x1f, min = 0x80;
  } else if ((p[0] & 0xf0) == 0xe0) {
    n = 3, c = p[0] & 0x0f, min = 0x800;
  } else if ((p[0] & 0xf8) == 0xf0) {
    n = 4, c = p[0] & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
    c = c << 6 | (p[i] & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
  *cp = c;
  return n;
}

/* Code points a terminal acts on instead of showing: C0 and C1 controls,
 * DEL, and the bidi embeddings, overrides and isolates. */
static int is_control(uint32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

/* Writes s with every control escaped. As text: \x1b for a control below
 * 0x80, \u202e above, and \xff for a byte that is not UTF-8 (a terminal in
 * a legacy charset would read 0x9b as CSI). As the inside of a JSON string:
 * controls as \u00XX and such a byte as \ufffd, because JSON text must be
 * Unicode; U+FFFD, the replacement character, then stands for the byte, so
 * the name cannot be recovered from the JSON but the line still parses. */
static void put_escaped(FILE *f, const char *s, int json) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    uint32_t c = 0;
    size_t n = utf8_next(p, &c);
    if (n == 0) {
      if (json)
        fputs("\\ufffd", f);
      else
        fprintf(f, "\\x%02x", *p);
      n = 1;
    } else if (json && (c == '"' || c == '\\')) {
      fprintf(f, "\\%c", (int)c);
    } else if (is_control(c) && (json || c >= 0x80)) {
      fprintf(f, "\\u%04x", (unsigned)c);
    } else if (is_control(c)) {
      fprintf(f, "\\x%02x", (unsigned)c);
    } else {
      fwrite(p, 1, n, f);
    }
    p += n;
  }
}

static void put_text(FILE *f, const char *s) { put_escaped(f, s, 0); }

/* "mvb: " + the message + newline on stderr, escaped as a whole: the
 * arguments quote file names, model.json and the engine's messages. */
static void say(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void say(const char *format, ...) {
  char small[1024], *text = small;
  va_list ap, again;
  va_start(ap, format);
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, format, ap);
  if (n >= (int)sizeof small) {
    /* Out of memory, the message's first 1023 bytes are still worth it. */
    char *big = malloc((size_t)n + 1);
    if (big) {
      vsnprintf(big, (size_t)n + 1, format, again);
      text = big;
    }
  }
  va_end(again);
  va_end(ap);
  fputs("mvb: ", stderr);
  put_text(stderr, n < 0 ? format : text);
  fputc('\n', stderr);
  if (text != small) free(text);
}

/* Results that never arrive are a failure like any other: a full disk
 * behind stdout is said once, and the run ends with status 1. */
static int stdout_ok(void) {
  static int reported;
  int e = fflush(stdout) != 0 ? errno : 0;
  if (!e && !ferror(stdout)) return 1;
  if (!reported)
    say("cannot write the results to standard output%s%s", e ? ": " : "",
        e ? strerror(e) : "");
  reported = 1;
  return 0;
}

/* --threads N. More threads than cores online only wait on each other (64
 * on 2 cores took 11-13 s a photo instead of 0.05 s), so a larger N is
 * lowered to the cores, with a note rather than an error. */
static int parse_threads(const char *text, int *threads) {
  char *end;
  errno = 0;
  long n = strtol(text, &end, 10);
  if (end == text || *end || n < 1) {
    say("--threads needs a number of at least 1, not \"%s\"", text);
    return -1;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) cores = 1; /* unknown: the calling thread alone */
  if (n > cores || errno == ERANGE) {
    say("--threads %s is more than the %ld core%s online; using %ld", text,
        cores, cores == 1 ? "" : "s", cores);
    n = cores;
  }
  *threads = n > INT_MAX ? INT_MAX : (int)n;
  return 0;
}

static int parse_precision(const char *text, mvb_precision *precision) {
  if (strcmp(text, "f32") == 0) {
    *precision = MVB_PRECISION_F32;
  } else if (strcmp(text, "int8") == 0) {
    *precision = MVB_PRECISION_INT8;
  } else {
    say("--precision is f32 or int8, not \"%s\"", text);
    return -1;
  }
  return 0;
}

static int parse_args(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->threads = 1;
  a->precision = MVB_PRECISION_MODEL;
  if (argc < 2) return -1;
  a->command = argv[1];
  a->files = calloc((size_t)argc, sizeof *a->files);
  if (!a->files) return -1;
  for (int i = 2; i < argc; i++) {
    const char *arg = argv[i];
    int has_value = i + 1 < argc;
    if (strcmp(arg, "--json") == 0) {
      a->json = 1;
    } else if (strcmp(arg, "--model") == 0 && has_value) {
      a->model_dir = argv[++i];
    } else if (strcmp(arg, "--input") == 0 && has_value) {
      a->input = argv[++i];
    } else if ((strcmp(arg, "--output") == 0 || strcmp(arg, "-o") == 0) &&
               has_value) {
      a->output = argv[++i];
    } else if (strcmp(arg, "--class") == 0 && has_value) {
      a->class_name = argv[++i];
    } else if (strcmp(arg, "--threads") == 0 && has_value) {
      if (parse_threads(argv[++i], &a->threads) != 0) return -1;
    } else if (strcmp(arg, "--precision") == 0 && has_value) {
      if (parse_precision(argv[++i], &a->precision) != 0) return -1;
    } else if (strcmp(arg, "--") == 0) {
      while (++i < argc) a->files[a->n_files++] = argv[i];
    } else if (arg[0] == '-' && arg[1] != '\0') {
      say("unknown or incomplete option %s", arg);
      return -1;
    } else {
      a->files[a->n_files++] = argv[i];
    }
  }
  return 0;
}

static int is_model_dir(const char *dir) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/model.json", dir) >= (int)sizeof path)
    return 0;
  return access(path, R_OK) == 0;
}

/* The checkout's weights/: the executable lives in build/native/. */
static const char *default_model_dir(char *buf, size_t size) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    const char *candidates[] = {"/../../weights", "/../weights", "/weights"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
      if (snprintf(buf, size, "%s%s", exe, candidates[i]) < (int)size &&
          is_model_dir(buf))
        return buf;
    }
  }
  return is_model_dir("weights") ? "weights" : NULL;
}

/* Prints s as a JSON string literal (put_escaped says how). */
static void print_json_string(const char *s) {
  putchar('"');
  put_escaped(stdout, s, 1);
  putchar('"');
}

/* "file: message" on stderr. message_names_file: the message already says
 * which file (file_io.c's do), so the line does not repeat it, unless the
 * message holds only the start of a long name (file_io.c cuts it). */
static void say_file_error(const char *file, const char *message,
                           bool message_names_file) {
  if (message_names_file && strstr(message, file))
    say("%s", message);
  else
    say("%s: %s", file, message);
}

static void print_error(const args *a, const char *file, const char *message,
                        bool message_names_file) {
  if (a->json) {
    printf("{\"file\":");
    print_json_string(file);
    printf(",\"error\":");
    print_json_string(message);
    printf("}\n");
  }
  say_file_error(file, message, message_names_file);
}

/* One result: a line of text, or one JSON object per line. The class
 * probabilities follow the score; "neither" only for models that judge it. */
static void print_result(const args *a, const char *file, const mvb_result *r) {
  const float *p = r->probability;
  if (a->json) {
    printf("{\"file\":");
    print_json_string(file);
    printf(
        ",\"verdict\":\"%s\",\"confidence\":%.6f,\"score\":%.6f,"
        "\"probabilities\":{\"beach\":%.6f,\"mountain\":%.6f",
        mvb_verdict_name(r->verdict), r->confidence, r->score,
        p[MVB_CLASS_BEACH], p[MVB_CLASS_MOUNTAIN]);
    if (r->has_neither) printf(",\"neither\":%.6f", p[MVB_CLASS_NEITHER]);
    printf("}}\n");
    return;
  }
  put_text(stdout, file);
  printf(": %s %.1f%% (score %.4f", mvb_verdict_name(r->verdict),
         100.0f * r->confidence, r->score);
  if (r->has_neither)
    printf("; beach %.3f, mountain %.3f, neither %.3f", p[MVB_CLASS_BEACH],
           p[MVB_CLASS_MOUNTAIN], p[MVB_CLASS_NEITHER]);
  printf(")\n");
}

static int classify_files(mvb_model *model, const args *a) {
  int failures = 0;
  for (int i = 0; i < a->n_files; i++) {
    if (!stdout_ok()) return 1; /* an error line before this file */
    const char *file = a->files[i];
    size_t size = 0;
    uint8_t *bytes = NULL;
    mvb_error err;
    if (mvb_read_file(file, "image", MVB_MAX_IMAGE_FILE_BYTES, &bytes, &size,
                      &err) != MVB_OK) {
      print_error(a, file, err.message, true);
      failures++;
      continue;
    }
    mvb_result r;
    mvb_status s = mvb_classify_encoded(model, bytes, size, &r);
    free(bytes);
    if (s != MVB_OK) {
      print_error(a, file, mvb_model_error(model), false);
      failures++;
      continue;
    }
    print_result(a, file, &r);
    if (!stdout_ok()) return 1;
  }
  if (!stdout_ok()) return 1;
  return failures ? 1 : 0;
}

/* ---- mvb explain ------------------------------------------------------ */

static const char *const CLASS_NAMES[MVB_CLASS_COUNT] = {"beach", "mountain",
                                                         "neither"};

/* --class NAME as an mvb_class; -1 for "verdict" (or no --class), -2 for a
 * name that is neither. */
static int parse_class(const char *name) {
  if (!name || strcmp(name, "verdict") == 0) return -1;
  for (int k = 0; k < MVB_CLASS_COUNT; k++)
    if (strcmp(name, CLASS_NAMES[k]) == 0) return k;
  return -2;
}

/* The class whose map explains the verdict; for "not sure", the likelier of
 * beach and mountain. */
static mvb_class verdict_class(const mvb_result *r) {
  switch (r->verdict) {
    case MVB_BEACH: return MVB_CLASS_BEACH;
    case MVB_MOUNTAIN: return MVB_CLASS_MOUNTAIN;
    case MVB_NEITHER: return MVB_CLASS_NEITHER;
    case MVB_NOT_SURE: break;
  }
  return r->probability[MVB_CLASS_MOUNTAIN] > r->probability[MVB_CLASS_BEACH]
             ? MVB_CLASS_MOUNTAIN
             : MVB_CLASS_BEACH;
}

/* The model's heatmap output, or -1 if it has none. */
static int heatmap_output(const mvb_model *model) {
  for (size_t i = 0; i < mvb_output_count(model); i++)
    if (mvb_output_kind_of(model, i) == MVB_OUTPUT_HEATMAP) return (int)i;
  return -1;
}

/* Blends output `out`'s map of class cls over the decoded photo and writes
 * it to a->output; prints where the map is strongest. */
static int draw_heatmap(mvb_model *model, const args *a, int out, int cls,
                        uint8_t *rgb, int width, int height) {
  int64_t dims[MVB_MAX_RANK]; /* (1, rows, cols, classes), checked at load */
  if (mvb_output_shape(model, (size_t)out, dims) != 4) {
    say("%s: the heatmap output is not (1, rows, columns, classes)",
        mvb_output_name(model, (size_t)out));
    return 1;
  }
  int64_t channel = 0;
  while (channel < dims[3] &&
         mvb_output_class(model, (size_t)out, (size_t)channel) != cls)
    channel++;
  if (channel == dims[3]) {
    say("this model's heatmap has no map for %s", CLASS_NAMES[cls]);
    return 1;
  }
  mvb_heatmap map;
  mvb_error err;
  mvb_status s =
      mvb_heatmap_init(&map, mvb_output_data(model, (size_t)out) + channel,
                       (int)dims[1], (int)dims[2], (size_t)dims[3], &err);
  if (s == MVB_OK) {
    mvb_heatmap_blend(&map, rgb, width, height);
    s = mvb_write_png(a->output, rgb, width, height, &err);
  }
  if (s != MVB_OK) {
    say("%s", err.message);
    return 1;
  }
  put_text(stdout, a->output);
  printf(": where it looked for %s: %s\n", CLASS_NAMES[cls],
         mvb_heatmap_where(&map));
  return 0;
}

/* --class and --json each belong to one command; says which when not. */
static int explain_options_misused(const args *a, int is_explain) {
  if (!is_explain && a->class_name)
    say("--class is for explain");
  else if (is_explain && a->json)
    say("--json is for classify; explain prints text");
  else if (is_explain && parse_class(a->class_name) == -2)
    say("--class must be beach, mountain, neither or verdict, not \"%s\"",
        a->class_name);
  else
    return 0;
  return 1;
}

static int explain(mvb_model *model, const args *a) {
  int out = heatmap_output(model);
  if (out < 0) {
    say("this model (%s) has no heatmap output: its model.json's "
        "mvb.outputs describes none",
        a->model_dir);
    return 2;
  }
  const char *file = a->files[0];
  size_t size = 0;
  uint8_t *bytes = NULL, *rgb = NULL;
  int width = 0, height = 0, rc = 1;
  mvb_error err;
  mvb_result r;
  if (mvb_read_file(file, "image", MVB_MAX_IMAGE_FILE_BYTES, &bytes, &size,
                    &err) != MVB_OK) {
    print_error(a, file, err.message, true);
  } else if (mvb_classify_encoded(model, bytes, size, &r) != MVB_OK ||
             mvb_decode_image(model, bytes, size, &rgb, &width, &height) !=
                 MVB_OK) {
    print_error(a, file, mvb_model_error(model), false);
  } else {
    print_result(a, file, &r);
    int cls = parse_class(a->class_name);
    rc = draw_heatmap(model, a, out, cls >= 0 ? cls : (int)verdict_class(&r),
                      rgb, width, height);
  }
  free(rgb);
  free(bytes);
  return stdout_ok() ? rc : 1;
}

/* Writes every output of the run, in the signature's order, as one raw
 * float32 file. A full disk may show only at fclose, and is said then too,
 * not just returned. */
static int write_outputs(const char *path, const mvb_model *model) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    say("cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  errno = 0;
  int e = 0;
  for (size_t i = 0; i < mvb_output_count(model) && !e; i++) {
    size_t n = mvb_output_size(model, i);
    if (fwrite(mvb_output_data(model, i), sizeof(float), n, f) != n)
      e = errno ? errno : EIO;
  }
  if (fclose(f) != 0 && !e) e = errno;
  if (!e) return 0;
  say("cannot write %s: %s", path, strerror(e));
  return -1;
}

static int run_tensor(mvb_model *model, const args *a) {
  size_t size = 0, count = 0;
  uint8_t *bytes = NULL;
  mvb_error err;
  if (mvb_read_file(a->input, "input tensor", MVB_MAX_TENSOR_FILE_BYTES, &bytes,
                    &size, &err) != MVB_OK) {
    say_file_error(a->input, err.message, true);
    return 1;
  }
  int rc = 1;
  /* Stray bytes after the last whole value would otherwise be dropped
   * unseen, and a file of the right count plus them would run. */
  if (size % sizeof(float) != 0)
    say("input tensor \"%s\" is %zu bytes, not a whole number of float32 "
        "values (%zu bytes each)",
        a->input, size, sizeof(float));
  else if (mvb_run_tensor(model, (const float *)bytes, size / sizeof(float),
                          /*output=*/NULL, /*capacity=*/0, &count) != MVB_OK)
    say_file_error(a->input, mvb_model_error(model), false);
  else if (write_outputs(a->output, model) == 0)
    rc = 0;
  free(bytes);
  return rc;
}

/* --help or -h anywhere before "--" ("mvb classify --help" too). */
static int asks_for_help(int argc, char **argv) {
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

int main(int argc, char **argv) {
  args a;
  if (asks_for_help(argc, argv)) {
    fputs(USAGE, stdout);
    return stdout_ok() ? 0 : 1;
  }
  if (parse_args(argc, argv, &a) != 0) {
    fputs(USAGE, stderr);
    free(a.files);
    return 2;
  }
  int is_classify = strcmp(a.command, "classify") == 0;
  int is_run = strcmp(a.command, "run") == 0;
  int is_explain = strcmp(a.command, "explain") == 0;
  if ((!is_classify && !is_run && !is_explain) ||
      (is_classify && a.n_files == 0) ||
      (is_explain && (a.n_files != 1 || !a.output)) ||
      (is_run && (!a.model_dir || !a.input || !a.output || a.n_files))) {
    fputs(USAGE, stderr);
    free(a.files);
    return 2;
  }
  if (explain_options_misused(&a, is_explain)) {
    free(a.files);
    return 2;
  }
  char found[PATH_MAX];
  if (!a.model_dir) a.model_dir = default_model_dir(found, sizeof found);
  if (!a.model_dir) {
    say("no weights/ folder found; pass --model DIR");
    free(a.files);
    return 2;
  }
  mvb_options opts = mvb_default_options();
  opts.num_threads = a.threads;
  opts.precision = a.precision;
  mvb_model *model = mvb_model_create(&opts);
  int rc = 2;
  if (!model) {
    say("out of memory");
  } else if (mvb_model_load_dir(model, a.model_dir) != MVB_OK) {
    say("cannot load model from %s: %s", a.model_dir, mvb_model_error(model));
  } else {
    rc = is_classify  ? classify_files(model, &a)
         : is_explain ? explain(model, &a)
                      : run_tensor(model, &a);
  }
  mvb_model_free(model);
  free(a.files);
  if (!stdout_ok() && rc == 0) rc = 1;
  return rc;
}
