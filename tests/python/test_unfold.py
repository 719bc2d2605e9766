"""train/unfold.py: a checkpoint unfolded from an exported model computes
what the exported model computes, in eval mode and, on the photos its batch
norms were measured on, in train mode too; the architecture is read back from
the weights. Needs no data set: a small random network, exported in float32;
and the shipped model (weights/), unfolded and exported again with its own
options, gives back its shard byte for byte.

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "train"))


class UnfoldTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import torch
        import export
        import unfold
        from model import Net
        torch.manual_seed(3)
        cls.net = Net((8, 16, 24), (1, 2, 1), stem=12)
        # Batch norms that are not the identity, so folding them matters.
        with torch.no_grad():
            for m in cls.net.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.3, 0.3)
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        cls.net.eval()
        cls.temperature = 0.8
        cls.tmp = tempfile.TemporaryDirectory(prefix="mvb-unfold-")
        with open(os.devnull, "w") as devnull:
            export.write_model(export.build_graph([cls.net], 32, cls.temperature), cls.tmp.name, 32,
                               (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), {"temperature": cls.temperature},
                               quantize=False)
        cls.x = torch.randn(48, 3, 32, 32)
        cls.unfolded = unfold.unfold(cls.tmp.name, cls.x)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_architecture_is_read_back_from_the_weights(self):
        self.assertEqual(self.unfolded.widths, (8, 16, 24))
        self.assertEqual(self.unfolded.blocks, (1, 2, 1))
        self.assertEqual(self.unfolded.stem[0].conv.out_channels, 12)

    def test_eval_mode_gives_the_exported_logits(self):
        import torch
        with torch.no_grad():
            want = self.net(self.x)[:, :3]
            self.unfolded.eval()
            got = self.unfolded(self.x)[:, :3]
        self.assertLess(float((got - want).abs().max()), 1e-4)

    def test_train_mode_on_the_measured_photos_gives_the_same(self):
        # Batch statistics of the same photos are the running ones, so every
        # batch norm is the identity plus its bias in both modes.
        import torch
        with torch.no_grad():
            self.unfolded.eval()
            want = self.unfolded(self.x)
            self.unfolded.train()
            got = self.unfolded(self.x)
            self.unfolded.eval()
        self.assertLess(float((got - want)[:, :3].abs().max()), 1e-3)

    def test_the_auxiliary_class_starts_below_the_exported_ones(self):
        import torch
        with torch.no_grad():
            z = self.unfolded.eval()(self.x)
        self.assertTrue(bool((z[:, 3] < z[:, :3].max(dim=1).values).all()))
        self.assertEqual(float(self.unfolded.fc.weight[3].abs().sum()), 0.0)

    def test_provenance_names_the_model_it_came_from(self):
        import hashlib
        import torch
        import export
        import provenance
        import unfold
        path = os.path.join(self.tmp.name, "unfolded.pt")
        torch.save(unfold.checkpoint(self.unfolded, self.tmp.name, len(self.x), 5), path)
        ck = torch.load(path)
        with open(os.path.join(self.tmp.name, "model.json"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        [(command, summary)] = provenance.training_stages(path, ck["args"])
        self.assertIn("train/unfold.py --model ", command)
        self.assertIn("--photos 48 --seed 5", command)
        self.assertIn("sha256 %s" % digest[:12], summary)
        self.assertEqual((ck["widths"], ck["blocks"], ck["size"]), ((8, 16, 24), (1, 2, 1), 32))
        net, _ = export.load_net(path)
        with torch.no_grad():
            self.assertTrue(torch.equal(net(self.x), self.unfolded.eval()(self.x)))


WEIGHTS = os.environ.get("MVB_WEIGHTS", os.path.join(ROOT, "weights"))


def shard_bytes(model_dir, model):
    out = b""
    for p in model["weightsManifest"][0]["paths"]:
        with open(os.path.join(model_dir, p), "rb") as f:
            out += f.read()
    return out


def conv_weight_levels(model, weights):
    """How many byte values the convolutions' weights are spread over: the
    largest byte + 1 (the top of the grid is the largest weight), read back
    from the dequantized weights (graph_ref.read_weights) and their grid."""
    top = 0
    for w in model["weightsManifest"][0]["weights"]:
        if w["name"].endswith("/weights") and w["name"].split("/")[-2].startswith(("conv", "shortcut")):
            q = w["quantization"]
            top = max(top, round((float(weights[w["name"]].max()) - q["min"]) / q["scale"]))
    return top + 1


@unittest.skipUnless(os.path.exists(os.path.join(WEIGHTS, "model.json")), "weights/model.json not exported yet")
class ShippedRoundTripTest(unittest.TestCase):
    def test_exporting_the_unfolded_shipped_model_again_gives_its_shard_byte_for_byte(self):
        # With the shipped model's own export options: its temperature and its
        # convolutions' weight levels. The batch norms' statistics (random
        # inputs here) leave the exported function as it was.
        import torch
        import export
        import graph_ref
        import unfold
        model = graph_ref.load_model_json(WEIGHTS)
        want = shard_bytes(WEIGHTS, model)
        pp = model["mvb"]["preprocess"]
        size = pp["size"][0]
        torch.manual_seed(0)
        x = torch.randn(16, 3, size, size)
        nets = [unfold.unfold(WEIGHTS, x, k) for k in range(unfold.members(WEIGHTS))]
        levels = conv_weight_levels(model, graph_ref.read_weights(WEIGHTS, model))
        for net in nets:
            net.quantize_weights(levels)
        with tempfile.TemporaryDirectory(prefix="mvb-roundtrip-") as out:
            export.write_model(export.build_graph(nets, size, model["mvb"]["temperature"]), out, size,
                               pp["mean"], pp["std"])
            got = shard_bytes(out, graph_ref.load_model_json(out))
        self.assertEqual(len(got), len(want))
        self.assertTrue(got == want, "%d of %d bytes differ" % (
            sum(a != b for a, b in zip(got, want)), len(want)))


if __name__ == "__main__":
    unittest.main()
