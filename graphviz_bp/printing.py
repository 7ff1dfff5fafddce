"""Writing terms: in the expression language (read back by claims), as Unicode text, as LaTeX.

How each op is written comes from its stanza in the op table (``operator`` and
``precedence`` for the expression language, ``notation`` for people); this module only
knows how to bracket, and how names, numbers and gradients look.

>>> from graphviz_bp.terms import Apply, Grad, Name, Num
>>> t = Apply("mul", (Num(0.5), Apply("matmul", (Grad("z2"), Apply("transpose", (Name("h1"),))))))
>>> to_expr(t), to_text(t), to_latex(t)
('0.5 * (grad(z2) @ h1.T)', '½ ∂L/∂z₂ h₁ᵀ', '\\\\tfrac{1}{2} \\\\frac{\\\\partial L}{\\\\partial z_{2}} h_{1}^{\\\\top}')
"""

from __future__ import annotations

import unicodedata

from .literals import literal_text
from .ops import BINARY_SYNTAX, OPS, Notation
from .terms import IDENTITY, Apply, Facts, Grad, Name, Num, Term, is_scalar

__all__ = ["to_expr", "to_text", "to_latex", "number_text", "printable", "latex_text",
           "markdown_text"]


def printable(text: str) -> str:
    """User text safe for a terminal: control and format characters (escape sequences,
    bidirectional overrides) written as ``\\u001b``-style escapes."""
    return "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") and c != "\u200d"
                   else c for c in str(text))


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$",
                   "%": r"\%", "&": r"\&", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


def latex_text(text: str) -> str:
    """User text as LaTeX text: every special character literal (no ``\\input``)."""
    return "".join(_LATEX_SPECIALS.get(c, c) for c in printable(text))


def markdown_text(text: str) -> str:
    """User text as Markdown: markup and HTML literal."""
    escaped = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + c if c in "\\`*_[](){}#+!|" else c for c in escaped)


# ---------------------------------------------------------------- the expression language


def number_text(value: float) -> str:
    """A number as the expression language writes it: 2, 0.5, 1e-08."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _precedence(t) -> int:
    if isinstance(t, Num):
        return 3 if t.value < 0 else 5
    if isinstance(t, Apply) and t.op in OPS:
        return OPS[t.op].precedence
    return 5


def to_expr(t: Term) -> str:
    """The term in the expression language (Python syntax that ``expr.parse`` reads)."""

    def wrap(u, minimum):
        text = to_expr(u)
        return f"({text})" if _precedence(u) < minimum else text

    if isinstance(t, Name):
        return t.id
    if isinstance(t, Num):
        return number_text(t.value)
    if isinstance(t, Grad):
        return f"grad({t.id})"
    if t.op == IDENTITY:
        return f"eye({t.param('size') or t.param('n')})"
    op = OPS[t.op]
    token, level = op.operator, op.precedence
    params = dict(t.params)
    if op.spelling is not None:
        # a postfix index binds like an atom; an infix comparison brackets another one
        return op.spelling([wrap(a, min(level + 1, 5)) for a in t.args], {**op.params, **params})
    if token is not None and token.startswith(".") and any(params.get(k, v) != v
                                                           for k, v in op.params.items()):
        token = None  # transpose(x, axes=(1, 0, 2)): .T cannot carry the axes
    if token == "**":
        (exponent,) = op.params
        return f"{wrap(t.args[0], 5)} ** {number_text(t.param(exponent).value)}"
    if token in BINARY_SYNTAX and op.arity == 2:
        return f"{wrap(t.args[0], level)} {token} {wrap(t.args[1], level + 1)}"
    if token is not None and token.startswith("."):
        return f"{wrap(t.args[0], 5)}{token}"
    if token is not None:
        return f"{token}{wrap(t.args[0], level)}"
    keywords = [f"{k}={literal_text(v)}" for k, v in t.params  # defaults go without saying
                if v is not None and not (k in op.params and v == op.params[k]
                                          and type(v) is type(op.params[k]))]
    return f"{t.op}({', '.join([*(to_expr(a) for a in t.args), *keywords])})"


# ---------------------------------------------------------------- for people: text and LaTeX

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
# (σ is the sigmoid's: a node named sigma keeps its name)
_GREEK = {"alpha": ("α", r"\alpha"), "beta": ("β", r"\beta"), "gamma": ("γ", r"\gamma"),
          "lam": ("λ", r"\lambda"), "lambda_": ("λ", r"\lambda")}


def _notation(t: Apply, scalars) -> Notation | None:
    op = OPS.get(t.op)
    notation = op.notation if op is not None else None
    if notation is not None and notation.scaled is not None and t.args \
            and is_scalar(t.args[0], Facts(scalars=scalars)):
        return notation.scaled
    return notation


def _level(t, scalars) -> float:
    """How tightly a term binds as written for people (see :class:`~graphviz_bp.ops.Notation`)."""
    if isinstance(t, Grad):
        return 4  # ∂L/∂z is not an atom: (∂L/∂z)ᵀ
    if isinstance(t, Num):
        return 3 if t.value < 0 else 5
    if isinstance(t, Apply):
        notation = _notation(t, scalars)
        return notation.level if notation is not None else 5
    return 5


class _Style:
    """What differs between text and LaTeX: atoms, brackets, and the default notation."""

    def __init__(self, latex: bool):
        self.latex = latex

    def paren(self, text: str) -> str:
        return rf"\left({text}\right)" if self.latex else f"({text})"

    def name(self, name: str, labels: dict | None) -> str:
        return _latex_name(name, labels) if self.latex else _pretty_name(name, labels)

    def atom(self, t, labels) -> str:
        if isinstance(t, Name):
            return self.name(t.id, labels)
        if isinstance(t, Num):
            if self.latex:
                return r"\tfrac{1}{2}" if t.value == 0.5 else number_text(t.value)
            if abs(t.value) == 0.5:
                return "½" if t.value > 0 else "−½"
            return number_text(t.value).replace("-", "−")
        if self.latex:
            return rf"\frac{{\partial L}}{{\partial {self.name(t.id, labels)}}}"
        return f"∂L/∂{self.name(t.id, labels)}"

    def function(self, op: str, args: list[str], size: str | None = None) -> str:
        if op == IDENTITY:  # its size as a subscript, I₃ or I_N: it cannot be told otherwise
            if self.latex:
                return f"I_{{{size}}}"
            return "I" + (size.translate(_SUBSCRIPTS) if size.isdigit() else f"_{size}")
        if self.latex:
            name = op.replace("_", r"\_")
            return rf"\operatorname{{{name}}}\left({', '.join(args)}\right)"
        return f"{op}({', '.join(args)})"


_TEXT, _LATEX = _Style(latex=False), _Style(latex=True)


def _show(t: Term, style: _Style, labels, scalars) -> str:
    if not isinstance(t, Apply):
        return style.atom(t, labels)
    notation = _notation(t, scalars)
    if t.op == IDENTITY:
        return style.function(t.op, [], str(t.param("size") or t.param("n")))
    if notation is None or (not style.latex and _hides_a_parameter(t, notation)):
        keywords = [] if style.latex else _keywords(t)
        return style.function(t.op, [_show(a, style, labels, scalars) for a in t.args] + keywords)
    wraps = notation.latex_wrap if style.latex and notation.latex_wrap is not None else notation.wrap
    args = []
    for i, a in enumerate(t.args):
        text = _show(a, style, labels, scalars)
        minimum = wraps[i] if i < len(wraps) else 0
        args.append(style.paren(text) if _level(a, scalars) < minimum else text)
    params = {k: (v.value if isinstance(v, Num) else v) for k, v in t.params}
    template = notation.latex if style.latex else notation.text
    return template(args, params) if callable(template) else template.format(*args, **params)


def _keywords(t: Apply) -> list[str]:
    """``axis=0`` and the like, for parameters that differ from the op's defaults."""
    op = OPS.get(t.op)
    defaults = op.params if op is not None else {}
    return [f"{k}={literal_text(v)}" for k, v in t.params if k in defaults and v != defaults[k]]


def _hides_a_parameter(t: Apply, notation: Notation) -> bool:
    """Whether the text notation leaves out a parameter that differs from its default
    (softmax along axis 0 is not softmax along the last axis): the function form then."""
    if callable(notation.text):
        return False  # a function of the parameters writes them its own way (Σ_rows, x²)
    return any(f"{{{k.split('=')[0]}}}" not in notation.text for k in _keywords(t))


def to_text(t: Term, labels: dict | None = None, scalars=frozenset()) -> str:
    """The term as a person writes it: W r xᵀ, K⁻¹, ∂L/∂z₂, α D K⁻¹ X, σ(z₁) ⊙ …

    ``scalars`` names the nodes that are numbers, written before what they multiply.
    """
    return _show(t, _TEXT, labels, frozenset(scalars))


def to_latex(t: Term, labels: dict | None = None, scalars=frozenset()) -> str:
    """The term in LaTeX math (standard macros only: \\frac, \\top, \\odot, \\operatorname)."""
    return _show(t, _LATEX, labels, frozenset(scalars))


def _pretty_name(name: str, labels: dict | None) -> str:
    if labels and labels.get(name):
        return printable(labels[name])
    if name in _GREEK:
        return _GREEK[name][0]
    stem = name.rstrip("0123456789")
    if not stem or stem.endswith("_"):  # a generated id such as mul_8 stays as it is
        return name
    return stem + name[len(stem):].translate(_SUBSCRIPTS)


def _latex_name(name: str, labels: dict | None) -> str:
    if name in _GREEK:
        return _GREEK[name][1]
    if name == "Kinv":
        return "K^{-1}"
    stem = name.rstrip("0123456789")
    digits = name[len(stem):]
    if stem.endswith("_"):  # a generated id such as mul_8: no subscript
        stem, digits = stem + digits, ""
    stem = stem.replace("_", r"\_")
    if len(stem) > 1:
        stem = rf"\mathrm{{{stem}}}"
    return f"{stem}_{{{digits}}}" if digits and stem else stem or name
