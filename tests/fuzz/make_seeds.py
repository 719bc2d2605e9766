#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (never committed: generated at test time).

    /usr/bin/python3 tests/fuzz/make_seeds.py OUT_DIR

OUT_DIR/model/: every build/ops-models/*/ (made by tests/ops/make-op-models.mjs) and
weights/ as one input each, in fuzz_input.h's layout: u32 LE json length, json, then per
shard (manifest order) u32 LE length and bytes; plus the shapes of model.json that once
hung or crashed the loader (deep JSON, long node chains), at and past the limits in
docs/design.md, so the fuzzer starts next to them.
OUT_DIR/image/: web/examples/*.jpg plus tiny PNG, BMP, GIF and EXIF-rotated JPEG files
written here with PIL, so every decoder and orientation path has a starting point; plus
images that stb_image alone turns into a confident grey picture or a gigabyte: JPEG scans
cut short before an EOI, frames far larger than their scan data, random scan bytes, and
PNG data that inflates past (or short of) what the header declares.
"""
import io
import json
import pathlib
import struct
import sys

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pack_model(model_dir):
    text = (model_dir / "model.json").read_bytes()
    manifest = json.loads(text).get("weightsManifest", [])
    out = [struct.pack("<I", len(text)), text]
    for group in manifest:
        for path in group["paths"]:
            shard = (model_dir / path).read_bytes()
            out += [struct.pack("<I", len(shard)), shard]
    return b"".join(out)


def chain_json(n, cycle=False):
    """x -> n Relu nodes, each reading the one before -> Identity "out" (with cycle,
    the first Relu reads the last)."""
    nodes = ['{"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}}']
    for k in range(n):
        src = "x" if k == 0 and not cycle else "r%d" % ((k - 1) % n)
        nodes.append('{"name": "r%d", "op": "Relu", "input": ["%s"]}' % (k, src))
    nodes.append('{"name": "out", "op": "Identity", "input": ["r%d"]}' % (n - 1))
    return (
        '{"format": "graph-model", "signature": {"inputs": {"x:0": {"name": "x:0", '
        '"tensorShape": {"dim": [{"size": "-1"}, {"size": "4"}]}}}, "outputs": '
        '{"out:0": {"name": "out:0"}}}, "modelTopology": {"node": [\n%s]}}'
        % ",\n".join(nodes)).encode()


def hostile_models():
    """name -> model.json text: deep nesting and long chains around the limits
    (64 JSON levels, 100,000 nodes), kept small enough for the targets' -max_len."""
    def nested(depth):
        return b'{"a":' * depth + b"1" + b"}" * depth
    def with_notes(depth):  # a chain whose "mvb" key nests to depth in all
        return chain_json(3)[:-1] + b', "mvb": {"notes": ' + nested(depth - 2) + b"}}"
    over_count = (b'{"format": "graph-model", "modelTopology": {"node": ['
                  + b",".join([b"{}"] * 100001) + b"]}}")
    return {
        "deep-json-64.bin": with_notes(64),
        "deep-json-65.bin": with_notes(65),
        "deep-json-100000.bin": nested(100000),
        "chain-5000.bin": chain_json(5000),
        "chain-cycle-5000.bin": chain_json(5000, cycle=True),
        "nodes-over-limit.bin": over_count,
    }


def tiny_images():
    """name -> bytes: one small picture per format and mode the decoder handles."""
    rgb = Image.new("RGB", (7, 5))
    rgb.putdata([(x * 36, y * 60, (x * y * 13) % 256) for y in range(5) for x in range(7)])
    files = {}

    def save(name, image, fmt, **kw):
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        files[name] = buf.getvalue()

    save("rgb.png", rgb, "PNG")
    save("rgba.png", rgb.convert("RGBA"), "PNG")
    save("grey.png", rgb.convert("L"), "PNG")
    save("palette.png", rgb.convert("P"), "PNG")
    save("16bit.png", rgb.convert("L").convert("I;16"), "PNG")
    save("rgb.bmp", rgb, "BMP")
    save("palette.bmp", rgb.convert("P"), "BMP")
    save("still.gif", rgb.convert("P"), "GIF")
    frames = [rgb.convert("P"), rgb.transpose(Image.FLIP_LEFT_RIGHT).convert("P")]
    save("animated.gif", frames[0], "GIF", save_all=True, append_images=frames[1:])
    save("baseline.jpg", rgb, "JPEG", quality=90)
    save("progressive.jpg", rgb, "JPEG", quality=90, progressive=True)
    save("grey.jpg", rgb.convert("L"), "JPEG")
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        save(f"exif-orientation-{orientation}.jpg", rgb, "JPEG", exif=exif.tobytes())
    return files


def hostile_images():
    """name -> bytes: inputs once decoded into grey or into a gigabyte, small enough to
    mutate quickly; the library must refuse each (src/jpeg_scan.c, src/stb_impl.c)."""
    import random
    import zlib

    rng = random.Random(10)
    card = Image.new("RGB", (64, 48))
    card.putdata([(x * 4, y * 5, (x * y) % 256) for y in range(48) for x in range(64)])

    def jpeg(image, **kw):
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90, **kw)
        return buf.getvalue()

    def scans(data):
        """(start, end) of each scan's entropy-coded data."""
        out, at = [], 0
        while (at := data.find(b"\xff\xda", at)) >= 0:
            start = at + 2 + (data[at + 2] << 8 | data[at + 3])
            end = start
            while not (data[end] == 0xFF and data[end + 1] not in (0, 0xFF)
                       and not 0xD0 <= data[end + 1] <= 0xD7):
                end += 1
            out.append((start, end))
            at = end
        return out

    def resized(data, w, h):  # the frame header (SOF0 or SOF2) says w x h
        at = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        return data[:at + 5] + struct.pack(">HH", h, w) + data[at + 9:]

    def png(w, h, color, rows):
        def chunk(kind, body):
            return (struct.pack(">I", len(body)) + kind + body
                    + struct.pack(">I", zlib.crc32(kind + body)))
        ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))

    baseline, progressive = jpeg(card), jpeg(card, progressive=True)
    (b0, b1), p2 = scans(baseline)[0], scans(progressive)[2]
    random_scan = bytes(rng.randrange(256) for _ in range(b1 - b0)).replace(b"\xff", b"\xff\x00")
    return {
        "jpeg-scan-cut-before-eoi.jpg": baseline[:(b0 + b1) // 2] + b"\xff\xd9",
        "jpeg-progressive-scan-cut-before-eoi.jpg": progressive[:(p2[0] + p2[1]) // 2] + b"\xff\xd9",
        "jpeg-1x65535-over-8x8-body.jpg": resized(jpeg(card.resize((8, 8))), 1, 65535),
        "jpeg-1900x1900-over-16x16-body.jpg": resized(jpeg(card.resize((16, 16))), 1900, 1900),
        "jpeg-random-scan.jpg": baseline[:b0] + random_scan + baseline[b1:],
        "png-1x1-inflating-to-1mib.png": png(1, 1, 2, bytes(1 << 20)),
        "png-8x8-inflating-short.png": png(8, 8, 2, bytes(8 * 25 - 1)),
    }


def main():
    out = pathlib.Path(sys.argv[1])
    (out / "model").mkdir(parents=True, exist_ok=True)
    (out / "image").mkdir(parents=True, exist_ok=True)
    models = sorted(p.parent for p in (ROOT / "build" / "ops-models").glob("*/model.json"))
    if (ROOT / "weights" / "model.json").exists():
        models.append(ROOT / "weights")
    for model_dir in models:
        (out / "model" / (model_dir.name + ".bin")).write_bytes(pack_model(model_dir))
    hostile = hostile_models()
    for name, text in hostile.items():
        (out / "model" / name).write_bytes(struct.pack("<I", len(text)) + text)
    for jpg in sorted((ROOT / "web" / "examples").glob("*.jpg")):
        (out / "image" / jpg.name).write_bytes(jpg.read_bytes())
    for name, data in tiny_images().items():
        (out / "image" / name).write_bytes(data)
    for name, data in hostile_images().items():
        (out / "image" / name).write_bytes(data)
    print(f"seeds: {len(models)} models, {len(hostile)} hostile models, {len(list((out / 'image').iterdir()))} images in {out}")


if __name__ == "__main__":
    main()
