"""Building losses: the networkx schema, node ids, names, shapes checked while writing."""

import networkx as nx
import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses

NODE_KEYS = {"kind", "op", "params", "label", "named", "shape", "value", "grad", "multipath",
             "check"}
EDGE_KEYS = {"slot", "value", "grad", "flows", "path", "check"}


def autoencoder_expr():
    W = bp.param("W", np.arange(6.0).reshape(2, 3))
    x = bp.data("x", np.ones((3, 1)))
    return 0.5 * bp.sumsq(W.T @ (W @ x).named("z") - x)


def test_schema_of_every_node_and_edge():
    G = bp.to_networkx(autoencoder_expr())
    assert isinstance(G, nx.MultiDiGraph) and nx.is_directed_acyclic_graph(G)
    for n, d in G.nodes(data=True):
        assert set(d) == NODE_KEYS, n
        assert d["kind"] in ("param", "input", "const", "op")
        assert (d["op"] is None) == (d["kind"] != "op")
    for u, v, k, d in G.edges(keys=True, data=True):
        assert set(d) == EDGE_KEYS and d["slot"] == k
    assert G.graph["loss"] in G and G.out_degree(G.graph["loss"]) == 0


def test_ids_are_names_or_a_stable_counter():
    G = bp.to_networkx(autoencoder_expr())
    # Post-order from the loss, arguments in slot order: a topological order.
    assert list(G) == ["const_1", "W", "transpose_2", "x", "z", "matmul_3", "sub_4",
                       "sumsq_5", "mul_6"]
    assert G.nodes["const_1"]["label"] == "0.5" and G.nodes["z"]["named"]
    assert not G.nodes["matmul_3"]["named"] and G.nodes["matmul_3"]["label"] == ""
    # Same loss, same graph: ids, order and edges do not depend on memory addresses.
    again = bp.to_networkx(autoencoder_expr())
    assert list(again.edges(keys=True)) == list(G.edges(keys=True))


def test_generated_ids_step_around_user_names():
    a = bp.param("matmul_1", np.ones((2, 2)))
    G = bp.to_networkx(bp.sum(a @ a))
    assert "matmul_1" in G and G.nodes["matmul_1"]["kind"] == "param"
    assert G.nodes["matmul_2"]["op"] == "matmul"


def test_one_edge_per_argument_slot():
    x = bp.data("x", [1.0, 2.0])
    G = bp.to_networkx(bp.sum(x * x))
    mul = next(n for n, op in G.nodes(data="op") if op == "mul")
    assert sorted(G["x"][mul]) == [0, 1]
    assert G.nodes["x"]["multipath"]


def test_multipath_counts_only_edges_a_gradient_flows_along():
    y = bp.const("y", np.array([0, 1]))
    S = bp.param("S", np.zeros((2, 3)))
    G = bp.to_networkx(bp.softmax_ce(S, y) + bp.sum(y * 1.0))
    assert not G.nodes["y"]["multipath"] and not G.nodes["S"]["multipath"]


def test_names_must_be_identifiers_and_unique():
    with pytest.raises(bp.GraphvizBPError, match="identifier"):
        bp.param("W 1", 1.0)
    a, b = bp.param("W", 1.0), bp.param("W", 2.0)
    with pytest.raises(bp.NameConflictError, match="two different nodes are named 'W'"):
        bp.to_networkx(a + b)
    with pytest.raises(bp.NameConflictError, match="already named"):
        (a + a).named("s").named("t")


def test_shape_mismatch_is_found_while_writing_and_names_both_operands():
    W = bp.param("W", np.ones((2, 3)))
    x = bp.data("x", np.ones((2, 1)))
    with pytest.raises(bp.ShapeError, match=r"matmul\(W, x\): shapes \(2, 3\) and \(2, 1\)"):
        W @ x
    with pytest.raises(ValueError, match=r"add\(W, v\): shapes \(2, 3\) and \(3, 1\) do not broadcast"):
        W + bp.data("v", np.ones((3, 1)))  # ShapeError is a ValueError too


def test_numbers_and_arrays_become_const_leaves():
    x = bp.data("x", np.ones(3))
    G = bp.to_networkx(bp.sum(2 * x + np.arange(3.0)))
    consts = [d for _, d in G.nodes(data=True) if d["kind"] == "const"]
    assert sorted(d["label"] for d in consts) == ["2", "3 array"]


def test_labels_of_integer_class_indices_stay_integers():
    g = losses.two_layer_net(seed=1)
    assert np.issubdtype(np.asarray(g.value("y")).dtype, np.integer)
    assert g.nx.nodes["y"]["kind"] == "const" and g.grad("y") is None


def test_unsupported_operands_are_clear_errors():
    x = bp.data("x", np.ones(2))
    with pytest.raises(bp.GraphvizBPError, match="exponent"):
        x ** x
    with pytest.raises(bp.GraphvizBPError, match="cannot use a str"):
        x + "1"
    with pytest.raises(bp.GraphvizBPError, match="positive integer"):
        bp.eye(0)
    with pytest.raises(bp.GraphvizBPError, match="truth value"):
        bool(x)


def test_deep_graphs_do_not_hit_the_recursion_limit():
    x = bp.data("x", 1.0)
    y = x
    for _ in range(5000):
        y = bp.tanh(y)
    g = bp.Graph(y)
    assert g.nx.number_of_nodes() == 5001 and np.isfinite(g.grad("x"))


def test_paths_are_numbered_once_on_the_graph_for_every_reader():
    G = bp.to_networkx(autoencoder_expr())
    numbered = {(v, attrs["path"]) for _, v, attrs in G.out_edges("W", data=True)}
    assert numbered == {("transpose_2", 1), ("z", 2)} and G.nodes["W"]["multipath"]
    assert all(attrs["path"] is None for u, _, attrs in G.edges(data=True) if u != "W"
               and not G.nodes[u]["multipath"])
    x_paths = sorted(attrs["path"] for _, _, attrs in G.out_edges("x", data=True))
    assert x_paths == [1, 2]


def test_no_gradient_flows_into_what_only_feeds_a_slot_without_one():
    # x reaches the loss through x itself and through step(2 x); step has no VJP, so the
    # edge x → 2 x carries nothing, and 2 x is not asked for a gradient it cannot have.
    x = bp.data("x", np.array([1.0, -2.0, 3.0]))
    doubled = (2 * x).named("doubled")
    g = bp.Graph(bp.sum(x * bp.step(doubled)))
    G = g.nx
    (into_doubled,) = [attrs for _, v, attrs in G.out_edges("x", data=True) if v == "doubled"]
    assert not into_doubled["flows"] and into_doubled["grad"] is None
    assert g.grad("doubled") is None and not G.nodes["x"]["multipath"]
    np.testing.assert_array_equal(g.grad("x"), [1.0, 0.0, 1.0])
    assert {r.wrt: r.ok for r in bp.check_gradients(g)} == {"x": True}
