"""graphviz-bp: backpropagation drawn as a graph and checked against finite differences.

    >>> import graphviz_bp as bp
    >>> from graphviz_bp import losses
    >>> g = losses.autoencoder(m=2, n=3, seed=0)
    >>> g.nx.nodes["W"]["multipath"]
    True
"""

import importlib.util

from . import ops
from .engine import Graph, value_of
from .errors import (
    EngineNotFoundError,
    GraphvizBPError,
    NameConflictError,
    NumericalError,
    RenderError,
    ShapeError,
    SizeLimitError,
    UnknownNameError,
)
from .claims import check_claim
from .gradcheck import check_gradients, relative_error
from .checking import Checked, check
from .symbolic import derive
from .graph import FUNCTIONS, Expr, apply, const, data, param, to_networkx
from . import interop  # noqa: F401  numpy's protocols on Expr
from . import arrays  # noqa: F401  indexing, concatenate, stack, split, arange
from .limits import size_limit
from .custom import custom_op

from .functions import *  # noqa: F401,F403  bp.sumsq, bp.logdet, bp.eye, ...

def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


if _installed("graphviz"):
    from .dot import to_dot
    from .drawing import render
    from . import tikz  # noqa: F401  render(g, "fig.tex")
    from .explorer import explore  # render(g, "loss.html") too
else:  # drawing needs the graphviz package; the rest of graphviz-bp does not

    def render(*args, **kwargs):
        raise EngineNotFoundError("drawing needs the graphviz package: "
                                  "pip install graphviz 'pygraphviz>=2'")

    to_dot = explore = render

__version__ = "0.1.0"

__all__ = [
    "Graph", "Expr", "param", "data", "const", "apply", "to_networkx", "ops", "size_limit", "value_of",
    "check", "Checked", "custom_op", "check_gradients", "relative_error", "check_claim", "derive", "render", "to_dot", "explore",
    "GraphvizBPError", "ShapeError", "SizeLimitError", "UnknownNameError", "NumericalError",
    "NameConflictError", "RenderError", "EngineNotFoundError",
    *FUNCTIONS,
]


def __getattr__(name):
    """An op defined after import (``ops.defop``) is a function of the package at once."""
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    raise AttributeError(f"module 'graphviz_bp' has no attribute {name!r}")
