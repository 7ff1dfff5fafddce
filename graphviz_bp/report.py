"""Reports of ``inspect`` and ``check``: plain data (for ``--json``) and readable text."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np

from .engine import Graph
from .graph import path_mark
from .printing import printable, to_expr
from .symbolic import derive

__all__ = ["inspect_data", "inspect_text", "check_data", "check_text", "paths_to_loss",
           "to_json", "nonfinite_text"]



NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _plain(value):
    """A value as plain data: nested lists, or a Python number; None stays None."""
    return None if value is None else np.asarray(value).tolist()


def to_json(document: dict) -> str:
    """Strict JSON: JSON has no NaN or infinity, so those are written as the strings
    "NaN", "Infinity" and "-Infinity"."""
    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        if isinstance(x, float) and not np.isfinite(x):
            return NONFINITE[str(x)]
        return x

    return json.dumps(clean(document), allow_nan=False)


def nonfinite_text(g: Graph) -> str | None:
    """One line saying where NaN or Inf first appeared, or None."""
    forward, backward = g.first_nonfinite()
    if forward is None and backward is None:
        return None
    parts = []
    if forward is not None:
        parts.append(f"in the forward pass at node {forward!r} ({_what(g, forward)})")
    if backward is not None:
        parts.append(f"in the backward pass at node {backward!r} ({_what(g, backward)})")
    return "NaN or Inf appears first " + " and first ".join(parts)


def _what(g: Graph, n: str) -> str:
    attrs = g.nx.nodes[n]
    return attrs["op"] if attrs["kind"] == "op" else attrs["kind"]


def paths_to_loss(G: nx.MultiDiGraph) -> dict[str, int]:
    """For every node, how many distinct paths lead from it to the loss (edges count apart)."""
    count = {}
    for n in reversed(list(nx.topological_sort(G))):
        count[n] = 1 if n == G.graph["loss"] else sum(count[v] for _, v in G.out_edges(n))
    return count


def inspect_data(g: Graph, source: str) -> dict:
    """The ``inspect --json`` document: every node and edge, values in full precision.

    Nodes and edges with a gradient carry its ``formula`` in the expression language,
    in terms of node values and ``grad(NAME)`` of named nodes downstream: a formula can
    be given to ``check --claim`` as it is.
    """
    G = g.nx
    deriv = derive(g, expanded=False)
    nodes, edges = [], []
    for n, attrs in G.nodes(data=True):
        node = {"id": n, "label": attrs["label"], "kind": attrs["kind"], "op": attrs["op"],
                "shape": list(attrs["shape"]), "value": _plain(attrs["value"]),
                "grad": _plain(attrs["grad"]), "out_degree": G.out_degree(n),
                "multipath": bool(attrs["multipath"])}
        if attrs["grad"] is not None:
            node["formula"] = to_expr(deriv.node_local[n])
        nodes.append(node)
    for u, v, k, attrs in G.edges(keys=True, data=True):
        edge = {"source": u, "target": v, "slot": k, "value": _plain(attrs["value"]),
                "grad": _plain(attrs["grad"]), "path": attrs["path"]}
        if attrs["flows"]:
            edge["formula"] = to_expr(deriv.edge_local[(u, v, k)])
        edges.append(edge)
    forward, backward = g.first_nonfinite()
    return {"source": source, "loss": g.loss, "nodes": nodes, "edges": edges,
            "nonfinite": {"forward": forward, "backward": backward}}


def _brief(value, width: int = 40) -> str:
    if value is None:
        return "—"
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.6g}"
    column = array.ndim == 2 and array.shape[1] == 1 and array.shape[0] > 1
    shown = array[:, 0] if column else array
    text = np.array2string(shown, precision=3, separator=" ", threshold=8, edgeitems=2,
                           max_line_width=10_000, suppress_small=True)
    text = " ".join(text.replace("[ ", "[").split()) + ("ᵀ" if column else "")
    if len(text) <= width:
        return text
    return f"{'×'.join(map(str, array.shape))} in [{array.min():.3g}, {array.max():.3g}]"


def inspect_text(g: Graph, source: str) -> str:
    """A table of the nodes in topological order, then the paths of each multi-path node."""
    G = g.nx
    paths = paths_to_loss(G)
    rows = [("id", "kind", "op", "shape", "paths", "value", "gradient")]
    for n, attrs in G.nodes(data=True):
        shape = "×".join(map(str, attrs["shape"])) or "scalar"
        rows.append((n, attrs["kind"], attrs["op"] or "", shape, str(paths[n]),
                     _brief(attrs["value"]), _brief(attrs["grad"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [f"{printable(source)}: loss = {g.loss:.10g}", ""]
    broken = nonfinite_text(g)
    if broken:
        lines[1:1] = [broken]
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    multipath = [n for n, attrs in G.nodes(data=True) if attrs["multipath"]]
    for n in multipath:
        numbered = [(v, k, attrs) for _, v, k, attrs in G.out_edges(n, keys=True, data=True)
                    if attrs["path"]]
        marks = [path_mark(attrs["path"]) for _, _, attrs in numbered]
        lines += ["", f"{n} reaches the loss along {len(numbered)} edges: ∇{n} = {' + '.join(marks)}"]
        for mark, (v, k, attrs) in zip(marks, numbered):
            beyond = f", then {paths[v]} paths" if paths[v] > 1 else ""
            lines.append(f"  {mark} {n} → {v} (argument {k}{beyond}): {_brief(attrs['grad'], 70)}")
        lines.append(f"  total: {_brief(G.nodes[n]['grad'], 70)}")
    return "\n".join(lines)


def _number_or_none(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def check_data(source: str, checked, claims, g: Graph | None = None) -> dict:
    """The ``check --json`` document; with ``g``, where NaN or Inf first appeared.

    ``checked`` is a :class:`~graphviz_bp.checking.Checked` (or a list of gradient
    checks alone). ``checked`` in the document counts the gradients and claims judged: a
    loss with no param or input leaf and no claim has nothing to check (``ok`` is then
    true, and the text report says that nothing was checked). A gradient's ``shape`` is
    its leaf's; ``reaches`` is false for a leaf no gradient reaches, whose gradient is 0
    (its ``note`` says what finite differences found). ``ops`` has one entry per op node
    checked alone, in graph order, with one entry per argument edge; ``first_failure``
    names the first failing op and edge.
    """
    gradients = checked if isinstance(checked, list) else checked.gradients
    grads = [{"wrt": r.wrt, "shape": list(r.shape), "method": r.method,
              "max_rel_error": _number_or_none(r.max_rel_error),
              "noise": float(r.noise), "ok": bool(r.ok), "note": r.note,
              "reaches": bool(r.reaches)} for r in gradients]
    judged = [{"wrt": c.wrt, "expr": c.expr, "ok": bool(c.ok), "trials": c.trials,
               "max_rel_error": None if c.max_rel_error is None else float(c.max_rel_error),
               "reason": c.error, "varied": list(c.varied), "warning": c.warning}
              for c in claims]
    ops, composition, per_leaf = [], None, True
    if not isinstance(checked, list):
        ops = [{"node": o.node, "op": o.op, "ok": bool(o.ok),
                "max_rel_error": _number_or_none(o.max_rel_error),
                "edges": [{"source": e.source, "slot": e.slot, "ok": bool(e.ok),
                           "max_rel_error": _number_or_none(e.max_rel_error),
                           "noise": float(e.noise), "gradient": e.gradient,
                           "resolved": e.resolved, "note": e.note} for e in o.edges]}
               for o in checked.ops]
        c = checked.composition
        composition = None if c is None else {
            "directions": c.directions, "ok": bool(c.ok),
            "max_rel_error": _number_or_none(c.max_rel_error), "noise": float(c.noise),
            "resolved": c.resolved, "note": c.note}
        per_leaf = checked.per_leaf
    first = next(({"node": o["node"], "op": o["op"], "source": e["source"], "slot": e["slot"],
                   "max_rel_error": e["max_rel_error"], "note": e["note"]}
                  for o in ops if not o["ok"] for e in o["edges"] if not e["ok"]), None)
    ok = (all(r["ok"] for r in grads) and all(c["ok"] for c in judged)
          and all(o["ok"] for o in ops) and (composition is None or composition["ok"]))
    document = {"source": source, "ok": ok, "checked": len(grads) + len(judged),
                "per_leaf": per_leaf, "gradients": grads, "ops": ops,
                "composition": composition, "first_failure": first, "claims": judged}
    if g is not None:
        forward, backward = g.first_nonfinite()
        document["nonfinite"] = {"forward": forward, "backward": backward}
        document["ok"] = ok and forward is None and backward is None
    return document


def _ops_text(data: dict) -> list[str]:
    """The lines on the ops checked alone, and on the composition."""
    ops = data.get("ops") or []
    lines = []
    if ops:
        failing = [o for o in ops if not o["ok"]]
        errors = [o["max_rel_error"] for o in ops if o["max_rel_error"] is not None]
        worst = f"worst rel error {max(errors):.1e}" if errors else "nothing measurable"
        unresolved = sum(not e["resolved"] for o in ops for e in o["edges"])
        if not failing:
            lines.append(f"  ops: {len(ops)} checked alone (each VJP against finite differences "
                         f"of the op at its inputs): all pass, {worst}")
        else:
            first = data["first_failure"]
            lines.append(f"  ops: {len(failing)} of {len(ops)} checked alone FAILED")
            error = "—" if first["max_rel_error"] is None else f"{first['max_rel_error']:.1e}"
            lines.append(f"      first failing op: {first['node']} ({first['op']}), edge "
                         f"{first['source']} → {first['node']} (argument {first['slot']}): "
                         f"max rel error {error}")
            if first["note"]:
                lines.append(f"      {first['note']}")
            others = [f"{o['node']} ({o['op']})" for o in failing[1:6]]
            if others:
                more = f" and {len(failing) - 6} more" if len(failing) > 6 else ""
                lines.append(f"      also failing: {', '.join(others)}{more}")
        if unresolved:
            lines.append(f"      {unresolved} edge(s) could not be checked alone (see --json); "
                         "the whole loss decides for them")
    c = data.get("composition")
    if c is not None:
        error = "—" if c["max_rel_error"] is None else f"{c['max_rel_error']:.1e}"
        verdict = "ok" if c["ok"] else "FAILED"
        if c["ok"] and not c["resolved"]:
            verdict = "not resolved"
        lines.append(f"  composition: every leaf moved at once along {c['directions']} random "
                     f"direction(s): max rel error {error}  {verdict}")
        if c["note"]:
            lines.append(f"      {c['note']}")
    return lines


#: Rows of leaves judged by their ops shown in the text report; --json lists all.
LEAF_ROWS = 12


def check_text(data: dict) -> str:
    """The check report as a person reads it."""
    lines = [f"{printable(data['source'])}: backprop against finite differences"]
    broken = data.get("nonfinite") or {}
    for side in ("forward", "backward"):
        if broken.get(side):
            lines.append(f"  NaN or Inf appears first in the {side} pass at node {broken[side]!r}")
    lines += _ops_text(data)
    if data["gradients"]:
        lines.append("gradients, " + ("leaf by leaf against the whole loss" if data.get("per_leaf", True)
                                      else "judged by the ops on their way to the loss"))
    rows = data["gradients"]
    hidden = 0
    if not data.get("per_leaf", True) and len(rows) > LEAF_ROWS:
        # judged by their ops, the rows of a deep net repeat each other: failures, then a few
        shown = [r for r in rows if not r["ok"]][:LEAF_ROWS]
        shown += [r for r in rows if r["ok"]][:LEAF_ROWS - len(shown)]
        hidden, rows = len(rows) - len(shown), [r for r in rows if r in shown]
    width = max([len(r["wrt"]) for r in rows] + [4])
    for r in rows:
        shape = "×".join(map(str, r["shape"])) or "scalar"
        error = "—" if r["max_rel_error"] is None else f"{r['max_rel_error']:.1e}"
        verdict = "ok" if r["ok"] else "FAILED"
        if r["ok"] and r["max_rel_error"] is not None and r["max_rel_error"] > 1e-5 and r["method"] != "ops":
            verdict = f"ok (the differences are within the quotients' own error, {r['noise']:.1e})"
        lines.append(f"  ∇{r['wrt']:<{width}}  {shape:<9} {r['method']:<19} "
                     f"max rel error {error}  {verdict}")
        if r["note"]:
            lines.append(f"      {r['note']}")
    if hidden:
        failing = sum(not r["ok"] for r in data["gradients"]) - sum(not r["ok"] for r in rows)
        lines.append(f"  … and {hidden} more leaves, " + (f"{failing} of them FAILED" if failing
                                                         else "all ok") + " (--json lists them)")
    if data["claims"]:
        lines.append("claims")
    for c in data["claims"]:
        verdict = "holds" if c["ok"] else "FAILS"
        detail = printable(c["reason"]) if c["reason"] else (
            f"max rel error {c['max_rel_error']:.1e} over {c['trials']} draw(s)")
        lines.append(f"  ∇{c['wrt']} = {printable(c['expr'])}")
        lines.append(f"      {verdict}: {detail}")
        if c["varied"]:
            lines.append(f"      varied between draws: {', '.join(c['varied'])}")
        if c["warning"]:
            lines.append(f"      warning: {c['warning']}")
    if not data.get("checked", 1):
        lines.append("nothing was checked: the loss has no param or input leaf, and no "
                     "claim was given")
    else:
        lines.append("all checks pass" if data["ok"] else "some checks FAILED")
    return "\n".join(lines)
