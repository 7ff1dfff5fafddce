"""The expression language: what it builds, and everything it refuses without running it."""

import re

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp.expr import MAX_EYE, ExpressionError, parse


@pytest.fixture
def names():
    rng = np.random.default_rng(0)
    return {"W": bp.param("W", rng.normal(size=(2, 3))), "x": bp.data("x", rng.normal(size=(3, 1))),
            "S": bp.param("S", rng.normal(size=(4, 3))), "y": bp.const("y", np.array([0, 2, 1, 1])),
            "K": bp.param("K", 3 * np.eye(3))}


def test_expression_builds_the_same_graph_as_python(names):
    W, x = names["W"], names["x"]
    typed = bp.Graph(parse("0.5 * sumsq(W.T @ (W @ x) - x)", names))
    written = bp.Graph(0.5 * bp.sumsq(W.T @ (W @ x) - x))
    assert typed.loss == written.loss
    np.testing.assert_array_equal(typed.grad("W"), written.grad("W"))
    assert [d["op"] for _, d in typed.nx.nodes(data=True)] == \
        [d["op"] for _, d in written.nx.nodes(data=True)]


@pytest.mark.parametrize("text, value", [
    ("sum(W ** 2) - sumsq(W)", 0.0),
    ("mean(-(+W)) + mean(W)", 0.0),
    ("trace(K) / 3", 3.0),
    ("logdet(K) - 3 * log(3) + sum(eye(2)) - 2", 0.0),
    ("sum(W ** -1 * W) / 6", 1.0),
    ("sum(sqrt(K @ K)) - 9", 0.0),
    ("2 ** 3 * sum(W.T.T - W) + 1 - 1e-0", 0.0),
    ("sum(softmax(S, axis=1))", 4.0),
    ("softmax_ce(S, y)", None),
])
def test_expressions_evaluate_to_known_values(names, text, value):
    result = bp.engine.value_of(parse(text, names))
    if value is not None:
        assert result == pytest.approx(value, abs=1e-12)
    else:
        S, y = names["S"].value, names["y"].value
        lse = np.log(np.exp(S).sum(axis=1))
        assert result == pytest.approx(np.mean(lse - S[np.arange(4), y]), rel=1e-13)


@pytest.mark.parametrize("text, message", [
    ("W.__class__", "only .T is allowed"),
    ("W.T.__dict__", "only .T is allowed"),
    ("__import__('os').system('true')", "only the functions of the language can be called"),
    ("__import__('os')", "unknown function '__import__'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("eval('1')", "unknown function 'eval'"),
    ("(lambda: W)()", "only the functions of the language can be called"),
    ("[w for w in W]", "a comprehension is not allowed"),
    ("W[0.5]", "an index must be an integer"),
    ("W[x]", "an array index must be integer constants"),
    ("W[W > 0]", "an array index must be integer constants"),
    ("sum(W, axis=x)", "axis of sum must be an integer"),
    ("sum(W, axis=[0, 'a'])", "do not fit"),
    ("h = W; h = h * 2; sumsq(h)", "'h' is assigned twice"),
    ("W = W * 2; sumsq(W)", "'W' is a leaf of the loss"),
    ("h = W * 2\nh\nsumsq(h)", "only the last statement may be a bare expression"),
    ("a, b = split(W, 3, axis=1)", "2 names for 3 parts"),
    ("import os", "Import is not allowed"),
    ("W if W else x", "if/else is not allowed"),
    ("W < x < W", "one comparison at a time"),
    ("W is x", "comparison Is is not allowed"),
    ("W % 2", "operator % is not allowed"),
    ("'W'", "only numbers are allowed as constants"),
    ("W ** x", "the exponent of ** must be a number"),
    ("9**9**9", "exponent larger than 1000"),
    ("W ** 5000", "exponent larger than 1000"),
    (f"eye({MAX_EYE + 1})", f"eye(n) needs 1 <= n <= {MAX_EYE}"),
    ("eye(10**9)", "eye(n) needs 1 <= n <="),
    ("eye(2.5)", "must be an integer"),
    ("1e999 * W", "number too large"),
    ("sumsq(W, x)", "sumsq takes 1 argument(s), got 2"),
    ("softmax(S, dim=1)", "softmax takes no keyword 'dim'"),
    ("sumsq", "sumsq is a function"),
    ("w @ x", "unknown name 'w'; did you mean 'W'?"),
    ("sumsqr(W)", "unknown function 'sumsqr'; did you mean 'sumsq'?"),
    ("grad(W)", "grad(…) is only available in claims"),
    ("2 * 3", "plain number"),
    ("W +", "malformed expression"),
    ("", "empty expression"),
    ("(" * 300 + "W" + ")" * 300, "re:too many nested parentheses|nested too deeply"),
    ("x" * 10_001, "longer than 10000 characters"),
    ("é + W", "unknown name 'é'"),
    ("W @ x.T", "shapes (2, 3) and (1, 3) do not fit"),
])
def test_refused_with_a_message_pointing_at_the_part(names, text, message):
    pattern = message[3:] if message.startswith("re:") else re.escape(message)
    with pytest.raises(bp.GraphvizBPError, match=pattern):
        parse(text, names)


def test_error_messages_quote_a_short_excerpt(names):
    with pytest.raises(ExpressionError) as caught:
        parse("W + " * 2000 + "W[0]", names)
    assert len(str(caught.value)) < 200 and "\n" not in str(caught.value)
