"""Training augmentation (train/data.py) on synthetic tensors: needs no
photos. The plain-background composite must leave the photos it does not
pick untouched, and the ones it picks must show the photo, shrunk, on a
ground that is one colour per row (a plain colour or a vertical gradient).
CutMix must mix each target by the area it pasted. A colour cast must tint
only the photos it picks, keeping each pixel's channel mean. JPEG
recompression must change only the photos it picks, each into a JPEG copy
of itself at a quality in range.

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import os
import sys
import unittest

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "train"))

import data  # noqa: E402


def noise(n, size, seed):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, size, size, 3, generator=g) * 255).to(torch.uint8)


class ColourCastTest(unittest.TestCase):
    def test_it_tints_only_the_photos_it_picks_and_keeps_the_channel_mean(self):
        x = torch.full((200, 3, 4, 4), 0.5)
        out = data.colour_cast(x, 0.3, torch.Generator().manual_seed(3))
        tinted = [i for i in range(200) if not torch.equal(out[i], x[i])]
        self.assertTrue(40 <= len(tinted) <= 80, "%d of 200 tinted at p 0.3" % len(tinted))
        for i in tinted:
            gains = out[i, :, 0, 0] / 0.5
            self.assertAlmostEqual(float(gains.mean()), 1.0, places=5)
            self.assertTrue(bool(((gains > 0.7 / 1.3 - 1e-6) & (gains < 1.3 / 0.7 + 1e-6)).all()))
            self.assertTrue(torch.equal(out[i], out[i, :, :1, :1].expand(3, 4, 4)), "one gain per channel")
        self.assertTrue(torch.equal(data.colour_cast(x, 0.0, torch.Generator().manual_seed(3)), x))


class RecompressTest(unittest.TestCase):
    def test_it_changes_only_the_photos_it_picks_into_jpeg_copies_of_themselves(self):
        # Smooth pictures (gradients), as photos are, at 8-bit levels.
        ramp = torch.linspace(0, 1, 32)
        x = torch.stack([torch.stack([ramp.view(1, 32).expand(32, 32) * (i + 1) / 40,
                                      ramp.view(32, 1).expand(32, 32),
                                      torch.full((32, 32), i / 40)]) for i in range(40)])
        x = (x * 255).round() / 255
        out = data.recompress(x, 0.5, torch.Generator().manual_seed(4))
        changed = [i for i in range(40) if not torch.equal(out[i], x[i])]
        self.assertTrue(8 <= len(changed) <= 32, "%d of 40 recompressed at p 0.5" % len(changed))
        lo, hi = data.JPEG_QUALITIES
        for i in changed:
            u8 = (x[i].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
            copies = {q: torch.from_numpy(data.jpeg_copy(u8, q)).permute(2, 0, 1).float() / 255
                      for q in range(lo, hi + 1)}
            self.assertTrue(any(torch.equal(out[i], c) for c in copies.values()),
                            "image %d is no JPEG copy of itself at quality %d..%d" % (i, lo, hi))
            self.assertLess(float((out[i] - x[i]).abs().mean()), 0.05, "image %d" % i)
        self.assertTrue(torch.equal(data.recompress(x, 0.0, torch.Generator().manual_seed(4)), x))


class PlainBackgroundTest(unittest.TestCase):
    def test_only_the_photos_it_may_pick_change(self):
        x = noise(6, 40, 1)
        plain = torch.tensor([True, False, True, False, True, False])
        base = data.augment(x, 32, torch.Generator().manual_seed(7))
        mixed = data.augment(x, 32, torch.Generator().manual_seed(7), plain=plain, plain_p=1.0)
        for i in range(6):
            same = torch.equal(base[i], mixed[i])
            self.assertEqual(same, not plain[i].item(), "image %d" % i)

    def test_the_photo_sits_shrunk_on_a_ground_plain_along_each_row(self):
        x = torch.rand(8, 3, 48, 48, generator=torch.Generator().manual_seed(2))
        out = data.on_plain_background(x, torch.Generator().manual_seed(3))
        self.assertEqual(out.shape, x.shape)
        for i in range(8):
            # The pasted square: where a row stops being one colour.
            varies = (out[i] - out[i, :, :, :1]).abs().amax(dim=(0, 2)) > 1e-6
            rows = torch.nonzero(varies).flatten()
            self.assertGreater(len(rows), 48 * 0.35 - 2, "image %d: no photo pasted" % i)
            self.assertLess(len(rows), 48 * 0.75 + 1, "image %d: photo not shrunk" % i)
            self.assertEqual(int(rows[-1] - rows[0]) + 1, len(rows), "image %d" % i)
            # Above and below it, every row is one colour.
            ground = torch.cat([out[i, :, :rows[0]], out[i, :, rows[-1] + 1:]], dim=1)
            if ground.shape[1]:
                self.assertLess(float((ground - ground[:, :, :1]).abs().max()), 1e-6)
            # The square holds the photo: side x side pixels off the ground
            # (the photo is noise, so none of them matches it), averaging
            # to the photo's mean colour.
            square = out[i, :, rows[0]:rows[-1] + 1]
            edge = square[:, :, 0] if torch.equal(square[:, :, 0], square[:, :, 1]) else square[:, :, -1]
            off = (square - edge.unsqueeze(2)).abs().amax(dim=0) > 1e-6
            self.assertEqual(int(off.sum()), len(rows) ** 2, "image %d" % i)
            self.assertLess(float((square[:, off].mean() - x[i].mean()).abs()), 0.05, "image %d" % i)

class CutMixTest(unittest.TestCase):
    def test_targets_mix_by_the_pasted_area(self):
        n, size = 16, 32
        # Photo i is filled with the value i, so each pixel says where it came from.
        x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, size, size)
        y = torch.arange(n) % 4
        out, target = data.cut_mix(x, y, 4, 0.5, torch.Generator().manual_seed(5))
        self.assertTrue(torch.allclose(target.sum(dim=1), torch.ones(n)))
        changed = 0
        for i in range(n):
            foreign = out[i, 0] != i
            area = float(foreign.float().mean())
            if area == 0:
                # Untouched (or given a box of itself): its own class.
                self.assertEqual(int(target[i].argmax()), int(y[i]))
                continue
            changed += 1
            j = int(out[i, 0][foreign][0])
            self.assertTrue(torch.all(out[i, 0][foreign] == j), "one partner per photo")
            self.assertGreaterEqual(area, 0.25 * 0.25 - 1e-6)
            self.assertLessEqual(area, 0.5 * 0.5 + 1e-6)
            want = torch.zeros(4)
            want[y[i]] += 1 - area
            want[y[j]] += area
            self.assertTrue(torch.allclose(target[i], want, atol=1e-6), "photo %d" % i)
        self.assertGreater(changed, 2)
        self.assertLess(changed, n - 2)


if __name__ == "__main__":
    unittest.main()
