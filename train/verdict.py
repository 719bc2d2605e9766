"""The verdict, as the C engine decides it (src/mvb.c, decide()), from the
rules model.json's "mvb" key holds (src/model_mvb.c documents them). Python
reads the same keys so that evaluation counts what a user is shown.

probs: (N, 3) probabilities in the order beach, mountain, neither (a model
without "neither" has 0 there).
"""
import numpy as np

BEACH, MOUNTAIN, NEITHER = 0, 1, 2
DEFAULTS = {"mountain_above": 0.65, "beach_below": 0.35, "neither_above": 0.5}
NAMES = ("beach", "mountain", "not sure", "neither")


def rules_of(mvb):
    """The rules from a model.json "mvb" dict (defaults where absent)."""
    r = dict(DEFAULTS)
    mvb = mvb or {}
    if "verdict" in mvb:
        r.update(mvb["verdict"])
    elif "thresholds" in mvb:
        r["beach_below"], r["mountain_above"] = mvb["thresholds"]
    r.setdefault("unsure_above", r["neither_above"])
    return r


def scores(probs):
    """P(mountain) among beach + mountain."""
    bm = probs[:, BEACH] + probs[:, MOUNTAIN]
    return np.where(bm > 0, probs[:, MOUNTAIN] / np.maximum(bm, 1e-30), 0.5)


def verdicts(probs, rules):
    """Array of "beach" / "mountain" / "not sure" / "neither"."""
    s = scores(probs)
    pn = probs[:, NEITHER]
    v = np.where(s > rules["mountain_above"], "mountain",
                 np.where(s < rules["beach_below"], "beach", "not sure")).astype(object)
    v[pn > rules["unsure_above"]] = "not sure"
    v[pn > rules["neither_above"]] = "neither"
    return v


def shares(v):
    """{verdict name: share of v} for an array that verdicts() returned."""
    return {k: float(np.mean(v == k)) for k in NAMES}
