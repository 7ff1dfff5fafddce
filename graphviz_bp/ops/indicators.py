"""Indicators that appear in symbolic gradients (𝟙, [a > 0], sign a); no gradient flows through them."""

from __future__ import annotations

import numpy as np

from .core import Notation, defop
from .shapes import same_shape

defop("ones_like", symbol="𝟙", forward=lambda a: np.ones(np.shape(a)), shape=same_shape,
      vjp=(None,), rule=(None,), domain=("real",), doc="an array of ones shaped like a",
      notation=Notation("𝟙", r"\mathbf{{1}}"))

defop("step", symbol="[·>0]", forward=lambda a: (np.asarray(a) > 0).astype(float),
      shape=same_shape, vjp=(None,), rule=(None,), domain=("nonzero",), elementwise=True,
      doc="1 where a > 0, else 0 (the derivative of ReLU)",
      notation=Notation("[{0} > 0]", r"\left[{0} > 0\right]"))

defop("sign", symbol="sign", forward=lambda a: np.sign(a).astype(float), shape=same_shape,
      vjp=(None,), rule=(None,), domain=("nonzero",), elementwise=True,
      doc="the sign of a (the derivative of |a|)")
