"""A layered layout of our own for graphs too large for Graphviz's ``dot``.

``dot``'s placement grows much faster than the graph: a chain of 2,000 alike terms with
nothing to fold took 41 s. Past :data:`LAYERED_NODES` drawn nodes, figures place nodes
here instead, in linear time, and Graphviz only draws them (``layout=nop2``): each node's
level is its longest path to the loss (the loss at the bottom, a leaf just above the op
that takes it), and within a level nodes sit left to right in the order of the mean
position of the ops they feed, as close above them as their widths allow.
"""

from __future__ import annotations

import networkx as nx

__all__ = ["layered_positions", "LAYERED_NODES", "LEVEL_GAP", "NODE_GAP"]

#: Past this many drawn nodes, figures are laid out here rather than by ``dot``.
LAYERED_NODES = 2500
#: Vertical distance between levels and horizontal gap between nodes, in points.
LEVEL_GAP, NODE_GAP = 64.0, 18.0


def layered_positions(G: nx.MultiDiGraph, widths: dict) -> dict:
    """Each node's (x, y) in points; ``widths`` gives each node's drawn width."""
    level: dict = {}
    for n in reversed(list(nx.topological_sort(G))):
        level[n] = 1 + max((level[v] for v in G.successors(n)), default=-1)
    by_level: dict = {}
    for n, k in level.items():
        by_level.setdefault(k, []).append(n)
    x: dict = {}
    for k in sorted(by_level):
        keyed = []
        for n in by_level[k]:
            below = [x[v] for v in G.successors(n) if v in x]
            keyed.append((sum(below) / len(below) if below else 0.0, n))
        keyed.sort(key=lambda item: item[0])
        right = None
        for key, n in keyed:
            half = widths[n] / 2
            x[n] = key if right is None else max(key, right + NODE_GAP + half)
            right = x[n] + half
    return {n: (x[n], level[n] * LEVEL_GAP) for n in level}
