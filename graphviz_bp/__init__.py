"""graphviz-bp: backpropagation drawn as a graph and checked against finite differences.

    >>> import graphviz_bp as bp
    >>> from graphviz_bp import losses
    >>> g = losses.autoencoder(m=2, n=3, seed=0)
    >>> g.nx.nodes["W"]["multipath"]
    True
"""

from . import ops
from .engine import Graph
from .errors import (
    EngineNotFoundError,
    GraphvizBPError,
    NameConflictError,
    NumericalError,
    RenderError,
    ShapeError,
    UnknownNameError,
)
from .gradcheck import check_gradients, relative_error
from .graph import FUNCTIONS, Expr, apply, const, data, param, to_networkx
from .rendering import render, to_dot

from .functions import *  # noqa: F401,F403  bp.sumsq, bp.logdet, bp.eye, ...

__version__ = "0.1.0"

__all__ = [
    "Graph", "Expr", "param", "data", "const", "apply", "to_networkx", "ops",
    "check_gradients", "relative_error", "render", "to_dot",
    "GraphvizBPError", "ShapeError", "UnknownNameError", "NumericalError",
    "NameConflictError", "RenderError", "EngineNotFoundError",
    *FUNCTIONS,
]
