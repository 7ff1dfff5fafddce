"""Formulas as ``derive`` prints them, read back: students paste them as claims.

:func:`parse_notation` reads :func:`graphviz_bp.printing.to_text`'s notation by recursive
descent (nothing is evaluated) into the :class:`~graphviz_bp.graph.Expr` the expression
language builds. Loosest first: ``+ −``; ``/`` over a factor, beside the expression
language's ``*`` and ``@``; ``⊙`` (``·``); juxtaposition: ``@`` between arrays, and a scalar
factor or ``−`` in front scales all that follows down to ``⊙`` (``α D K⁻¹ X``), as the op
table's levels say; ``**``; postfix ``ᵀ``, ``²``, ``⁰·⁵``, ``⁻¹`` (``inv`` of a square matrix).
Atoms: numbers, ``½``, names (``W₂``, ``α``), ``∂L/∂z₂``, ``(…) |…| ‖…‖² log|…| [… > 0]``,
``𝟙`` and ``I`` (as wide as the arrays they meet), and calls of every op by its name or as
its notation calls it (``σ tr Σ_rows log softmax √``…). Spacing counts only where the
printer's does: ``A −B`` is ``A (−B)``, and ``|a |b||`` opens a second bar.

>>> import numpy as np, graphviz_bp as bp
>>> names = {"W2": bp.param("W2", np.eye(2)), "alpha": bp.const("alpha", 3.0)}
>>> float(bp.engine.value_of(parse_notation("½ α ‖W₂ − I‖² + tr(W₂ᵀ W₂)", names)))
2.0
"""

from __future__ import annotations

import math
import unicodedata
from typing import Callable, NamedTuple

import numpy as np

from .errors import GraphvizBPError, did_you_mean
from .expr import MAX_EXPONENT, MAX_EYE, MAX_LENGTH, ExpressionError, _excerpt
from .graph import FUNCTIONS, Expr, apply, as_expr
from .ops import OPS, operator_op

__all__ = ["parse_notation", "spellings"]

_SUBSCRIPTS, _SUPERSCRIPTS, _DIGITS = "₀₁₂₃₄₅₆₇₈₉", "⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789"
_SYMBOLS = {**dict(zip("−-+/@*⊙·⋅ᵀ⊤()[],=>|‖∂√𝟙", "−−+/@*⊙⊙⊙ᵀᵀ()[],=>|‖∂√𝟙")), ".T": "ᵀ", "**": "**"}
_OPENERS = "([∂√𝟙|‖"  # they begin an operand, as numbers and words do
_GREEK = {"λ": ("lam", "lambda_")}
_EXPONENT = str.maketrans(_SUPERSCRIPTS + "⁻·", _DIGITS + "-.")
_LEVELS = ({"+": "+", "−": "-"}, {"/": "/", "*": "*", "@": "@"}, {"⊙": "*"})  # → the token


class _Token(NamedTuple):
    kind: str        # num, word, sup (a superscript exponent), sym, end
    text: str        # a symbol by its meaning: − for - and −, ⊙ for ·, ᵀ for .T
    start: int
    end: int
    value: float = 0.0
    sign: bool = False  # −, | or ‖ with a space before and none after: it begins an operand


def _is_greek(c: str) -> bool:
    return "\u0370" <= c <= "\u03ff" and c.isalpha() and c != "Σ"


def _in_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_") or c in _SUBSCRIPTS


def _skip(text: str, i: int, ok: Callable[[str], bool]) -> int:
    while i < len(text) and ok(text[i]):
        i += 1
    return i


def _tokens(text: str) -> list[_Token]:
    tokens, i, n = [], 0, len(text)
    while (i := _skip(text, i, str.isspace)) < n:
        c, after, kind, value = text[i], text[i + 1:i + 2], "sym", 0.0
        if c in _DIGITS or c == "." and after in tuple(_DIGITS):
            if text[i:(end := _skip(text, i, lambda d: d in _DIGITS + "."))].count(".") > 1:
                raise _error(f"malformed number {text[i:end]!r}", text, i, end)
            sign = end + 1 + (text[end + 1:end + 2] in ("+", "-", "−"))
            if text[end:end + 1] in ("e", "E") and text[sign:sign + 1] in tuple(_DIGITS):
                end = _skip(text, sign, lambda d: d in _DIGITS)
            kind, value = "num", float(text[i:end].replace("−", "-"))
        elif c == "½":
            kind, end, value = "num", i + 1, 0.5
        elif _is_greek(c):  # one letter, perhaps with an index: α, α₂
            kind, end = "word", _skip(text, i + 1, lambda d: d in _SUBSCRIPTS)
        elif c.isascii() and (c.isalpha() or c == "_") or c == "Σ":
            kind, end = "word", _skip(text, i + 1, _in_word) if c != "Σ" or after == "_" else i + 1
            if text[i:end].endswith("_axis") and text[end:end + 1] in ("-", "−"):
                end = _skip(text, end + 1, lambda d: d in _DIGITS)  # Σ_axis-1
        elif c in _SUPERSCRIPTS + "⁻":
            kind, end = "sup", _skip(text, i + 1, lambda d: d in _SUPERSCRIPTS)
            if text[end:end + 1] == "·" and text[end + 1:end + 2] in tuple(_SUPERSCRIPTS):
                end = _skip(text, end + 1, lambda d: d in _SUPERSCRIPTS)  # ⁰·⁵
        elif text.startswith("**", i) or c == "." and after == "T" and not _in_word(text[i + 2:i + 3] or " "):
            end = i + 2
        elif c in _SYMBOLS:
            end = i + 1
        else:
            raise _error(f"unexpected character {c!r}", text, i)
        word = _SYMBOLS[text[i:end]] if kind == "sym" else text[i:end]
        sign = c in "−|‖" and text[i - 1:i].isspace() and end < n and not text[end].isspace()
        tokens.append(_Token(kind, word, i, end, value, sign))
        i = end
    return tokens + [_Token("end", "", n, n)]


def _error(message: str, text: str, start: int, end: int | None = None) -> ExpressionError:
    # one line, as the expression language says it: what, the column, the text there
    return ExpressionError(f"{message} at column {start + 1}: {_excerpt(text[start:end].strip() or text)}")


def spellings() -> dict:
    """Called names → (op, fixed params, whether the printed call shows every argument)."""
    table = {name: (name, {}, True) for name in OPS}
    for name, op in OPS.items():
        template, marks = getattr(op.notation, "text", None), [f"{{{i}}}" for i in range(op.arity)]
        for fixed in [{}] + ([{"axis": k} for k in range(-3, 4)] if "axis" in op.params else []):
            try:
                params = {**op.params, **fixed}
                shown = template(marks, params) if callable(template) else template.format(*marks, **params)
            except Exception:  # no notation, or one that needs real arguments: not a call
                continue
            head, paren, rest = shown.partition("(")
            if paren and rest.endswith(")") and head and "{" not in head and head.strip() == head \
                    and (head not in table or head == name and not fixed):
                table[head] = (name, fixed, rest[:-1] == ", ".join(marks))
    return table


def _candidates(word: str) -> list[str]:
    """The names a written word may stand for: W₂ → W2; α → alpha; λ → lam, lambda_."""
    plain = word.translate(str.maketrans(_SUBSCRIPTS, _DIGITS))
    if not _is_greek(word[0]) or word[0] == "σ":  # σ is the sigmoid's: printing keeps "sigma"
        return [plain]
    letter = unicodedata.name(word[0]).split()[-1].lower()
    letter = letter if word[0].islower() else letter.capitalize()
    return [w + plain[1:] for w in (*_GREEK.get(word[0], ()), letter)] + [plain]


class _Like(NamedTuple):  # 𝟙 or I and the elementwise ops around them, waiting for a shape
    kind: str
    make: Callable[[Expr], Expr]  # the value, for an array like ``like``
    like: Expr | None = None  # the broadcast of the arrays among them, None while there is none


def _eye_like(like: Expr) -> Expr:
    if len(like.shape) != 2 or like.shape[0] != like.shape[1]:
        raise GraphvizBPError(f"I meets shape {like.shape}, not a square matrix")
    return FUNCTIONS["eye"](like.shape[0])


def _scalar(v) -> bool:
    return isinstance(v, float) or isinstance(v, Expr) and v.shape == ()


def _size(v):  # a number, or the number a constant scalar name stands for: eye(N), axis=k
    return float(v.value) if isinstance(v, Expr) and v.kind == "const" and v.shape == () else v


class _Parser:
    def __init__(self, text: str, names: dict, grads: dict | None):
        self.text, self.names, self.grads = text, names, grads
        self.tokens, self.i, self.open, self.calls = _tokens(text), 0, [], spellings()

    def peek(self, k: int = 0) -> _Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def at(self, text: str, k: int = 0) -> bool:
        return self.peek(k).kind == "sym" and self.peek(k).text == text

    def take(self) -> _Token:
        t, self.i = self.peek(), self.i + (self.peek().kind != "end")
        return t

    def end(self) -> int:
        return self.tokens[self.i - 1].end if self.i else 0

    def fail(self, message: str, start: int, end: int | None = None):
        raise _error(message, self.text, start, end)

    def expect(self, text: str, opened: _Token | None = None) -> _Token:
        if not self.at(text):
            t, where = self.peek(), opened and f" to close the {opened.text!r} of column {opened.start + 1}"
            self.fail(f"expected {text!r}{where or ''}, found {repr(t.text) if t.text else 'the end'}", t.start)
        return self.take()

    def begins_operand(self) -> bool:  # a bar closes its group unless written as a sign: |a |b||
        t = self.peek()
        return t.kind in ("num", "word") or t.sign and t.text == "−" or t.kind == "sym" and t.text in _OPENERS \
            and (t.text not in "|‖" or not self.open or self.open[-1] != t.text or t.sign)

    def build(self, make: Callable, start: int, end: int):  # what the graph refuses, said at its text
        try:
            return make()
        except GraphvizBPError as err:
            self.fail(str(getattr(err, "detail", None) or err), start, end)

    def op(self, opname: str, start: int, *args, **params):  # of numbers, Exprs, 𝟙 or I waiting
        end, op, likes = self.end(), OPS.get(opname), [a for a in args if isinstance(a, _Like)]
        if all(isinstance(a, float) for a in args) and (op.elementwise or opname == "transpose"):
            with np.errstate(all="ignore"):
                value = float(op.forward(*map(np.float64, args), **params))
            return value if math.isfinite(value) else self.fail("cannot compute this number", start, end)
        if likes and (opname in ("transpose", "inv") or op.elementwise):  # the wait goes on
            kind = "I" if any(a.kind == "I" for a in likes) else "𝟙"
            arrays = [a.like if isinstance(a, _Like) else a for a in args]
            shapes, like = [a.shape if isinstance(a, Expr) else () for a in arrays], None
            if any(shapes):
                shape = tuple(self.build(lambda: op.shape(*shapes, **{**op.params, **params}), start, end))
                like = next((a for a, s in zip(arrays, shapes) if s == shape), None)
                like = as_expr(np.zeros(shape)) if like is None else like
            if opname == "transpose":
                return _Like(kind, lambda x: apply(opname, likes[0].make(apply(opname, x))), like)
            return _Like(kind, lambda x: apply(opname, *(a.make(x) if isinstance(a, _Like) else a
                                                         for a in args), **params), like)
        if likes and opname == "matmul" and likes[0].like is None and likes[0].kind == "I" \
                and not _scalar(args[args[0] is likes[0]]):  # A I, I A: I as wide as A
            other = args[args[0] is likes[0]]
            args = [a.make(FUNCTIONS["eye"](other.shape[0 if a is args[0] else -1]))
                    if isinstance(a, _Like) else a for a in args]
        args = [self.shaped(a, start, end) for a in args]
        return self.build(lambda: apply(opname, *args, **params), start, end)

    def shaped(self, value, start: int, end: int | None = None):  # 𝟙 or I, as wide as their arrays
        if isinstance(value, _Like) and value.like is None:
            self.fail(f"the shape of {value.kind} cannot be told here: write "
                      f"{'eye(n)' if value.kind == 'I' else 'ones_like(x)'}", start, end)
        return self.build(lambda: value.make(value.like), start, end) if isinstance(value, _Like) else value

    def infix(self, level: int = 0):  # + −; then / * @ (a factor below /); then ⊙; then juxtaposition
        start, value = self.peek().start, self.infix(level + 1) if level < 2 else self.juxtaposed()
        while self.peek().kind == "sym" and self.peek().text in _LEVELS[level]:
            token = _LEVELS[level][self.take().text]
            right = self.unary() if token == "/" else self.infix(level + 1) if level < 2 else self.juxtaposed()
            value = self.op(operator_op(token, 2).name, start, value, right)
            if token == "/" and (self.begins_operand() or self.at("⊙")):
                self.fail("ambiguous after a quotient: write (a / b) c or a / (b c)", self.peek().start)
        return value

    def juxtaposed(self):  # W x y; a scalar factor scales all that follows down to ⊙ (2.5 over 2.2)
        start, value = self.peek().start, self.unary()
        while self.begins_operand():
            if _scalar(value):
                return self.op("mul", start, value, self.infix(2))
            where = self.peek().start
            if self.at("−"):  # A −B …: the minus of a factor inside a product
                self.take()
                right = self.op(operator_op("-", 1).name, where, self.inside_product(where))
            else:
                right = self.unary()
                if _scalar(right) and self.begins_operand():
                    right = self.op("mul", where, right, self.inside_product(where))
            value = self.op("mul" if _scalar(right) else "matmul", start, value, right)
        return value

    def inside_product(self, where: int):
        """What a number or a minus inside a product scales: up to a ⊙, which would leave it
        unclear how far it reaches (A 2 B ⊙ E), so that is refused rather than guessed."""
        rest = self.juxtaposed()
        if self.at("⊙"):
            self.fail("a number or − inside a product before ⊙ is ambiguous: bracket what it "
                      "scales, as A (2 B) ⊙ E or A (2 B ⊙ E)", where, self.end())
        return rest

    def unary(self):  # −X negates all that follows down to ⊙ (level 3 over 2.2); then powers, ᵀ
        if self.at("+") or self.at("−"):
            t, operand = self.take(), self.infix(2)
            return operand if t.text == "+" else self.op(operator_op("-", 1).name, t.start, operand)
        start, value = self.peek().start, self.primary()
        while self.peek().kind == "sup" or self.at("ᵀ"):
            t = self.take()
            p = t.text.translate(_EXPONENT)
            if t.text != "ᵀ" and p.lstrip("-")[:1] not in tuple(_DIGITS):
                self.fail(f"malformed exponent {t.text!r}", t.start, t.end)
            value = self.op("transpose", start, value) if t.text == "ᵀ" else self.power(value, float(p), start)
        if self.at("**") and self.take():
            where, exponent = self.peek().start, self.unary()
            value = self.power(value, exponent if isinstance(exponent, float) else self.fail(
                "the exponent of ** must be a number", where), start)
        return value

    def power(self, value, p: float, start: int):
        if abs(p) > MAX_EXPONENT:
            self.fail(f"exponent larger than {MAX_EXPONENT}", start, self.end())
        if p == -1 and (isinstance(value, _Like) and value.kind == "I" or isinstance(value, Expr)
                        and len(value.shape) == 2 and value.shape[0] == value.shape[1]):
            return self.op("inv", start, value)  # K⁻¹ of a square matrix: its inverse
        return self.op("pow", start, value, p=p)

    def primary(self):
        t = self.take()
        if t.kind == "num":
            return t.value if math.isfinite(t.value) else self.fail("number too large", t.start, t.end)
        if t.kind == "word":
            return self.word(t)
        if t.text in ("(", "|", "‖", "["):
            inner = self.group(t, {"(": ")", "[": ">"}.get(t.text, t.text))
            if t.text == "[":
                zero = self.take()
                if zero.kind != "num" or zero.value != 0 or not self.expect("]", t):
                    self.fail("a step is written [a > 0]", zero.start)
                return self.op("step", t.start, inner)
            if t.text != "‖":
                return inner if t.text == "(" else self.op("abs", t.start, inner)
            square = self.peek()  # ‖a‖²; in ‖a‖²², the second ² is a power
            if square.kind != "sup" or not square.text.startswith("²"):
                self.fail("‖…‖ is written ‖…‖² (sumsq)", t.start, self.end())
            self.tokens[self.i] = square._replace(text=square.text[1:], start=square.start + 1)
            self.i += len(square.text) == 1
            return self.op("sumsq", t.start, inner)
        if t.text == "∂":
            return self.gradient(t)
        if t.text in ("√", "𝟙") and self.at("("):
            return self.call("sqrt" if t.text == "√" else "ones_like", {}, True, t)
        if t.text == "𝟙":
            return _Like("𝟙", lambda like: apply("ones_like", like))
        self.fail("√ takes brackets: √(…)" if t.text == "√" else "expected a name, a number or a "
                  f"bracket, found {repr(t.text) if t.text else 'the end'}", t.start)

    def group(self, opened: _Token, closer: str):
        self.open.append(opened.text)
        inner = self.infix()
        self.expect(closer, opened)
        self.open.pop()
        return inner

    def word(self, t: _Token):
        w, two, candidates = t.text, f"{t.text} {self.peek().text}", _candidates(t.text)
        named = next((self.names[c] for c in candidates if c in self.names), None)
        if w == "log" and self.at("|"):
            return self.op("logdet", t.start, self.group(self.take(), "|"))
        if self.peek().kind == "word" and two in self.calls and self.at("(", 1) and self.take():
            return self.call(*self.calls[two], t)  # log softmax(…)
        if self.at("(") and not (named is not None and _is_greek(w[0])):  # σ(…) unless σ is a name
            if w in ("grad", "eye") or w in self.calls:
                return self.gradient(t) if w == "grad" else self.call(*self.calls.get(w, ("eye", {}, 1)), t)
            if named is None:
                hint = did_you_mean(w, [*self.calls, "grad", "eye"])
                self.fail(f"unknown function {w!r}{hint}", t.start, t.end)
        if named is not None:
            return named
        if w == "I":
            return _Like("I", _eye_like)
        if w[0] == "I" and w[1:] and set(w[1:]) <= set(_SUBSCRIPTS) and 0 < int(candidates[0][1:]) <= MAX_EYE:
            return FUNCTIONS["eye"](int(candidates[0][1:]))  # I₃
        size = self.names.get(w[2:]) if w.startswith("I_") else None
        if isinstance(size, Expr) and size.kind == "const" and size.shape == () \
                and float(size.value).is_integer() and 0 < size.value <= MAX_EYE:
            return FUNCTIONS["eye"](int(size.value))  # I_N: the identity of a named size
        if w in self.calls or w in FUNCTIONS:
            self.fail(f"{w} is a function: call it, as {w}(…)", t.start, t.end)
        self.fail(f"unknown name {w!r}{did_you_mean(candidates[0], self.names)}", t.start, t.end)

    def gradient(self, t: _Token):  # ∂L/∂NAME or grad(NAME): grads[NAME]; ∂L/∂K⁻¹ is Kinv
        opened = self.expect("(") if t.text == "grad" else None
        if opened is None and [self.take().text, self.take().text, self.take().text] != ["L", "/", "∂"] \
                or self.peek().kind != "word":
            self.fail("a gradient is written ∂L/∂NAME or grad(NAME)", t.start, self.end() + 1)
        if self.grads is None:
            self.fail("∂L/∂… and grad(…) are only available in claims", t.start, self.end() + 1)
        node, names = self.peek(), _candidates(self.take().text)
        if self.peek().text == "⁻¹" and opened is None and any(n + "inv" in self.grads for n in names) \
                and self.take():
            names = [n + "inv" for n in names]
        found = next((n for n in names if n in self.grads), None)
        if found is None:
            self.fail(f"no gradient at {node.text!r}{did_you_mean(names[0], self.grads)}", node.start, node.end)
        if self.peek().kind == "sup" and opened is None:
            self.fail("write (∂L/∂x)² for a power of a gradient", self.peek().start)
        return self.grads[found] if opened is None or self.expect(")", opened) else None

    def call(self, opname: str, fixed: dict, complete, t: _Token):  # name(a, b, axis=k); eye(n)
        opened, args, keywords = self.expect("("), [], {}
        self.open.append("(")
        while not self.at(")"):
            if self.peek().kind == "word" and self.at("=", 1):
                key, where = self.take(), self.take().end
                value = _size(self.unary())
                keywords[key.text] = value if isinstance(value, float) else self.fail("not a number", where)
            else:
                args.append(self.infix())
            if not self.at(","):
                break
            self.take()
        self.expect(")", opened)
        self.open.pop()
        if opname == "eye":
            n = _size(args[0]) if len(args) == 1 and not keywords else None
            if not isinstance(n, float) or not n.is_integer() or not 1 <= n <= MAX_EYE:
                self.fail(f"eye takes one integer 1 <= n <= {MAX_EYE}, as eye(3)", t.start, self.end())
            return FUNCTIONS["eye"](int(n))
        op, params = OPS[opname], dict(fixed)
        for key, value in keywords.items():
            if key not in op.params or key != "p" and not value.is_integer():
                self.fail(f"{opname} takes no keyword {key}={value:g}", t.start, self.end())
            params[key] = value if key == "p" else int(value)
        if len(args) != op.arity:
            shown = "" if complete else f"; {t.text}(…) as printed leaves an argument out"
            self.fail(f"{opname} takes {op.arity} argument(s), got {len(args)}{shown}", t.start, self.end())
        return self.op(opname, t.start, *args, **params)


def parse_notation(text: str, names: dict, grads: dict | None = None) -> Expr:
    """The :class:`Expr` of a formula as :func:`~graphviz_bp.printing.to_text` writes it;
    ``names`` and ``grads`` as for :func:`graphviz_bp.expr.parse`. Raises :class:`ExpressionError`:
    one line naming what was not understood, its column and the text there."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    parser = _Parser(text, names, grads)
    try:
        result, t = parser.infix(), parser.peek()
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
    if t.kind != "end":
        parser.fail(f"unmatched {t.text!r}" if t.text in ")]|‖" else f"unexpected {t.text!r}", t.start)
    result = parser.shaped(result, 0)
    if not isinstance(result, Expr) and grads is None:
        parser.fail("the expression is a plain number", 0)
    return as_expr(result)
