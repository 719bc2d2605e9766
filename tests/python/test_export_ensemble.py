"""train/export.py with several checkpoints: one graph that runs each network
on the same input and outputs the softmax of the mean of their logits (one
head over the members' concatenated features), and a heatmap whose cell means
plus the head's bias are those logits. A single network's graph keeps its
member-free node names (the shipped model re-exports byte for byte,
test_unfold.py), and train/unfold.py takes an ensemble apart again. Needs no data set: small random networks, exported in
float32 and read back by the Python reference (train/graph_ref.py).

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import os
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "train"))


def random_net(widths, seed):
    import torch
    from model import Net
    torch.manual_seed(seed)
    net = Net(widths, (1, 1, 1), stem=8)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


class EnsembleExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import torch
        import export
        cls.members = [random_net((8, 16, 24), 1), random_net((6, 12, 20), 2)]
        cls.temperature = 0.8
        cls.tmp = tempfile.TemporaryDirectory(prefix="mvb-ensemble-")
        cls.graph = export.build_graph(cls.members, 32, cls.temperature)
        export.write_model(cls.graph, cls.tmp.name, 32, [0.5] * 3, [0.25] * 3, quantize=False,
                           outputs=3, grid=2)
        torch.manual_seed(7)
        cls.x = torch.randn(5, 3, 32, 32)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_graph(self):
        import graph_ref
        return graph_ref.run_all(self.tmp.name, self.x.permute(0, 2, 3, 1).numpy())

    def test_the_output_is_the_softmax_of_the_members_mean_logits(self):
        import torch
        from model import EXPORTED, Ensemble
        with torch.no_grad():
            z = Ensemble(self.members)(self.x)[:, :len(EXPORTED)].double()
            each = [m(self.x)[:, :len(EXPORTED)].double() for m in self.members]
        want = torch.softmax(z / self.temperature, dim=1).numpy()
        probs, _ = self.run_graph()
        self.assertLess(np.abs(probs - want).max(), 1e-6)
        # Not simply one member's answer.
        for e in each:
            self.assertGreater(np.abs(torch.softmax(e / self.temperature, dim=1).numpy() - want).max(), 1e-3)

    def test_the_heatmap_cells_average_to_the_ensemble_logits(self):
        import graph_ref
        import torch
        probs, heatmap = self.run_graph()
        self.assertEqual(heatmap.shape, (5, 2, 2, 3))
        bias = graph_ref.read_weights(self.tmp.name, graph_ref.load_model_json(self.tmp.name))["head/bias"]
        again = torch.softmax(torch.from_numpy(heatmap.mean(axis=(1, 2)) + bias).double(), dim=1).numpy()
        self.assertLess(np.abs(again - probs).max(), 1e-5)

    def test_members_are_named_apart_and_a_single_network_is_not(self):
        import export
        names = [n["name"] for n in self.graph.nodes]
        self.assertIn("m0/stem/conv0", names)
        self.assertIn("m1/block2/conv2", names)
        self.assertIn("ensemble/concat", names)
        single = [n["name"] for n in export.build_graph(self.members[:1], 32, 1.0).nodes]
        self.assertIn("stem/conv0", single)
        self.assertFalse([n for n in single if n.startswith(("m0/", "ensemble/"))])

    def test_unfolding_each_member_and_exporting_them_again_gives_the_same_bytes(self):
        import torch
        import export
        import graph_ref
        import unfold

        def shard(d):
            out = b""
            for p in graph_ref.load_model_json(d)["weightsManifest"][0]["paths"]:
                with open(os.path.join(d, p), "rb") as f:
                    out += f.read()
            return out

        with tempfile.TemporaryDirectory(prefix="mvb-ensemble-q-") as first, \
                tempfile.TemporaryDirectory(prefix="mvb-ensemble-again-") as again:
            export.write_model(self.graph, first, 32, [0.5] * 3, [0.25] * 3, outputs=3, grid=2)
            self.assertEqual(unfold.members(first), 2)
            nets = [unfold.unfold(first, torch.randn(8, 3, 32, 32), k) for k in range(2)]
            self.assertEqual([n.widths for n in nets], [(8, 16, 24), (6, 12, 20)])
            export.write_model(export.build_graph(nets, 32, self.temperature), again, 32, [0.5] * 3,
                               [0.25] * 3, outputs=3, grid=2)
            self.assertTrue(shard(first) == shard(again))


if __name__ == "__main__":
    unittest.main()
