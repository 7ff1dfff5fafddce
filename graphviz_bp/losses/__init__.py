"""The built-in course losses, one function each (the README's table lists them).

Each takes its sizes as keyword arguments, small by default so that every value fits on
a figure, and a ``seed`` for the random values; each returns an evaluated
:class:`~graphviz_bp.Graph`::

    >>> from graphviz_bp import losses
    >>> g = losses.autoencoder(m=2, n=3, seed=0)
    >>> g.grad("W").shape
    (2, 3)

- :mod:`.homework`: the autoencoder, the GP-LVM, the Swish net, the ReLU nets;
- :mod:`.course`: the rest of a deep-learning course (SVM, normalisation, dropout,
  regression losses, embeddings, residual blocks);
- :mod:`.networks`: convolution, recurrence and attention.
"""

from .homework import (HOMEWORK, autoencoder, fc_net, fcnet_swish, gplvm, gplvm_l1, gplvm_l2,
                       two_layer_net)

from .course import (COURSE, batchnorm, dropout, embedding, huber, layernorm, logistic, mse,
                     residual, svm)
from .networks import NETWORKS, attention, conv_net, lstm, rnn

#: The built-in losses by their command-line names.
BUILTINS = {**HOMEWORK, **COURSE, **NETWORKS}

__all__ = ["autoencoder", "gplvm_l1", "gplvm_l2", "gplvm", "fcnet_swish", "two_layer_net",
           "fc_net", "svm", "logistic", "mse", "huber", "batchnorm", "layernorm", "dropout",
           "embedding", "residual", "conv_net", "rnn", "lstm", "attention", "BUILTINS"]
