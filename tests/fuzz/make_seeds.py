#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (never committed: generated at test time).

    /usr/bin/python3 tests/fuzz/make_seeds.py OUT_DIR

OUT_DIR/model/: every build/ops-models/*/ (made by tests/ops/make-op-models.mjs) and
weights/ as one input each, in fuzz_input.h's layout: u32 LE json length, json, then per
shard (manifest order) u32 LE length and bytes; plus the shapes of model.json that once
hung or crashed the loader (deep JSON, long node chains), at and past the limits in
docs/design.md, so the fuzzer starts next to them.
OUT_DIR/image/: web/examples/*.jpg plus tiny PNG, BMP, GIF and EXIF-rotated JPEG files
written here with PIL, so every decoder and orientation path has a starting point.
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
    print(f"seeds: {len(models)} models, {len(hostile)} hostile models, {len(list((out / 'image').iterdir()))} images in {out}")


if __name__ == "__main__":
    main()
