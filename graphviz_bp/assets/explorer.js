// The explorer's behaviour: the figure is Graphviz's SVG, the numbers are the inspect
// --json document (#graph-data), names, rules and the derivation are #explorer-data.
// Nothing is fetched: everything the page shows is in the page.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const doc = JSON.parse($("graph-data").textContent);
  const ex = JSON.parse($("explorer-data").textContent);
  const LOSS = ex.loss;  // the loss node (doc.loss is its value)
  const HEATMAP_ENTRIES = 30;       // more entries than a figure writes out: a heatmap too
  const TABLE_ENTRIES = 5000;       // numbers written in a panel, at most
  const HEATMAP_PIXELS = 300;       // the heatmap's widest side
  const PLAY_MS = 1100;
  const MAX_FIT_SCALE = 1.5;        // a small figure is not blown up past this
  const READABLE_PX = 56;           // a node stepped to or found is zoomed to at least this

  // ---- the graph, indexed -------------------------------------------------------------
  const nodes = new Map(doc.nodes.map((n) => [n.id, Object.assign({}, n, ex.nodes[n.id])]));
  const edgeId = (u, v, k) => `edge-${u}-${v}-${k}`;
  const edges = new Map();
  const outEdges = new Map(), inEdges = new Map();
  for (const n of nodes.keys()) { outEdges.set(n, []); inEdges.set(n, []); }
  doc.edges.forEach((e, i) => {
    const id = edgeId(e.source, e.target, e.slot);
    const edge = Object.assign({ id }, e, ex.edges[i]);
    edges.set(id, edge);
    outEdges.get(e.source).push(edge);
    inEdges.get(e.target).push(edge);
  });
  const flowsInto = (n) => inEdges.get(n).filter((e) => e.grad !== null);
  const flowsOutOf = (n) => outEdges.get(n).filter((e) => e.grad !== null)
    .sort((a, b) => (a.path || 0) - (b.path || 0));
  const elementKey = new Map();  // an SVG group's id → what it shows
  for (const n of nodes.keys()) elementKey.set(`node-${n}`, { type: "node", id: n });
  for (const id of edges.keys()) elementKey.set(id, { type: "edge", id });
  for (const f of Object.keys(ex.folds)) elementKey.set(`node-${f}`, { type: "fold", id: f });

  // Nodes from which the loss is reached: a path to the loss only runs through these.
  const reachesLoss = new Set([LOSS]);
  for (const n of [...ex.order].reverse()) {
    if (outEdges.get(n).some((e) => reachesLoss.has(e.target))) reachesLoss.add(n);
  }
  function pathsToLoss(start) {
    const seen = new Set([start]), on = new Set(), queue = [start];
    while (queue.length) {
      const n = queue.shift();
      for (const e of outEdges.get(n)) {
        if (!reachesLoss.has(e.target)) continue;
        on.add(e.id);
        if (!seen.has(e.target)) { seen.add(e.target); queue.push(e.target); }
      }
    }
    return { nodes: seen, edges: on };
  }

  // ---- numbers ------------------------------------------------------------------------
  const asNumber = (x) => (typeof x === "string" ? Number(x) : x);  // "NaN", "Infinity", "-Infinity"
  function flat(value) {
    const data = [], shape = [];
    let level = value;
    while (Array.isArray(level)) { shape.push(level.length); level = level[0]; }
    (function walk(v) { if (Array.isArray(v)) v.forEach(walk); else data.push(asNumber(v)); })(value);
    return { data, shape };
  }
  function fmt(x) {
    if (Number.isNaN(x)) return "NaN";
    if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
    if (x === 0) return "0";
    const a = Math.abs(x);
    const text = a >= 1e-4 && a < 1e6 ? String(Number(x.toPrecision(6))) : x.toExponential(4);
    return text.replace("e+", "e").replace(/-/g, "−");
  }
  const shapeText = (shape) => (shape.length ? shape.join("×") : "scalar");
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c);
    return e;
  }
  // A matrix for display: a vector as a row, a stack as rows of its leading axes.
  function asMatrix({ data, shape }) {
    const cols = shape.length ? shape[shape.length - 1] : 1;
    return { rows: cols ? data.length / cols : 0, cols };
  }
  function numbersTable(flatValue, role) {
    const { data, shape } = flatValue;
    const { rows, cols } = asMatrix(flatValue);
    const shown = Math.min(rows, Math.max(1, Math.floor(TABLE_ENTRIES / Math.max(cols, 1))));
    const table = el("table", { "data-role": role, "data-shape": JSON.stringify(shape) });
    for (let r = 0; r < shown; r++) {
      const tr = el("tr");
      if (rows > 1) tr.append(el("td", { class: "index" }, String(r)));
      for (let c = 0; c < cols; c++) {
        const x = data[r * cols + c];
        tr.append(el("td", { class: Number.isFinite(x) ? null : "nonfinite", title: String(x),
                             "data-value": String(x) }, fmt(x)));
      }
      table.append(tr);
    }
    const box = el("div", { class: "array" }, table);
    const notes = [];
    if (shape.length > 2) notes.push(`rows: ${shape.slice(0, -1).join("×")}, by ${cols}`);
    if (shown < rows) notes.push(`first ${shown} of ${rows} rows`);
    return [box, notes.length ? el("div", { class: "array-note" }, notes.join("; ")) : null];
  }
  function heatmap(flatValue) {
    const { data } = flatValue;
    const { rows, cols } = asMatrix(flatValue);
    const finite = data.filter(Number.isFinite);
    const scale = finite.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const by = Math.max(1, Math.ceil(Math.max(rows, cols) / 150));  // block means past 150 a side
    const gr = Math.ceil(rows / by), gc = Math.ceil(cols / by);
    const cell = Math.max(1, Math.min(14, Math.floor(HEATMAP_PIXELS / Math.max(gr, gc))));
    const canvas = el("canvas", { class: "heatmap", width: gc * cell, height: gr * cell });
    const ctx = canvas.getContext("2d");
    const steps = (ex.style.palette.length - 1) / 2;
    for (let i = 0; i < gr; i++) {
      for (let j = 0; j < gc; j++) {
        let sum = 0, count = 0, bad = false;
        for (let r = i * by; r < Math.min(rows, (i + 1) * by); r++) {
          for (let c = j * by; c < Math.min(cols, (j + 1) * by); c++) {
            const x = data[r * cols + c];
            if (Number.isFinite(x)) { sum += x; count++; } else bad = true;
          }
        }
        const mean = count ? sum / count : 0;
        const step = scale ? Math.max(-steps, Math.min(steps, Math.round(mean / scale * steps))) : 0;
        ctx.fillStyle = bad ? ex.style.nan : ex.style.palette[step + steps];
        ctx.fillRect(j * cell, i * cell, cell, cell);
      }
    }
    const bar = el("span", { class: "bar", style:
      `background: linear-gradient(to right, ${ex.style.palette.join(", ")})` });
    const note = by > 1 ? ` · means of ${by}×${by} blocks` : "";
    return [canvas, el("div", { class: "scale" }, fmt(-scale), bar, fmt(scale),
                       `${note}${finite.length < data.length ? " · NaN or ±∞ in yellow" : ""}`)];
  }
  function arrayView(value, role) {
    if (value === null || value === undefined) return el("span", { class: "array-note" }, "none");
    const f = flat(value);
    if (!f.shape.length) {
      const x = f.data[0];
      return el("span", { class: Number.isFinite(x) ? "number" : "number nonfinite", "data-role": role,
                          title: String(x), "data-value": String(x) }, fmt(x));
    }
    return el("div", { class: "array-view" },
              f.data.length > HEATMAP_ENTRIES ? heatmap(f) : null, numbersTable(f, role));
  }
  // Entrywise sum of arrays of one shape (nested lists), and the largest difference to a total.
  function sumOf(values) {
    const flats = values.map(flat);
    const data = flats[0].data.map((_, i) => flats.reduce((s, f) => s + f.data[i], 0));
    return { data, shape: flats[0].shape };
  }
  function largestDifference(sum, total) {
    const t = flat(total).data;
    let diff = 0, size = 0;
    sum.data.forEach((x, i) => {
      if (Number.isFinite(x) || Number.isFinite(t[i])) diff = Math.max(diff, Math.abs(x - t[i]));
      if (Number.isFinite(t[i])) size = Math.max(size, Math.abs(t[i]));
      if (Number.isNaN(x) !== Number.isNaN(t[i])) diff = Infinity;
    });
    if (sum.data.every((x, i) => Object.is(x, t[i]) || x === t[i])) diff = 0;
    return { diff, size, equal: diff <= 1e-12 * Math.max(size, 1e-300) || diff === 0 };
  }
  function unflatten({ data, shape }) {
    if (!shape.length) return data[0];
    const build = (offset, dims) => {
      if (dims.length === 1) return data.slice(offset, offset + dims[0]);
      const step = dims.slice(1).reduce((a, b) => a * b, 1);
      return Array.from({ length: dims[0] }, (_, i) => build(offset + i * step, dims.slice(1)));
    };
    return build(0, shape);
  }

  // ---- the figure ---------------------------------------------------------------------
  const figure = $("figure");
  const unfoldedTemplate = $("figure-unfolded");
  const foldedSvg = figure.querySelector("svg");
  let svg = foldedSvg, view = null, home = null, expanded = false;
  function setUpSvg(s) {
    const [x, y, w, h] = s.getAttribute("viewBox").split(/[\s,]+/).map(Number);
    home = { x, y, w, h };
    // A small figure is shown at most 1.5 times its size, not blown up to the window.
    const room = figure.getBoundingClientRect();
    const scale = Math.min(room.width / w, room.height / h);
    if (scale > MAX_FIT_SCALE) {
      const W = room.width / MAX_FIT_SCALE, H = room.height / MAX_FIT_SCALE;
      home = { x: x - (W - w) / 2, y: y - (H - h) / 2, w: W, h: H };
    }
    view = { ...home };
    s.removeAttribute("width"); s.removeAttribute("height");
    s.setAttribute("preserveAspectRatio", "xMidYMid meet");
    if (!s.querySelector("path.hit")) markShapes(s);
  }
  // The page styles a node's outline and an edge's line and head, not what their labels
  // hold (a heatmap's cells are polygons too): mark them, and give each edge a wide
  // invisible twin of its line, a thin line being hard to hit.
  function markShapes(s) {
    s.querySelectorAll("g.node").forEach((group) => {
      for (const shape of group.querySelectorAll("path, ellipse, polygon")) {
        if (shape.previousElementSibling && shape.previousElementSibling.tagName === "text") break;
        shape.classList.add("shape");
        if (shape.tagName !== "ellipse") break;  // a loss has two ellipses, others one shape
      }
    });
    // Gradient text is written in the gradient's colour or its path's: while stepping it
    // shows only where the backward pass has reached.
    const gradColours = new Set([ex.style.grad, ...ex.style.paths].map((c) => c.toLowerCase()));
    s.querySelectorAll("g.node text, g.edge text").forEach((text) => {
      if (gradColours.has((text.getAttribute("fill") || "").toLowerCase())) text.classList.add("grad-text");
    });
    s.querySelectorAll("g.edge").forEach((group) => {
      // An edge's label (numbers, a heatmap's cells) sits in a group of its own: only the
      // line and the arrowhead outside it are the edge's.
      const own = (x) => !x.closest('g[id$="-label"]');
      [...group.querySelectorAll("path")].filter(own).forEach((line) => {
        line.classList.add("line");
        const hit = line.cloneNode(false);
        hit.setAttribute("class", "hit");
        line.before(hit);
      });
      [...group.querySelectorAll("polygon")].filter(own).forEach((head) => head.classList.add("head"));
    });
  }
  function applyView() { svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`); }
  function toSvgPoint(clientX, clientY) {
    const p = svg.createSVGPoint(); p.x = clientX; p.y = clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  function zoom(factor, clientX, clientY) {
    const box = svg.getBoundingClientRect();
    const p = toSvgPoint(clientX ?? box.left + box.width / 2, clientY ?? box.top + box.height / 2);
    const w = Math.min(home.w * 20, Math.max(home.w / 200, view.w / factor));
    const actual = view.w / w;
    view = { x: p.x - (p.x - view.x) / actual, y: p.y - (p.y - view.y) / actual, w, h: view.h / actual };
    applyView();
  }
  function fit() { view = { ...home }; applyView(); }
  function centerOn(element) {
    if (!element) return;
    const r = element.getBoundingClientRect(), box = svg.getBoundingClientRect();
    const c = toSvgPoint(r.left + r.width / 2, r.top + r.height / 2);
    const size = Math.max(r.width, r.height);
    const visible = r.left >= box.left && r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom;
    if (visible && size >= READABLE_PX / 2) return;
    if (size < READABLE_PX / 2) {
      const f = READABLE_PX / Math.max(size, 1);
      view.w /= f; view.h /= f;
    }
    view.x = c.x - view.w / 2; view.y = c.y - view.h / 2;
    applyView();
  }
  figure.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoom(Math.exp(-event.deltaY * (event.deltaMode ? 0.05 : 0.0015)), event.clientX, event.clientY);
  }, { passive: false });
  let drag = null;
  figure.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, view: { ...view }, moved: false };
  });
  window.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    figure.classList.add("dragging");
    const box = svg.getBoundingClientRect();
    const scale = Math.max(drag.view.w / box.width, drag.view.h / box.height);
    view = { ...drag.view, x: drag.view.x - dx * scale, y: drag.view.y - dy * scale };
    applyView();
  });
  let justDragged = false;  // the click that ends a drag on the figure is not a click
  window.addEventListener("pointerup", (event) => {
    justDragged = Boolean(drag && drag.moved && figure.contains(event.target));
    drag = null; figure.classList.remove("dragging");
  });

  // The SVG group that shows node n: its own, or the box it is folded into.
  function nodeElement(n) { return $(`node-${n}`) || (ex.fold_of[n] ? $(`node-${ex.fold_of[n]}`) : null); }
  function edgeElement(e) {
    return $(e.id) || $(`edge-${ex.fold_of[e.source] || e.source}-${ex.fold_of[e.target] || e.target}-fold`);
  }
  function clearClass(name) { svg.querySelectorAll(`.${name}`).forEach((x) => x.classList.remove(name)); }

  // ---- hover: the paths to the loss ---------------------------------------------------
  function showPaths(key) {
    if (!key || key.type === "fold") return;
    const start = key.type === "node" ? key.id : edges.get(key.id).target;
    const { nodes: on, edges: onEdges } = pathsToLoss(start);
    if (key.type === "edge") { onEdges.add(key.id); on.add(edges.get(key.id).source); }
    svg.classList.add("dimmed");
    on.forEach((n) => nodeElement(n)?.classList.add("on-path"));
    onEdges.forEach((id) => edgeElement(edges.get(id))?.classList.add("on-path"));
  }
  function hidePaths() { svg.classList.remove("dimmed"); clearClass("on-path"); }
  const keyOf = (target) => {
    const group = target.closest && target.closest("g.node, g.edge");
    return group ? elementKey.get(group.id) || null : null;
  };
  figure.addEventListener("mouseover", (event) => { hidePaths(); showPaths(keyOf(event.target)); });
  figure.addEventListener("mouseleave", hidePaths);
  figure.addEventListener("click", (event) => {
    if (justDragged) { justDragged = false; return; }
    const key = keyOf(event.target);
    if (!key) return;
    if (key.type === "fold") expandFold(key.id); else select(key, { from: "figure" });
  });

  // ---- details --------------------------------------------------------------------------
  const details = $("details");
  let selected = null;
  const nodeLink = (n) => el("a", { class: "node-link", onclick: () => select({ type: "node", id: n }, { center: true }) },
                             nodes.get(n).name);
  const mark = (e) => (e.path ? ex.marks[e.path] : "");
  const markSpan = (e) => el("span", { class: "mark", style: e.path ? `color: ${ex.style.paths[(e.path - 1) % ex.style.paths.length]}` : null }, mark(e));
  function facts(pairs) {
    return el("dl", { class: "facts" }, pairs.filter((p) => p[1] !== null && p[1] !== undefined)
      .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  }
  function contributionsView(n, arrived) {
    // Each contribution to ∇n that has arrived, and their sum checked against the total.
    const node = nodes.get(n), parts = arrived || flowsOutOf(n);
    const all = flowsOutOf(n).length;
    const box = el("div", { class: "running-sum", "data-node": n, "data-arrived": parts.length,
                            "data-paths": all });
    const marks = parts.map(mark).join(" + ");
    if (!parts.length) return box;
    const sum = sumOf(parts.map((e) => e.grad));
    box.dataset.sum = JSON.stringify(unflatten(sum));
    if (parts.length < all) {
      box.append(el("div", {}, `${node.grad_name} so far = ${marks}`,
                    el("span", { class: "array-note" }, `  (${parts.length} of ${all} contributions arrived)`)),
                 arrayView(unflatten(sum), "running-sum"));
      box.dataset.complete = "false";
      return box;
    }
    const check = largestDifference(sum, node.grad);
    box.dataset.complete = "true";
    box.dataset.equal = String(check.equal);
    box.append(el("div", {}, `${node.grad_name} = ${marks}`), arrayView(unflatten(sum), "running-sum"),
               el("div", { class: check.equal ? "ok" : "bad" }, check.equal
                 ? (sum.data.every(Number.isFinite) ? `✓ the sum equals the total ${node.grad_name} (largest difference ${fmt(check.diff)})`
                   : `✓ the sum is the total ${node.grad_name} entry by entry, NaN and ∞ where it has them`)
                 : `✗ the sum differs from the total ${node.grad_name} by ${fmt(check.diff)}`));
    return box;
  }
  function nodeDetails(n) {
    const node = nodes.get(n);
    const kind = node.kind === "op" ? `${node.op} (${node.symbol})` : node.kind;
    const paths = flowsOutOf(n);
    const out = [el("h2", {}, node.name, " ", el("span", { class: "array-note" }, node.kind === "op" ? "" : node.kind))];
    const nonfinite = ex.fold_of[n] && !$(`node-${n}`) ? "folded into a box of the figure" : null;
    out.push(facts([["node", el("code", {}, n)], ["op", node.kind === "op" ? kind : null],
                    ["parameters", node.params && Object.keys(node.params).length
                      ? Object.entries(node.params).map(([k, v]) => `${k}=${v}`).join(", ") : null],
                    ["shape", shapeText(node.shape)], ["defined as", node.definition ? el("span", { class: "formula" }, node.definition) : null],
                    ["drawn", nonfinite]]));
    out.push(el("h3", {}, "value"), arrayView(node.value, "value"));
    out.push(el("h3", { class: "grad" }, `gradient ${node.grad_name}`));
    if (node.grad === null) {
      out.push(el("p", { class: "array-note" }, node.kind === "const"
        ? "none: a constant has no gradient" : "none: no gradient reaches this node"));
      return out;
    }
    out.push(arrayView(node.grad, "gradient"));
    if (node.formula_text) out.push(el("h3", {}, "formula"), el("div", { class: "formula" }, `${node.grad_name} = ${node.formula_text}`));
    if (node.written_out) out.push(el("div", { class: "formula" }, `written out: ∇${node.name} = ${node.written_out}`));
    if (node.formula) out.push(el("div", {}, el("code", { class: "expression", title: "as check --claim takes it" }, node.formula)));
    if (paths.length) {
      out.push(el("h3", {}, paths.length > 1 ? `${paths.length} paths to the loss: contributions` : "its gradient, by the rule of the op it feeds"));
      for (const e of paths) {
        out.push(el("div", { class: "contribution", "data-edge": e.id }, markSpan(e), " into ", nodeLink(e.target),
                    ` (${e.op}, argument ${e.slot}): rule `, el("span", { class: "formula" }, e.rule),
                    el("div", {}, "= ", el("span", { class: "formula" }, e.formula_text)),
                    paths.length > 1 ? arrayView(e.grad, "contribution") : null));
      }
      if (paths.length > 1) out.push(contributionsView(n));
    }
    const into = flowsInto(n);
    if (into.length) {
      out.push(el("h3", {}, "its rule, backwards to its arguments"));
      for (const e of into) {
        out.push(el("div", { class: "contribution", "data-edge": e.id }, `to argument ${e.slot}, `, nodeLink(e.source),
                    ": ", el("span", { class: "formula" }, e.rule), " = ", el("span", { class: "formula" }, e.formula_text)));
      }
    }
    return out;
  }
  function edgeDetails(id) {
    const e = edges.get(id);
    const target = nodes.get(e.target);
    const out = [el("h2", {}, markSpan(e), " ", nodes.get(e.source).name, " → ", target.name)];
    out.push(facts([["edge", el("code", {}, id)], ["into", target.kind === "op" ? `${target.op}, argument ${e.slot}` : target.kind],
                    ["shape", shapeText(nodes.get(e.source).shape)]]));
    out.push(el("h3", {}, "value carried forwards"), arrayView(e.value, "value"));
    out.push(el("h3", { class: "grad" }, "gradient carried back"));
    if (e.grad === null) { out.push(el("p", { class: "array-note" }, "none: no gradient flows along this edge")); return out; }
    out.push(el("div", {}, `upstream ${target.grad_name}, through `, el("span", { class: "formula" }, `${e.op} rule ${e.rule}`)));
    out.push(el("div", { class: "formula" }, `= ${e.formula_text}`), arrayView(e.grad, "gradient"));
    out.push(el("div", {}, el("code", { class: "expression", title: "as check --claim takes it" }, e.formula)));
    const source = nodes.get(e.source);
    if (flowsOutOf(e.source).length > 1) {
      out.push(el("p", {}, `${mark(e)} is one of ${flowsOutOf(e.source).length} contributions to `, nodeLink(e.source), "."));
    } else if (source.grad !== null) out.push(el("p", {}, "It is all of ", nodeLink(e.source), "'s gradient."));
    return out;
  }
  function foldDetails(f) {
    const fold = ex.folds[f];
    const out = [el("h2", {}, `×${fold.count} ${fold.named ? "layers" : "alike blocks"} folded`)];
    const told = !unfoldedTemplate ? "The figure is too large to draw unfolded here; "
      : expanded ? "Drawn unfolded, outlined in orange (Fold again draws the box); " : "Click the box to draw them all; ";
    out.push(el("p", {}, told, `it holds ${fold.nodes.length} nodes:`));
    out.push(el("ol", {}, fold.nodes.map((n) => el("li", {}, nodeLink(n)))));
    return out;
  }
  function select(key, { center = false, from = null } = {}) {
    selected = key;
    clearClass("selected"); clearClass("linked");
    document.querySelectorAll("#derivation .linked").forEach((x) => x.classList.remove("linked"));
    details.replaceChildren(...(key.type === "node" ? nodeDetails(key.id)
      : key.type === "edge" ? edgeDetails(key.id) : foldDetails(key.id)));
    const element = key.type === "node" ? nodeElement(key.id)
      : key.type === "edge" ? edgeElement(edges.get(key.id)) || nodeElement(edges.get(key.id).source)
      : $(`node-${key.id}`);
    element?.classList.add("selected");
    // The derivation's steps of what was clicked: its part for an edge; for a node, its
    // definition and its backward step (scrolled to, the last).
    const linked = [...document.querySelectorAll(key.type === "edge"
      ? `#derivation .part[data-edge="${CSS.escape(key.id)}"]`
      : `#derivation li[data-node="${CSS.escape(key.id)}"]`)];
    const step = linked[linked.length - 1];
    if (key.type === "edge") element?.classList.add("linked");
    linked.forEach((x) => x.classList.add("linked"));
    if ($("derivation").hidden) showTab("details");  // an open derivation stays open
    else if (step && from !== "derivation") step.scrollIntoView({ block: "nearest" });
    if (center) centerOn(element);
  }

  // ---- the derivation -------------------------------------------------------------------
  function buildDerivation() {
    const d = ex.derivation, box = $("derivation");
    const part = (edge, ...content) => el("span", {
      class: "part", "data-edge": edgeId(...edge), tabindex: "0",
      onclick: () => select({ type: "edge", id: edgeId(...edge) }, { center: true, from: "derivation" }),
      onkeydown: (e) => { if (e.key === "Enter") e.target.click(); } }, ...content);
    box.append(el("h3", {}, "forward"),
               el("ol", {}, d.forward.map((f) => el("li", { "data-node": f.node }, el("a", { class: "node-link", onclick: () => select({ type: "node", id: f.node }, { center: true }) }, f.text)))));
    box.append(el("h3", {}, `backward, from the loss (∂L/∂${nodes.get(LOSS).name} = 1)`));
    box.append(el("ol", {}, d.backward.map((step) => {
      if (step.parts.length === 1) {
        const p = step.parts[0];
        return el("li", { "data-node": step.node }, part(p.edge, `${step.grad} = ${p.term} `,
                  el("span", { class: "rule" }, `[into ${p.into}: ${p.op} rule ${p.rule}]`)));
      }
      return el("li", { "data-node": step.node }, `${step.grad}: along ${step.parts.length} edges`,
        step.parts.map((p, i) => part(p.edge, `${ex.marks[i + 1]} `, `into ${p.into} `,
                                       el("span", { class: "rule" }, `[${p.op} rule ${p.rule}]`), `: ${p.term}`)),
        el("div", {}, `${step.grad} = ${step.parts.map((_, i) => ex.marks[i + 1]).join(" + ")} = ${step.total}`));
    })));
    box.append(el("h3", {}, "result, written out"), el("ul", {}, d.result.map((r) => el("li", {}, r.text))));
  }
  function showTab(name) {
    for (const tab of ["details", "derivation", "help"]) {
      $(tab).hidden = tab !== name;
      $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    }
  }
  for (const tab of ["details", "derivation", "help"]) $(`tab-${tab}`).addEventListener("click", () => showTab(tab));

  // ---- stepping through both passes -------------------------------------------------------
  const steps = [
    ...ex.order.filter((n) => nodes.get(n).kind !== "const").map((n) => ({ phase: "forward", node: n })),
    ...[...ex.order].reverse().filter((n) => nodes.get(n).grad !== null).map((n) => ({ phase: "backward", node: n })),
  ];
  const forwardCount = steps.filter((s) => s.phase === "forward").length;
  let at = -1, timer = null;
  const stepPanel = $("step-panel");
  function chainRule(e) {
    // One contribution: upstream gradient, the rule, and what flows into the argument.
    const target = nodes.get(e.target);
    return el("div", { class: "chain", "data-edge": e.id },
      el("div", {}, markSpan(e), " to ", nodeLink(e.source), ` (argument ${e.slot} of ${e.op})`),
      el("div", {}, `upstream ${target.grad_name} =`), arrayView(target.grad, "upstream"),
      el("div", {}, "local rule ", el("span", { class: "formula" }, `${e.op}: ${e.rule}`),
         el("span", { class: "array-note" }, "  (g: the upstream gradient; a, b: the arguments; out: the value)")),
      el("div", {}, "contribution ", el("span", { class: "formula" }, e.formula_text), " ="),
      arrayView(e.grad, "contribution"));
  }
  const byPath = (list) => [...list].sort((a, b) => (a.path || 0) - (b.path || 0));
  function describe(i, arrivedBefore) {
    const s = steps[i], node = nodes.get(s.node);
    const out = [];
    const backward = i - forwardCount + 1, backwardCount = steps.length - forwardCount;
    if (s.phase === "forward") {
      out.push(el("div", { class: "phase" }, `Forward ${i + 1} of ${forwardCount}`));
      out.push(el("h2", {}, node.name, node.kind === "op" && node.definition !== node.name ? ` = ${node.definition}` : ""));
      if (node.kind === "op") {
        out.push(el("div", {}, `${node.op} (${node.symbol}) of:`));
        for (const e of [...inEdges.get(s.node)].sort((a, b) => a.slot - b.slot)) {
          out.push(el("div", {}, el("span", { class: "array-note" }, `argument ${e.slot}: `), nodeLink(e.source),
                      ` (${shapeText(nodes.get(e.source).shape)})`), arrayView(e.value, "argument"));
        }
        out.push(el("div", {}, `gives ${node.name} (${shapeText(node.shape)}) =`));
      } else out.push(el("div", {}, `${{ param: "a parameter", input: "an input" }[node.kind] || node.kind} (${shapeText(node.shape)}) =`));
      out.push(arrayView(node.value, "value"));
      if (s.node === LOSS) out.push(el("p", {}, "The loss: the backward pass starts here."));
      return out;
    }
    out.push(el("div", { class: "phase" }, `Backward ${backward} of ${backwardCount}`));
    out.push(el("h2", { class: "grad" }, s.node === LOSS ? `∂L/∂${node.name} = 1` : `${node.grad_name} is complete`));
    if (s.node !== LOSS) {
      const parts = flowsOutOf(s.node);
      if (parts.length > 1) out.push(contributionsView(s.node));
      else out.push(arrayView(node.grad, "gradient"));
    }
    const into = flowsInto(s.node).sort((a, b) => a.slot - b.slot);
    if (!into.length) {
      out.push(el("p", {}, node.kind === "op" ? "No gradient flows on from here." : `${node.name} is a leaf: its gradient is a result.`));
      return out;
    }
    out.push(el("h3", {}, `passed back to ${into.length === 1 ? "its argument" : `its ${into.length} arguments`}`));
    const sofar = new Map([...arrivedBefore].map(([n, list]) => [n, [...list]]));
    for (const e of into) {
      out.push(chainRule(e));
      if (!sofar.has(e.source)) sofar.set(e.source, []);
      sofar.get(e.source).push(e);
      if (flowsOutOf(e.source).length > 1) out.push(contributionsView(e.source, byPath(sofar.get(e.source))));
    }
    return out;
  }
  function showStep(i) {
    at = Math.max(-1, Math.min(steps.length - 1, i));
    ["current", "computed", "flowed", "gradient-done", "partial"].forEach(clearClass);
    const arrived = new Map();
    let arrivedBefore = new Map();
    svg.classList.toggle("stepping", at >= 0);
    for (let j = 0; j <= at; j++) {
      if (j === at) arrivedBefore = new Map([...arrived].map(([n, list]) => [n, [...list]]));
      const s = steps[j];
      if (s.phase === "forward") {
        nodeElement(s.node)?.classList.add("computed");
        inEdges.get(s.node).forEach((e) => edgeElement(e)?.classList.add("computed"));
        inEdges.get(s.node).forEach((e) => { if (nodes.get(e.source).kind === "const") nodeElement(e.source)?.classList.add("computed"); });
      } else {
        nodeElement(s.node)?.classList.add("gradient-done");
        for (const e of flowsInto(s.node)) {
          edgeElement(e)?.classList.add("flowed");
          if (!arrived.has(e.source)) arrived.set(e.source, []);
          arrived.get(e.source).push(e);
        }
      }
    }
    for (const [n, list] of arrived) {
      if (list.length < flowsOutOf(n).length) nodeElement(n)?.classList.add("partial");
    }
    document.body.dataset.step = String(at);
    if (at < 0) {
      stepPanel.hidden = true;
      $("progress").textContent = `${steps.length} steps: ${forwardCount} forward, ${steps.length - forwardCount} backward`;
      return;
    }
    const s = steps[at];
    const current = nodeElement(s.node);
    current?.classList.add("current");
    if (s.phase === "backward") flowsInto(s.node).forEach((e) => edgeElement(e)?.classList.add("current"));
    stepPanel.hidden = false;
    stepPanel.dataset.phase = s.phase;
    stepPanel.dataset.node = s.node;
    stepPanel.replaceChildren(...describe(at, arrivedBefore));
    $("progress").textContent = `${s.phase} ${s.phase === "forward" ? at + 1 : at - forwardCount + 1} / ${s.phase === "forward" ? forwardCount : steps.length - forwardCount}: ${nodes.get(s.node).name}`;
    centerOn(current);
  }
  function play(on) {
    if (on && at >= steps.length - 1) showStep(-1);
    clearInterval(timer); timer = null;
    if (on) timer = setInterval(() => { if (at >= steps.length - 1) play(false); else showStep(at + 1); }, PLAY_MS);
    $("play").textContent = on ? "Pause" : "Play";
    $("play").setAttribute("aria-pressed", String(Boolean(on)));
  }
  $("step").addEventListener("click", () => { play(false); showStep(at + 1); });
  $("back").addEventListener("click", () => { play(false); showStep(at - 1); });
  $("play").addEventListener("click", () => play(!timer));
  $("restart").addEventListener("click", () => { play(false); showStep(-1); });

  // ---- folded boxes ---------------------------------------------------------------------
  function swapFigure(next) {
    const state = { at, selected };
    svg.replaceWith(next);
    svg = next;
    setUpSvg(svg); applyView();
    showStep(state.at);
    if (state.selected && state.selected.type !== "fold") select(state.selected);
  }
  function expandFold(f) {
    if (!unfoldedTemplate) { select({ type: "fold", id: f }); return; }
    swapFigure(unfoldedTemplate.content.querySelector("svg").cloneNode(true));
    expanded = true;
    $("fold-again").hidden = false;
    const inside = ex.folds[f].nodes.map((n) => $(`node-${n}`)).filter(Boolean);
    inside.forEach((x) => x.classList.add("unfolded-from"));
    select({ type: "fold", id: f });
    const stepped = at >= 0 && ex.fold_of[steps[at].node] === f ? $(`node-${steps[at].node}`) : null;
    centerOn(stepped || inside[0]);
  }
  $("fold-again").addEventListener("click", () => {
    const before = selected;
    expanded = false; $("fold-again").hidden = true;
    swapFigure(foldedSvg);
    if (before && before.type === "fold") select(before);
  });

  // ---- search ---------------------------------------------------------------------------
  const search = $("search");
  $("names").append(...[...nodes.values()].filter((n) => n.kind !== "const" || n.label)
    .map((n) => el("option", { value: n.name === n.id ? n.id : n.name }, n.name === n.id ? null : n.id)));
  function find(text) {
    const t = text.trim().toLowerCase();
    if (!t) return null;
    const all = [...nodes.values()];
    const tests = [(n) => n.id.toLowerCase() === t, (n) => n.name.toLowerCase() === t,
                   (n) => (n.label || "").toLowerCase() === t, (n) => n.name.toLowerCase().startsWith(t),
                   (n) => n.id.toLowerCase().startsWith(t), (n) => n.name.toLowerCase().includes(t)];
    for (const test of tests) { const hit = all.find(test); if (hit) return hit.id; }
    return null;
  }
  function runSearch() {
    const n = find(search.value);
    search.classList.toggle("not-found", Boolean(search.value.trim()) && !n);
    if (n) select({ type: "node", id: n }, { center: true });
  }
  search.addEventListener("change", runSearch);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); runSearch(); }
    if (e.key === "Escape") { search.value = ""; search.blur(); }
  });

  // ---- keys -----------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
    const actions = {
      ArrowRight: () => $("step").click(), ArrowLeft: () => $("back").click(),
      " ": () => $("play").click(), Home: () => $("restart").click(),
      End: () => { play(false); showStep(steps.length - 1); },
      "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8), "0": fit,
      "/": () => search.focus(),
      Escape: () => { hidePaths(); clearClass("selected"); clearClass("linked"); },
    };
    if (actions[e.key]) { e.preventDefault(); actions[e.key](); }
  });
  $("zoom-in").addEventListener("click", () => zoom(1.25));
  $("zoom-out").addEventListener("click", () => zoom(0.8));
  $("fit").addEventListener("click", fit);

  // ---- start ----------------------------------------------------------------------------
  setUpSvg(svg); applyView();
  buildDerivation();
  const problem = doc.nonfinite.forward || doc.nonfinite.backward;
  details.replaceChildren(
    el("p", { class: "empty" }, "Click a node or an edge for its numbers, rule and formula; hover one for its paths to the loss; ",
       "Step (→) walks the forward pass, then the backward pass."),
    el("p", {}, `The loss `, nodeLink(LOSS), ` = ${fmt(asNumber(nodes.get(LOSS).value))}.`),
    ...(problem ? [el("p", { class: "bad" }, "NaN or ∞ appears first at ", nodeLink(problem), ".")] : []));
  showStep(-1);
  document.body.dataset.ready = "true";
})();
