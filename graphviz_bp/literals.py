"""Static parameters as the expression language writes them: numbers, tuples, slices, indices.

An op's parameters (``axis=(0, 1)``, ``keepdims=True``, ``shape=(6, 4)``, an index such as
``[:, 1:3]``) are plain hashable Python values, so formulas holding them can be compared
and hashed. A slice is a :class:`Slice` (Python 3.11's ``slice`` cannot be hashed). This
module reads them from Python syntax without running it, and writes them back.

>>> import ast
>>> read_literal(ast.parse("(0, -1)", mode="eval").body)
(0, -1)
>>> spec = read_index(ast.parse("x[:, 1:3, None]", mode="eval").body.slice)
>>> index_text(spec)
':, 1:3, None'
"""

from __future__ import annotations

import ast
from typing import NamedTuple

__all__ = ["COMPARISONS", "Slice", "LiteralError", "read_literal", "read_index", "index_text", "literal_text",
           "as_numpy_index"]


#: Python's comparison nodes → the ``test`` of the ``compare`` op.
COMPARISONS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


class LiteralError(ValueError):
    """A parameter that is not a literal of the language (the message says what it is)."""


class Slice(NamedTuple):
    """``start:stop:step`` of an index, hashable (``None`` for a part left out)."""

    start: int | None = None
    stop: int | None = None
    step: int | None = None

    def __repr__(self):
        return f"slice({self.start}, {self.stop}, {self.step})"

    def text(self) -> str:
        parts = ["" if self.start is None else str(self.start),
                 "" if self.stop is None else str(self.stop)]
        if self.step is not None:
            parts.append(str(self.step))
        return ":".join(parts)


def read_literal(node: ast.AST):
    """The value of a parameter written in Python syntax: a number, True/False/None, a
    string, ``...``, a tuple or list of those (read as a tuple), or ``slice(start, stop, step)``."""
    if isinstance(node, ast.Constant) and (node.value is Ellipsis or isinstance(
            node.value, (int, float, str, bool, type(None)))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = read_literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(read_literal(item) for item in node.elts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "slice"
            and not node.keywords and 1 <= len(node.args) <= 3):
        parts = [_index_number(a) for a in node.args]
        return Slice(*parts) if len(parts) > 1 else Slice(None, parts[0])
    raise LiteralError("a parameter must be a number, True, False, None, a string or a tuple")


def _index_number(node: ast.AST) -> int | None:
    value = read_literal(node)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise LiteralError(f"an index must be an integer, got {value!r}")
    return value


def read_index(node: ast.AST) -> tuple:
    """A basic index (the part between brackets) as a tuple of int, :class:`Slice`,
    ``None`` (a new axis) and ``...``. Parts that are not literals raise LiteralError."""
    items = node.elts if isinstance(node, ast.Tuple) else [node]
    spec = []
    for item in items:
        if isinstance(item, ast.Slice):
            spec.append(Slice(*(None if part is None else _index_number(part)
                                for part in (item.lower, item.upper, item.step))))
        elif isinstance(item, ast.Constant) and item.value is Ellipsis:
            spec.append(Ellipsis)
        else:
            spec.append(_index_number(item))
    return tuple(spec)


def index_text(spec: tuple) -> str:
    """An index as written between brackets: ``:, 1:3``, ``0``, ``..., None``."""
    parts = []
    for item in spec:
        if isinstance(item, Slice):
            parts.append(item.text())
        elif item is Ellipsis:
            parts.append("...")
        else:
            parts.append(str(item))
    return ", ".join(parts)


def literal_text(value) -> str:
    """A parameter's value as the expression language writes it (``(0, 1)``, ``True``)."""
    if isinstance(value, Slice):
        return repr(value)
    if value is Ellipsis:
        return "..."
    if isinstance(value, tuple):
        inner = ", ".join(literal_text(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def as_numpy_index(spec: tuple) -> tuple:
    """The index numpy takes: each :class:`Slice` as a ``slice``."""
    return tuple(slice(*item) if isinstance(item, Slice) else item for item in spec)
