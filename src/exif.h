/* exif.h: the EXIF orientation tag (0x0112) of a JPEG's APP1 segment
 * (internal).
 *
 * Reads only the TIFF structure EXIF keeps there: byte order, IFD0 and its
 * entries. It does not find the APP1 segment (container.h walks the JPEG's
 * markers) nor apply the orientation (image.c rotates the pixels). Every
 * read is bounds-checked and nothing is allocated; malformed EXIF only
 * means "no orientation" (1), never a failure.
 */
#ifndef MVB_EXIF_H
#define MVB_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* The orientation in an APP1 payload: 0 when it is not EXIF (no
 * "Exif\0\0" prefix, so a later APP1 may be), else as below. */
int mvb_exif_app1_orientation(const uint8_t *payload, size_t size);

/* The orientation stored in a TIFF structure (an EXIF payload after its
 * "Exif\0\0" prefix). Returns 1..8, or 1 when the tag is missing or
 * anything is out of bounds or malformed. */
int mvb_exif_orientation(const uint8_t *tiff, size_t size);

#endif
