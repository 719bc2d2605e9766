/* test_util.h: a tiny harness for the native C tests (header only). */
/* clang-format off */
/*
 *     static void parses_x(void) {
 *       REQUIRE(p != NULL, "no p");          // records and returns
 *       EXPECT(x == 3, "x is %d", x);        // records and goes on
 *     }
 *     int main(void) {
 *       int failed = 0;
 *       failed += test_run("parses_x", parses_x);
 *       return test_exit(failed);
 *     }
 */
/* clang-format on */
/*
 * Each case prints "ok - name", "ok - name # SKIP reason" or
 * "not ok - name: line N: message" (the first failed expectation).
 * Include this header first: it asks for POSIX (mkdtemp, nftw).
 */
#ifndef MVB_TEST_UTIL_H
#define MVB_TEST_UTIL_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 under AddressSanitizer (gcc or clang), whose shadow memory and slowdown
 * are not the code's: memory and time limits are not checked then. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static char test_why[1024];  /* first failed expectation of the running case */
static char test_skip[1200]; /* set by SKIP */
static int test_cases, test_skipped; /* run so far, and of them skipped */

#define EXPECT(cond, ...)                                                  \
  do {                                                                     \
    if (!(cond) && !test_why[0]) {                                         \
      int n_ = snprintf(test_why, sizeof test_why, "line %d: ", __LINE__); \
      snprintf(test_why + n_, sizeof test_why - (size_t)n_, __VA_ARGS__);  \
    }                                                                      \
  } while (0)

/* cond is evaluated once: it may be the call under test. */
#define REQUIRE(cond, ...)    \
  do {                        \
    bool ok_ = (cond);        \
    EXPECT(ok_, __VA_ARGS__); \
    if (!ok_) return;         \
  } while (0)

#define SKIP(...)                                       \
  do {                                                  \
    snprintf(test_skip, sizeof test_skip, __VA_ARGS__); \
    return;                                             \
  } while (0)

/* Runs one case; returns 1 if it failed. */
static inline int test_run(const char *name, void (*test)(void)) {
  test_why[0] = test_skip[0] = '\0';
  test();
  test_cases++;
  if (!test_why[0] && test_skip[0]) test_skipped++;
  if (test_why[0])
    printf("not ok - %s: %s\n", name, test_why);
  else if (test_skip[0])
    printf("ok - %s # SKIP %s\n", name, test_skip);
  else
    printf("ok - %s\n", name);
  fflush(stdout);
  return test_why[0] ? 1 : 0;
}

/* main's exit status: 1 if any case failed; else 77 (ctest's SKIP_RETURN_CODE)
 * if every case skipped, so that a binary that checked nothing is not counted
 * as passed; else 0. */
static inline int test_exit(int failed) {
  if (failed) return 1;
  return test_cases > 0 && test_skipped == test_cases ? 77 : 0;
}

static inline bool test_contains(const char *haystack, const char *needle) {
  return haystack && strstr(haystack, needle) != NULL;
}

/* A fresh directory under $TMPDIR (or /tmp); path gets its name. */
static inline bool test_make_dir(char *path, size_t size) {
  const char *tmp = getenv("TMPDIR");
  snprintf(path, size, "%s/mvb-test-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  return mkdtemp(path) != NULL;
}

static inline bool test_write_file(const char *dir, const char *name,
                                   const void *data, size_t size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

static inline int test_remove_entry(const char *path, const struct stat *st,
                                    int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes a directory made by test_make_dir, with everything in it. */
static inline void test_remove_dir(const char *path) {
  nftw(path, test_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The checkout's root: $MVB_SOURCE_DIR (set by ctest), else ".". */
static inline const char *test_source_dir(void) {
  const char *dir = getenv("MVB_SOURCE_DIR");
  return dir && dir[0] ? dir : ".";
}

#endif
