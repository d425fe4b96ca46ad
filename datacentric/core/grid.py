"""Images written as PNG: labelled image grids (store previews, corruption previews, dataset cards) and figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from datacentric.core.io import atomic_path


def save_grid(rows: list[list[np.ndarray]], out: Path, *, row_labels: list[str] | None = None,
              cell_labels: list[list[str]] | None = None, scale: int = 3) -> None:
    """Write images (uint8 H×W×C) as a grid, one list per row, with optional row and cell captions."""
    font = ImageFont.load_default()
    height, width = rows[0][0].shape[:2]
    cell_w, cell_h = width * scale, height * scale
    caption_h = 12 if cell_labels else 0
    label_w = 8 + 6 * max((len(label) for label in row_labels), default=0) if row_labels else 0
    columns = max(len(row) for row in rows)
    canvas = Image.new("RGB", (label_w + columns * (cell_w + 2), len(rows) * (cell_h + caption_h + 2)), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(rows):
        top = r * (cell_h + caption_h + 2)
        if row_labels:
            draw.text((4, top + cell_h // 2 - 5), row_labels[r], fill="black", font=font)
        for c, image in enumerate(row):
            tile = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).convert("RGB")
            left = label_w + c * (cell_w + 2)
            canvas.paste(tile.resize((cell_w, cell_h), Image.NEAREST), (left, top))
            if cell_labels:
                draw.text((left + 1, top + cell_h), cell_labels[r][c][: cell_w // 6], fill="black", font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format="PNG")


def save_figure(figure, out: Path, dpi: int = 110) -> None:
    """A matplotlib figure as PNG, written atomically (a kill or a full disk leaves the old file or none)."""
    with atomic_path(Path(out)) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png")
