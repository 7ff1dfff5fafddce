"""numpy's functions and ufuncs on :class:`~graphviz_bp.graph.Expr`: ops of the table, or refused.

Without these protocols numpy treats an ``Expr`` as an opaque object and computes
something else without a word: ``np.dot(W, x)`` multiplies elementwise, ``np.max(x)``
returns ``x``. With them, each numpy function either builds the op of the table that
means the same, or raises :class:`~graphviz_bp.errors.GraphvizBPError` saying what to
write instead::

    >>> import numpy as np
    >>> import graphviz_bp as bp
    >>> W = bp.param("W", np.ones((2, 3)))
    >>> x = bp.data("x", np.ones(3))
    >>> np.dot(W, x)
    <Expr (unnamed): matmul (2,)>
    >>> np.linalg.det(W @ W.T)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphviz_bp.errors.GraphvizBPError: np.linalg.det is not an op of graphviz_bp; use exp(logdet(K)) ...

:data:`NUMPY` says which op each numpy name means and how its arguments map. The op
table is read at each call, so an op defined later (``ops.defop("max", ...)``) makes
``np.max`` work at once, and until then ``np.max`` is refused.
"""

from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import GraphvizBPError
from .arrays import COMPOSITE_PARAMS, index_leaf
from .graph import COMPOSITES, FUNCTIONS, Expr, apply
from .ops import OPS

__all__ = ["NUMPY", "REFUSED", "NumpyMapping", "numpy_name"]


@dataclass(frozen=True)
class NumpyMapping:
    """How one numpy function or ufunc becomes an op of the table.

    ``operands``
        numpy's names of the arguments that become the op's arguments, in order
        (``x1``, ``x2``… for ufuncs);
    ``sequence``
        the numpy argument holding a list of arrays, handed as a list to the function
        of :data:`~graphviz_bp.graph.COMPOSITES` that ``op`` names (``np.concatenate(arrays)``
        is :func:`graphviz_bp.arrays.concatenate`);
    ``params``
        numpy argument → the op's parameter of that meaning. Passed when the op has that
        parameter; otherwise the argument must have numpy's neutral value (``keepdims=False``);
    ``operands_or_params``
        numpy arguments that are the op's parameters when it has them, else its operands
        (the bounds of ``np.clip``);
    ``numbers``
        arguments that must be numbers, not arrays (the exponent of ``np.power``);
    ``integers``
        arguments holding indices, kept integer (``np.take``);
    ``fixed``
        op parameters set by the numpy name itself (``np.square`` is ``pow`` with p = 2);
    ``neutral``
        argument → a test ``(value, operand shapes)`` of values meaning the op's own
        behaviour when the op lacks the parameter (``np.transpose(a, (1, 0))`` of a matrix);
    ``prepare``
        ``prepare(name, arguments, shapes)`` → the arguments to use, for numpy meanings
        that need a look at the shapes; it raises where numpy means something else;
    ``hint``
        what to write while the op is not in the table.

    numpy's defaults are passed on, never the op's own:
    ``np.take`` without ``axis`` means something else than ``take``'s ``axis=0``.
    """

    op: str
    operands: tuple[str, ...] = ()
    sequence: str | None = None
    params: dict = field(default_factory=dict)
    operands_or_params: dict = field(default_factory=dict)
    numbers: tuple[str, ...] = ()
    integers: tuple[str, ...] = ()
    fixed: dict = field(default_factory=dict)
    neutral: dict = field(default_factory=dict)
    prepare: Callable | None = None
    hint: str | None = None


# Values of numpy's keywords that ask for nothing beyond the op's plain meaning.
NEUTRAL_VALUES = {"out": None, "dtype": None, "keepdims": False, "where": True, "order": "C",
                  "copy": None, "casting": "same_kind", "mode": "raise", "subok": True,
                  "signature": None, "axes": None}


def _reversed_axes(value, shapes) -> bool:
    return value is None or tuple(value) == tuple(range(len(shapes[0]) - 1, -1, -1))


def _matrices_only(name, arguments, shapes):
    if any(len(s) > 2 for s in shapes):
        raise GraphvizBPError(f"{name} of arrays with more than 2 axes is not a matrix product; "
                "use @ on vectors and matrices")
    if any(len(s) == 0 for s in shapes):
        raise GraphvizBPError(f"{name} with a scalar is a product of entries; write a * b")
    return arguments


def _take_flat(name, arguments, shapes):
    """np.take without an axis takes from the flattened array."""
    if arguments.get("axis") is None:
        if len(shapes[0]) != 1:
            raise GraphvizBPError(f"{name} without axis takes from the flattened array; give axis=, or "
                    "write take(reshape(a, shape=(-1,)), indices, axis=0)")
        arguments = {**arguments, "axis": 0}
    return arguments


def _binary(op: str, hint: str | None = None) -> NumpyMapping:
    return NumpyMapping(op, ("x1", "x2"), hint=hint)


def _unary(op: str, hint: str | None = None) -> NumpyMapping:
    return NumpyMapping(op, ("x",), hint=hint)


def _reduction(op: str) -> NumpyMapping:
    return NumpyMapping(op, ("a",), params={"axis": "axis", "keepdims": "keepdims"})


#: numpy name → the op it means. Ufuncs take their inputs as ``x1``, ``x2`` (``x`` alone).
NUMPY: dict[str, NumpyMapping] = {
    # ufuncs (also what ``ndarray + Expr`` and ``ndarray @ Expr`` call)
    "np.add": _binary("add"),
    "np.subtract": _binary("sub"),
    "np.multiply": _binary("mul"),
    "np.divide": _binary("div"),
    "np.true_divide": _binary("div"),
    "np.negative": _unary("neg"),
    "np.matmul": _binary("matmul"),
    "np.power": NumpyMapping("pow", ("x1",), params={"x2": "p"}, numbers=("x2",)),
    "np.square": NumpyMapping("pow", ("x",), fixed={"p": 2.0}),
    "np.exp": _unary("exp"),
    "np.log": _unary("log"),
    "np.sqrt": _unary("sqrt"),
    "np.absolute": _unary("abs"),
    "np.tanh": _unary("tanh"),
    "np.sign": _unary("sign"),
    "np.maximum": _binary("maximum", hint="relu(a - b) + b"),
    "np.minimum": _binary("minimum", hint="a - relu(a - b)"),
    **{f"np.{ufunc.__name__}": NumpyMapping("compare", ("x1", "x2"), fixed={"test": test})
       for ufunc, test in ((np.greater, ">"), (np.greater_equal, ">="), (np.less, "<"),
                           (np.less_equal, "<="), (np.equal, "=="), (np.not_equal, "!="))},
    # functions
    "np.dot": NumpyMapping("matmul", ("a", "b"), prepare=_matrices_only),
    "np.transpose": NumpyMapping("transpose", ("a",), params={"axes": "axes"},
                                 neutral={"axes": _reversed_axes}),
    "np.sum": _reduction("sum"),
    "np.mean": _reduction("mean"),
    "np.max": _reduction("max"),
    "np.amax": _reduction("max"),
    "np.min": _reduction("min"),
    "np.amin": _reduction("min"),
    "np.trace": NumpyMapping("trace", ("a",)),
    "np.outer": NumpyMapping("outer", ("a", "b")),
    "np.linalg.inv": NumpyMapping("inv", ("a",)),
    "np.linalg.solve": NumpyMapping("solve", ("a", "b")),
    "np.reshape": NumpyMapping("reshape", ("a",), params={"shape": "shape", "newshape": "shape"}),
    "np.concatenate": NumpyMapping("concatenate", sequence="arrays", params={"axis": "axis"}),
    "np.stack": NumpyMapping("stack", sequence="arrays", params={"axis": "axis"}),
    "np.where": NumpyMapping("where", ("condition", "x", "y")),
    "np.clip": NumpyMapping("clip", ("a",), operands_or_params={
        "a_min": "lo", "a_max": "hi", "min": "lo", "max": "hi"},
        hint="lo + relu(a - lo) - relu(a - hi)"),
    "np.take": NumpyMapping("take", ("a", "indices"), params={"axis": "axis"},
                            integers=("indices",), prepare=_take_flat),
}

#: numpy functions that are no op and will not be one, with what to write instead.
REFUSED = {
    "np.linalg.det": "exp(logdet(K)) (for det K > 0), or logdet(K) itself",
    "np.linalg.slogdet": "logdet(K) (for det K > 0)",
    "np.linalg.norm": "sqrt(sumsq(a)) (the Frobenius norm)",
    "np.tensordot": "reshape to matrices and use @, or sum(a * b) for a full contraction",
    "np.einsum": "@, .T, * and sum",
    "np.vdot": "sum(a * b)",
    "np.inner": "a @ b.T (or sum(a * b) for vectors)",
}

#: Ufunc methods other than a call, with the function that does their work.
METHOD_HINTS = {("add", "reduce"): "sum(a, axis=…)", ("multiply", "outer"): "outer(a, b)"}


def numpy_name(function) -> str:
    """How people write a numpy function or ufunc: ``np.dot``, ``np.linalg.inv``."""
    module = getattr(function, "__module__", None) or "numpy"
    prefix = "np." + module[len("numpy."):] + "." if module.startswith("numpy.") else "np."
    return prefix + function.__name__


def available() -> list[str]:
    """The numpy names that work on an Expr now: those whose op is in the table."""
    return sorted(name for name, mapping in NUMPY.items() if _exists(mapping.op))


def _exists(name: str) -> bool:
    return name in OPS or name in COMPOSITES


def _parameters(name: str):
    """The parameters of an op of the table, or of a function of several ops."""
    return OPS[name].params if name in OPS else COMPOSITE_PARAMS[name]


def _instead(hint: str | None = None) -> str:
    if hint:
        return f"use {hint}"
    return f"use one of: {', '.join(available())}"


def _shape_of(value) -> tuple:
    return value.shape if isinstance(value, Expr) else np.shape(value)


def _operand(value):
    """An argument as apply() takes it: an Expr, a number or an array (lists become arrays)."""
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    return value


def _build(name: str, mapping: NumpyMapping, arguments: dict, defaults: dict):
    """The op of ``mapping`` applied to numpy's ``arguments`` (name → value, as given)."""
    if not _exists(mapping.op):
        raise GraphvizBPError(f"{name} has no op in graphviz_bp yet (the table has no {mapping.op!r}); "
                f"{_instead(mapping.hint)}")
    own = _parameters(mapping.op)
    arguments = {**_numpy_defaults(mapping, arguments, defaults), **arguments}
    items = []
    if mapping.sequence is not None:
        given = arguments.get(mapping.sequence)
        if not isinstance(given, (list, tuple)) or not given:
            raise GraphvizBPError(f"{name} takes a non-empty list of arrays as {mapping.sequence}, "
                    f"got {type(given).__name__}")
        items = [_operand(item) for item in given]
    args = []
    for operand in mapping.operands:
        if operand not in arguments:
            raise GraphvizBPError(f"{name} without {operand} is not supported on an Expr; "
                    f"give {', '.join(mapping.operands)}")
        value = arguments[operand]
        args.append(index_leaf(value) if operand in mapping.integers else _operand(value))
    shapes = [_shape_of(a) for a in items + args]
    if mapping.prepare is not None:
        arguments = mapping.prepare(name, arguments, shapes)
    params = dict(mapping.fixed)
    for argument, value in arguments.items():
        if argument in mapping.operands or argument == mapping.sequence:
            continue
        if argument in mapping.numbers and (
                isinstance(value, (Expr, bool)) or not isinstance(value, numbers.Real)):
            raise GraphvizBPError(f"{name} takes a number as {argument}, got {type(value).__name__}; "
                    "write exp(b * log(a)) for a variable exponent")
        if argument in mapping.operands_or_params:
            wanted = mapping.operands_or_params[argument]
            if wanted in own:
                params[wanted] = value
            else:
                args.append(_operand(value))
            continue
        wanted = mapping.params.get(argument)
        if wanted is not None and wanted in own:
            params[wanted] = float(value) if argument in mapping.numbers else value
            continue
        if _is_neutral(argument, value, defaults, mapping, shapes):
            continue
        if argument == "out":
            raise GraphvizBPError(f"{name}(…, out=…) cannot write into an array: an Expr has no value "
                    "until it is evaluated; use the Expr it returns")
        what = f"graphviz_bp's {mapping.op} has no parameter {wanted!r}" if wanted else \
            f"{argument}= is not supported on an Expr"
        raise GraphvizBPError(f"{name}(…, {argument}={value!r}): {what}; "
                f"{_keyword_hint(mapping.op, argument, arguments)}")
    try:
        if mapping.sequence is not None:
            return FUNCTIONS[mapping.op](items, **params)
        return apply(mapping.op, *args, **params)
    except GraphvizBPError:
        raise
    except (TypeError, ValueError) as err:  # a parameter of a type the shape rule cannot read
        raise GraphvizBPError(f"{name}: {mapping.op} cannot take these arguments ({err})") from None


def _numpy_defaults(mapping: NumpyMapping, arguments: dict, defaults: dict) -> dict:
    """numpy's defaults of the parameters it maps that were not given, so that the op's
    own defaults never stand in for them (one per op parameter: ``shape`` or ``newshape``)."""
    taken = {mapping.params[a] for a in arguments if a in mapping.params}
    filled = {}
    for argument, wanted in mapping.params.items():
        default = defaults.get(argument, inspect.Parameter.empty)
        if (argument in arguments or wanted in taken or default is inspect.Parameter.empty
                or type(default).__name__ == "_NoValueType"):  # numpy's "not given"
            continue
        filled[argument] = default
        taken.add(wanted)
    return filled


def _is_neutral(argument, value, defaults, mapping, shapes) -> bool:
    if argument in mapping.neutral:
        return mapping.neutral[argument](value, shapes)
    if argument in defaults and _same(value, defaults[argument]):
        return True
    return argument in NEUTRAL_VALUES and _same(value, NEUTRAL_VALUES[argument])


def _same(value, default) -> bool:
    if value is default:
        return True
    if isinstance(value, (Expr, np.ndarray)) or isinstance(value, bool) != isinstance(default, bool):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def _keyword_hint(opname: str, argument: str, arguments: dict) -> str:
    axis = arguments.get("axis")
    if argument == "keepdims" and isinstance(axis, numbers.Integral) and "expand" in OPS:
        return f"write expand({opname}(a, axis={axis}), axis={axis})"
    return f"call {opname}(…) without it"


# ---------------------------------------------------------------- the protocols


def _ours(kind) -> bool:
    return issubclass(kind, (Expr, np.ndarray))


def _array_ufunc(self, ufunc, method, *inputs, **kwargs):
    name = numpy_name(ufunc)
    if not all(_ours(type(x)) or not hasattr(type(x), "__array_ufunc__") for x in inputs):
        return NotImplemented  # another library's array: its own protocol decides
    if method != "__call__":
        hint = METHOD_HINTS.get((ufunc.__name__, method))
        instead = f"use {hint}" if hint else \
            f"call {name}(…) itself or one of the package's functions (sum, mean, …)"
        raise GraphvizBPError(f"{name}.{method} is not supported on an Expr; {instead}")
    if kwargs.get("out") is not None:
        raise GraphvizBPError(f"{name}(…, out=…) cannot write into an array: an Expr has no value until it "
                "is evaluated; write a = a + b rather than a += b, and use the Expr it returns")
    mapping = NUMPY.get(name)
    if mapping is None:
        raise GraphvizBPError(f"{name} is not an op of graphviz_bp; {_instead(REFUSED.get(name))}")
    names = ("x",) if ufunc.nin == 1 else tuple(f"x{i + 1}" for i in range(ufunc.nin))
    arguments = dict(zip(names, inputs))
    arguments.update({k: v for k, v in kwargs.items() if k != "out"})
    return _build(name, mapping, arguments, {})


def _array_function(self, func, types, args, kwargs):
    if not all(_ours(t) for t in types):
        return NotImplemented
    name = numpy_name(func)
    if name in FACTS:
        return FACTS[name](*args, **kwargs)
    mapping = NUMPY.get(name)
    if mapping is None:
        raise GraphvizBPError(f"{name} is not an op of graphviz_bp; {_instead(REFUSED.get(name))}")
    signature = _signature(func)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as err:
        raise GraphvizBPError(f"{name}: {err}") from None
    defaults = {p.name: p.default for p in signature.parameters.values()
                if p.default is not inspect.Parameter.empty}
    arguments = dict(bound.arguments)
    for variadic in (p.name for p in signature.parameters.values() if p.kind == p.VAR_KEYWORD):
        arguments.update(arguments.pop(variadic, {}))
    return _build(name, mapping, arguments, defaults)


@functools.cache
def _signature(func) -> inspect.Signature:
    return inspect.signature(func)


def _size(a, axis=None):
    shape = _shape_of(a)
    return int(np.prod(shape)) if axis is None else shape[axis]


#: numpy functions that only read an Expr's shape, known before any value is.
FACTS = {
    "np.shape": lambda a: _shape_of(a),
    "np.ndim": lambda a: len(_shape_of(a)),
    "np.size": _size,
}


def _array(self, dtype=None, copy=None):
    raise GraphvizBPError(
        f"{self!r} has no value until it is evaluated, so numpy cannot make it an array; "
        "use graphviz_bp.value_of(expr) for its value, or bp.Graph(loss).value(name)")


Expr.__array_ufunc__ = _array_ufunc
Expr.__array_function__ = _array_function
Expr.__array__ = _array
