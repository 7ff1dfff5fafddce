"""Judging a hand-derived gradient: does ``∇_NAME L = EXPR`` hold at several random draws?

A claim is judged on the graph as given and then on fresh draws in which everything a
formula could wrongly depend on changes: the leaves' values (inside the domains of the
ops they feed), every named scalar constant (α, β, reg, …), and, where the loss is built
from sizes, the sizes (N, Q, D, …), each drawn apart from the others. A claim that cannot
be evaluated (a shape that does not fit, a name that does not exist, NaN) fails with the
reason; it never stops the other claims from being judged.

>>> import numpy as np, graphviz_bp as bp
>>> x = bp.param("x", np.array([1.0, 2.0]))
>>> alpha = bp.const("alpha", 1.0)
>>> g = bp.Graph(alpha * bp.sumsq(x))
>>> bp.check_claim(g, "x", "2 * alpha * x").ok
True
>>> result = bp.check_claim(g, "x", "2 * x")      # right only while alpha = 1
>>> result.ok, result.varied
(False, ('x', 'alpha'))
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from .engine import Graph, has_nonfinite, value_of
from .errors import GraphvizBPError, did_you_mean
from .expr import ExpressionError, parse
from .gradcheck import relative_error
from .graph import const
from .notation import parse_notation
from .ops import OPS
from .printing import to_text
from .terms import Grad, Name

__all__ = ["ClaimResult", "Draw", "check_claim", "parse_claim", "target", "fresh_values", "redraws",
           "draw_in_domain", "numbers_of",
           "vary_constants", "vary_settings", "MAX_TRIALS"]

#: Most draws a claim is judged at.
MAX_TRIALS = 1000


@dataclass(frozen=True)
class ClaimResult:
    """The verdict on one claim.

    ``error`` says why it failed when the reason is not a number (a shape that does not
    fit, NaN, a name that does not exist); ``varied`` names what changed between draws;
    ``warning`` flags a claim that holds by definition (``W=grad(W)``).
    """

    wrt: str
    expr: str
    ok: bool
    trials: int
    max_rel_error: float | None
    error: str | None
    varied: tuple = ()
    warning: str | None = None


class Draw(NamedTuple):
    """One draw of a loss: its evaluated graph, the sizes it was built with, what varied."""

    graph: Graph
    sizes: dict
    varied: tuple = ()


_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def parse_claim(text: str) -> tuple[str, str]:
    """``"W=W @ r @ x.T"`` → ``("W", "W @ r @ x.T")``; the target may be written as
    ``derive`` prints it: ``∇W₂ = …`` or ``∂L/∂W₂ = …``."""
    name, sep, expression = text.partition("=")
    name = name.strip()
    for prefix in ("∇", "∂L/∂"):
        name = name.removeprefix(prefix).strip()
    if not name.isidentifier():  # W₂ → W2; a printed label such as K⁻¹ is kept as written
        name = name.translate(_SUBSCRIPT_DIGITS) if name.translate(_SUBSCRIPT_DIGITS).isidentifier() else name
    if not sep or not name or any(c.isspace() for c in name) or not expression.strip():
        raise GraphvizBPError(f"a claim is NAME=EXPR (e.g. \"W2=grad(z2) @ h1.T\"), got {text!r}")
    return name, expression.strip()


def check_claim(g: Graph, wrt: str, text: str, *, redraw: Callable[[int], Draw] | None = None,
                sizes: dict | None = None, trials: int | None = None, tol: float = 1e-6,
                seed: int = 0) -> ClaimResult:
    """Judge the claimed ∇_wrt L on graph ``g`` and on ``trials − 1`` fresh draws.

    By default 3 draws for a smooth loss, and :data:`PIECEWISE_TRIALS` for one with kinks
    (ReLU, max, a comparison): a claim wrong only on some pieces (a Huber threshold at ½δ
    instead of δ) must meet those pieces to be caught.

    ``redraw(i)`` gives the i-th fresh draw (a :class:`Draw`); without it, the draws are
    made on ``g`` itself (new leaf values and constants, put back afterwards). In the
    claim, names are the graph's nodes and ``sizes`` (numbers such as N, Q, D), and
    ``grad(NAME)`` is backprop's gradient at NAME. A claim holds when at every draw its
    value has the gradient's shape and agrees with it to ``tol`` (relative).
    """
    if trials is None:
        trials = PIECEWISE_TRIALS if _piecewise(g) else 3
    if not 1 <= trials <= MAX_TRIALS:
        raise GraphvizBPError(f"a claim is judged at 1 to {MAX_TRIALS} draws, got {trials}")
    wrt = target(g, wrt)
    warning = _tautology(text, wrt) or _printed_tautology(g, text, wrt)
    restore = None
    sizes = g.nx.graph.get("sizes", {}) if sizes is None else sizes
    if redraw is None and "remake" in g.nx.graph:  # a built-in or a source: sizes vary too
        redraw = redraws(g.nx.graph["remake"], g.nx.graph.get("settings", sizes), g,
                         g.nx.graph.get("pinned", frozenset()), seed)
    elif redraw is None:  # a graph of the user's: new values in it, put back afterwards
        restore = {n: g.value(n) for n in g.nx if g.nx.nodes[n]["kind"] != "op"}
        rng = np.random.default_rng([seed, 1])

        def redraw(trial):
            varied = fresh_values(g, rng, g.leaves(), restore) + vary_constants(g, rng)
            g.evaluate()
            return Draw(g, sizes, tuple(varied))

    worst, varied, trial = 0.0, [], 0
    try:
        for trial in range(trials):
            draw = Draw(g, sizes) if trial == 0 else redraw(trial)
            varied += [v for v in draw.varied if v not in varied]
            error, reason = _judge(draw, wrt, text, tol)
            if reason is not None:
                return ClaimResult(wrt, text, False, trial + 1, None, reason, tuple(varied), warning)
            worst = max(worst, error)
            if worst > tol:
                return ClaimResult(wrt, text, False, trial + 1, worst, None, tuple(varied), warning)
    finally:
        if restore is not None:
            for name, value in restore.items():
                g.set(name, value)
            g.evaluate()
    return ClaimResult(wrt, text, True, trial + 1, worst, None, tuple(varied), warning)


def _judge(draw: Draw, wrt: str, text: str, tol: float) -> tuple[float, str | None]:
    """The claim's relative error at one draw, or the reason it cannot be compared."""
    g = draw.graph
    if wrt not in g.nx:
        return 0.0, f"no node named {wrt!r} in this loss{did_you_mean(wrt, g.nx)}"
    expected = g.grad(wrt)
    if expected is None:
        return 0.0, f"{wrt!r} has no gradient: no gradient reaches it from the loss"
    if has_nonfinite(expected):
        return 0.0, f"backprop's ∇{wrt} holds NaN or Inf at this draw: nothing to compare"
    names = {k: const(k, v) for k, v in draw.sizes.items()}
    names.update({n: const(n, attrs["value"]) for n, attrs in g.nx.nodes(data=True)})
    grads = {n: const(f"grad_{n}", attrs["grad"], label=f"∇{n}")
             for n, attrs in g.nx.nodes(data=True) if attrs["grad"] is not None}
    # The expression language, or else the notation derive prints ("2 c x" is ASCII too)
    try:
        try:
            claim = parse(text, names, grads)
        except ExpressionError:
            if text.isascii() and not _juxtaposes(text):
                raise
            claim = parse_notation(text, names, grads)
        claimed = value_of(claim)
    except GraphvizBPError as err:  # not in the language, a shape, a domain: the claim fails
        return 0.0, f"cannot evaluate the claim: {err}"
    if np.shape(claimed) != np.shape(expected):
        return 0.0, (f"the claim has shape {np.shape(claimed)} but ∇{wrt} has shape "
                     f"{np.shape(expected)}")
    if has_nonfinite(claimed):
        return 0.0, "the claim gives NaN or Inf where the gradient is finite"
    # The floor comes from the gradients of the whole graph: a gradient that is zero but
    # for rounding (1e-17) matches a claim of 0 where the other gradients are of order 1.
    scale = max((float(np.max(np.abs(g.grad(n)), initial=0.0)) for n in g.leaves()), default=0.0)
    floor = 1e-8 * max(scale, float(np.max(np.abs(expected), initial=0.0)))
    return relative_error(claimed, expected, floor), None


def _juxtaposes(text: str) -> bool:
    """Whether ASCII text writes a product by juxtaposition (2 c x), as derive prints."""
    return re.search(r"[\w)]\s+[\w(]", text) is not None


def target(g: Graph, wrt: str) -> str:
    """The node a claim is about: its id, or its name or label as derive prints them (α, K⁻¹)."""
    if wrt in g.nx:
        return wrt
    labels = _labels(g)
    found = [n for n in g.nx if to_text(Name(n), labels) == wrt or labels.get(n) == wrt]
    return found[0] if len(found) == 1 else wrt


def _labels(g: Graph) -> dict:
    return {n: a["label"] for n, a in g.nx.nodes(data=True) if a["label"]}


def _printed_tautology(g: Graph, text: str, wrt: str) -> str | None:
    if wrt not in g.nx:
        return None
    printed = to_text(Grad(wrt), _labels(g))
    if printed in text and not text.replace(printed, "").strip(" ()"):
        return f"the claim is {printed}, the very gradient it claims: it holds by definition"
    return None


def _tautology(text: str, wrt: str) -> str | None:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "grad" and len(node.args) == 1
                and isinstance(node.args[0], ast.Name) and node.args[0].id == wrt):
            return f"the claim uses grad({wrt}), the very gradient it claims: it holds by definition"
    return None


# ---------------------------------------------------------------- fresh draws


#: Draws a claim on a loss with kinks is judged at by default.
PIECEWISE_TRIALS = 30


def _piecewise(g: Graph) -> bool:
    return any(OPS[op].kinks is not None for _, op in g.nx.nodes(data="op") if op is not None)


def draw_in_domain(shape, domain: str, rng: np.random.Generator) -> np.ndarray:
    """Random values of ``shape`` inside an op table ``domain``: ``positive`` (uniform in
    [0.5, 2]), ``spd`` (A Aᵀ/n + I), ``nonzero`` (away from 0), ``mask`` (0 or 1), else
    standard normal."""
    if domain == "spd" and len(shape) == 2 and shape[0] == shape[1]:
        A = rng.normal(size=shape)
        return A @ A.T / shape[0] + np.eye(shape[0])
    if domain == "positive":
        return rng.uniform(0.5, 2.0, size=shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 2.0, size=shape)
    if domain == "mask":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    return rng.normal(size=shape)


def _domain_draw(g: Graph, leaf: str, rng: np.random.Generator) -> np.ndarray:
    """New values for a leaf inside the domain of the ops it feeds (positive under log
    and √, symmetric positive definite under log|·| and ⁻¹; positive where the user's are)."""
    shape = g.nx.nodes[leaf]["shape"]
    domains = {OPS[g.nx.nodes[v]["op"]].domain[k] for _, v, k in g.nx.out_edges(leaf, keys=True)}
    if np.all(np.asarray(g.value(leaf)) > 0):
        domains.add("positive")
    wanted = next((d for d in ("spd", "positive", "nonzero", "mask") if d in domains), "real")
    if wanted == "spd" and not (len(shape) == 2 and shape[0] == shape[1]):
        wanted = "positive" if "positive" in domains else "real"
    return draw_in_domain(shape, wanted, rng)


def numbers_of(settings: dict) -> dict:
    """The settings that are single numbers: the sizes and constants a claim may name."""
    return {k: v for k, v in settings.items() if _is_number(v)}


#: After a fresh draw that leaves the loss's domain, the leaves are moved around the
#: user's own values instead, by these fractions in turn (sqrt(1 − x²) near x = ±1).
NEAR = (0.3, 0.1, 0.03)


def fresh_values(g: Graph, rng: np.random.Generator, names, around: dict | None = None) -> list[str]:
    """New values for the leaves ``names`` where the loss and its gradients are finite: a
    fresh draw inside each leaf's domain, else values near ``around`` (the user's, by
    default the current ones). Evaluates ``g``. Returns the names that changed (none
    when no draw stayed inside the domain: the values are then put back)."""
    names = list(names)
    around = {n: np.array((around or {}).get(n, g.value(n)), dtype=float) for n in names}
    for near in (None, *NEAR):
        for n in names:
            if near is None:
                value = _domain_draw(g, n, rng)
            else:
                base = around[n]
                value = base + near * (np.abs(base) + 0.1) * rng.uniform(-1, 1, size=base.shape)
            g.set(n, value)
        try:
            g.evaluate()
        except GraphvizBPError:
            continue
        if np.isfinite(g.loss) and not any(has_nonfinite(g.grad(n)) for n in g.leaves()):
            return names
    for n in names:
        g.set(n, around[n])
    g.evaluate()
    return []


def redraws(make: Callable[[int, dict], Graph], settings: dict, first: Graph,
            pinned=frozenset(), seed: int = 0) -> Callable[[int], Draw]:
    """The draws after the first of a loss built by ``make(seed, settings)``: settings not
    ``pinned`` varied (each one the loss refuses put back), leaves the new build did not
    change drawn anew, named constants not built from a setting scaled."""
    first_values = {n: np.array(a["value"]) for n, a in first.nx.nodes(data=True)
                    if a["kind"] != "op"}

    def same(g: Graph, n: str) -> bool:
        value = np.asarray(g.value(n))
        return n in first_values and value.shape == first_values[n].shape \
            and np.array_equal(value, first_values[n])

    def draw(trial: int) -> Draw:
        rng = np.random.default_rng([seed, trial])
        chosen, varied = vary_settings(settings, pinned, rng)
        g = None
        while g is None:
            try:
                g = make(seed + trial, chosen)
            except GraphvizBPError:
                if not varied:
                    raise
                key = varied.pop()  # sizes the loss does not accept: put one back, try again
                chosen[key] = settings[key]
        leaves = g.leaves()
        kept = [n for n in leaves if same(g, n)]  # a function that ignores its seed
        changed = [n for n in leaves if n not in kept]
        if kept:
            changed += fresh_values(g, rng, kept)
        # Constants rebuilt from a varied setting have changed already; those named as a
        # pinned setting stay as the user set them.
        keep = [n for n in g.nx if not same(g, n) or n in pinned]
        constants = vary_constants(g, rng, keep=keep)
        g.evaluate()
        return Draw(g, numbers_of(chosen),
                    tuple(changed + varied + constants))

    return draw


def vary_constants(g: Graph, rng: np.random.Generator, keep=()) -> list[str]:
    """Every named scalar constant of ``g`` (α, β, reg, k) changed, keeping its sign: a
    number scaled by a factor in [0.5, 2], an integer moved by 1 to 3 away from zero;
    except those in ``keep`` and class labels. The caller evaluates."""
    varied = []
    for n, attrs in g.nx.nodes(data=True):
        value = attrs["value"]
        if not (attrs["kind"] == "const" and attrs["named"] and attrs["shape"] == ()
                and n not in keep and value != 0):
            continue
        kind = np.asarray(value).dtype.kind
        labels = any(OPS[g.nx.nodes[v]["op"]].domain[k] == "labels"
                     for _, v, k in g.nx.out_edges(n, keys=True))
        if kind == "f":
            g.set(n, value * rng.uniform(0.5, 2.0))
        elif kind in "iu" and not labels:
            g.set(n, value + int(np.sign(value)) * int(rng.integers(1, 4)))
        else:
            continue
        varied.append(n)
    return varied


def vary_settings(settings: dict, pinned, rng: np.random.Generator) -> tuple[dict, list[str]]:
    """Sizes (integers, and tuples of them) drawn anew from 2 to 9, each apart from the
    others so that N and D cannot stand for each other; numbers scaled by a factor in
    [0.5, 2], keeping their sign. Settings in ``pinned`` stay."""
    varied, changed = dict(settings), []
    sizes = [k for k, v in settings.items() if k not in pinned and _is_size(v)]
    pool = iter(rng.permutation(np.arange(2, 10)).tolist() * 8)
    for k in sizes:
        value = settings[k]
        varied[k] = tuple(next(pool) for _ in value) if isinstance(value, tuple) else next(pool)
        changed.append(k)
    for k, value in settings.items():
        if k in pinned or k in sizes or isinstance(value, bool) or not isinstance(value, float):
            continue
        if value != 0:
            varied[k] = value * float(rng.uniform(0.5, 2.0))
            changed.append(k)
    return varied, changed


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_size(value) -> bool:
    if isinstance(value, tuple):
        return bool(value) and all(_is_size(v) for v in value)
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
