"""Text that goes into a figure: escaping for DOT and HTML-like labels, and numbers written
to a fixed precision, so that a figure is the same on every machine.

Numbers computed with another CPU or BLAS differ in their last bits; a figure must not.
Labels show 3 or 4 significant digits; tooltips show :data:`TOOLTIP_DIGITS` digits of an
array's largest entry (each entry is rounded to that quantum, as a printed table of
numbers is); and entries smaller than :data:`NOISE` times an array's largest are
written 0 everywhere (they are rounding noise, whose sign and digits vary by machine).
Full precision is in ``inspect --json``.

>>> number(-0.0123456, 3), number(2.0, 3), number(float("nan"), 3)
('−0.0123', '2', 'nan')
>>> print(array_text([[1.0, -0.5], [1e-17, 2.25]], digits=4))
[[1.000  -0.500]
 [0.000   2.250]]
>>> html_text("a<b>[0]\\\\N")
'a&lt;b&gt;&#91;0&#93;\\\\\\\\N'
"""

from __future__ import annotations

import html
import math
import unicodedata

import graphviz
import numpy as np

__all__ = ["visible", "shorten", "html_text", "plain_lines", "number", "array_text",
           "shape_text", "LABEL_LENGTH", "TEXT_LENGTH", "LINE_LENGTH", "TOOLTIP_DIGITS", "NOISE"]

#: Longest label drawn in full; a longer one is shortened with … (the tooltip has it all).
LABEL_LENGTH = 40
#: Longest text of one piece of an HTML-like label (a formula on an edge), in characters;
#: a longer one is cut with …. Graphviz refuses a label whose text runs 16,384 bytes
#: between two tags, and an escaped character takes at most 6 (``&quot;``).
TEXT_LENGTH = 2000
#: Longest line of a plain attribute (a tooltip); a longer one is wrapped. In a quoted
#: string Graphviz refuses 16,384 bytes between two backslashes, and a character takes
#: at most 4 bytes.
LINE_LENGTH = 2000
#: Significant digits of an array's largest entry in a tooltip: far above what a person
#: reads, far below where CPUs and BLAS builds differ (about 10⁻¹⁵ of the largest entry).
TOOLTIP_DIGITS = 10
#: Entries smaller than this times the array's largest magnitude are written 0.
NOISE = 1e-12


# ---------------------------------------------------------------- escaping


def visible(text: str) -> str:
    """``text`` with control and format characters (newlines, bidi overrides) written as
    escapes, so that a label shows literally and cannot reorder or hide what follows; and
    with every character XML 1.0 forbids (surrogates, U+FFFE, U+FFFF and the other
    non-characters) too, since the SVG of a figure must stay well-formed.

    >>> print(visible("a\\u202eb\\nc\\ufffed\\U0010ffff"))
    a\\u202eb\\nc\\ufffed\\U0010ffff
    """
    text = str(text)
    if text.isprintable():  # no C* or Z* character but the space: nothing to escape
        return text
    return "".join(_escape(c) if _hidden(c) else c for c in text)


def _hidden(c: str) -> bool:
    category = unicodedata.category(c)
    if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return c != "\u200d"  # the zero-width joiner of emoji sequences
    code = ord(c)
    return category == "Cn" and (0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE)


def _escape(c: str) -> str:
    code = ord(c)
    if c == "\n":
        return "\\n"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def shorten(text: str) -> str:
    """:func:`visible` text, cut to :data:`LABEL_LENGTH` characters with …"""
    text = visible(text)
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


def html_text(text: str) -> str:
    """Text for an HTML-like label: markup characters escaped; brackets too (Graphviz
    2.43's label lexer rejects a cell holding a lone ``]``); backslashes doubled, since
    Graphviz expands ``\\N`` and ``\\G`` to the node's and graph's names even there.
    Text longer than :data:`TEXT_LENGTH` is cut with …"""
    text = visible(text)
    if len(text) > TEXT_LENGTH:
        text = text[: TEXT_LENGTH - 1] + "…"
    text = html.escape(text.replace("\\", "\\\\"))
    return text.replace("[", "&#91;").replace("]", "&#93;")


def plain_lines(lines: list[str]) -> str:
    """A plain (non-HTML) attribute of several lines: :func:`visible`, backslashes made
    literal, ``\\n`` between lines (Graphviz's line break in tooltips), and lines longer
    than :data:`LINE_LENGTH` wrapped at a space."""
    return graphviz.nohtml("\\n".join(part.replace("\\", "\\\\") for line in lines
                                      for part in _wrapped(visible(line))))


def _wrapped(line: str):
    while len(line) > LINE_LENGTH:
        cut = line.rfind(" ", LINE_LENGTH // 2, LINE_LENGTH)
        cut = cut if cut > 0 else LINE_LENGTH
        yield line[:cut]
        line = line[cut:]
    yield line


# ---------------------------------------------------------------- numbers


def shape_text(shape) -> str:
    """2×3, or ``scalar``."""
    return "×".join(map(str, shape)) if shape else "scalar"


def number(x: float, digits: int, scale: float | None = None) -> str:
    """``x`` to ``digits`` significant digits with a true minus sign; 0 below the noise
    level of ``scale`` (the largest magnitude of the array ``x`` belongs to)."""
    if not math.isfinite(x):
        return str(x)
    if scale is not None and abs(x) < NOISE * scale:
        return "0"
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text.replace("-", "−")


def _rounded(values: np.ndarray, digits: int) -> list[str]:
    """Entries rounded to ``digits`` significant digits of the largest (finite) one, all
    with the same number of decimals where that stays short (as a printed table has)."""
    finite = values[np.isfinite(values)]
    scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    if scale == 0.0:
        return [_entry(float(v)) for v in values]
    decimals = digits - 1 - math.floor(math.log10(scale))
    fixed = 0 <= decimals <= digits + 3
    texts = []
    for v in map(float, values):
        if not math.isfinite(v):
            texts.append(str(v))
            continue
        v = round(v, decimals) + 0.0  # + 0.0: no negative zero
        texts.append(f"{v:.{decimals}f}" if fixed else _entry(v))
    return texts


def _entry(x: float) -> str:
    text = f"{x:.{TOOLTIP_DIGITS + 2}g}"
    return "0" if text == "-0" else text


def array_text(value, digits: int = TOOLTIP_DIGITS, edge: int | None = None) -> str:
    """An array as a tooltip shows it: rows of aligned columns, every entry rounded to
    ``digits`` significant digits of the largest; with ``edge``, only the first and last
    ``edge`` rows and columns of a larger matrix (…). Arrays of more than two axes are
    shown as the rows of their last axis."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return _entry(float(f"{float(array):.{digits}g}")) if math.isfinite(array) else str(float(array))
    matrix = array.reshape(1, -1) if array.ndim == 1 else array.reshape(-1, array.shape[-1])
    rows = list(range(matrix.shape[0]))
    cols = list(range(matrix.shape[1]))
    if edge is not None:
        rows, cols = _ends(rows, edge), _ends(cols, edge)
    shown = matrix[[r for r in rows if r is not None]][:, [c for c in cols if c is not None]]
    cells = iter(_rounded(shown.reshape(-1), digits))
    table = [[next(cells) if c is not None else "…" for c in cols] if r is not None
             else ["⋮" if c is not None else "" for c in cols] for r in rows]
    widths = [max(len(row[j]) for row in table) for j in range(len(cols))]
    lines = ["[" + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) + "]" for row in table]
    if array.ndim == 1:
        return lines[0]
    return "[" + "\n ".join(lines) + "]"


def _ends(indices: list, edge: int) -> list:
    """The first and last ``edge`` indices, with None between them where some are left out."""
    if len(indices) <= 2 * edge:
        return indices
    return indices[:edge] + [None] + indices[-edge:]
