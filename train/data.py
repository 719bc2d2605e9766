"""The data: manifest -> fixed splits -> decoded uint8 tensors in memory, and
batch augmentation done on tensors (no JPEG decoding per epoch).

Splits are a pure function of each image's path, so they never move between
runs or machines:
  val   Intel's own `test` split, plus the paths of the other sources whose
        hash bucket (sha1 of the path, mod 100) is below 20 (~20%);
  calib buckets 20..24 of everything not in val (~5%): held out of
        training and used only to fit the score's temperature;
  train the rest.
"Neither" is also judged on kinds of photo the model never saw: whole
places-mini neither categories (those whose sha1(category) mod 100 is below
HELD_OUT_PERCENT) are validation only, never trained on (part "val").

Labels map to training classes through class_of(): beach, mountain,
neither (Places neither categories, Intel buildings/street/forest, and the
`near:` categories listed in NEAR_NEITHER), glacier (an auxiliary class:
roughly 60% snowy peaks, 40% ice over water; trained, not exported). The
other `near:` categories (valleys, volcanoes, harbors... which often hold a
mountain or a shore) are left out of training and validation: the photo
could honestly be either, so no label is right.
"""
import csv
import hashlib
import io
import os
import re
import tempfile
from multiprocessing import Pool

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from model import CLASSES, NEITHER

# ImageNet's channel statistics; recorded in model.json so the engine
# normalizes exactly as training did.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def bucket(path):
    return int(hashlib.sha1(path.encode("utf-8")).hexdigest()[:8], 16) % 100


# Places categories (the `near:` labels) that hold neither a beach nor a
# mountain as their subject; the rest of the near: labels are left out.
NEAR_NEITHER = frozenset((
    "aqueduct", "botanical_garden", "bridge", "campsite", "dam", "hot_spring",
    "ice_skating_rink", "monastery", "swamp", "trench", "desert", "boat_deck"))
# Intel's city and forest scenes: neither.
NEITHER_LABELS = frozenset(("neither", "buildings", "street", "forest"))
HELD_OUT_PERCENT = 20


def class_of(label):
    """The training class index of a manifest label, or None to leave it out."""
    if label.startswith("near:"):
        return NEITHER if label[5:] in NEAR_NEITHER else None
    if label in NEITHER_LABELS:
        return NEITHER
    return CLASSES.index(label) if label in CLASSES else None


def category_of(path):
    """places-mini/neither/CATEGORY/file.jpg -> CATEGORY (else None)."""
    parts = path.split("/")
    return parts[2] if len(parts) > 3 and parts[1] == "neither" else None


def place_of(path):
    """mexico-places/LABEL/PLACE_N.jpg -> mexico-places/LABEL/PLACE (else
    None): that source names each photo after the place it shows (27 places),
    so photos of one place are not independent draws."""
    if not path.startswith("mexico-places/"):
        return None
    return re.sub(r"_\d+\.[^./]+$", "", path)


def held_out_category(path):
    """True for the places-mini neither categories kept out of training."""
    cat = category_of(path)
    return cat is not None and bucket(cat) < HELD_OUT_PERCENT


def split_of(path, source, split):
    if held_out_category(path):
        return "val"
    if source == "intel":
        if split == "test":
            return "val"
    elif bucket(path) < 20:
        return "val"
    return "calib" if 20 <= bucket(path) < 25 else "train"


# The class index of a photo that is trained on only through the auxiliary
# fine-grained head (--aux in train.py): its main-head loss is ignored.
UNLABELLED = -100


def fine_label(row):
    """The photo's fine-grained category: its manifest label, with each
    places-mini neither category on its own (neither/kitchen...)."""
    cat = category_of(row["path"])
    return "neither/" + cat if cat else row["label"]


def read_manifest(data_dir, unlabelled=False):
    """Rows of manifest.csv with our split in "part" and the class index in
    "y"; labels that class_of() leaves out are skipped, or kept with y =
    UNLABELLED when `unlabelled`."""
    rows = []
    with open(os.path.join(data_dir, "manifest.csv"), newline="") as f:
        for row in csv.DictReader(f):
            y = class_of(row["label"])
            if y is None:
                if not unlabelled:
                    continue
                y = UNLABELLED
            row["part"] = split_of(row["path"], row["source"], row["split"])
            row["y"] = y
            rows.append(row)
    return rows


def read_manifest_all(data_dir):
    """Every row of manifest.csv, labels as they are (no class, no split)."""
    with open(os.path.join(data_dir, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))


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
    """decode_all, cached on disk by (paths, size) so reruns start at once.
    Runs started side by side may both write the cache: each writes a
    temporary file of its own and renames it into place, so either copy is whole."""
    key = hashlib.sha1(("%d\n" % size + "\n".join(r["path"] for r in rows)).encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, "images-%d-%s.npy" % (size, key)) if cache_dir else None
    if path and os.path.exists(path):
        return np.load(path)
    images = decode_all(data_dir, rows, size)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".tmp.npy", delete=False) as f:
            np.save(f, images)
        os.replace(f.name, path)
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


def augment(images_u8, out_size, gen, min_scale=0.25, grey_p=0.1, blur_p=0.15,
            plain=None, plain_p=0.0, cast_p=0.0, jpeg_p=0.0):
    """Random resized crop (area min_scale..1, aspect 3/4..4/3), horizontal
    flip, brightness/contrast/saturation jitter, a colour cast (cast_p, see
    colour_cast), black-and-white (grey_p),
    a blur (blur_p, as of a small or soft photo scaled up) and JPEG
    artefacts (jpeg_p, see recompress); one affine
    grid_sample for the whole batch. images_u8: uint8 (N,H,W,3) tensor.
    plain: bool (N,), the photos that may become a plain-background
    composite (plain_p of them): see on_plain_background."""
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
    if cast_p > 0:
        x = colour_cast(x, cast_p, gen)
    # Black and white: the luma in all three channels.
    bw = (torch.rand(n, generator=gen) < grey_p).view(n, 1, 1, 1)
    grey = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
    x = torch.where(bw, grey.expand_as(x), x)
    # Blur: down to a random fraction of the size and back up.
    soft = torch.rand(n, generator=gen) < blur_p
    if soft.any():
        f = float(u(0.25, 0.6)[0])
        small = F.interpolate(x[soft], scale_factor=f, mode="bilinear", align_corners=False,
                              antialias=True)
        x[soft] = F.interpolate(small, size=(out_size, out_size), mode="bilinear",
                                align_corners=False)
    if plain is not None and plain_p > 0:
        pick = plain & (torch.rand(n, generator=gen) < plain_p)
        if pick.any():
            x[pick] = on_plain_background(x[pick], gen)
    x = x.clamp(0.0, 1.0)
    if jpeg_p > 0:
        x = recompress(x, jpeg_p, gen)
    return normalize(x)


# Qualities recompress draws from: from a heavily compressed web thumbnail
# to a photo saved by an ordinary camera app.
JPEG_QUALITIES = (10, 75)


def jpeg_copy(image_u8, quality):
    """uint8 (H,W,3) array -> the same picture saved as a JPEG of that
    quality and decoded again (PIL's libjpeg, 4:2:0 as most files are)."""
    buf = io.BytesIO()
    Image.fromarray(image_u8).save(buf, "JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.array(im.convert("RGB"))


def recompress(x, p, gen):
    """A share p of the images (float (N,3,S,S) in 0..1) saved as JPEGs of
    a quality drawn from JPEG_QUALITIES and decoded again: the blocks and
    ringing of a compressed upload or a photo found on the web, which the
    stored training copies barely show."""
    n = x.shape[0]
    pick = torch.rand(n, generator=gen) < p
    quality = torch.randint(JPEG_QUALITIES[0], JPEG_QUALITIES[1] + 1, (n,), generator=gen)
    out = x.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        u8 = (x[i].permute(1, 2, 0) * 255.0).round().to(torch.uint8).numpy()
        out[i] = torch.from_numpy(jpeg_copy(u8, quality[i])).permute(2, 0, 1).float() / 255.0
    return out


def colour_cast(x, p, gen):
    """A share p of the images (float (N,3,S,S)) tinted as a white balance
    or a filter would: each channel times a gain drawn from 0.7..1.3, the
    three gains scaled to a mean of 1. Teaches that a blue or orange tint
    alone does not make a beach or a mountain."""
    n = x.shape[0]
    gain = 0.7 + 0.6 * torch.rand(n, 3, generator=gen)
    gain = gain / gain.mean(dim=1, keepdim=True)
    tint = (torch.rand(n, generator=gen) < p).view(n, 1)
    return x * torch.where(tint, gain, torch.ones_like(gain)).view(n, 3, 1, 1)


def on_plain_background(x, gen):
    """Each image (float (N,3,S,S) in 0..1) shrunk to 35..75% of its side
    and set somewhere on a plain background: one colour, or a vertical
    gradient between two. What a photo of one thing (a pet, a plate, a
    product) looks like: given only "neither" photos, it teaches that a
    subject on a plain ground is neither, instead of reading a flat sky or
    wall as the sky over a beach."""
    n, _, size, _ = x.shape
    out = torch.empty_like(x)
    for i in range(n):
        r = torch.rand(11, generator=gen)
        # Mostly muted grounds (white, grey, black, pastel), some vivid.
        top = r[9] + (r[0:3] - r[9]) * r[10] ** 2
        bottom = r[9] + (r[3:6] - r[9]) * r[10] ** 2
        if r[6] < 0.5:
            bottom = top
        ramp = torch.linspace(0.0, 1.0, size).view(1, size, 1)
        out[i] = top.view(3, 1, 1) * (1 - ramp) + bottom.view(3, 1, 1) * ramp
        side = max(8, int(size * (0.35 + 0.4 * float(r[7]))))
        small = F.interpolate(x[i:i + 1], size=(side, side), mode="bilinear",
                              align_corners=False, antialias=True)[0]
        oy = int(float(r[8]) * (size - side))
        ox = int(float(torch.rand(1, generator=gen)) * (size - side))
        out[i, :, oy:oy + side, ox:ox + side] = small
    return out


def cut_mix(x, y, n_classes, p, gen):
    """CutMix: in a share p of the batch, a random box (a quarter to a half
    of the side each way) of another photo of the batch is pasted over the
    photo, and its target becomes the two classes mixed by area: a photo
    with a beach in one part and a mountain in another should score in
    between ("not sure"). x: (N,3,S,S) network inputs; y: (N,) class
    indices. Returns the new x and (N, n_classes) target probabilities."""
    n, _, size, _ = x.shape
    target = F.one_hot(y, n_classes).float()
    pick = torch.nonzero(torch.rand(n, generator=gen) < p).flatten()
    if not len(pick):
        return x, target
    src, x = x, x.clone()
    partner = torch.randint(0, n, (len(pick),), generator=gen)
    sides = (size * (0.25 + 0.25 * torch.rand(len(pick), 2, generator=gen))).long()
    corner = torch.rand(len(pick), 2, generator=gen)
    mixed = target.clone()
    for k, (i, j) in enumerate(zip(pick.tolist(), partner.tolist())):
        h, w = int(sides[k, 0]), int(sides[k, 1])
        top, left = int(corner[k, 0] * (size - h)), int(corner[k, 1] * (size - w))
        x[i, :, top:top + h, left:left + w] = src[j, :, top:top + h, left:left + w]
        area = h * w / float(size * size)
        mixed[i] = (1 - area) * target[i] + area * target[j]
    return x, mixed
