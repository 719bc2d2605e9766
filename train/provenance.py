"""Writes weights/PROVENANCE.md: where the shipped model comes from (data,
command, commit), what it measured, and the sha256 of every shard.

    /usr/bin/python3 train/provenance.py --checkpoint RUN/final.pt --metrics RESULTS.json
        [--cross NAME=RESULTS.json]... [--before RESULTS.json] [--weights weights]
        [--note "free text"]...

RESULTS.json files are evaluate.py --json output: --metrics for the shipped
model, --cross for runs trained without a source (cross-source), --before
for the model this one replaces, judged on the same photos.
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
import data  # noqa: E402
import graph_ref  # noqa: E402

REPO = os.path.dirname(HERE)
SOURCES = [
    ("intel", "Intel Image Classification, as committed in luangtatipsy/intel-image-classification @fbb02100",
     "beach (= sea), mountain, glacier (auxiliary), forest, buildings, street (neither)"),
    ("mexico-places", "alexcavadora/places @a55e3ab7 (web-scraped Mexican beaches and peaks)", "beach, mountain"),
    ("sun-scenes", "SUN397-derived sets: balcilar/Deep-Scene-Classification @6774b6a6, "
     "PrachiP23/Scene-Classification @6eb7e47a", "beach, mountain"),
    ("places-mini", "MIT mini-places (Places365 at 128 px), as committed in rathull/CTFs @f35c2198",
     "beach (= coast), mountain, neither (75 categories), near:NAME (see below)"),
]
TITLES = {"engine_int8": "C engine in int8, the model's own precision (`build/native/mvb classify`, its "
                         "default; decodes the JPEGs itself): what users get",
          "engine": "C engine in f32 (`build/native/mvb classify --precision f32`)",
          "graph": "exported uint8 graph (train/graph_ref.py)", "float": "PyTorch float checkpoint"}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def git(*args):
    try:
        return subprocess.run(["git", "-C", REPO] + list(args), capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def pct(x):
    return "%.1f%%" % (100 * x)


def table(section):
    """Beach/mountain rows, then neither rows, of one evaluate.py report."""
    bm = [(k, r) for k, r in section.items() if "accuracy" in r]
    nn = [(k, r) for k, r in section.items() if "flagged" in r]
    lines = ["| beach and mountain | images | accuracy | not sure | called neither | right when sure |",
             "|---|---|---|---|---|---|"]
    for k, r in bm:
        lines.append("| %s | %d | %.2f%% (%d) | %s | %s | %.2f%% |" % (
            k, r["images"], 100 * r["accuracy"], r["correct"], pct(r["not_sure"]), pct(r["neither"]),
            100 * r["accuracy_sure"]))
    if nn:
        lines += ["", "| neither photos | images | flagged (neither or not sure) | neither | beach | mountain |",
                  "|---|---|---|---|---|---|"]
        for k, r in nn:
            lines.append("| %s | %d | %s | %s | %s | %s |" % (
                k, r["images"], pct(r["flagged"]), pct(r["neither"]), pct(r["beach"]), pct(r["mountain"])))
    return "\n".join(lines)


TRAIN_DEFAULTS = {"epochs": 30, "batch": 64, "lr": 0.1, "wd": 5e-4, "smoothing": 0.1, "size": 128, "store": 144,
                  "widths": "32,64,128,256", "blocks": "1,1,2,2", "sun_repeat": 3, "places_repeat": 2, "seed": 1,
                  "warmup": 2.0, "aux": 0.0, "weight_levels": 0, "plain": 0.0, "cutmix": 0.0,
                  "min_scale": 0.25, "grey": 0.1,
                  "cast": 0.0, "jpeg": 0.0, "teacher": [], "kd": 0.0, "kd_temp": 2.0, "kd_unlabelled": False}


def gzipped_size(path):
    import gzip
    with open(path, "rb") as f:
        return len(gzip.compress(f.read(), 9))


def export_levels(export_args, trained):
    """The convolutions' weight levels the export wrote: its --weight-levels,
    else those the checkpoint was trained for (0 = all 256)."""
    words = export_args.split()
    if "--weight-levels" in words[:-1]:
        return int(words[words.index("--weight-levels") + 1])
    return trained


def option_text(key, value):
    """train.py's option for an argument as it was given: a flag, a flag
    per item of a list (--teacher A --teacher B), or a flag and its value."""
    flag = " --" + key.replace("_", "-")
    if value is True:
        return flag
    values = value if isinstance(value, list) else [value]
    return "".join("%s %s" % (flag, v) for v in values)


def training_stages(checkpoint, targs):
    """[(train.py command, one-sentence summary)] that made this checkpoint (trained with
    train.py's arguments targs), the run its weights started from (--init) first."""
    if targs.get("unfolded_from"):
        member = targs.get("member")
        return [("/usr/bin/python3 train/unfold.py --model %s --out %s --photos %d --seed %d%s"
                 % (targs["unfolded_from"], checkpoint, targs["photos"], targs["seed"],
                    "" if member is None else " --member %d" % member),
                 "The model shipped at commit %s (model.json sha256 %s; how it was trained: its own "
                 "weights/PROVENANCE.md at that commit)%s, unfolded into a checkpoint by train/unfold.py "
                 "(batch norm statistics of %d augmented training photos)."
                 % (targs["commit"][:12], targs["model_sha256"][:12],
                    "" if member is None else ", its network %d" % member, targs["photos"]))]
    cmd = "/usr/bin/python3 train/train.py --out train/runs/%s" % os.path.basename(os.path.dirname(
        os.path.abspath(checkpoint)))
    if targs.get("init"):
        cmd += " --init %s" % targs["init"]
    for k, d in TRAIN_DEFAULTS.items():
        if targs.get(k, d) != d:
            cmd += option_text(k, targs[k])
    summary = ("%d epochs%s, batch %d, SGD (Nesterov, momentum 0.9), lr %g with %g warm-up epochs and "
               "cosine decay, weight decay %g, label smoothing %g, seed %d, input %d px (random resized "
               "crops of at least %g of %d px copies' area, flips, colour jitter, %d%% black-and-white, "
               "15%% blurred), "
               "sun-scenes x%d and places-mini beach/mountain x%d per epoch%s%s%s."
               % (targs["epochs"], " from those weights (a warm restart)" if targs.get("init") else "",
                  targs["batch"], targs["lr"], targs.get("warmup", 2.0), targs["wd"], targs["smoothing"],
                  targs["seed"], targs["size"], targs.get("min_scale", 0.25), targs["store"],
                  round(100 * targs.get("grey", 0.1)),
                  targs["sun_repeat"],
                  targs.get("places_repeat", 1),
                  ", with an auxiliary head naming each photo's fine category (every Places category, "
                  "the near: ones left out of the main head included; loss weight %g, not exported)"
                  % targs["aux"] if targs.get("aux") else "",
                  ", quantization-aware: the convolutions' folded weights on a grid of %d levels per "
                  "tensor in every forward pass, batch norm statistics frozen" % targs["weight_levels"]
                  if targs.get("weight_levels") else "",
                  "".join(text % targs[k] for k, text in (
                      ("plain", ", %g of the \"neither\" photos shrunk onto plain grounds"),
                      ("cutmix", ", CutMix on %g of each batch"),
                      ("cast", ", a colour cast on %g of the photos"),
                      ("jpeg", ", %%g of the photos recompressed as JPEGs of quality %d..%d"
                       % data.JPEG_QUALITIES))
                      if targs.get(k))
                  + (", distilled from %s (loss weight %g, T %g%s)" % (
                      " + ".join(targs["teacher"]), targs["kd"], targs.get("kd_temp", 2.0),
                      "; the left-out near: photos trained on through this loss alone"
                      if targs.get("kd_unlabelled") else "") if targs.get("kd") else "")))
    init = targs.get("init")
    before = training_stages(init, torch.load(init, map_location="cpu")["args"]) if init else []
    return before + [(cmd, summary)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--metrics", required=True)
    p.add_argument("--weights", default=os.path.join(REPO, "weights"))
    p.add_argument("--commit", default=None, help="commit of the code that trained (default: HEAD)")
    p.add_argument("--note", action="append", default=[])
    p.add_argument("--export-args", default="--calibrate", help="the export command's options")
    p.add_argument("--cross", action="append", default=[], type=lambda v: v.split("=", 1),
                   help="NAME=RESULTS.json of a run trained without a source")
    p.add_argument("--before", help="RESULTS.json of the replaced model")
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
    levels = export_levels(args.export_args, targs.get("weight_levels") or 0)
    stages = training_stages(args.checkpoint, targs)
    run = os.path.basename(os.path.dirname(os.path.abspath(args.checkpoint)))
    rules = model["mvb"]["verdict"]
    out = ["# weights/: provenance", "",
           "The shipped mountain-vs-beach model, trained from scratch (no pretrained weights) by `train/`.", "",
           "## Model", "",
           "- ResNet-style CNN, widths %s, basic blocks per stage %s, stem of two stride-2 3x3 convs, "
           "global average pool, linear head; %d trained parameters." % (targs["widths"], targs["blocks"], params),
           "- Trained as a 4-class softmax (beach, mountain, neither, and glacier as an auxiliary class); "
           "exported as softmax((z_beach, z_mountain, z_neither) / T), T = %.4f, output `Identity:0`, "
           "plus `heatmap:0`: the head as a 1x1 convolution over the last feature map (class activation "
           "maps, %s grid), whose per-class means plus the head's bias are the logits."
           % (model["mvb"]["temperature"], "x".join(str(g) for g in model["mvb"]["outputs"]["heatmap:0"]["grid"])),
           "- Verdict rules in model.json (`mvb.verdict`, applied by the C engine): %s." % ", ".join(
               "%s %s" % (k, v) for k, v in rules.items()),
           "- Precision (`mvb.precision`, the engine's default for this model): %s." % model["mvb"].get(
               "precision", "f32 (not named)"),
           "- Input %dx%d, whole image resized with PIL BILINEAR (antialiased), "
           "normalized with mean %s, std %s." % (pp["size"][0], pp["size"][1], pp["mean"], pp["std"]),
           "- Batch norm folded into the convolutions; every float tensor uint8-quantized per tensor "
           "(value = min + scale * byte)%s; %d shard(s), %d bytes in all (%d with Python's gzip at "
           "level 9; the site's build stores them gzipped too), each with its SHA-256 in model.json (`mvb.shards`), checked by the engine."
           % (", the convolutions' weights on %d of the 256 byte values (%s), which gzip to "
              "fewer bits each" % (levels, "trained for: quantization-aware" if levels == targs.get(
                  "weight_levels") else "quantized after training, `export.py --weight-levels %d`"
                  % levels) if levels else "", len(paths), sum(sizes.values()),
              sum(gzipped_size(os.path.join(args.weights, p)) for p in paths)),
           "", "## Data", "",
           "`../shared/data` (24,020 JPEGs; see its README.md for licences and de-duplication):", ""]
    for name, origin, labels in SOURCES:
        out.append("- `%s/`: %s; labels %s." % (name, origin, labels))
    out += ["",
            "Labels (train/data.py): beach, mountain; neither = Places neither categories + Intel "
            "buildings, street, forest + the near: categories %s; glacier is an auxiliary class, "
            "trained, not exported. Left out of training and validation (a photo of them could "
            "honestly be either): the other near: categories (%s)." % (
                ", ".join(sorted(data.NEAR_NEITHER)),
                "badlands, canyon, chalet, harbor, iceberg, lighthouse, river, rock_arch, ski_slope, "
                "valley, volcano"),
            "",
            "Split (a pure function of the path): validation = Intel's own `test` split + the other "
            "sources' images whose sha1(path) mod 100 < 20, + every photo of the Places neither "
            "categories whose sha1(category) mod 100 < %d (held out of training whole: \"unseen\"); "
            "calibration = buckets 20..24 of the rest (held out of training, used only to fit T and "
            "unsure_above); training = the rest. "
            "Validation is never used for training or calibration; how the shipped model was "
            "chosen is said under Validation. What this split does not hold apart (found by a review "
            "of train/ on 2026-12-02): mexico-places names each photo after its place "
            "(`beach/holbox_12.jpg`), and the split by path puts photos of each of its 27 places on "
            "both sides, so its validation figure is within-place (a place seen in training, new "
            "photos of it); its cross-source figure (trained without the source) is the one that "
            "says how a new place fares. One Intel photo is in both `buildings` (test split) and "
            "`street` (training) under two names. The validation figures, the held-out \"neither\" "
            "categories included, are also the ones the shipped model was chosen on (below), so "
            "they are optimistic for the one chosen; `train/compare.py` drew mexico-places photos "
            "one by one until then, so the intervals quoted above that date for mexico-places are "
            "too narrow; it now draws them by place (`data.place_of`)."
            % data.HELD_OUT_PERCENT,
            "",
            "## Training", "",
            *("    " + command for command, _ in stages),
            "    /usr/bin/python3 train/export.py --checkpoint train/runs/%s/final.pt %s" % (run, args.export_args), "",
            "Code commit: %s. %s" % (args.commit or git("rev-parse", "HEAD"),
                                     " Then ".join(summary for _, summary in stages)), "",
            "## Validation", ""]
    for key in ("engine_int8", "engine", "graph", "float"):
        if key in metrics:
            title = TITLES[key] + (", its convolutions' weights on the export's %d levels" % levels
                                   if key == "float" and levels else "")
            out += ["%s:" % title, "", table(metrics[key]), ""]
    if "calibration" in metrics:
        out += ["Calibration (PyTorch float, expected calibration error per class, one-vs-rest, 10 bins, "
                "on validation):", ""]
        for name, e in metrics["calibration"].items():
            out.append("- %s: beach %.4f, mountain %.4f, neither %.4f" % (name, e["beach"], e["mountain"],
                                                                          e["neither"]))
        out.append("")
    share = metrics.get("verdict_share", {}).get("engine_int8") or metrics.get("verdict_share", {}).get("engine")
    if share:
        total = sum(r["images"] for k, r in metrics["engine"].items() if k != "overall")
        out += ["How often each verdict is shown (C engine, all %d validation photos, beach, mountain "
                "and neither alike): %s." % (total, ", ".join("%s %s" % (k, pct(v)) for k, v in share.items())),
                ""]
    copies = (("grey", "Black-and-white copies of the validation photos"),
              ("jpeg", "Copies of the validation photos saved as JPEGs of quality %s, as a compressed "
                       "upload or a photo from the web" % metrics.get("jpeg_quality")))
    for kind, title in copies:
        for key in ("float_" + kind, "graph_" + kind):
            if key in metrics:
                out += ["%s (%s):" % (title, key.split("_")[0]), "", table(metrics[key]), ""]
    for key in ("engine_100px", "engine_4000px"):
        if key in metrics:
            out += ["C engine on copies of every 5th beach/mountain validation photo (about 350) resized to a short side of %s:" %
                    key.split("_")[1], "", table(metrics[key]), ""]
    for name, path in args.cross:
        with open(path) as f:
            cross = json.load(f)
        sec = cross.get("engine") or cross.get("graph") or cross.get("float")
        out += ["Cross-source: trained without `%s` (%s), judged on all of its beach and mountain "
                "photos and the same validation rows:" % (", ".join(cross.get("excluded", [])), name), "",
                table(sec), ""]
    if args.before:
        with open(args.before) as f:
            before = json.load(f)
        out += ["The model shipped before the \"neither\" models (4-class head exported as one sigmoid, no \"neither\"), "
                "C engine, on the same validation rows and on every beach/mountain photo of "
                "places-mini and mexico-places (it never saw places-mini; it trained on 80% of "
                "mexico-places):", "", table(before["engine"]), ""]
    for key, val in metrics.items():
        if "_vs_" in key:
            a, b = key.split("_vs_")
            out.append("- %s vs %s: verdicts agree on %.2f%% of validation images; max |d score| %.3g, "
                       "max |d probability| %.3g." % (a, b, 100 * val["verdict_agreement"],
                                                     val["max_abs_d_score"], val["max_abs_d_prob"]))
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
