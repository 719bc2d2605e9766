"""What the model says on held-out photos: its score, as the original was
judged, and the verdict a user is shown.

    /usr/bin/python3 train/evaluate.py --engine build/native/mvb [--model weights]
    /usr/bin/python3 train/evaluate.py --graph weights          # exported files, Python reference
    /usr/bin/python3 train/evaluate.py --checkpoint RUN/final.pt [--temperature T]
    /usr/bin/python3 train/evaluate.py --graph weights --checkpoint RUN/final.pt  # + agreement
    options: --grey (also black-and-white copies), --jpeg Q (also copies saved as JPEGs of
             quality Q), --sizes (engine: 100..4000 px copies),
             --weight-levels K (checkpoint: weights on K levels, as export.py --weight-levels),
             --precision f32|int8|both (engine: mvb --precision; both = f32 and int8, compared),
             --near (how the left-out Places near: categories are called), --json FILE,
             --probs FILE.npz (each photo's probabilities, for train/compare.py)

Rows: the validation split (data.py): beach and mountain photos of every
source, and "neither" photos (Intel's buildings/street/forest test split,
Places neither categories held out of training whole ("unseen"), and a
slice of the trained ones). A checkpoint trained with --exclude SOURCE is
also judged on every beach/mountain photo of that source (cross-source).

Beach/mountain accuracy counts score > 0.5 as mountain (score = P(mountain)
among beach + mountain), as the original's 94.29% was counted; "not sure" and
"neither" are the engine's verdicts by the model's rules (verdict.py mirrors
src/mvb.c), and "shown right" counts only the photos whose verdict is their
class (a "not sure" or "neither" is not right there). For neither photos,
"flagged" = verdict neither or not sure. Calibration: expected calibration
error per class (one-vs-rest, 10 bins) at T = 1 and at the model's T.

--engine runs the native CLI (`mvb classify --json`, many files per call)
on the original JPEGs: decoding, resizing and normalization are the
engine's own.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train.py

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import graph_ref  # noqa: E402
import verdict  # noqa: E402
from model import BEACH, MOUNTAIN, NEITHER  # noqa: E402

REPO = os.path.dirname(HERE)


def group_of(r):
    """The reporting group of a row: its source for beach/mountain photos,
    neither:unseen / neither:SOURCE for neither photos."""
    if r["y"] == NEITHER:
        return "neither:" + ("unseen" if data.held_out_category(r["path"]) else r["source"])
    return r["source"]


def eval_rows(data_dir, excluded=()):
    return [r for r in data.read_manifest(data_dir) if r["y"] in (BEACH, MOUNTAIN, NEITHER) and (
        r["part"] == "val" or (r["source"] in excluded and r["y"] != NEITHER))]


def ece(probs, rows, cls, bins=10):
    """Expected calibration error of P(cls) against (y == cls)."""
    p = probs[:, cls]
    t = np.array([r["y"] == cls for r in rows], dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return float(sum(abs(p[idx == b].mean() - t[idx == b].mean()) * np.mean(idx == b)
                     for b in range(bins) if np.any(idx == b)))


def right_of(probs, y, rules):
    """Per photo of class y, whether it came out right: for a beach/mountain
    photo, score > 0.5 on its side; for a neither photo, flagged (verdict
    neither or not sure). What report() counts and compare.py resamples."""
    v = verdict.verdicts(probs, rules)
    s = verdict.scores(probs)
    return np.where(y == NEITHER, np.isin(v, ("neither", "not sure")), (s > 0.5) == (y == MOUNTAIN))


def report(probs, rows, rules, title):
    """Prints and returns per-group figures."""
    v = verdict.verdicts(probs, rules)
    groups_of = np.array([group_of(r) for r in rows])
    right = right_of(probs, np.array([r["y"] for r in rows]), rules)
    out = {}
    print(title)
    print("  %-22s %6s %9s %8s %9s %12s %12s" % ("beach/mountain", "images", "accuracy", "unsure",
                                               "neither", "acc. sure", "shown right"))
    bm = np.array([r["y"] != NEITHER for r in rows])
    truth = np.array([r["y"] == MOUNTAIN for r in rows])
    groups = sorted(set(groups_of[bm]))
    for g in groups + ["overall"]:
        m = bm & ((groups_of == g) | (g == "overall"))
        if not m.any():
            continue
        sure = np.isin(v[m], ("beach", "mountain"))
        sure_ok = (v[m][sure] == np.where(truth[m][sure], "mountain", "beach"))
        out[g] = {"images": int(m.sum()), "correct": int(right[m].sum()), "accuracy": float(right[m].mean()),
                  "not_sure": float(np.mean(v[m] == "not sure")),
                  "neither": float(np.mean(v[m] == "neither")),
                  "accuracy_sure": float(sure_ok.mean()) if sure.any() else float("nan"),
                  "shown_right": float(sure_ok.sum() / m.sum())}
        o = out[g]
        print("  %-22s %6d %8.2f%% %7.1f%% %8.1f%% %11.2f%% %11.2f%%" % (
            g, o["images"], 100 * o["accuracy"], 100 * o["not_sure"], 100 * o["neither"],
            100 * o["accuracy_sure"], 100 * o["shown_right"]))
    ngroups = sorted(set(groups_of[~bm]))
    if ngroups:
        print("  %-22s %6s %9s %8s %8s %9s" % ("neither photos", "images", "flagged", "neither",
                                             "beach", "mountain"))
    for g in ngroups:
        m = ~bm & (groups_of == g)
        vv = v[m]
        out[g] = {"images": int(m.sum()), "flagged": float(right[m].mean()),
                  "neither": float(np.mean(vv == "neither")), "beach": float(np.mean(vv == "beach")),
                  "mountain": float(np.mean(vv == "mountain"))}
        o = out[g]
        print("  %-22s %6d %8.1f%% %7.1f%% %7.1f%% %8.1f%%" % (
            g, o["images"], 100 * o["flagged"], 100 * o["neither"], 100 * o["beach"],
            100 * o["mountain"]))
    return out


def save_probs(path, rows, rules, probs):
    """Each photo's path, group, class and probabilities (one (N, 3) array per
    way of running the model: engine, graph, float, ..._grey), and the rules."""
    np.savez_compressed(path, paths=np.array([r["path"] for r in rows]),
                        groups=np.array([group_of(r) for r in rows]),
                        y=np.array([r["y"] for r in rows]), rules=json.dumps(rules),
                        **{"probs_" + k: v for k, v in probs.items()})


def calibration(logits_fn, rows, t):
    """ECE per exported class at T = 1 and at T."""
    res = {}
    for name, temp in (("T=1", 1.0), ("T=%.4f" % t, t)):
        probs = logits_fn(temp)
        res[name] = {c: ece(probs, rows, i) for i, c in enumerate(("beach", "mountain", "neither"))}
        print("  calibration %-9s ECE beach %.4f, mountain %.4f, neither %.4f" % (
            name, *res[name].values()))
    return res


def engine_probs(exe, model_dir, paths, batch=200, precision="f32"):
    """(N, 3) from the native CLI, in path order."""
    got = {}
    for i in range(0, len(paths), batch):
        chunk = paths[i:i + batch]
        res = subprocess.run([exe, "classify", "--model", model_dir, "--json", "--precision", precision]
                             + chunk, capture_output=True, text=True)
        for line in res.stdout.splitlines():
            if line.strip().startswith("{"):
                obj = json.loads(line)
                if "error" in obj:
                    raise RuntimeError("%s refused %s: %s" % (exe, obj["file"], obj["error"]))
                p = obj["probabilities"]
                got[os.path.normpath(obj["file"])] = (p["beach"], p["mountain"], p.get("neither", 0.0))
        missing = [p for p in chunk if os.path.normpath(p) not in got]
        if missing:
            raise RuntimeError("%s gave no result for %d file(s), e.g. %s; stderr: %s"
                               % (exe, len(missing), missing[0], res.stderr.strip()[:500]))
    return np.array([got[os.path.normpath(p)] for p in paths])


def model_json(model_dir):
    return graph_ref.load_model_json(model_dir)


def graph_probs(model_dir, images_u8, batch=128):
    out = []
    for i in range(0, len(images_u8), batch):
        x = data.to_input(images_u8[i:i + batch]).permute(0, 2, 3, 1).numpy()
        y = graph_ref.run(model_dir, x, dtype=torch.float32)
        if y.shape[1] == 1:  # a one-score model: P(mountain)
            y = np.stack([1 - y[:, 0], y[:, 0], np.zeros(len(y))], axis=1)
        out.append(y)
    return np.concatenate(out)


def checkpoint_logits(checkpoint, images_u8, levels=None):
    import export
    net, _ = export.load_net(checkpoint, levels)
    return export.logits_of(net, images_u8)


def jpeg(images_u8, quality):
    return np.stack([data.jpeg_copy(x, quality) for x in images_u8]) if len(images_u8) else images_u8


def grey(images_u8):
    g = (0.299 * images_u8[..., 0] + 0.587 * images_u8[..., 1] + 0.114 * images_u8[..., 2])
    return np.repeat(np.clip(np.rint(g), 0, 255).astype(np.uint8)[..., None], 3, axis=3)


# The engine's default pixel limit (src/mvb.h MVB_DEFAULT_MAX_IMAGE_PIXELS).
MAX_PIXELS = 50000000


def resized_copies(data_dir, rows, side, tmp):
    """JPEG copies of rows with short side `side` (quality 90), for the engine,
    and the rows they are of: a copy over the engine's pixel limit (a panorama
    at 4000 px) is left out, since the engine refuses it by design."""
    paths, kept = [], []
    for k, r in enumerate(rows):
        with Image.open(os.path.join(data_dir, r["path"])) as im:
            im = im.convert("RGB")
            w, h = im.size
            f = side / min(w, h)
            size = (max(1, round(w * f)), max(1, round(h * f)))
            if size[0] * size[1] > MAX_PIXELS:
                print("  left out at %d px (over the pixel limit): %s" % (side, r["path"]))
                continue
            im = im.resize(size, Image.BICUBIC)
            p = os.path.join(tmp, "%d-%05d.jpg" % (side, k))
            im.save(p, quality=90)
            paths.append(p)
            kept.append(r)
    return paths, kept


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    p.add_argument("--engine", help="path of the native CLI (build/native/mvb)")
    p.add_argument("--model", default=os.path.join(REPO, "weights"), help="model dir for --engine")
    p.add_argument("--precision", choices=("f32", "int8", "both"), default=None,
                   help="--engine's arithmetic (mvb --precision; default: the model's own, "
                        "model.json's mvb.precision); both: f32 and int8, compared")
    p.add_argument("--graph", help="exported model dir, run with the Python reference")
    p.add_argument("--checkpoint", help="PyTorch checkpoint (float)")
    p.add_argument("--temperature", type=float,
                   help="for --checkpoint; default: the one in --graph's (or --model's) model.json, else 1")
    p.add_argument("--exclude", action="append", default=[],
                   help="also judge every beach/mountain photo of this source (default: the "
                        "checkpoint's own --exclude)")
    p.add_argument("--grey", action="store_true", help="also black-and-white copies (graph/checkpoint)")
    p.add_argument("--jpeg", type=int, metavar="Q",
                   help="also copies saved as JPEGs of quality Q, as a compressed upload or a photo "
                        "from the web (graph/checkpoint)")
    p.add_argument("--sizes", action="store_true",
                   help="engine: 300 beach/mountain photos resized to 100 and 4000 px")
    p.add_argument("--near", action="store_true", help="how the left-out near: categories are called")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--probs", help="write each photo's probabilities here (.npz), for compare.py")
    p.add_argument("--weight-levels", type=int, default=None,
                   help="--checkpoint: its convolutions' weights on this many levels, as "
                        "export.py --weight-levels writes them (default: as trained)")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    excluded = list(args.exclude)
    size = None
    if args.checkpoint:
        ck = torch.load(args.checkpoint, map_location="cpu")
        excluded += ck.get("args", {}).get("exclude", []) if not args.exclude else []
        size = ck["size"]
    beside = args.graph or args.model
    mvb = model_json(beside).get("mvb", {}) if os.path.exists(os.path.join(beside, "model.json")) else {}
    rules = verdict.rules_of(mvb)
    if args.graph:
        size = mvb["preprocess"]["size"][0]
    rows = eval_rows(args.data, excluded)
    results, probs, copy_probs = {"rules": rules, "excluded": excluded}, {}, {}
    paths = [os.path.join(args.data, r["path"]) for r in rows]
    # The precision a user gets (the model's own) unless one is asked for; --sizes and --near
    # use it when both are compared.
    one_precision = mvb.get("precision", "f32") if args.precision in (None, "both") else args.precision
    for precision in (("f32", "int8") if args.precision == "both" else (one_precision,)) if args.engine else ():
        name = "engine" if precision == "f32" else "engine_" + precision
        probs[name] = engine_probs(args.engine, args.model, paths, precision=precision)
        results[name] = report(probs[name], rows, rules,
                               "C engine (%s, %s, %s):" % (args.engine, args.model, precision))
    images = data.decode_all(args.data, rows, size) if size else None
    if args.graph:
        probs["graph"] = graph_probs(args.graph, images)
        results["graph"] = report(probs["graph"], rows, rules, "exported graph, uint8 weights (%s):" % args.graph)
    if args.checkpoint:
        t = args.temperature if args.temperature is not None else mvb.get("temperature", 1.0)
        z = checkpoint_logits(args.checkpoint, images, args.weight_levels)
        probs["float"] = torch.softmax(z / t, dim=1).numpy()
        results["float"] = report(probs["float"], rows, rules, "PyTorch float checkpoint (T=%.4f):" % t)
        results["calibration"] = calibration(lambda tt: torch.softmax(z / tt, dim=1).numpy(), rows, t)
    copies = []  # (key, title, how the copies are made)
    if args.grey:
        copies.append(("grey", "black-and-white copies", grey))
    if args.jpeg:
        results["jpeg_quality"] = args.jpeg
        copies.append(("jpeg", "copies saved as JPEGs of quality %d" % args.jpeg, lambda im: jpeg(im, args.jpeg)))
    for key, what, make in copies:
        if args.checkpoint:
            zc = checkpoint_logits(args.checkpoint, make(images), args.weight_levels)
            copy_probs["float_" + key] = torch.softmax(zc / t, dim=1).numpy()
            results["float_" + key] = report(copy_probs["float_" + key], rows, rules,
                                             "%s, PyTorch float (T=%.4f):" % (what, t))
        elif args.graph:
            copy_probs["graph_" + key] = graph_probs(args.graph, make(images))
            results["graph_" + key] = report(copy_probs["graph_" + key], rows, rules,
                                             "%s, exported graph:" % what)
    for name, pr in probs.items():
        v = verdict.verdicts(pr, rules)
        results.setdefault("verdict_share", {})[name] = verdict.shares(v)
    names = list(probs)
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            a, b = probs[names[i]], probs[names[j]]
            agree = float(np.mean(verdict.verdicts(a, rules) == verdict.verdicts(b, rules)))
            d = float(np.abs(verdict.scores(a) - verdict.scores(b)).max())
            dp = float(np.abs(a - b).max())
            results["%s_vs_%s" % (names[i], names[j])] = {"verdict_agreement": agree, "max_abs_d_score": d,
                                                           "max_abs_d_prob": dp}
            print("%s vs %s: verdicts agree on %.2f%% of %d, max |d score| %.3g, max |d prob| %.3g"
                  % (names[i], names[j], 100 * agree, len(a), d, dp))
    if args.engine and args.sizes:
        bm = [r for r in rows if r["y"] != NEITHER][::max(1, len([r for r in rows if r["y"] != NEITHER]) // 300)]
        with tempfile.TemporaryDirectory() as tmp:
            for side in (100, 4000):
                copies, kept = resized_copies(args.data, bm, side, tmp)
                pr = engine_probs(args.engine, args.model, copies, batch=20, precision=one_precision)
                results["engine_%dpx" % side] = report(pr, kept, rules,
                                                       "C engine, copies with short side %d px:" % side)
    if args.near and (args.engine or args.graph or args.checkpoint):
        near = [r for r in data.read_manifest_all(args.data) if r["label"].startswith("near:")
                and data.class_of(r["label"]) is None]
        if args.engine:
            pr = engine_probs(args.engine, args.model, [os.path.join(args.data, r["path"]) for r in near],
                              precision=one_precision)
        else:
            pr = graph_probs(args.graph, data.decode_all(args.data, near, size)) if args.graph else None
        if pr is not None:
            v = verdict.verdicts(pr, rules)
            print("left-out near: categories (no class, so no right answer; trained on only by "
                  "runs with --aux or --kd-unlabelled, on their train split):")
            res = {}
            for cat in sorted({r["label"][5:] for r in near}):
                m = np.array([r["label"][5:] == cat for r in near])
                res[cat] = verdict.shares(v[m])
                print("  %-14s %s" % (cat, ", ".join("%s %3.0f%%" % (k, 100 * x) for k, x in res[cat].items())))
            results["near"] = res
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.probs:
        save_probs(args.probs, rows, rules, {**probs, **copy_probs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
