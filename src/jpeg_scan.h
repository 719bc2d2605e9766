/* jpeg_scan.h: whether every scan of a JPEG holds all the blocks its frame
 * declares, found by decoding its Huffman codes as stb_image 2.27 does and
 * throwing the coefficients away (internal).
 *
 * Why: where a scan's data ends early, stb_image (like libjpeg, which only
 * warns) reads zero bits past the end, or stops at a restart marker that
 * is not there, and returns the rest of the image as flat grey; a
 * classifier then gives a confident verdict on a picture that is mostly
 * missing. container.h's byte count already refuses bodies far too short
 * for their frame; this refuses the rest: a scan cut anywhere before an EOI
 * was appended, a restart interval that ends early, random bytes in place
 * of a scan (they run out, leave much of themselves unread, or break a
 * Huffman code).
 *
 * Bits are read where stb_image reads them (same tables, runs, end-of-band
 * runs, restart handling), so "complete" here means stb_image never decodes
 * fill. It does not dequantize, transform or look at pixel values: codes
 * that are well formed but meaningless pass. Progressive refinement scans
 * read a bit for each coefficient that is already non-zero, so progressive
 * JPEGs get one 64-bit mask per block (1/16 of stb_image's own coefficient
 * buffer); nothing else is allocated.
 */
#ifndef MVB_JPEG_SCAN_H
#define MVB_JPEG_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "error.h"
#include "mvb.h"

/* frame is what mvb_container_inspect found in the same bytes (which it
 * accepted). Fails with MVB_ERR_IMAGE: "JPEG scan data ends early: ..."
 * (naming the scan, its byte offset and the MCU where the data ran out),
 * "corrupt JPEG: ... left over" when a scan or restart interval holds more
 * data than its blocks use, or "corrupt JPEG: ..." for a code no table
 * defines; MVB_ERR_OUT_OF_MEMORY when the masks cannot be had. */
mvb_status mvb_jpeg_check_scans(const uint8_t *bytes, size_t size,
                                const mvb_jpeg_frame *frame, mvb_error *err);

#endif
