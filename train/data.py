"""The data: manifest -> fixed splits -> decoded uint8 tensors in memory, and
batch augmentation done on tensors (no JPEG decoding per epoch).

Splits are a pure function of each image's path, so they never move between
runs or machines:
  val   Intel's own `test` split, plus the paths of the other sources whose
        hash bucket (sha1 of the path, mod 100) is below 20 (~20%);
  calib buckets 20..24 of everything not in val (~5%): held out of
        training and used only to fit the score's temperature;
  train the rest.
"""
import csv
import hashlib
import os
from multiprocessing import Pool

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from model import CLASSES

# ImageNet's channel statistics; recorded in model.json so the engine
# normalizes exactly as training did.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def bucket(path):
    return int(hashlib.sha1(path.encode("utf-8")).hexdigest()[:8], 16) % 100


def split_of(path, source, split):
    if source == "intel":
        if split == "test":
            return "val"
    elif bucket(path) < 20:
        return "val"
    return "calib" if 20 <= bucket(path) < 25 else "train"


def read_manifest(data_dir):
    """Rows of manifest.csv with our split in "part" and the class index."""
    rows = []
    with open(os.path.join(data_dir, "manifest.csv"), newline="") as f:
        for row in csv.DictReader(f):
            row["part"] = split_of(row["path"], row["source"], row["split"])
            row["y"] = CLASSES.index(row["label"])
            rows.append(row)
    return rows


def load_engine_input(path, size):
    """The engine's preprocessing up to the bytes: EXIF orientation applied,
    whole image, no crop, PIL BILINEAR (antialiased when shrinking) to
    size x size, RGB."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        return np.asarray(im.resize((size, size), Image.BILINEAR), dtype=np.uint8)


def _load(args):
    return load_engine_input(*args)


def decode_all(data_dir, rows, size, workers=2):
    """(N, size, size, 3) uint8 for rows, decoded in parallel."""
    jobs = [(os.path.join(data_dir, r["path"]), size) for r in rows]
    if workers > 1 and len(jobs) > 64:
        with Pool(workers) as pool:
            images = pool.map(_load, jobs, chunksize=64)
    else:
        images = [_load(j) for j in jobs]
    return np.stack(images) if images else np.zeros((0, size, size, 3), np.uint8)


def cached_images(data_dir, rows, size, cache_dir):
    """decode_all, cached on disk by (paths, size) so reruns start at once."""
    key = hashlib.sha1(("%d\n" % size + "\n".join(r["path"] for r in rows)).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, "images-%d-%s.npy" % (size, key)) if cache_dir else None
    if path and os.path.exists(path):
        return np.load(path)
    images = decode_all(data_dir, rows, size)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        np.save(path + ".tmp.npy", images)
        os.replace(path + ".tmp.npy", path)
    return images


def normalize(x):
    """float (N,3,H,W) in 0..1 -> the network's input."""
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def to_input(images_u8):
    """uint8 (N,H,W,3) -> normalized float (N,3,H,W), no augmentation."""
    x = torch.from_numpy(np.ascontiguousarray(images_u8)).permute(0, 3, 1, 2).float() / 255.0
    return normalize(x)


def augment(images_u8, out_size, gen, min_scale=0.30):
    """Random resized crop (area min_scale..1, aspect 3/4..4/3), horizontal
    flip, brightness/contrast/saturation jitter; one affine grid_sample for
    the whole batch. images_u8: uint8 (N,H,W,3) tensor."""
    n = images_u8.shape[0]
    x = images_u8.permute(0, 3, 1, 2).float() / 255.0
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen)
    area = u(min_scale, 1.0)
    aspect = torch.exp(u(np.log(3 / 4), np.log(4 / 3)))
    w = torch.sqrt(area * aspect).clamp(max=1.0)
    h = torch.sqrt(area / aspect).clamp(max=1.0)
    cx = (1 - w) * u(-1.0, 1.0)
    cy = (1 - h) * u(-1.0, 1.0)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = w * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = h
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, (n, 3, out_size, out_size), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    # Colour jitter: brightness, contrast (towards the image mean), saturation
    # (towards grey), each an independent factor per image.
    x = x * u(0.7, 1.3).view(n, 1, 1, 1)
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    c = u(0.7, 1.3).view(n, 1, 1, 1)
    x = (x - grey.mean(dim=(2, 3), keepdim=True)) * c + grey.mean(dim=(2, 3), keepdim=True)
    s = u(0.6, 1.4).view(n, 1, 1, 1)
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    x = (x - grey) * s + grey
    return normalize(x.clamp(0.0, 1.0))
