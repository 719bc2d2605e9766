"""The decoded-image cache of train/data.py (cached_images) on a few JPEGs
written here: needs no photos from ../shared. Two runs started side by side
both find no cache, decode, and write it; both must finish, and the cache
left behind must be whole.

Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "train"))

import data  # noqa: E402


class ImageCacheTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mvb-cache-")
        self.cache = os.path.join(self.tmp, "cache")
        rng = np.random.default_rng(7)
        self.rows = []
        for i in range(3):
            name = "p%d.jpg" % i
            Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(
                os.path.join(self.tmp, name))
            self.rows.append({"path": name})

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a_second_run_writing_the_same_cache_meanwhile_breaks_neither(self):
        real_save = np.save
        other = []

        def save_then_let_the_other_run_write(file, array, *args, **kwargs):
            real_save(file, array, *args, **kwargs)
            if not other:  # the other run: it found no cache either, and finishes first
                other.append(None)
                other[0] = data.cached_images(self.tmp, self.rows, 32, self.cache)

        with mock.patch.object(np, "save", save_then_let_the_other_run_write):
            first = data.cached_images(self.tmp, self.rows, 32, self.cache)
        self.assertEqual(len(other), 1)
        np.testing.assert_array_equal(first, other[0])
        self.assertEqual(first.shape, (3, 32, 32, 3))
        left = sorted(os.listdir(self.cache))
        self.assertEqual(len(left), 1, left)  # the cache, no temporary file
        np.testing.assert_array_equal(np.load(os.path.join(self.cache, left[0])), first)
        # A third run reads it instead of decoding.
        with mock.patch.object(data, "decode_all", side_effect=AssertionError("decoded again")):
            np.testing.assert_array_equal(data.cached_images(self.tmp, self.rows, 32, self.cache), first)


if __name__ == "__main__":
    unittest.main()
