"""What appears in symbolic gradients only (𝟙, [a > 0], sign a, counts); no gradient flows through them."""

from __future__ import annotations

import numpy as np

from .core import Notation, defop
from .shapes import same_shape, scalar_shape

defop("ones_like", symbol="𝟙", forward=lambda a: np.ones(np.shape(a)), shape=same_shape,
      vjp=(None,), rule=(None,), domain=("real",), doc="an array of ones shaped like a",
      notation=Notation("𝟙", r"\mathbf{{1}}"))

defop("step", symbol="[·>0]", forward=lambda a: (np.asarray(a) > 0).astype(float),
      shape=same_shape, vjp=(None,), rule=(None,), domain=("nonzero",), elementwise=True,
      kinks=lambda a: np.asarray(a) > 0, doc="1 where a > 0, else 0 (the derivative of ReLU)",
      notation=Notation("[{0} > 0]", r"\left[{0} > 0\right]"))

defop("sign", symbol="sign", forward=lambda a: np.sign(a).astype(float), shape=same_shape,
      vjp=(None,), rule=(None,), domain=("nonzero",), elementwise=True,
      kinks=lambda a: np.sign(a), doc="the sign of a (the derivative of |a|)")

# Counts taken from shapes, where a formula divides by them (a mean over N rows): written
# as size(y) rather than 4, a formula holds at every size.
defop("size", symbol="size", forward=lambda a: float(np.size(a)), shape=scalar_shape,
      vjp=(None,), rule=(None,), domain=("real",), doc="the number of entries of a")

defop("rows", symbol="rows", forward=lambda a: float(np.shape(a)[0]) if np.ndim(a) else 1.0,
      shape=scalar_shape, vjp=(None,), rule=(None,), domain=("real",),
      doc="the length of a's first axis (1 for a number)")
