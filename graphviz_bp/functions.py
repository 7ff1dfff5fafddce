"""The functions of the loss language as module attributes: ``from graphviz_bp.functions import sumsq``.

They are generated from the op table (:data:`graphviz_bp.graph.FUNCTIONS`), so each one's
mathematics is in :mod:`graphviz_bp.ops` and nowhere else.
"""

from .graph import FUNCTIONS

globals().update(FUNCTIONS)

__all__ = list(FUNCTIONS)


def __getattr__(name):
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    raise AttributeError(f"module 'graphviz_bp.functions' has no attribute {name!r}")
