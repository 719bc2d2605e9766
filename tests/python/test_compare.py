"""train/compare.py: the paired bootstrap that says whether one model beats
another on validation or the difference is the draw of the photos; and
evaluate.py's --probs file it reads. Needs no data set: made-up photos and
probabilities.

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "train"))

import compare  # noqa: E402
import evaluate  # noqa: E402
import verdict  # noqa: E402
from model import BEACH, MOUNTAIN, NEITHER  # noqa: E402

RULES = verdict.rules_of({})


def made_up_photos():
    """Rows as data.read_manifest gives them: 100 beach/mountain photos of
    two sources and 60 Places neither photos in 6 categories."""
    rows = []
    for i in range(100):
        src = "intel" if i < 60 else "places-mini"
        rows.append({"path": "%s/%s/%03d.jpg" % (src, "beach" if i % 2 else "mountain", i),
                     "source": src, "y": BEACH if i % 2 else MOUNTAIN})
    for i in range(60):
        rows.append({"path": "places-mini/neither/cat%d/%03d.jpg" % (i // 10, i),
                     "source": "places-mini", "y": NEITHER})
    return rows


def probs_for(rows, wrong):
    """Confident probabilities, on the right class except for rows in `wrong`."""
    p = np.zeros((len(rows), 3))
    for i, r in enumerate(rows):
        y = r["y"]
        if i in wrong:
            y = {BEACH: MOUNTAIN, MOUNTAIN: BEACH, NEITHER: BEACH}[y]
        p[i] = 0.02
        p[i, y] = 0.96
    return p


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.rows = made_up_photos()
        self.groups = np.array([evaluate.group_of(r) for r in self.rows])
        self.y = np.array([r["y"] for r in self.rows])
        self.bm = self.y != NEITHER

    def right(self, wrong):
        return evaluate.right_of(probs_for(self.rows, wrong), self.y, RULES)

    def test_right_of_counts_what_report_counts(self):
        wrong = {0, 1, 70, 130}
        right = self.right(wrong)
        self.assertEqual(int((~right).sum()), 4)
        with contextlib.redirect_stdout(io.StringIO()):
            out = evaluate.report(probs_for(self.rows, wrong), self.rows, RULES, "")
        # Counted by hand from how the photos were made, not through right_of: every
        # group is right but for the rows of `wrong` it holds.
        self.assertAlmostEqual(out["intel"]["accuracy"], 58 / 60)
        self.assertAlmostEqual(out["places-mini"]["accuracy"], 39 / 40)
        for g in set(self.groups):
            rows = set(np.flatnonzero(self.groups == g))
            figure = out[g]["accuracy"] if self.bm[list(rows)[0]] else out[g]["flagged"]
            self.assertAlmostEqual(figure, 1 - len(rows & wrong) / len(rows), msg=g)

    def test_shown_right_counts_not_sure_and_neither_as_wrong_where_accuracy_does_not(self):
        p = probs_for(self.rows, set())
        p[1] = [0.58, 0.40, 0.02]  # a beach photo, score 0.41: beach's side, but "not sure"
        p[3] = [0.05, 0.00, 0.95]  # a beach photo called "neither"; its score is 0
        p[5] = [0.10, 0.88, 0.02]  # a beach photo called "mountain"
        with contextlib.redirect_stdout(io.StringIO()):
            out = evaluate.report(p, self.rows, RULES, "")
        self.assertAlmostEqual(out["intel"]["accuracy"], 59 / 60)
        self.assertAlmostEqual(out["intel"]["shown_right"], 57 / 60)
        self.assertAlmostEqual(out["intel"]["accuracy_sure"], 57 / 58)
        self.assertAlmostEqual(out["places-mini"]["shown_right"], 1.0)

    def test_photos_of_one_mexico_place_are_one_unit(self):
        paths = ["mexico-places/beach/holbox_1.jpg", "mexico-places/beach/holbox_22.jpg",
                 "mexico-places/mountain/pico_de_orizaba_3.jpg", "mexico-places/mountain/pico_de_orizaba_40.jpg",
                 "intel/beach/holbox_1.jpg", "places-mini/neither/kitchen/1.jpg", "places-mini/neither/kitchen/2.jpg"]
        self.assertEqual(compare.units_of(paths), [
            "mexico-places/beach/holbox", "mexico-places/beach/holbox",
            "mexico-places/mountain/pico_de_orizaba", "mexico-places/mountain/pico_de_orizaba",
            "intel/beach/holbox_1.jpg", "kitchen", "kitchen"])

    def test_same_model_differs_by_nothing(self):
        right = self.right({3, 65, 120})
        res = compare.compare(right, right, self.groups, self.bm, rounds=500)
        for k, r in res.items():
            self.assertEqual((r.a, r.diff, r.low, r.high, r.b_above), (r.b, 0.0, 0.0, 0.0, 0.5), k)

    def test_figures_as_evaluate_prints_them(self):
        # intel (60 photos) all right, places-mini 30 of 40: the source mean
        # counts each source the same, overall counts photos.
        right = self.right(set(range(60, 70)))
        res = compare.compare(right, right, self.groups, self.bm, rounds=10)
        self.assertAlmostEqual(res["intel"].a, 1.0)
        self.assertAlmostEqual(res["places-mini"].a, 0.75)
        self.assertAlmostEqual(res[compare.SOURCE_MEAN].a, 0.875)
        self.assertAlmostEqual(res[compare.OVERALL].a, 0.9)

    def test_a_clear_gain_is_told_from_a_draw(self):
        a = self.right(set(range(60, 80)))  # A misses 20 of places-mini's 40
        b = self.right(set(range(60, 62)))  # B misses 2 of them
        res = compare.compare(a, b, self.groups, self.bm, rounds=2000, seed=2)
        pm = res["places-mini"]
        self.assertAlmostEqual(pm.diff, 0.45)
        self.assertGreater(pm.low, 0.2)
        self.assertEqual(pm.b_above, 1.0)
        self.assertEqual(res["intel"][2:], (0.0, 0.0, 0.0, 0.5))
        # one photo apart: a draw without it (39/40 each time, 40 times) ties,
        # so the interval reaches zero and B is above A in about 82% of draws
        c = self.right(set(range(61, 80)))
        res = compare.compare(a, c, self.groups, self.bm, rounds=4000, seed=2)
        self.assertEqual(res["places-mini"].low, 0.0)
        self.assertAlmostEqual(res["places-mini"].b_above, 1 - 0.5 * (39 / 40) ** 40, delta=0.02)

    def test_categories_are_drawn_whole(self):
        # B flags every photo of cat0 that A misses: drawn by photo, 60 draws
        # of independent photos; drawn by category, 6 units, so B is not
        # above A in the draws without cat0 (about (5/6)^6 of them).
        a = self.right(set(range(100, 110)))
        b = self.right(set())
        units = compare.units_of([r["path"] for r in self.rows])
        self.assertEqual(len(set(units)), 100 + 6)
        by_photo = compare.compare(a, b, self.groups, self.bm, rounds=4000, seed=3)
        by_cat = compare.compare(a, b, self.groups, self.bm, units, rounds=4000, seed=3)
        g = "neither:places-mini"
        self.assertEqual(by_photo[g].b_above, 1.0)
        self.assertAlmostEqual(by_cat[g].b_above, 1 - 0.5 * (5 / 6) ** 6, delta=0.03)
        self.assertLess(by_photo[g].high - by_photo[g].low, by_cat[g].high - by_cat[g].low)

    def test_categories_listed_losses_first(self):
        # A misses 3 photos of cat0 and 1 of cat1; B misses 5 of cat1 and 1
        # of cat2. cat1 and cat4 are among the held-out ("unseen") categories.
        wrong_a, wrong_b = {100, 101, 102, 110}, {110, 111, 112, 113, 114, 120}
        units = compare.units_of([r["path"] for r in self.rows])
        rows = compare.by_category(self.right(wrong_a), self.right(wrong_b), self.groups, units)
        self.assertEqual(rows, [("neither:places-mini", "cat2", 10, 10, 9),
                                ("neither:places-mini", "cat3", 10, 10, 10),
                                ("neither:places-mini", "cat5", 10, 10, 10),
                                ("neither:places-mini", "cat0", 10, 7, 10),
                                ("neither:unseen", "cat1", 10, 9, 5),
                                ("neither:unseen", "cat4", 10, 10, 10)])
        with tempfile.TemporaryDirectory(prefix="mvb-compare-") as tmp:
            pa, pb = os.path.join(tmp, "a.npz"), os.path.join(tmp, "b.npz")
            evaluate.save_probs(pa, self.rows, RULES, {"float": probs_for(self.rows, wrong_a)})
            evaluate.save_probs(pb, self.rows, RULES, {"float": probs_for(self.rows, wrong_b)})
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                compare.main([pa, pb, "--rounds", "20", "--categories"])
            lines = out.getvalue().splitlines()
            table = [x.split() for x in lines[lines.index("") + 2:]]
            self.assertEqual(table[4], ["neither:unseen", "cat1", "10", "9", "5", "-4"])
            self.assertEqual(len(table), 6)

    def test_one_models_spread(self):
        # places-mini 30 of 40 right: about 1.96 binomial standard errors
        # either side; intel, all right, cannot move.
        right = self.right(set(range(60, 70)))
        res = compare.spread(right, self.groups, self.bm, rounds=4000, seed=4)
        value, lo, hi = res["places-mini"]
        se = (0.75 * 0.25 / 40) ** 0.5
        self.assertEqual(value, 0.75)
        self.assertAlmostEqual(lo, 0.75 - 1.96 * se, delta=0.03)
        self.assertAlmostEqual(hi, 0.75 + 1.96 * se, delta=0.03)
        self.assertEqual(res["intel"], (1.0, 1.0, 1.0))

    def test_probs_files_round_trip_and_align(self):
        with tempfile.TemporaryDirectory(prefix="mvb-compare-") as tmp:
            pa, pb = os.path.join(tmp, "a.npz"), os.path.join(tmp, "b.npz")
            evaluate.save_probs(pa, self.rows, RULES, {"float": probs_for(self.rows, {60, 61})})
            order = list(reversed(range(len(self.rows))))
            evaluate.save_probs(pb, [self.rows[i] for i in order], RULES,
                                {"float": probs_for(self.rows, set(range(60, 70)))[order],
                                 "float_grey": probs_for(self.rows, set())[order]})
            a = compare.load(pa)
            self.assertEqual(a.paths, [r["path"] for r in self.rows])
            self.assertEqual(list(a.groups), list(self.groups))
            self.assertEqual(a.rules, RULES)
            b = compare.aligned(a, compare.load(pb))
            self.assertEqual(b.paths, a.paths)
            np.testing.assert_array_equal(b.y, self.y)
            np.testing.assert_array_equal(b.probs, probs_for(self.rows, set(range(60, 70))))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                compare.main([pa, pb, "--rounds", "200"])
            line = [x for x in out.getvalue().splitlines() if x.startswith("places-mini")][0]
            self.assertEqual(line.split()[1:4], ["95.00", "75.00", "-20.00"])
            with contextlib.redirect_stdout(io.StringIO()):
                compare.main([pa, pb, "--b-as", "float_grey", "--rounds", "200"])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                compare.main([pb, "--rounds", "200"])
            line = [x for x in out.getvalue().splitlines() if x.startswith("places-mini")][0]
            self.assertEqual(line.split()[1], "75.00")
            with self.assertRaises(SystemExit):
                compare.load(pa, "engine")
            evaluate.save_probs(pb, self.rows[1:], RULES, {"float": probs_for(self.rows[1:], set())})
            with self.assertRaises(SystemExit):
                compare.aligned(a, compare.load(pb))


if __name__ == "__main__":
    unittest.main()
