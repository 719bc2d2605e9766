// test-images.mjs: the node tests' photos and pictures: BMPs written from a pixel function (the
// engine decodes them exactly, as stb does natively), and the PNGs `mvb explain` writes read
// back (chunks, IHDR, IDAT inflated and unfiltered; RGB, 8 bits; asserts on anything else).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export function readPng(path) {
  const png = readFileSync(path);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let width = 0;
  let height = 0;
  const idat = [];
  let ended = false;
  for (let o = 8; o < png.length;) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    const data = png.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([data[8], data[9]], [8, 2], 'bit depth 8, colour type 2 (RGB)');
    }
    if (type === 'IDAT') idat.push(data);
    if (type === 'IEND') ended = true;
    o += 12 + len;
  }
  assert.ok(ended, 'the PNG ends with IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  assert.equal(raw.length, (stride + 1) * height, 'IDAT holds every row');
  const rgb = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i];
      const a = i >= 3 ? rgb[y * stride + i - 3] : 0;
      const b = y > 0 ? rgb[(y - 1) * stride + i] : 0;
      const c = i >= 3 && y > 0 ? rgb[(y - 1) * stride + i - 3] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predict = [0, a, b, (a + b) >> 1, paeth][filter];
      assert.notEqual(predict, undefined, `row ${y} has filter ${filter}`);
      rgb[y * stride + i] = (v + predict) & 0xff;
    }
  }
  return { width, height, at: (x, y) => [...rgb.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)] };
}

// A 24-bit BMP of width x height whose pixel (x, y) is pixelAt(x, y) = [r, g, b].
export function writeBmp(width, height, pixelAt) {
  const row = (width * 3 + 3) & ~3; // rows padded to 4 bytes
  const b = Buffer.alloc(54 + row * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22); // positive: rows bottom-up
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, bl] = pixelAt(x, y);
      const o = 54 + (height - 1 - y) * row + x * 3;
      b[o] = bl;
      b[o + 1] = g;
      b[o + 2] = r;
    }
  }
  return b;
}
