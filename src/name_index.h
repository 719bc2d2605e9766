/* name_index.h: names -> positions in a list, hashed, so that looking a node,
 * a weight or a shard up by name costs O(1) on average however large the
 * model (a linear scan per lookup made a 200,000-node graph quadratic).
 * Internal; knows nothing of models.
 *
 * The index borrows the names: they must outlive it, unchanged. */
#ifndef MVB_NAME_INDEX_H
#define MVB_NAME_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct mvb_name_slot {
  const char *name; /* NULL: an empty slot */
  size_t pos;
} mvb_name_slot;

typedef struct mvb_name_index {
  mvb_name_slot *slots; /* (mask + 1), at most half full; owned */
  size_t mask;
  uint64_t seed;
} mvb_name_index;

/* Indexes names[0..n) by position. A name given twice is refused:
 * MVB_ERR_MODEL_FORMAT with "model.json: two <what> are named "<name>"".
 * On failure the index is empty. */
mvb_status mvb_name_index_build(mvb_name_index *index, const char *const *names,
                                size_t n, const char *what, mvb_error *err);

/* The position of name, or -1. An empty (never built) index finds nothing. */
long mvb_name_index_find(const mvb_name_index *index, const char *name);

void mvb_name_index_free(mvb_name_index *index); /* zeroes it; empty is ok */

#endif
