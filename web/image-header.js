// image-header.js: an encoded image's format and size from its header bytes, before
// anything decodes it (the C side's container inspectors do the same for the formats the
// engine decodes; this reads the ones only the browser can). No DOM: the worker and Node
// import it.
//
//   imageHeader(bytes) -> {format, width, height}   size read from the header
//                       | {format}                  the format, but no size in these bytes
//                       | null                      no format this module knows

const u16be = (b, i) => (b[i] << 8) | b[i + 1];
const u16le = (b, i) => b[i] | (b[i + 1] << 8);
const u24le = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32be = (b, i) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const u32le = (b, i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const ascii = (b, i, n) => String.fromCharCode(...b.subarray(i, i + n));

function png(b) {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') return { format: 'png' };
  return { format: 'png', width: u32be(b, 16), height: u32be(b, 20) };
}

// Walks the markers up to the first start-of-frame; EXIF rotation does not change the
// pixel count.
function jpeg(b) {
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return { format: 'jpeg' };
    const marker = b[i + 1];
    if (marker === 0xff) { i++; continue; } // fill byte
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) { i += 2; continue; } // no length
    if (marker === 0xd9 || marker === 0xda) return { format: 'jpeg' }; // end or scan before a frame
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (i + 9 > b.length) return { format: 'jpeg' };
      return { format: 'jpeg', width: u16be(b, i + 7), height: u16be(b, i + 5) };
    }
    i += 2 + u16be(b, i + 2);
  }
  return { format: 'jpeg' };
}

// The logical screen, grown to the first frame if that frame reaches past it.
function gif(b) {
  if (b.length < 13) return { format: 'gif' };
  let width = u16le(b, 6);
  let height = u16le(b, 8);
  let i = 13 + (b[10] & 0x80 ? 3 << ((b[10] & 7) + 1) : 0);
  while (i < b.length) {
    if (b[i] === 0x21) { // extension: label, then sub-blocks up to a 0
      i += 2;
      while (i < b.length && b[i] !== 0) i += b[i] + 1;
      i++;
    } else if (b[i] === 0x2c && i + 9 <= b.length) {
      width = Math.max(width, u16le(b, i + 1) + u16le(b, i + 5));
      height = Math.max(height, u16le(b, i + 3) + u16le(b, i + 7));
      break;
    } else {
      break;
    }
  }
  return { format: 'gif', width, height };
}

function bmp(b) {
  if (b.length < 26) return { format: 'bmp' };
  const header = u32le(b, 14);
  if (header === 12) return { format: 'bmp', width: u16le(b, 18), height: u16le(b, 20) };
  const signed = (v) => (v | 0);
  return { format: 'bmp', width: Math.abs(signed(u32le(b, 18))), height: Math.abs(signed(u32le(b, 22))) };
}

function webp(b) {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ' && b.length >= 30) return { format: 'webp', width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  if (chunk === 'VP8L' && b.length >= 25) {
    const bits = u32le(b, 21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X' && b.length >= 30) return { format: 'webp', width: u24le(b, 24) + 1, height: u24le(b, 27) + 1 };
  return { format: 'webp' };
}

// AVIF and HEIC (ISO BMFF): every 'ispe' (image spatial extent) property in
// meta/iprp/ipco; the largest one bounds what the browser will decode (a grid's own
// extent included).
function isobmff(b, format) {
  let best = null;
  const walk = (start, end, depth) => {
    for (let i = start; i + 8 <= end && depth < 4;) {
      let size = u32be(b, i);
      const type = ascii(b, i + 4, 4);
      let body = i + 8;
      if (size === 1 && i + 16 <= end) { size = u32be(b, i + 8) * 2 ** 32 + u32be(b, i + 12); body = i + 16; }
      if (size === 0) size = end - i;
      if (size < body - i) return;
      const next = Math.min(end, i + size);
      if (type === 'meta') walk(body + 4, next, depth + 1); // a full box: version and flags first
      else if (type === 'iprp' || type === 'ipco') walk(body, next, depth + 1);
      else if (type === 'ispe' && body + 12 <= next) {
        const width = u32be(b, body + 4);
        const height = u32be(b, body + 8);
        if (!best || width * height > best.width * best.height) best = { width, height };
      }
      i = next;
    }
  };
  walk(0, b.length, 0);
  return best ? { format, ...best } : { format };
}

export function imageHeader(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 12) return null;
  if (u32be(b, 0) === 0x89504e47 && u32be(b, 4) === 0x0d0a1a0a) return png(b);
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpeg(b);
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return gif(b);
  if (b[0] === 0x42 && b[1] === 0x4d) return bmp(b);
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return webp(b);
  if (ascii(b, 4, 4) === 'ftyp') {
    // The major brand, then the compatible ones (after the minor version).
    const end = Math.min(b.length, u32be(b, 0));
    const brands = [ascii(b, 8, 4)];
    for (let i = 16; i + 4 <= end; i += 4) brands.push(ascii(b, i, 4));
    if (brands.some((x) => x === 'avif' || x === 'avis')) return isobmff(b, 'avif');
    if (brands.some((x) => /^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(x))) return isobmff(b, 'heic');
  }
  return null;
}
