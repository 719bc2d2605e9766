"""A training checkpoint from an exported model: what to start from when the
run that made weights/ is not on this machine (runs are not committed).

    /usr/bin/python3 train/unfold.py --model weights --out train/runs/NAME/final.pt
        [--data ../shared/data] [--photos 1024] [--member K]

An ensemble's export (export.py with several checkpoints) unfolds one member
at a time (--member K): its trunk, and its columns of the shared head, times
the number of members, with the shared bias; exported together again, the
members give back the ensemble.

The export folded each batch norm into its convolution (export.fold) and
divided the head by the calibration temperature. Unfolding puts the folded
weights back into the convolutions and makes each batch norm the identity
plus the folded bias on the photos the network trains on: its running
statistics are those of the convolution's output over `--photos` augmented
training photos (the network in eval mode, i.e. the exported function), its
scale their standard deviation and its shift the bias plus their mean. So
the checkpoint computes the exported logits in eval mode, and nearly the
same in train mode, where batch statistics replace the running ones: a
warm restart (train.py --init) continues from the shipped function rather
than from a network that batch norm has just rescaled. The head gets the
temperature back; the auxiliary glacier row, which the export drops, starts
at zero weight and a low bias.

What this does not know: how the exported model was trained. Its weights are
the export's (uint8 levels), not the float ones training ended with.
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPO = os.path.dirname(HERE)
import data  # noqa: E402
import export  # noqa: E402
import graph_ref  # noqa: E402
import provenance  # noqa: E402
from model import CLASSES, EXPORTED, Net  # noqa: E402

# The glacier row's bias below the exported classes' lowest: a class the
# restart has to learn again, not one it starts out predicting.
AUX_BIAS_BELOW = 2.0


def member_prefixes(names):
    """The exported networks' name prefixes (export.member_prefixes), from the
    weights' names: [""] for one network, ["m0/", "m1/", ...] for an ensemble."""
    stems = [n for n in names if n.endswith("stem/conv0/weights")]
    prefixes = export.member_prefixes(len(stems)) if stems else []
    if not prefixes or sorted(p + "stem/conv0/weights" for p in prefixes) != sorted(stems):
        raise ValueError("stem weights %s: not networks export.py wrote" % stems)
    return prefixes


def architecture(weights, prefix=""):
    """(stem width, widths per stage, blocks per stage) of an exported Net,
    from its weight shapes: a stage starts at block 0 and at every block with
    a projection shortcut (Net strides and widens only there)."""
    stem = weights[prefix + "stem/conv0/weights"].shape[3]
    widths, blocks, i = [], [], 0
    while prefix + "block%d/conv1/weights" % i in weights:
        if i == 0 or prefix + "block%d/shortcut/weights" % i in weights:
            widths.append(weights[prefix + "block%d/conv1/weights" % i].shape[3])
            blocks.append(0)
        blocks[-1] += 1
        i += 1
    return stem, widths, blocks


def load_folded(net, weights, temperature, prefix="", first=0, members=1):
    """The exported function in net: folded weights in the convolutions, each
    batch norm the identity plus the bias (eval mode), the head times T. For
    an ensemble's member: the head's rows from `first` on (its features'),
    times the number of members, and the shared bias."""
    with torch.no_grad():
        for name, cb in export.conv_names(net, prefix):
            w = torch.from_numpy(weights[name + "/weights"]).permute(3, 2, 0, 1)
            cb.conv.weight.copy_(w)
            bn = cb.bn
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(weights[name + "/bias"]))
        k = len(EXPORTED)
        rows = weights["head/weights"][first:first + net.fc.in_features]
        head_w = torch.from_numpy(rows).double() * temperature * members
        head_b = torch.from_numpy(weights["head/bias"]).double() * temperature
        net.fc.weight.zero_()
        net.fc.weight[:k] = head_w.t().float()
        net.fc.bias[:k] = head_b.float()
        net.fc.bias[k:] = float(head_b.min()) - AUX_BIAS_BELOW


@torch.no_grad()
def unfold_batch_norms(net, x, batch=128):
    """Each batch norm's running statistics := those of its convolution's
    output over x (eval mode: the function load_folded set), its scale and
    shift then chosen so that its output is unchanged."""
    convs = [cb for _, cb in export.conv_names(net)]
    sums = {id(cb): [0.0, 0.0, 0] for cb in convs}

    def hook(cb):
        def record(_module, _inputs, out):
            s = sums[id(cb)]
            o = out.double().transpose(0, 1).reshape(out.shape[1], -1)
            s[0] = s[0] + o.sum(1)
            s[1] = s[1] + (o * o).sum(1)
            s[2] += o.shape[1]
        return record

    handles = [cb.conv.register_forward_hook(hook(cb)) for cb in convs]
    net.eval()
    for i in range(0, len(x), batch):
        net(x[i:i + batch])
    for h in handles:
        h.remove()
    for cb in convs:
        total, squares, n = sums[id(cb)]
        mean = total / n
        var = (squares / n - mean * mean).clamp(min=0.0)
        bn = cb.bn
        bias = bn.bias.double().clone()
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var.float())
        bn.weight.copy_((var + bn.eps).sqrt().float())
        bn.bias.copy_((bias + mean).float())


def members(model_dir):
    """How many networks an exported model runs (more than one: an ensemble);
    read from model.json alone."""
    model = graph_ref.load_model_json(model_dir)
    return len(member_prefixes([w["name"] for g in model["weightsManifest"] for w in g["weights"]]))


def unfold(model_dir, x, member=0):
    """The Net of an exported model (of its member `member`, for an
    ensemble); x: the network's inputs (N, 3, H, W) that the batch norms'
    statistics are measured on."""
    model = graph_ref.load_model_json(model_dir)
    weights = graph_ref.read_weights(model_dir, model)
    prefixes = member_prefixes(weights)
    first = sum(architecture(weights, p)[1][-1] for p in prefixes[:member])
    stem, widths, blocks = architecture(weights, prefixes[member])
    net = Net(widths, blocks, classes=len(CLASSES), stem=stem)
    load_folded(net, weights, model["mvb"].get("temperature", 1.0), prefixes[member], first, len(prefixes))
    unfold_batch_norms(net, x)
    return net


def checkpoint(net, model_dir, photos, seed, member=None):
    """The checkpoint train.py --init and export.load_net read; its "args"
    say where it came from (provenance.training_stages names it by them)."""
    size = graph_ref.load_model_json(model_dir)["mvb"]["preprocess"]["size"][0]
    ck = {"model": net.state_dict(), "classes": CLASSES, "widths": net.widths, "blocks": net.blocks,
            "stem": net.stem[0].conv.out_channels, "size": size, "mean": data.MEAN, "std": data.STD,
            "args": {"unfolded_from": os.path.relpath(os.path.abspath(model_dir), REPO),
                     "model_sha256": provenance.sha256(os.path.join(model_dir, "model.json")),
                     "commit": provenance.git("rev-parse", "HEAD"), "photos": photos, "seed": seed,
                     "weight_levels": 0, "size": size}}
    if member is not None:
        ck["args"]["member"] = member
    return ck


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(REPO, "weights"))
    p.add_argument("--out", required=True, help="checkpoint to write (train.py --init takes it)")
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    p.add_argument("--photos", type=int, default=1024, help="training photos for the statistics")
    p.add_argument("--store", type=int, default=144, help="size the photos are kept at (train.py's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--member", type=int, help="which network of an ensemble (0, 1, ...)")
    args = p.parse_args(argv)
    count = members(args.model)
    if (count > 1) != (args.member is not None) or not 0 <= (args.member or 0) < count:
        p.error("%s runs %d network(s): %s" % (args.model, count, "choose one with --member 0..%d"
                                               % (count - 1) if count > 1 else "leave out --member"))
    torch.set_num_threads(2)
    rows = [r for r in data.read_manifest(args.data) if r["part"] == "train"]
    gen = torch.Generator().manual_seed(args.seed)
    pick = torch.randperm(len(rows), generator=gen)[:args.photos].tolist()
    photos = data.decode_all(args.data, [rows[i] for i in sorted(pick)], args.store)
    model = graph_ref.load_model_json(args.model)
    pp = model["mvb"]["preprocess"]
    if tuple(pp["mean"]) != data.MEAN or tuple(pp["std"]) != data.STD:
        raise SystemExit("unfold.py: the model normalizes with mean %s, std %s; training (data.py) "
                         "with %s, %s" % (pp["mean"], pp["std"], data.MEAN, data.STD))
    size = pp["size"][0]
    # Augmented as training augments them: the statistics train mode will see.
    net = unfold(args.model, data.augment(torch.from_numpy(photos), size, gen), args.member or 0)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(checkpoint(net, args.model, len(photos), args.seed, args.member), args.out)
    print("wrote %s: widths %s, blocks %s, batch norm statistics from %d training photos"
          % (args.out, list(net.widths), list(net.blocks), len(photos)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
