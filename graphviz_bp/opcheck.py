"""Each op checked on its own, and the composition checked along random directions.

A wrong rule sits in one op, and checking the whole loss leaf by leaf costs leaves ×
depth. :func:`check_ops` checks every op node of an evaluated graph alone, at the inputs
the forward pass gave it: for a random upstream gradient u, the gradient the reverse pass
sends into each argument a is compared with finite differences of

    φ(t) = ⟨u, op(…, a + t v, …)⟩,   φ′(0) = ⟨VJP(u), v⟩,

along random directions v. Only the op is recomputed, so the cost is linear in the
number of nodes, and a failure names the op and the edge. A slot without a VJP (the
argument of ``step``, ``ones_like``) is checked to leave the op's output unchanged: if it
does not, the loss depends on something no gradient flows back from.

:func:`check_composition` then moves every leaf at once along random directions and
compares ⟨∇L, v⟩ with the quotient of the whole loss (the fast mode of JAX's and
PyTorch's gradient checks): it catches what no single op shows, such as contributions
summed wrongly or a gradient put on the wrong node.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .engine import Graph
from .errors import NumericalError
from .gradcheck import (FIRST_STEP, SHORTEST_STEP, LeftDomain, OnKink, difference_quotient,
                        kink_pattern)
from .graph import arguments
from .ops import OPS

__all__ = ["EdgeCheck", "OpCheck", "CompositionCheck", "check_ops", "check_composition",
           "LOCAL_TOL", "COMPOSITION_TOL"]

#: Largest relative error of a local check that passes. A wrong rule gives 1e-2 or more;
#: a right one, 1e-9 or less (the quotient's error is O(h⁴)).
LOCAL_TOL = 1e-6
#: The same for the composition, whose quotient runs through every op of the loss.
COMPOSITION_TOL = 1e-5

#: Slots whose argument is not a real number to move: class labels and 0/1 masks.
_DISCRETE = ("labels", "mask")


@dataclass(frozen=True)
class EdgeCheck:
    """One argument slot of an op node: the gradient sent back along edge source → node."""

    source: str
    slot: int
    ok: bool
    max_rel_error: float  # NaN when nothing could be measured (see note)
    noise: float  # the quotients' own rounding error (absolute): differences below it pass
    note: str | None = None
    gradient: bool = True  # False for a slot without a VJP, checked not to change the output
    resolved: bool = True  # False when every direction tried crosses a kink (see note)


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
    def failing(self) -> list[EdgeCheck]:
        return [e for e in self.edges if not e.ok]


@dataclass(frozen=True)
class CompositionCheck:
    """The whole loss along random directions of every leaf at once."""

    directions: int
    ok: bool
    max_rel_error: float
    noise: float
    note: str | None = None
    resolved: bool = True  # False when the loss's rounding swamps ⟨∇L, v⟩ (see note)


def _spread(value: np.ndarray) -> float:
    """How far an argument's entries typically are from 0: directions are scaled by it, so
    a step of 1e-3 is relative to the argument's own size."""
    rms = float(np.sqrt(np.mean(np.square(value)))) if value.size else 0.0
    return rms if np.isfinite(rms) and rms > 0 else 1.0


def _direction(rng, shape, spread: float, domain: str, a=None):
    v = rng.standard_normal(shape) * spread
    if a is not None and domain in ("positive", "nonzero"):
        # near the edge of the domain (sqrt at 1e-4, 1/x near 0) an entry moves by a
        # step relative to itself: the quotient's O(h⁴) error then stays small
        v = rng.standard_normal(shape) * np.where(a != 0, np.abs(a), spread)
    if domain == "spd":  # stay among symmetric matrices, where such an op is defined
        v = (v + np.swapaxes(v, -1, -2)) / 2
    return v


def _at_kinks(a: np.ndarray) -> np.ndarray:
    """Entries where an op may have a kink whatever it is: exact zeros (ReLU, |·|, step)
    and values that occur more than once (ties of a max, a pool, a maximum)."""
    flat = a.reshape(-1)
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    return ((counts[inverse] > 1) | (flat == 0)).reshape(a.shape)


def _is_real(value) -> bool:
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
    compared with φ′(0) along ``directions`` random directions v, scaled to the
    argument's size (symmetric for ``spd`` slots). φ′(0) is the Richardson-extrapolated
    central difference of :func:`~graphviz_bp.gradcheck.difference_quotient`: the step
    is cut while it crosses a kink of the op or leaves its domain.

    The relative error of one direction is |a − b| / max(|a|, |b|, 10⁻² ‖VJP‖ s), where
    s is the spread of v's entries (10⁻² of the typical size of ⟨VJP, v⟩, so that a
    direction nearly orthogonal to the VJP cannot make a right rule fail); it passes at
    most ``tol`` or within the quotient's own rounding error, 16 ε_mach Σ|u| m / h, with
    m the largest magnitude among the op's inputs and output. A slot without a VJP whose
    argument is real and computed from a leaf passes when φ′(0) is 0 within that
    rounding error. The graph is left as it was found.
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
                 if k in vjps or (op.vjp[k] is None and u in from_leaves and _is_real(args[k])
                                  and op.domain[k] not in _DISCRETE)]
        if not slots:
            continue
        local = _Local(op, params, args, attrs["value"], rng)
        edges = tuple(local.check(u, k, vjps.get(k), directions, tol, step) for u, k in slots)
        results.append(OpCheck(n, op.name, edges))
    return results


class _Local:
    """One op node's forward, at its recorded inputs, with a random upstream gradient."""

    def __init__(self, op, params, args, out, rng):
        self.op, self.params, self.args, self.out, self.rng = op, params, args, out, rng
        self.forward = functools.partial(op.forward, **params) if params else op.forward
        out = np.asarray(out, dtype=float)
        self.upstream = np.asarray(rng.standard_normal(out.shape))
        largest = max([float(np.max(np.abs(out), initial=0.0))]
                      + [float(np.max(np.abs(a), initial=0.0)) for a in args if _is_real(a)])
        self.rounding = 16 * np.finfo(float).eps * float(np.sum(np.abs(self.upstream))) * max(largest, 1e-300)

    def _phi(self, k: int, a: np.ndarray, v: np.ndarray):
        """φ(t) = ⟨u, op(…, a + t v, …)⟩ and the op's kink pattern there."""
        moved = list(self.args)
        kinks = self.op.kinks

        def at(t: float):
            point = a + t * v
            moved[k] = point if point.ndim else float(point)
            value = self.forward(*moved)
            phi = float(np.vdot(self.upstream, np.asarray(value, dtype=float)))
            if not np.isfinite(phi):
                raise NumericalError("NaN or Inf in the op's output")
            return phi, kink_pattern([kinks(*moved, **self.params)]) if kinks else b""
        return at

    def check(self, source: str, k: int, vjp, directions: int, tol: float, step: float) -> EdgeCheck:
        a = np.asarray(self.args[k], dtype=float)
        name = self.op.name
        if vjp is None:
            exact_grad = np.zeros(a.shape)
        else:
            with np.errstate(all="ignore"):
                exact_grad = np.asarray(vjp(self.upstream if self.upstream.ndim else float(self.upstream),
                                            self.out, *self.args), dtype=float)
            if exact_grad.shape != a.shape:
                return EdgeCheck(source, k, False, float("nan"), 0.0,
                                 f"the VJP of {name} gives a gradient of shape {exact_grad.shape} "
                                 f"for argument {k} of shape {a.shape}")
        if not np.all(np.isfinite(exact_grad)):
            return EdgeCheck(source, k, False, float("nan"), 0.0,
                             f"the VJP of {name} gives NaN or Inf for argument {k}")
        spread = _spread(a)
        size = np.sqrt(np.sum(np.square(exact_grad))) * spread
        errors, noises = [], []
        passed, on_kink = True, 0
        try:
            with np.errstate(all="ignore"):
                for _ in range(directions):
                    v = _direction(self.rng, a.shape, spread, self.op.domain[k], a)
                    try:
                        numeric, used = difference_quotient(self._phi(k, a, v), step, "raise")
                    except OnKink:
                        # At a tie of a max or an entry exactly at a kink (a pool of ReLU
                        # outputs has many zeros) no direction moving those entries has a
                        # derivative: move the others only.
                        v = np.where(_at_kinks(a), 0.0, v)
                        if not np.any(v):
                            on_kink += 1
                            continue
                        try:
                            numeric, used = difference_quotient(self._phi(k, a, v), step, "raise")
                        except OnKink:
                            on_kink += 1
                            continue
                    exact = float(np.vdot(exact_grad, v))
                    noise = self.rounding / used
                    difference = abs(exact - numeric)
                    bound = max(abs(exact), abs(numeric), 1e-2 * size)
                    error = difference / bound if difference and bound else (0.0 if not difference else 1.0)
                    within = difference <= noise
                    errors.append(0.0 if within and vjp is None else error)
                    noises.append(noise)
                    passed &= error <= tol or within
        except LeftDomain as outside:
            return EdgeCheck(source, k, False, float("nan"), 0.0,
                             f"every step down to {SHORTEST_STEP:g} leaves the domain of {name} "
                             f"({outside}): finite differences cannot check it here", vjp is not None)
        note = None
        if vjp is None and not passed:
            note = (f"{name} has no gradient for argument {k}, yet its output changes with it: "
                    "the loss depends on it through an op that passes no gradient back")
        resolved = on_kink < directions
        if not resolved:
            note = (f"{name} sits on a kink at its recorded inputs (every direction tried crosses "
                    "it): not checked alone here; the composition and leaf checks cover it")
        return EdgeCheck(source, k, passed, max(errors, default=float("nan")),
                         max(noises, default=0.0), note, vjp is not None, resolved)


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

    The relative error is |a − b| / max(|a|, |b|, 10⁻² ‖∇L ⊙ s‖); it passes at most
    ``tol`` or within the quotient's rounding error 16 ε_mach max(1, |L|) / h. When that
    rounding exceeds 1% of ⟨∇L, v⟩'s typical size (a huge constant added to the loss),
    the composition cannot be resolved: the result passes, with ``resolved`` false and a
    note, and the ops' own checks carry the verdict. None for a loss without leaves.
    """
    names = [n for n in g.leaves() if _is_real(g.value(n))]
    if not names:
        return None
    rng = np.random.default_rng(seed)
    grads = [np.zeros(np.shape(g.value(n))) if g.grad(n) is None else np.asarray(g.grad(n), float)
             for n in names]
    spreads = [_spread(np.asarray(g.value(n), dtype=float)) for n in names]
    # Each leaf's share of ⟨∇L, v⟩ is made alike (to within 1000×), so that a wrong
    # gradient of a leaf deep in a net, whose gradient is small, still shows.
    shares = [float(np.sqrt(np.sum(np.square(d)))) * s for d, s in zip(grads, spreads)]
    least = 1e-3 * max(shares)
    weights = [1 / max(share, least) if least > 0 else 1.0 for share in shares]
    weights = [w / max(weights) for w in weights]
    spreads = [s * w for s, w in zip(spreads, weights)]
    size = float(np.sqrt(sum((share * w) ** 2 for share, w in zip(shares, weights))))
    rounding = 16 * np.finfo(float).eps * max(1.0, abs(g.loss))
    leaves = _Leaves(g, names)
    errors, noises, passed, note = [], [], True, None
    try:
        with np.errstate(all="ignore"):
            for _ in range(directions):
                v = [_direction(rng, d.shape, s, "real") for d, s in zip(grads, spreads)]
                exact = float(sum(np.vdot(d, w) for d, w in zip(grads, v)))
                numeric, used = leaves.along(v, step)
                noise = rounding / used
                difference = abs(exact - numeric)
                bound = max(abs(exact), abs(numeric), 1e-2 * size)
                error = difference / bound if difference and bound else (0.0 if not difference else 1.0)
                errors.append(error)
                noises.append(noise)
                passed &= error <= tol or difference <= noise
    except LeftDomain as outside:
        note = (f"every step down to {SHORTEST_STEP:g} leaves the domain of the loss "
                f"({outside}): the composition cannot be checked here")
    finally:
        leaves.restore()
    noise = max(noises, default=0.0)
    resolved = note is None and not (noise > 1e-2 * size and size > rounding)
    if note is None and not resolved:
        note = (f"rounding in a loss of {g.loss:.3g} makes the whole loss's differences "
                f"uncertain by {noise:.2g}, more than 1% of ⟨∇L, v⟩ ({size:.2g}): the ops' own "
                "checks carry the verdict")
    return CompositionCheck(directions, passed or not resolved, max(errors, default=float("nan")),
                            noise, note, resolved)
