"""Reductions and broadcasting: sums, means, ‖·‖², and the new axis that undoes a sum."""

from __future__ import annotations

import numpy as np

from .core import Notation, defop
from .shapes import expand_shape, reduce_shape, scalar_shape


def _sum_vjp(g, out, a, axis=None):
    g = np.asarray(g)
    if axis is not None:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, a.shape)


def _mean_vjp(g, out, a, axis=None):
    count = a.size if axis is None else a.shape[axis]
    return _sum_vjp(g, out, a, axis) / count


def _sum_text(args, params) -> str:
    axis = params.get("axis")
    suffix = "" if axis is None else "_rows" if axis == 0 else f"_axis{axis}"
    return f"Σ{suffix}({args[0]})"


defop("sum", symbol="Σ", forward=lambda a, axis: np.sum(a, axis=axis), shape=reduce_shape,
      vjp=(_sum_vjp,), rule=("expand(g, axis=axis) * ones_like(a)",),
      domain=("real",), params={"axis": None}, doc="sum of all entries, or along one axis",
      notation=Notation(_sum_text, r"\sum\left({0}\right)"))

defop("mean", symbol="mean", forward=lambda a, axis: np.mean(a, axis=axis), shape=reduce_shape,
      vjp=(_mean_vjp,), rule=("expand(g, axis=axis) * ones_like(a) * size(out) / size(a)",),
      domain=("real",), params={"axis": None}, doc="mean of all entries, or along one axis")

defop("sumsq", symbol="‖·‖²", forward=lambda a: np.vdot(a, a), shape=scalar_shape,
      vjp=(lambda g, out, a: 2.0 * g * a,), rule=("2 * g * a",),
      domain=("real",), doc="‖a‖², the sum of squared entries (½‖a‖² is 0.5 * sumsq(a))",
      notation=Notation("‖{0}‖²", r"\left\lVert {0} \right\rVert^{{2}}"))

defop("expand", symbol="expand",
      forward=lambda a, axis: a if axis is None else np.expand_dims(a, axis), shape=expand_shape,
      vjp=(lambda g, out, a, axis: g if axis is None else np.sum(g, axis=axis),),
      rule=lambda a, axis=None: ("g",) if axis is None else ("sum(g, axis=axis)",),
      domain=("real",), params={"axis": None},
      doc="a with a new axis of length 1 at `axis` (the inverse of summing over it)",
      notation=Notation("{0}", "{0}"))  # a new axis of length 1: invisible on paper
