"""Accuracy on the held-out validation split (beach + mountain images; see
data.py for how the split is drawn), per source and overall.

    /usr/bin/python3 train/evaluate.py --engine build/native/mvb [--model weights]
    /usr/bin/python3 train/evaluate.py --graph weights          # exported files, Python reference
    /usr/bin/python3 train/evaluate.py --checkpoint RUN/final.pt [--temperature T]
    /usr/bin/python3 train/evaluate.py --graph weights --checkpoint RUN/final.pt  # + agreement

--engine runs the native CLI (`mvb classify --model DIR --json FILES...`,
many files per call) on the original JPEGs, so decoding, resizing and
normalization are the engine's own. Accuracy counts score > 0.5 as mountain;
"unsure" is the share of scores in [0.35, 0.65] (the page's "not sure"
band), reported with the accuracy on the images outside it. Glacier and
forest are not scored (neither is beach or mountain); --glacier prints how
the validation glacier images (snowy peaks and ice) are called, for
information.
"""
import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train.py

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import graph_ref  # noqa: E402

REPO = os.path.dirname(HERE)
LOW, HIGH = 0.35, 0.65


def verdicts(prob):
    return np.where(prob > HIGH, "mountain", np.where(prob < LOW, "beach", "not sure"))


def report(prob, rows, title):
    """Prints and returns {source: {...}} for beach/mountain rows."""
    truth = np.array([r["label"] == "mountain" for r in rows])
    sources = sorted({r["source"] for r in rows})
    out = {}
    print(title)
    print("  %-14s %6s %9s %8s %12s" % ("source", "images", "accuracy", "unsure", "acc. outside"))
    for src in sources + ["overall"]:
        m = np.array([src == "overall" or r["source"] == src for r in rows])
        p, t = prob[m], truth[m]
        sure = (p < LOW) | (p > HIGH)
        acc = float(np.mean((p > 0.5) == t))
        sure_acc = float(np.mean((p[sure] > 0.5) == t[sure])) if sure.any() else float("nan")
        out[src] = {"images": int(m.sum()), "correct": int(np.sum((p > 0.5) == t)), "accuracy": acc,
                    "unsure": float(1 - sure.mean()), "accuracy_outside_unsure": sure_acc}
        print("  %-14s %6d %8.2f%% %7.1f%% %11.2f%%" % (src, m.sum(), 100 * acc, 100 * (1 - sure.mean()),
                                                       100 * sure_acc))
    return out


def val_rows(data_dir, labels=("beach", "mountain")):
    return [r for r in data.read_manifest(data_dir) if r["part"] == "val" and r["label"] in labels]


def engine_scores(exe, model_dir, data_dir, rows, batch=200):
    """Scores from the native CLI, in row order."""
    paths = [os.path.join(data_dir, r["path"]) for r in rows]
    got = {}
    for i in range(0, len(paths), batch):
        chunk = paths[i:i + batch]
        res = subprocess.run([exe, "classify", "--model", model_dir, "--json"] + chunk,
                             capture_output=True, text=True)
        for line in res.stdout.splitlines():
            if line.strip().startswith("{"):
                obj = json.loads(line)
                got[os.path.normpath(obj["file"])] = float(obj["score"])
        missing = [p for p in chunk if os.path.normpath(p) not in got]
        if missing:
            raise RuntimeError("%s gave no score for %d file(s), e.g. %s; stderr: %s"
                               % (exe, len(missing), missing[0], res.stderr.strip()[:500]))
    return np.array([got[os.path.normpath(p)] for p in paths])


def model_size(model_dir):
    meta = graph_ref.load_model_json(model_dir)["mvb"]["preprocess"]
    return meta["size"][0]


def graph_scores(model_dir, images_u8, batch=128):
    out = []
    for i in range(0, len(images_u8), batch):
        x = data.to_input(images_u8[i:i + batch]).permute(0, 2, 3, 1).numpy()
        out.append(graph_ref.run(model_dir, x, dtype=torch.float32)[:, 0])
    return np.concatenate(out)


def checkpoint_scores(checkpoint, images_u8, temperature):
    import export
    net, _ = export.load_net(checkpoint)
    return torch.sigmoid(export.logits_of(net, images_u8) / temperature).numpy()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    p.add_argument("--engine", help="path of the native CLI (build/native/mvb)")
    p.add_argument("--model", default=os.path.join(REPO, "weights"), help="model dir for --engine")
    p.add_argument("--graph", help="exported model dir, run with the Python reference")
    p.add_argument("--checkpoint", help="PyTorch checkpoint (float)")
    p.add_argument("--temperature", type=float,
                   help="for --checkpoint; default: the one in --graph's (or --model's) model.json, else 1")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--glacier", action="store_true", help="also show the verdicts on glacier images")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    rows = val_rows(args.data)
    results, scores = {}, {}
    if args.engine:
        scores["engine"] = engine_scores(args.engine, args.model, args.data, rows)
        results["engine"] = report(scores["engine"], rows, "C engine (%s, %s):" % (args.engine, args.model))
    images = None
    if args.graph or args.checkpoint:
        if args.graph:
            size = model_size(args.graph)
        else:
            size = torch.load(args.checkpoint, map_location="cpu")["size"]
        images = data.decode_all(args.data, rows, size)
    if args.graph:
        scores["graph"] = graph_scores(args.graph, images)
        results["graph"] = report(scores["graph"], rows, "exported graph, uint8 weights (%s):" % args.graph)
    if args.checkpoint:
        t = args.temperature
        if t is None:
            beside = args.graph or args.model
            t = 1.0
            if os.path.exists(os.path.join(beside, "model.json")):
                t = graph_ref.load_model_json(beside)["mvb"].get("temperature", 1.0)
        scores["float"] = checkpoint_scores(args.checkpoint, images, t)
        results["float"] = report(scores["float"], rows, "PyTorch float checkpoint (T=%.4f):" % t)
    names = list(scores)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = scores[names[i]], scores[names[j]]
            agree = float(np.mean(verdicts(a) == verdicts(b)))
            results["%s_vs_%s" % (names[i], names[j])] = {"verdict_agreement": agree,
                                                           "max_abs_diff": float(np.abs(a - b).max())}
            print("%s vs %s: verdicts agree on %.2f%% of %d, max |d score| %.3g"
                  % (names[i], names[j], 100 * agree, len(a), np.abs(a - b).max()))
    if args.glacier:
        g_rows = val_rows(args.data, ("glacier",))
        if args.engine:
            g = engine_scores(args.engine, args.model, args.data, g_rows)
        elif args.graph:
            g = graph_scores(args.graph, data.decode_all(args.data, g_rows, model_size(args.graph)))
        else:
            g = None
        if g is not None:
            v = verdicts(g)
            share = {k: float(np.mean(v == k)) for k in ("mountain", "not sure", "beach")}
            results["glacier"] = dict(share, images=len(g_rows))
            print("glacier (%d, not scored): %s" % (len(g_rows), ", ".join(
                "%s %.1f%%" % (k, 100 * x) for k, x in share.items())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
