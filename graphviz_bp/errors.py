"""The package's exceptions (one base class; subclasses are also the builtin they mean), and
the helper that suggests a close name in their messages."""

import difflib

__all__ = [
    "did_you_mean",
    "check_choice",
    "SizeLimitError",
    "GraphvizBPError",
    "ShapeError",
    "UnknownNameError",
    "NumericalError",
    "RenderError",
    "EngineNotFoundError",
    "NameConflictError",
]


class GraphvizBPError(Exception):
    """Base class of every error graphviz-bp raises on purpose.

    The message is one line that names what was wrong and where.
    """

    def __str__(self) -> str:
        # KeyError would otherwise show the message in quotes.
        return str(self.args[0]) if self.args else ""


class ShapeError(GraphvizBPError, ValueError):
    """Operands whose shapes do not fit the operation (both shapes are in the message)."""


class SizeLimitError(ShapeError):
    """A node larger than the size limit, refused before anything is allocated."""

    def __init__(self, what: str, entries: int, limit: int, total: bool = False):
        if total:
            message = (f"{what} would bring this graph to {entries:,} entries, more than the "
                       f"total limit of {limit:,}")
        else:
            message = f"{what} would have {entries:,} entries, more than the limit of {limit:,}"
        super().__init__(message)
        self.what, self.entries, self.limit, self.total = what, entries, limit, total


class UnknownNameError(GraphvizBPError, KeyError):
    """A node name, loss name or option that does not exist."""


class NumericalError(GraphvizBPError, ValueError):
    """A value outside an operation's domain, e.g. log|K| of a matrix with det K <= 0."""


class RenderError(GraphvizBPError, ValueError):
    """A figure that cannot be written: bad format, bad path, Graphviz failure."""


class EngineNotFoundError(GraphvizBPError, RuntimeError):
    """The chosen Graphviz engine is not installed (the message says what to install)."""


class NameConflictError(GraphvizBPError, ValueError):
    """Two different nodes given the same name, or a name that is not an identifier."""


def did_you_mean(name: str, choices) -> str:
    """``"; did you mean 'W'?"`` for the closest choice (case counts least), or ``""``.

    Closeness is difflib's ratio, then the length of the common beginning: ``sigma``
    suggests ``sigmoid`` rather than ``sign``.
    """
    lowered = {str(c).lower(): str(c) for c in choices}
    wanted = str(name).lower()

    def closeness(choice: str):
        prefix = next((i for i, (a, b) in enumerate(zip(wanted, choice)) if a != b),
                      min(len(wanted), len(choice)))
        return difflib.SequenceMatcher(None, wanted, choice).ratio(), prefix

    scored = [(closeness(c), c) for c in lowered]
    scored = [(score, c) for score, c in scored if score[0] >= 0.5]
    if not scored:
        return ""
    return f"; did you mean {lowered[max(scored)[1]]!r}?"


def check_choice(kind: str, value, allowed, error: type = GraphvizBPError) -> None:
    """Raise ``error`` naming the allowed values when ``value`` is not one of them:
    ``unknown engine: 'neato' (must be one of bundled, system)``."""
    if value not in allowed:
        raise error(f"unknown {kind}: {value!r} (must be one of {', '.join(allowed)})")
