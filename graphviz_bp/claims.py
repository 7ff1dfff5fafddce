"""Judging a hand-derived gradient: does ``∇_NAME L = EXPR`` hold at several random draws?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .engine import Graph, value_of
from .errors import GraphvizBPError, NumericalError, UnknownNameError
from .expr import parse
from .gradcheck import relative_error
from .graph import const

__all__ = ["ClaimResult", "check_claim", "parse_claim"]


@dataclass(frozen=True)
class ClaimResult:
    """The verdict on one claim; ``error`` says why it failed when it is not numerical."""

    wrt: str
    expr: str
    ok: bool
    trials: int
    max_rel_error: float | None
    error: str | None


def parse_claim(text: str) -> tuple[str, str]:
    """``"W=W @ r @ x.T"`` → ``("W", "W @ r @ x.T")``."""
    name, sep, expression = text.partition("=")
    if not sep or not name.strip().isidentifier() or not expression.strip():
        raise GraphvizBPError(f"a claim is NAME=EXPR (e.g. \"W2=grad(z2) @ h1.T\"), got {text!r}")
    return name.strip(), expression.strip()


def check_claim(g: Graph, wrt: str, text: str, *, redraw: Callable[[int], Graph] | None = None,
                sizes: dict | None = None, trials: int = 3, tol: float = 1e-6) -> ClaimResult:
    """Evaluate the claimed ∇_wrt L on graph ``g`` and on fresh draws, and compare with backprop.

    ``redraw(i)`` gives the i-th fresh draw of the same loss (i = 1, 2, …), evaluated;
    the claim is judged on ``g`` and then on ``trials − 1`` of them (without ``redraw``,
    on ``g`` alone). In the claim, names are the graph's nodes (leaves and named
    intermediates) and ``sizes`` (numbers such as N, Q, D); ``grad(NAME)`` is backprop's
    gradient at NAME. A claim that names something unknown or is not in the language
    raises; a claim that is well formed but wrong (values, or shape) gives ``ok=False``.

    >>> import numpy as np, graphviz_bp as bp
    >>> x = bp.param("x", np.array([1.0, 2.0]))
    >>> check_claim(bp.Graph(bp.sumsq(x)), "x", "2 * x").ok
    True
    """
    if trials < 1:
        raise GraphvizBPError(f"a claim needs at least 1 trial, got {trials}")
    worst = 0.0
    for trial in range(trials if redraw is not None else 1):
        if trial:
            g = redraw(trial)
        if wrt not in g.nx:
            raise UnknownNameError(f"claim ∇{wrt}: no node named {wrt!r} in this loss")
        expected = g.grad(wrt)
        if expected is None:
            raise GraphvizBPError(f"claim ∇{wrt}: {wrt!r} has no gradient (it is a constant)")
        names = {k: const(k, v) for k, v in (sizes or {}).items()}
        names.update({n: const(n, attrs["value"]) for n, attrs in g.nx.nodes(data=True)})
        grads = {n: const(f"grad_{n}", attrs["grad"], label=f"∇{n}")
                 for n, attrs in g.nx.nodes(data=True) if attrs["grad"] is not None}
        claim = parse(text, names, grads)
        try:
            claimed = value_of(claim)
        except NumericalError as err:
            return ClaimResult(wrt, text, False, trial + 1, None, f"cannot evaluate the claim: {err}")
        if np.shape(claimed) != np.shape(expected):
            return ClaimResult(wrt, text, False, trial + 1, None,
                               f"the claim has shape {np.shape(claimed)} but ∇{wrt} has shape "
                               f"{np.shape(expected)}")
        floor = 1e-8 * float(np.max(np.abs(expected), initial=0.0))
        worst = max(worst, relative_error(claimed, expected, floor))
        if not np.isfinite(worst) or worst > tol:
            return ClaimResult(wrt, text, False, trial + 1, worst, None)
    return ClaimResult(wrt, text, True, trial + 1, worst, None)
