/* stb_impl.h: what stb_impl.c adds to stb_image's own API (internal).
 *
 * stb_image inflates a PNG's data into a buffer that starts at the size
 * the header implies and doubles whenever the stream has more, with no
 * limit: a PNG of 1 MB declaring 1 x 1 pixels can inflate to 1 GB. It
 * offers no way to cap that, and we use Debian's header unpatched, so the
 * stream is measured first with stb's own zlib decoder (same tables, same
 * checks, so the count is what stb would produce), writing nothing.
 * It does not know what the bytes should be: image.c compares the count
 * with what container.h says the rows need.
 */
#ifndef MVB_STB_IMPL_H
#define MVB_STB_IMPL_H

#include <stddef.h>
#include <stdint.h>

typedef enum mvb_inflate {
  MVB_INFLATE_OK = 0,     /* *out is the inflated size, <= limit */
  MVB_INFLATE_OVER_LIMIT, /* stopped as soon as the count passed limit */
  MVB_INFLATE_CORRUPT,    /* *reason says why (stb_image's words) */
} mvb_inflate;

/* Counts the bytes a zlib stream (2-byte header, deflate blocks) inflates
 * to. Allocates nothing; reads only data[0..size). */
mvb_inflate mvb_zlib_inflated_size(const uint8_t *data, size_t size,
                                   uint64_t limit, uint64_t *out,
                                   const char **reason);

#endif
