"""Gradient checking: central finite differences against backprop, entry by entry or by
random directions plus sampled entries for large leaves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import NumericalError
from .ops import OPS

__all__ = ["GradientCheck", "check_gradients", "relative_error", "difference_quotient",
           "kink_pattern", "LeftDomain", "OnKink", "FIRST_STEP", "SHORTEST_STEP"]


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
    noise: float = 0.0  # the finite differences' own error (absolute): differences below it pass
    note: str | None = None  # why the check could not be made, or what else it found
    reaches: bool = True  # False when no gradient reaches the leaf: backprop's gradient is 0
    resolved: bool = True  # False when the loss's rounding swamps this gradient (see note)


class LeftDomain(Exception):
    """Every step tried leaves the domain of an op (log of a negative number, …)."""


#: The first step tried, and how short a step may get while it keeps crossing kinks.
FIRST_STEP, SHORTEST_STEP = 1e-3, 1e-8


class OnKink(Exception):
    """Every step down to the shortest crosses a kink: the point sits on one."""


def difference_quotient(at: Callable[[float], tuple[float, bytes]],
                        first: float = FIRST_STEP, on_kink: str = "use") -> tuple[float, float]:
    """φ′(0) of a scalar function φ, and the step h used.

    ``at(t)`` gives φ(t) and which side of every kink the point lies on (bytes: equal
    bytes, same smooth piece), and raises :class:`NumericalError` where t leaves the
    domain (a non-finite φ counts as leaving it). Central differences at h and 2h are
    Richardson-extrapolated to an O(h⁴) error; h starts at ``first`` and is cut 10× while
    the four points lie on different sides of a kink (there the quotient says nothing
    about the derivative) or while one of them leaves the domain. Raises
    :class:`LeftDomain` when even :data:`SHORTEST_STEP` leaves it. When even that step
    crosses a kink, the quotient is returned (``on_kink="use"``: the kink is then nearer
    than 1e-8, and its jump in slope costs little) or :class:`OnKink` is raised
    (``"raise"``: the point lies on the kink itself, as at a tie of a max).
    """
    h, left_domain = first, False
    while True:
        points, outside = [], None
        for t in (h, -h, 2 * h, -2 * h):
            try:
                value, kinks = at(t)
            except NumericalError as err:
                outside = str(err)
                break
            points.append((value, kinks))
        shorter = h / 10 >= SHORTEST_STEP
        if outside is not None:
            if not shorter:
                raise LeftDomain(outside)
            h, left_domain = h / 10, True
            continue
        if left_domain and h / 100 >= SHORTEST_STEP:
            # The edge of the domain is near and derivatives grow towards it (log at
            # 1e-4): a step 100× inside keeps the O(h⁴) error of the quotient small.
            h, left_domain = h / 100, False
            continue
        crossed = len({kinks for _, kinks in points}) > 1
        if crossed and not shorter and on_kink == "raise":
            raise OnKink
        if not crossed or not shorter:
            (ahead, _), (behind, _), (far_ahead, _), (far_behind, _) = points
            near = (ahead - behind) / (2 * h)
            far = (far_ahead - far_behind) / (4 * h)
            return (4 * near - far) / 3, h
        h /= 10


def kink_pattern(patterns) -> bytes:
    """Which side of its kink every entry lies on, for many ops, as one bytes string:
    comparing two points is then one operation however many ReLU layers there are."""
    return b"".join(np.asarray(k).tobytes() for k in patterns)


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
        if not np.isfinite(self.g.loss):
            raise NumericalError(f"NaN or Inf at node {self.g.first_nonfinite()[0]!r}")
        return self.g.loss, kink_pattern(self.g.kinks(changed=self.name))

    def along(self, direction: np.ndarray, first: float) -> tuple[float, float]:
        """dL/dt of L(θ + t d) at t = 0, and the step used."""
        def at(t):
            np.multiply(direction, t, out=self.work)
            self.work += self.theta
            return self._loss()
        try:
            return difference_quotient(at, first)
        finally:
            np.copyto(self.work, self.theta)

    def entry(self, index: tuple, first: float) -> tuple[float, float]:
        """∂L/∂θ[index], and the step used."""
        def at(t):
            self.work[index] = self.theta[index] + t
            return self._loss()
        try:
            return difference_quotient(at, first)
        finally:
            self.work[index] = self.theta[index]

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
    even in a loss of 10⁴; ε is cut tenfold while a step crosses a ReLU or abs kink, or
    leaves the domain of an op (then, if even 1e-8 leaves it, the leaf fails with a note
    naming where).

    The relative error is |a − b| / max(|a|, |b|, 10⁻⁸ s), entry by entry, along each
    direction, and normwise over the sampled entries, where s is the largest entry of
    this leaf's own gradient: a scale of the gradient itself, never of the loss or of
    another leaf's gradient. A comparison passes when its error is at most ``tol``
    (entries) or ``tol_sampled`` (directions and samples), or when |a − b| is within the
    quotient's own rounding error, 16 ε_mach max(1, |L|) / ε (``GradientCheck.noise``):
    float64 cannot tell such a and b apart. Where that rounding error exceeds 1% of s (a
    huge constant added to the loss swamps its changes), nothing can be concluded: the
    leaf fails, with a note, and ``resolved`` false (:func:`graphviz_bp.checking.check`
    then judges the gradient by its ops, checked one by one); unless s itself is below
    16 ε_mach max(1, |L|), the loss's own rounding: then the gradient is 0 as far as
    float64 can tell, and quotients 0 within their noise agree. A wrong rule gives 1e-2
    or more.

    A leaf no gradient reaches (it enters the loss only through ops without a gradient,
    such as ``step`` or ``ones_like``) has backprop's gradient 0, of the leaf's shape,
    and is checked like any other: it passes when the loss does not change with it
    (``reaches`` False, with a note saying so) and fails when it does, for then the loss
    depends on the leaf through an op that passes no gradient back.
    The graph is left as it was found.
    """
    names = [wrt] if isinstance(wrt, str) else list(wrt or g.leaves())
    rng = np.random.default_rng(seed)
    rounding = 16 * np.finfo(float).eps * max(1.0, abs(g.loss))
    results = []
    for name in names:
        reaches = g.grad(name) is not None
        grad = (np.asarray(g.grad(name), dtype=float) if reaches
                else np.zeros(g.nx.nodes[name]["shape"]))
        scale = float(np.max(np.abs(grad), initial=0.0))
        floor = 1e-8 * scale
        probe = _Probe(g, name)
        limit = tol if grad.size <= max_entries else tol_sampled
        steps, verdicts, errors = [], [], []

        def compare(exact, numeric, used: float, normwise: bool = False) -> None:
            """Judge backprop's ``exact`` against the quotient ``numeric`` made with step ``used``."""
            steps.append(used)
            exact, numeric = np.atleast_1d(exact), np.atleast_1d(numeric)
            difference = np.abs(exact - numeric)
            if normwise:
                bound = max(np.max(np.abs(exact)), np.max(np.abs(numeric)), floor)
                error = float(np.max(difference) / bound) if bound else 0.0
            else:
                error = relative_error(exact, numeric, floor)
            errors.append(error)
            verdicts.append(error <= limit or bool(np.all(difference <= rounding / used)))

        note = None
        try:
            if grad.size <= max_entries:
                method = "entries"
                for index in np.ndindex(grad.shape):
                    value, used = probe.entry(index, step)
                    compare(grad[index], value, used)
            else:
                method = "directions+samples"
                for _ in range(directions):
                    v = rng.normal(size=grad.shape)
                    v /= np.linalg.norm(v)
                    value, used = probe.along(v, step)
                    compare(np.vdot(grad, v), value, used)
                picked = rng.choice(grad.size, size=min(samples, grad.size), replace=False)
                quotients = [probe.entry(np.unravel_index(i, grad.shape), step) for i in picked]
                compare(grad.reshape(-1)[picked], [q for q, _ in quotients],
                        min(used for _, used in quotients), normwise=True)
        except LeftDomain as outside:
            note = (f"every step down to {SHORTEST_STEP:g} leaves the domain of the loss "
                    f"({outside}): finite differences cannot check ∇{name} here")
        finally:
            probe.restore()
        noise = rounding / min(steps) if steps else float("inf")
        # Gradients below the loss's own rounding are 0 as far as float64 can tell
        # (Σ softmax(A) along its axis is constant): nothing to resolve, and the
        # quotients, 0 within their noise, agree.
        resolved = not (note is None and noise > 1e-2 * scale and scale > rounding)
        if not resolved:
            note = (f"finite differences cannot resolve ∇{name}: rounding in a loss of "
                    f"{g.loss:.3g} makes them uncertain by {noise:.2g}, more than 1% of the "
                    f"gradient ({scale:.2g})")
            if abs(g.loss) > 1e6:
                note += "; check the loss without its large constant terms"
        error = max(errors, default=float("nan"))
        ok = note is None and all(verdicts)
        if not reaches and note is None:
            note = _unreached_note(g, name, ok)
        results.append(GradientCheck(name, grad.shape, method, error, ok,
                                     min(steps, default=step), noise, note, reaches, resolved))
    return results


def _unreached_note(g: Graph, name: str, agree: bool) -> str:
    """What a leaf no gradient reaches shows: finite differences agree that its gradient
    is 0, or the loss changes with it and yet no gradient flows back to it."""
    blocking = _blocking_ops(g.nx, name)
    through = ""
    if blocking:
        kind = "an op" if len(blocking) == 1 else "ops"
        through = f": it enters the loss only through {' and '.join(blocking)}, {kind} without a gradient"
    if agree:
        return f"no gradient reaches {name}, so its gradient is 0{through}; finite differences agree"
    return (f"the loss changes with {name}, but no gradient flows back to it{through}; "
            "finite differences are not 0")


def _blocking_ops(G, name: str) -> list[str]:
    """The ops below ``name`` that take it, or what is computed from it, in a slot
    without a VJP: where its way back to the loss is cut."""
    below = nx.descendants(G, name) | {name}
    found = []
    for u, v, k in G.edges(keys=True):
        op = G.nodes[v]["op"]
        if u in below and op is not None and OPS[op].vjp[k] is None and op not in found:
            found.append(op)
    return found
