// model-fetch.js: downloads model.json and its weight shards, reporting bytes done/total
// from the fetch streams (the total comes from each shard's Content-Length: bytes over the
// network, compressed ones for a .gz shard).
import { MvbError, Status } from './engine.js';
import { BROWSERS_NEEDED } from './meta.js';
import { readAll } from './read-all.js';

async function get(url) {
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new MvbError(Status.IO, `cannot download ${url}: ${e.message} (are you offline?)`);
  }
  if (!res.ok) throw new MvbError(Status.IO, `cannot download ${url}: HTTP ${res.status}`);
  return res;
}

// Shard paths in manifest order: groups in order, paths in order (what mvbw_load expects).
function shardUrls(json, modelUrl) {
  const groups = json.weightsManifest;
  if (!Array.isArray(groups)) throw new MvbError(Status.MODEL_FORMAT, 'model.json has no weightsManifest');
  const urls = [];
  for (const g of groups) {
    for (const p of g.paths || []) urls.push(new URL(p, modelUrl).href);
  }
  return urls;
}

// The shard's bytes; onChunk counts what came over the network. A shard whose path ends in
// .gz (the build stores them gzip-compressed: web/tools/compress.mjs) is inflated here,
// unless the host sent it with a Content-Encoding (then the browser already did).
async function readShard(res, url, onChunk) {
  const gz = new URL(url).pathname.endsWith('.gz') && !res.headers.get('content-encoding');
  if (gz && typeof DecompressionStream !== 'function') {
    throw new MvbError(Status.UNSUPPORTED, `this browser cannot unpack the model's compressed files (no DecompressionStream; needs ${BROWSERS_NEEDED})`);
  }
  if (!res.body || !res.body.getReader) {
    const buf = await res.arrayBuffer();
    onChunk(buf.byteLength);
    return gz ? new Response(new Blob([buf]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer() : buf;
  }
  let body = res.body.pipeThrough(new TransformStream({
    transform(chunk, out) { onChunk(chunk.length); out.enqueue(chunk); },
  }));
  if (gz) body = body.pipeThrough(new DecompressionStream('gzip'));
  return readAll(body.getReader());
}

export async function fetchModel(modelUrl, onProgress = () => {}) {
  modelUrl = new URL(modelUrl, globalThis.location ? globalThis.location.href : undefined).href;
  const jsonText = await (await get(modelUrl)).text();
  let json;
  try {
    json = JSON.parse(jsonText);
  } catch (e) {
    throw new MvbError(Status.MODEL_FORMAT, `${modelUrl} is not valid JSON: ${e.message}`);
  }
  const urls = shardUrls(json, modelUrl);
  // Start every download, then add up the sizes the headers announce.
  const responses = await Promise.all(urls.map(get));
  // A compressed response's Content-Length counts compressed bytes, not what the stream yields.
  const lengths = responses.map((r) => (r.headers.get('content-encoding') ? 0 : Number(r.headers.get('content-length')) || 0));
  const known = lengths.every((n) => n > 0);
  const total = known ? lengths.reduce((a, b) => a + b, 0) : 0; // 0 = unknown
  let loaded = 0;
  onProgress(0, total);
  const shards = await Promise.all(responses.map((r, i) => readShard(r, urls[i], (n) => {
    loaded += n;
    onProgress(loaded, total);
  })));
  onProgress(loaded, known ? total : loaded);
  return { jsonText, shards, bytes: loaded };
}
