"""Size limits: nodes too large, or graphs too large in all, are refused while a graph is
built, before their values are allocated.

>>> import graphviz_bp as bp
>>> with bp.size_limit(4):
...     bp.eye(3)
Traceback (most recent call last):
...
graphviz_bp.errors.SizeLimitError: eye(3) would have 9 entries, more than the limit of 4
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers

from .errors import GraphvizBPError, SizeLimitError

__all__ = ["MAX_ENTRIES", "MAX_TOTAL_ENTRIES", "size_limit", "fresh_count", "check_size"]

#: Most entries any node may have unless :func:`size_limit` says otherwise: a larger
#: result is refused while the graph is built, before anything is allocated (5·10⁷ float64
#: entries are 400 MB).
MAX_ENTRIES = 50_000_000
#: Most entries all the nodes of one graph may have together inside :func:`size_limit`
#: (10⁸ float64 entries are 800 MB of values; the gradients take as much again).
MAX_TOTAL_ENTRIES = 100_000_000


class _Budget:
    """The limits in force, and the entries counted so far toward the total."""

    def __init__(self, per_node: int, total: int | None):
        self.per_node, self.total, self.used = per_node, total, 0


_budget = contextvars.ContextVar("budget", default=_Budget(MAX_ENTRIES, None))


@contextlib.contextmanager
def size_limit(max_entries: int = MAX_ENTRIES, max_total: int | None = MAX_TOTAL_ENTRIES):
    """Within the ``with`` block, refuse any node of more than ``max_entries`` entries, and
    any node that would bring the nodes made in the block to more than ``max_total``.

    Outside such a block only the per-node limit :data:`MAX_ENTRIES` holds.
    """
    for limit in (max_entries, max_total):
        if limit is not None and (not isinstance(limit, numbers.Integral) or limit < 1):
            raise GraphvizBPError(f"a size limit must be a positive integer, got {limit!r}")
    token = _budget.set(_Budget(int(max_entries), None if max_total is None else int(max_total)))
    try:
        yield
    finally:
        _budget.reset(token)


@contextlib.contextmanager
def fresh_count():
    """Count toward the total limit from zero inside the block (one graph of several)."""
    outer = _budget.get()
    token = _budget.set(_Budget(outer.per_node, outer.total))
    try:
        yield
    finally:
        _budget.reset(token)


def check_size(shape, what: str, *, count: bool = True) -> None:
    """Refuse a node of ``shape`` beyond the size limits, naming ``what``; with ``count``,
    its entries count toward the total (``count=False`` checks before a leaf is drawn)."""
    entries = math.prod(shape)
    budget = _budget.get()
    if entries > budget.per_node:
        raise SizeLimitError(what, entries, budget.per_node)
    if budget.total is not None and budget.used + entries > budget.total:
        raise SizeLimitError(what, budget.used + entries, budget.total, total=True)
    if count:
        budget.used += entries
