"""Reductions and broadcasting: sums, means, max and min, ‖·‖², and the new axes that undo a sum.

A reduction's ``axis`` is None (every axis), an integer or a tuple of integers, and
``keepdims`` keeps the axes reduced over with length 1, as in numpy.
"""

from __future__ import annotations

import math

import numpy as np

from ..literals import literal_text
from .core import Notation, defop
from .shapes import (expand_shape, nonempty_reduce_shape, reduce_shape, reduction_axes,
                     scalar_shape)


def _widened(x, a, axis, keepdims):
    """``x``, of a reduction's output shape, with the reduced axes back at length 1."""
    x = np.asarray(x)
    return x if keepdims else np.expand_dims(x, reduction_axes(np.shape(a), axis))


def _sum_vjp(g, out, a, axis=None, keepdims=False):
    return np.broadcast_to(_widened(g, a, axis, keepdims), np.shape(a))


def _mean_vjp(g, out, a, axis=None, keepdims=False):
    count = math.prod(np.shape(a)[i] for i in reduction_axes(np.shape(a), axis))
    return _sum_vjp(g, out, a, axis, keepdims) / count


def _sum_rules(a, axis=None, keepdims=False, **_):
    return ("g * ones_like(a)",) if keepdims else ("expand(g, axis=axis) * ones_like(a)",)


def _mean_rules(a, axis=None, keepdims=False, **_):
    return (_sum_rules(a, axis, keepdims)[0] + " * size(out) / size(a)",)


def _keywords(params) -> str:
    """``, axis=(0, 2), keepdims=True`` for the parameters of a reduction that are set."""
    axis, keepdims = params.get("axis"), params.get("keepdims", False)
    return (("" if axis is None else f", axis={literal_text(axis)}")
            + (", keepdims=True" if keepdims else ""))


def _plain(params) -> bool:
    """Whether a reduction runs over everything or one axis, dropping it (Σ, Σ_rows)."""
    return not params.get("keepdims", False) and not isinstance(params.get("axis"), tuple)


def _sum_text(args, params) -> str:
    if not _plain(params):  # Σ(x, axis=(0, 2), keepdims=True): nothing left unsaid
        return f"Σ({args[0]}{_keywords(params)})"
    axis = params.get("axis")
    suffix = "" if axis is None else "_rows" if axis == 0 else f"_axis{axis}"
    return f"Σ{suffix}({args[0]})"


def _latex(macro: str, hides_one_axis: bool = False):
    """A reduction in LaTeX, ``macro(x)`` with its parameters written out; ``hides_one_axis``
    leaves a single axis to the text form (\\sum stands for Σ_rows too)."""
    def written(args, params):
        shown = "" if hides_one_axis and _plain(params) else _keywords(params)
        shown = shown.replace("axis=", r"\mathrm{axis}=").replace("keepdims=True", r"\mathrm{keepdims}")
        return rf"{macro}\left({args[0]}{shown}\right)"
    return written


defop("sum", symbol="Σ", forward=lambda a, axis=None, keepdims=False: np.sum(a, axis=axis, keepdims=keepdims),
      shape=reduce_shape, vjp=(_sum_vjp,), rule=_sum_rules,
      domain=("real",), params={"axis": None, "keepdims": False},
      doc="sum of all entries, or along an axis or a tuple of axes (keepdims keeps them, of length 1)",
      notation=Notation(_sum_text, _latex(r"\sum", hides_one_axis=True)))

defop("mean", symbol="mean",
      forward=lambda a, axis=None, keepdims=False: np.mean(a, axis=axis, keepdims=keepdims),
      shape=nonempty_reduce_shape, vjp=(_mean_vjp,), rule=_mean_rules,
      domain=("real",), params={"axis": None, "keepdims": False},
      doc="mean of all entries, or along an axis or a tuple of axes (keepdims keeps them, of length 1)")


# ---------------------------------------------------------------- max and min


def _extreme_vjp(g, out, a, axis=None, keepdims=False):
    """The upstream gradient of each slice goes to its extreme entries, split evenly
    among ties (as torch.amax): a max reached twice passes half to each."""
    axes = reduction_axes(np.shape(a), axis)
    hit = np.asarray(a) == _widened(out, a, axis, keepdims)
    return _widened(g, a, axis, keepdims) * hit / np.sum(hit, axis=axes, keepdims=True)


def _extreme_rules(below: str):
    """The VJP of max (or min) as a formula: ``below`` is the gap to the extreme, ≥ 0
    everywhere and exactly 0 where an entry is the extreme, so 1 − step(gap) marks them."""
    def rules(a, axis=None, keepdims=False, **_):
        peak, g = ("out", "g") if keepdims else ("expand(out, axis=axis)", "expand(g, axis=axis)")
        hit = f"1 - step({below.format(out=peak)})"
        count = f"sum({hit})" if axis is None else f"sum({hit}, axis=axis, keepdims=True)"
        return (f"{g} * ({hit}) / {count}",)
    return rules


def _extreme_kinks(find):
    """Which entry of each slice is its extreme (the argmax pattern): a step that changes
    it crosses a tie, where max is not differentiable."""
    def kinks(a, axis=None, keepdims=False):
        a = np.asarray(a)
        axes = reduction_axes(a.shape, axis)
        rest = [i for i in range(a.ndim) if i not in axes]
        slices = np.transpose(a, rest + list(axes)).reshape(
            [a.shape[i] for i in rest] + [math.prod(a.shape[i] for i in axes)])
        return find(slices, axis=-1)
    return kinks


defop("max", symbol="max",
      forward=lambda a, axis=None, keepdims=False: np.max(a, axis=axis, keepdims=keepdims),
      shape=nonempty_reduce_shape, vjp=(_extreme_vjp,), rule=_extreme_rules("{out} - a"),
      kinks=_extreme_kinks(np.argmax), domain=("real",), params={"axis": None, "keepdims": False},
      doc="the maximum of all entries, or along an axis or a tuple of axes; its gradient goes "
          "to the entries equal to the maximum, split evenly among ties",
      notation=Notation("max({0})", _latex(r"\max")))

defop("min", symbol="min",
      forward=lambda a, axis=None, keepdims=False: np.min(a, axis=axis, keepdims=keepdims),
      shape=nonempty_reduce_shape, vjp=(_extreme_vjp,), rule=_extreme_rules("a - {out}"),
      kinks=_extreme_kinks(np.argmin), domain=("real",), params={"axis": None, "keepdims": False},
      doc="the minimum of all entries, or along an axis or a tuple of axes; its gradient goes "
          "to the entries equal to the minimum, split evenly among ties",
      notation=Notation("min({0})", _latex(r"\min")))


defop("sumsq", symbol="‖·‖²", forward=lambda a: np.vdot(a, a), shape=scalar_shape,
      vjp=(lambda g, out, a: 2.0 * g * a,), rule=("2 * g * a",),
      domain=("real",), doc="‖a‖², the sum of squared entries (½‖a‖² is 0.5 * sumsq(a))",
      notation=Notation("‖{0}‖²", r"\left\lVert {0} \right\rVert^{{2}}"))

defop("expand", symbol="expand",
      forward=lambda a, axis=None: a if axis is None else np.expand_dims(a, axis), shape=expand_shape,
      vjp=(lambda g, out, a, axis=None: g if axis is None else np.sum(g, axis=axis),),
      rule=lambda a, axis=None, **_: ("g",) if axis is None else ("sum(g, axis=axis)",),
      domain=("real",), params={"axis": None},
      doc="a with new axes of length 1 at `axis`, an integer or a tuple (the inverse of summing over them)",
      notation=Notation("{0}", "{0}"))  # new axes of length 1: invisible on paper
