/* name_index.c: an open-addressing hash table of borrowed names (linear
 * probing, FNV-1a). Built once per model, never resized: the table has at
 * least twice as many slots as names, so probes stay short. */
#include "name_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* FNV-1a from a per-index seed: names crafted offline to collide in one
 * table (and so make every lookup a scan again) do not collide in the
 * next. The seed changes where names sit, never what a lookup finds. */
static size_t hash(uint64_t seed, const char *s) {
  uint64_t h = 14695981039346656037u ^ seed;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return (size_t)(h ^ h >> 29);
}

mvb_status mvb_name_index_build(mvb_name_index *index, const char *const *names,
                                size_t n, const char *what, mvb_error *err) {
  memset(index, 0, sizeof *index);
  size_t size = 16;
  while (size < 2 * n) {
    if (size > SIZE_MAX / 2 / sizeof *index->slots)
      return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY,
                      "out of memory indexing %zu %s", n, what);
    size *= 2;
  }
  index->slots = calloc(size, sizeof *index->slots);
  if (!index->slots)
    return mvb_fail(err, MVB_ERR_OUT_OF_MEMORY, "out of memory indexing %zu %s",
                    n, what);
  index->mask = size - 1;
  index->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15u ^
                (uint64_t)(uintptr_t)index->slots;
  for (size_t k = 0; k < n; k++) {
    size_t h = hash(index->seed, names[k]) & index->mask;
    for (; index->slots[h].name; h = (h + 1) & index->mask) {
      if (strcmp(index->slots[h].name, names[k]) == 0) {
        mvb_name_index_free(index);
        return mvb_fail(err, MVB_ERR_MODEL_FORMAT,
                        "model.json: two %s are named \"%.300s\"", what,
                        names[k]);
      }
    }
    index->slots[h] = (mvb_name_slot){names[k], k};
  }
  return MVB_OK;
}

long mvb_name_index_find(const mvb_name_index *index, const char *name) {
  if (!index->slots || !name) return -1;
  for (size_t h = hash(index->seed, name) & index->mask; index->slots[h].name;
       h = (h + 1) & index->mask)
    if (strcmp(index->slots[h].name, name) == 0)
      return (long)index->slots[h].pos;
  return -1;
}

void mvb_name_index_free(mvb_name_index *index) {
  if (!index) return;
  free(index->slots);
  memset(index, 0, sizeof *index);
}
