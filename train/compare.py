"""Is model B better than model A on validation, or is the difference the
draw of the photos? A paired bootstrap over the photos both were run on.

    /usr/bin/python3 train/evaluate.py --checkpoint A/final.pt --weight-levels 64 --probs a.npz
    /usr/bin/python3 train/evaluate.py --checkpoint B/final.pt --weight-levels 64 --probs b.npz
    /usr/bin/python3 train/compare.py a.npz b.npz [--as float] [--rounds 10000] [--seed 1]
    /usr/bin/python3 train/compare.py a.npz          # one model: each figure's spread
    /usr/bin/python3 train/compare.py a.npz b.npz --categories   # and where it differs

Each figure is the one evaluate.py prints: a source's beach/mountain
accuracy, their mean over sources ("source mean", each source counting the
same), "overall" (all beach/mountain photos), and each "neither" group's
flagged share. The photos of each group are drawn again with replacement,
the same draw for A and for B (so what both get right or both get wrong
cancels out), `--rounds` times; each figure's B - A is read off every draw.
Places "neither" photos are drawn by category, all of a category's photos
at once: the held-out categories stand for kinds of photos never seen, and
the photos of one category are not independent of each other.
Printed: A, B, B - A, the central 95% of the drawn B - A, and the share of
draws in which B is above A (ties count half). Given one file, each figure
with the central 95% of its own draws: how far another draw of as many
photos of the same kinds could put it.

--categories adds, for each Places "neither" category, how many of its
photos each model flags, B's largest losses first: a "neither" figure drawn
by whole categories can move on one of them.

On 172 places-mini photos one photo is 0.58 points and on sun-scenes' 79
one is 1.27 (0.32 on the source mean): read a rule such as "source mean
+0.3" against the interval printed here.
"""
import argparse
import collections
import json
import sys

import numpy as np

import data
import evaluate

SOURCE_MEAN, OVERALL = "source mean", "overall"

# One evaluate.py --probs file, one way of running the model: per photo its
# path, reporting group, class and (beach, mountain, neither) probabilities;
# and the verdict rules they were judged by.
Run = collections.namedtuple("Run", "paths groups y probs rules")
# A figure of two models: A's, B's, B - A, the central 95% of the drawn
# B - A, and the share of draws in which B is above A (ties count half).
Difference = collections.namedtuple("Difference", "a b diff low high b_above")


def load(path, name=None):
    """The Run in an evaluate.py --probs file; `name` picks which way of
    running the model (engine, engine_int8, graph, float, float_grey...), by
    default the only one or the first."""
    f = np.load(path)
    names = [k[len("probs_"):] for k in f.files if k.startswith("probs_")]
    if name is None and names:
        name = names[0]
    if name not in names:
        raise SystemExit("%s has no probabilities %r (it has: %s)" % (path, name, ", ".join(names) or "none"))
    return Run(list(f["paths"]), f["groups"], f["y"], f["probs_" + name], json.loads(str(f["rules"])))


def aligned(a, b):
    """B's rows put in A's order; refuses two files not of the same photos."""
    pos = {p: i for i, p in enumerate(b.paths)}
    if len(pos) != len(b.paths) or sorted(a.paths) != sorted(b.paths):
        raise SystemExit("the two files are not of the same photos (%d and %d rows)"
                         % (len(a.paths), len(b.paths)))
    order = np.array([pos[p] for p in a.paths])
    return Run(a.paths, b.groups[order], b.y[order], b.probs[order], b.rules)


def figures(means, sizes, sources):
    """{figure: value} from each group's share of right photos (numbers or
    arrays of draws): the groups themselves, the source mean and overall
    (the sources' photos together)."""
    out = dict(means)
    out[SOURCE_MEAN] = sum(means[g] for g in sources) / len(sources)
    out[OVERALL] = sum(means[g] * sizes[g] for g in sources) / sum(sizes[g] for g in sources)
    return out


def resample(rights, groups, bm, units=None, rounds=10000, seed=1):
    """[(figures, drawn figures)] for each model's per-photo right/wrong in
    `rights`. Each round draws every group's own units with replacement, the
    same units for every model; a unit is a photo, or all photos sharing a
    `units` label (a held-out Places category: new photos come in new
    categories, and photos of one category are not independent)."""
    units = np.arange(len(groups)) if units is None else np.asarray(units)
    rng = np.random.default_rng(seed)
    sources = sorted(set(groups[bm]))
    names = sources + sorted(set(groups[~bm]))
    sizes = {g: int(np.sum(groups == g)) for g in names}
    point, drawn = [{} for _ in rights], [{} for _ in rights]
    for g in names:
        m = groups == g
        _, unit = np.unique(units[m], return_inverse=True)
        count = np.bincount(unit)
        idx = rng.integers(0, len(count), size=(rounds, len(count)))
        for right, p, d in zip(rights, point, drawn):
            hits = np.bincount(unit, weights=right[m].astype(float), minlength=len(count))
            p[g] = hits.sum() / count.sum()
            d[g] = hits[idx].sum(-1) / count[idx].sum(-1)
    return [(figures(p, sizes, sources), figures(d, sizes, sources)) for p, d in zip(point, drawn)]


def units_of(paths):
    """resample()'s units for these photos: a Places "neither" photo's is its
    category, a mexico-places photo's its place, any other photo is its own."""
    return [data.category_of(p) or data.place_of(p) or p for p in paths]


def interval(draws):
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(lo), float(hi)


def compare(right_a, right_b, groups, bm, units=None, rounds=10000, seed=1):
    """{figure: Difference}, over paired draws (resample)."""
    (fa, da), (fb, db) = resample((right_a, right_b), groups, bm, units, rounds, seed)
    out = {}
    for k in fa:
        d = db[k] - da[k]
        out[k] = Difference(float(fa[k]), float(fb[k]), float(fb[k] - fa[k]), *interval(d),
                            float(np.mean(d > 0) + 0.5 * np.mean(d == 0)))
    return out


def spread(right, groups, bm, units=None, rounds=10000, seed=1):
    """{figure: (value, low, high)}: one model's figures and their central
    95% over draws of the photos (how far another draw of as many photos
    of the same kinds could put them)."""
    [(f, d)] = resample((right,), groups, bm, units, rounds, seed)
    return {k: (float(f[k]),) + interval(d[k]) for k in f}


def by_category(right_a, right_b, groups, units):
    """[(group, category, photos, A right, B right)] for every unit shared
    by several photos (a Places "neither" category), group by group, B's
    largest losses against A first and its largest gains last."""
    units = np.asarray(units)
    rows = []
    for g in sorted(set(groups)):
        m = groups == g
        for c in sorted(set(units[m])):
            k = m & (units == c)
            if k.sum() > 1:
                rows.append((g, c, int(k.sum()), int(right_a[k].sum()), int(right_b[k].sum())))
    return sorted(rows, key=lambda r: (r[0], r[4] - r[3], r[1]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="evaluate.py --probs file of the model to beat (alone: its figures' spread)")
    p.add_argument("b", nargs="?", help="evaluate.py --probs file of the candidate")
    p.add_argument("--as", dest="name", help="which probabilities of both files (default: each file's first)")
    p.add_argument("--b-as", help="which of B's, when it differs from A's")
    p.add_argument("--rounds", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--categories", action="store_true",
                   help="also each Places neither category's flagged photos, A against B")
    args = p.parse_args(argv)
    a = load(args.a, args.name)
    bm = a.y != evaluate.NEITHER
    units = units_of(a.paths)
    right_a = evaluate.right_of(a.probs, a.y, a.rules)
    if args.b is None:
        print("%-22s %7s   %s" % ("figure (%)", "value", "95% of draws"))
        for k, (f, lo, hi) in spread(right_a, a.groups, bm, units, args.rounds, args.seed).items():
            print("%-22s %7.2f   [%6.2f, %6.2f]" % (k, 100 * f, 100 * lo, 100 * hi))
        return 0
    b = aligned(a, load(args.b, args.b_as or args.name))
    if (a.groups != b.groups).any() or (a.y != b.y).any():
        raise SystemExit("the two files give the same photos different groups or classes")
    right_b = evaluate.right_of(b.probs, b.y, b.rules)
    res = compare(right_a, right_b, a.groups, bm, units, args.rounds, args.seed)
    print("%-22s %7s %7s %7s   %-17s %s" % ("figure (%)", "A", "B", "B - A", "95% of draws", "B above A"))
    for k, (fa, fb, d, lo, hi, up) in res.items():
        print("%-22s %7.2f %7.2f %+7.2f   [%+6.2f, %+6.2f]  %5.1f%%" % (
            k, 100 * fa, 100 * fb, 100 * d, 100 * lo, 100 * hi, 100 * up))
    if args.categories:
        print("\n%-22s %-22s %6s %5s %5s %6s" % ("group", "category", "photos", "A", "B", "B - A"))
        for g, c, n, ra, rb in by_category(right_a, right_b, a.groups, units):
            print("%-22s %-22s %6d %5d %5d %+6d" % (g, c, n, ra, rb, rb - ra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
