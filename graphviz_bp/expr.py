"""The expression language of ``--expr`` and ``--claim``: Python syntax, parsed, never run.

An expression is parsed with :mod:`ast` and only these forms become graph operations;
anything else is refused with a message that quotes the offending part:

- numbers (``2``, ``0.5``, ``1e-3``), names of leaves and named nodes, parentheses;
- ``a + b``, ``a - b``, ``a * b`` (elementwise), ``a / b``, ``a @ b``, ``-a``, ``+a``,
  ``a ** p`` for a number ``p`` (``-1``, ``0.5`` …), and ``a.T``;
- calls of the functions of :data:`graphviz_bp.graph.FUNCTIONS` (``sumsq(r)``,
  ``logdet(K)``, ``softmax_ce(z2, y, axis=0)``, ``eye(3)`` …) with positional arguments
  and, for the functions that have one, ``axis=<integer>``;
- in claims only, ``grad(NAME)``: backprop's gradient at node ``NAME``.

>>> import numpy as np, graphviz_bp as bp
>>> W = bp.param("W", np.eye(2))
>>> parse("0.5 * sumsq(W.T @ W - eye(2))", {"W": W}).shape
()
>>> parse("W.__class__", {"W": W})
Traceback (most recent call last):
...
graphviz_bp.expr.ExpressionError: only .T is allowed after an expression, not '.__class__' at column 1: W.__class__
"""

from __future__ import annotations

import ast
import math
import numbers
import textwrap
import warnings

from .arrays import COMPOSITE_PARAMS, index
from .errors import GraphvizBPError, NameConflictError, ShapeError, did_you_mean
from .graph import FUNCTIONS, Expr, apply, as_expr
from .literals import COMPARISONS, LiteralError, read_index, read_literal
from .ops import BINARY_SYNTAX, OPS, operator_op

__all__ = ["parse", "ExpressionError", "MAX_LENGTH", "MAX_EXPONENT", "MAX_EYE"]

#: Longest expression accepted, in characters.
MAX_LENGTH = 10_000
#: Largest |p| in ``a ** p``.
MAX_EXPONENT = 1_000
#: Largest n in ``eye(n)`` and ``arange(n)``.
MAX_EYE = 5_000

_TOKENS = {syntax[0]: token for token, syntax in BINARY_SYNTAX.items()}


class ExpressionError(GraphvizBPError, ValueError):
    """An expression that is not in the language (the message quotes where)."""


class _Builder:
    def __init__(self, text: str, names: dict, grads: dict | None):
        self.text, self.names, self.grads = text, names, grads
        self.defined: set[str] = set()  # the names the statements give

    def where(self, node: ast.AST) -> str:
        part = ast.get_source_segment(self.text, node) or self.text
        line = f" line {node.lineno}," if "\n" in self.text and hasattr(node, "lineno") else ""
        column = getattr(node, "col_offset", 0)
        return f" at{line} column {column + 1}: {_excerpt(part)}"

    def run(self, statements: list) -> Expr | float:
        """Statements ``name = expression`` (one per line or separated by ``;``), each
        naming a node; the last one, or a bare expression after them, is the result."""
        result = None
        for number, statement in enumerate(statements, start=1):
            if isinstance(statement, ast.Expr):
                if number < len(statements):
                    self.fail("only the last statement may be a bare expression; name the "
                              "others (h = …)", statement)
                result = self.build(statement.value)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                result = self.assign(statement.targets[0], self.build(statement.value))
            else:
                self.fail(f"{_describe(statement)} is not allowed: a statement is name = expression",
                          statement)
        if isinstance(result, list):
            self.fail("split(…) gives several parts: name them (i, f, o, g = split(…))", statements[-1])
        return result

    def assign(self, target: ast.AST, value):
        if isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(t, ast.Name) for t in target.elts):
            parts = value if isinstance(value, list) else None
            if isinstance(value, Expr) and value.shape and value.shape[0] == len(target.elts):
                parts = list(value)
            if parts is None or len(parts) != len(target.elts):
                self.fail(f"{len(target.elts)} names for "
                          + (f"{len(parts)} parts" if parts is not None else "one value"), target)
            for name, part in zip(target.elts, parts):
                self.assign(name, part)
            return parts
        if not isinstance(target, ast.Name):
            self.fail("only names can be assigned (h = …, or i, f, o, g = split(…))", target)
        name = target.id
        if name in self.names:
            what = "is a leaf of the loss" if name not in self.defined else "is assigned twice"
            self.fail(f"{name!r} {what}; give each value its own name (h1, h2, …)", target)
        if name in FUNCTIONS or name == "grad":
            self.fail(f"{name!r} is a function of the language; choose another name", target)
        if isinstance(value, Expr) and value.name is None:
            try:
                value.named(name)
            except NameConflictError as err:
                self.fail(str(err), target)
        self.names[name] = value
        self.defined.add(name)
        return value

    def fail(self, message: str, node: ast.AST):
        raise ExpressionError(message + self.where(node))

    def build(self, node: ast.AST) -> Expr | float:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            self.fail(f"{_describe(node)} is not allowed", node)
        try:
            return method(node)
        except ShapeError as err:
            detail = getattr(err, "detail", None)
            if detail is None:  # quoted already, by the part of the text where it arose
                raise
            part = _excerpt(ast.get_source_segment(self.text, node) or self.text)
            raise ShapeError(f"{part}: {detail}") from None


    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(f"only numbers are allowed as constants, not {type(value).__name__}", node)
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if not math.isfinite(number):
            self.fail("number too large", node)
        return number

    def visit_Name(self, node):
        if node.id in self.names:
            return self.names[node.id]
        if node.id in FUNCTIONS or node.id == "grad":
            self.fail(f"{node.id} is a function: call it, as {node.id}(…)", node)
        hint = did_you_mean(node.id, list(self.names))
        self.fail(f"unknown name {node.id!r}{hint}", node)

    def visit_BinOp(self, node):
        if isinstance(node.op, ast.Pow):
            exponent = self._number(node.right)
            if exponent is None:
                self.fail("the exponent of ** must be a number", node.right)
            if abs(exponent) > MAX_EXPONENT:
                self.fail(f"exponent larger than {MAX_EXPONENT}", node.right)
            base = self.build(node.left)
            if not isinstance(base, Expr):
                return self._fold(node, lambda: base ** exponent)
            return base ** exponent
        op = operator_op(_TOKENS.get(type(node.op), ""), 2)
        if op is None:
            self.fail(f"operator {_describe(node.op)} is not allowed", node)
        opname = op.name
        left, right = self.build(node.left), self.build(node.right)
        if not isinstance(left, Expr) and not isinstance(right, Expr) and op.elementwise:
            return self._fold(node, lambda: op.forward(left, right))  # 2 * 3: a number
        return apply(opname, left, right)

    def visit_UnaryOp(self, node):
        operand = self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.USub):
            return -operand if not isinstance(operand, Expr) else apply(operator_op("-", 1).name, operand)
        self.fail(f"operator {_describe(node.op)} is not allowed", node)

    def visit_Attribute(self, node):
        op = operator_op("." + node.attr, 1)
        if op is None:
            self.fail(f"only .T is allowed after an expression, not '.{node.attr}'", node)
        value = self.build(node.value)
        if not isinstance(value, Expr):
            self.fail(f".{node.attr} of a number", node)
        return apply(op.name, value)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name):
            self.fail("only the functions of the language can be called", node)
        name = node.func.id
        if name == "grad":
            return self._grad(node)
        if name not in FUNCTIONS:
            hint = did_you_mean(name, [*FUNCTIONS, "grad"])
            self.fail(f"unknown function {name!r}{hint}", node)
        if name == "eye":
            return self._counted("eye", node, "the size of eye", "3")
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            self.fail("* and ** arguments are not allowed", node)
        if name in COMPOSITE_PARAMS:
            return self._composite(name, node)
        op = OPS[name]
        if len(node.args) < op.arity:
            self.fail(f"{name} takes {op.arity} argument(s), got {len(node.args)}", node)
        # Parameters may follow the arguments in order, as numpy's: sum(x, 0), reshape(x, (6, 4))
        extra = node.args[op.arity:]
        if len(extra) > len(op.params):
            self.fail(f"{name} takes {op.arity} argument(s)"
                      + (f" and the parameters {', '.join(op.params)}" if op.params else "")
                      + f", got {len(node.args)}", node)
        params = {}
        for param, value in [*zip(op.params, extra), *((k.arg, k.value) for k in node.keywords)]:
            if param not in op.params:
                self.fail(f"{name} takes no keyword {param!r}", value)
            if param in params:
                self.fail(f"{name} got {param} twice", value)
            params[param] = self._parameter(value, f"{param} of {name}")
        return apply(name, *(self.build(a) for a in node.args[:op.arity]), **params)

    def _composite(self, name, node):
        """A function that builds several ops: arange(N), concatenate([a, b]), split(x, 4)."""
        allowed = COMPOSITE_PARAMS[name]
        keywords = {}
        for keyword in node.keywords:
            if keyword.arg not in allowed:
                self.fail(f"{name} takes no keyword {keyword.arg!r}", keyword)
            keywords[keyword.arg] = self._parameter(keyword.value, f"{keyword.arg} of {name}")
        if name == "arange":
            return self._counted("arange", node, "the length of arange", "N")
        if not node.args:
            self.fail(f"{name} needs arguments", node)
        first, rest = node.args[0], node.args[1:]
        if isinstance(first, (ast.List, ast.Tuple)):  # concatenate([a, b, c], 1), as numpy
            arrays = [self.build(a) for a in first.elts]
        elif name == "split":
            if not rest:
                self.fail("split takes an array and a number of parts, as split(a, 4, axis=1)", node)
            arrays = [self.build(first)]
            keywords = {"sections": self._parameter(rest[0], "the parts of split"), **keywords}
            rest = rest[1:]
        else:  # concatenate(a, b, axis=1): the op as formulas print it, axis by keyword
            arrays, rest = [self.build(a) for a in node.args], []
        if len(rest) > 1 or (rest and "axis" in keywords):
            self.fail(f"{name} takes a list of arrays and axis", node)
        if rest:
            keywords["axis"] = self._integer(rest[0], f"axis of {name}")
        try:
            return FUNCTIONS[name](*([arrays[0]] if name == "split" else [arrays]), **keywords)
        except GraphvizBPError as err:
            if isinstance(err, ShapeError):
                raise
            self.fail(str(err), node)

    def visit_Subscript(self, node):
        value = self.build(node.value)
        if isinstance(value, list):  # a part of split(…)
            number = self._number(node.slice)
            if number is None or not float(number).is_integer() or not -len(value) <= number < len(value):
                self.fail(f"a list of {len(value)} parts takes an integer index", node.slice)
            return value[int(number)]
        if not isinstance(value, Expr):
            self.fail("a number cannot be indexed", node)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        key = []
        for item in items:
            try:
                (literal,) = read_index(item)
                key.append(literal)
            except LiteralError:
                number = self._size(self.names.get(item.id)) if isinstance(item, ast.Name) else None
                if number is not None:  # X[k] for a constant k = 2
                    key.append(self._integer(item, "an index"))
                    continue
                array = self.build(item)
                if not isinstance(array, Expr):
                    self.fail("an index must be an integer", item)
                key.append(array)
        try:
            return index(value, tuple(key))
        except GraphvizBPError as err:
            if isinstance(err, ShapeError):
                raise
            self.fail(str(err), node)

    def visit_Compare(self, node):
        if len(node.ops) != 1:
            self.fail("one comparison at a time: write (a < b) * (b < c)", node)
        test = COMPARISONS.get(type(node.ops[0]))
        if test is None:
            self.fail(f"comparison {_describe(node.ops[0])} is not allowed", node)
        left, right = self.build(node.left), self.build(node.comparators[0])
        if not isinstance(left, Expr) and not isinstance(right, Expr):
            self.fail("a comparison of two numbers", node)
        return apply("compare", left, right, test=test)

    def visit_List(self, node):
        self.fail("a list is allowed only as the arrays of concatenate or stack", node)

    def _parameter(self, node, what: str):
        """A parameter's value: a literal (numbers, True, tuples, slice(…)) or a size by name."""
        if isinstance(node, ast.Name) and node.id in self.names:
            return self._integer(node, what)
        try:
            value = read_literal(node)
        except LiteralError as err:
            self.fail(f"{what}: {err}", node)
        return value

    # ------------------------------------------------------------ helpers

    def _grad(self, node):
        if self.grads is None:
            self.fail("grad(…) is only available in claims", node)
        if len(node.args) != 1 or node.keywords or not isinstance(node.args[0], ast.Name):
            self.fail("grad takes one node name, as grad(z2)", node)
        name = node.args[0].id
        if name not in self.grads:
            hint = did_you_mean(name, list(self.grads))
            self.fail(f"no gradient at {name!r}{hint}", node)
        return self.grads[name]

    def _counted(self, name, node, what: str, example: str):
        """``eye(n)`` or ``arange(n)``: one integer, a number or a size by name."""
        if len(node.args) != 1 or node.keywords:
            self.fail(f"{name} takes one integer, as {name}({example})", node)
        n = self._integer(node.args[0], what)
        if not 1 <= n <= MAX_EYE:
            self.fail(f"{name}(n) needs 1 <= n <= {MAX_EYE}", node)
        return FUNCTIONS[name](n)

    def _number(self, node) -> float | None:
        """The value of a part made of numbers only (``-1``, ``2**-1``), else None."""
        if any(isinstance(n, ast.Name) for n in ast.walk(node)):
            return None
        value = self.build(node)
        return value if not isinstance(value, Expr) else None

    def _integer(self, node, what: str) -> int:
        value = self._number(node)
        if value is None and isinstance(node, ast.Name) and node.id in self.names:
            value = self._size(self.names[node.id])  # a size by name: eye(N)
        if value is None or not float(value).is_integer():
            self.fail(f"{what} must be an integer", node)
        return int(value)

    @staticmethod
    def _size(named) -> float | None:
        """The number a name stands for, when it is a constant scalar (N, D, …)."""
        if isinstance(named, Expr) and named.kind == "const" and named.shape == ():
            return float(named.value)
        return None

    def _fold(self, node, compute):
        try:
            result = compute()
        except (OverflowError, ZeroDivisionError) as err:
            self.fail(f"cannot compute this number ({err})", node)
        if not isinstance(result, numbers.Real) or not math.isfinite(result):
            self.fail("not a finite real number", node)
        return float(result)


def _excerpt(text: str, limit: int = 80) -> str:
    """``text`` on one line, shortened for an error message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(node: ast.AST) -> str:
    names = {"Lambda": "a lambda", "ListComp": "a comprehension", "GeneratorExp": "a generator",
             "DictComp": "a comprehension", "SetComp": "a comprehension", "Subscript": "indexing",
             "Compare": "a comparison", "BoolOp": "and/or", "IfExp": "if/else",
             "List": "a list", "Tuple": "a tuple", "Dict": "a dict", "Set": "a set",
             "NamedExpr": ":=", "Await": "await", "JoinedStr": "an f-string",
             "Starred": "* unpacking", "Slice": "a slice", "Mod": "%", "FloorDiv": "//",
             "LShift": "<<", "RShift": ">>", "BitOr": "|", "BitXor": "^", "BitAnd": "&",
             "Invert": "~", "Not": "not"}
    return names.get(type(node).__name__, type(node).__name__)


def parse(text: str, names: dict, grads: dict | None = None) -> Expr:
    """The :class:`Expr` of ``text``; ``names`` maps names to Expr leaves or nodes.

    ``grads`` (claims only) maps node names to Expr constants holding backprop's gradient,
    for ``grad(NAME)``; a claim may then also be a plain number (the gradient of a scalar
    node can be one). A loss must involve a name.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty expression")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    text = textwrap.dedent(text).strip()
    try:
        with warnings.catch_warnings():  # Python's own hints ("invalid decimal literal")
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text, mode="exec")
    except SyntaxError as err:
        place = [f"line {err.lineno}"] if "\n" in text and err.lineno else []
        place += [f"column {err.offset}"] if err.offset else []
        where = " at " + ", ".join(place) if place else ""
        raise ExpressionError(f"malformed expression{where}: {err.msg}: {_excerpt(text)}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression nested too deeply") from None
    try:
        result = _Builder(text, dict(names), grads).run(tree.body)
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
    if not isinstance(result, Expr):
        if grads is None:
            raise ExpressionError(f"the expression is a plain number: {_excerpt(text)}")
        result = as_expr(result)
    return result
