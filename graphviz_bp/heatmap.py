"""Arrays too large to print legibly, drawn as grids of coloured cells in Graphviz's HTML
labels: diverging and symmetric around zero (white is 0, blue below, red above, as in
ColorBrewer's RdBu, safe for colour-blind readers), with the scale beside them.

Colours come in 21 steps of the array's largest magnitude, so a figure is the same on
every machine: only a value within 10⁻¹⁵ of a step's edge could change its cell.
"""

from __future__ import annotations

import numpy as np

from .quoting import html_text, number, shape_text

__all__ = ["heatmap", "matrix_view", "MAX_CELLS_PER_SIDE", "VALUE_MODES", "NAN_COLOR"]

#: What a figure writes for an array: ``auto`` (numbers when few, else a heatmap),
#: ``numbers`` (numbers when few, else shape and range), ``heatmap`` (every array of more
#: than one entry), ``summary`` (shape and range only).
VALUE_MODES = ("auto", "numbers", "heatmap", "summary")

#: ColorBrewer RdBu, 11 classes, from most negative to most positive.
_RDBU = ("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
         "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
#: NaN and ±Infinity: a yellow that is never a colour of the scale.
NAN_COLOR = "#ffd400"
#: Steps on each side of zero.
_STEPS = 10
#: Larger arrays are shown by the mean of blocks, so a grid has at most this many cells a side.
MAX_CELLS_PER_SIDE = 32
#: The whole grid's widest side, in points.
_GRID_POINTS = 150.0


def _blend(low: str, high: str, t: float) -> str:
    a = [int(low[i:i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


def _palette() -> list[str]:
    """2 × _STEPS + 1 colours from −1 to 1, through the RdBu classes."""
    colours = []
    for i in range(-_STEPS, _STEPS + 1):
        position = (i / _STEPS + 1) / 2 * (len(_RDBU) - 1)
        lower = min(int(position), len(_RDBU) - 2)
        colours.append(_blend(_RDBU[lower], _RDBU[lower + 1], position - lower))
    return colours


PALETTE = _palette()


def matrix_view(array: np.ndarray) -> tuple[np.ndarray, str]:
    """``array`` as a matrix for the grid, and how it was made one: a vector as a row (a
    column as a column), a stack (N, C, H, W) as rows of its leading axes by W."""
    if array.ndim == 1:
        return array.reshape(1, -1), ""
    if array.ndim == 2:
        return array, ""
    rows = int(np.prod(array.shape[:-1]))
    return array.reshape(rows, array.shape[-1]), f"rows: {'×'.join(map(str, array.shape[:-1]))}"


def _blocks(matrix: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The means of blocks small enough that at most MAX_CELLS_PER_SIDE remain a side; a
    block holding NaN or ±Inf is NaN (what is marked must stay visible)."""
    rows, cols = matrix.shape
    by = (-(-rows // MAX_CELLS_PER_SIDE), -(-cols // MAX_CELLS_PER_SIDE))
    if by == (1, 1):
        return matrix, by
    shape = (-(-rows // by[0]), by[0], -(-cols // by[1]), by[1])
    padded = np.zeros((shape[0] * by[0], shape[2] * by[1]))
    inside = np.zeros(padded.shape, dtype=bool)
    padded[:rows, :cols], inside[:rows, :cols] = matrix, True
    finite = np.isfinite(padded)
    sums = np.where(finite, padded, 0.0).reshape(shape).sum(axis=(1, 3))
    counts = (inside & finite).reshape(shape).sum(axis=(1, 3))
    means = sums / np.maximum(counts, 1)
    means[(inside & ~finite).reshape(shape).any(axis=(1, 3))] = np.nan
    return means, by


def _colour(value: float, scale: float) -> str:
    if not np.isfinite(value):
        return NAN_COLOR
    if scale == 0:
        return PALETTE[_STEPS]
    step = int(np.clip(np.rint(value / scale * _STEPS), -_STEPS, _STEPS))
    return PALETTE[step + _STEPS]


def heatmap(array, prefix: str, color: str) -> str:
    """An HTML-like table: a caption (``prefix``, shape, how it was shown), the grid, and
    the scale from −s to s where s is the largest finite magnitude."""
    array = np.asarray(array, dtype=float)
    matrix, reshaped = matrix_view(array)
    grid, by = _blocks(matrix)
    finite = array[np.isfinite(array)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    rows, cols = grid.shape
    cell = max(2.0, min(9.0, _GRID_POINTS / max(rows, cols)))
    size = f'WIDTH="{cell:g}" HEIGHT="{cell:g}"'
    body = "".join(
        "<TR>" + "".join(f'<TD BGCOLOR="{_colour(v, scale)}" {size}></TD>' for v in row) + "</TR>"
        for row in grid)
    notes = [shape_text(array.shape)]
    if reshaped:
        notes.append(reshaped)
    if by != (1, 1):
        notes.append(f"means of {by[0]}×{by[1]} blocks")
    caption = f"{prefix}{', '.join(notes)}"
    legend = (f'<FONT POINT-SIZE="8" COLOR="{color}">{html_text(number(-scale, 3))} </FONT>'
              f'</TD><TD BGCOLOR="{PALETTE[0]}" WIDTH="8" HEIGHT="5"></TD>'
              f'<TD BGCOLOR="{PALETTE[_STEPS]}" WIDTH="8" HEIGHT="5"></TD>'
              f'<TD BGCOLOR="{PALETTE[-1]}" WIDTH="8" HEIGHT="5"></TD><TD>'
              f'<FONT POINT-SIZE="8" COLOR="{color}"> {html_text(number(scale, 3))}</FONT>')
    return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">'
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="{color}">{html_text(caption)}</FONT></TD></TR>'
            '<TR><TD ALIGN="LEFT"><TABLE BORDER="1" COLOR="#bbbbbb" CELLBORDER="0" '
            f'CELLSPACING="0" CELLPADDING="0">{body}</TABLE></TD></TR>'
            '<TR><TD ALIGN="LEFT"><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" '
            f'CELLPADDING="0"><TR><TD>{legend}</TD></TR></TABLE></TD></TR></TABLE>')
