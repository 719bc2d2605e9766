"""Smoke run of the training pipeline: a few steps on a tiny subset of
../shared/data, export to the tfjs graph-model format, and check that the
exported files compute what the PyTorch network computes (Python reference,
TensorFlow.js when tests/node_modules has it, the C engine when
build/native/mvb exists). Skips with a message when ../shared/data is absent.

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("MVB_DATA", os.path.join(ROOT, "..", "shared", "data"))
sys.path.insert(0, os.path.join(ROOT, "train"))

@contextlib.contextmanager
def silenced():
    """print() goes nowhere inside (train.py and export.py report progress
    on stdout)."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


HAVE_DATA = os.path.exists(os.path.join(DATA, "manifest.csv"))
TFJS = os.path.join(ROOT, "tests", "node_modules", "@tensorflow", "tfjs")
ENGINE = os.path.join(ROOT, "build", "native", "mvb")
ALLOWED_OPS = {"Placeholder", "Const", "_FusedConv2D", "Conv2D", "AddV2", "Relu", "Mean",
               "_FusedMatMul", "Softmax", "Identity"}


@unittest.skipUnless(HAVE_DATA, "../shared/data is absent: training smoke test skipped")
class TrainingSmokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import torch
        torch.set_num_threads(2)
        import data
        import export
        import train
        cls.tmp = tempfile.mkdtemp(prefix="mvb-smoke-")
        run = os.path.join(cls.tmp, "run")
        # Tiny: 6 images per source/label/part, 2 steps of 8, 2 epochs.
        args = ["--data", DATA, "--out", run, "--limit", "6", "--epochs", "2", "--steps", "2",
                "--batch", "8", "--size", "64", "--store", "72", "--cache", ""]
        with silenced():
            train.main(args)
        cls.checkpoint = os.path.join(run, "final.pt")
        cls.out = os.path.join(cls.tmp, "weights")
        with silenced():
            export.main(["--checkpoint", cls.checkpoint, "--out", cls.out, "--calibrate",
                         "--data", DATA])
        rows = [r for r in data.read_manifest(DATA) if r["part"] == "val"][:200:25]
        cls.images = data.decode_all(DATA, rows, 64, workers=1)
        cls.x = data.to_input(cls.images).permute(0, 2, 3, 1).numpy().astype("<f4")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_training_resumes_from_its_checkpoint(self):
        import train
        run = os.path.join(self.tmp, "run")
        with silenced():
            train.main(["--data", DATA, "--out", run, "--limit", "6", "--epochs", "3", "--steps", "1",
                        "--batch", "8", "--size", "64", "--store", "72", "--cache", "", "--resume"])
        with open(os.path.join(run, "log.txt")) as f:
            log = f.read()
        self.assertIn("resumed after epoch 2", log)
        self.assertIn("epoch 3/3", log)

    def test_export_uses_only_engine_ops_and_uint8_weights(self):
        import graph_ref
        model = graph_ref.load_model_json(self.out)
        ops = {n["op"] for n in model["modelTopology"]["node"]}
        self.assertLessEqual(ops, ALLOWED_OPS)
        for w in model["weightsManifest"][0]["weights"]:
            if w["dtype"] == "float32":
                self.assertEqual(w["quantization"]["dtype"], "uint8", w["name"])
        self.assertEqual(model["mvb"]["preprocess"]["size"], [64, 64])

    def test_exported_graph_matches_the_float_network_up_to_quantization(self):
        import export
        import graph_ref
        import torch
        net, _ = export.load_net(self.checkpoint)
        t = graph_ref.load_model_json(self.out)["mvb"]["temperature"]
        want = torch.softmax(export.logits_of(net, self.images) / t, dim=1).numpy()
        # Float export: the same graph without quantization must match exactly.
        flt = os.path.join(self.tmp, "float")
        with silenced():
            export.main(["--checkpoint", self.checkpoint, "--out", flt, "--temperature", str(t),
                         "--float"])
        got_float = graph_ref.run(flt, self.x)
        self.assertLess(np.abs(got_float - want).max(), 1e-5)
        got_q = graph_ref.run(self.out, self.x)
        self.assertLess(np.abs(got_q - want).max(), 0.05)

    def test_quantization_aware_training_exports_the_weights_it_trained(self):
        """--weight-levels 16 --aux: a fine-tuning run whose exported convolution
        weights use 16 byte values per tensor and compute what its checkpoint
        computes (a plain uint8 export of it would differ by the 16-level
        rounding); the auxiliary head is trained and saved beside the model."""
        import export
        import graph_ref
        import torch
        import train
        run = os.path.join(self.tmp, "qat")
        with silenced():
            train.main(["--data", DATA, "--out", run, "--limit", "6", "--epochs", "1", "--steps", "2",
                        "--batch", "8", "--size", "64", "--store", "72", "--cache", "", "--lr", "0.01",
                        "--init", self.checkpoint, "--weight-levels", "16", "--aux", "0.5"])
            out = os.path.join(run, "weights")
            export.main(["--checkpoint", os.path.join(run, "final.pt"), "--out", out,
                         "--temperature", "1"])
        aux = torch.load(os.path.join(run, "last.pt"))["aux"]
        self.assertGreater(aux["weight"].shape[0], 4, "one row per fine category")
        net, _ = export.load_net(os.path.join(run, "final.pt"))
        self.assert_convolutions_on_levels(out, net, 16)

    def test_distillation_is_nothing_for_the_teacher_itself_and_grows_away_from_it(self):
        import export
        import torch
        import train
        net, _ = export.load_net(self.checkpoint)
        x = torch.from_numpy(self.x).permute(0, 3, 1, 2)
        with torch.no_grad():
            own = net(x)
            self.assertLess(float(train.distillation(own, [net], x, 2.0)), 1e-6)
            self.assertGreater(float(train.distillation(torch.zeros_like(own), [net], x, 2.0)), 1e-3)
            # An ensemble teaches the mean of its members' logits.
            twice = train.distillation(own, [net, net], x, 2.0)
            self.assertLess(float(twice), 1e-6)

    def test_distillation_also_trains_on_the_left_out_photos(self):
        """--kd-unlabelled adds the near: photos that have no class, and the
        run says whom it distils from."""
        import train
        run = os.path.join(self.tmp, "kd")
        with silenced():
            train.main(["--data", DATA, "--out", run, "--limit", "6", "--epochs", "1", "--steps", "2",
                        "--batch", "8", "--size", "64", "--store", "72", "--cache", "", "--lr", "0.01",
                        "--init", self.checkpoint, "--teacher", self.checkpoint, "--kd", "0.5",
                        "--kd-unlabelled"])
        with open(os.path.join(run, "log.txt")) as f:
            log = f.read()
        with open(os.path.join(self.tmp, "run", "log.txt")) as f:
            plain = f.read()
        count = lambda text: int(text.split(" train, ")[0].rsplit("# ", 1)[1])
        self.assertIn("# distilling from %s (weight 0.5, T 2)" % self.checkpoint, log)
        self.assertGreater(count(log), count(plain))

    def test_export_puts_a_plain_model_on_fewer_levels_when_asked(self):
        """export.py --weight-levels 16 on a model not trained for it: the same
        16 byte values per convolution, computing what load_net(ck, 16) does."""
        import export
        out = os.path.join(self.tmp, "levels16")
        with silenced():
            export.main(["--checkpoint", self.checkpoint, "--out", out, "--temperature", "1",
                         "--weight-levels", "16"])
        net, _ = export.load_net(self.checkpoint, 16)
        self.assert_convolutions_on_levels(out, net, 16)

    def assert_convolutions_on_levels(self, out, net, levels):
        """Every convolution's stored bytes in 0..levels-1, and the exported
        graph computing what net computes."""
        import export
        import graph_ref
        import torch
        model = graph_ref.load_model_json(out)
        weights = graph_ref.read_weights(out, model)
        convs = 0
        for w in model["weightsManifest"][0]["weights"]:
            if w["name"].startswith(("stem/", "block")) and w["name"].endswith("/weights"):
                q = w["quantization"]  # the stored bytes, back from the dequantized values
                stored = np.rint((weights[w["name"]].astype(np.float64) - q["min"]) / q["scale"])
                self.assertLessEqual(int(stored.max()), levels - 1, w["name"])
                convs += 1
        self.assertGreater(convs, 0)
        want = torch.softmax(export.logits_of(net, self.images)[:, :3], dim=1).numpy()
        self.assertLess(np.abs(graph_ref.run(out, self.x) - want).max(), 2e-3)

    @unittest.skipUnless(os.path.isdir(TFJS), "tests/node_modules has no @tensorflow/tfjs: tfjs check skipped")
    def test_tfjs_gives_the_reference_scores(self):
        import graph_ref
        xin, yout = os.path.join(self.tmp, "x.f32"), os.path.join(self.tmp, "y.f32")
        self.x.tofile(xin)
        subprocess.run(["node", os.path.join(ROOT, "train", "check_tfjs.mjs"), "--model", self.out,
                        "--input", xin, "--output", yout], check=True, capture_output=True)
        got = np.fromfile(yout, "<f4")
        want = np.concatenate([o.reshape(-1) for o in graph_ref.run_all(self.out, self.x)])
        self.assertLess(np.abs(got - want).max(), 1e-5)

    @unittest.skipUnless(os.access(ENGINE, os.X_OK), "build/native/mvb not built: engine check skipped")
    def test_engine_loads_the_export_and_gives_the_reference_scores(self):
        import graph_ref
        xin, yout = os.path.join(self.tmp, "xe.f32"), os.path.join(self.tmp, "ye.f32")
        got = []
        for x in self.x:  # `mvb run` takes one image
            x.tofile(xin)
            subprocess.run([ENGINE, "run", "--model", self.out, "--input", xin, "--output", yout],
                           check=True, capture_output=True)
            got.append(np.fromfile(yout, "<f4"))
        outs = graph_ref.run_all(self.out, self.x)
        want = np.stack([np.concatenate([o[i].reshape(-1) for o in outs]) for i in range(len(self.x))])
        self.assertLess(np.abs(np.array(got) - want).max(), 1e-5)


if __name__ == "__main__":
    unittest.main()
