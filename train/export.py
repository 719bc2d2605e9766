"""Export a trained checkpoint to a TensorFlow.js graph model in weights/.

    /usr/bin/python3 train/export.py --checkpoint train/runs/NAME/final.pt
        [--out weights] [--temperature T | --calibrate] [--data ../shared/data]
        [--checkpoint OTHER.pt ...]   # an ensemble in one graph: the mean of the logits

The graph (NHWC) uses only: Placeholder, Const, _FusedConv2D (batch norm
folded in; fused BiasAdd or BiasAdd+Relu; padding SAME, which is what the
network computes, see model.py), AddV2, Relu, Mean (axes [1,2]),
_FusedMatMul, Softmax, Identity, and for an ensemble ConcatV2 (the members'
last feature maps, side by side, under one head). The head keeps the exported classes' rows
(beach, mountain, neither; the auxiliary glacier row is dropped), divided by
the calibration temperature, so the output is the calibrated softmax.
model.json's "mvb" key says so ("outputs") and carries the verdict rules
("verdict") that the engine applies.

Weights: one group, every float tensor uint8-quantized per tensor the way
tfjs-converter does it (range widened to include 0, min nudged so that 0 is
exactly representable; value = min + scale * byte); int32 tensors raw;
shards of at most 4,194,304 bytes named group1-shard{i}of{n}.bin.
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import verdict  # noqa: E402
from model import BEACH, EXPORTED, MOUNTAIN, NEITHER, BasicBlock, Ensemble, Net, quantization_grid  # noqa: E402

SHARD_BYTES = 4194304
OUTPUT = "Identity:0"
HEATMAP = "heatmap:0"


def b64(s):
    return base64.b64encode(s.encode("ascii")).decode("ascii")


def load_net(checkpoint, levels=None):
    """The checkpoint's network, its convolutions' weights on `levels` per
    tensor (None: those it was trained for, see weight_levels)."""
    ck = torch.load(checkpoint, map_location="cpu")
    net = Net(ck["widths"], ck["blocks"], stem=ck.get("stem", 32))
    net.load_state_dict(ck["model"])
    net.quantize_weights(weight_levels(ck) if levels is None else levels)
    net.eval()
    return net, ck


def weight_levels(ck):
    """The quantization levels per tensor of the convolutions' weights the
    checkpoint was trained for (train.py --weight-levels); 0 = not trained
    for any (exported as plain uint8, 256 levels)."""
    return ck.get("args", {}).get("weight_levels") or 0


def fold(cb):
    """ConvBN -> (HWIO weight, bias) float32 with the batch norm folded in."""
    with torch.no_grad():
        w, b = cb.folded(torch.float64)
    return w.permute(2, 3, 1, 0).numpy().astype(np.float32), b.numpy().astype(np.float32)


def quantize_uint8(a, levels=256):
    """tfjs-converter's affine uint8 quantization of one tensor
    (model.quantization_grid; value = min + scale * byte), on `levels`
    of the 256 byte values. (Shrinking the range to clip outliers,
    MSE-optimally, was measured to make the output error larger here, so the
    full range is kept.)"""
    lo, scale = quantization_grid(float(a.min()), float(a.max()), levels)
    q = np.clip(np.rint((a.astype(np.float64) - lo) / scale), 0, levels - 1).astype(np.uint8)
    return q, {"dtype": "uint8", "min": lo, "scale": scale, "original_dtype": "float32"}


class GraphBuilder:
    def __init__(self):
        self.nodes, self.weights = [], []  # weights: (name, array, quantization levels)

    def const(self, name, array, levels=256):
        dtype = "DT_INT32" if array.dtype == np.int32 else "DT_FLOAT"
        shape = {"dim": [{"size": str(d)} for d in array.shape]} if array.ndim else {}
        self.nodes.append({"name": name, "op": "Const", "attr": {
            "value": {"tensor": {"dtype": dtype, "tensorShape": shape}},
            "dtype": {"type": dtype}}})
        self.weights.append((name, array, levels))
        return name

    def conv(self, name, x, cb):
        w, b = fold(cb)
        ops = ["BiasAdd", "Relu"] if cb.relu else ["BiasAdd"]
        s = str(cb.stride)
        self.nodes.append({
            "name": name, "op": "_FusedConv2D",
            "input": [x, self.const(name + "/weights", w, cb.levels or 256),
                      self.const(name + "/bias", b)],
            "device": "/device:CPU:0",
            "attr": {
                "T": {"type": "DT_FLOAT"},
                "data_format": {"s": b64("NHWC")},
                "strides": {"list": {"i": ["1", s, s, "1"]}},
                "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
                "padding": {"s": b64("SAME")},
                "explicit_paddings": {"list": {}},
                "use_cudnn_on_gpu": {"b": True},
                "num_args": {"i": "1"},
                "epsilon": {"f": 0},
                "fused_ops": {"list": {"s": [b64(o) for o in ops]}},
            }})
        return name

    def op(self, name, op, inputs, attr):
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name


def conv_names(net, prefix=""):
    """[(graph node name, ConvBN)] of every convolution, in graph order: the
    names build_graph gives them (and unfold.py reads them back by).
    prefix: "" for a single network, "mK/" for member K of an ensemble."""
    out = [(prefix + "stem/conv%d" % i, cb) for i, cb in enumerate(net.stem)]
    for i, block in enumerate(net.layers):
        p = prefix + "block%d" % i
        out += [(p + "/conv1", block.conv1), (p + "/conv2", block.conv2)]
        if block.shortcut is not None:
            out.append((p + "/shortcut", block.shortcut))
    return out


def member_prefixes(count):
    """Graph name prefixes of an ensemble's `count` members ("" for a single
    network, so that its graph is exactly the one-network export)."""
    return [""] if count == 1 else ["m%d/" % k for k in range(count)]


F32 = {"T": {"type": "DT_FLOAT"}}


def build_trunk(g, net, x, prefix):
    """The network up to its last feature map (stem and blocks); returns
    that node's name."""
    name = {id(cb): n for n, cb in conv_names(net, prefix)}
    for cb in net.stem:
        x = g.conv(name[id(cb)], x, cb)
    for i, block in enumerate(net.layers):
        assert isinstance(block, BasicBlock)
        p = prefix + "block%d" % i
        y = g.conv(name[id(block.conv1)], x, block.conv1)
        y = g.conv(name[id(block.conv2)], y, block.conv2)
        skip = x if block.shortcut is None else g.conv(name[id(block.shortcut)], x, block.shortcut)
        y = g.op(p + "/add", "AddV2", [y, skip], F32)
        x = g.op(p + "/relu", "Relu", [y], F32)
    return x


def ensemble_head(nets):
    """(weight (classes, features), bias) of one linear head over the members'
    concatenated features that gives the mean of their logits."""
    k = len(EXPORTED)
    w = torch.cat([n.fc.weight.detach().double()[:k] for n in nets], dim=1) / len(nets)
    b = torch.stack([n.fc.bias.detach().double()[:k] for n in nets]).mean(dim=0)
    return w, b


def build_graph(nets, size, temperature):
    """nets: one network, or an ensemble's members (each its own trunk on the
    same input, the last feature maps concatenated, one head: the mean of
    the members' logits)."""
    g = GraphBuilder()
    g.nodes.append({"name": "input", "op": "Placeholder", "attr": {
        "dtype": {"type": "DT_FLOAT"},
        "shape": {"shape": {"dim": [{"size": "-1"}, {"size": str(size)}, {"size": str(size)}, {"size": "3"}]}}}})
    maps = [build_trunk(g, net, "input", p) for net, p in zip(nets, member_prefixes(len(nets)))]
    x = maps[0]
    if len(maps) > 1:
        x = g.op("ensemble/concat", "ConcatV2",
                 maps + [g.const("ensemble/axis", np.array(3, dtype=np.int32))],
                 {"T": {"type": "DT_FLOAT"}, "Tidx": {"type": "DT_INT32"}, "N": {"i": str(len(maps))}})
    features = x
    axes = g.const("pool/axes", np.array([1, 2], dtype=np.int32))
    x = g.op("pool/mean", "Mean", [x, axes],
             {"T": {"type": "DT_FLOAT"}, "Tidx": {"type": "DT_INT32"}, "keep_dims": {"b": False}})
    w, b = ensemble_head(nets)
    head_w = (w / temperature).t().numpy().astype(np.float32)
    head_b = (b / temperature).numpy().astype(np.float32)
    x = g.op("head/logits", "_FusedMatMul",
             [x, g.const("head/weights", head_w), g.const("head/bias", head_b)],
             {"T": {"type": "DT_FLOAT"}, "transpose_a": {"b": False}, "transpose_b": {"b": False},
              "num_args": {"i": "1"}, "epsilon": {"f": 0},
              "fused_ops": {"list": {"s": [b64("BiasAdd")]}}})
    x = g.op("head/softmax", "Softmax", [x], F32)
    g.op("Identity", "Identity", [x], F32)
    # Class activation maps: the head applied at every cell of the last
    # feature map (a 1x1 convolution with the head's weights, no bias), so
    # that the logits are the maps' means plus the bias: the map shows
    # exactly where each class's evidence lies.
    cam = g.const("cam/weights", head_w.reshape(1, 1, *head_w.shape))
    g.op("cam/conv", "Conv2D", [features, cam], {
        "T": {"type": "DT_FLOAT"}, "data_format": {"s": b64("NHWC")},
        "strides": {"list": {"i": ["1", "1", "1", "1"]}},
        "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
        "padding": {"s": b64("VALID")}, "explicit_paddings": {"list": {}},
        "use_cudnn_on_gpu": {"b": True}})
    g.op("heatmap", "Identity", ["cam/conv"], F32)
    return g


def write_model(g, out_dir, size, mean, std, extra_mvb=None, quantize=True, float_bias=False,
                outputs=1, grid=0):
    """Quantizes (unless quantize is False: float32 weights, for tests;
    float_bias keeps the 1-D bias tensors float32, as tfjs-converter does
    when told to quantize only some tensors),
    writes model.json and shards (each shard's SHA-256 in "mvb".shards,
    which the engine checks); returns the shard paths."""
    import hashlib

    os.makedirs(out_dir, exist_ok=True)
    manifest, blobs = [], []
    for name, a, levels in g.weights:
        entry = {"name": name, "shape": list(a.shape), "dtype": "int32" if a.dtype == np.int32 else "float32"}
        if a.dtype == np.int32:
            blobs.append(a.astype("<i4").tobytes())
        elif not quantize or (float_bias and a.ndim == 1):
            blobs.append(a.astype("<f4").tobytes())
        else:
            q, meta = quantize_uint8(a, levels)
            entry["quantization"] = meta
            blobs.append(q.tobytes())
        manifest.append(entry)
    blob = b"".join(blobs)
    n = max(1, -(-len(blob) // SHARD_BYTES))
    paths = ["group1-shard%dof%d.bin" % (i + 1, n) for i in range(n)]
    for old in os.listdir(out_dir):
        if old.startswith("group1-shard") and old.endswith(".bin") and old not in paths:
            os.remove(os.path.join(out_dir, old))
    digests = {}
    for i, p in enumerate(paths):
        shard = blob[i * SHARD_BYTES:(i + 1) * SHARD_BYTES]
        with open(os.path.join(out_dir, p), "wb") as f:
            f.write(shard)
        digests[p] = {"sha256": hashlib.sha256(shard).hexdigest()}
    tshape = lambda dims: {"dim": [{"size": str(d)} for d in dims]}
    mvb = {"preprocess": {"size": [size, size], "resize": "bilinear-antialias",
                          "mean": list(mean), "std": list(std)}}
    mvb.update(extra_mvb or {})
    mvb["shards"] = digests
    model = {
        "format": "graph-model",
        "generatedBy": "mountain-vs-beach train/export.py (PyTorch %s)" % torch.__version__,
        "convertedBy": "mountain-vs-beach train/export.py",
        "signature": {
            "inputs": {"input:0": {"name": "input:0", "dtype": "DT_FLOAT", "tensorShape": tshape([-1, size, size, 3])}},
            "outputs": dict({OUTPUT: {"name": OUTPUT, "dtype": "DT_FLOAT", "tensorShape": tshape([-1, outputs])}},
                            **({HEATMAP: {"name": HEATMAP, "dtype": "DT_FLOAT",
                                          "tensorShape": tshape([-1, grid, grid, outputs])}} if grid else {})),
        },
        "modelTopology": {"node": g.nodes, "library": {}, "versions": {"producer": 1395}},
        "weightsManifest": [{"paths": paths, "weights": manifest}],
        "mvb": mvb,
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")
    return [os.path.join(out_dir, p) for p in paths]


@torch.no_grad()
def logits_of(net, images_u8, batch=256):
    """(N, len(EXPORTED)) logits of the exported classes, float64."""
    out = []
    for i in range(0, len(images_u8), batch):
        out.append(net(data.to_input(images_u8[i:i + batch]))[:, :len(EXPORTED)])
    return torch.cat(out).double()


def fit_temperature(z, y):
    """The T minimizing the log loss of softmax(z / T) over the exported
    classes (grid, then refine). y: class indices."""
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    nll = lambda t: torch.nn.functional.cross_entropy(z / t, y).item()
    grid = np.exp(np.linspace(np.log(0.2), np.log(5.0), 161))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.97, best * 1.03, 61)
    return float(min(fine, key=nll))


def fit_unsure_above(z, rows, t, neither_above, budget):
    """The lowest P(neither) threshold (in [0.15, neither_above]) that makes at
    most `budget` of the calib beach/mountain photos 'not sure'."""
    p = torch.softmax(z / t, dim=1)[:, NEITHER].numpy()
    bm = p[np.array([r["y"] in (BEACH, MOUNTAIN) for r in rows])]
    u = float(np.clip(np.quantile(bm, 1.0 - budget), 0.15, neither_above))
    print("unsure_above %.4f: %.1f%% of %d calib beach/mountain photos above it"
          % (u, 100 * np.mean(bm > u), len(bm)))
    return round(u, 4)


def heatmap_grid(net, size):
    """The side of the last feature map for a size x size input."""
    with torch.no_grad():
        return int(net.layers(net.stem(torch.zeros(1, 3, size, size))).shape[2])


def calibration_rows(data_dir):
    return [r for r in data.read_manifest(data_dir)
            if r["part"] == "calib" and r["y"] in (BEACH, MOUNTAIN, NEITHER)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", required=True,
                   help="a trained network; given more than once, an ensemble: one graph that "
                        "runs each and outputs the mean of their logits")
    p.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "weights"))
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--calibrate", action="store_true",
                   help="fit the temperature on the calib slice of --data (held out of training)")
    p.add_argument("--data", default=os.path.join(os.path.dirname(HERE), "..", "shared", "data"))
    p.add_argument("--float", action="store_true", help="float32 weights (tests only; 4x larger)")
    p.add_argument("--float-bias", action="store_true",
                   help="keep biases float32 (a few KB): halves the quantization error of the score")
    p.add_argument("--mountain-above", type=float, default=verdict.DEFAULTS["mountain_above"])
    p.add_argument("--beach-below", type=float, default=verdict.DEFAULTS["beach_below"])
    p.add_argument("--neither-above", type=float, default=verdict.DEFAULTS["neither_above"])
    p.add_argument("--unsure-above", type=float, default=None,
                   help="P(neither) above which (and not neither) the verdict is not sure; "
                        "default: --neither-above (no such band), or fitted by --calibrate")
    p.add_argument("--unsure-budget", type=float, default=0.02,
                   help="--calibrate: unsure_above is set so that this share of the calib "
                        "slice's beach and mountain photos are made 'not sure' by P(neither)")
    p.add_argument("--precision", choices=["f32", "int8"], default=None,
                   help="the arithmetic the engine runs the model in unless told otherwise "
                        "(model.json mvb.precision; f32 without it): choose int8 only after "
                        "train/evaluate.py --precision int8 has measured it against f32")
    p.add_argument("--weight-levels", type=int, default=None,
                   help="the convolutions' weights on this many of the 256 byte values per tensor "
                        "(fewer gzip smaller; 0 = all 256); default: the levels the checkpoint "
                        "was trained for (train.py --weight-levels), else 256. Without such "
                        "training this quantizes after the fact: measure it (evaluate.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    loaded = [load_net(c, args.weight_levels) for c in args.checkpoint]
    nets, ck = [n for n, _ in loaded], loaded[0][1]
    for c, (_, other) in zip(args.checkpoint, loaded):
        if (other["size"], list(other["mean"]), list(other["std"])) != (ck["size"], list(ck["mean"]), list(ck["std"])):
            p.error("%s: input size or normalization differs from %s's" % (c, args.checkpoint[0]))
    size = ck["size"]
    t = args.temperature if args.temperature is not None else 1.0
    extra = {}
    if args.calibrate:
        rows = calibration_rows(args.data)
        z = logits_of(Ensemble(nets), data.decode_all(args.data, rows, size))  # of one: its own
        t = fit_temperature(z, [r["y"] for r in rows])
        print("temperature %.4f fitted on %d calib images" % (t, len(rows)))
        if args.unsure_above is None:
            args.unsure_above = fit_unsure_above(z, rows, t, args.neither_above, args.unsure_budget)
    extra["temperature"] = t
    grid = heatmap_grid(nets[0], size)
    extra["outputs"] = {OUTPUT: {"kind": "probabilities", "classes": list(EXPORTED)},
                        HEATMAP: {"kind": "heatmap", "classes": list(EXPORTED),
                                  "grid": [grid, grid]}}
    rules = {"mountain_above": args.mountain_above, "beach_below": args.beach_below,
             "neither_above": args.neither_above}
    if args.unsure_above is not None:
        rules["unsure_above"] = args.unsure_above
    extra["verdict"] = rules
    if args.precision:
        extra["precision"] = args.precision
    g = build_graph(nets, size, t)
    paths = write_model(g, args.out, size, ck["mean"], ck["std"], extra, quantize=not args.float,
                        float_bias=args.float_bias, outputs=len(EXPORTED), grid=grid)
    total = sum(os.path.getsize(x) for x in paths)
    print("wrote %s: %d nodes, %d weights, %d shard(s), %d bytes"
          % (os.path.join(args.out, "model.json"), len(g.nodes), len(g.weights), len(paths), total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
