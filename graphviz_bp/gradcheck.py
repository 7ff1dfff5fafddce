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


def check_gradients(g: Graph, wrt=None, *, eps: float = 1e-6, tol: float = 1e-6,
                    max_entries: int = 2000, directions: int = 4, samples: int = 16,
                    seed: int = 0) -> list[GradientCheck]:
    """Compare backprop's gradient of every param/input leaf with central differences.

    A leaf of at most ``max_entries`` entries is checked entry by entry (two forward
    passes each). A larger one is checked along ``directions`` random unit directions v,
    comparing ⟨∇L, v⟩ with (L(θ+εv) − L(θ−εv)) / 2ε, plus ``samples`` random entries:
    a handful of forward passes, whatever the size. Only the part of the graph below the
    perturbed leaf is recomputed.

    Relative errors are floored at 1e-8 × the gradient's largest entry, so entries that
    are zero up to rounding do not count as failures. The graph is left as it was found.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt or g.leaves())
    rng = np.random.default_rng(seed)
    results = []
    for name in names:
        grad = np.asarray(g.grad(name), dtype=float)
        original = g.value(name)
        theta = np.array(original, dtype=float)

        def loss_at(step: np.ndarray) -> float:
            g.set(name, theta + step)
            return g.forward(changed=name)

        def central(step: np.ndarray) -> float:
            return (loss_at(step) - loss_at(-step)) / (2 * eps)

        floor = 1e-8 * float(np.max(np.abs(grad))) if grad.size else 0.0
        try:
            if grad.size <= max_entries:
                method = "entries"
                numeric = np.empty_like(grad)
                for index in np.ndindex(grad.shape):
                    step = np.zeros_like(theta)
                    step[index] = eps
                    numeric[index] = central(step)
                error = relative_error(grad, numeric, floor)
            else:
                method = "directions+samples"
                errors = []
                for _ in range(directions):
                    v = rng.normal(size=theta.shape)
                    v /= np.linalg.norm(v)
                    errors.append(relative_error(np.vdot(grad, v), central(eps * v),
                                                 1e-8 * np.linalg.norm(grad)))
                for flat in rng.choice(grad.size, size=min(samples, grad.size), replace=False):
                    index = np.unravel_index(flat, grad.shape)
                    step = np.zeros_like(theta)
                    step[index] = eps
                    errors.append(relative_error(grad[index], central(step), floor))
                error = max(errors)
        finally:
            g.set(name, original)
            g.forward(changed=name)
        results.append(GradientCheck(name, grad.shape, method, error, bool(error <= tol)))
    return results
