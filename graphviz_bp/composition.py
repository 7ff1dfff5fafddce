"""The composition checked along random directions: every leaf moved at once.

Each op checked alone (:mod:`.opcheck`) says which rule is wrong; how backprop composes
the rules is checked here, as in the fast mode of JAX's and PyTorch's gradient checks:
⟨∇L, v⟩ against the whole loss's difference quotient along v. It catches what no single
op shows: contributions summed wrongly, a gradient put on the wrong node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Graph
from .errors import NumericalError
from .gradcheck import (FIRST_STEP, LeftDomain, Tally, confirmed,
                        difference_quotient, kink_pattern, norm, spread)
from .opcheck import around_kinks, is_real, random_direction

__all__ = ["CompositionCheck", "check_composition", "COMPOSITION_TOL"]

#: Largest relative error of the composition that passes: its quotient runs through every
#: op of the loss.
COMPOSITION_TOL = 1e-5


@dataclass(frozen=True)
class CompositionCheck:
    """The whole loss along random directions of every leaf at once."""

    directions: int
    ok: bool
    max_rel_error: float
    noise: float
    note: str | None = None
    resolved: bool = True  # False when the loss's rounding swamps ⟨∇L, v⟩ (see note)



class _Leaves:
    """Every leaf moved at once along one direction; the whole loss recomputed."""

    def __init__(self, g: Graph, names: list[str]):
        self.g, self.names = g, names
        self.nodes = [g.nx.nodes[n] for n in names]
        self.originals = [node["value"] for node in self.nodes]
        self.thetas = [np.asarray(v, dtype=float) for v in self.originals]

    def along(self, direction: list[np.ndarray], step: float) -> tuple[float, float]:
        def at(t: float):
            for node, theta, v in zip(self.nodes, self.thetas, direction):
                point = theta + t * v
                node["value"] = point if point.ndim else point[()]
            loss = self.g.forward()
            loss = float(np.asarray(loss).reshape(()))
            if not np.isfinite(loss):
                raise NumericalError(f"NaN or Inf at node {self.g.first_nonfinite()[0]!r}")
            return loss, kink_pattern(self.g.kinks())
        return difference_quotient(at, step)

    def restore(self) -> None:
        for node, value in zip(self.nodes, self.originals):
            node["value"] = value
        self.g.forward()


def check_composition(g: Graph, *, directions: int = 2, tol: float = COMPOSITION_TOL,
                      seed: int = 0, step: float = FIRST_STEP) -> CompositionCheck | None:
    """⟨∇L, v⟩ against the whole loss's quotient along ``directions`` random directions
    that move every param and input leaf at once, each scaled to its leaf's size and
    weighted so that every leaf's share of ⟨∇L, v⟩ is alike (a leaf whose gradient is
    more than 1000× smaller than the largest share counts less).

    Each direction is judged by :func:`~graphviz_bp.gradcheck.judge` with floor
    10⁻² ‖∇L ⊙ s‖ and tolerance ``tol``, and again at shorter steps where it fails. When
    the loss's rounding swamps the differences (a huge constant added to the loss), or
    every step crosses a kink the recorded point sits on (a ReLU input of exactly 0),
    the composition is not resolved: ``ok`` true, ``resolved`` false and a note, and the
    ops' own checks carry the verdict. None for a loss without leaves.
    """
    names = [n for n in g.leaves() if is_real(g.value(n))]
    if not names:
        return None
    rng = np.random.default_rng(seed)
    grads = [np.zeros(np.shape(g.value(n))) if g.grad(n) is None else np.asarray(g.grad(n), float)
             for n in names]
    values = [np.asarray(g.value(n), dtype=float) for n in names]
    if not all(np.all(np.isfinite(x)) for x in [*grads, *values]) or not np.isfinite(g.loss):
        return CompositionCheck(directions, True, float("nan"), 0.0,
                                "NaN or Inf in the loss, a leaf or a gradient: the composition "
                                "cannot be checked", False)
    spreads = [spread(value) for value in values]
    # Each leaf's share of ⟨∇L, v⟩ is made alike (to within 1000×), so that a wrong
    # gradient of a leaf deep in a net, whose gradient is small, still shows.
    shares = [norm(d) * s for d, s in zip(grads, spreads)]
    if not all(np.isfinite(shares)):
        return CompositionCheck(directions, True, float("nan"), 0.0,
                                "gradients too large for float64 to compare: the composition "
                                "cannot be checked", False)
    least = 1e-3 * max(shares, default=0.0)
    weights = [1 / max(share, least) if least > 0 else 1.0 for share in shares]
    weights = [w / max(weights) for w in weights]
    spreads = [s * w for s, w in zip(spreads, weights)]
    size = norm(np.array([share * w for share, w in zip(shares, weights)]))
    # Each entry moves by a step relative to itself (1/x at x = 1e-6 beside entries of 1),
    # an entry of 0 by the leaf's spread.
    sizes = [np.where(value != 0, np.maximum(np.abs(value), 1e-3 * s), s) / s
             for value, s in zip(values, [spread(value) for value in values])]
    rounding = 16 * np.finfo(float).eps * max(1.0, abs(g.loss))
    leaves = _Leaves(g, names)
    tally, note = Tally(), None

    def measure(v):
        exact = float(sum(np.vdot(d, w) for d, w in zip(grads, v)))
        return lambda h: (exact, *leaves.along(v, h))

    try:
        with np.errstate(all="ignore"):
            for _ in range(directions):
                v = [random_direction(rng, d.shape) * s * e for d, s, e in zip(grads, spreads, sizes)]
                outcome = confirmed(measure(v), step, rounding, tol, 1e-2 * size, size)
                # a ReLU input of exactly 0 from a zero bias and a black margin: move the
                # leaves' ties together, then hold their zeros, then their ties, still
                stages = zip(*[around_kinks(x, w, outcome) for x, w in zip(values, v)])
                for moved in stages:
                    if not any(np.any(w) for w in moved):
                        break  # everything held still: nothing would be compared
                    outcome = confirmed(measure(list(moved)), step, rounding, tol, 1e-2 * size, size)
                    if outcome[0] != "kink":
                        break
                tally.add(*outcome)
    except LeftDomain as outside:
        note = ("every step tried leaves the domain of the loss "
                f"({outside}): the composition cannot be checked here")
    finally:
        leaves.restore()
    noise = rounding / min(tally.steps, default=step)
    resolved = note is None and tally.resolved
    if note is None and not tally.failed and tally.unresolved:
        note = (f"rounding in a loss of {g.loss:.3g} makes the whole loss's differences "
                f"uncertain by {noise:.2g}, as much as the differences they should show: the "
                "ops' own checks carry the verdict")
    elif note is None and not tally.failed and tally.on_kink and not tally.judged:
        note = ("the recorded point sits on a kink of the loss (every step down to "
                "1e-5 of the first crosses it): the ops' own checks carry the verdict")
    return CompositionCheck(directions, not tally.failed, tally.worst, noise, note, resolved)
