"""What a figure writes on an op node, as a textbook would: the op's symbol (· for a
product with a number), the unnamed numbers it takes (0.5 ·, − 1) drawn inside it rather
than as nodes of their own, and, for an unnamed op of named arguments, the formula it
computes as the course prints it (W x, Wᵀ, ‖r‖²)."""

from __future__ import annotations

from .graph import arguments
from .ops import OPS
from .printing import to_text
from .quoting import number, shorten
from .terms import Apply, Name

__all__ = ["inlined", "drawn_symbol", "written_out", "CAPTION_LENGTH"]


def inlined(G) -> frozenset:
    """Unnamed numbers (½, 2, −1) used once: a textbook writes them inside the op that
    takes them (0.5 ·, − 1) rather than as nodes of their own."""
    return frozenset(
        n for n, attrs in G.nodes(data=True)
        if attrs["kind"] == "const" and attrs["shape"] == () and not attrs["named"]
        and G.out_degree(n) == 1 and all(G.nodes[v]["kind"] == "op" for v in G.successors(n)))


def drawn_symbol(G, n, inline: frozenset = frozenset()) -> str:
    """An op node's drawn symbol: ``·`` for a product with a number, and the numbers
    drawn inside it (``0.5 ·``, ``− 1``)."""
    attrs = G.nodes[n]
    args = [u for u, _, _, _ in arguments(G, n)]
    scaled = any(G.nodes[u]["shape"] == () for u in args)
    symbol = OPS[attrs["op"]].display(attrs["params"], scaled)
    numbers = {slot: number(float(G.nodes[u]["value"]), 4) for slot, u in enumerate(args)
               if u in inline}
    if numbers and symbol.isalpha():  # a function's name: maximum(0, ·)
        return f"{symbol}({', '.join(numbers.get(k, '·') for k in range(len(args)))})"
    for slot, value in numbers.items():
        symbol = f"{value} {symbol}" if slot == 0 else f"{symbol} {value}"
    return symbol


#: Longest formula an unnamed op is captioned with (W x, Wᵀ, α K).
CAPTION_LENGTH = 14


def written_out(G, n) -> str | None:
    """An unnamed op of named arguments written as a formula (``W x`` under @), or None
    where an argument has no name or the formula is long."""
    args = [u for u, _, _, _ in arguments(G, n)]
    if not args or not all(G.nodes[u]["label"] for u in args):
        return None
    labels = {u: shorten(G.nodes[u]["label"]) for u in args}
    scalars = frozenset(u for u in args if G.nodes[u]["shape"] == ())
    term = Apply(G.nodes[n]["op"], tuple(Name(u) for u in args),
                 tuple(sorted(G.nodes[n]["params"].items())))
    try:
        text = to_text(term, labels, scalars)
    except Exception:  # an op the printer cannot write alone (a rule-only op): no caption
        return None
    return text if len(text) <= CAPTION_LENGTH else None
