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
    step: float  # the shortest finite-difference step used for this leaf


#: The first step tried, and how short a step may get while it keeps crossing kinks.
FIRST_STEP, SHORTEST_STEP = 1e-3, 1e-8


class _Probe:
    """Difference quotients of the loss in one leaf, recomputing only below it.

    The leaf's value is one working array, moved in place to each point: no array of the
    leaf's size is allocated per point (a CIFAR batch is 12 MB).
    """

    def __init__(self, g: Graph, name: str):
        self.g, self.name = g, name
        self.node = g.nx.nodes[name]
        self.original = self.node["value"]
        self.theta = np.array(self.original, dtype=float)
        self.work = self.theta.copy()
        if self.work.ndim:
            self.node["value"] = self.work

    def _loss(self) -> tuple[float, bytes]:
        """The loss at the current point, and which side of every kink it lies on."""
        if not self.work.ndim:  # a scalar leaf holds a number, not a 0-d array
            self.node["value"] = self.work[()]
        self.g.forward(changed=self.name)
        # One bytes string per point: comparing two is one operation however many
        # ReLU layers lie below the leaf.
        return self.g.loss, b"".join(np.asarray(k).tobytes() for k in self.g.kinks(changed=self.name))

    def along(self, direction: np.ndarray, first: float) -> tuple[float, float]:
        """dL/dt of L(θ + t d) at t = 0, and the step used (see :meth:`_derivative`)."""
        def move(t):
            np.multiply(direction, t, out=self.work)
            self.work += self.theta
        try:
            return self._derivative(move, first)
        finally:
            np.copyto(self.work, self.theta)

    def entry(self, index: tuple, first: float) -> tuple[float, float]:
        """∂L/∂θ[index], and the step used."""
        def move(t):
            self.work[index] = self.theta[index] + t
        try:
            return self._derivative(move, first)
        finally:
            self.work[index] = self.theta[index]

    def _derivative(self, move, first: float) -> tuple[float, float]:
        """Central differences at h and 2h, Richardson-extrapolated to an O(h⁴) error; h
        starts at ``first`` and is cut 10× while the four points lie on different sides
        of a ReLU or abs kink (there the quotient says nothing about the gradient).
        """
        h = first
        while True:
            points = []
            for t in (h, -h, 2 * h, -2 * h):
                move(t)
                points.append(self._loss())
            crossed = len({kinks for _, kinks in points}) > 1
            if not crossed or h / 10 < SHORTEST_STEP:
                (ahead, _), (behind, _), (far_ahead, _), (far_behind, _) = points
                near = (ahead - behind) / (2 * h)
                far = (far_ahead - far_behind) / (4 * h)
                return (4 * near - far) / 3, h
            h /= 10

    def restore(self) -> None:
        self.g.set(self.name, self.original)
        self.g.forward(changed=self.name)


def check_gradients(g: Graph, wrt=None, *, tol: float = 1e-6, tol_sampled: float = 1e-5,
                    max_entries: int = 64, directions: int = 4, samples: int = 8,
                    seed: int = 0, step: float = FIRST_STEP) -> list[GradientCheck]:
    """Compare backprop's gradient of every param/input leaf with finite differences.

    A leaf of at most ``max_entries`` entries is checked entry by entry, each against the
    difference quotient along eᵢ. A larger one is checked along ``directions`` random
    directions v, comparing ⟨∇L, v⟩ with the quotient along v, plus ``samples`` random
    entries: a fixed number of forward passes whatever the size. Only the part of the
    graph below the perturbed leaf is recomputed.

    Quotients are central differences at ε and 2ε combined by Richardson extrapolation
    (error O(ε⁴)), so ε can be long enough (1e-3 by default) for rounding not to matter
    even in a loss of 10⁴; ε is cut tenfold while a step crosses a ReLU or abs kink.

    Entry by entry, the relative error is |a − b| / max(|a|, |b|, floor); along a
    direction, that of the two directional derivatives; over the sampled entries it is
    normwise, max|a − b| / max(max|a|, max|b|, floor). The floor is 1e-8 × max|∇L| or,
    when larger, the rounding level of the quotient divided by the tolerance
    (16 ε_mach max(1, |L|) / ε / tol): an entry so small that float64 cannot resolve it
    then passes when a and b agree to rounding, instead of failing on noise.

    A leaf passes when its error is at most ``tol`` (entry by entry) or ``tol_sampled``
    (directions and samples). A wrong rule gives 1e-2 or more either way. The graph is
    left as it was found. ``GradientCheck.step`` is the shortest step used.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt or g.leaves())
    rng = np.random.default_rng(seed)
    rounding = 16 * np.finfo(float).eps * max(1.0, abs(g.loss))
    results = []
    for name in names:
        grad = np.asarray(g.grad(name), dtype=float)
        probe = _Probe(g, name)
        floor = 1e-8 * float(np.max(np.abs(grad), initial=0.0))
        limit = tol if grad.size <= max_entries else tol_sampled
        steps = []

        def resolved(quotient) -> tuple[float, float]:
            """The quotient, and the smallest |a − b| it resolves."""
            value, used = quotient
            steps.append(used)
            return value, rounding / used / limit

        def along(direction) -> tuple[float, float]:
            return resolved(probe.along(direction, step))

        def entry(index) -> tuple[float, float]:
            return resolved(probe.entry(index, step))

        try:
            if grad.size <= max_entries:
                method = "entries"
                numeric, resolution = np.empty_like(grad), np.empty_like(grad)
                for index in np.ndindex(grad.shape):
                    numeric[index], resolution[index] = entry(index)
                error = relative_error(grad, numeric, np.maximum(floor, resolution))
            else:
                method = "directions+samples"
                errors = []
                for _ in range(directions):
                    v = rng.normal(size=grad.shape)
                    v /= np.linalg.norm(v)
                    value, resolution = along(v)
                    errors.append(relative_error(np.vdot(grad, v), value,
                                                 max(1e-8 * np.linalg.norm(grad), resolution)))
                picked = rng.choice(grad.size, size=min(samples, grad.size), replace=False)
                exact = grad.reshape(-1)[picked]
                numeric, resolution = np.array([entry(np.unravel_index(i, grad.shape))
                                                for i in picked]).T
                scale = max(np.max(np.abs(exact)), np.max(np.abs(numeric)), floor,
                            np.max(resolution))
                errors.append(float(np.max(np.abs(exact - numeric)) / scale) if scale else 0.0)
                error = max(errors)
        finally:
            probe.restore()
        results.append(GradientCheck(name, grad.shape, method, error, bool(error <= limit),
                                     min(steps)))
    return results
