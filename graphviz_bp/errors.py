"""The package's exceptions: one base class, subclasses that are also the builtin they mean."""

__all__ = [
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
