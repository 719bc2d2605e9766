// The op models: one small graph per op and attribute combination the engine must
// support, plus graphs it must refuse. Each case builds its nodes on a GraphBuilder.
//
//   expect: 'match'           the engine must agree with TensorFlow.js
//           'refuse'          the engine must fail to load, naming every string in
//                             `mentions` and at least one of `mentionsAny`
//           'match-or-refuse' either agree with TensorFlow.js or refuse as above (for
//                             features the issue allows the engine to reject)
//   status: how the wasm API says it refuses (a key of web/meta.js's Status):
//           'UNSUPPORTED' (default), or 'SHAPE' for tensors that do not fit together
//   int8:   'match' (default) in int8 precision too, within the int8 tolerance where a
//           convolution or matmul is involved (tests/node/ops.test.mjs says how much)
//           'refuse'          int8 must refuse to load, naming every `int8Mentions`
//   int8Exact: true when int8 rounding loses nothing (int8_* cases are otherwise
//           checked to differ from f32, i.e. that int8 really ran)
import { attr } from './graph-builder.mjs';

const NHWC = () => attr.s('NHWC');

function convAttrs({ stride, padding, dilation = 1, dataFormat = 'NHWC' }) {
  return {
    strides: attr.ints([1, stride, stride, 1]),
    padding: attr.s(padding),
    dilations: attr.ints([1, dilation, dilation, 1]),
    data_format: attr.s(dataFormat),
    explicit_paddings: attr.emptyList(),
  };
}

function fusedAttrs(ops) {
  return { fused_ops: attr.strs(ops), num_args: attr.i(1), epsilon: attr.f(0) };
}

// Weights scaled by 1/sqrt(fan_in) keep activations O(1) through a few layers.
function convWeights(g, name, kh, kw, cin, cout, storage, amp = 1.7 / Math.sqrt(kh * kw * cin)) {
  return g.floatConst(name, [kh, kw, cin, cout], { amp, storage });
}

// _FusedConv2D as the converter writes it (batch norm folded into the bias).
export function fusedConv(g, name, x, o) {
  const { k = [3, 3], cin, cout, ops = ['BiasAdd'], storage = 'uint8', amp, ...geom } = o;
  const w = convWeights(g, `${name}/Conv2D_weights`, k[0], k[1], cin, cout, storage, amp);
  const b = g.floatConst(`${name}/Conv2D_bn_offset`, [cout], { amp: 0.3, storage });
  return g.node('_FusedConv2D', `${name}/${ops[ops.length - 1]}`, [x, w, b], {
    ...convAttrs({ padding: 'SAME', stride: 1, ...geom }),
    use_cudnn_on_gpu: attr.b(true),
    ...fusedAttrs(ops),
  });
}

function conv2d(g, name, x, { k = [3, 3], cin, cout, ...geom }) {
  const w = convWeights(g, `${name}/kernel`, k[0], k[1], cin, cout);
  return g.node('Conv2D', `${name}/Conv2D`, [x, w], {
    ...convAttrs({ padding: 'SAME', stride: 1, ...geom }),
    use_cudnn_on_gpu: attr.b(true),
  });
}

function depthwise(g, name, x, { k = [3, 3], c, ops, ...geom }) {
  // The filter is [kh, kw, in_channels, multiplier] with multiplier 1.
  const w = g.floatConst(`${name}/depthwise_kernel`, [k[0], k[1], c, 1], { amp: 1.7 / Math.sqrt(k[0] * k[1]) });
  const a = convAttrs({ padding: 'SAME', stride: 1, ...geom });
  if (!ops) return g.node('DepthwiseConv2dNative', `${name}/depthwise`, [x, w], a);
  const b = g.floatConst(`${name}/bias`, [c], { amp: 0.3 });
  return g.node('FusedDepthwiseConv2dNative', `${name}/${ops[ops.length - 1]}`, [x, w, b], {
    ...a,
    ...fusedAttrs(ops),
  });
}

function pool(g, op, name, x, { k = 3, stride = 1, padding = 'SAME' }) {
  const a = { ksize: attr.ints([1, k, k, 1]), strides: attr.ints([1, stride, stride, 1]), padding: attr.s(padding), data_format: NHWC() };
  if (op === 'MaxPool') a.explicit_paddings = attr.emptyList();
  return g.node(op, `${name}/${op}`, [x], a);
}

function concat(g, name, inputs, axis) {
  const ax = g.int32Const(`${name}/axis`, [], [axis]);
  return g.node('ConcatV2', `${name}/concat`, [...inputs, ax], { N: attr.i(inputs.length) });
}

function mean(g, name, x, keepDims) {
  const ax = g.int32Const(`${name}/reduction_indices`, [2], [1, 2]);
  return g.node('Mean', `${name}/Mean`, [x, ax], { keep_dims: attr.b(keepDims), Tidx: attr.type('DT_INT32') });
}

function reshape(g, name, x, shape) {
  const s = g.int32Const(`${name}/shape`, [shape.length], shape);
  return g.node('Reshape', `${name}/Reshape`, [x, s], { Tshape: attr.type('DT_INT32') });
}

function matmul(g, name, x, kIn, nOut, { ops, transposeB = false, storage } = {}) {
  const wShape = transposeB ? [nOut, kIn] : [kIn, nOut];
  const w = g.floatConst(`${name}/MatMul/ReadVariableOp`, wShape, { amp: 1.7 / Math.sqrt(kIn), storage });
  const t = { transpose_a: attr.b(false), transpose_b: attr.b(transposeB) };
  if (!ops) return g.node('MatMul', `${name}/MatMul`, [x, w], t);
  const b = g.floatConst(`${name}/BiasAdd/ReadVariableOp`, [nOut], { amp: 0.3, storage });
  return g.node('_FusedMatMul', `${name}/${ops[ops.length - 1]}`, [x, w, b], { ...t, ...fusedAttrs(ops) });
}

const unary = (op) => (g, x) => g.node(op, `model/${op.toLowerCase()}/${op}`, [x]);

// --- the cases --------------------------------------------------------------------------

const conv = (name, input, o) => ({
  name,
  input,
  build: (g, x) => fusedConv(g, 'model/conv', x, { cin: input[3], ...o }),
});

export const cases = [
  // _FusedConv2D: fused ops x padding x stride x odd/even sizes, and kernel shapes.
  conv('fused_conv_bias_same_s1_odd', [1, 9, 9, 3], { cout: 4, ops: ['BiasAdd'] }),
  conv('fused_conv_bias_relu_valid_s1_even', [1, 8, 8, 3], { cout: 5, ops: ['BiasAdd', 'Relu'], padding: 'VALID' }),
  // Relu6 cases get inputs in [-10, 10] so that outputs clamp at 6 as well as at 0.
  { ...conv('fused_conv_bias_relu6_same_s2_even', [1, 8, 8, 3], { cout: 6, ops: ['BiasAdd', 'Relu6'], stride: 2 }), inputScale: 20 },
  conv('fused_conv_bias_relu_same_s2_odd', [1, 9, 9, 3], { cout: 4, ops: ['BiasAdd', 'Relu'], stride: 2 }),
  { ...conv('fused_conv_bias_relu6_valid_s2_odd', [1, 11, 11, 4], { cout: 3, ops: ['BiasAdd', 'Relu6'], padding: 'VALID', stride: 2 }), inputScale: 20 },
  conv('fused_conv_bias_relu_valid_s2_even', [1, 10, 10, 2], { cout: 8, ops: ['BiasAdd', 'Relu'], padding: 'VALID', stride: 2 }),
  conv('fused_conv_1x1_bias_relu', [1, 6, 7, 8], { k: [1, 1], cout: 5, ops: ['BiasAdd', 'Relu'] }),
  conv('fused_conv_1x7_same', [1, 9, 9, 4], { k: [1, 7], cout: 4, ops: ['BiasAdd', 'Relu'] }),
  conv('fused_conv_7x1_same', [1, 9, 9, 4], { k: [7, 1], cout: 4, ops: ['BiasAdd', 'Relu'] }),
  conv('fused_conv_5x5_same_s2_nonsquare', [1, 13, 10, 3], { k: [5, 5], cout: 4, ops: ['BiasAdd'], stride: 2 }),
  conv('fused_conv_float32_weights', [1, 7, 7, 3], { cout: 4, ops: ['BiasAdd', 'Relu'], storage: 'float32' }),
  // Conv2D without fusion.
  { name: 'conv2d_same_s1', input: [1, 7, 7, 3], build: (g, x) => conv2d(g, 'model/conv', x, { cin: 3, cout: 4 }) },
  { name: 'conv2d_valid_s2_even', input: [1, 8, 8, 3], build: (g, x) => conv2d(g, 'model/conv', x, { cin: 3, cout: 4, padding: 'VALID', stride: 2 }) },
  { name: 'conv2d_same_s2_odd', input: [1, 9, 9, 2], build: (g, x) => conv2d(g, 'model/conv', x, { cin: 2, cout: 3, stride: 2 }) },
  // Depthwise, multiplier 1.
  { name: 'depthwise_same_s1', input: [1, 8, 8, 6], build: (g, x) => depthwise(g, 'model/dw', x, { c: 6 }) },
  { name: 'depthwise_valid_s2_odd', input: [1, 9, 9, 4], build: (g, x) => depthwise(g, 'model/dw', x, { c: 4, padding: 'VALID', stride: 2 }) },
  { name: 'depthwise_same_s2_even', input: [1, 8, 8, 5], build: (g, x) => depthwise(g, 'model/dw', x, { c: 5, stride: 2 }) },
  { name: 'fused_depthwise_bias_relu6_same_s1', input: [1, 7, 7, 8], inputScale: 20, build: (g, x) => depthwise(g, 'model/dw', x, { c: 8, ops: ['BiasAdd', 'Relu6'] }) },
  { name: 'fused_depthwise_bias_relu6_same_s2_even', input: [1, 10, 10, 4], inputScale: 20, build: (g, x) => depthwise(g, 'model/dw', x, { c: 4, ops: ['BiasAdd', 'Relu6'], stride: 2 }) },
  { name: 'fused_depthwise_bias_valid_s2_odd', input: [1, 9, 9, 3], build: (g, x) => depthwise(g, 'model/dw', x, { c: 3, ops: ['BiasAdd'], padding: 'VALID', stride: 2 }) },
  { name: 'fused_depthwise_bias_relu_valid_s1', input: [1, 6, 6, 3], build: (g, x) => depthwise(g, 'model/dw', x, { c: 3, ops: ['BiasAdd', 'Relu'], padding: 'VALID' }) },
  // Elementwise.
  {
    name: 'bias_add',
    input: [1, 5, 5, 6],
    build: (g, x) => g.node('BiasAdd', 'model/bias/BiasAdd', [x, g.floatConst('model/bias/b', [6], { amp: 0.5 })], { data_format: NHWC() }),
  },
  // Relu6 and Sigmoid get inputs in [-8, 8] and [-4, 4]: Relu6 clamps on both sides.
  { name: 'relu', input: [1, 4, 5, 3], build: unary('Relu') },
  { name: 'relu6', input: [1, 4, 5, 3], inputScale: 16, build: unary('Relu6') },
  { name: 'sigmoid', input: [1, 4, 5, 3], inputScale: 8, build: unary('Sigmoid') },
  {
    name: 'identity_chain',
    input: [1, 3, 4, 2],
    build: (g, x) => g.node('Identity', 'model/id2', [g.node('Identity', 'model/id1', [x])]),
  },
  {
    name: 'add_two_dynamic',
    input: [1, 6, 6, 4],
    build: (g, x) => g.node('AddV2', 'model/add/add', [fusedConv(g, 'model/conv', x, { cin: 4, cout: 4, ops: ['BiasAdd'] }), x]),
  },
  {
    name: 'add_broadcast_const_channels',
    input: [1, 5, 4, 3],
    build: (g, x) => g.node('AddV2', 'model/add/add', [x, g.floatConst('model/add/y', [3], { amp: 2 })]),
  },
  {
    name: 'add_broadcast_const_1x1x1xc_first',
    input: [1, 5, 4, 3],
    build: (g, x) => g.node('AddV2', 'model/add/add', [g.floatConst('model/add/x', [1, 1, 1, 3], { amp: 2 }), x]),
  },
  // Concat: 2, 3 and 4 inputs on axis 3, and axis -1.
  ...[2, 3, 4].map((n) => ({
    name: `concat_${n}_axis3`,
    input: [1, 5, 5, 3],
    build: (g, x) => {
      const parts = [x];
      for (let i = 1; i < n; i++) parts.push(fusedConv(g, `model/branch${i}`, x, { k: [1, 1], cin: 3, cout: 1 + i, ops: ['BiasAdd', 'Relu'] }));
      return concat(g, 'model/mixed', parts, 3);
    },
  })),
  {
    name: 'concat_2_axis_minus1',
    input: [1, 4, 6, 2],
    build: (g, x) => concat(g, 'model/mixed', [fusedConv(g, 'model/b', x, { k: [1, 1], cin: 2, cout: 3 }), x], -1),
  },
  // Pools. SAME average pooling at the borders is where "padded cells are not
  // counted" differs from a zero-padded average.
  { name: 'avgpool_same_3x3_s1', input: [1, 7, 7, 3], build: (g, x) => pool(g, 'AvgPool', 'model/pool', x, { k: 3 }) },
  { name: 'avgpool_same_3x3_s2_even', input: [1, 8, 8, 3], build: (g, x) => pool(g, 'AvgPool', 'model/pool', x, { k: 3, stride: 2 }) },
  { name: 'avgpool_valid_3x3_s2_odd', input: [1, 9, 9, 2], build: (g, x) => pool(g, 'AvgPool', 'model/pool', x, { k: 3, stride: 2, padding: 'VALID' }) },
  { name: 'avgpool_valid_2x2_s2', input: [1, 8, 6, 3], build: (g, x) => pool(g, 'AvgPool', 'model/pool', x, { k: 2, stride: 2, padding: 'VALID' }) },
  { name: 'maxpool_same_3x3_s2_odd', input: [1, 9, 9, 3], build: (g, x) => pool(g, 'MaxPool', 'model/pool', x, { k: 3, stride: 2 }) },
  { name: 'maxpool_valid_3x3_s2', input: [1, 10, 10, 3], build: (g, x) => pool(g, 'MaxPool', 'model/pool', x, { k: 3, stride: 2, padding: 'VALID' }) },
  { name: 'maxpool_same_2x2_s1', input: [1, 5, 5, 2], build: (g, x) => pool(g, 'MaxPool', 'model/pool', x, { k: 2, stride: 1 }) },
  // All inputs negative: SAME max pooling must pad with -inf, not 0.
  { name: 'maxpool_same_3x3_s2_negative_inputs', input: [1, 7, 7, 2], inputOffset: -1.5, build: (g, x) => pool(g, 'MaxPool', 'model/pool', x, { k: 3, stride: 2 }) },
  // Reductions and shapes.
  { name: 'mean_hw_keepdims_false', input: [1, 5, 6, 4], build: (g, x) => mean(g, 'model/gap', x, false) },
  { name: 'mean_hw_keepdims_true', input: [1, 5, 6, 4], build: (g, x) => mean(g, 'model/gap', x, true) },
  {
    name: 'pad_zero_int32_paddings',
    input: [1, 4, 5, 3],
    build: (g, x) => {
      const p = g.int32Const('model/pad/paddings', [4, 2], [0, 0, 1, 2, 2, 1, 0, 0]);
      return g.node('Pad', 'model/pad/Pad', [x, p], { Tpaddings: attr.type('DT_INT32') });
    },
  },
  {
    name: 'refuse_pad_on_the_batch_axis',
    input: [1, 4, 5, 3],
    expect: 'refuse',
    mentions: ['model/pad/Pad', '2/0 on the batch axis', 'one image at a time'],
    build: (g, x) => {
      const p = g.int32Const('model/pad/paddings', [4, 2], [2, 0, 1, 1, 1, 1, 0, 0]);
      return g.node('Pad', 'model/pad/Pad', [x, p], { Tpaddings: attr.type('DT_INT32') });
    },
  },
  { name: 'reshape_flatten_int32_shape', input: [1, 3, 4, 5], build: (g, x) => reshape(g, 'model/flatten', x, [-1, 60]) },
  {
    name: 'squeeze_hw',
    input: [1, 4, 4, 6],
    build: (g, x) => g.node('Squeeze', 'model/squeeze/Squeeze', [mean(g, 'model/gap', x, true)], { squeeze_dims: attr.ints([1, 2]) }),
  },
  { name: 'softmax', input: [1, 2, 2, 5], inputScale: 6, build: (g, x) => g.node('Softmax', 'model/softmax/Softmax', [reshape(g, 'model/flatten', x, [-1, 20])]) },
  { name: 'matmul', input: [1, 3, 3, 4], build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 36]), 36, 7) },
  { name: 'fused_matmul_bias', input: [1, 3, 3, 4], build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 36]), 36, 5, { ops: ['BiasAdd'] }) },
  { name: 'fused_matmul_bias_relu', input: [1, 3, 3, 4], build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 36]), 36, 9, { ops: ['BiasAdd', 'Relu'] }) },
  {
    name: 'fused_matmul_float32_weights',
    input: [1, 2, 2, 3],
    build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 12]), 12, 4, { ops: ['BiasAdd'], storage: 'float32' }),
  },
  // Small networks chaining many ops; their weights are spread over two manifest
  // groups and many small shards, some weights straddling shard boundaries.
  { name: 'mini_cnn', input: [1, 17, 17, 3], inputScale: 6, build: miniCnn, serialize: { groups: 2, shardBytes: 700 } },
  { name: 'mini_inception_head', input: [1, 12, 12, 3], build: miniInceptionHead, serialize: { groups: 1, shardBytes: 1000 } },

  // Cases for int8 precision (every case above runs in int8 too, but reads fewer than
  // 64 channels, so stays f32): long dot products, 1x1 convolutions (run as matmuls),
  // a filter of zeros (every channel's scale would be 0), an Inception block whose
  // branches share one quantized input, and a matmul whose dot products are longer than
  // int8's int32 accumulator holds (132104 terms): fine in f32, refused in int8 naming
  // the weight.
  conv('int8_conv_3x3_k576', [1, 8, 8, 64], { cout: 16, ops: ['BiasAdd', 'Relu'] }),
  conv('int8_conv_1x1_96_to_32', [1, 7, 7, 96], { k: [1, 1], cout: 32, ops: ['BiasAdd'] }),
  conv('int8_conv_1x1_s2_64', [1, 8, 8, 64], { k: [1, 1], cout: 16, ops: ['BiasAdd', 'Relu'], stride: 2 }),
  conv('int8_conv_1x7_64', [1, 9, 9, 64], { k: [1, 7], cout: 16, ops: ['BiasAdd', 'Relu'] }),
  { ...conv('int8_conv_relu6_valid_s2_64', [1, 11, 11, 64], { cout: 8, ops: ['BiasAdd', 'Relu6'], padding: 'VALID', stride: 2 }), inputScale: 20 },
  { ...conv('int8_conv_zero_filter', [1, 5, 5, 64], { cout: 4, ops: ['BiasAdd'], storage: 'float32', amp: 0 }), int8Exact: true },
  { name: 'int8_inception_block_64', input: [1, 9, 9, 64], build: int8InceptionBlock },
  { name: 'int8_matmul_k2048', input: [1, 4, 4, 128], build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 2048]), 2048, 10, { ops: ['BiasAdd'] }) },
  {
    name: 'int8_refuse_matmul_k132105',
    input: [1, 1, 1, 132105],
    int8: 'refuse',
    int8Mentions: ['model/dense/MatMul/ReadVariableOp', '132105'],
    build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 132105]), 132105, 1),
  },

  // Features the engine once refused and now supports: each must match TensorFlow.js (a
  // return to refusing them is a regression, not an allowed outcome).
  { ...conv('conv_dilations_2', [1, 9, 9, 2], { cout: 3, ops: ['BiasAdd'], dilation: 2 }) },
  { ...conv('conv_uint16_weights', [1, 6, 6, 3], { cout: 4, ops: ['BiasAdd'], storage: 'uint16' }) },
  { ...conv('conv_float16_weights', [1, 6, 6, 3], { cout: 4, ops: ['BiasAdd'], storage: 'float16' }) },
  { name: 'matmul_transpose_b', input: [1, 2, 2, 3], build: (g, x) => matmul(g, 'model/dense', reshape(g, 'model/flatten', x, [-1, 12]), 12, 4, { transposeB: true }) },
  { name: 'add_scalar_const', input: [1, 3, 3, 2], build: (g, x) => g.node('AddV2', 'model/add/add', [x, g.floatConst('model/add/y', [], { amp: 1 })]) },
  // The converter writes nodes in topological order, but the format does not promise it.
  { name: 'mini_cnn_nodes_reversed', input: [1, 17, 17, 3], inputScale: 6, build: miniCnn, serialize: { reverseNodes: true } },
  { name: 'avgpool_same_5x5_s1', input: [1, 6, 6, 2], build: (g, x) => pool(g, 'AvgPool', 'model/pool', x, { k: 5 }) },

  // Features the engine may support or refuse, never get silently wrong.
  { ...conv('maybe_fused_conv_bias_leakyrelu', [1, 6, 6, 2], { cout: 3, ops: ['BiasAdd', 'LeakyRelu'] }), mentions: ['model/conv/LeakyRelu'], mentionsAny: ['LeakyRelu'] },

  // Graphs the engine must refuse at load time.
  { name: 'refuse_unknown_op_erf', input: [1, 3, 3, 2], expect: 'refuse', mentions: ['model/erf/Erf', 'Erf'], build: unary('Erf') },
  {
    name: 'refuse_fused_conv_nchw',
    input: [1, 3, 6, 6],
    expect: 'refuse',
    mentions: ['model/conv/BiasAdd'],
    mentionsAny: ['NCHW', 'data_format'],
    build: (g, x) => fusedConv(g, 'model/conv', x, { cin: 3, cout: 4, ops: ['BiasAdd'], dataFormat: 'NCHW' }),
  },
  {
    name: 'refuse_fused_conv_unknown_fused_op',
    input: [1, 5, 5, 2],
    expect: 'refuse',
    mentions: ['model/conv/Gelu'],
    mentionsAny: ['Gelu', 'fused_ops'],
    build: (g, x) => fusedConv(g, 'model/conv', x, { cin: 2, cout: 3, ops: ['BiasAdd', 'Gelu'] }),
  },
  // A filter made for another number of input channels than its input has.
  {
    name: 'refuse_conv_filter_for_4_channels_on_3',
    input: [1, 5, 5, 3],
    expect: 'refuse',
    status: 'SHAPE',
    mentions: ['model/conv/Conv2D', 'model/conv/kernel', 'expects 4 input channels', 'the input has 3'],
    build: (g, x) => conv2d(g, 'model/conv', x, { cin: 4, cout: 2 }),
  },
  {
    name: 'refuse_depthwise_filter_for_4_channels_on_3',
    input: [1, 5, 5, 3],
    expect: 'refuse',
    status: 'SHAPE',
    mentions: ['model/dw/depthwise', 'model/dw/depthwise_kernel', 'expects 4 input channels', 'the input has 3'],
    build: (g, x) => depthwise(g, 'model/dw', x, { c: 4 }),
  },
];

for (const c of cases) {
  c.expect ??= c.name.startsWith('maybe_') ? 'match-or-refuse' : 'match';
  c.status ??= 'UNSUPPORTED';
  if (c.expect === 'match-or-refuse') c.mentions ??= [];
}

function miniCnn(g, x) {
  const stem = fusedConv(g, 'model/stem', x, { cin: 3, cout: 8, stride: 2, ops: ['BiasAdd', 'Relu6'] }); // 9x9x8
  const dw = depthwise(g, 'model/block/dw', stem, { c: 8, ops: ['BiasAdd', 'Relu6'] });
  const proj = fusedConv(g, 'model/block/project', dw, { k: [1, 1], cin: 8, cout: 8, ops: ['BiasAdd'] });
  const res = g.node('AddV2', 'model/block/add', [proj, stem]);
  const p = g.int32Const('model/pad/paddings', [4, 2], [0, 0, 1, 1, 1, 1, 0, 0]);
  const padded = g.node('Pad', 'model/pad/Pad', [res, p], { Tpaddings: attr.type('DT_INT32') }); // 11x11x8
  const a = pool(g, 'MaxPool', 'model/reduce/max', padded, { k: 3, stride: 2, padding: 'VALID' }); // 5x5x8
  const b = fusedConv(g, 'model/reduce/conv', padded, { cin: 8, cout: 6, stride: 2, padding: 'VALID', ops: ['BiasAdd', 'Relu'] });
  const c = pool(g, 'AvgPool', 'model/reduce/avg', padded, { k: 3, stride: 2, padding: 'VALID' });
  const cat = concat(g, 'model/reduce', [a, b, c], 3); // 5x5x22
  const pw = conv2d(g, 'model/pw', cat, { k: [1, 1], cin: 22, cout: 16 });
  const pwb = g.node('BiasAdd', 'model/pw/BiasAdd', [pw, g.floatConst('model/pw/bias', [16], { amp: 0.3 })], { data_format: NHWC() });
  const pwr = g.node('Relu', 'model/pw/Relu', [pwb]);
  const gap = mean(g, 'model/gap', pwr, false); // [1,16]
  const h = matmul(g, 'model/dense', gap, 16, 12, { ops: ['BiasAdd', 'Relu'] });
  const logits = matmul(g, 'model/logits', h, 12, 4);
  const shifted = g.node('AddV2', 'model/logits/add', [logits, g.floatConst('model/logits/bias', [4], { amp: 0.5 })]);
  return g.node('Softmax', 'model/softmax/Softmax', [shifted]);
}

// An Inception block on 64 channels: two 1x1 branches (matmuls sharing one per-pixel
// quantized input), a 1x1 -> 3x3 branch (the 3x3 quantized per image), AvgPool -> 1x1.
function int8InceptionBlock(g, x) {
  const b1 = fusedConv(g, 'model/mixed/b1', x, { k: [1, 1], cin: 64, cout: 16, ops: ['BiasAdd', 'Relu'] });
  const b2a = fusedConv(g, 'model/mixed/b2a', x, { k: [1, 1], cin: 64, cout: 64, ops: ['BiasAdd', 'Relu'] });
  const b2 = fusedConv(g, 'model/mixed/b2b', b2a, { k: [3, 3], cin: 64, cout: 16, ops: ['BiasAdd', 'Relu'] });
  const p = pool(g, 'AvgPool', 'model/mixed/pool', x, { k: 3 });
  const b3 = fusedConv(g, 'model/mixed/b3', p, { k: [1, 1], cin: 64, cout: 8, ops: ['BiasAdd', 'Relu'] });
  return concat(g, 'model/mixed', [b1, b2, b3], 3);
}

// The original model's shape in miniature: stride-2 VALID stem, an Inception block
// with SAME AvgPool, Flatten, Dense + ReLU, Dense, Sigmoid.
function miniInceptionHead(g, x) {
  const stem = fusedConv(g, 'model/conv2d', x, { cin: 3, cout: 8, stride: 2, padding: 'VALID', ops: ['BiasAdd', 'Relu'] }); // 5x5x8
  const b1 = fusedConv(g, 'model/mixed0/b1', stem, { k: [1, 1], cin: 8, cout: 4, ops: ['BiasAdd', 'Relu'] });
  const b2a = fusedConv(g, 'model/mixed0/b2a', stem, { k: [1, 1], cin: 8, cout: 3, ops: ['BiasAdd', 'Relu'] });
  const b2 = fusedConv(g, 'model/mixed0/b2b', b2a, { k: [1, 7], cin: 3, cout: 4, ops: ['BiasAdd', 'Relu'] });
  const b3 = fusedConv(g, 'model/mixed0/b3', stem, { k: [3, 3], cin: 8, cout: 4, ops: ['BiasAdd', 'Relu'] });
  const p = pool(g, 'AvgPool', 'model/mixed0/pool', stem, { k: 3 });
  const b4 = fusedConv(g, 'model/mixed0/b4', p, { k: [1, 1], cin: 8, cout: 2, ops: ['BiasAdd', 'Relu'] });
  const cat = concat(g, 'model/mixed0', [b1, b2, b3, b4], 3); // 5x5x14
  const flat = reshape(g, 'model/flatten', cat, [-1, 350]);
  const d = matmul(g, 'model/dense', flat, 350, 16, { ops: ['BiasAdd', 'Relu'] });
  const logit = matmul(g, 'model/dense_1', d, 16, 1, { ops: ['BiasAdd'] });
  return g.node('Sigmoid', 'model/dense_1/Sigmoid', [logit]);
}
