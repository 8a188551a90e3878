"""Compare a rebuilt output with its reference: tables cell by cell, figures as pixels.

Each comparison returns an ``Agreement``: whether it holds, the largest difference found
and where it is (row and column of a table, pixel box of a figure), so a failure names
the cell and a pass says how close it came.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from innopanel.reproducibility.policy import FigureTolerance, NumericTolerance


@dataclass(frozen=True)
class Agreement:
    """The outcome of one comparison: ``largest`` difference, at ``where``."""

    holds: bool
    largest: float
    where: str
    problem: str = ""


def read_table(path: Path) -> pd.DataFrame:
    """A numeric output as a data frame; CSV text cells stay text (no NA guessing)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def compare_tables(reference: Path, rebuilt: Path, tolerance: NumericTolerance) -> Agreement:
    """Cell by cell: floating-point columns within ``tolerance``, every other cell exactly.

    ``largest`` is the largest relative difference of a float cell (the absolute one
    where both values are within the absolute floor of zero).
    """
    old, new = read_table(reference), read_table(rebuilt)
    if list(old.columns) != list(new.columns) or len(old) != len(new):
        return Agreement(
            False,
            np.inf,
            "the table's shape",
            f"columns or rows changed: {len(old)} rows {list(old.columns)} -> "
            f"{len(new)} rows {list(new.columns)}",
        )
    largest, where, problems = 0.0, "", []
    for column in old.columns:
        before, after = old[column], new[column]
        floats = pd.api.types.is_float_dtype(before) and pd.api.types.is_float_dtype(after)
        if not floats:
            changed = ~((before == after) | (before.isna() & after.isna()))
            if changed.any():
                row = int(np.flatnonzero(changed.to_numpy())[0])
                problems.append(
                    f"{_row(reference, row)}, column {column}: "
                    f"{before.tolist()[row]!r} -> {after.tolist()[row]!r} (compared exactly)"
                )
            continue
        a, b = before.to_numpy(dtype=float), after.to_numpy(dtype=float)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        with np.errstate(invalid="ignore"):
            gap = np.where(same, 0.0, np.abs(a - b))
            scale = np.maximum(np.abs(a), np.abs(b))
            allowed = np.maximum(tolerance.relative * scale, tolerance.absolute)
            relative = np.where(same, 0.0, np.where(scale > tolerance.absolute, gap / scale, gap))
        relative = np.where(np.isnan(relative), np.inf, relative)
        worst = int(np.argmax(relative)) if len(relative) else 0
        if len(relative) and relative[worst] > largest:
            largest, where = float(relative[worst]), _cell(reference, worst, column, a, b)
        outside = ~same & ~(gap <= allowed)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            problems.append(
                f"{_cell(reference, row, column, a, b)} differs by "
                f"{relative[row]:.3g} (relative), beyond {tolerance.render()}"
            )
    return Agreement(not problems, largest, where or "no cell moved", "; ".join(problems))


def _row(path: Path, row: int) -> str:
    # CSV rows are named by their line number (the header is line 1).
    return f"line {row + 2}" if path.suffix == ".csv" else f"row {row}"


def _cell(path: Path, row: int, column: str, a: np.ndarray, b: np.ndarray) -> str:
    return f"{_row(path, row)}, column {column}: {float(a[row])!r} -> {float(b[row])!r}"


def render(path: Path, tolerance: FigureTolerance) -> np.ndarray:
    """An RGB rendering (floats in 0-1) at the policy's fixed resolution.

    PDFs are drawn by poppler's ``pdftoppm`` at ``tolerance.dpi``, every page stacked
    top to bottom; PNGs are composited on white and averaged over square blocks.
    """
    if path.suffix.lower() == ".pdf":
        return _render_pdf(path, tolerance.dpi)
    from PIL import Image

    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA"), dtype=float) / 255.0
    rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])
    block = tolerance.block
    height, width = (rgb.shape[0] // block) * block, (rgb.shape[1] // block) * block
    blocks = rgb[:height, :width].reshape(height // block, block, width // block, block, 3)
    return blocks.mean(axis=(1, 3))


def _render_pdf(path: Path, dpi: int) -> np.ndarray:
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        raise FileNotFoundError(
            f"{path}: comparing a PDF needs pdftoppm (Debian/Ubuntu: apt-get install "
            "poppler-utils; .ci/run installs it)."
        )
    with tempfile.TemporaryDirectory(prefix="innopanel-render-") as folder:
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", str(path), f"{folder}/page"],
            check=True,
            capture_output=True,
        )
        pages = []
        for page in sorted(Path(folder).glob("page*.png")):
            with Image.open(page) as image:
                pages.append(np.asarray(image.convert("RGB"), dtype=float) / 255.0)
    width = max(page.shape[1] for page in pages)
    padded = [
        np.pad(p, ((0, 0), (0, width - p.shape[1]), (0, 0)), constant_values=1.0) for p in pages
    ]
    return np.concatenate(padded, axis=0)


def save_rendering(rendering: np.ndarray, target: Path) -> None:
    """Store a rendering as an 8-bit PNG (what reference/ keeps)."""
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(rendering * 255.0).astype(np.uint8), "RGB").save(target, optimize=True)


def load_rendering(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=float) / 255.0


def compare_renderings(
    reference: np.ndarray, rebuilt: np.ndarray, tolerance: FigureTolerance
) -> Agreement:
    """No pixel may move by more than ``tolerance.channel`` in any colour channel.

    Both sides are quantised to 8 bits first, as the stored reference is.
    """
    if reference.shape != rebuilt.shape:
        return Agreement(
            False,
            np.inf,
            "the rendering's size",
            f"rendered size changed: {reference.shape[1]}x{reference.shape[0]} -> "
            f"{rebuilt.shape[1]}x{rebuilt.shape[0]} pixels",
        )
    quantised = [np.round(image * 255.0) / 255.0 for image in (reference, rebuilt)]
    moved = np.abs(quantised[0] - quantised[1]).max(axis=2)
    largest = float(moved.max(initial=0.0))
    outside = moved > tolerance.channel
    if not outside.any():
        where = "no pixel moved" if largest == 0 else _box(moved > 0)
        return Agreement(True, largest, where)
    return Agreement(
        False,
        largest,
        _box(outside),
        f"{int(outside.sum())} pixel(s) moved by more than {tolerance.channel:g} at "
        f"{tolerance.render()}, in {_box(outside)}",
    )


def _box(mask: np.ndarray) -> str:
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return (
        f"pixels x {columns[0]}-{columns[-1]}, y {rows[0]}-{rows[-1]} "
        f"of {mask.shape[1]}x{mask.shape[0]}"
    )
