"""train.py --exclude SOURCE: the weights a run starts from (--init), learns
from (--teacher) or resumes (--resume) must not have been trained on SOURCE,
or the cross-source figure would measure a source the network has seen.
Needs no data set: the refusal comes before any photo is read.

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "train"))


class ExcludedSourceTest(unittest.TestCase):
    def setUp(self):
        import torch
        self.tmp = tempfile.TemporaryDirectory(prefix="mvb-exclude-")
        self.addCleanup(self.tmp.cleanup)
        self.trained_on_all = self.checkpoint("all.pt", {"exclude": []})
        self.without_places = self.checkpoint("without.pt", {"exclude": ["places-mini"]})
        self.unfolded = self.checkpoint("unfolded.pt", {"unfolded_from": "weights"})
        self.torch = torch

    def checkpoint(self, name, args):
        import torch
        path = os.path.join(self.tmp.name, name)
        torch.save({"model": {}, "args": args}, path)
        return path

    def refusal(self, *argv):
        import train
        with self.assertRaises(SystemExit) as caught:
            train.main(["--data", os.path.join(self.tmp.name, "no-data"),
                        "--out", os.path.join(self.tmp.name, "run")] + list(argv))
        return str(caught.exception)

    def test_init_trained_on_the_excluded_source_is_refused(self):
        msg = self.refusal("--exclude", "places-mini", "--init", self.trained_on_all)
        self.assertIn("all.pt was trained on places-mini, which --exclude leaves out", msg)

    def test_a_checkpoint_without_its_exclude_list_saw_every_source(self):
        msg = self.refusal("--exclude", "mexico-places", "--init", self.unfolded)
        self.assertIn("unfolded.pt was trained on mexico-places", msg)

    def test_teacher_trained_on_the_excluded_source_is_refused(self):
        msg = self.refusal("--exclude", "places-mini", "--teacher", self.without_places,
                           "--teacher", self.trained_on_all, "--kd", "0.5")
        self.assertIn("all.pt was trained on places-mini", msg)
        self.assertNotIn("without.pt", msg)

    def test_resuming_a_run_that_left_out_less_is_refused(self):
        run = os.path.join(self.tmp.name, "run")
        os.makedirs(run)
        self.torch.save({"model": {}, "args": {"exclude": ["places-mini"]}}, os.path.join(run, "last.pt"))
        msg = self.refusal("--exclude", "places-mini", "--exclude", "mexico-places", "--resume")
        self.assertIn("last.pt was trained on mexico-places", msg)
        self.assertNotIn("places-mini,", msg)

    def test_weights_that_left_the_source_out_pass_the_check(self):
        """Past the check, the run goes on to read the (absent) data: the
        failure is then about the manifest, not about the weights."""
        with self.assertRaises(OSError) as caught:
            import train
            train.main(["--data", os.path.join(self.tmp.name, "no-data"),
                        "--out", os.path.join(self.tmp.name, "run"),
                        "--exclude", "places-mini", "--init", self.without_places])
        self.assertIn("manifest.csv", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
