"""Judging a hand-derived gradient: does ``∇_NAME L = EXPR`` hold at several random draws?"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import value_of
from .errors import GraphvizBPError, NumericalError, UnknownNameError
from .expr import parse
from .gradcheck import relative_error
from .graph import const
from .sources import Source

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
        raise GraphvizBPError(f"--claim takes NAME=EXPR (e.g. --claim \"W2=grad(z2) @ h1.T\"), got {text!r}")
    return name.strip(), expression.strip()


def check_claim(source: Source, wrt: str, text: str, *, trials: int = 3, seed: int = 0,
                tol: float = 1e-6) -> ClaimResult:
    """Evaluate the claimed ∇_wrt L at ``trials`` independent draws and compare with backprop.

    In the claim, names are the graph's nodes (leaves and named intermediates) and the
    source's sizes; ``grad(NAME)`` is backprop's gradient at NAME. A claim that names
    something unknown or is not in the language raises; a claim that is well formed but
    wrong (values, or shape) gives ``ok=False``.
    """
    if trials < 1:
        raise GraphvizBPError(f"--trials must be at least 1, got {trials}")
    worst = 0.0
    for trial in range(trials):
        g = source.build(seed + trial)
        if wrt not in g.nx:
            raise UnknownNameError(f"--claim {wrt}: no node named {wrt!r} in {source.name}")
        expected = g.grad(wrt)
        if expected is None:
            raise GraphvizBPError(f"--claim {wrt}: {wrt!r} has no gradient (it is a constant)")
        names = {k: const(k, v) for k, v in source.sizes.items()}
        names.update({n: const(n, d["value"]) for n, d in g.nx.nodes(data=True)})
        grads = {n: const(f"grad_{n}", d["grad"], label=f"∇{n}")
                 for n, d in g.nx.nodes(data=True) if d["grad"] is not None}
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
    return ClaimResult(wrt, text, True, trials, worst, None)
