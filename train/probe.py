"""How a model calls pictures from sources nothing here trains on: what
Debian packages ship. A visitor's photo of their cat should come out
"neither" (at worst "not sure"); photos of beaches and mountains taken by
other people, with other cameras, should get their answer.

    /usr/bin/python3 train/probe.py --fetch DIR       # once: apt-get download, unpack
    /usr/bin/python3 train/probe.py --dir DIR --checkpoint RUN/final.pt
    /usr/bin/python3 train/probe.py --dir DIR --engine build/native/mvb [--model weights]
    options: --json FILE (every picture's probabilities and verdict)

Sets (written to DIR as RGB PNGs, transparency over white, as a page
shows them), each with the answer a person gives:
  animals   neither: gcompris-qt-data's explore_farm_animals and
            explore_world_animals photos (22: a cat, cows, a koala, a narwhal
            at the surface, a polar bear on snow...)
  drawings  neither: gcompris-qt-data's lang words_sample drawings (things,
            people, animals, digits: one subject on a plain ground)
  jigsaw    neither: palapeli-data's puzzle photos (a bridge, a bee, a
            chameleon, a castle, citrus fruits)
  avatars   neither: gnome-control-center-data's account pictures (things,
            food, animals, flowers, an astronaut, a plane's wing over
            clouds, lightning; 96 to 512 px), without its mountain, its
            palm beach at sunset and its surfer on a wave
  everyday  neither: the sample photos of opencv-doc, python3-skimage and
            python-matplotlib-data (26: animals, fruit, coffee, people, a
            football match, streets, a car, a motorcycle, a rocket on its
            pad, things on a desk), without their aerial views, drawings,
            textures and pictures of space
  es-beach, es-mountain, es-city, es-indoor: endless-sky-data's landing
            pictures, photographs from Unsplash, morgueFile, Wikimedia
            Commons and the game's contributors: beach* (13 shores, sandy
            and rocky: beach), mountain* (26: mountain), city* (19 skylines,
            several on water, one before hills: neither) and space* plus
            station* (13 interiors: neither). Their other pictures (fields,
            forest, fog, sky...) are left out: by their names alone, many
            show mountains.
"Right" is the expected answer's share (for a "neither" set: neither or
not sure). The verdict rules are those of the model.json beside the model
(--model, default weights/), with its temperature for a checkpoint, as
evaluate.py. Evaluation only: these pictures are never trained on.
"""
import argparse
import glob
import io
import json
import os
import struct
import subprocess
import sys
import zlib

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train.py

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data  # noqa: E402
import evaluate  # noqa: E402
import verdict  # noqa: E402

REPO = os.path.dirname(HERE)
PACKAGES = ("gcompris-qt-data", "palapeli-data", "endless-sky-data", "gnome-control-center-data",
            "opencv-doc", "python3-skimage", "python-matplotlib-data")
LANDING = "usr/share/games/endless-sky/images/land/"
OPENCV_SAMPLES = ("apple", "baboon", "basketball1", "board", "building", "butterfly", "chicky_512",
                  "ela_original", "fruits", "home", "leuvenA", "licenseplate_motion", "messi5",
                  "orange", "smarties", "squirrel_cls", "stuff", "rubberwhale1", "aloeL")
# set -> (expected answer, [(package, Qt resource bundle or None, path inside it / the
# package, the pictures' name prefixes or None for all; "!prefix" leaves those out)])
SETS = {
    "animals": ("neither", [
        ("gcompris-qt-data", "explore_farm_animals", "gcompris/src/activities/explore_farm_animals/resource/animals/", None),
        ("gcompris-qt-data", "explore_world_animals", "gcompris/src/activities/explore_world_animals/resource/animals/", None)]),
    "drawings": ("neither", [("gcompris-qt-data", "lang", "gcompris/src/activities/lang/resource/words_sample/", None)]),
    "jigsaw": ("neither", [("palapeli-data", None, "usr/share/palapeli/collection/", None)]),
    "avatars": ("neither", [("gnome-control-center-data", None, "usr/share/pixmaps/faces/",
                             ("!mountain", "!sunset", "!surfer"))]),
    "everyday": ("neither", [
        ("opencv-doc", None, "usr/share/doc/opencv-doc/examples/data/", OPENCV_SAMPLES),
        ("python3-skimage", None, "usr/lib/python3/dist-packages/skimage/data/",
         ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "camera")),
        ("python-matplotlib-data", None, "usr/share/matplotlib/mpl-data/sample_data/", ("grace_hopper",))]),
    "es-beach": ("beach", [("endless-sky-data", None, LANDING, ("beach",))]),
    "es-mountain": ("mountain", [("endless-sky-data", None, LANDING, ("mountain",))]),
    "es-city": ("neither", [("endless-sky-data", None, LANDING, ("city",))]),
    "es-indoor": ("neither", [("endless-sky-data", None, LANDING, ("space", "station"))]),
}
PICTURE = (".webp", ".jpg", ".jpeg", ".png")


def qt_resources(path):
    """{name: bytes} of a Qt .rcc bundle (format 1-3): a tree of nodes, each
    a directory (flag 2) or a file whose data may be zlib-compressed (flag 1);
    zstd-compressed files (flag 4) are skipped."""
    b = open(path, "rb").read()
    if b[:4] != b"qres":
        raise ValueError("%s is not a Qt resource bundle" % path)
    version, tree, blobs, names = struct.unpack(">IIII", b[4:20])
    node_size = 14 if version == 1 else 22
    out = {}

    def name(off):
        (n,) = struct.unpack(">H", b[names + off:names + off + 2])
        return b[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    def walk(i, prefix):
        o = tree + i * node_size
        name_off, flags = struct.unpack(">IH", b[o:o + 6])
        here = prefix + (name(name_off) if i else "")
        if flags & 2:
            count, child = struct.unpack(">II", b[o + 6:o + 14])
            for k in range(count):
                walk(child + k, here + "/" if i else "")
        elif not flags & 4:
            (off,) = struct.unpack(">I", b[o + 10:o + 14])
            (n,) = struct.unpack(">I", b[blobs + off:blobs + off + 4])
            blob = b[blobs + off + 4:blobs + off + 4 + n]
            out[here] = zlib.decompress(blob[4:]) if flags & 1 else blob

    walk(0, "")
    return out


def save_rgb(raw_or_path, dst):
    """A picture as an RGB PNG, transparent parts over white."""
    im = Image.open(raw_or_path)
    im.load()
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        ground = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(ground, im)
    im.convert("RGB").save(dst)


def wanted(stem, stems):
    """True if stem starts with one of stems' plain prefixes (or there are
    none) and with none of its "!" ones."""
    take = tuple(s for s in stems if not s.startswith("!"))
    leave = tuple(s[1:] for s in stems if s.startswith("!"))
    return (not take or stem.startswith(take)) and not (leave and stem.startswith(leave))


def fetch(out):
    """apt-get downloads PACKAGES into out/debs and writes every set's
    pictures to out/SET/."""
    debs = os.path.join(out, "debs")
    os.makedirs(debs, exist_ok=True)
    subprocess.run(["apt-get", "download"] + list(PACKAGES), cwd=debs, check=True)
    for pkg in PACKAGES:
        deb = glob.glob(os.path.join(debs, pkg + "_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(debs, pkg)], check=True)
    for name, (_, sources) in SETS.items():
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for pkg, bundle, prefix, stems in sources:
            root = os.path.join(debs, pkg)
            if bundle:
                files = qt_resources(os.path.join(root, "usr/share/gcompris-qt/rcc", bundle + ".rcc"))
                items = [(k, io.BytesIO(v)) for k, v in files.items()]
            else:
                items = [(p, os.path.join(root, p)) for p in
                         (os.path.relpath(f, root) for f in glob.glob(os.path.join(root, prefix, "*")))]
            for key, src in sorted(items, key=lambda kv: kv[0]):
                if key.startswith(prefix) and "/" not in key[len(prefix):] \
                        and key.lower().endswith(PICTURE):
                    stem = os.path.splitext(os.path.basename(key))[0]
                    if stems and not wanted(stem, stems):
                        continue
                    save_rgb(src, os.path.join(out, name, "%s-%s.png" % (bundle or pkg, stem)))
        print("%s: %d pictures" % (name, len(os.listdir(os.path.join(out, name)))))


def probabilities(args, rules_dir, paths):
    if args.engine:
        return evaluate.engine_probs(args.engine, args.model, paths, precision=args.precision)
    ck = torch.load(args.checkpoint, map_location="cpu")
    images = np.stack([data.load_engine_input(p, ck["size"]) for p in paths])
    t = args.temperature if args.temperature is not None else \
        evaluate.model_json(rules_dir).get("mvb", {}).get("temperature", 1.0)
    return torch.softmax(evaluate.checkpoint_logits(args.checkpoint, images) / t, dim=1).numpy()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fetch", metavar="DIR", help="download and unpack the sets into DIR")
    p.add_argument("--dir", help="the sets, as --fetch wrote them")
    p.add_argument("--engine", help="path of the native CLI (build/native/mvb)")
    p.add_argument("--model", default=os.path.join(REPO, "weights"), help="model dir (rules, --engine)")
    p.add_argument("--precision", choices=("f32", "int8"), default="int8")
    p.add_argument("--checkpoint", help="PyTorch checkpoint (float)")
    p.add_argument("--temperature", type=float, help="default: the --model's")
    p.add_argument("--json", help="write every picture's result here")
    args = p.parse_args(argv)
    if args.fetch:
        fetch(args.fetch)
        return 0
    if not args.dir or not (args.engine or args.checkpoint):
        p.error("give --fetch DIR, or --dir with --engine or --checkpoint")
    torch.set_num_threads(2)
    rules = verdict.rules_of(evaluate.model_json(args.model).get("mvb", {}))
    results = {}
    print("%-12s %-9s %6s %7s %8s %8s %8s %9s" % ("set", "expected", "images", "right", "neither",
                                                 "not sure", "beach", "mountain"))
    for name, (expected, _) in SETS.items():
        paths = sorted(glob.glob(os.path.join(args.dir, name, "*.png")))
        if not paths:
            continue
        probs = probabilities(args, args.model, paths)
        v = verdict.verdicts(probs, rules)
        share = verdict.shares(v)
        right = share[expected] + (share["not sure"] if expected == "neither" else 0.0)
        print("%-12s %-9s %6d %6.1f%% %7.1f%% %7.1f%% %7.1f%% %8.1f%%" % (
            name, expected, len(paths), 100 * right, 100 * share["neither"], 100 * share["not sure"],
            100 * share["beach"], 100 * share["mountain"]))
        results[name] = {"images": len(paths), "expected": expected, "right": right, "share": share, "pictures": {
            os.path.basename(f): {"verdict": str(vv), "probabilities": [round(float(x), 4) for x in pr]}
            for f, vv, pr in zip(paths, v, probs)}}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
