// Builds TensorFlow.js graph-model files (model.json + weight shards) by hand, in the
// same JSON conventions as the TensorFlow.js converter's output (see
// ../shared/conformance/seed-inception-v3/model.json): base64 "s" attributes, integer
// lists as decimal strings, batch-norm-free Const nodes whose values live in the
// weightsManifest, uint8 quantization {dtype, min, scale, original_dtype}.

// mulberry32: a tiny PRNG that gives the same stream on every machine and Node version,
// so generated weights and inputs are reproducible without storing them.
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// FNV-1a, to derive a per-model seed from its name.
export function seedFromName(name) {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
const numel = (shape) => shape.reduce((a, b) => a * b, 1);
const dims = (shape) => ({ dim: shape.map((d) => ({ size: String(d) })) });

// Attribute value constructors, named after the AttrValue fields they fill.
export const attr = {
  s: (text) => ({ s: b64(text) }),
  i: (n) => ({ i: String(n) }),
  f: (x) => ({ f: x }),
  b: (v) => ({ b: v }),
  type: (t) => ({ type: t }),
  ints: (list) => ({ list: { i: list.map(String) } }),
  strs: (list) => ({ list: { s: list.map(b64) } }),
  emptyList: () => ({ list: {} }),
};

const DTYPE_ENUM = { float32: 'DT_FLOAT', int32: 'DT_INT32' };

export class GraphBuilder {
  constructor(name) {
    this.name = name;
    this.rand = mulberry32(seedFromName(name));
    this.nodes = [];
    this.weights = []; // {name, shape, dtype, quant, bytes: Buffer}
    this.inputName = null;
    this.inputShape = null;
    this.outputName = null;
  }

  uniform(lo, hi) {
    return lo + (hi - lo) * this.rand();
  }

  input(shape, name = 'input_1') {
    this.inputName = name;
    this.inputShape = shape;
    this.nodes.push({
      name,
      op: 'Placeholder',
      attr: { dtype: attr.type('DT_FLOAT'), shape: { shape: dims([-1, ...shape.slice(1)]) } },
    });
    return name;
  }

  // A float constant with random values in [-amp, amp] (+ offset), stored as
  // `storage`: 'uint8' (the converter's quantization), 'uint16', 'float16' or
  // 'float32' (plain). Returns the Const node's name.
  floatConst(name, shape, { amp = 1, offset = 0, storage = 'uint8' } = {}) {
    const n = numel(shape);
    const lo = offset - amp;
    const hi = offset + amp;
    let bytes;
    let quant;
    if (storage === 'uint8' || storage === 'uint16') {
      const levels = storage === 'uint8' ? 255 : 65535;
      // Round-trip min and scale through float32 as the converter does, so every
      // reader (tfjs, the engine) starts from the same numbers in the JSON.
      const min = Math.fround(lo);
      const scale = Math.fround((hi - lo) / levels);
      const q = storage === 'uint8' ? new Uint8Array(n) : new Uint16Array(n);
      for (let i = 0; i < n; i++) q[i] = Math.floor(this.rand() * (levels + 1));
      bytes = Buffer.from(q.buffer, q.byteOffset, q.byteLength);
      quant = { dtype: storage, min, scale, original_dtype: 'float32' };
    } else if (storage === 'float16') {
      const q = new Uint16Array(n);
      for (let i = 0; i < n; i++) q[i] = float32ToFloat16Bits(this.uniform(lo, hi));
      bytes = Buffer.from(q.buffer);
      quant = { dtype: 'float16', original_dtype: 'float32' };
    } else if (storage === 'float32') {
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = this.uniform(lo, hi);
      bytes = Buffer.from(v.buffer);
    } else {
      throw new Error(`unknown storage ${storage}`);
    }
    return this.addConst(name, shape, 'float32', bytes, quant);
  }

  int32Const(name, shape, values) {
    if (values.length !== numel(shape)) throw new Error(`${name}: ${values.length} values for shape ${shape}`);
    return this.addConst(name, shape, 'int32', Buffer.from(Int32Array.from(values).buffer));
  }

  addConst(name, shape, dtype, bytes, quant) {
    const t = DTYPE_ENUM[dtype];
    this.nodes.push({
      name,
      op: 'Const',
      attr: { dtype: attr.type(t), value: { tensor: { dtype: t, tensorShape: shape.length ? dims(shape) : {} } } },
    });
    const w = { name, shape, dtype };
    if (quant) w.quantization = quant;
    this.weights.push({ entry: w, bytes });
    return name;
  }

  node(op, name, inputs, attrs = {}) {
    const n = { name, op, input: inputs, attr: { T: attr.type('DT_FLOAT'), ...attrs } };
    if (op === 'ConcatV2') n.attr.Tidx = attr.type('DT_INT32');
    this.nodes.push(n);
    return name;
  }

  // The converter always ends with an Identity named "Identity" feeding the signature.
  output(from) {
    this.outputName = this.node('Identity', 'Identity', [from]);
    return this.outputName;
  }

  // The graph-model JSON plus the shard files; weights are split into `groups`
  // manifest groups and each group into shards of at most `shardBytes`.
  serialize({ outputShape, groups = 1, shardBytes = 4194304, reverseNodes = false } = {}) {
    if (!this.inputName || !this.outputName) throw new Error(`${this.name}: no input or output`);
    const perGroup = Math.ceil(this.weights.length / groups) || 1;
    const manifest = [];
    const files = new Map();
    for (let g = 0; g < groups; g++) {
      const ws = this.weights.slice(g * perGroup, (g + 1) * perGroup);
      if (ws.length === 0) continue;
      const data = Buffer.concat(ws.map((w) => w.bytes));
      const count = Math.max(1, Math.ceil(data.length / shardBytes));
      const paths = [];
      for (let s = 0; s < count; s++) {
        const p = `group${g + 1}-shard${s + 1}of${count}.bin`;
        paths.push(p);
        files.set(p, data.subarray(s * shardBytes, (s + 1) * shardBytes));
      }
      manifest.push({ paths, weights: ws.map((w) => w.entry) });
    }
    const sigTensor = (name, shape) => ({ name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: dims(shape) });
    const json = {
      format: 'graph-model',
      generatedBy: '2.4.0',
      convertedBy: 'mountain-vs-beach tests/ops/make-op-models.mjs',
      signature: {
        inputs: { [`${this.inputName}:0`]: sigTensor(this.inputName, [-1, ...this.inputShape.slice(1)]) },
        outputs: { [`${this.outputName}:0`]: sigTensor(this.outputName, outputShape) },
      },
      modelTopology: { node: reverseNodes ? [...this.nodes].reverse() : this.nodes, library: {}, versions: { producer: 561 } },
      weightsManifest: manifest,
    };
    return { json, files };
  }
}

// Round-to-nearest-even float32 -> IEEE half, enough for weights in a sane range.
function float32ToFloat16Bits(value) {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    let h = mant >> shift;
    if ((mant >> (shift - 1)) & 1 && ((mant & ((1 << (shift - 1)) - 1)) || h & 1)) h++;
    return sign | h;
  }
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >> 13);
  if (mant & 0x1000 && (mant & 0xfff || h & 1)) h++;
  return h;
}
