"""Draws Tablao's icon (a red tile, a stage floor of planks and a T) and writes it in every format the
packages need: PNGs for the freedesktop icon theme, ICO for Windows, ICNS for macOS.

    python packaging/make_icons.py      # rewrites packaging/icons/; the results are committed
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent / "icons"
SIZES = (16, 32, 48, 64, 128, 256, 512)
RED, DARK, PLANK, SEAM, WHITE = "#b3261e", "#7c1a14", "#e0a458", "#a86f2c", "#fff8ef"


def draw(size: int = 1024) -> Image.Image:
    """The icon at `size` pixels (drawn large, scaled down for the small sizes)."""
    s = size / 1024
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([40 * s, 40 * s, 984 * s, 984 * s], radius=200 * s, fill=RED)
    # The stage: three planks across the lower part, with seams between them.
    top = 640 * s
    d.rounded_rectangle([40 * s, top, 984 * s, 984 * s], radius=200 * s, fill=PLANK)
    d.rectangle([40 * s, top, 984 * s, top + 120 * s], fill=PLANK)
    for y in (top + 110 * s, top + 220 * s):
        d.rectangle([40 * s, y, 984 * s, y + 14 * s], fill=SEAM)
    d.rectangle([40 * s, top - 18 * s, 984 * s, top], fill=DARK)
    # The T, standing on the stage.
    d.rectangle([250 * s, 170 * s, 774 * s, 290 * s], fill=WHITE)
    d.rectangle([452 * s, 170 * s, 572 * s, top - 18 * s], fill=WHITE)
    return img


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    big = draw()
    for size in SIZES:
        big.resize((size, size), Image.LANCZOS).save(ICONS / f"tablao-{size}.png", optimize=True)
    big.resize((256, 256), Image.LANCZOS).save(ICONS / "tablao.ico", sizes=[(n, n) for n in SIZES if n <= 256])
    big.resize((512, 512), Image.LANCZOS).save(ICONS / "tablao.icns")
    for path in sorted(ICONS.iterdir()):
        print(path.relative_to(ICONS.parent.parent), path.stat().st_size)


if __name__ == "__main__":
    main()
