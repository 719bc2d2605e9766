/* error.h: building per-handle error messages (internal). */
#ifndef MVB_ERROR_H
#define MVB_ERROR_H

#include <stddef.h>

#include "mvb.h"

#define MVB_ERROR_SIZE 512

/* Where a failing function writes why it failed; owned by a handle or a
 * caller's stack frame, never global. */
typedef struct mvb_error {
  char message[MVB_ERROR_SIZE];
} mvb_error;

/* Formats the message into err (if err is not NULL) and returns status, so a
 * failure reads: return mvb_fail(err, MVB_ERR_IO, "cannot open %s", path); */
mvb_status mvb_fail(mvb_error *err, mvb_status status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

void mvb_error_clear(mvb_error *err);

#endif
