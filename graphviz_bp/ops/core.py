"""The op record, :func:`defop` that fills the table, and broadcasting undone in one place."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..literals import Slice, index_text
from .shapes import Shape, broadcast_shape

__all__ = ["Op", "Notation", "OPS", "defop", "undefop", "unbroadcast", "summing_to", "Shape",
           "BINARY_SYNTAX", "UNARY_SYNTAX", "operator_op", "latex_base"]

@dataclass(frozen=True)
class Notation:
    """How an op is written for people, in Unicode text and in LaTeX.

    ``text`` and ``latex`` are templates over the printed arguments ``{0}``, ``{1}`` and
    the op's parameters by name (``{axis}``), or functions ``(args, params) -> str``.
    ``level`` is how tightly the written form binds (1 sums, 2.1–2.5 products, 3
    negation, 4 powers, 5 atoms, functions and postfix marks); ``wrap`` gives, per
    argument, the least level it may have without brackets (none: never bracketed, as
    inside ``σ(…)``). LaTeX uses ``latex_wrap`` when given (``\\frac`` needs no brackets).
    ``scaled`` is the form used when the first argument is a scalar (α W rather than
    α ⊙ W).
    """

    text: str | Callable
    latex: str | Callable
    level: float = 5
    wrap: tuple = ()
    latex_wrap: tuple | None = None
    scaled: "Notation | None" = None


@dataclass(frozen=True)
class Op:
    """One entry of the table; :func:`defop` documents the fields."""

    name: str
    symbol: str
    forward: Callable
    vjp: tuple[Callable | None, ...]
    shape: Callable[..., Shape]
    domain: tuple[str, ...]
    doc: str
    params: dict = field(default_factory=dict)
    kinks: Callable | None = None
    rule: tuple | Callable = ()
    reuses: tuple[str, Callable] | None = None
    notation: Notation | None = None
    operator: str | None = None
    precedence: int = 5
    elementwise: bool = False
    spelling: Callable | None = None
    scaled_symbol: str | None = None

    def rules(self, *arg_shapes: Shape, **params) -> tuple[str | None, ...]:
        """The symbolic backward rule of each slot, for arguments of these shapes."""
        if callable(self.rule):
            return self.rule(*arg_shapes, **{**self.params, **params})
        return self.rule

    @property
    def arity(self) -> int:
        return len(self.vjp)

    @property
    def broadcasts(self) -> bool:
        """Whether arguments broadcast to the output (their gradients are then summed back)."""
        return self.shape is broadcast_shape

    @property
    def is_function(self) -> bool:
        """Whether the op is called by name in the language: ``exp(x)``, and also
        ``transpose(x, axes)`` beside ``x.T``; not ``add``, which ``+`` spells."""
        return self.spelling is None and (self.operator is None or self.operator.startswith("."))

    def display(self, params: dict | None = None, scaled: bool = False) -> str:
        """The drawn symbol with this node's parameters filled in (``(·)^{p}`` → ``(·)^3``);
        ``scaled`` when an argument is a number: a scalar product is drawn ·, not ⊙."""
        values = {**self.params, **(params or {})}
        symbol = self.scaled_symbol if scaled and self.scaled_symbol else self.symbol
        return symbol.format(**{k: _short(v) for k, v in values.items()})


OPS: dict[str, Op] = {}

#: Python's operators as the expression language and :class:`~graphviz_bp.graph.Expr`
#: spell them: token → (ast node type, method, reflected method). Which op each token
#: means is said by the op's stanza (``operator="+"``), nowhere else.
BINARY_SYNTAX = {"+": (ast.Add, "__add__", "__radd__"), "-": (ast.Sub, "__sub__", "__rsub__"),
                 "*": (ast.Mult, "__mul__", "__rmul__"), "/": (ast.Div, "__truediv__", "__rtruediv__"),
                 "@": (ast.MatMult, "__matmul__", "__rmatmul__"), "**": (ast.Pow, "__pow__", None)}
UNARY_SYNTAX = {"-": (ast.USub, "__neg__"), ".T": (None, "T")}


def defop(name, *, symbol, forward, vjp, rule, shape, domain, doc, params=None, kinks=None,
          reuses=None, notation=None, operator=None, precedence=5, elementwise=False,
          spelling=None, scaled_symbol=None) -> Op:
    """Add one op to the table. Its fields:

    ``forward(*args, **params)``
        the value, from numpy inputs;
    ``vjp``
        one function per argument slot, ``vjp[i](g, out, *args, **params)``, giving the
        gradient that flows back into argument ``i`` when ``g`` = ∂L/∂out arrives, of the
        argument's shape. Ops that broadcast (shape rule ``broadcast_shape``) may return
        the broadcast shape instead; the engine sums it back (:func:`summing_to`). A VJP
        runs only after its forward succeeded on the same arguments. ``None`` marks a slot
        no gradient flows through (integer labels);
    ``rule``
        the same VJP as a formula in the expression language, one per slot, with the same
        names: ``g`` (∂L/∂out), ``out``, ``a``, ``b`` and the op's parameters; ``size(x)``
        and ``rows(x)`` stand for numbers known from the shapes. A test evaluates every
        rule against ``vjp``, so the formulas shown to people check themselves. Rules that
        depend on the arguments' ranks are a function of the shapes and parameters;
    ``shape(*arg_shapes, **params)``
        the output shape, raising :class:`~graphviz_bp.errors.ShapeError` with both
        shapes when they do not fit, so shape errors are found while the graph is built;
    ``domain``
        per slot, the inputs the op is defined on: ``real``, ``positive``, ``nonzero``
        (kept away from a kink such as ``abs`` at 0), ``spd`` (symmetric positive
        definite), ``labels`` (integer class indices), ``mask`` (0 or 1, as a
        comparison gives). Tests draw their inputs from it;
    ``symbol``, ``scaled_symbol``
        how the op's node is drawn in a figure (``{p}``-style fields from the params), and
        how when one argument is a number, as a textbook draws α W (``·`` for ``⊙``);
    ``notation``
        how a formula writes the op for people (:class:`Notation`); default ``name(…)``;
    ``operator``, ``precedence``
        the Python operator that spells the op in the expression language and on
        :class:`~graphviz_bp.graph.Expr` (``"+"``, ``"-"`` for the unary ``neg``,
        ``".T"``, ``"**"``), and how tightly it binds there; ops without one are
        functions, called by name;
    ``spelling``
        for an op the language writes with syntax of its own (``x[:, 0]``, ``a > b``):
        ``spelling(args, params)`` gives that text from the arguments' texts, each
        bracketed where it binds less tightly than ``precedence``;
    ``elementwise``
        the op acts entry by entry (so it keeps a matrix symmetric, and a scalar scalar);
    ``params``
        static parameters and their defaults (``{"axis": None}``);
    ``kinks``
        for ops that are not smooth (``relu``, ``abs``): which side of its kink each input
        entry lies on, ``kinks(*args, **params)``; the gradient checker shortens a step
        that crosses one;
    ``reuses``
        for a one-argument op whose VJP needs what another op computes from the same
        argument (∂ log|K|/∂K = K⁻ᵀ needs K⁻¹): that op's name, and the VJP written with
        its value, ``vjp(g, out, a, value)``; the engine passes the value when the graph
        computes it anyway.
    """
    if name in OPS:
        raise ValueError(f"op {name!r} is defined twice")
    if not name.isidentifier():
        raise ValueError(f"op name {name!r} must be an identifier: it is called by that name")
    if len(domain) != len(vjp) or (not callable(rule) and len(rule) != len(vjp)):
        raise ValueError(f"op {name!r}: one domain entry and one rule per argument slot")
    if reuses is not None and (len(vjp) != 1 or reuses[0] not in OPS):
        raise ValueError(f"op {name!r}: reuses needs one argument and an op defined before it")
    # "**" spells a one-argument op: the exponent is its parameter p (x ** 3)
    allowed = [*BINARY_SYNTAX] if len(vjp) == 2 else [*UNARY_SYNTAX, "**"]
    if operator is not None and operator not in allowed:
        raise ValueError(f"op {name!r}: {operator!r} is not a Python operator for "
                         f"{len(vjp)} argument(s) (one of {', '.join(allowed)})")
    taken = next((o.name for o in OPS.values() if operator and o.operator == operator
                  and o.arity == len(vjp)), None)
    if taken:
        raise ValueError(f"op {name!r}: operator {operator!r} already spells {taken!r}")
    op = Op(name, symbol, forward, tuple(vjp), shape, tuple(domain), doc, dict(params or {}),
            kinks, rule if callable(rule) else tuple(rule), reuses, notation, operator,
            precedence, elementwise, spelling, scaled_symbol)
    OPS[name] = op
    return op


def undefop(name: str) -> None:
    """Remove an op from the table (for ops defined for a while, as in tests)."""
    del OPS[name]


def operator_op(token: str, arity: int) -> Op | None:
    """The op a Python operator token spells with ``arity`` arguments (``"+", 2`` → add)."""
    for op in OPS.values():
        if op.operator == token and (op.arity == arity or token == "**"):
            return op
    return None


def latex_base(tex: str) -> str:
    """A LaTeX base for a superscript: braced when it carries one already (``{K^{-1}}^{\\top}``)."""
    return "{" + tex + "}" if "^" in tex else tex


def _short(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple) and any(isinstance(v, Slice) or v is None or v is Ellipsis
                                        for v in value):
        return index_text(value)  # an index, as between brackets: [:, 4:6]
    return str(value)


def unbroadcast(grad, shape: Shape):
    """Sum ``grad`` over the axes numpy broadcast to, so that it has ``shape``."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad if grad.ndim else grad[()]
    return summing_to(shape, grad.shape)(grad)


def summing_to(shape: Shape, broadcast: Shape) -> Callable:
    """The function that sums a gradient of shape ``broadcast`` back to ``shape``.

    The axes are worked out once, so the engine pays one numpy reduction per pass.
    """
    extra = len(broadcast) - len(shape)
    axes = tuple(range(extra)) + tuple(extra + i for i, n in enumerate(shape)
                                       if n == 1 and broadcast[extra + i] != 1)
    if not shape:
        return lambda grad: np.add.reduce(grad, axis=None)
    return lambda grad: np.add.reduce(grad, axis=axes).reshape(shape)
