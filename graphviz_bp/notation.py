"""Formulas as ``derive`` prints them, read back: students paste them as claims.

:func:`parse_notation` reads :func:`graphviz_bp.printing.to_text`'s notation by recursive
descent (nothing is evaluated) into the :class:`~graphviz_bp.graph.Expr` the expression
language builds. Loosest first: ``+ −``; ``/`` over a factor, beside the expression
language's ``*`` and ``@``; ``⊙`` (``·``); juxtaposition: ``@`` between arrays, and a scalar
factor or ``−`` in front scales all that follows down to ``⊙`` (``α D K⁻¹ X``), as the op
table's levels say; ``**``; postfix ``ᵀ``, ``²``, ``⁰·⁵``, ``⁻¹`` (``inv`` of a square matrix).
Atoms: numbers, ``½``, names (``W₂``, ``α``), ``∂L/∂z₂``, ``(…) |…| ‖…‖² log|…|``, masks
``[a > b]`` (``≥ < ≤ = ≠`` too), an index ``x[:, 1:3]``, ``(g at x[:, 1:3], else 0)``,
``𝟙`` and ``I`` (as wide as the arrays they meet), and calls of every op by its name or as
its notation calls it (``σ tr Σ_rows log softmax √``…), with keywords as the expression
language writes them (``axis=(0, 2)``, ``keepdims=True``). Spacing counts only where the
printer's does: ``A −B`` is ``A (−B)``, and ``|a |b||`` opens a second bar.

>>> import numpy as np, graphviz_bp as bp
>>> names = {"W2": bp.param("W2", np.eye(2)), "alpha": bp.const("alpha", 3.0)}
>>> float(bp.engine.value_of(parse_notation("½ α ‖W₂ − I‖² + tr(W₂ᵀ W₂)", names)))
2.0
"""

from __future__ import annotations

import ast
import math
import unicodedata
from typing import Callable, NamedTuple

import numpy as np

from .errors import GraphvizBPError, did_you_mean
from .expr import MAX_EXPONENT, MAX_EYE, MAX_LENGTH, ExpressionError
from .graph import FUNCTIONS, Expr, apply, as_expr
from .literals import LiteralError, read_index, read_literal
from .notation_tokens import (DIGITS, EXPONENT, GREEK, LEVELS, OPENERS, SUBSCRIPTS, TESTS, Token,
                              is_greek, notation_error, tokens)
from .ops import OPS, operator_op

__all__ = ["parse_notation", "spellings"]

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
    plain = word.translate(str.maketrans(SUBSCRIPTS, DIGITS))
    if not is_greek(word[0]) or word[0] == "σ":  # σ is the sigmoid's: printing keeps "sigma"
        return [plain]
    letter = unicodedata.name(word[0]).split()[-1].lower()
    letter = letter if word[0].islower() else letter.capitalize()
    return [w + plain[1:] for w in (*GREEK.get(word[0], ()), letter)] + [plain]


class _Like(NamedTuple):  # 𝟙 or I and the elementwise ops around them, waiting for a shape
    kind: str
    make: Callable[[Expr], Expr]  # the value, for an array like ``like``
    like: Expr | None = None  # the broadcast of the arrays among them, None while there is none


def _expanding(inner: _Like, axis) -> Callable[[Expr], Expr]:
    """expand(𝟙…, axis) met by an array like x: the 𝟙 is shaped as x without the new axes."""
    def make(like: Expr) -> Expr:
        rank = len(like.shape)
        new = {k % rank for k in (axis if isinstance(axis, tuple) else (axis,))}
        shape = tuple(n for k, n in enumerate(like.shape) if k not in new)
        return apply("expand", inner.make(as_expr(np.zeros(shape))), axis=axis)
    return make


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
        self.tokens, self.i, self.open, self.calls = tokens(text), 0, [], spellings()

    def peek(self, k: int = 0) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def at(self, text: str, k: int = 0) -> bool:
        return self.peek(k).kind == "sym" and self.peek(k).text == text

    def take(self) -> Token:
        t, self.i = self.peek(), self.i + (self.peek().kind != "end")
        return t

    def end(self) -> int:
        return self.tokens[self.i - 1].end if self.i else 0

    def fail(self, message: str, start: int, end: int | None = None):
        raise notation_error(message, self.text, start, end)

    def expect(self, text: str, opened: Token | None = None) -> Token:
        if not self.at(text):
            t, where = self.peek(), opened and f" to close the {opened.text!r} of column {opened.start + 1}"
            self.fail(f"expected {text!r}{where or ''}, found {repr(t.text) if t.text else 'the end'}", t.start)
        return self.take()

    def begins_operand(self) -> bool:  # a bar closes its group unless written as a sign: |a |b||
        t = self.peek()
        if t.kind == "word" and t.text == "at" and self.open[-1:] == ["(at"]:
            return False  # (g at x[…], else 0): "at" ends g
        return t.kind in ("num", "word") or t.sign and t.text == "−" or t.kind == "sym" and t.text in OPENERS \
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
        if likes and opname == "expand" and likes[0].like is None and params.get("axis") is not None:
            return _Like(likes[0].kind, _expanding(likes[0], params["axis"]))  # expand(𝟙 / N, axis=1)
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

    def comparison(self):  # a <= b, as the expression language writes a mask
        start, value = self.peek().start, self.infix()
        if self.peek().kind == "sym" and self.peek().text in TESTS:
            test = TESTS[self.take().text]
            value = self.op("compare", start, value, self.infix(), test=test)
        return value

    def infix(self, level: int = 0):  # + −; then / * @ (a factor below /); then ⊙; then juxtaposition
        start, value = self.peek().start, self.infix(level + 1) if level < 2 else self.juxtaposed()
        while self.peek().kind == "sym" and self.peek().text in LEVELS[level]:
            token = LEVELS[level][self.take().text]
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
        while self.at("[") and self.peek().start == self.end():  # x[…] with no space: an index
            value = self.subscript(value, start)
        while self.peek().kind == "sup" or self.at("ᵀ"):
            t = self.take()
            p = t.text.translate(EXPONENT)
            if t.text != "ᵀ" and p.lstrip("-")[:1] not in tuple(DIGITS):
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
        if t.text == "[":
            return self.mask(t)
        if t.text == "(" and self.placed_ahead():
            return self.placed(t)
        if t.text in ("(", "|", "‖"):
            inner = self.group(t, t.text if t.text != "(" else ")")
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

    def mask(self, opened: Token):  # [a > b]: 1 where it holds; [a > 0] is ReLU's step
        self.open.append("[")
        left = self.infix()
        test = self.take()
        if test.kind != "sym" or test.text not in TESTS:
            self.fail("a mask is written [a > b] (or ≥ < ≤ = ≠)", test.start)
        right = self.infix()
        self.expect("]", opened)
        self.open.pop()
        if test.text == ">" and isinstance(right, float) and right == 0:
            return self.op("step", opened.start, left)
        return self.op("compare", opened.start, left, right, test=TESTS[test.text])

    def placed_ahead(self) -> bool:  # "(g at x[…], else 0)": a word "at" at this bracket's depth
        depth = 0
        for t in self.tokens[self.i:]:
            depth += t.text in ("(", "[") and t.kind == "sym"
            depth -= t.text in (")", "]") and t.kind == "sym"
            if depth < 0 or t.kind == "end":
                return False
            if depth == 0 and t.kind == "word" and t.text == "at":
                return True
        return False

    def placed(self, opened: Token):  # (g at x[:, 1:3], else 0): g in zeros shaped like x
        self.open.append("(at")
        inner = self.infix()
        self.take()  # at
        where = self.peek().start
        target = self.unary()
        if not isinstance(target, Expr) or target.op != "getitem":
            self.fail("written (g at x[index], else 0)", where, self.end())
        self.expect(",")
        if self.take().text != "else" or self.take().value != 0:
            self.fail("written (g at x[index], else 0)", opened.start, self.end())
        self.expect(")", opened)
        self.open.pop()
        array, index = target.args[0], target.params["index"]
        return self.op("unindex", opened.start, inner, array, index=index)

    def subscript(self, value, start: int):  # x[:, 1:3] written against its array
        opened = self.take()
        depth, first = 1, self.i
        while depth and self.peek().kind != "end":
            t = self.take()
            depth += t.kind == "sym" and t.text == "["
            depth -= t.kind == "sym" and t.text == "]"
        if depth:
            self.fail("expected ']' to close the index", opened.start)
        raw = self.text[self.tokens[first].start:self.tokens[self.i - 1].start]
        try:
            index = read_index(ast.parse(f"x[{raw}]", mode="eval").body.slice)
        except (SyntaxError, LiteralError, ValueError):
            self.fail("an index is written with integers, slices, None and ...", opened.start, self.end())
        return self.op("getitem", start, value, index=index)

    def literal(self, where: int):  # a keyword's value as the expression language writes it
        depth, first = 0, self.i
        while self.peek().kind != "end" and not (depth == 0 and (self.at(",") or self.at(")"))):
            t = self.take()
            depth += t.kind == "sym" and t.text in "(["
            depth -= t.kind == "sym" and t.text in ")]"
        raw = self.text[self.tokens[first].start:self.peek().start].strip()
        try:
            return read_literal(ast.parse(raw.replace("−", "-"), mode="eval").body)
        except (SyntaxError, LiteralError, ValueError):
            self.i = first  # a size by name: axis=N
            value = _size(self.unary())
            return value if isinstance(value, float) else self.fail("not a number", where)

    def group(self, opened: Token, closer: str):
        self.open.append(opened.text)
        inner = self.comparison()
        self.expect(closer, opened)
        self.open.pop()
        return inner

    def word(self, t: Token):
        w, two, candidates = t.text, f"{t.text} {self.peek().text}", _candidates(t.text)
        named = next((self.names[c] for c in candidates if c in self.names), None)
        if w == "log" and self.at("|"):
            return self.op("logdet", t.start, self.group(self.take(), "|"))
        if self.peek().kind == "word" and two in self.calls and self.at("(", 1) and self.take():
            return self.call(*self.calls[two], t)  # log softmax(…)
        if self.at("(") and not (named is not None and is_greek(w[0])):  # σ(…) unless σ is a name
            if w in ("grad", "eye") or w in self.calls:
                return self.gradient(t) if w == "grad" else self.call(*self.calls.get(w, ("eye", {}, 1)), t)
            if named is None:
                hint = did_you_mean(w, [*self.calls, "grad", "eye"])
                self.fail(f"unknown function {w!r}{hint}", t.start, t.end)
        if named is not None:
            return named
        if w == "I":
            return _Like("I", _eye_like)
        if w[0] == "I" and w[1:] and set(w[1:]) <= set(SUBSCRIPTS) and 0 < int(candidates[0][1:]) <= MAX_EYE:
            return FUNCTIONS["eye"](int(candidates[0][1:]))  # I₃
        size = self.names.get(w[2:]) if w.startswith("I_") else None
        if isinstance(size, Expr) and size.kind == "const" and size.shape == () \
                and float(size.value).is_integer() and 0 < size.value <= MAX_EYE:
            return FUNCTIONS["eye"](int(size.value))  # I_N: the identity of a named size
        if w in self.calls or w in FUNCTIONS:
            self.fail(f"{w} is a function: call it, as {w}(…)", t.start, t.end)
        self.fail(f"unknown name {w!r}{did_you_mean(candidates[0], self.names)}", t.start, t.end)

    def gradient(self, t: Token):  # ∂L/∂NAME or grad(NAME): grads[NAME]; ∂L/∂K⁻¹ is Kinv
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

    def call(self, opname: str, fixed: dict, complete, t: Token):  # name(a, b, axis=k); eye(n)
        opened, args, keywords = self.expect("("), [], {}
        self.open.append("(")
        while not self.at(")"):
            if self.peek().kind == "word" and self.at("=", 1):
                key, where = self.take(), self.take().end
                keywords[key.text] = self.literal(where)
            else:
                args.append(self.comparison())
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
            if key not in op.params:
                self.fail(f"{opname} takes no keyword {key}={value!r}", t.start, self.end())
            whole = isinstance(value, float) and value.is_integer() and key != "p"
            params[key] = int(value) if whole else value
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
        result, t = parser.comparison(), parser.peek()
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
    if t.kind != "end":
        parser.fail(f"unmatched {t.text!r}" if t.text in ")]|‖" else f"unexpected {t.text!r}", t.start)
    result = parser.shaped(result, 0)
    if not isinstance(result, Expr) and grads is None:
        parser.fail("the expression is a plain number", 0)
    return as_expr(result)
