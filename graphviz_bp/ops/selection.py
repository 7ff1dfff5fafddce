"""Selection, entry by entry: the larger or smaller of two arrays, and a clip to bounds.

Each passes the upstream gradient to the entry it selected, and none to the other. Where
the two arguments are equal the op has a kink; the gradient then goes to the first
argument ``a`` (numpy's maximum returns either; the choice only has to be one).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..literals import literal_text
from .core import Notation, defop
from .shapes import broadcast_shape

# A tie a = b gives the gradient to a: a's mask is 1 − [b − a > 0], which is 1 at a tie,
# and b's is [b − a > 0], which is 0 there; the formulas agree with the VJPs exactly.

defop("maximum", symbol="maximum", forward=np.maximum, shape=broadcast_shape,
      vjp=(lambda g, out, a, b: g * (np.asarray(a) >= b),
           lambda g, out, a, b: g * (np.asarray(a) < b)),
      rule=("g * (1 - step(b - a))", "g * step(b - a)"),
      kinks=lambda a, b: np.greater(a, b), domain=("real", "real"), elementwise=True,
      doc="the larger of a and b, entry by entry (numpy broadcasting); the gradient goes to "
          "the larger one, and to a where they are equal",
      notation=Notation("maximum({0}, {1})", r"\max\left({0}, {1}\right)"))

defop("minimum", symbol="minimum", forward=np.minimum, shape=broadcast_shape,
      vjp=(lambda g, out, a, b: g * (np.asarray(a) <= b),
           lambda g, out, a, b: g * (np.asarray(a) > b)),
      rule=("g * (1 - step(a - b))", "g * step(a - b)"),
      kinks=lambda a, b: np.greater(a, b), domain=("real", "real"), elementwise=True,
      doc="the smaller of a and b, entry by entry (numpy broadcasting); the gradient goes to "
          "the smaller one, and to a where they are equal",
      notation=Notation("minimum({0}, {1})", r"\min\left({0}, {1}\right)"))


# ---------------------------------------------------------------- clip


def _bound(value, name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
        raise TypeError(f"clip: {name} must be a number or None (no bound), got {value!r}")


def _clip_shape(a, lo=None, hi=None, **_):
    _bound(lo, "lo")
    _bound(hi, "hi")
    return a


def _clip(a, lo=None, hi=None):
    # np.clip(a, lo, hi) is min(max(a, lo), hi): with lo > hi every entry is hi
    return np.clip(a, lo, hi) if lo is not None or hi is not None else np.array(a, dtype=float)


def _inside(a, lo=None, hi=None):
    """1 where lo < a < hi (a bound None is no bound), else 0: where clip passes a through."""
    a = np.asarray(a)
    inside = np.ones(a.shape, dtype=bool)
    if lo is not None:
        inside &= a > lo
    if hi is not None:
        inside &= a < hi
    return inside


def _clip_rules(a, lo=None, hi=None, **_):
    factors = ["g"]
    if lo is not None:  # [a + ½ > 0] rather than [a − −½ > 0]
        factors.append(f"step(a + {literal_text(-float(lo))})" if lo < 0 else "step(a - lo)")
    if hi is not None:
        factors.append("step(hi - a)")
    return (" * ".join(factors),)


def _clip_kinks(a, lo=None, hi=None):
    """0 at or below lo, 2 at or above hi, 1 between: the three pieces of clip."""
    a = np.asarray(a)
    side = np.ones(a.shape, dtype=np.int8)
    if lo is not None:
        side[a <= lo] = 0
    if hi is not None:
        side[a >= hi] = 2
    return side


def _clip_latex(args, params) -> str:
    lo, hi = params.get("lo"), params.get("hi")
    lower = r"-\infty" if lo is None else f"{lo:g}"
    upper = r"\infty" if hi is None else f"{hi:g}"
    return rf"\operatorname{{clip}}_{{[{lower}, {upper}]}}\left({args[0]}\right)"


defop("clip", symbol="clip", forward=_clip, shape=_clip_shape,
      vjp=(lambda g, out, a, lo=None, hi=None: g * _inside(a, lo, hi),), rule=_clip_rules,
      kinks=_clip_kinks, domain=("real",), params={"lo": None, "hi": None}, elementwise=True,
      doc="a clipped to [lo, hi] as numpy's clip (None: no bound); the gradient is 1 strictly "
          "between the bounds and 0 at them and beyond",
      notation=Notation("clip({0})", _clip_latex))
