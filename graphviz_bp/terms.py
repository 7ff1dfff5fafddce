"""Symbolic formulas as small immutable trees, built from the op table's rules.

A term is :class:`Name` (a node of the graph), :class:`Num`, :class:`Grad` (∂L/∂ a node)
or :class:`Apply` (an op of the table applied to terms). :mod:`.simplify` rewrites
terms; :mod:`.printing` writes them in the expression language (which ``check`` reads
back), as Unicode text and as LaTeX.

>>> from graphviz_bp.printing import to_expr, to_latex, to_text
>>> t = instantiate("g @ b.T", {"g": Grad("z"), "b": Name("x")})
>>> to_expr(t), to_text(t), to_latex(t)
('grad(z) @ x.T', '∂L/∂z xᵀ', '\\\\frac{\\\\partial L}{\\\\partial z} x^{\\\\top}')
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .ops import BINARY_SYNTAX, OPS, UNARY_SYNTAX, operator_op

__all__ = ["Term", "Name", "Num", "Grad", "Apply", "Facts", "ONE", "ZERO", "instantiate",
           "shape_of", "is_scalar", "IDENTITY"]


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Grad:
    id: str


@dataclass(frozen=True, eq=False)
class Apply:
    """The op ``op`` of the table applied to the terms ``args``."""

    op: str
    args: tuple
    params: tuple = ()  # ((name, value), ...) for axis, p, n

    def param(self, name, default=None):
        return dict(self.params).get(name, default)

    # Terms are compared and hashed often while simplifying: the hash is computed once.
    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            object.__setattr__(self, "_hash", hash((self.op, self.args, self.params)))
            return self._hash

    def __eq__(self, other):
        return self is other or (isinstance(other, Apply) and hash(self) == hash(other)
                                 and (self.op, self.args, self.params)
                                 == (other.op, other.args, other.params))


Term = Name | Num | Grad | Apply

ONE, ZERO = Num(1.0), Num(0.0)

#: The identity matrix in a formula, ``Apply(IDENTITY, (), (("n", n),))``: a constant the
#: rules use (``g * eye(rows(a))``), not an op of the table.
IDENTITY = "eye"

_AST_TOKENS = {syntax[0]: token for table in (BINARY_SYNTAX, UNARY_SYNTAX)
               for token, syntax in table.items()}


@dataclass(frozen=True)
class Facts:
    """What simplification may assume about names: which are symmetric matrices, which
    scalars, and the shapes of all (to keep rewrites such as A (B C) = A B C to matrices)."""

    symmetric: frozenset = frozenset()
    scalars: frozenset = frozenset()
    shapes: dict = field(default_factory=dict, compare=False, hash=False)
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


def instantiate(template: str, bindings: dict, params: dict | None = None,
                numbers: dict | None = None, facts: "Facts | None" = None) -> Term:
    """The term of a rule ``template`` of the op table, simplified.

    ``bindings`` maps the template's names (``g``, ``out``, ``a``, ``b``) to terms,
    ``params`` the op's parameters (``axis``, ``p``) to values, and ``numbers`` gives
    ``size(x)`` and ``rows(x)`` for the bound names: ``{("size", "b"): 4}``.
    """
    from .simplify import simplify

    params, numbers = params or {}, numbers or {}

    def operator(node, arity: int) -> str:
        op = operator_op(_AST_TOKENS[type(node)], arity)
        return op.name

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            return Num(float(node.value))
        if isinstance(node, ast.Name):
            if node.id in bindings:
                return bindings[node.id]
            return Num(float(params[node.id]))
        if isinstance(node, ast.UnaryOp):
            return Apply(operator(node.op, 1), (build(node.operand),))
        if isinstance(node, ast.Attribute):
            return Apply(operator_op("." + node.attr, 1).name, (build(node.value),))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            op = operator_op("**", 1)
            (exponent,) = op.params
            return Apply(op.name, (build(node.left),), ((exponent, build(node.right)),))
        if isinstance(node, ast.BinOp):
            return Apply(operator(node.op, 2), (build(node.left), build(node.right)))
        if isinstance(node, ast.Call):
            fn = node.func.id
            if fn in ("size", "rows"):
                return Num(float(numbers[(fn, node.args[0].id)]))
            keywords = []
            for k in node.keywords:
                value = params[k.value.id] if isinstance(k.value, ast.Name) else k.value.value
                keywords.append((k.arg, value))
            if fn == IDENTITY:
                return Apply(IDENTITY, (), (("n", int(build(node.args[0]).value)),))
            return Apply(fn, tuple(build(a) for a in node.args), tuple(keywords))
        raise ValueError(f"rule template {template!r}: cannot read {ast.dump(node)}")

    term = build(ast.parse(template, mode="eval"))
    return simplify(term, facts or Facts())


def shape_of(t: Term, facts: Facts):
    """The shape of a term from the op table's shape rules, or None when a name is unknown."""
    key = ("shape", t)
    if key not in facts.memo:
        facts.memo[key] = _shape_of(t, facts)
    return facts.memo[key]


def _shape_of(t: Term, facts: Facts):
    if isinstance(t, Num):
        return ()
    if isinstance(t, (Name, Grad)):
        return facts.shapes.get(t.id)
    if t.op == IDENTITY:
        return (t.param("n"), t.param("n"))
    shapes = [shape_of(a, facts) for a in t.args]
    if any(s is None for s in shapes):
        return None
    params = {k: (v.value if isinstance(v, Num) else v) for k, v in t.params}
    try:
        return tuple(OPS[t.op].shape(*shapes, **params))
    except Exception:
        return None


def is_scalar(t: Term, facts: Facts) -> bool:
    """Whether a term is a number: a Num, a scalar node, or an elementwise op of scalars."""
    if isinstance(t, Num):
        return True
    if isinstance(t, (Name, Grad)):
        return t.id in facts.scalars
    return (t.op in OPS and OPS[t.op].elementwise and bool(t.args)
            and all(is_scalar(a, facts) for a in t.args))
