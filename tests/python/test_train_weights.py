"""The shipped model in weights/: the files are what PROVENANCE.md says
(sha256), within the size budget, use only ops the engine implements, and
give the same outputs (every signature output: the class probabilities and
the heatmap) in the Python reference (train/graph_ref.py), in TensorFlow.js
4.22 (train/check_tfjs.mjs, when tests/node_modules has it) and in the C
engine (build/native/mvb, when built), |d| < 1e-5.

Needs no data set: the inputs are seeded synthetic photo-like images.
Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS = os.environ.get("MVB_WEIGHTS", os.path.join(ROOT, "weights"))
sys.path.insert(0, os.path.join(ROOT, "train"))
TFJS = os.path.join(ROOT, "tests", "node_modules", "@tensorflow", "tfjs")
ENGINE = os.path.join(ROOT, "build", "native", "mvb")
SHARD_LIMIT = 4194304
ALLOWED_OPS = {"Placeholder", "Const", "_FusedConv2D", "Conv2D", "AddV2", "Relu", "Mean",
               "_FusedMatMul", "Softmax", "Identity"}


def synthetic_inputs(model, count=6, seed=7):
    """Photo-like uint8 images (smooth colour fields + texture), normalized as
    model.json says: (N, H, W, 3) float32."""
    from PIL import Image
    pp = model["mvb"]["preprocess"]
    h, w = pp["size"]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        coarse = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), dtype=np.float64)
        img = np.clip(smooth + rng.normal(0, 12, size=(h, w, 3)), 0, 255).round() / 255.0
        out.append((img - np.array(pp["mean"])) / np.array(pp["std"]))
    return np.array(out, dtype="<f4")


@unittest.skipUnless(os.path.exists(os.path.join(WEIGHTS, "model.json")), "weights/model.json not exported yet")
class ShippedWeightsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import graph_ref
        cls.model = graph_ref.load_model_json(WEIGHTS)
        cls.paths = [os.path.join(WEIGHTS, p) for g in cls.model["weightsManifest"] for p in g["paths"]]
        cls.x = synthetic_inputs(cls.model)
        cls.outs = graph_ref.run_all(WEIGHTS, cls.x)
        cls.want = cls.outs[0]  # the class probabilities, (N, classes)
        cls.tmp = tempfile.TemporaryDirectory(prefix="mvb-weights-")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_shards_are_named_like_tfjs_and_fit_the_budget(self):
        n = len(self.paths)
        for i, p in enumerate(self.paths):
            self.assertEqual(os.path.basename(p), "group1-shard%dof%d.bin" % (i + 1, n))
            self.assertLessEqual(os.path.getsize(p), SHARD_LIMIT, p)
        self.assertLessEqual(sum(os.path.getsize(p) for p in self.paths), 4 * 1024 * 1024)

    def test_provenance_lists_the_sha256_of_model_json_and_every_shard(self):
        with open(os.path.join(WEIGHTS, "PROVENANCE.md")) as f:
            listed = dict((name, digest) for digest, name in
                          re.findall(r"^\s+([0-9a-f]{64})\s+(\S+)$", f.read(), re.M))
        for p in [os.path.join(WEIGHTS, "model.json")] + self.paths:
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            self.assertEqual(listed.get(os.path.basename(p)), digest, "sha256 of %s" % p)

    def test_graph_uses_only_engine_ops_and_uint8_weights(self):
        ops = {n["op"] for n in self.model["modelTopology"]["node"]}
        self.assertLessEqual(ops, ALLOWED_OPS)
        for w in self.model["weightsManifest"][0]["weights"]:
            if w["dtype"] == "float32":
                self.assertEqual(w["quantization"]["dtype"], "uint8", w["name"])
        outputs = self.model["signature"]["outputs"]
        described = self.model["mvb"]["outputs"]
        self.assertEqual(set(outputs), set(described))
        self.assertEqual(described[list(outputs)[0]],
                         {"kind": "probabilities", "classes": ["beach", "mountain", "neither"]})

    def test_outputs_are_probabilities_that_depend_on_the_image(self):
        self.assertTrue(np.all((self.want > 0) & (self.want < 1)))
        np.testing.assert_allclose(self.want.sum(axis=1), 1.0, atol=1e-6)
        self.assertGreater(np.ptp(self.want[:, 1] / (self.want[:, 0] + self.want[:, 1])), 1e-4)

    def test_heatmap_means_are_the_logits_less_the_bias(self):
        # Softmax over (the heatmap's per-class mean + the head's bias) is the
        # probabilities output: the map is exactly the evidence behind them.
        import graph_ref
        heat = self.outs[1]
        bias = graph_ref.read_weights(WEIGHTS, self.model)["head/bias"].astype(np.float64)
        z = heat.mean(axis=(1, 2)) + bias
        p = np.exp(z - z.max(axis=1, keepdims=True))
        np.testing.assert_allclose(p / p.sum(axis=1, keepdims=True), self.want, atol=1e-6)

    @unittest.skipUnless(os.path.isdir(TFJS), "tests/node_modules has no @tensorflow/tfjs: tfjs check skipped")
    def test_tensorflow_js_gives_the_reference_scores(self):
        xin, yout = os.path.join(self.tmp.name, "x.f32"), os.path.join(self.tmp.name, "y.f32")
        self.x.tofile(xin)
        subprocess.run(["node", os.path.join(ROOT, "train", "check_tfjs.mjs"), "--model", WEIGHTS,
                        "--input", xin, "--output", yout], check=True, capture_output=True)
        got = np.fromfile(yout, "<f4")
        want = np.concatenate([o.reshape(-1) for o in self.outs])  # per output, whole batch
        self.assertEqual(got.shape, want.shape)
        self.assertLess(np.abs(got - want).max(), 1e-5)

    def engine_outputs(self, precision):
        """`mvb run --precision P` on each synthetic input: (N, all outputs' values)."""
        xin, yout = os.path.join(self.tmp.name, "xe.f32"), os.path.join(self.tmp.name, "ye.f32")
        got = []
        for x in self.x:  # `mvb run` takes one image
            x.tofile(xin)
            subprocess.run([ENGINE, "run", "--model", WEIGHTS, "--input", xin, "--output", yout,
                            "--precision", precision], check=True, capture_output=True)
            got.append(np.fromfile(yout, "<f4"))
        return np.array(got)

    @unittest.skipUnless(os.access(ENGINE, os.X_OK), "build/native/mvb not built: engine check skipped")
    def test_engine_gives_the_reference_scores(self):
        # f32: the reference is float arithmetic (the model may name int8 as its default)
        got = self.engine_outputs("f32")
        # Per image, every output in signature order.
        want = np.stack([np.concatenate([o[i].reshape(-1) for o in self.outs]) for i in range(len(self.x))])
        self.assertLess(np.abs(got - want).max(), 1e-5)

    @unittest.skipUnless(os.access(ENGINE, os.X_OK), "build/native/mvb not built: engine check skipped")
    def test_int8_stays_within_the_shipped_tolerance_of_f32(self):
        # The class probabilities in int8 (the precision model.json may name) against f32:
        # within 0.03, the bound the int8 default was chosen under (weights/PROVENANCE.md).
        n = self.want.shape[1]
        d = np.abs(self.engine_outputs("int8")[:, :n] - self.engine_outputs("f32")[:, :n]).max()
        self.assertGreater(d, 0, "int8 gave f32's exact probabilities: did --precision reach the engine?")
        self.assertLess(d, 0.03)


if __name__ == "__main__":
    unittest.main()
