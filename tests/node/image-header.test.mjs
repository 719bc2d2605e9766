// web/image-header.js reads the size a header declares before anything decodes the image:
// the worker refuses an image over the pixel limit from it before the browser decodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './engines.mjs';

const { imageHeader } = await import(pathToFileURL(join(repoRoot, 'web', 'image-header.js')).href);

// Files of each format written by Pillow (and cwebp for lossy WebP), with their true size.
function encoded(formats, width, height) {
  const dir = mkdtempSync(join(tmpdir(), 'mvb-header-'));
  try {
    execFileSync('/usr/bin/python3', ['-c', `
import sys; from PIL import Image
im = Image.new("RGB", (${width}, ${height}), (90, 140, 200))
for f in sys.argv[2:]:
    opts = {"lossless": True} if f == "webp-lossless" else {}
    (Image.new("RGBA", im.size, (90, 140, 200, 128)) if f == "webp-alpha" else im).save(f"{sys.argv[1]}/{f}",
        {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP", "webp-lossless": "WEBP", "webp-alpha": "WEBP"}[f], **opts)
`, dir, ...formats]);
    const out = Object.fromEntries(formats.map((f) => [f, readFileSync(join(dir, f))]));
    execFileSync('cwebp', ['-quiet', join(dir, 'png'), '-o', join(dir, 'webp')]);
    out.webp = readFileSync(join(dir, 'webp'));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the size of JPEG, PNG, GIF, BMP and WebP (lossy, lossless, extended) files is read from their headers', () => {
  const files = encoded(['jpeg', 'png', 'gif', 'bmp', 'webp-lossless', 'webp-alpha'], 333, 222);
  const expected = { jpeg: 'jpeg', png: 'png', gif: 'gif', bmp: 'bmp', 'webp-lossless': 'webp', 'webp-alpha': 'webp', webp: 'webp' };
  assert.equal(files['webp-alpha'].toString('latin1', 12, 16), 'VP8X', 'Pillow writes an RGBA WebP as VP8X');
  for (const [name, bytes] of Object.entries(files)) {
    assert.deepEqual(imageHeader(bytes), { format: expected[name], width: 333, height: 222 }, name);
  }
});

test('a PNG header declaring 20000 x 20000 gives that size from its first 24 bytes', () => {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(20000, 16);
  b.writeUInt32BE(20000, 20);
  assert.deepEqual(imageHeader(b), { format: 'png', width: 20000, height: 20000 });
});

test('a JPEG frame after other segments and fill bytes is found; a JPEG cut before its frame has no size', () => {
  const app0 = [0xff, 0xe0, 0x00, 0x06, 0x4a, 0x46, 0x49, 0x46];
  const sof2 = [0xff, 0xff, 0xc2, 0x00, 0x0b, 0x08, 0xff, 0xff, 0x01, 0x02, 0x01, 0x01, 0x11, 0x00];
  const jpeg = Buffer.from([0xff, 0xd8, ...app0, ...sof2]);
  assert.deepEqual(imageHeader(jpeg), { format: 'jpeg', width: 0x0102, height: 0xffff });
  assert.deepEqual(imageHeader(jpeg.subarray(0, 12)), { format: 'jpeg' });
});

test('AVIF and HEIC sizes come from the largest ispe property; unknown bytes are no format', () => {
  const box = (type, ...body) => {
    const content = Buffer.concat(body);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(8 + content.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, content]);
  };
  const u32 = (...v) => { const b = Buffer.alloc(4 * v.length); v.forEach((x, i) => b.writeUInt32BE(x, 4 * i)); return b; };
  const ispe = (w, h) => box('ispe', u32(0, w, h));
  const file = (brand, compatible) => Buffer.concat([
    box('ftyp', Buffer.from(brand, 'latin1'), u32(0), Buffer.from(compatible, 'latin1')),
    box('meta', u32(0), box('hdlr', u32(0, 0)), box('iprp', box('ipco', ispe(512, 512), ispe(16384, 12288)))),
    box('mdat', Buffer.alloc(16)),
  ]);
  assert.deepEqual(imageHeader(file('avif', 'mif1avif')), { format: 'avif', width: 16384, height: 12288 });
  assert.deepEqual(imageHeader(file('mif1', 'mif1heic')), { format: 'heic', width: 16384, height: 12288 });
  assert.equal(imageHeader(Buffer.from('this is text, not an image at all')), null);
  assert.equal(imageHeader(Buffer.alloc(4)), null);
});
