"""Writes weights/PROVENANCE.md: where the shipped model comes from (data,
command, commit), what it measured, and the sha256 of every shard.

    /usr/bin/python3 train/provenance.py --checkpoint RUN/final.pt --metrics RESULTS.json
        [--weights weights] [--note "free text"]...

RESULTS.json is evaluate.py --json output; its "engine", "graph", "float"
sections and their comparisons are tabulated when present.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import graph_ref  # noqa: E402

REPO = os.path.dirname(HERE)
SOURCES = [
    ("intel", "Intel Image Classification, as committed in luangtatipsy/intel-image-classification @fbb02100",
     "beach (= sea), mountain, glacier, forest"),
    ("mexico-places", "alexcavadora/places @a55e3ab7 (web-scraped Mexican beaches and peaks)", "beach, mountain"),
    ("sun-scenes", "SUN397-derived sets: balcilar/Deep-Scene-Classification @6774b6a6, "
     "PrachiP23/Scene-Classification @6eb7e47a", "beach, mountain"),
]
TITLES = {"engine": "C engine (`build/native/mvb classify`)", "graph": "exported uint8 graph (train/graph_ref.py)",
          "float": "PyTorch float checkpoint"}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def git(*args):
    try:
        return subprocess.run(["git", "-C", REPO] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(section):
    lines = ["| source | images | accuracy | not sure (0.35..0.65) | accuracy outside \"not sure\" |",
             "|---|---|---|---|---|"]
    for src, r in section.items():
        lines.append("| %s | %d | %.2f%% (%d) | %.1f%% | %.2f%% |" % (
            src, r["images"], 100 * r["accuracy"], r["correct"], 100 * r["unsure"],
            100 * r["accuracy_outside_unsure"]))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--weights", default=os.path.join(REPO, "weights"))
    p.add_argument("--commit", default=None, help="commit of the code that trained (default: HEAD)")
    p.add_argument("--note", action="append", default=[])
    args = p.parse_args(argv)
    ck = torch.load(args.checkpoint, map_location="cpu")
    targs = ck["args"]
    model = graph_ref.load_model_json(args.weights)
    with open(args.metrics) as f:
        metrics = json.load(f)
    paths = [p for g in model["weightsManifest"] for p in g["paths"]]
    sizes = {p: os.path.getsize(os.path.join(args.weights, p)) for p in paths}
    params = sum(v.numel() for k, v in ck["model"].items() if not k.endswith(("running_mean", "running_var",
                                                                             "num_batches_tracked")))
    pp = model["mvb"]["preprocess"]
    cmd = "/usr/bin/python3 train/train.py --out train/runs/%s" % os.path.basename(os.path.dirname(
        os.path.abspath(args.checkpoint)))
    defaults = {"epochs": 30, "batch": 64, "lr": 0.1, "wd": 5e-4, "smoothing": 0.1, "size": 128, "store": 144,
                "widths": "32,64,128,256", "blocks": "1,1,2,2", "sun_repeat": 3, "seed": 1}
    for k, d in defaults.items():
        if targs.get(k) != d:
            cmd += " --%s %s" % (k.replace("_", "-"), targs.get(k))
    out = ["# weights/: provenance", "",
           "The shipped mountain-vs-beach model, trained from scratch (no pretrained weights) by `train/`.", "",
           "## Model", "",
           "- ResNet-style CNN, widths %s, basic blocks per stage %s, stem of two stride-2 3x3 convs, "
           "global average pool, linear head; %d trained parameters." % (targs["widths"], targs["blocks"], params),
           "- Trained as a 4-class softmax (beach, mountain, glacier, forest); exported as one output, "
           "sigmoid((z_mountain - z_beach) / T) = P(mountain), T = %.4f." % model["mvb"]["temperature"],
           "- Input %dx%d, whole image resized with PIL BILINEAR (antialiased), "
           "normalized with mean %s, std %s." % (pp["size"][0], pp["size"][1], pp["mean"], pp["std"]),
           "- Batch norm folded into the convolutions; every float tensor uint8-quantized per tensor "
           "(value = min + scale * byte); %d shard(s), %d bytes in all." % (len(paths), sum(sizes.values())),
           "", "## Data", "",
           "`../shared/data` (14,171 JPEGs; see its README.md for licences and de-duplication):", ""]
    for name, origin, labels in SOURCES:
        out.append("- `%s/`: %s; labels %s." % (name, origin, labels))
    out += ["",
            "Split (train/data.py, a pure function of the path): validation = Intel's own `test` split + the "
            "mexico-places and sun-scenes images whose sha1(path) mod 100 < 20; calibration = buckets 20..24 "
            "of the rest (held out of training, used only to fit T); training = the rest "
            "(sun-scenes repeated %d times per epoch). Validation is never used for training, model "
            "selection or calibration: the shipped checkpoint is the last epoch." % targs["sun_repeat"],
            "Accuracy counts beach and mountain images (score > 0.5 = mountain); glacier and forest "
            "validation images are not scored.", "",
            "## Training", "",
            "    " + cmd,
            "    /usr/bin/python3 train/export.py --checkpoint train/runs/%s/final.pt --calibrate"
            % os.path.basename(os.path.dirname(os.path.abspath(args.checkpoint))), "",
            "Code commit: %s. %d epochs, batch %d, SGD (Nesterov, momentum 0.9), lr %g with 2 warm-up "
            "epochs and cosine decay, weight decay %g, label smoothing %g, seed %d, input %d px "
            "(random resized crops of %d px copies, flips, colour jitter)." % (
                args.commit or git("rev-parse", "HEAD"), targs["epochs"], targs["batch"], targs["lr"],
                targs["wd"], targs["smoothing"], targs["seed"], targs["size"], targs["store"]), "",
            "## Validation metrics", ""]
    for key in ("engine", "graph", "float"):
        if key in metrics:
            out += ["%s:" % TITLES[key], "", table(metrics[key]), ""]
    for key, val in metrics.items():
        if "_vs_" in key:
            a, b = key.split("_vs_")
            out.append("- %s vs %s: verdicts (mountain / beach / not sure) agree on %.2f%% of validation "
                       "images; max |d score| %.3g." % (a, b, 100 * val["verdict_agreement"], val["max_abs_diff"]))
    out += ["- %s" % n for n in args.note]
    out += ["", "## Files (sha256)", ""]
    for p in ["model.json"] + paths:
        out.append("    %s  %s" % (sha256(os.path.join(args.weights, p)), p))
    out.append("")
    with open(os.path.join(args.weights, "PROVENANCE.md"), "w") as f:
        f.write("\n".join(out))
    print("wrote %s" % os.path.join(args.weights, "PROVENANCE.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
