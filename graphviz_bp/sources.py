"""Where a loss comes from: a built-in, an expression with its variables, or a Python file.

Each becomes a :class:`Source`: a name and a way to build the evaluated graph for a seed,
so that claims can be judged at several independent random draws.

>>> src = expression_source("0.5 * sumsq(W.T @ W @ x - x)", variables=["W=2x3", "x=3x1"])
>>> g = src.build(0)
>>> g.grad("W").shape, g.nx.nodes["x"]["kind"]
((2, 3), 'param')
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math
import numbers
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import losses
from .engine import Graph
from .errors import GraphvizBPError, UnknownNameError, did_you_mean
from .expr import parse
from .graph import FUNCTIONS, Expr, const, param
from .claims import Draw, draw_in_domain, fresh_values, numbers_of, redraws
from .limits import check_size, fresh_count
from .literals import LiteralError, read_literal

__all__ = ["Source", "SourceError", "builtin_source", "expression_source", "file_source",
           "parse_setting", "DOMAINS"]

#: How ``--var NAME=SHAPE:DOMAIN`` draws values.
DOMAINS = ("normal", "positive", "spd")


class SourceError(GraphvizBPError, ValueError):
    """A source that cannot be loaded: bad setting, variable, file or function."""


@dataclass
class Source:
    """A loss to work on: ``build(seed)`` returns it evaluated with that seed's values.

    ``make(seed, settings)`` builds it; ``settings`` are the sizes and numbers it is built
    from (m, n, alpha, hidden_dims, an expression's constants), ``pinned`` those the user
    set, which fresh draws for claims never vary.
    """

    name: str
    make: Callable[[int, dict], Graph]
    settings: dict = field(default_factory=dict)
    pinned: frozenset = frozenset()

    @property
    def sizes(self) -> dict:
        """The numbers a claim may use by name (N, Q, D, alpha, …)."""
        return numbers_of(self.settings)

    def build(self, seed: int) -> Graph:
        """The loss drawn with ``seed``, evaluated; its nodes count toward the size limits
        on their own, not with those of earlier draws. The graph carries what claims need
        to draw it again with other sizes (graph attributes ``sizes``, ``settings``,
        ``pinned``, ``remake``)."""
        return self._remake(seed, self.settings)

    def _remake(self, seed: int, settings: dict) -> Graph:
        with fresh_count():
            g = self.make(seed, settings)
        g.nx.graph.update(sizes=numbers_of(settings), settings=dict(settings), pinned=self.pinned,
                          remake=self._remake)
        return g

    def draw(self, trial: int, seed: int = 0) -> Draw:
        """Draw ``trial`` for judging claims: 0 is the user's own; later ones vary the
        leaves' values, the settings not pinned, and the loss's other named constants
        (see :func:`graphviz_bp.claims.redraws`)."""
        first = self.build(seed)
        if trial == 0:
            return Draw(first, self.sizes)
        return redraws(self._remake, self.settings, first, self.pinned, seed)(trial)


def _name(text: str) -> str:
    """A name as Python reads it in an expression: µ (micro sign) and μ (mu) are one name."""
    return unicodedata.normalize("NFKC", text.strip())


# ---------------------------------------------------------------- settings


def _number(text: str, what: str):
    text = text.strip()
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            break
        return value
    raise SourceError(f"{what}: not a number: {text!r}")


def parse_setting(text: str, option: str = "--set") -> tuple[str, object]:
    """``"m=3"`` → ``("m", 3)``; ``"hidden_dims=10,10"`` → ``("hidden_dims", (10, 10))``."""
    name, sep, raw = text.partition("=")
    name = _name(name)
    if not sep or not name.isidentifier() or not raw.strip():
        raise SourceError(f"{option} takes NAME=VALUE (e.g. {option} m=3), got {text!r}")
    if "," in raw:
        parts = [p for p in raw.split(",") if p.strip()]
        if not parts:
            raise SourceError(f"{option} {name}: no number in {raw!r} (e.g. {option} {name}=10,10)")
        return name, tuple(_number(p, f"{option} {name}") for p in parts)
    return name, _number(raw, f"{option} {name}")


def _settings(texts) -> dict:
    settings = {}
    for text in texts or ():
        name, value = parse_setting(text)
        if name in settings:
            raise SourceError(f"--set {name} is given twice")
        settings[name] = value
    return settings


# ---------------------------------------------------------------- built-ins


def builtin_source(name: str, settings=()) -> Source:
    """A built-in loss by its command-line name (underscores accepted), with ``--set`` texts."""
    key = name.replace("_", "-")
    if key not in losses.BUILTINS:
        hint = did_you_mean(key, list(losses.BUILTINS))
        raise UnknownNameError(f"unknown loss {name!r}{hint} (see `graphviz-bp list`)")
    build = losses.BUILTINS[key]
    values = _settings(settings)
    signature = inspect.signature(build).parameters
    accepted = [p for p in signature if p != "seed"]
    for setting in values:
        if setting not in accepted:
            raise SourceError(f"{key} has no size {setting!r} (it takes {', '.join(accepted)})")
    settings = {p: values.get(p, signature[p].default) for p in accepted}
    return Source(key, lambda seed, chosen: build(**chosen, seed=seed), settings,
                  frozenset(values) | getattr(build, "fixed", frozenset()))


# ---------------------------------------------------------------- expressions


def _shape(text: str, name: str) -> tuple[int, ...]:
    text = text.strip().lower()
    if text in ("scalar", "()", ""):
        return ()
    try:
        shape = tuple(int(part) for part in text.split("x"))
    except ValueError:
        raise SourceError(f"--var {name}: shape must look like 2x3, 3 or scalar, got {text!r}") from None
    if any(n < 1 for n in shape):
        raise SourceError(f"--var {name}: sizes must be positive, got {text!r}")
    check_size(shape, f"--var {name}={text}")  # before anything is allocated
    return shape


def _variables(texts) -> list[tuple[str, tuple, str]]:
    found = []
    for text in texts or ():
        name, sep, rest = text.partition("=")
        name = _name(name)
        if not sep or not name.isidentifier():
            raise SourceError(f"--var takes NAME=SHAPE (e.g. --var W=2x3), got {text!r}")
        shape_text, _, domain = rest.partition(":")
        domain = domain.strip() or "normal"
        if domain not in DOMAINS:
            raise SourceError(f"--var {name}: unknown domain {domain!r} (must be one of "
                              f"{', '.join(DOMAINS)})")
        shape = _shape(shape_text, name)
        if domain == "spd" and (len(shape) != 2 or shape[0] != shape[1]):
            raise SourceError(f"--var {name}: spd needs a square shape such as 3x3, got {shape_text!r}")
        found.append((name, shape, domain))
    return found


def _labels(texts) -> dict:
    labels = {}
    for text in texts or ():
        name, sep, raw = text.partition("=")
        name = _name(name)
        try:
            values = [int(v) for v in raw.split(",")] if sep else None
        except ValueError:
            values = None
        if values is not None and any(v >= 2**62 for v in values):
            raise SourceError(f"--labels {name}: class indices must be below 2**62, got {raw.strip()!r}")
        if not name.isidentifier() or values is None or any(v < 0 for v in values):
            raise SourceError(f"--labels takes NAME=INDEX or NAME=I,J,… with class indices "
                              f"from 0 (e.g. --labels y=2), got {text!r}")
        labels[name] = values[0] if len(values) == 1 and "," not in raw else np.array(values)
    return labels


def _is_array_text(text: str) -> bool:
    return text.partition("=")[2].lstrip().startswith(("[", "@"))


#: Longest array literal accepted after --const, in characters.
MAX_ARRAY_TEXT = 100_000


def _array_constant(text: str) -> tuple[str, np.ndarray]:
    """``mask=[[1, 0], [0, 1]]`` (a nested list, read as a literal, never run) or
    ``idx=@file.npy``: integers stay integers (indices, labels), other numbers are floats."""
    name, _, raw = text.partition("=")
    name, raw = _name(name), raw.strip()
    if not name.isidentifier():
        raise SourceError(f"--const takes NAME=VALUE, got {text!r}")
    if raw.startswith("@"):
        try:
            array = np.load(raw[1:], allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise SourceError(f"--const {name}: cannot read {raw[1:]!r} as a .npy array ({err})") from None
    else:
        if len(raw) > MAX_ARRAY_TEXT:
            raise SourceError(f"--const {name}: an array literal longer than {MAX_ARRAY_TEXT} characters")
        try:
            value = read_literal(ast.parse(raw, mode="eval").body)
            array = np.array(value)
        except (SyntaxError, LiteralError, ValueError, RecursionError, MemoryError):
            raise SourceError(f"--const {name}: not an array of numbers as [[1, 0], [0, 1]]: "
                              f"{raw[:60]!r}") from None
    if array.dtype == object or array.dtype.kind not in "iuf" or array.ndim == 0:
        raise SourceError(f"--const {name}: an array needs numbers in rows of equal length, "
                          f"got {array.dtype} of shape {array.shape}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise SourceError(f"--const {name}: the array holds NaN or infinity")
    check_size(array.shape, f"--const {name}")
    return name, array.astype(np.int64 if array.dtype.kind in "iu" else np.float64)


def expression_source(text: str, variables=(), constants=(), labels=()) -> Source:
    """A loss typed as an expression over ``--var``, ``--const`` and ``--labels`` leaves.

    Variables are params with seeded random values: standard normal, or ``:positive``
    (uniform in [0.5, 2]) or ``:spd`` (A Aᵀ/n + I) after the shape.
    """
    declared = _variables(variables)
    arrays = dict(_array_constant(c) for c in constants or () if _is_array_text(c))
    numbers_ = dict(parse_setting(c, "--const") for c in constants or () if not _is_array_text(c))
    for name, value in numbers_.items():
        if not isinstance(value, numbers.Real):
            raise SourceError(f"--const {name}: one number, or an array as [[1, 0], [0, 1]] "
                              f"or @file.npy, got {value!r}")
    classes = _labels(labels)
    seen = [n for n, _, _ in declared] + list(numbers_) + list(arrays) + list(classes)
    duplicates = {n for n in seen if seen.count(n) > 1}
    if duplicates:
        raise SourceError(f"{sorted(duplicates)[0]!r} is declared twice")
    functions = [n for n in seen if n in FUNCTIONS or n == "grad"]
    if functions:  # sum(X) would still call the function, and the leaf would go unused
        raise SourceError(f"{functions[0]!r} is a function of the language; give the leaf "
                          "another name")

    def build(seed: int, chosen: dict) -> Graph:
        rng = np.random.default_rng(seed)
        names: dict[str, Expr] = {}
        for name, shape, domain in declared:
            names[name] = param(name, draw_in_domain(shape, domain, rng))
        for name, value in chosen.items():
            names[name] = const(name, float(value))
        for name, value in [*arrays.items(), *classes.items()]:
            names[name] = const(name, value)
        return Graph(parse(text, names))

    # a loss written on several lines is named on one, its statements joined by "; "
    title = "; ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())
    source = Source(title, build, {k: float(v) for k, v in numbers_.items()})
    source.build(0)  # refuse a bad expression now, with its own message
    return source


# ---------------------------------------------------------------- Python files


def file_source(spec: str, settings=()) -> Source:
    """``path/to/file.py:function``: the file is run, and ``function(**sizes)`` returns
    a :class:`Graph` or an :class:`Expr` (passed ``seed`` when it takes one).

    The file runs as a module of its own (so ``@dataclass`` and imports of the files
    beside it work); ``sys.exit`` in it is an error, not the command's end.
    """
    path_text, sep, function_name = spec.rpartition(":")
    if not sep or not path_text.endswith(".py") or not function_name.isidentifier():
        raise SourceError(f"a file source is path/to/file.py:function, got {spec!r}")
    path = Path(path_text)
    if not path.is_file():
        raise SourceError(f"no such file: {path_text!r}")
    module_name = f"_graphviz_bp_source_{abs(hash(str(path.resolve())))}"
    folder = str(path.resolve().parent)
    try:
        loader = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module  # dataclasses look their module up while made
        with _beside(folder):
            loader.loader.exec_module(module)
    except (Exception, SystemExit) as err:  # the user's code: one line, whatever it raised
        sys.modules.pop(module_name, None)
        raise SourceError(f"{path_text}: {_described(err)}") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SourceError(f"{path_text} has no function {function_name!r}")
    values = _settings(settings)
    try:
        takes_seed = "seed" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin such as max has no signature to read
        raise SourceError(f"{spec}: {function_name!r} is not a Python function "
                          "returning a loss") from None
    first = {}  # the draw made to check the function, given back at the first call

    keywords = _keywords(function)
    settings = {**{k: v for k, v in keywords.items() if _is_number_setting(v)}, **values}

    def build(seed: int, chosen: dict) -> Graph:
        if chosen is settings and seed in first:
            return first.pop(seed)
        arguments = {k: v for k, v in chosen.items() if k in values or k in keywords}
        try:
            with _beside(folder):
                result = function(**arguments, seed=seed) if takes_seed else function(**arguments)
        except GraphvizBPError:
            raise
        except (Exception, SystemExit) as err:
            raise SourceError(f"{spec}: {_described(err)}") from None
        if isinstance(result, Expr):
            result = Graph(result)
        if not isinstance(result, Graph):
            raise SourceError(f"{spec} returned a {type(result).__name__}, not a graph "
                              "(return graphviz_bp.Graph(loss) or the loss Expr)")
        if result.output is None:  # built with evaluate=False
            result.evaluate()
        if not takes_seed and seed != 0:
            # independent draws for claims, even without a seed
            fresh_values(result, np.random.default_rng(seed), result.leaves())
        return result

    source = Source(spec, build, settings, frozenset(values))
    first[0] = source.build(0)
    return source


def _keywords(function) -> dict:
    """The keyword parameters of a file's function that have defaults, with them."""
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty and name != "seed"}


def _is_number_setting(value) -> bool:
    if isinstance(value, tuple):
        return bool(value) and all(_is_number_setting(v) for v in value)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _described(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"the file called sys.exit({err.code!r})"
    return f"{type(err).__name__}: {err}"


class _beside:
    """Imports of a file source find the files beside it while it runs."""

    def __init__(self, folder: str):
        self.folder = folder

    def __enter__(self):
        sys.path.insert(0, self.folder)

    def __exit__(self, *_):
        try:
            sys.path.remove(self.folder)
        except ValueError:
            pass
