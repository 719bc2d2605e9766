"""Writes the example photos' thumbnails: web/examples/thumbs/NAME.webp for each entry of
web/examples/examples.json ("thumb"), a 4:3 centre crop at 320 x 240 (the example tiles
are about 160 CSS pixels wide, so twice that for high-density screens).

The page shows these (a few kB each) and fetches the full photo only when one is clicked,
so the examples no longer share the first visit's link with the engine and the weights
(bench/RESULTS.md, "First verdict of a first visit"). Run it after adding or changing an
example and commit what it writes:  /usr/bin/python3 tools/example-thumbnails.py
"""
import json
import os
import sys

from PIL import Image, ImageOps

SIZE = (320, 240)
QUALITY = 55

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "web", "examples")


def main():
    with open(os.path.join(root, "examples.json"), encoding="utf-8") as f:
        examples = json.load(f)
    for ex in examples:
        if "thumb" not in ex:
            sys.exit(f"example-thumbnails: {ex['file']} has no \"thumb\" in examples.json")
        out = os.path.join(root, ex["thumb"])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with Image.open(os.path.join(root, ex["file"])) as im:
            thumb = ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), SIZE, Image.LANCZOS)
        thumb.save(out, "WEBP", quality=QUALITY, method=6)
        print(f"{ex['thumb']}: {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
