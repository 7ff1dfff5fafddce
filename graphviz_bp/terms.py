"""Symbolic formulas: terms built from the op table's rules, lightly simplified, printed.

A term is a small immutable tree: :class:`Name` (a node of the graph), :class:`Num`,
:class:`Grad` (∂L/∂ a node) and :class:`Op` (an op of the table applied to terms). Terms
print three ways: in the expression language (:func:`to_expr`, which ``check --claim``
reads back), as Unicode text (:func:`to_text`) and as LaTeX (:func:`to_latex`).

>>> t = instantiate("g @ b.T", {"g": Grad("z"), "b": Name("x")})
>>> to_expr(t), to_text(t), to_latex(t)
('grad(z) @ x.T', '∂L/∂z xᵀ', '\\\\frac{\\\\partial L}{\\\\partial z} x^{\\\\top}')
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

__all__ = ["Term", "Name", "Num", "Grad", "Op", "Facts", "instantiate", "simplify", "to_expr",
           "to_text", "to_latex", "add_all", "NOTATION"]


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
class Op:
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
        return self is other or (isinstance(other, Op) and hash(self) == hash(other)
                                 and (self.op, self.args, self.params)
                                 == (other.op, other.args, other.params))


Term = Name | Num | Grad | Op

ONE, ZERO = Num(1.0), Num(0.0)

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
           ast.MatMult: "matmul", ast.Pow: "pow"}


def instantiate(template: str, bindings: dict, params: dict | None = None,
                numbers: dict | None = None, facts: "Facts | None" = None) -> Term:
    """The term of a rule ``template`` of the op table.

    ``bindings`` maps the template's names (``g``, ``out``, ``a``, ``b``) to terms,
    ``params`` the op's parameters (``axis``, ``p``) to values, and ``numbers`` gives
    ``size(x)`` and ``rows(x)`` for the bound names: ``{("size", "b"): 4}``.
    """
    params, numbers = params or {}, numbers or {}

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant):
            return Num(float(node.value))
        if isinstance(node, ast.Name):
            if node.id in bindings:
                return bindings[node.id]
            return Num(float(params[node.id]))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return Op("neg", (build(node.operand),))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            return Op("transpose", (build(node.value),))
        if isinstance(node, ast.BinOp):
            name = _BINARY[type(node.op)]
            if name == "pow":
                return Op("pow", (build(node.left),), (("p", build(node.right)),))
            return Op(name, (build(node.left), build(node.right)))
        if isinstance(node, ast.Call):
            fn = node.func.id
            if fn in ("size", "rows"):
                return Num(float(numbers[(fn, node.args[0].id)]))
            keywords = []
            for k in node.keywords:
                value = params[k.value.id] if isinstance(k.value, ast.Name) else k.value.value
                keywords.append((k.arg, value))
            if fn == "eye":
                return Op("eye", (), (("n", int(build(node.args[0]).value)),))
            return Op(fn, tuple(build(a) for a in node.args), tuple(keywords))
        raise ValueError(f"rule template {template!r}: cannot read {ast.dump(node)}")

    term = build(ast.parse(template, mode="eval"))
    return simplify(term, facts or Facts())


# ---------------------------------------------------------------- simplification


def _num(t) -> float | None:
    return t.value if isinstance(t, Num) else None


def _count_transposes(t) -> int:
    if isinstance(t, Op):
        return (t.op == "transpose") + sum(_count_transposes(a) for a in t.args)
    return 0


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
    if t.op == "eye":
        return (t.param("n"), t.param("n"))
    shapes = [shape_of(a, facts) for a in t.args]
    if any(s is None for s in shapes):
        return None
    from .ops import OPS

    params = {k: (v.value if isinstance(v, Num) else v) for k, v in t.params}
    try:
        return tuple(OPS[t.op].shape(*shapes, **params))
    except Exception:
        return None


def _is_scalar(t, facts) -> bool:
    if isinstance(t, Num):
        return True
    if isinstance(t, (Name, Grad)):
        return t.id in facts.scalars
    return isinstance(t, Op) and t.op in ("mul", "div", "neg", "add", "sub") and all(
        _is_scalar(a, facts) for a in t.args)


def simplify(t: Term, facts: "Facts | frozenset" = frozenset()) -> Term:
    """Light rewrites that are obviously right.

    ×1, ÷1, +0, −(−x), (xᵀ)ᵀ, I x, x + x = 2 x; products as number · scalars · rest, so
    numbers fold and scalars stand in front; matrix products associated to the left;
    Kᵀ = K and (K⁻¹)ᵀ = K⁻¹ for symmetric K; (A B)ᵀ = Bᵀ Aᵀ and (A + B)ᵀ = Aᵀ + Bᵀ only
    where that removes transposes.
    """
    facts = facts if isinstance(facts, Facts) else Facts(frozenset(facts))
    return _simplify(t, facts)


def _simplify(t: Term, facts: Facts) -> Term:
    if not isinstance(t, Op):
        return t
    key = ("simplified", t)
    if key not in facts.memo:
        facts.memo[key] = _simplify_op(t, facts)
    return facts.memo[key]


def _simplify_op(t: Op, facts: Facts) -> Term:
    args = tuple(_simplify(a, facts) for a in t.args)
    params = tuple((k, _simplify(v, facts) if isinstance(v, (Op, Num)) else v)
                   for k, v in t.params)
    t = Op(t.op, args, params)
    a = args[0] if args else None
    b = args[1] if len(args) > 1 else None
    na, nb = _num(a), _num(b)
    if t.op in ("add", "sub", "mul", "div") and na is not None and nb is not None:
        return Num(_fold(t.op, na, nb))
    if t.op == "add":
        if na == 0:
            return b
        if nb == 0:
            return a
        if a == b:
            return _simplify(Op("mul", (Num(2.0), a)), facts)
        if _negated(b) is not None:
            return _simplify(Op("sub", (a, _negated(b))), facts)
        return t
    if t.op == "sub":
        if nb == 0:
            return a
        if na == 0:
            return _simplify(Op("neg", (b,)), facts)
        if _negated(b) is not None:
            return _simplify(Op("add", (a, _negated(b))), facts)
        return t
    if t.op == "matmul":
        if isinstance(a, Op) and a.op == "eye":
            return b
        if isinstance(b, Op) and b.op == "eye":
            return a
        if isinstance(b, Op) and b.op == "matmul" and all(
                len(shape_of(x, facts) or ()) == 2 for x in (a, *b.args)):  # A (B C) = A B C
            return _simplify(Op("matmul", (Op("matmul", (a, b.args[0])), b.args[1])), facts)
    if t.op == "transpose":
        if isinstance(a, Op) and a.op == "transpose":
            return a.args[0]
        if _is_scalar(a, facts) or _is_symmetric(a, facts):
            return a
        pushed = None
        if isinstance(a, Op) and a.op == "matmul":  # (A B)ᵀ = Bᵀ Aᵀ
            pushed = Op("matmul", (Op("transpose", (a.args[1],)), Op("transpose", (a.args[0],))))
        elif isinstance(a, Op) and a.op in ("add", "sub"):  # (A + B)ᵀ = Aᵀ + Bᵀ
            pushed = Op(a.op, tuple(Op("transpose", (x,)) for x in a.args))
        elif isinstance(a, Op) and a.op in ("mul", "div", "neg") and _has_scalar_factor(a, facts):
            coef, scalars, rest = _factor(a, facts)
            pushed = _rebuild(coef, scalars, Op("transpose", (rest,)))
        if pushed is not None:  # taken where transposes cancel, or end up on names only
            pushed = _simplify(pushed, facts)
            before, after = _count_transposes(t), _count_transposes(pushed)
            if after < before or (after == before and _transposes_on_names(pushed)):
                return pushed
        return t
    if t.op == "pow":
        p = t.param("p")
        if isinstance(p, Num) and p.value == 1:
            return a
        return t
    if t.op == "expand" and t.param("axis") is None:
        return a
    if t.op == "div" and nb == 1:
        return a
    if t.op in ("mul", "div", "neg", "matmul") and _has_scalar_factor(t, facts):
        coef, scalars, rest = _factor(t, facts)
        return _rebuild(coef, scalars, rest)
    if t.op == "neg" and isinstance(a, Op) and a.op == "neg":
        return a.args[0]
    return t


def _transposes_on_names(t) -> bool:
    if isinstance(t, Op):
        if t.op == "transpose" and not isinstance(t.args[0], (Name, Grad)):
            return False
        return all(_transposes_on_names(a) for a in t.args)
    return True


def _negated(t) -> "Term | None":
    """x when t is −x or a product with a negative number in front, else None."""
    if isinstance(t, Op) and t.op == "neg":
        return t.args[0]
    if isinstance(t, Op) and t.op in ("mul", "div") and _num(t.args[0]) is not None and t.args[0].value < 0:
        return Op(t.op, (Num(-t.args[0].value), t.args[1])) if t.args[0].value != -1 else t.args[1]
    if isinstance(t, Op) and t.op == "div" and _negated(t.args[0]) is not None:
        return Op("div", (_negated(t.args[0]), t.args[1]))
    return None


def _has_scalar_factor(t, facts) -> bool:
    coef, scalars, rest = _factor(t, facts)
    return coef != 1 or bool(scalars) or rest is None or rest != t


def _factor(t, facts):
    """t as (number, [scalar factors], rest or None), for products, quotients by numbers,
    negations and matrix products: scalars commute with all of them."""
    key = ("factor", t)
    if key not in facts.memo:
        facts.memo[key] = _factor_of(t, facts)
    return facts.memo[key]


def _factor_of(t, facts):
    if isinstance(t, Num):
        return t.value, [], None
    if _is_scalar(t, facts) and not (isinstance(t, Op) and t.op in ("mul", "div", "neg")):
        return 1.0, [t], None
    if isinstance(t, Op) and t.op in ("mul", "matmul"):
        c1, s1, r1 = _factor(t.args[0], facts)
        c2, s2, r2 = _factor(t.args[1], facts)
        if r1 is None or r2 is None:
            return c1 * c2, s1 + s2, r1 if r2 is None else r2
        return c1 * c2, s1 + s2, Op(t.op, (r1, r2))
    if isinstance(t, Op) and t.op == "div" and _num(t.args[1]) not in (None, 0):
        c, s, r = _factor(t.args[0], facts)
        return c / t.args[1].value, s, r
    if isinstance(t, Op) and t.op == "neg":
        c, s, r = _factor(t.args[0], facts)
        return -c, s, r
    return 1.0, [], t


def _rebuild(coef: float, scalars: list, rest) -> Term:
    """number · s₁ · s₂ · … · rest; a number 1/k is written as a quotient by k."""
    factors = [*scalars] + ([rest] if rest is not None else [])
    if coef == 0 and rest is None:
        return ZERO  # a scalar zero; an array keeps its shape as 0 * rest
    if not factors:
        return Num(coef)
    body = factors[-1]
    for s in reversed(factors[:-1]):
        body = Op("mul", (s, body))
    magnitude = abs(coef)
    inverse = 1 / magnitude if magnitude else 0.0
    if magnitude == 1:
        term = body
    elif 0 < magnitude < 1 and abs(inverse - round(inverse)) < 1e-9 and magnitude != 0.5:
        term = Op("div", (body, Num(float(round(inverse)))))
    else:
        term = Op("mul", (Num(magnitude), body))
    return Op("neg", (term,)) if coef < 0 else term


def _is_symmetric(t, facts) -> bool:
    if isinstance(t, Name):
        return t.id in facts.symmetric
    if isinstance(t, Op) and t.op == "inv":
        return _is_symmetric(t.args[0], facts)
    if isinstance(t, Op) and t.op == "eye":
        return True
    return False


def _fold(op: str, a: float, b: float) -> float:
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    return a / b


def add_all(terms: list[Term], facts: "Facts | frozenset" = frozenset()) -> Term:
    """t₁ + t₂ + …, simplified (the total gradient of a node reached along several edges)."""
    total = terms[0]
    for t in terms[1:]:
        total = Op("add", (total, t))
    return simplify(total, facts)


# ---------------------------------------------------------------- printing: the expression language

_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@"}


def _number_text(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _precedence(t) -> int:
    if isinstance(t, Num):
        return 3 if t.value < 0 else 5
    if isinstance(t, Op):
        return _PRECEDENCE.get(t.op, 5)
    return 5


def to_expr(t: Term) -> str:
    """The term in the expression language (Python syntax that ``expr.parse`` reads)."""

    def wrap(u, minimum):
        text = to_expr(u)
        return f"({text})" if _precedence(u) < minimum else text

    if isinstance(t, Name):
        return t.id
    if isinstance(t, Num):
        return _number_text(t.value)
    if isinstance(t, Grad):
        return f"grad({t.id})"
    if t.op in _SYMBOL:
        level = _PRECEDENCE[t.op]
        return f"{wrap(t.args[0], level)} {_SYMBOL[t.op]} {wrap(t.args[1], level + 1)}"
    if t.op == "neg":
        return f"-{wrap(t.args[0], 3)}"
    if t.op == "pow":
        return f"{wrap(t.args[0], 5)} ** {_number_text(t.param('p').value)}"
    if t.op == "transpose":
        return f"{wrap(t.args[0], 5)}.T"
    if t.op == "eye":
        return f"eye({t.param('n')})"
    keywords = [f"{k}={v}" for k, v in t.params if v is not None]
    return f"{t.op}({', '.join([*(to_expr(a) for a in t.args), *keywords])})"


# ---------------------------------------------------------------- printing: text and LaTeX

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUPERSCRIPTS = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")
_GREEK = {"alpha": ("α", r"\alpha"), "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"),
          "lam": ("λ", r"\lambda"), "lambda_": ("λ", r"\lambda"), "sigma": ("σ", r"\sigma")}


def _pretty_name(name: str, labels: dict | None) -> str:
    if labels and labels.get(name):
        return labels[name]
    if name in _GREEK:
        return _GREEK[name][0]
    stem = name.rstrip("0123456789")
    return stem + name[len(stem):].translate(_SUBSCRIPTS) if stem else name


def _text_number(value: float) -> str:
    if abs(value) == 0.5:
        return "½" if value > 0 else "−½"
    return _number_text(value).replace("-", "−")



def _display_precedence(t, scalars) -> int:
    """Precedence for people: products of different kinds never share a level."""
    if isinstance(t, Grad):
        return 4  # ∂L/∂z is not an atom: (∂L/∂z)ᵀ
    if isinstance(t, Op) and t.op == "mul":
        return 2.5 if _is_scalar(t.args[0], Facts(scalars=scalars)) else 2.2
    if isinstance(t, Op) and t.op == "matmul":
        return 2.4
    if isinstance(t, Op) and t.op == "div":
        return 2.1
    return _precedence(t)


def _printer(atom, function, operators):
    """A printer of terms for people: ``atom`` prints names, numbers and gradients,
    ``function`` the ops without a notation of their own, ``operators`` the notations."""

    def show(t, labels, scalars):
        def inner(u):
            return show(u, labels, scalars)

        def wrap(u, minimum):
            text = inner(u)
            if _display_precedence(u, scalars) < minimum:
                return operators["paren"](text)
            return text

        if not isinstance(t, Op):
            return atom(t, labels)
        a = t.args[0] if t.args else None
        op = t.op
        if op in ("add", "sub"):
            return f"{inner(a)} {operators[op]} {wrap(t.args[1], 2)}"
        if op == "mul" and _is_scalar(a, Facts(scalars=scalars)):
            return f"{wrap(a, 3)} {wrap(t.args[1], 2.2)}"
        if op == "mul":
            return f"{wrap(a, 2.2)}{operators['mul']}{wrap(t.args[1], 2.21)}"
        if op == "matmul":
            return f"{wrap(a, 2.4)} {wrap(t.args[1], 2.41)}"
        if op == "div":
            return operators["div"](wrap(a, 2.2), wrap(t.args[1], 3), inner(a), inner(t.args[1]))
        if op == "neg":
            return f"{operators['minus']}{wrap(a, 2.2)}"
        if op in ("transpose", "inv", "pow"):
            base = wrap(a, 5)
            if op == "pow":
                return operators["power"](base, t.param("p").value)
            return operators[op](base)
        return function(t, inner, labels)

    return show


def _text_atom(t, labels):
    if isinstance(t, Name):
        return _pretty_name(t.id, labels)
    if isinstance(t, Num):
        return _text_number(t.value)
    return f"∂L/∂{_pretty_name(t.id, labels)}"


#: How ops without an operator are written, for people: (Unicode, LaTeX), with {0}, {1}
#: standing for the printed arguments. An op missing here is written name(arguments).
NOTATION = {
    "eye": ("I", "I"),
    "ones_like": ("𝟙", r"\mathbf{{1}}"),
    "logdet": ("log|{0}|", r"\log\left|{0}\right|"),
    "trace": ("tr({0})", r"\operatorname{{tr}}\left({0}\right)"),
    "sumsq": ("‖{0}‖²", r"\left\lVert {0} \right\rVert^{{2}}"),
    "abs": ("|{0}|", r"\left|{0}\right|"),
    "sqrt": ("√({0})", r"\sqrt{{{0}}}"),
    "step": ("[{0} > 0]", r"\left[{0} > 0\right]"),
    "expand": ("{0}", "{0}"),  # a new axis of length 1: invisible on paper
    "onehot": ("onehot({1})", r"\operatorname{{onehot}}\left({1}\right)"),
    "sigmoid": ("σ({0})", r"\sigma\left({0}\right)"),
    "exp": ("exp({0})", r"\exp\left({0}\right)"),
    "log": ("log({0})", r"\log\left({0}\right)"),
    "tanh": ("tanh({0})", r"\tanh\left({0}\right)"),
    "relu": ("ReLU({0})", r"\operatorname{{ReLU}}\left({0}\right)"),
    "log_softmax": ("log softmax({0})", r"\operatorname{{log\,softmax}}\left({0}\right)"),
    "softmax_ce": ("CE({0}, {1})", r"\operatorname{{CE}}\left({0}, {1}\right)"),
}


def _sum_axis(t) -> str:
    axis = t.param("axis")
    return "" if axis is None else "_rows" if axis == 0 else f"_axis{axis}"


def _text_function(t, text, labels):
    args = [text(x) for x in t.args]
    if t.op == "sum":
        return f"Σ{_sum_axis(t)}({args[0]})"
    if t.op in NOTATION:
        return NOTATION[t.op][0].format(*args)
    return f"{t.op}({', '.join(args)})"


_show_text = _printer(_text_atom, _text_function, {
    "add": "+", "sub": "−", "mul": " ⊙ ", "minus": "−", "paren": lambda x: f"({x})",
    "div": lambda left, right, *_: f"{left} / {right}",
    "transpose": lambda b: f"{b}ᵀ", "inv": lambda b: f"{b}⁻¹",
    "power": lambda b, p: f"{b}{_number_text(p).translate(_SUPERSCRIPTS)}",
})


def to_text(t: Term, labels: dict | None = None, scalars=frozenset()) -> str:
    """The term as a person writes it: W r xᵀ, K⁻¹, ∂L/∂z₂, α D K⁻¹ X, σ(z₁) ⊙ …

    ``scalars`` names the nodes that are numbers, written before what they multiply.
    """
    return _show_text(t, labels, frozenset(scalars))


def _latex_name(name: str, labels: dict | None) -> str:
    if name in _GREEK:
        return _GREEK[name][1]
    if name == "Kinv":
        return "K^{-1}"
    stem = name.rstrip("0123456789")
    digits = name[len(stem):]
    stem = stem.replace("_", r"\_")
    if len(stem) > 1:
        stem = rf"\mathrm{{{stem}}}"
    return f"{stem}_{{{digits}}}" if digits and stem else stem or name


def _latex_atom(t, labels):
    if isinstance(t, Name):
        return _latex_name(t.id, labels)
    if isinstance(t, Num):
        return r"\tfrac{1}{2}" if t.value == 0.5 else _number_text(t.value)
    return rf"\frac{{\partial L}}{{\partial {_latex_name(t.id, labels)}}}"


def _latex_function(t, tex, labels):
    args = [tex(x) for x in t.args]
    if t.op == "sum":
        return rf"\sum\left({args[0]}\right)"
    if t.op in NOTATION:
        return NOTATION[t.op][1].format(*args)
    name = t.op.replace("_", r"\_")
    return rf"\operatorname{{{name}}}\left({', '.join(args)}\right)"


_show_latex = _printer(_latex_atom, _latex_function, {
    "add": "+", "sub": "-", "mul": r" \odot ", "minus": "-",
    "paren": lambda x: rf"\left({x}\right)",
    "div": lambda left, right, a, b: rf"\frac{{{a}}}{{{b}}}",
    "transpose": lambda b: f"{_base(b)}^{{\\top}}", "inv": lambda b: f"{_base(b)}^{{-1}}",
    "power": lambda b, p: f"{_base(b)}^{{{_number_text(p)}}}",
})


def _base(tex: str) -> str:
    """A base for a superscript: braced when it carries one already (K^{-1})."""
    return "{" + tex + "}" if "^" in tex else tex


def to_latex(t: Term, labels: dict | None = None, scalars=frozenset()) -> str:
    """The term in LaTeX math (standard macros only: \\frac, \\top, \\odot, \\operatorname)."""
    return _show_latex(t, labels, frozenset(scalars))
