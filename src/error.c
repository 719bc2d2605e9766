#include "error.h"

#include <stdarg.h>
#include <stdio.h>

mvb_status mvb_fail(mvb_error *err, mvb_status status, const char *format,
                    ...) {
  if (err) {
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
  }
  return status;
}

void mvb_error_clear(mvb_error *err) {
  if (err) err->message[0] = '\0';
}
