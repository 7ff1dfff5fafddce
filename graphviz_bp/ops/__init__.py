"""The table of operations: the one place where an operation's mathematics and notation live.

Each op is one :func:`defop` stanza: its forward, one vector-Jacobian product per argument,
its shape rule, its symbolic backward rule, its drawn symbol, how formulas write it, the
Python operator that spells it (if any) and the domain of its inputs. Every other module
reads these facts from :data:`OPS`. The stanzas are grouped by family:

- :mod:`.arithmetic`: + − ⊙ ÷, negation, powers;
- :mod:`.linalg`: @, outer, ᵀ, ⁻¹, log|·|, solve, tr;
- :mod:`.elementwise`: exp, log, √, |·|, σ, swish, ReLU, tanh, softplus, log σ;
- :mod:`.reductions`: Σ, mean, max, min, ‖·‖², expand;
- :mod:`.selection`: maximum, minimum (entry by entry), clip;
- :mod:`.classification`: softmax, log softmax, softmax-CE, onehot;
- :mod:`.indexing`: x[:, 1:3], take, pick (S[arange(N), y]), comparisons, where, reshape,
  concatenate;
- :mod:`.indicators`: 𝟙, step, sign (in formulas only; no gradient flows through them);
- :mod:`.convolution`: conv2d and max_pool2d (NCHW, as PyTorch), and the ops their
  gradients are written with.

Shape rules are in :mod:`.shapes`; the op record and :func:`defop`, which documents each
field, in :mod:`.core`.
"""

from .core import (BINARY_SYNTAX, OPS, UNARY_SYNTAX, Notation, Op, Shape, defop, latex_base,
                   operator_op, summing_to, unbroadcast, undefop)
from . import arithmetic, linalg, elementwise, reductions, selection, classification, indicators, indexing, convolution  # noqa: F401  the stanzas
from .classification import log_sum_exp
from .elementwise import sigmoid

__all__ = ["Op", "Notation", "OPS", "defop", "undefop", "unbroadcast", "summing_to", "Shape",
           "BINARY_SYNTAX", "UNARY_SYNTAX", "operator_op", "latex_base", "sigmoid", "log_sum_exp"]
