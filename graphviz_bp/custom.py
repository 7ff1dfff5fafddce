"""Ops of one's own: a forward and a hand-written VJP, drawn, checked and derived like any op.

A course's ``affine_backward`` or ``batchnorm_backward`` becomes an op of the graph::

    >>> import numpy as np
    >>> import graphviz_bp as bp
    >>> leaky = bp.custom_op(
    ...     "leaky", lambda x: np.where(x > 0, x, 0.1 * x),
    ...     lambda g, out, x: (g * np.where(x > 0, 1.0, 0.1),), kinks=lambda x: x > 0)
    >>> g = bp.Graph(bp.sum(leaky(bp.param("x", np.array([2.0, -3.0])))))
    >>> g.grad("x")
    array([1. , 0.1])
    >>> bp.check(g).ok
    True

The op is then a function of the package (``bp.leaky``) and of the expression language,
is drawn with its symbol, and is derived with its rule written as an op of its own,
``leaky_vjp(g, out, a)``, whose value is what ``vjp`` gives.
"""

from __future__ import annotations

import inspect
import keyword

import numpy as np

from .errors import GraphvizBPError, NumericalError, ShapeError
from .graph import FUNCTIONS
from .ops import OPS, defop, undefop
from .ops.shapes import shape_text

__all__ = ["custom_op", "remove_custom_op", "custom_ops"]

#: Ops made by :func:`custom_op` (name → the names of its rule ops), which it may make again.
_MADE: dict[str, tuple[str, ...]] = {}

#: The names the op table's rules give the arguments, in order.
_SLOT_NAMES = ("a", "b", "c")

_DOMAINS = ("real", "positive", "nonzero", "spd", "labels", "mask")

#: Names the language and the op table's rules give a meaning of their own.
_RESERVED = frozenset({"grad", "g", "out", "a", "b", "c"})


def custom_op(name: str, forward, vjp, *, symbol: str | None = None, domain=None,
              kinks=None, shape=None, doc: str | None = None):
    """Add an op ``name`` computed by ``forward(*args)`` whose gradients ``vjp`` gives.

    ``vjp(g, out, *args)`` gets ∂L/∂out as ``g``, the forward's value ``out`` and the
    arguments, and returns one gradient per argument, each of its argument's shape
    (``None`` for no gradient: the argument then receives 0, and the checks say so if
    the op's output does change with it); a one-argument op may return the array alone.

    ``symbol`` is what the figure draws (default ``name``); ``domain`` says which inputs
    the op is defined on, one word for all arguments or one per argument (``real``,
    ``positive``, ``nonzero``, ``spd``, ``labels`` for integer class labels and ``mask``
    for 0/1 masks, which get no gradient; default ``real``); ``kinks(*args)``, for an op
    that is not smooth, gives
    which side of its kink each entry lies on, so that finite differences do not step
    across one; ``shape(*arg_shapes)`` gives the output's shape (default: found by
    calling ``forward`` on arrays of ones).

    Returns the op's function on :class:`~graphviz_bp.graph.Expr` (also ``bp.NAME``).
    Calling ``custom_op`` again with the same name replaces the op (a notebook cell run
    twice); an op of the package itself cannot be replaced.
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise GraphvizBPError(f"custom op name {name!r} must be an identifier (and not a "
                              "Python keyword)")
    if name in _RESERVED:
        raise GraphvizBPError(f"custom op name {name!r} is taken by the expression language "
                              f"({', '.join(sorted(_RESERVED))} are)")
    if not callable(forward) or not callable(vjp):
        raise GraphvizBPError(f"custom op {name!r}: forward and vjp must be functions")
    for what, value in (("kinks", kinks), ("shape", shape)):
        if value is not None and not callable(value):
            raise GraphvizBPError(f"custom op {name!r}: {what} must be a function")
    if symbol is not None and not isinstance(symbol, str):
        raise GraphvizBPError(f"custom op {name!r}: symbol must be a string, got {symbol!r}")
    arguments = _argument_names(name, forward)
    domains = _domains(name, domain, len(arguments))
    if name in _MADE and OPS[name].arity != len(arguments):
        raise GraphvizBPError(f"custom op {name!r} takes {OPS[name].arity} argument(s); graphs "
                              f"made with it need that. To give it {len(arguments)}, "
                              "remove_custom_op it first")
    if name in _MADE:
        remove_custom_op(name)
    elif name in OPS or name in FUNCTIONS:
        raise GraphvizBPError(f"{name!r} is already an op or function of graphviz-bp; "
                              "choose another name")
    gradient_of = _gradients(name, vjp, len(arguments))
    rule_ops, rules, vjps = [], [], []
    for i, (argument, slot_domain) in enumerate(zip(arguments, domains)):
        if slot_domain in ("labels", "mask"):
            rules.append(None)
            vjps.append(None)
            continue
        rule_name = f"{name}_vjp" if len(arguments) == 1 else f"{name}_vjp_{argument}"
        if rule_name in OPS:
            for made in rule_ops:  # what this call made so far goes again
                undefop(made)
            raise GraphvizBPError(f"custom op {name!r}: its rule op {rule_name!r} is taken")
        defop(rule_name, symbol=rule_name, forward=gradient_of(i), vjp=(None,) * (len(arguments) + 2),
              rule=(None,) * (len(arguments) + 2), shape=_slot_shape(i),
              domain=("real",) * (len(arguments) + 2),
              doc=f"the gradient {name}'s own VJP gives its argument {argument}")
        rule_ops.append(rule_name)
        rules.append(f"{rule_name}(g, out, {', '.join(_SLOT_NAMES[:len(arguments)])})")
        vjps.append(gradient_of(i))
    try:
        defop(name, symbol=symbol or name, forward=_guarded_forward(name, forward),
              vjp=tuple(vjps), rule=tuple(rules),
              shape=_checked_shape(name, shape) if shape else _shape_by_running(name, forward, domains),
              domain=domains, kinks=_checked_kinks(name, kinks) if kinks else None,
              doc=doc or (inspect.getdoc(forward) or f"{name}, an op of one's own").splitlines()[0])
    except ValueError as err:
        for made in rule_ops:
            undefop(made)
        raise GraphvizBPError(f"custom op {name!r}: {err}") from None
    _MADE[name] = tuple(rule_ops)
    return FUNCTIONS[name]


def remove_custom_op(name: str) -> None:
    """Remove an op made by :func:`custom_op`, with its rule ops."""
    if name not in _MADE:
        raise GraphvizBPError(f"{name!r} is not an op made by custom_op")
    for made in (name, *_MADE.pop(name)):
        undefop(made)


def custom_ops() -> list[str]:
    """The names of the ops made by :func:`custom_op`, oldest first."""
    return list(_MADE)


def _argument_names(name: str, forward) -> list[str]:
    try:
        parameters = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        raise GraphvizBPError(f"custom op {name!r}: cannot read forward's arguments") from None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        raise GraphvizBPError(f"custom op {name!r}: forward must name its arguments, not take *args")
    if not 1 <= len(positional) <= len(_SLOT_NAMES):
        raise GraphvizBPError(f"custom op {name!r}: forward takes 1 to {len(_SLOT_NAMES)} "
                              f"arguments, got {len(positional)}")
    return [p.name for p in positional]


def _said(name: str, what: str, err: Exception) -> str:
    """What a user's function raising ``err`` means, in one line."""
    if isinstance(err, ValueError) and "read-only" in str(err):
        return (f"custom op {name!r}: {what} writes into an array it was given, which the "
                "graph keeps and shares: copy it before writing (x = x.copy())")
    return f"custom op {name!r}: {what} raised {type(err).__name__}: {err}"


def _guarded(name: str, what: str, function):
    """``function`` with any exception it raises said as the package's error."""
    def run(*args, **params):
        try:
            return function(*args, **params)
        except GraphvizBPError:
            raise
        except Exception as err:  # the user's function: whatever it raises is named
            raise GraphvizBPError(_said(name, what, err)) from None
    return run


def _checked_kinks(name: str, kinks):
    """``kinks`` guarded, and its result an array of numbers or booleans."""
    guarded = _guarded(name, "kinks", kinks)

    def run(*args, **params):
        pattern = guarded(*args, **params)
        try:
            array = np.asarray(pattern)
        except ValueError:
            array = np.asarray([], dtype=object)
        if array.dtype.kind not in "biuf":
            raise GraphvizBPError(f"custom op {name!r}: kinks must give an array of numbers or "
                                  f"booleans (which side of its kink each entry lies on), got "
                                  f"{type(pattern).__name__}")
        return array
    return run


def _real(name: str, what: str, value):
    """``value`` as a float array, or the reason it is not one."""
    if np.iscomplexobj(value):
        raise GraphvizBPError(f"custom op {name!r}: {what} gave complex numbers")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise GraphvizBPError(f"custom op {name!r}: {what} must give real numbers, got "
                              f"{type(value).__name__}") from None
    return array


def _guarded_forward(name: str, forward):
    """The forward, its failures said as leaving its domain (a finite-difference step is
    then shortened; at the recorded point the error names the node)."""
    def run(*args):
        try:
            out = forward(*args)
        except GraphvizBPError:
            raise
        except Exception as err:  # a Cholesky of a matrix moved off its domain, an assert
            if isinstance(err, ValueError) and "read-only" in str(err):
                raise GraphvizBPError(_said(name, "forward", err)) from None
            raise NumericalError(_said(name, "forward", err)) from None
        array = _real(name, "forward", out)
        return array if array.ndim else float(array)
    return run


def _checked_shape(name: str, shape):
    def run(*arg_shapes):
        try:
            result = shape(*arg_shapes)
        except Exception as err:  # the user's function
            shapes = ", ".join(shape_text(s) for s in arg_shapes)
            raise ShapeError(f"custom op {name!r} cannot take arguments of shape {shapes}: "
                             f"{type(err).__name__}: {err}") from None
        if not isinstance(result, (tuple, list)) or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in result):
            raise GraphvizBPError(f"custom op {name!r}: shape must give a tuple of sizes, "
                                  f"got {result!r}")
        return tuple(int(n) for n in result)
    return run


def _domains(name: str, domain, arity: int) -> tuple[str, ...]:
    if domain is not None and not isinstance(domain, (str, tuple, list)):
        raise GraphvizBPError(f"custom op {name!r}: domain is a word or one word per "
                              f"argument, got {domain!r}")
    given = (domain or "real",) * arity if domain is None or isinstance(domain, str) else tuple(domain)
    if len(given) != arity:
        raise GraphvizBPError(f"custom op {name!r}: {arity} argument(s) but {len(given)} domain(s)")
    for d in given:
        if d not in _DOMAINS:
            raise GraphvizBPError(f"custom op {name!r}: unknown domain {d!r} "
                                  f"(one of {', '.join(_DOMAINS)})")
    return given


def _gradients(name: str, vjp, arity: int):
    """``gradient_of(i)``: argument i's gradient from the user's ``vjp``, checked."""
    def gradient_of(i: int):
        def gradient(g, out, *args):
            try:
                grads = vjp(g, out, *args)
            except GraphvizBPError:
                raise
            except Exception as err:  # the user's function
                raise GraphvizBPError(_said(name, "vjp", err)) from None
            if arity == 1 and not isinstance(grads, (tuple, list)):
                grads = (grads,)
            if not isinstance(grads, (tuple, list)) or len(grads) != arity:
                raise GraphvizBPError(f"custom op {name!r}: vjp must return {arity} gradient(s), "
                                      "one per argument (None for no gradient)")
            grad = grads[i]
            expected = np.shape(args[i])
            if grad is None:
                return np.zeros(expected) if expected else 0.0
            grad = _real(name, "vjp", grad)
            if grad.shape != expected:
                raise GraphvizBPError(f"custom op {name!r}: vjp gives a gradient of shape "
                                      f"{shape_text(grad.shape)} for argument {i + 1}, of shape "
                                      f"{shape_text(expected)}")
            return grad if grad.ndim else float(grad)
        return gradient
    return gradient_of


def _slot_shape(i: int):
    """The shape of a rule op's value: its argument's (after g and out)."""
    return lambda *shapes: tuple(shapes[2 + i])


def _example(shape, domain):
    """An argument of ``shape`` inside ``domain`` to run the forward on."""
    if domain == "labels":
        return np.zeros(shape, dtype=np.int64)
    if domain == "spd" and len(shape) >= 2 and shape[-1] == shape[-2]:
        return np.broadcast_to(np.eye(shape[-1]), shape).copy()
    return np.ones(shape)


def _shape_by_running(name: str, forward, domains):
    """The output's shape found by calling ``forward`` on ones (labels: zeros; spd: I)."""
    known: dict = {}

    def shape(*arg_shapes):
        if arg_shapes not in known:
            args = [_example(s, d) for s, d in zip(arg_shapes, domains)]
            args = [a if a.ndim else a[()] for a in args]
            try:
                with np.errstate(all="ignore"):
                    known[arg_shapes] = tuple(np.shape(_real(name, "forward", forward(*args))))
            except Exception as err:  # the user's function: any failure is a shape misfit
                shapes = ", ".join(shape_text(s) for s in arg_shapes)
                raise ShapeError(f"custom op {name!r} cannot take arguments of shape {shapes}: "
                                 f"{type(err).__name__}: {err}") from None
        return known[arg_shapes]
    return shape
