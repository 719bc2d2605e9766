/* stb_impl.c: the one translation unit that compiles stb_image (Debian's
 * libstb-dev header). Only the formats the project promises are built in,
 * memory input only, and a per-side limit far above any photo so a hostile
 * header cannot ask for a huge allocation (image.c checks the pixel count
 * against the caller's limit before stb runs). It also measures zlib
 * streams with stb's decoder (stb_impl.h): only here can stb's internal
 * functions be called. */
#include "stb_impl.h"

#include <limits.h>

#include "container.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_MAX_DIMENSIONS MVB_MAX_SIDE

/* Third-party code: its warnings are not ours to fix. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* stbi__parse_zlib with stbi__parse_huffman_block and
 * stbi__parse_uncompressed_block, counting where they would write. The
 * checks are theirs, in their order, so a stream counts here exactly when
 * stb_image would inflate it. */
mvb_inflate mvb_zlib_inflated_size(const uint8_t *data, size_t size,
                                   uint64_t limit, uint64_t *out,
                                   const char **reason) {
  stbi__zbuf a;
  uint64_t total = 0;
  int final;
  memset(&a, 0, sizeof a);
  *out = 0;
  *reason = "stream of more than 2 GB"; /* stb takes an int length */
  if (size > INT_MAX) return MVB_INFLATE_CORRUPT;
  a.zbuffer = (stbi_uc *)data;
  a.zbuffer_end = (stbi_uc *)data + size;
  if (!stbi__parse_zlib_header(&a)) goto corrupt;
  do {
    final = (int)stbi__zreceive(&a, 1);
    int type = (int)stbi__zreceive(&a, 2);
    if (type == 0) { /* stored: LEN, NLEN, then LEN bytes */
      stbi_uc header[4];
      int k = 0;
      if (a.num_bits & 7) stbi__zreceive(&a, a.num_bits & 7);
      while (a.num_bits > 0) {
        header[k++] = (stbi_uc)(a.code_buffer & 255);
        a.code_buffer >>= 8;
        a.num_bits -= 8;
      }
      if (a.num_bits < 0) {
        stbi__err("zlib corrupt", "Corrupt PNG");
        goto corrupt;
      }
      while (k < 4) header[k++] = stbi__zget8(&a);
      int len = header[1] * 256 + header[0];
      int nlen = header[3] * 256 + header[2];
      if (nlen != (len ^ 0xffff)) {
        stbi__err("zlib corrupt", "Corrupt PNG");
        goto corrupt;
      }
      if (a.zbuffer_end - a.zbuffer < len) {
        stbi__err("read past buffer", "Corrupt PNG");
        goto corrupt;
      }
      a.zbuffer += len;
      total += (uint64_t)len;
    } else if (type == 3) {
      stbi__err("bad block type", "Corrupt PNG"); /* stb says nothing */
      goto corrupt;
    } else {
      if (type == 1) {
        if (!stbi__zbuild_huffman(&a.z_length, stbi__zdefault_length,
                                  STBI__ZNSYMS) ||
            !stbi__zbuild_huffman(&a.z_distance, stbi__zdefault_distance, 32))
          goto corrupt;
      } else if (!stbi__compute_huffman_codes(&a)) {
        goto corrupt;
      }
      for (;;) {
        int z = stbi__zhuffman_decode(&a, &a.z_length);
        if (z < 256) {
          if (z < 0) {
            stbi__err("bad huffman code", "Corrupt PNG");
            goto corrupt;
          }
          total++;
        } else if (z == 256) {
          break;
        } else {
          z -= 257;
          int len = stbi__zlength_base[z];
          if (stbi__zlength_extra[z])
            len += (int)stbi__zreceive(&a, stbi__zlength_extra[z]);
          z = stbi__zhuffman_decode(&a, &a.z_distance);
          if (z < 0) {
            stbi__err("bad huffman code", "Corrupt PNG");
            goto corrupt;
          }
          int dist = stbi__zdist_base[z];
          if (stbi__zdist_extra[z])
            dist += (int)stbi__zreceive(&a, stbi__zdist_extra[z]);
          if (total < (uint64_t)dist) {
            stbi__err("bad dist", "Corrupt PNG");
            goto corrupt;
          }
          total += (uint64_t)len;
        }
        if (total > limit) break;
      }
    }
    if (total > limit) {
      *out = total;
      return MVB_INFLATE_OVER_LIMIT;
    }
  } while (!final);
  *out = total;
  return MVB_INFLATE_OK;
corrupt:
  *out = total;
  *reason = stbi_failure_reason();
  if (!*reason) *reason = "corrupt zlib stream";
  return MVB_INFLATE_CORRUPT;
}
