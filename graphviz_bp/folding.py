"""When a figure is drawn compact, and which runs of alike layers fold into one box.

A deep net's figure is a column of hundreds of alike layers that nobody reads, and as a
PNG it outgrows the largest image Cairo draws (32767 pixels). Past :data:`FOLD_NODES`
nodes, runs of :data:`FOLD_RUN` or more alike layers fold into one box; past
:data:`COMPACT_NODES`, numbers move from the edges into tooltips as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx

from .layered import LAYERED_NODES

__all__ = ["Fold", "layers", "structural_layers", "folds", "is_compact", "folded_nodes",
           "compact_note", "COMPACT_NODES", "FOLD_NODES", "FOLD_RUN", "LAYER_STEMS", "MAX_PERIOD"]

#: Past this many nodes a figure is drawn compact: annotations move from the edges into
#: tooltips (edge labels become extra nodes of the layout, its slowest part), tooltips
#: are summarized, and the layout's search is limited.
COMPACT_NODES = 400
#: Past this many nodes, runs of alike layers fold into one box.
FOLD_NODES = 150
#: The shortest run of alike layers that folds; its first and last layer stay drawn.
FOLD_RUN = 4
#: A name stem (``W#``) marks layers when it comes with at least this many numbers.
LAYER_STEMS = 3


@dataclass(frozen=True)
class Fold:
    """Layers ``first`` to ``last`` folded into one box, drawn like layer ``first − 1``.
    ``named`` is False for blocks found by the graph's structure alone (unnamed ops of a
    loop), which the box calls blocks rather than layers."""

    first: int
    last: int
    named: bool = True

    @property
    def id(self) -> str:
        """The box's node id. Its hyphens keep it apart from every node name (names are
        identifiers, generated ids are ``op_N``)."""
        return f"fold-{self.first}-{self.last}"

    @property
    def count(self) -> int:
        return self.last - self.first + 1


_INDEXED = re.compile(r"^(.*?)(\d+)(\D*)$")


def _stem_and_index(G, n) -> tuple[str, int] | None:
    """("W#", 3) for a named node W3, ("layer#_W", 3) for layer3_W: the name with its last
    number taken out, and that number. None for unnamed nodes and names without one."""
    match = _INDEXED.match(str(n)) if G.nodes[n]["named"] else None
    return (f"{match.group(1)}#{match.group(3)}", int(match.group(2))) if match else None


def layers(G) -> dict[str, int]:
    """The layer of each node of a net whose nodes are named by layer (W1, b1, Z1, H1, …,
    or layer1_W, layer1_b, …).

    A named node is in layer k when its name's last number is k and the rest of its name
    (its stem) comes with at least :data:`LAYER_STEMS` numbers; an unnamed op joins the
    layer of its first consumer that has one, else of its first argument that has one.
    Nodes outside any layer are left out.
    """
    indexed = {n: found for n in G if (found := _stem_and_index(G, n))}
    counts: dict[str, set] = {}
    for stem, k in indexed.values():
        counts.setdefault(stem, set()).add(k)
    layer = {n: k for n, (stem, k) in indexed.items() if len(counts[stem]) >= LAYER_STEMS}
    order = list(nx.topological_sort(G))
    for n in reversed(order):  # consumers first
        if n not in layer and not G.nodes[n]["named"]:
            found = [layer[v] for v in G.successors(n) if v in layer]
            if found:
                layer[n] = min(found)
    for n in order:  # then producers
        if n not in layer and not G.nodes[n]["named"]:
            found = [layer[u] for u in G.predecessors(n) if u in layer]
            if found:
                layer[n] = max(found)
    return layer


#: The longest block of structure, in levels, that repeats without names to say so.
MAX_PERIOD = 12


def _level_signatures(G) -> tuple[dict, list]:
    """Each node's level, its longest path to the loss (a leaf sits just above the op that
    takes it, as Graphviz draws it), and what each level holds: ops, kinds and shapes,
    never names."""
    level = {}
    for n in reversed(list(nx.topological_sort(G))):
        level[n] = 1 + max((level[v] for v in G.successors(n)), default=-1)
    signatures = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for n, k in level.items():
        attrs = G.nodes[n]
        # parameters left out: a loop's step differs in them (x[:, t]) and nothing else
        signatures[k].append((attrs["op"] or attrs["kind"], attrs["shape"]))
    return level, [tuple(sorted(s)) for s in signatures]


def structural_layers(G) -> dict[str, int]:
    """Blocks of a graph that repeats without names to say so (an RNN written in a loop, a
    sum of many alike terms): the longest run of levels whose contents repeat with some
    period p ≤ :data:`MAX_PERIOD`, cut into blocks of p levels, numbered from the inputs.
    Nodes outside the run are left out."""
    level, signatures = _level_signatures(G)
    best = None  # (levels covered, period, first level)
    for p in range(1, MAX_PERIOD + 1):
        start = 0
        while start + p < len(signatures):
            end = start
            while end + p < len(signatures) and signatures[end] == signatures[end + p]:
                end += 1
            covered = (end - start) // p * p  # whole blocks after the first
            if covered >= FOLD_RUN * p and (best is None or covered > best[0]):
                best = (covered, p, start)
            start = end + 1
    if best is None:
        return {}
    covered, p, start = best
    top = start + covered + p  # levels start … top − 1 hold the alike blocks
    blocks = (top - start) // p
    # levels count up from the loss; blocks are numbered from the inputs, as layers are
    return {n: blocks - (k - start) // p for n, k in level.items() if start <= k < top}


def folds(G) -> dict[str, Fold]:
    """Nodes folded into a box, mapped to their :class:`Fold`: the interior of every run of
    :data:`FOLD_RUN` or more consecutive layers that are alike (same stems, ops, shapes).
    Layers come from the nodes' names (:func:`layers`); where names mark none, from the
    graph's structure (:func:`structural_layers`)."""
    found = _folds(G, layers(G), named=True)
    return found or _folds(G, structural_layers(G), named=False)


def _folds(G, layer: dict, named: bool) -> dict[str, Fold]:
    members: dict[int, list] = {}
    for n, k in layer.items():
        members.setdefault(k, []).append(n)

    def role(n):  # a named node by its stem, an unnamed one by its op
        found = _stem_and_index(G, n) if named else None
        return found[0] if found else G.nodes[n]["op"] or G.nodes[n]["kind"]

    def signature(k):
        return sorted((role(n), G.nodes[n]["shape"]) for n in members[k])

    folded, ks = {}, sorted(members)
    start = 0
    while start < len(ks):
        end = start
        while (end + 1 < len(ks) and ks[end + 1] == ks[end] + 1
               and signature(ks[end + 1]) == signature(ks[start])):
            end += 1
        if end - start + 1 >= FOLD_RUN:
            box = Fold(ks[start + 1], ks[end - 1], named)
            for k in ks[start + 1:end]:
                for n in members[k]:
                    folded[n] = box
        start = end + 1
    return folded


def is_compact(g, compact: bool | None = None) -> bool:
    """Whether the figure of ``g`` is drawn compact (``None``: past :data:`COMPACT_NODES`)."""
    return g.nx.number_of_nodes() > COMPACT_NODES if compact is None else bool(compact)


def folded_nodes(g, compact: bool | None = None) -> dict[str, Fold]:
    """:func:`folds` where the figure folds: past :data:`FOLD_NODES` nodes or when asked
    compact (``compact=False`` draws every layer)."""
    fold = g.nx.number_of_nodes() > FOLD_NODES if compact is None else bool(compact)
    return folds(g.nx) if fold else {}


def compact_note(g, compact: bool | None = None, show: str = "all") -> str | None:
    """The one line that says what a compact or folded figure leaves out, or None."""
    boxes = sorted(set(folded_nodes(g, compact).values()), key=lambda box: box.first)
    folded = "; ".join(f"{'layers' if box.named else 'alike blocks'} {box.first}–{box.last} "
                       "folded into one box" for box in boxes)
    nodes = g.nx.number_of_nodes()
    if not boxes and nodes > LAYERED_NODES:
        folded = f"laid out level by level, Graphviz's own layout being too slow past {LAYERED_NODES} nodes"
    if is_compact(g, compact):
        why = f"more than {COMPACT_NODES} nodes" if compact is None else "as asked"
        what = "values, gradients and formulas" if "formulas" in show else "values and gradients"
        return (f"{nodes} nodes: {what} are in the tooltips instead of on the edges, "
                f"summarized{'; ' + folded if folded else ''} ({why})")
    if folded:
        why = f"more than {FOLD_NODES} nodes" if compact is None else "as asked"
        return f"{nodes} nodes: {folded} ({why})"
    return None
