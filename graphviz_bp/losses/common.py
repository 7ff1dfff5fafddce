"""What every built-in loss shares: checked sizes, seeded values, and the graph attributes
that let claims rebuild it at other sizes."""

from __future__ import annotations

import functools
import inspect
import numbers

import numpy as np

from ..errors import GraphvizBPError
from ..limits import check_size

__all__ = ["size", "positive", "nonnegative", "builtin", "normal", "sub"]


def size(loss: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise GraphvizBPError(f"{loss}: {name} must be a positive integer, got {value!r}")
    return int(value)


def positive(loss: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise GraphvizBPError(f"{loss}: {name} must be a positive number, got {value!r}")
    return float(value)


def nonnegative(loss: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise GraphvizBPError(f"{loss}: {name} must be a number >= 0, got {value!r}")
    return float(value)


def builtin(function=None, *, fixed: tuple = ()):
    """Mark the graph a built-in returns with its sizes, and with how to build it again at
    other sizes (graph attributes ``sizes``, ``settings``, ``pinned``, ``remake``): claims
    then hold only where they hold at every size. Sizes given by the caller are pinned, and
    so are the ``fixed`` ones, which the formulas themselves name (an RNN's formulas name
    each time step h₁ … h_T, so T is not varied): ``@builtin(fixed=("T",))``."""
    if function is None:
        return lambda function: builtin(function, fixed=fixed)
    signature = inspect.signature(function)

    @functools.wraps(function)
    def build(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        given = frozenset(bound.arguments) - {"seed"}
        bound.apply_defaults()
        g = function(*bound.args, **bound.kwargs)
        settings = {k: v for k, v in bound.arguments.items() if k != "seed"}
        g.nx.graph.update(
            sizes={k: v for k, v in settings.items()
                   if isinstance(v, numbers.Real) and not isinstance(v, bool)},
            settings=settings, pinned=given | frozenset(fixed),
            remake=lambda seed, chosen: build(**chosen, seed=seed))
        return g

    build.fixed = frozenset(fixed)
    return build


def normal(rng, loss: str, name: str, shape) -> np.ndarray:
    """Standard normal values of ``shape``, refused before drawing when they are too many."""
    check_size(shape, f"{loss}: {name}", count=False)
    return rng.normal(size=shape)


def sub(i: int) -> str:
    return str(i).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
