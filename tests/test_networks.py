"""The networks' losses (conv-net, rnn, lstm, attention) against the hand-written numpy
references of references.py, finite differences, their own derivations, the expression
language and the figure."""

import inspect
import re
import time

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.drawing import render
from graphviz_bp.expr import parse
from graphviz_bp.folding import Fold, folded_nodes
from graphviz_bp.losses.networks import NETWORKS
from graphviz_bp.printing import to_expr
from graphviz_bp.symbolic import derive
from conftest import assert_close
from references import attention, conv_net, lstm_step, rnn, sigmoid

SEEDS = [0, 1]

# The sizes a derived formula spells out, given explicitly (so pinned: claims never vary
# them): rnn's formulas name each of the T steps, and lstm's gate slices a[:, 0:H] … carry
# literal bounds. The values are the defaults.
STRUCTURE = {"conv-net": {}, "rnn": dict(T=3), "lstm": dict(H=2), "attention": {}}
OTHER = {"conv-net": dict(N=3, C=2, H=6, W=4, F=3, classes=4),
         "rnn": dict(T=5, N=3, D=2, H=3, C=4),
         "lstm": dict(N=3, D=2, H=3),
         "attention": dict(N=4, D=3, dk=3)}
CASES = [pytest.param(name, sizes, seed, id=f"{name}-{which}-seed{seed}")
         for name in NETWORKS
         for which, sizes in (("default", STRUCTURE[name]), ("other", OTHER[name]))
         for seed in SEEDS]


def build(name, sizes, seed):
    return NETWORKS[name](**sizes, seed=seed)


def flowing_out(g, n) -> int:
    return sum(1 for *_, flows in g.nx.out_edges(n, data="flows") if flows)


def test_the_networks_are_built_ins():
    assert NETWORKS == {"conv-net": losses.conv_net, "rnn": losses.rnn, "lstm": losses.lstm,
                        "attention": losses.attention}
    assert NETWORKS.items() <= losses.BUILTINS.items()
    assert {"conv_net", "rnn", "lstm", "attention"} <= set(losses.__all__)


@pytest.mark.parametrize("name", NETWORKS)
def test_the_structural_sizes_are_the_defaults(name):
    defaults = inspect.signature(NETWORKS[name]).parameters
    assert all(defaults[k].default == v for k, v in STRUCTURE[name].items())
    assert NETWORKS[name]().loss == build(name, STRUCTURE[name], 0).loss


# ------------------------------------------------------------------ against the references

def reference(name, g):
    """The reference's loss and gradients, keyed by the built-in's leaf names."""
    v = g.value
    if name == "conv-net":
        return conv_net(v("x"), v("w"), v("b"), v("W2"), v("b2"), v("y"))
    if name == "rnn":
        T = g.nx.graph["settings"]["T"]
        xs = np.stack([v(f"x{t}") for t in range(1, T + 1)])
        ys = np.stack([v(f"y{t}") for t in range(1, T + 1)])
        loss, grads = rnn(xs, v("h0"), v("Wx"), v("Wh"), v("b"), v("Wy"), ys)
        grads.update({f"x{t}": grads["xs"][t - 1] for t in range(1, T + 1)})
        del grads["xs"]
        return loss, grads
    if name == "lstm":
        # The reference reads the new states out linearly: with t_h = h′ − t and t_c = 0 its
        # gradients are those of ½‖h′ − t‖². h′ comes from a forward pass written here.
        x, h, c, Wx, Wh, b, t = (v(n) for n in ("x", "h", "c", "Wx", "Wh", "b", "t"))
        H = h.shape[1]
        a = x @ Wx + h @ Wh + b
        i, f, o = (sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
        c_next = f * c + i * np.tanh(a[:, 3 * H:])
        h_next = o * np.tanh(c_next)
        read_out, grads = lstm_step(x, h, c, Wx, Wh, b, h_next - t, np.zeros_like(c))
        assert read_out == pytest.approx(np.sum(h_next * (h_next - t)), rel=1e-12)
        return 0.5 * float(np.sum((h_next - t) ** 2)), grads
    return attention(v("X"), v("Wq"), v("Wk"), v("Wv"), v("t"))


@pytest.mark.parametrize("name, sizes, seed", CASES)
def test_loss_and_gradients_match_the_reference(name, sizes, seed):
    g = build(name, sizes, seed)
    loss, grads = reference(name, g)
    assert g.loss == pytest.approx(loss, rel=1e-10)
    assert set(grads) == set(g.leaves("param", "input"))
    for leaf, expected in grads.items():
        assert_close(g.grad(leaf), expected, rtol=1e-10)


@pytest.mark.parametrize("name, sizes, seed", CASES)
def test_gradients_pass_the_finite_difference_check(name, sizes, seed):
    g = build(name, sizes, seed)
    results = bp.check_gradients(g)
    assert {r.wrt for r in results} == set(g.leaves())
    assert all(r.ok for r in results), [r for r in results if not r.ok]


@pytest.mark.parametrize("name, sizes, seed", CASES)
def test_every_derived_formula_holds_as_a_claim(name, sizes, seed):
    g = build(name, sizes, seed)
    d = derive(g)
    for leaf in g.leaves("param", "input"):
        assert d.node_local[leaf] is not None
        for formula in (d.node_local[leaf], d.node_expanded[leaf]):
            if formula is None:
                continue
            text = to_expr(formula)
            result = bp.check_claim(g, leaf, text)
            assert result.ok, (leaf, text, result)


def test_a_formula_written_step_by_step_holds_for_its_number_of_steps_only():
    formula = to_expr(derive(losses.rnn(T=3)).node_local["Wx"])
    assert formula == "x1.T @ grad(z1) + x2.T @ grad(z2) + x3.T @ grad(z3)"
    assert bp.check_claim(losses.rnn(T=3), "Wx", formula).ok
    assert not bp.check_claim(losses.rnn(T=4), "Wx", formula).ok  # misses x4ᵀ ∇z4


# ------------------------------------------------------------------ the paths of the math

def multipath(g) -> dict:
    """Each multi-path node and the number of edges its gradient flows back along."""
    return {n: flowing_out(g, n) for n in g.nx if g.nx.nodes[n]["multipath"]}


def expected_multipath(name, g) -> dict:
    settings = g.nx.graph["settings"]
    if name == "rnn":  # the shared weights at every step; each state but the last twice
        T = settings["T"]
        return {**{w: T for w in ("Wx", "Wh", "b", "Wy")}, **{f"h{t}": 2 for t in range(1, T)}}
    if name == "lstm":
        return {"a": 4}  # one edge per gate
    if name == "attention":
        return {"X": 3}  # as queries, keys and values
    return {}


@pytest.mark.parametrize("name, sizes, seed", CASES)
def test_the_multipath_nodes_are_those_of_the_math(name, sizes, seed):
    g = build(name, sizes, seed)
    assert multipath(g) == expected_multipath(name, g)


def test_x_is_the_sum_of_its_three_paths_in_attention():
    g = losses.attention(seed=3)
    parts = [d["grad"] for _, _, d in g.nx.out_edges("X", data=True) if d["flows"]]
    assert len(parts) == 3
    assert_close(sum(parts), g.grad("X"), rtol=1e-14)
    assert all(not np.allclose(part, g.grad("X")) for part in parts)


def test_one_step_rnn_shares_nothing():
    g = losses.rnn(T=1)
    assert multipath(g) == {}
    assert g.nx.graph["loss"] == "L" and "loss1" not in g.nx
    loss, grads = reference("rnn", g)
    assert g.loss == pytest.approx(loss, rel=1e-10)
    assert_close(g.grad("Wh"), grads["Wh"], rtol=1e-10)


# ------------------------------------------------------------------ the expression language

def text_of(name, g) -> str:
    """The loss as a course solution writes it, one statement per line."""
    s = g.nx.graph["settings"]
    if name == "conv-net":
        return f"""
        conv = conv2d(x, w, padding=1) + b[None, :, None, None]
        a = relu(conv)
        p = max_pool2d(a, kernel_size=2)
        flat = reshape(p, ({s['N']}, {s['F'] * s['H'] // 2 * s['W'] // 2}))
        S = flat @ W2 + b2
        L = softmax_ce(S, y)
        """
    if name == "rnn":
        steps = [f"z{t} = x{t} @ Wx + h{t - 1} @ Wh + b\nh{t} = tanh(z{t})\ns{t} = h{t} @ Wy\n"
                 f"loss{t} = softmax_ce(s{t}, y{t})" for t in range(1, s["T"] + 1)]
        return "\n".join([*steps, "L = " + " + ".join(f"loss{t}" for t in range(1, s["T"] + 1))])
    if name == "lstm":
        return """
        a = x @ Wx + h @ Wh + b
        ai, af, ao, ag = split(a, 4, axis=1)
        i = sigmoid(ai)
        f = sigmoid(af)
        o = sigmoid(ao)
        g = tanh(ag)
        c_next = f * c + i * g
        h_next = o * tanh(c_next)
        L = 0.5 * sumsq(h_next - t)
        """
    return """
    Q = X @ Wq
    K = X @ Wk
    V = X @ Wv
    S = Q @ K.T / sqrt(dk)
    A = softmax(S, axis=-1)
    out = A @ V
    L = 0.5 * sumsq(out - t)
    """


LEAVES = {"param": bp.param, "input": bp.data, "const": bp.const}


@pytest.mark.parametrize("name, sizes, seed", CASES)
def test_the_loss_written_as_text_is_the_built_in(name, sizes, seed):
    g = build(name, sizes, seed)
    G = g.nx
    names = {n: LEAVES[G.nodes[n]["kind"]](n, g.value(n)) for n in G
             if G.nodes[n]["kind"] != "op" and G.nodes[n]["named"]}
    parsed = bp.Graph(parse(text_of(name, g), names))
    assert parsed.loss == pytest.approx(g.loss, rel=1e-12)
    for leaf in g.leaves("param", "input"):
        assert_close(parsed.grad(leaf), g.grad(leaf), rtol=1e-12)
    named = {n for n in G if G.nodes[n]["named"]}
    assert {n for n in parsed.nx if parsed.nx.nodes[n]["named"]} == named
    assert (parsed.nx.number_of_nodes(), parsed.nx.number_of_edges()) == \
        (G.number_of_nodes(), G.number_of_edges())


# ------------------------------------------------------------------ sizes and figures

@pytest.mark.parametrize("side", ["H", "W"])
def test_conv_net_refuses_an_odd_side(side):
    with pytest.raises(bp.GraphvizBPError, match=f"conv-net: {side} must be even"):
        losses.conv_net(**{side: 5})


@pytest.mark.parametrize("name, size", [(name, size) for name in NETWORKS
                                        for size in inspect.signature(NETWORKS[name]).parameters
                                        if size != "seed"])
def test_sizes_must_be_positive_integers(name, size):
    with pytest.raises(bp.GraphvizBPError, match=f"{size} must be a positive integer, got 0"):
        NETWORKS[name](**{size: 0})


def test_a_long_rnn_folds_by_time_step():
    g = losses.rnn(T=20)
    boxes = set(folded_nodes(g).values())
    assert boxes == {Fold(3, 18)}
    assert {"z1", "h1", "s1", "loss1", "z20", "h20", "loss20"}.isdisjoint(folded_nodes(g))


@pytest.mark.parametrize("name, sizes, seed", CASES)
def test_each_loss_renders(name, sizes, seed, tmp_path):
    g = build(name, sizes, seed)
    svg = render(g, tmp_path / f"{name}.svg").read_text()
    from graphviz_bp.captions import inlined

    classes = dict(re.findall(r'<g id="node&#45;(\w+)" class="node ([^"]*)"', svg))
    assert set(classes) == set(g.nx) - inlined(g.nx)  # unnamed numbers sit inside their op
    for n, attrs in g.nx.nodes(data=True):
        if n not in classes:
            continue
        words = classes[n].split()
        assert ("leaf" in words) == (attrs["kind"] != "op"), (n, words)
        assert ("multipath" in words) == attrs["multipath"], (n, words)


@pytest.mark.parametrize("name", [*NETWORKS, "rnn-20"])
def test_render_time_of_the_default_figure(name, tmp_path):
    g = losses.rnn(T=20) if name == "rnn-20" else NETWORKS[name]()
    start = time.perf_counter()
    render(g, tmp_path / f"{name}.svg")
    print(f"render {name}: {g.nx.number_of_nodes()} nodes, {time.perf_counter() - start:.3f} s")
