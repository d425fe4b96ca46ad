"""Images written as PNG: labelled image grids (store previews, corruption previews, dataset cards) and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from datacentric.core.errors import DatacentricError
from datacentric.core.io import atomic_path

PLOTS_EXTRA = "pip install 'datacentric[plots]'"


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend; without matplotlib, one error line naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise DatacentricError(f"figures need matplotlib: {PLOTS_EXTRA}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_grid(rows: list[list[np.ndarray]], out: Path, *, row_labels: list[str] | None = None,
              cell_labels: list[list[str]] | None = None, scale: int | None = None) -> None:
    """Write images (uint8 H×W×C) as a grid, one list per row, with optional row captions and cell captions
    (several lines where a caption holds '\n'). `scale` None enlarges small images to about 96 pixels."""
    font = ImageFont.load_default()
    height, width = rows[0][0].shape[:2]
    scale = scale or max(1, round(96 / width))
    cell_w, cell_h = width * scale, height * scale
    lines = max((len(c.split("\n")) for row in cell_labels or [] for c in row), default=0)
    caption_h = 12 * lines + (2 if lines else 0)
    label_w = 8 + 6 * max((len(label) for label in row_labels), default=0) if row_labels else 0
    columns = max(len(row) for row in rows)
    canvas = Image.new("RGB", (label_w + columns * (cell_w + 4), len(rows) * (cell_h + caption_h + 4)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(rows):
        top = r * (cell_h + caption_h + 4)
        if row_labels:
            draw.text((4, top + cell_h // 2 - 5), row_labels[r], fill="black", font=font)
        for c, image in enumerate(row):
            tile = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).convert("RGB")
            left = label_w + c * (cell_w + 4)
            canvas.paste(tile.resize((cell_w, cell_h), Image.NEAREST), (left, top))
            for n, text in enumerate(cell_labels[r][c].split("\n") if cell_labels else []):
                draw.text((left + 1, top + cell_h + 1 + 12 * n), text[: (cell_w + 3) // 6], fill="black", font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format="PNG")


def save_figure(figure, out: Path, dpi: int = 110) -> None:
    """A matplotlib figure as PNG, written atomically (a kill or a full disk leaves the old file or none)."""
    with atomic_path(Path(out)) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")  # legends outside the axes stay in
