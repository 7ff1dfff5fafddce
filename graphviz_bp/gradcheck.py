"""Gradient checking: central finite differences against backprop, entry by entry or by
random directions plus sampled entries for large leaves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import Graph

__all__ = ["GradientCheck", "check_gradients", "relative_error"]


def relative_error(a, b, floor: float = 0.0) -> float:
    """max |a − b| / max(|a|, |b|, floor) over entries (0 where both are 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = np.abs(a - b)
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / scale)
    return float(np.max(ratio)) if ratio.size else 0.0


@dataclass(frozen=True)
class GradientCheck:
    """The result for one leaf: how it was checked and the worst relative error."""

    wrt: str
    shape: tuple[int, ...]
    method: str  # "entries" (every entry) or "directions+samples"
    max_rel_error: float
    ok: bool
    step: float  # the finite-difference step ε used for this leaf


class _Probe:
    """Central differences of the loss in one leaf, recomputing only below it."""

    def __init__(self, g: Graph, name: str):
        self.g, self.name = g, name
        self.original = g.value(name)
        self.theta = np.array(self.original, dtype=float)

    def quotient(self, direction: np.ndarray, h: float) -> tuple[float, bool]:
        """(L(θ + h d) − L(θ − h d)) / 2h, and whether the two ends straddle a kink."""
        g, name = self.g, self.name
        g.set(name, self.theta + h * direction)
        ahead, ahead_kinks = g.forward(changed=name), g.kinks(changed=name)
        g.set(name, self.theta - h * direction)
        behind, behind_kinks = g.forward(changed=name), g.kinks(changed=name)
        crossed = any(not np.array_equal(a, b) for a, b in zip(ahead_kinks, behind_kinks))
        return (ahead - behind) / (2 * h), crossed

    def restore(self) -> None:
        self.g.set(self.name, self.original)
        self.g.forward(changed=self.name)


def check_gradients(g: Graph, wrt=None, *, tol: float = 1e-6, tol_sampled: float = 1e-5,
                    max_entries: int = 500, directions: int = 4, samples: int = 16,
                    seed: int = 0, step: float | None = None) -> list[GradientCheck]:
    """Compare backprop's gradient of every param/input leaf with central differences.

    A leaf of at most ``max_entries`` entries is checked entry by entry, each against
    (L(θ + ε eᵢ) − L(θ − ε eᵢ)) / 2ε. A larger one is checked along ``directions`` random
    directions v, comparing ⟨∇L, v⟩ with (L(θ+εv) − L(θ−εv)) / 2ε, plus ``samples``
    random entries: a fixed number of forward passes whatever the size. Only the part of
    the graph below the perturbed leaf is recomputed.

    The step is ε = (ε_mach · max(1, |L|))^⅓ unless ``step`` is given: the step that
    balances rounding (∝ ε_mach |L| / ε) against truncation (∝ ε²) when third derivatives
    are of order one, so a loss of 10⁴ gets a longer step than a loss of 1. A difference
    whose two ends lie on
    different sides of a ReLU or abs kink is not used: a direction is drawn again, an
    entry is retried with a 10× and 100× shorter step.

    Entry by entry, the relative error is |a − b| / max(|a|, |b|, 1e-8 × max|∇L|), so
    entries that are zero up to rounding do not count as failures. Along a direction it
    is that of the two directional derivatives. Over the sampled entries it is normwise,
    max|a − b| / max(max|a|, max|b|): in a large loss a single small entry can lie below
    what a difference resolves in float64.

    A leaf passes when its error is at most ``tol`` (entry by entry) or ``tol_sampled``
    (directions and samples: at a million entries float64 resolves about 1e-6). A wrong
    rule gives 1e-2 or more either way. The graph is left as it was found.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt or g.leaves())
    rng = np.random.default_rng(seed)
    results = []
    for name in names:
        grad = np.asarray(g.grad(name), dtype=float)
        probe = _Probe(g, name)
        floor = 1e-8 * float(np.max(np.abs(grad), initial=0.0))
        try:
            h = step or float(np.cbrt(np.finfo(float).eps * max(1.0, abs(g.loss))))
            if grad.size <= max_entries:
                method = "entries"
                numeric = np.empty_like(grad)
                for index in np.ndindex(grad.shape):
                    numeric[index] = _entry_quotient(probe, index, h)
                error = relative_error(grad, numeric, floor)
            else:
                method = "directions+samples"
                errors = [_along_random_directions(probe, grad, h, directions, rng)]
                picked = rng.choice(grad.size, size=min(samples, grad.size), replace=False)
                exact = grad.reshape(-1)[picked]
                numeric = np.array([_entry_quotient(probe, np.unravel_index(i, grad.shape), h)
                                    for i in picked])
                scale = max(np.max(np.abs(exact)), np.max(np.abs(numeric)), floor)
                errors.append(float(np.max(np.abs(exact - numeric)) / scale) if scale else 0.0)
                error = max(errors)
        finally:
            probe.restore()
        limit = tol if method == "entries" else tol_sampled
        results.append(GradientCheck(name, grad.shape, method, error, bool(error <= limit), h))
    return results


def _random_direction(shape, rng) -> np.ndarray:
    # Norm n^¼: a unit step changes L by less than float64 resolves when n ~ 10⁶,
    # while unit entries make steps long enough to cross many ReLU kinks.
    v = rng.normal(size=shape)
    return v * (v.size ** 0.25 / np.linalg.norm(v))


def _entry_quotient(probe: _Probe, index, h: float) -> float:
    unit = np.zeros_like(probe.theta)
    unit[index] = 1.0
    for shorter in (h, h / 10, h / 100):
        quotient, crossed = probe.quotient(unit, shorter)
        if not crossed:
            break
    return quotient


def _along_random_directions(probe: _Probe, grad, h, directions, rng) -> float:
    """Worst relative error of ⟨∇L, v⟩ over random directions that cross no kink."""
    errors, tries = [], 0
    floor = 1e-8 * float(np.linalg.norm(grad))
    while len(errors) < directions and tries < 3 * directions:
        tries += 1
        v = _random_direction(grad.shape, rng)
        quotient, crossed = probe.quotient(v, h)
        if not crossed or tries == 3 * directions and not errors:
            errors.append(relative_error(np.vdot(grad, v), quotient, floor))
    return max(errors)
