"""The C preprocessing (src/image.c) gives the tensor training sees.

Training (train/data.py) feeds np.asarray(Image.open(p).convert("RGB")
.resize((W, H), Image.BILINEAR)) / 255; the engine decodes with stb_image and
resizes in float without PIL's rounding between passes, so the two should
agree to about one grey level. The C side runs through the native test
binary's dump mode:

    test_image --dump IN H W OUT.f32    (mean 0, std 1: the value is byte / 255)

The binary is $MVB_TEST_IMAGE_BIN, else build/native/test_image (where CMake
puts it); the tests skip with a message when it has not been built.
Run: /usr/bin/python3 -m unittest discover -s tests/python -v
"""
import os
import subprocess
import tempfile
import unittest

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BINS = ("build/native/test_image", "build/native/tests/test_image")


def find_binary():
    explicit = os.environ.get("MVB_TEST_IMAGE_BIN")
    candidates = [explicit] if explicit else [os.path.join(ROOT, p) for p in DEFAULT_BINS]
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


BINARY = find_binary()


def photo_like(w, h, seed):
    """Smooth colour fields (random low-resolution noise, bicubic-upsampled),
    a diagonal gradient and fine texture: what a photo has, with known seed."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(max(2, h // 25), max(2, w // 25), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC), dtype=np.float64)
    yy, xx = np.mgrid[0:h, 0:w]
    ramp = (xx / max(w - 1, 1) * 80 + yy / max(h - 1, 1) * 40)[..., None]
    texture = rng.normal(0, 14, size=(h, w, 3))
    return np.clip(smooth * 0.7 + ramp + texture, 0, 255).astype(np.uint8)


def gradients(w, h):
    yy, xx = np.mgrid[0:h, 0:w]
    r = xx * 255.0 / max(w - 1, 1)
    g = yy * 255.0 / max(h - 1, 1)
    b = (xx + yy) % 64 * 4.0  # sharp edges every 64 pixels
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def oriented_card(w, h):
    """Tells every orientation apart: red grows to the right, green
    downwards, and a blue block sits near the top-left corner."""
    yy, xx = np.mgrid[0:h, 0:w]
    px = np.zeros((h, w, 3), dtype=np.uint8)
    px[..., 0] = (xx * 255 // max(w - 1, 1)).astype(np.uint8)
    px[..., 1] = (yy * 255 // max(h - 1, 1)).astype(np.uint8)
    px[h // 8:h // 3, w // 8:w // 3, 2] = 255
    return px


@unittest.skipIf(BINARY is None,
                 "test_image binary not built (set MVB_TEST_IMAGE_BIN or build "
                 "build/native/test_image with ./build.sh)")
class PreprocessMatchesPil(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def c_tensor(self, path, h, w):
        out = os.path.join(self.tmp.name, "out.f32")
        run = subprocess.run([BINARY, "--dump", path, str(h), str(w), out],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, f"{BINARY} --dump {path}: {run.stderr}")
        t = np.fromfile(out, dtype="<f4")
        self.assertEqual(t.size, h * w * 3, "dump has the wrong size")
        return t.reshape(h, w, 3)

    def save(self, name, image, **kwargs):
        path = os.path.join(self.tmp.name, name)
        image.save(path, **kwargs)
        return path

    def assert_close(self, label, got, want, max_abs, mean_abs):
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        print(f"\n  {label}: max |diff| {diff.max() * 255:.3f}/255, "
              f"mean {diff.mean() * 255:.4f}/255", end="")
        self.assertLessEqual(diff.max(), max_abs, f"{label}: max |diff| {diff.max() * 255:.3f}/255")
        self.assertLessEqual(diff.mean(), mean_abs, f"{label}: mean |diff| {diff.mean() * 255:.4f}/255")

    def pil_tensor(self, path, h, w, transpose=False):
        """What train/data.py computes (plus EXIF orientation when asked)."""
        with Image.open(path) as im:
            if transpose:
                im = ImageOps.exif_transpose(im)
            im = im.convert("RGB")
            return np.asarray(im.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255

    def test_resize_matches_pil_bilinear_within_one_level(self):
        cases = [
            ("noise 300x200 -> 128x128", photo_like(300, 200, 1), 128, 128),
            ("gradients 300x200 -> 128x128", gradients(300, 200), 128, 128),
            ("noise 100x60 -> 128x128 (upscale)", photo_like(100, 60, 2), 128, 128),
            ("gradients 100x60 -> 128x128 (upscale)", gradients(100, 60), 128, 128),
            ("noise 1000x750 -> 224x224", photo_like(1000, 750, 3), 224, 224),
            ("noise 257x513 -> 96x160 (mixed)", photo_like(257, 513, 4), 96, 160),
            ("noise 150x40 -> 64x64 (grow y, shrink x)", photo_like(150, 40, 5), 64, 64),
        ]
        for label, px, h, w in cases:
            with self.subTest(label):
                path = self.save("card.png", Image.fromarray(px))
                self.assert_close(label, self.c_tensor(path, h, w), self.pil_tensor(path, h, w),
                                  max_abs=1.5 / 255, mean_abs=0.5 / 255)

    def test_same_size_is_exact(self):
        px = photo_like(64, 48, 6)
        path = self.save("card.png", Image.fromarray(px))
        self.assert_close("identity 64x48", self.c_tensor(path, 48, 64),
                          px.astype(np.float32) / 255, max_abs=1e-6, mean_abs=1e-7)

    def test_modes_convert_to_rgb_like_pil(self):
        """Grey, grey+alpha, RGBA, palette PNG and a GIF: RGB as PIL's
        convert("RGB") gives it (alpha dropped, palette looked up)."""
        px = photo_like(40, 30, 7)
        rgba = np.dstack([px, np.arange(40 * 30, dtype=np.uint8).reshape(30, 40)])
        images = [
            ("L.png", Image.fromarray(px[..., 0]), {}),
            ("LA.png", Image.fromarray(rgba[..., [0, 3]], "LA"), {}),
            ("RGBA.png", Image.fromarray(rgba, "RGBA"), {}),
            ("P.png", Image.fromarray(px).quantize(colors=64), {}),
            ("P.gif", Image.fromarray(px).quantize(colors=64), {}),
            ("RGB.bmp", Image.fromarray(px), {}),
        ]
        for name, image, kwargs in images:
            with self.subTest(name):
                path = self.save(name, image, **kwargs)
                self.assert_close(name, self.c_tensor(path, 30, 40), self.pil_tensor(path, 30, 40),
                                  max_abs=1e-6, mean_abs=1e-7)

    def test_jpeg_decoders_agree_closely(self):
        """stb_image and libjpeg (PIL) decode JPEG slightly differently; the
        resized tensors still agree to a few levels."""
        for subsampling, label in ((0, "4:4:4"), (2, "4:2:0")):
            with self.subTest(label):
                path = self.save("photo.jpg", Image.fromarray(photo_like(640, 480, 8)),
                                 quality=90, subsampling=subsampling)
                self.assert_close(f"JPEG {label} 640x480 -> 128x128", self.c_tensor(path, 128, 128),
                                  self.pil_tensor(path, 128, 128), max_abs=4 / 255, mean_abs=1 / 255)

    def test_truncated_libjpeg_files_refused(self):
        """Baseline and progressive JPEGs as libjpeg writes them (with EXIF),
        cut short at many points: the C side refuses each one by name."""
        exif = Image.Exif()
        exif[0x0112] = 6
        for progressive in (False, True):
            path = self.save("whole.jpg", Image.fromarray(photo_like(64, 48, 9)), quality=90,
                             progressive=progressive, exif=exif.tobytes())
            with open(path, "rb") as f:
                data = f.read()
            self.c_tensor(path, 16, 16)  # the whole file decodes
            cut = os.path.join(self.tmp.name, "cut.jpg")
            for n in range(3, len(data), max(1, len(data) // 120)):
                with self.subTest(progressive=progressive, size=n):
                    with open(cut, "wb") as f:
                        f.write(data[:n])
                    run = subprocess.run([BINARY, "--dump", cut, "16", "16", cut + ".f32"],
                                         capture_output=True, text=True, timeout=60)
                    self.assertEqual(run.returncode, 1, f"{n} of {len(data)} bytes accepted")
                    self.assertIn("truncated JPEG", run.stderr)

    def test_exif_orientation_matches_pil_exif_transpose(self):
        px = oriented_card(96, 64)
        h, w = 40, 56  # not square, so a missing width/height swap shows
        for orientation in range(1, 9):
            with self.subTest(orientation=orientation):
                exif = Image.Exif()
                exif[0x0112] = orientation
                path = self.save(f"o{orientation}.jpg", Image.fromarray(px), quality=95,
                                 subsampling=0, exif=exif.tobytes())
                got = self.c_tensor(path, h, w)
                upright = self.pil_tensor(path, h, w, transpose=True)
                self.assert_close(f"EXIF orientation {orientation}", got, upright,
                                  max_abs=4 / 255, mean_abs=1 / 255)
                if orientation != 1:  # and the check can tell orientations apart
                    stored = self.pil_tensor(path, h, w, transpose=False)
                    self.assertGreater(np.abs(got - stored).mean(), 10 / 255,
                                       f"orientation {orientation} looks unapplied")


if __name__ == "__main__":
    unittest.main()
