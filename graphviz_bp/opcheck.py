"""Each op checked on its own: its VJP against finite differences of the op alone.

A wrong rule sits in one op, and checking the whole loss leaf by leaf costs leaves ×
depth. :func:`check_ops` checks every op node of an evaluated graph alone, at the inputs
the forward pass gave it: for a random upstream gradient u, the gradient the reverse pass
sends into each argument a is compared with finite differences of

    φ(t) = ⟨u, op(…, a + t v, …)⟩,   φ′(0) = ⟨VJP(u), v⟩,

along random directions v. Only the op is recomputed, so the cost is linear in the
number of nodes, and a failure names the op and the edge. A slot without a VJP (the
argument of ``step``, ``ones_like``) is checked to leave the op's output unchanged: if it
does not, the loss depends on something no gradient flows back from.

:mod:`.composition` then checks how backprop composes the ops, along random directions
of every leaf at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import NumericalError
from .gradcheck import (FIRST_STEP, LeftDomain, Tally, confirmed,
                        difference_quotient, kink_pattern, largest, norm, spread)
from .graph import arguments
from .ops import OPS

__all__ = ["EdgeCheck", "OpCheck", "check_ops", "LOCAL_TOL", "around_kinks",
           "random_direction", "is_real"]

#: Largest relative error of a local check that passes. A wrong rule gives 1e-2 or more;
#: a right one, 1e-9 or less (the quotient's error is O(h⁴)).
LOCAL_TOL = 1e-6

#: Slots whose argument is not a real number to move: class labels and 0/1 masks.
_DISCRETE = ("labels", "mask")


@dataclass(frozen=True)
class EdgeCheck:
    """One argument slot of an op node: the gradient sent back along edge source → node."""

    source: str
    slot: int
    ok: bool
    max_rel_error: float  # NaN when nothing could be measured (see note)
    noise: float  # the quotients' own rounding error (absolute); see gradcheck.judge
    note: str | None = None
    gradient: bool = True  # False for a slot without a VJP, checked not to change the output
    resolved: bool = True  # False when it could not be checked alone (the note says why)
    in_place: bool = False  # the op writes into arrays the passes share: any gradient may be off


@dataclass(frozen=True)
class OpCheck:
    """One op node: each of its argument slots checked alone."""

    node: str
    op: str
    edges: tuple[EdgeCheck, ...]

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.edges)

    @property
    def max_rel_error(self) -> float:
        errors = [e.max_rel_error for e in self.edges if np.isfinite(e.max_rel_error)]
        return max(errors, default=float("nan"))

    @property
    def resolved(self) -> bool:
        """Whether every edge could be checked (not swamped by rounding, not on a kink)."""
        return all(e.resolved for e in self.edges)

    @property
    def failing(self) -> list[EdgeCheck]:
        return [e for e in self.edges if not e.ok]


def is_real(value) -> bool:
    return value is not None and np.issubdtype(np.asarray(value).dtype, np.floating)


def _computed_from_leaves(G) -> set:
    """Nodes that are a param or input leaf or computed from one, through any slot."""
    found = set()
    for n in nx.topological_sort(G):
        if G.nodes[n]["kind"] in ("param", "input") or any(u in found for u in G.predecessors(n)):
            found.add(n)
    return found


def check_ops(g: Graph, *, directions: int = 2, tol: float = LOCAL_TOL, seed: int = 0,
              step: float = FIRST_STEP) -> list[OpCheck]:
    """Check the VJP of every op node a gradient reaches, each alone, in graph order.

    For every slot a gradient flows back through, the reverse pass's VJP (summed back
    where the argument was broadcast) is applied to a random upstream gradient u and
    compared with φ′(0) along ``directions`` random directions v shaped to the argument
    (:class:`_Directions`). φ′(0) is the Richardson-extrapolated central difference of
    :func:`~graphviz_bp.gradcheck.difference_quotient`: the step is cut while it crosses
    a kink of the op or leaves its domain, and :func:`~graphviz_bp.gradcheck.confirmed`
    retries a failure at shorter steps.

    Each direction is judged by :func:`~graphviz_bp.gradcheck.judge`, its floor 10⁻² of
    the typical size of ⟨VJP, v⟩ (so that a direction nearly orthogonal to the VJP cannot
    make a right rule fail) and its rounding 16 ε_mach Σ|u| m, with m the largest finite
    magnitude among the op's inputs and output. A slot without a VJP whose argument is
    real and computed from a leaf passes when φ′(0) is 0 within that rounding. An edge
    that cannot be checked alone (swamped by rounding, on a kink, off the domain, an
    infinite VJP, right along symmetric moves only) is ``resolved`` false, with a note:
    it neither passes nor fails, and the whole loss decides. The graph is left as it was
    found.
    """
    rng = np.random.default_rng(seed)
    G = g.nx
    from_leaves = _computed_from_leaves(G)
    results = []
    for n in nx.topological_sort(G):
        attrs = G.nodes[n]
        if attrs["kind"] != "op" or attrs["grad"] is None:
            continue
        op, params = OPS[attrs["op"]], attrs["params"]
        in_edges = arguments(G, n)
        args = [G.nodes[u]["value"] for u, _, _, _ in in_edges]
        vjps = g.vjps(n)
        slots = [(u, k) for u, _, k, _ in in_edges
                 if k in vjps or (op.vjp[k] is None and u in from_leaves and is_real(args[k])
                                  and op.domain[k] not in _DISCRETE)]
        if not slots:
            continue
        local = _Local(op, params, args, attrs["value"], rng)
        edges = tuple(local.check(u, k, vjps.get(k), directions, tol, step) for u, k in slots)
        results.append(OpCheck(n, op.name, edges))
    return results


_NONFINITE = "the VJP of {name} gives NaN or Inf for argument {k}: not checked alone here"


class _WritesInput(Exception):
    """The op's forward changed the array it was given."""


class _Local:
    """One op node's forward, at its recorded inputs, with a random upstream gradient."""

    def __init__(self, op, params, args, out, rng):
        self.op, self.params, self.args, self.out, self.rng = op, params, args, out, rng
        self.forward = functools.partial(op.forward, **params) if params else op.forward
        out = np.asarray(out, dtype=float)
        self.upstream = np.asarray(rng.standard_normal(out.shape))
        # entries already infinite (a mask of −inf added to scores) are held out of φ
        self.finite = np.isfinite(out)
        if not self.finite.all():
            self.upstream = np.where(self.finite, self.upstream, 0.0)
        # the inputs' scale sizes steps (an exp at 35 is not moved by e^35); the output's
        # counts in the rounding
        self.inputs = max([largest(a) for a in args if is_real(a)], default=0.0)
        self.largest = max(self.inputs, largest(out))
        self.rounding = (16 * np.finfo(float).eps * float(np.sum(np.abs(self.upstream)))
                         * max(self.largest, 1e-300))

    def _phi(self, k: int, a: np.ndarray, v: np.ndarray):
        """φ(t) = ⟨u, op(…, a + t v, …)⟩ and the op's kink pattern there."""
        moved = list(self.args)
        kinks = self.op.kinks

        watch = [True]  # the first point is watched for a forward that writes into it

        def at(t: float):
            point = a + t * v
            kept = point.copy() if watch[0] and point.ndim else None
            moved[k] = point if point.ndim else float(point)
            value = self.forward(*moved)
            if kept is not None:
                watch[0] = False
                if not np.array_equal(point, kept, equal_nan=True):
                    raise _WritesInput
            value = np.asarray(value, dtype=float)
            if not self.finite.all():
                value = np.where(self.finite, value, 0.0) if value.shape == self.finite.shape else value
            phi = float(np.vdot(self.upstream, value))
            if not np.isfinite(phi):
                raise NumericalError("NaN or Inf in the op's output")
            return phi, kink_pattern([kinks(*moved, **self.params)]) if kinks else b""
        return at

    def gradient(self, k: int, vjp):
        """The VJP's gradient for slot ``k`` at the random upstream gradient, or a note
        saying why there is none to compare (wrong shape, NaN, inputs changed in place)."""
        a = np.asarray(self.args[k], dtype=float)
        if vjp is None:
            return np.zeros(a.shape), None
        upstream = self.upstream.copy() if self.upstream.ndim else float(self.upstream)
        inputs = (self.out, *self.args)
        before = [_fingerprint(x) for x in inputs]  # no copy of a CIFAR batch per slot
        with np.errstate(all="ignore"):
            grad = np.asarray(vjp(upstream, self.out, *self.args), dtype=float)
        name = self.op.name
        names = ["out", *(f"argument {i}" for i in range(len(self.args)))]
        changed = (["g"] if not np.array_equal(self.upstream, upstream, equal_nan=True) else []) + [
            what for what, x, old in zip(names, inputs, before) if _fingerprint(x) != old]
        if changed:
            return None, (f"the VJP of {name} changes its {', '.join(changed)} in place: the "
                          "reverse pass hands the same arrays to other edges and ops, so their "
                          "gradients go wrong too (copy before writing into an array)")
        if grad.shape != a.shape:
            return None, (f"the VJP of {name} gives a gradient of shape {grad.shape} for "
                          f"argument {k} of shape {a.shape}")
        if not np.all(np.isfinite(grad)):
            return None, _NONFINITE.format(name=name, k=k)
        return grad, None

    def check(self, source: str, k: int, vjp, directions: int, tol: float, step: float) -> EdgeCheck:
        a = np.asarray(self.args[k], dtype=float)
        name = self.op.name
        exact_grad, problem = self.gradient(k, vjp)
        if problem is not None:  # an infinite derivative (√ at 0) is no wrong rule: not judged
            infinite = problem == _NONFINITE.format(name=name, k=k)
            return EdgeCheck(source, k, infinite, float("nan"), 0.0, problem, True, not infinite,
                             "in place" in problem)
        # A tiny argument beside large ones (a loss of 1e-13 added to a sum of 10) moves by
        # enough to change the output beyond its rounding.
        typical = max(spread(a), 1e-8 * self.inputs)
        directions_of = _Directions(a, typical, self.op.domain[k], self.rng)
        size = norm(exact_grad * directions_of.scale) if directions_of.factor is None and \
            directions_of.square is None else norm(exact_grad) * typical
        tally = Tally()
        symmetric_passed = one_triangle = False

        def measure(v):
            exact = float(np.vdot(exact_grad, v))
            return lambda h: (exact, *difference_quotient(self._phi(k, a, v), h))

        try:
            with np.errstate(all="ignore"):
                for _ in range(directions):
                    v = directions_of.next()
                    outcome = confirmed(measure(v), step, self.rounding, tol, 1e-2 * size, size)
                    # At a tie of a max or an entry exactly at a kink (a pool of ReLU outputs
                    # has many zeros) no direction moving those entries apart has a
                    # derivative: move each tie together, then hold exact zeros still, then
                    # every tie.
                    for w in around_kinks(a, v, outcome):
                        if not np.any(w):
                            break
                        outcome = confirmed(measure(w), step, self.rounding, tol, 1e-2 * size, size)
                        if outcome[0] != "kink":
                            break
                    if outcome[0] == "pass" and directions_of.symmetric:
                        # right along symmetric moves; a general one says whether ∇ is
                        # transposed (or the forward reads one triangle): it runs next
                        symmetric_passed = True
                    elif outcome[0] == "fail" and symmetric_passed and not directions_of.symmetric:
                        outcome = ("unresolved", outcome[1], outcome[2])
                        one_triangle = True
                    tally.add(*outcome)
        except _WritesInput:
            return EdgeCheck(source, k, False, float("nan"), 0.0,
                             f"the forward of {name} writes into its argument {k}: the values "
                             "recorded in the graph are no longer its inputs (copy before "
                             "writing into an array)", vjp is not None, True, True)
        except LeftDomain as outside:  # not a wrong rule: not checked alone
            return EdgeCheck(source, k, True, float("nan"), 0.0,
                             f"every step tried leaves the domain of {name} ({outside}): "
                             "finite differences cannot check it alone here", vjp is not None, False)
        noise = self.rounding / min(tally.steps, default=step)
        note = None
        if tally.failed and vjp is None:
            note = (f"{name} has no gradient for argument {k}, yet its output changes with it: "
                    "the loss depends on it through an op that passes no gradient back")
        elif not tally.failed and one_triangle:
            note = (f"{name} is right along symmetric moves of its argument {k} but not along "
                    "general ones: its gradient is transposed, or its forward reads one "
                    "triangle only; not checked alone here")
        elif not tally.failed and tally.unresolved:
            note = (f"rounding in the output of {name} (its inputs reach {self.largest:.3g}) makes "
                    f"its finite differences uncertain by {noise:.2g}, as much as the "
                    "differences they should show: not checked alone here")
        elif not tally.failed and tally.on_kink and not tally.judged:
            note = (f"{name} sits on a kink at its recorded inputs (every direction tried crosses "
                    "it): not checked alone here")
        return EdgeCheck(source, k, not tally.failed, tally.worst, noise, note, vjp is not None,
                         tally.resolved)


def random_direction(rng, shape) -> np.ndarray:
    """Entries uniform on ±√3 (mean 0, variance 1): as good a random direction as normal
    ones, drawn 3× faster (a CIFAR batch has 1.5 million entries)."""
    z = np.asarray(rng.random(shape))
    z -= 0.5
    z *= 2 * np.sqrt(3)
    return z


def _fingerprint(x) -> tuple:
    """What changes when an array is written into: its sum and sum of squares (bits)."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.number):
        return (id(x),)
    with np.errstate(all="ignore"):
        flat = x.reshape(-1)
        return (float(np.add.reduce(flat, dtype=float)).hex(),
                float(np.vdot(flat, flat).real if x.dtype.kind == "c" else np.vdot(flat, flat)).hex())


def around_kinks(a: np.ndarray, v: np.ndarray, outcome):
    """Directions that stay off the kinks ``a`` sits on, after ``v`` crossed one at every
    step: each group of equal entries moved by one amount (a tie of a max stays a tie:
    a max pool that sends its gradient to every tied entry is caught), then exact zeros
    held still too (ReLU, |·|, step at 0), then every tie held still."""
    if outcome[0] != "kink":
        return
    flat = a.reshape(-1)
    _, group, counts = np.unique(flat, return_inverse=True, return_counts=True)
    tied = counts[group] > 1
    together = np.where(tied, v.reshape(-1)[np.unique(group, return_index=True)[1]][group],
                        v.reshape(-1))
    zeros = flat == 0
    yield together.reshape(a.shape)
    yield np.where(zeros, 0.0, together).reshape(a.shape)
    yield np.where(zeros | tied, 0.0, v.reshape(-1)).reshape(a.shape)


class _Directions:
    """Random directions for one argument, scaled entry by entry to the argument itself
    (an entry of 1e-6 beside ones, a mask of −1e9 beside scores of 1), never below a
    tenth of its typical entry (except near a domain's edge, ``positive`` and
    ``nonzero``), and holding non-finite entries still. A symmetric
    positive definite K = C Cᵀ is moved as C Z Cᵀ, so that K + t v = C (I + t Z) Cᵀ
    stays inside however ill-conditioned K is, with Z symmetric and general in turn
    (see :meth:`_Local.check`); another square matrix of such a slot as A Z."""

    def __init__(self, a, typical, domain, rng):
        self.a, self.rng, self.count = a, rng, 0
        self.factor = self.square = None
        finite = np.isfinite(a)
        if domain == "spd" and a.ndim == 2 and a.shape[0] == a.shape[1] and finite.all():
            scale = float(np.max(np.abs(a), initial=0.0))
            try:
                if np.allclose(a, a.T, rtol=0, atol=100 * np.finfo(float).eps * scale):
                    self.factor = np.linalg.cholesky((a + a.T) / 2)
                else:
                    self.square = a
            except np.linalg.LinAlgError:
                self.square = a
        magnitude = np.abs(np.where(finite, a, 0.0))
        every = max(1, magnitude.size // 10_000)  # a typical entry: 10,000 of them suffice
        sample = magnitude.reshape(-1)[::every]
        nonzero = sample[sample > 0]
        least = 0.1 * float(np.median(nonzero)) if nonzero.size else typical
        floor = min(least, typical)
        if domain in ("positive", "nonzero"):  # near the domain's edge: relative to itself
            self.scale = np.where(finite, np.where(magnitude > 0, magnitude, floor), 0.0)
        else:
            self.scale = np.where(finite, np.maximum(magnitude, floor), 0.0)

    @property
    def symmetric(self) -> bool:
        """Whether the last direction was a symmetric one of a symmetric argument."""
        return self.factor is not None and self.count % 2 == 1

    def next(self):
        z = random_direction(self.rng, self.a.shape)
        self.count += 1
        if self.factor is not None:
            if self.count % 2:  # symmetric: as a matrix computed symmetric moves
                z = (z + z.T) / 2
            return self.factor @ z @ self.factor.T
        if self.square is not None:  # A + t A Z = A (I + t Z): as far from singular as A
            return self.square @ z
        return z * self.scale
