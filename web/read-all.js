// read-all.js: a stream's bytes, read to the end into one ArrayBuffer. No DOM: the page
// (mvb.js, an image address) and the worker (model-fetch.js, the weight shards) share it.
//
//   readAll(reader, {read, onChunk}) -> ArrayBuffer
//     read(reader) -> the next {done, value} (default reader.read(); mvb.js times it out)
//     onChunk(value, total) after each chunk, total counting it (may throw to stop)

export async function readAll(reader, { read = (r) => r.read(), onChunk = () => {} } = {}) {
  const parts = [];
  let total = 0;
  for (;;) {
    const { done, value } = await read(reader);
    if (done) break;
    total += value.byteLength;
    onChunk(value, total);
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}
