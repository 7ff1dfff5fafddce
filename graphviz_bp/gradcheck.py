"""Gradient checking: central finite differences against backprop, entry by entry or by
random directions plus sampled entries for large leaves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import GraphvizBPError, NumericalError
from .ops import OPS

__all__ = ["GradientCheck", "check_gradients", "relative_error", "difference_quotient",
           "kink_pattern", "spread", "largest", "norm", "LeftDomain", "OnKink", "judge", "confirmed", "Tally",
           "FIRST_STEP", "SHORTEST_STEP"]


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
    noise: float = 0.0  # the finite differences' own error (absolute); see judge()
    note: str | None = None  # why the check could not be made, or what else it found
    reaches: bool = True  # False when no gradient reaches the leaf: backprop's gradient is 0
    resolved: bool = True  # False when it could not be checked (rounding, kinks, domain: see note)


class LeftDomain(Exception):
    """Every step tried leaves the domain of an op (log of a negative number, …)."""


#: The first step tried, and how short a step may get while it keeps crossing kinks.
FIRST_STEP, SHORTEST_STEP = 1e-3, 1e-8


class OnKink(Exception):
    """Every step down to the shortest crosses a kink: the point sits on one."""


def difference_quotient(at: Callable[[float], tuple[float, bytes]],
                        first: float = FIRST_STEP) -> tuple[float, float]:
    """φ′(0) of a scalar function φ, and the step h used.

    ``at(t)`` gives φ(t) and which side of every kink the point lies on (bytes: equal
    bytes, same smooth piece), and raises :class:`NumericalError` where t leaves the
    domain (a non-finite φ counts as leaving it). Central differences at h and 2h are
    Richardson-extrapolated to an O(h⁴) error; h starts at ``first`` and is cut 10× while
    the four points lie on different sides of a kink (there the quotient says nothing
    about the derivative) or while one of them leaves the domain, down to ``first`` ×
    :data:`SHORTEST_STEP` / :data:`FIRST_STEP`. Raises :class:`LeftDomain` when even that
    step leaves it, and :class:`OnKink` when even that step crosses a kink: the point
    lies on the kink itself, as at a tie of a max.
    """
    h, left_domain = first, False
    shortest = first * (SHORTEST_STEP / FIRST_STEP)  # as far below the first as 1e-8 is below 1e-3
    while True:
        points, outside = [], None
        for t in (h, -h, 2 * h, -2 * h):
            try:
                value, kinks = at(t)
            except NumericalError as err:
                outside = str(err)
                break
            points.append((value, kinks))
        shorter = h / 10 >= shortest
        if outside is not None:
            if not shorter:
                raise LeftDomain(outside)
            h, left_domain = h / 10, True
            continue
        if left_domain and h / 100 >= shortest:
            # The edge of the domain is near and derivatives grow towards it (log at
            # 1e-4): a step 100× inside keeps the O(h⁴) error of the quotient small.
            h, left_domain = h / 100, False
            continue
        crossed = len({kinks for _, kinks in points}) > 1
        if crossed and not shorter:
            raise OnKink
        if not crossed or not shorter:
            (ahead, _), (behind, _), (far_ahead, _), (far_behind, _) = points
            near = (ahead - behind) / (2 * h)
            far = (far_ahead - far_behind) / (4 * h)
            return (4 * near - far) / 3, h
        h /= 10


def spread(value) -> float:
    """How far an array's entries typically are from 0 (their root mean square; 1 for
    zeros): steps and directions are scaled by it, so that a step of 1e-3 is relative to
    the array's own size (a weight of 0.01, an input of 1e4)."""
    finite = np.asarray(value, dtype=float)
    finite = finite[np.isfinite(finite)]
    rms = norm(finite) / np.sqrt(finite.size) if finite.size else 0.0
    return rms if np.isfinite(rms) and rms > 0 else 1.0


def largest(value) -> float:
    """The largest finite magnitude among an array's entries (0 when there is none)."""
    value = np.asarray(value, dtype=float)
    return float(np.max(np.abs(value[np.isfinite(value)]), initial=0.0))


def norm(value) -> float:
    """‖x‖₂ without overflow (entries of 1e160): inf when an entry is."""
    value = np.asarray(value, dtype=float)
    top = float(np.max(np.abs(value), initial=0.0))
    if not np.isfinite(top) or not top:
        return top
    with np.errstate(all="ignore"):
        return top * float(np.sqrt(np.sum(np.square(value / top))))


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
        self.node["value"] = self.original  # the very object: labels stay integers
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
    even in a loss of 10⁴; ε is cut tenfold while a step crosses a kink, or leaves the
    domain of an op (then, if even 1e-8 leaves it, the leaf fails with a note naming
    where). The first step is 1e-3 of the leaf's size (its root mean square), and of an
    entry's own size where that is smaller. A comparison that fails is made again at
    shorter steps while it converges (:func:`confirmed`): a right
    gradient's quotient converges (a weight of 0.01 is not well served by a step of
    1e-3), a wrong one does not.

    Each comparison is judged by :func:`judge`: the relative error is |a − b| / max(|a|,
    |b|, floor) with floor 10⁻⁸ s entry by entry and along directions, where s is the
    largest entry of this leaf's own gradient (a scale of the gradient itself, never of
    the loss or of another leaf's), and the largest sampled entry for the samples (judged
    normwise). It passes at most ``tol`` (entries) or ``tol_sampled`` (directions and
    samples). A difference within the quotient's own rounding error, 16 ε_mach max(1,
    |L|) / ε (``GradientCheck.noise``), cannot be told from rounding: where gradient and
    quotient are themselves at that level it passes (a gradient 0 as far as float64 can
    tell), and otherwise the leaf is not resolved (a huge constant added to the loss
    swamps its changes): it fails with a note and ``resolved`` false, and
    :func:`graphviz_bp.checking.check` then judges it by its ops, checked one by one. An
    entry sitting exactly on a kink (a ReLU input of exactly 0) has no derivative to
    compare: it is left out, and said. A wrong rule gives 1e-2 or more.

    A leaf no gradient reaches (it enters the loss only through ops without a gradient,
    such as ``step`` or ``ones_like``) has backprop's gradient 0, of the leaf's shape,
    and is checked like any other: it passes when the loss does not change with it
    (``reaches`` False, with a note saying so) and fails when it does, for then the loss
    depends on the leaf through an op that passes no gradient back.
    The graph is left as it was found.
    """
    names = leaf_names(g, wrt)
    rng = np.random.default_rng(seed)
    rounding = 16 * np.finfo(float).eps * max(1.0, abs(g.loss))
    results = []
    for name in names:
        reaches = g.grad(name) is not None
        grad = (np.asarray(g.grad(name), dtype=float) if reaches
                else np.zeros(g.nx.nodes[name]["shape"]))
        scale = float(np.max(np.abs(grad), initial=0.0))
        probe = _Probe(g, name)
        first = step * spread(probe.theta)
        limit = tol if grad.size <= max_entries else tol_sampled
        tally = Tally()

        note = None
        try:
            if grad.size <= max_entries:
                method = "entries"
                for index in np.ndindex(grad.shape):
                    # relative to the entry too: 1/y at y = 1e-6 beside entries of 1
                    own = min(first, step * max(abs(float(probe.theta[index])), 1e-3 * first / step))

                    def measure(h, i=index):
                        return grad[i], *probe.entry(i, h)
                    outcome = confirmed(measure, own, rounding, limit, 1e-8 * scale, scale)
                    if outcome[0] == "unresolved" and own < first:  # a tiny entry: the leaf's step
                        outcome = confirmed(measure, first, rounding, limit, 1e-8 * scale, scale)
                    tally.add(*outcome)
            else:
                method = "directions+samples"
                typical = norm(grad) / np.sqrt(grad.size)  # of ⟨∇, v⟩, ‖v‖ = 1
                for _ in range(directions):
                    v = rng.normal(size=grad.shape)
                    v /= np.linalg.norm(v)
                    exact = float(np.vdot(grad, v))
                    tally.add(*confirmed(lambda h, v=v, exact=exact: (exact, *probe.along(v, h)),
                                         first, rounding, limit, 1e-8 * scale, typical))
                picked = rng.choice(grad.size, size=min(samples, grad.size), replace=False)
                sampled = grad.reshape(-1)[picked]
                # judged normwise: each entry against the largest sampled entry
                normwise = float(np.max(np.abs(sampled), initial=0.0))
                for i, exact in zip(picked, sampled):
                    index = np.unravel_index(i, grad.shape)
                    tally.add(*confirmed(lambda h, index=index, exact=exact:
                                         (exact, *probe.entry(index, h)),
                                         first, rounding, limit, max(normwise, 1e-8 * scale),
                                         scale))
        except LeftDomain as outside:
            note = ("every step tried leaves the domain of the loss "
                    f"({outside}): finite differences cannot check ∇{name} here")
        finally:
            probe.restore()
        noise = rounding / min(tally.steps) if tally.steps else float("inf")
        resolved = note is None and (tally.failed > 0 or tally.resolved)  # a failure is resolved
        ok = resolved and not tally.failed
        if note is None and not tally.failed and tally.unresolved:
            note = (f"finite differences cannot resolve ∇{name}: rounding in a loss of "
                    f"{g.loss:.3g} makes them uncertain by {noise:.2g}, as much as the "
                    f"differences they should show")
            if abs(g.loss) > 1e6:
                note += "; check the loss without its large constant terms"
        elif note is None and not tally.failed and tally.on_kink:
            note = tally.kink_note(f"∇{name}")
        if not reaches and (ok or tally.failed):
            said = _unreached_note(g, name, ok)
            note = said if note is None else f"{said}; {note}"
        results.append(GradientCheck(name, grad.shape, method, tally.worst, ok,
                                     min(tally.steps, default=first), noise, note, reaches, resolved))
    return results


def leaf_names(g: Graph, wrt) -> list[str]:
    """The leaves to check: ``wrt`` (a name or names), default every param and input leaf;
    anything else is refused with the reason."""
    if wrt is None:
        return g.leaves()
    names = [wrt] if isinstance(wrt, str) else wrt
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise GraphvizBPError(f"wrt must be a leaf's name or a list of names, got {wrt!r}")
    for name in names:
        kind = g.nx.nodes[name]["kind"] if name in g.nx else g.value(name)  # unknown: refused
        if kind == "op":
            raise GraphvizBPError(f"{name!r} is computed by an op; only param and input leaves "
                                  "are checked (every op is checked alone by bp.check)")
        if kind == "const":
            raise GraphvizBPError(f"{name!r} is a const: it has no gradient to check")
    return list(names)


def judge(exact: float, numeric: float, rounding: float, used: float, tol: float,
          floor: float, scale: float) -> tuple[str, float]:
    """``"pass"``, ``"fail"`` or ``"unresolved"``, and the relative error, of backprop's
    ``exact`` against the quotient ``numeric`` made with step ``used`` of a function whose
    values carry a rounding error ``rounding`` (so the quotient's noise is rounding / used);
    ``scale`` is the size such a gradient typically has.

    The relative error is |a − b| / max(|a|, |b|, floor): at most ``tol`` passes. A larger
    difference within the noise cannot be told from rounding. It passes when the noise is
    below 10⁻³ of ``scale`` (what it could hide is smaller than 0.1% of the gradient: a
    small entry beside large ones) or when backprop's value is itself below ``rounding``
    (a gradient 0 as far as float64 can tell). Otherwise it is unresolved: the quotient
    cannot see whether a wrong rule is there (a huge constant added to the loss). Beyond
    the noise, it fails.
    """
    difference = abs(exact - numeric)
    bound = max(abs(exact), abs(numeric), floor)
    error = difference / bound if bound else 0.0
    noise = rounding / used
    if error <= tol:
        return "pass", error
    if difference > noise:
        return "fail", error
    return ("pass" if noise <= 1e-3 * scale or abs(exact) <= rounding else "unresolved"), error


#: How many times, at most, a failing comparison is made again at a 10× shorter step.
RETRIES = 5


def confirmed(measure, first: float, rounding: float, tol: float, floor: float, scale: float):
    """Judge ``measure(h) -> (exact, numeric, step used)`` at step ``first`` (by
    :func:`judge`), and where it fails, again at steps 10×, 100×, … shorter (at most
    :data:`RETRIES` times) while the error shrinks: a right gradient's quotient converges
    as the step shrinks (a weight of 0.01, a matrix of condition 10⁵), a wrong one stays
    as wrong, and a steady error ends the retries as a failure.

    A shorter step passes only on its error (at most ``tol``), never by its larger noise.
    The comparison is ``"unresolved"`` rather than failed where rounding rules it: when
    the error grows 3× or more at the first retry (beyond what the noise estimate knows:
    an ill-conditioned matrix amplifies it), or when it converged towards backprop and
    then stopped short of the tolerance, below 1e-2. Returns (verdict, error, step used);
    the verdict is ``"kink"`` when every step down to the shortest crosses a kink.
    """
    outcome = previous = best = None
    for k in range(RETRIES + 1):
        h = first / 10**k
        try:
            exact, numeric, used = measure(h)
        except OnKink:
            return ("kink", float("nan"), h) if outcome is None else outcome
        verdict, error = judge(float(exact), float(numeric), rounding, used, tol, floor, scale)
        if k and verdict == "pass" and error > tol:
            verdict = "unresolved"  # only the noise let it pass
        if verdict == "pass":
            return verdict, error, used
        if outcome is None:
            outcome = (verdict, error, used)
        if best is None or error < best:
            best = error
        if k == 1 and error >= 3 * previous and previous < 0.3:
            # growing from the first retry on: rounding rules the quotient (an
            # ill-conditioned matrix amplifies it beyond the noise estimate)
            return ("unresolved", outcome[1], outcome[2]) if outcome[0] == "fail" else outcome
        if previous is not None and error > previous / 3 and (error < 0.3 or error > previous):
            break  # no longer converging
        previous = error  # converging, or no nearer than nonsense yet (a step across a pole)
    if outcome[0] == "fail" and best < 1e-2 and best < outcome[1] / 3:
        # it converged towards backprop, then rounding stopped it short of the tolerance
        return "unresolved", outcome[1], outcome[2]
    return outcome


class Tally:
    """The verdicts of many comparisons of one gradient or edge."""

    def __init__(self):
        self.steps, self.errors = [], []
        self.failed = self.unresolved = self.on_kink = self.judged = 0

    def add(self, verdict: str, error: float, used: float) -> None:
        if verdict == "kink":
            self.on_kink += 1
            return
        self.steps.append(used)
        self.errors.append(error)
        self.judged += 1
        self.failed += verdict == "fail"
        self.unresolved += verdict == "unresolved"

    @property
    def resolved(self) -> bool:
        return not self.unresolved and (self.judged > 0 or not self.on_kink)

    @property
    def worst(self) -> float:
        return max(self.errors, default=float("nan"))

    def kink_note(self, what: str) -> str:
        if not self.judged:
            return (f"{what} sits on a kink at the recorded point (every step down to "
                    "1e-5 of the first crosses it): finite differences cannot check it here")
        return (f"{self.on_kink} of {self.on_kink + self.judged} comparisons of {what} sit on a "
                "kink at the recorded point (there the gradient is a choice among one-sided "
                "slopes): the others pass")


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
