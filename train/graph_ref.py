"""Reference interpreter for the graph models export.py writes: reads
model.json + shards, dequantizes exactly as TensorFlow.js does
(float32(min + scale * byte), computed in double), and runs the nodes with
PyTorch ops. It checks the exported files themselves, independently of the
Net class that produced them.

    /usr/bin/python3 train/graph_ref.py --model weights --input x.f32 [--output y.f32]

x.f32: raw little-endian float32 NHWC inputs (any batch); prints the scores.
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import same_pads  # noqa: E402


def _read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def load_model_json(model_dir):
    return json.loads(_read(os.path.join(model_dir, "model.json")))


def read_weights(model_dir, model):
    """{name: np.ndarray} dequantized like tfjs (io_utils decodeWeights)."""
    out = {}
    for group in model["weightsManifest"]:
        blob = b"".join(_read(os.path.join(model_dir, p), "rb") for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                if q["dtype"] != "uint8":
                    raise ValueError("%s: unsupported quantization %s" % (w["name"], q["dtype"]))
                raw = np.frombuffer(blob, np.uint8, count, offset)
                offset += count
                a = (raw.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
            elif w["dtype"] == "float32":
                a = np.frombuffer(blob, "<f4", count, offset).copy()
                offset += 4 * count
            elif w["dtype"] == "int32":
                a = np.frombuffer(blob, "<i4", count, offset).copy()
                offset += 4 * count
            else:
                raise ValueError("%s: unsupported dtype %s" % (w["name"], w["dtype"]))
            out[w["name"]] = a.reshape(w["shape"])
        if offset != len(blob):
            raise ValueError("shards hold %d bytes, manifest %d" % (len(blob), offset))
    return out


def _s(attr, key):
    return base64.b64decode(attr[key]["s"]).decode()


def _conv(x, w, b, attr, dtype):
    """x NHWC; w HWIO; TF SAME/VALID padding."""
    strides = [int(v) for v in attr["strides"]["list"]["i"]]
    sh, sw = strides[1], strides[2]
    kh, kw = w.shape[0], w.shape[1]
    xc = x.permute(0, 3, 1, 2)
    if _s(attr, "padding") == "SAME":
        top, bottom = same_pads(xc.shape[2], kh, sh)
        left, right = same_pads(xc.shape[3], kw, sw)
        xc = F.pad(xc, (left, right, top, bottom))
    elif _s(attr, "padding") != "VALID":
        raise ValueError("padding %s" % _s(attr, "padding"))
    wt = torch.from_numpy(w).to(dtype).permute(3, 2, 0, 1)
    bias = None if b is None else torch.from_numpy(b).to(dtype)
    y = F.conv2d(xc, wt, bias, stride=(sh, sw))
    return y.permute(0, 2, 3, 1)


def _fused_tail(y, attr, name):
    ops = [base64.b64decode(s).decode() for s in attr["fused_ops"]["list"]["s"]]
    if ops[0] != "BiasAdd":
        raise ValueError("%s: fused_ops %s" % (name, ops))
    for op in ops[1:]:
        if op == "Relu":
            y = torch.relu(y)
        elif op == "Relu6":
            y = y.clamp(0, 6)
        else:
            raise ValueError("%s: fused op %s" % (name, op))
    return y


def run(model_dir, x, dtype=torch.float64):
    """x: float (N,H,W,3) array -> the first signature output, (N, ...)."""
    return run_all(model_dir, x, dtype)[0]


def run_all(model_dir, x, dtype=torch.float64):
    """x: float (N,H,W,3) array -> every signature output, in order."""
    model = load_model_json(model_dir)
    weights = read_weights(model_dir, model)
    values = {}
    for node in model["modelTopology"]["node"]:
        name, op, attr = node["name"], node["op"], node.get("attr", {})
        ins = [values[i.split(":")[0]] if i.split(":")[0] in values else None for i in node.get("input", [])]
        if op == "Placeholder":
            values[name] = torch.as_tensor(np.asarray(x)).to(dtype)
        elif op == "Const":
            values[name] = weights[name]
        elif op == "_FusedConv2D":
            values[name] = _fused_tail(_conv(ins[0], ins[1], ins[2], attr, dtype), attr, name)
        elif op == "AddV2":
            values[name] = ins[0] + ins[1]
        elif op == "Relu":
            values[name] = torch.relu(ins[0])
        elif op == "Mean":
            axes = [int(a) for a in np.asarray(ins[1]).reshape(-1)]
            values[name] = ins[0].mean(dim=axes, keepdim=attr.get("keep_dims", {}).get("b", False))
        elif op == "ConcatV2":
            values[name] = torch.cat(ins[:-1], dim=int(np.asarray(ins[-1])))
        elif op == "Conv2D":
            values[name] = _conv(ins[0], ins[1], None, attr, dtype)
        elif op == "_FusedMatMul":
            y = ins[0] @ torch.from_numpy(ins[1]).to(dtype) + torch.from_numpy(ins[2]).to(dtype)
            values[name] = _fused_tail(y, attr, name)
        elif op == "Sigmoid":
            values[name] = torch.sigmoid(ins[0])
        elif op == "Softmax":
            values[name] = torch.softmax(ins[0], dim=-1)
        elif op == "Identity":
            values[name] = ins[0]
        else:
            raise ValueError("%s: op %s not supported by the reference" % (name, op))
    return [values[o["name"].split(":")[0]].numpy() for o in model["signature"]["outputs"].values()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output")
    args = p.parse_args(argv)
    model = load_model_json(args.model)
    h, w = model["mvb"]["preprocess"]["size"]
    x = np.fromfile(args.input, "<f4").reshape(-1, h, w, 3)
    y = run(args.model, x)
    if args.output:
        y.astype("<f4").tofile(args.output)
    print(json.dumps([float(v) for v in y.reshape(-1)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
