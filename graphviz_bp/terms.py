"""Symbolic formulas as small immutable trees.

A term is :class:`Name` (a node of the graph), :class:`Num`, :class:`Grad` (∂L/∂ a node)
or :class:`Apply` (an op of the table applied to terms). :mod:`.symbolic` builds them
from the op table's rules, :mod:`.simplify` rewrites them, :mod:`.printing` writes them in the expression language (which ``check`` reads
back), as Unicode text and as LaTeX.

>>> from graphviz_bp.printing import to_expr, to_text
>>> t = Apply("matmul", (Grad("z"), Apply("transpose", (Name("x"),))))
>>> to_expr(t), to_text(t)
('grad(z) @ x.T', '∂L/∂z xᵀ')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .ops import BINARY_SYNTAX, OPS, UNARY_SYNTAX

__all__ = ["Term", "Name", "Num", "Grad", "Apply", "Facts", "ONE", "ZERO", "shape_of",
           "is_scalar", "IDENTITY", "AST_TOKENS"]


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

#: Python's operator nodes (``ast.Add``) → their tokens (``"+"``).
AST_TOKENS = {syntax[0]: token for table in (BINARY_SYNTAX, UNARY_SYNTAX)
              for token, syntax in table.items()}


@dataclass(frozen=True)
class Facts:
    """What simplification may assume about names: which are symmetric matrices, which
    scalars, and the shapes of all (to keep rewrites such as A (B C) = A B C to matrices)."""

    symmetric: frozenset = frozenset()
    scalars: frozenset = frozenset()
    shapes: dict = field(default_factory=dict, compare=False, hash=False)
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)


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
