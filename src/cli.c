/* cli.c: the native command line, `mvb classify` and `mvb run`. */
#define _DEFAULT_SOURCE /* realpath, readlink */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mvb.h"

static const char USAGE[] =
    "usage: mvb classify [--model DIR] [--json] [--threads N] IMAGE...\n"
    "       mvb run --model DIR --input IN.f32 --output OUT.f32 [--threads N]\n"
    "\n"
    "classify  prints the verdict (mountain, beach or not sure), the\n"
    "          confidence and the model's score for each image; with --json,\n"
    "          one JSON object per line. A file that cannot be read or\n"
    "          decoded is reported and the rest go on; the exit status is 1\n"
    "          if any failed. Without --model, the weights/ folder of this\n"
    "          checkout is used.\n"
    "run       feeds a raw little-endian float32 NHWC tensor to the graph and\n"
    "          writes its first output as raw float32.\n";

typedef struct args {
  const char *command;
  const char *model_dir;
  const char *input;
  const char *output;
  int json;
  int threads;
  char **files;
  int n_files;
} args;

/* Reads a whole file; returns NULL and sets errno on failure. */
static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 1 << 16;
      unsigned char *grown = realloc(data, cap);
      if (!grown) {
        free(data);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      data = grown;
    }
    size_t got = fread(data + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(data);
    errno = EIO;
    return NULL;
  }
  *size = len;
  return data;
}

static int parse_args(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->threads = 1;
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
    } else if (strcmp(arg, "--output") == 0 && has_value) {
      a->output = argv[++i];
    } else if (strcmp(arg, "--threads") == 0 && has_value) {
      char *end;
      long t = strtol(argv[++i], &end, 10);
      if (*end || t < 1 || t > 64) {
        fprintf(stderr, "mvb: --threads needs a number from 1 to 64\n");
        return -1;
      }
      a->threads = (int)t;
    } else if (strcmp(arg, "--") == 0) {
      while (++i < argc) a->files[a->n_files++] = argv[i];
    } else if (arg[0] == '-' && arg[1] != '\0') {
      fprintf(stderr, "mvb: unknown or incomplete option %s\n", arg);
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

/* Prints s as a JSON string literal. */
static void print_json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static void print_error(const args *a, const char *file, const char *message) {
  if (a->json) {
    printf("{\"file\":");
    print_json_string(file);
    printf(",\"error\":");
    print_json_string(message);
    printf("}\n");
  }
  fprintf(stderr, "mvb: %s: %s\n", file, message);
}

static int classify_files(mvb_model *model, const args *a) {
  int failures = 0;
  for (int i = 0; i < a->n_files; i++) {
    const char *file = a->files[i];
    size_t size = 0;
    unsigned char *bytes = read_file(file, &size);
    if (!bytes) {
      print_error(a, file, strerror(errno));
      failures++;
      continue;
    }
    mvb_result r;
    mvb_status s = mvb_classify_encoded(model, bytes, size, &r);
    free(bytes);
    if (s != MVB_OK) {
      print_error(a, file, mvb_model_error(model));
      failures++;
      continue;
    }
    if (a->json) {
      printf("{\"file\":");
      print_json_string(file);
      printf(",\"verdict\":\"%s\",\"confidence\":%.6f,\"score\":%.6f}\n",
             mvb_verdict_name(r.verdict), r.confidence, r.score);
    } else {
      printf("%s: %s %.1f%% (score %.4f)\n", file, mvb_verdict_name(r.verdict),
             100.0f * r.confidence, r.score);
    }
    fflush(stdout);
  }
  return failures ? 1 : 0;
}

static int run_tensor(mvb_model *model, const args *a) {
  size_t size = 0;
  unsigned char *bytes = read_file(a->input, &size);
  if (!bytes) {
    fprintf(stderr, "mvb: %s: %s\n", a->input, strerror(errno));
    return 1;
  }
  int rc = 1;
  size_t capacity = 1 << 20, count = 0;
  float *out = malloc(capacity * sizeof *out);
  if (!out) {
    fprintf(stderr, "mvb: out of memory\n");
  } else if (size % sizeof(float) != 0) {
    fprintf(stderr, "mvb: %s: %zu bytes is not a whole number of float32\n",
            a->input, size);
  } else if (mvb_run_tensor(model, (const float *)bytes, size / sizeof(float),
                            out, capacity, &count) != MVB_OK) {
    fprintf(stderr, "mvb: %s\n", mvb_model_error(model));
  } else if (count > capacity) {
    fprintf(stderr, "mvb: output has %zu values, more than %zu\n", count,
            capacity);
  } else {
    FILE *f = fopen(a->output, "wb");
    if (!f || fwrite(out, sizeof *out, count, f) != count) {
      fprintf(stderr, "mvb: cannot write %s: %s\n", a->output, strerror(errno));
    } else {
      rc = 0;
    }
    if (f && fclose(f) != 0) rc = 1;
  }
  free(out);
  free(bytes);
  return rc;
}

int main(int argc, char **argv) {
  args a;
  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(USAGE, stdout);
    return 0;
  }
  if (parse_args(argc, argv, &a) != 0) {
    fputs(USAGE, stderr);
    free(a.files);
    return 2;
  }
  int is_classify = strcmp(a.command, "classify") == 0;
  int is_run = strcmp(a.command, "run") == 0;
  if ((!is_classify && !is_run) || (is_classify && a.n_files == 0) ||
      (is_run && (!a.model_dir || !a.input || !a.output || a.n_files))) {
    fputs(USAGE, stderr);
    free(a.files);
    return 2;
  }
  char found[PATH_MAX];
  if (!a.model_dir) a.model_dir = default_model_dir(found, sizeof found);
  if (!a.model_dir) {
    fprintf(stderr, "mvb: no weights/ folder found; pass --model DIR\n");
    free(a.files);
    return 2;
  }
  mvb_options opts = mvb_default_options();
  opts.num_threads = a.threads;
  mvb_model *model = mvb_model_create(&opts);
  int rc = 2;
  if (!model) {
    fprintf(stderr, "mvb: out of memory\n");
  } else if (mvb_model_load_dir(model, a.model_dir) != MVB_OK) {
    fprintf(stderr, "mvb: cannot load model from %s: %s\n", a.model_dir,
            mvb_model_error(model));
  } else {
    rc = is_classify ? classify_files(model, &a) : run_tensor(model, &a);
  }
  mvb_model_free(model);
  free(a.files);
  return rc;
}
