"""The classifier network: a small ResNet whose padding follows TensorFlow's
"SAME" rule, so that every convolution exports as one _FusedConv2D with
padding SAME and the exported graph computes exactly what PyTorch computed.

PyTorch pads a stride-2 3x3 convolution by one pixel on every side; TF SAME
pads 0 before and 1 after for even input sizes. Padding explicitly with the
TF rule here (instead of adding Pad nodes in the export) keeps the graph
small and the two implementations identical by construction.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# Class indices of the training head. The exported model keeps the first
# three (softmax over beach, mountain, neither); glacier is an auxiliary class
# trained for what it teaches about snow and ice, not exported.
CLASSES = ("beach", "mountain", "neither", "glacier")
BEACH, MOUNTAIN, NEITHER = 0, 1, 2
EXPORTED = CLASSES[:3]


def same_pads(size, kernel, stride):
    """(before, after) padding of TF "SAME" along one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def quantization_grid(lo, hi, levels):
    """(min, scale) of the affine grid min + scale * q, q = 0..levels-1, that
    tfjs-converter's uint8 quantization uses for a tensor spanning [lo, hi]:
    the range widened to include 0, min nudged so that 0 is on the grid.
    levels = 256 is tfjs's own; fewer levels are still stored as uint8 bytes
    (so TensorFlow.js loads them unchanged) but gzip to fewer bits each."""
    lo, hi = min(0.0, lo), max(0.0, hi)
    scale = (hi - lo) / (levels - 1) if hi > lo else 1.0
    return -round(-lo / scale) * scale, scale


def fake_quantize(w, levels):
    """w on its quantization grid in the forward pass, unchanged gradient
    (straight-through): training sees the weights the export will write."""
    lo, scale = quantization_grid(float(w.min()), float(w.max()), levels)
    q = ((w - lo) / scale).round().clamp(0, levels - 1) * scale + lo
    return w + (q - w).detach()


class ConvBN(nn.Module):
    """Conv (no bias) + BatchNorm (+ ReLU), TF-SAME padded; exports as one
    _FusedConv2D with the batch norm folded in.

    With `levels` set (quantization-aware training), the forward pass is the
    exported one: batch norm folded into the convolution with its running
    statistics (frozen: no longer updated), the folded weights fake-quantized
    to `levels` per tensor."""

    def __init__(self, cin, cout, kernel, stride=1, relu=True):
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.levels = 0

    def folded(self, dtype=None):
        """(OIHW weight, bias) with the batch norm folded in: the scale in the
        parameters' dtype, the products in `dtype` (the export's float64)."""
        bn, t = self.bn, (lambda v: v if dtype is None else v.to(dtype))
        k = t(bn.weight / (bn.running_var + bn.eps).sqrt())
        return t(self.conv.weight) * k.view(-1, 1, 1, 1), t(bn.bias) - t(bn.running_mean) * k

    def forward(self, x):
        top, bottom = same_pads(x.shape[2], self.kernel, self.stride)
        left, right = same_pads(x.shape[3], self.kernel, self.stride)
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        if self.levels:
            w, b = self.folded()
            x = F.conv2d(x, fake_quantize(w, self.levels), b, self.stride)
        else:
            x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class BasicBlock(nn.Module):
    """ResNet basic block; the 1x1 projection shortcut when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = ConvBN(cin, cout, 3, stride)
        self.conv2 = ConvBN(cout, cout, 3, 1, relu=False)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = ConvBN(cin, cout, 1, stride, relu=False)

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv2(self.conv1(x)) + skip)


class Net(nn.Module):
    """stem (two stride-2 3x3 convs) -> 4 stages of basic blocks (the first of
    each stage after the first strides by 2) -> global average pool -> FC."""

    def __init__(self, widths=(32, 64, 128, 256), blocks=(2, 2, 2, 2),
                 classes=len(CLASSES), stem=32):
        super().__init__()
        self.widths, self.blocks = tuple(widths), tuple(blocks)
        self.stem = nn.Sequential(ConvBN(3, stem, 3, 2), ConvBN(stem, stem, 3, 2))
        layers, cin = [], stem
        for i, (width, count) in enumerate(zip(widths, blocks)):
            for j in range(count):
                stride = 2 if (i > 0 and j == 0) else 1
                layers.append(BasicBlock(cin, width, stride))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero-init the last BN of each residual branch: every block starts
        # as the identity, which trains faster from scratch.
        for block in layers:
            nn.init.zeros_(block.conv2.bn.weight)

    def quantize_weights(self, levels):
        """Quantization-aware from now on: every convolution's folded weights
        on a grid of `levels` per tensor (0 = off)."""
        for m in self.modules():
            if isinstance(m, ConvBN):
                m.levels = levels

    def features(self, x):
        return self.layers(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


class Ensemble(nn.Module):
    """The mean of its members' logits (what export.py's ensemble graph computes)."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        return torch.stack([m(x) for m in self.members]).mean(dim=0)


def mountain_logit(logits):
    """The score's logit: log P(mountain) / P(beach) under the softmax."""
    return logits[:, MOUNTAIN] - logits[:, BEACH]


def exported_probs(logits, temperature=1.0):
    """What the exported model outputs: softmax over the EXPORTED classes."""
    return (logits[:, :len(EXPORTED)] / temperature).softmax(dim=1)
