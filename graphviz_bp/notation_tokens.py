"""The tokens of printed formulas, for :mod:`graphviz_bp.notation`: numbers, names with
their sub- and superscripts, and the symbols derive prints (− ⊙ ᵀ ∂ √ 𝟙 ‖ ≥ …)."""

from __future__ import annotations

from typing import Callable, NamedTuple

from .expr import ExpressionError, _excerpt

__all__ = ["SUBSCRIPTS", "SUPERSCRIPTS", "DIGITS", "SYMBOLS", "TESTS", "OPENERS", "GREEK",
           "EXPONENT", "LEVELS", "Token", "is_greek", "in_word", "tokens", "notation_error"]

SUBSCRIPTS, SUPERSCRIPTS, DIGITS = "₀₁₂₃₄₅₆₇₈₉", "⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789"
SYMBOLS = {**dict(zip("−-+/@*⊙·⋅ᵀ⊤()[],=>|‖∂√𝟙<≥≤≠:", "−−+/@*⊙⊙⊙ᵀᵀ()[],=>|‖∂√𝟙<≥≤≠:")),
           ".T": "ᵀ", "**": "**", "...": "...", ">=": "≥", "<=": "≤", "!=": "≠", "==": "="}
#: A mask's comparison as printed → the ``test`` of the ``compare`` op.
TESTS = {">": ">", "<": "<", "≥": ">=", "≤": "<=", "=": "==", "≠": "!="}
OPENERS = "([∂√𝟙|‖"  # they begin an operand, as numbers and words do
GREEK = {"λ": ("lam", "lambda_"), "ε": ("eps",)}
EXPONENT = str.maketrans(SUPERSCRIPTS + "⁻·", DIGITS + "-.")
LEVELS = ({"+": "+", "−": "-"}, {"/": "/", "*": "*", "@": "@"}, {"⊙": "*"})  # → the token


class Token(NamedTuple):
    kind: str        # num, word, sup (a superscript exponent), sym, end
    text: str        # a symbol by its meaning: − for - and −, ⊙ for ·, ᵀ for .T
    start: int
    end: int
    value: float = 0.0
    sign: bool = False  # −, | or ‖ with a space before and none after: it begins an operand


def is_greek(c: str) -> bool:
    return "\u0370" <= c <= "\u03ff" and c.isalpha() and c != "Σ"


def in_word(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_") or c in SUBSCRIPTS


def skip(text: str, i: int, ok: Callable[[str], bool]) -> int:
    while i < len(text) and ok(text[i]):
        i += 1
    return i


def tokens(text: str) -> list[Token]:
    tokens, i, n = [], 0, len(text)
    while (i := skip(text, i, str.isspace)) < n:
        c, after, kind, value = text[i], text[i + 1:i + 2], "sym", 0.0
        if c in DIGITS or c == "." and after in tuple(DIGITS):
            if text[i:(end := skip(text, i, lambda d: d in DIGITS + "."))].count(".") > 1:
                raise notation_error(f"malformed number {text[i:end]!r}", text, i, end)
            sign = end + 1 + (text[end + 1:end + 2] in ("+", "-", "−"))
            if text[end:end + 1] in ("e", "E") and text[sign:sign + 1] in tuple(DIGITS):
                end = skip(text, sign, lambda d: d in DIGITS)
            kind, value = "num", float(text[i:end].replace("−", "-"))
        elif c == "½":
            kind, end, value = "num", i + 1, 0.5
        elif is_greek(c):  # one letter, perhaps with an index: α, α₂
            kind, end = "word", skip(text, i + 1, lambda d: d in SUBSCRIPTS)
        elif c.isascii() and (c.isalpha() or c == "_") or c == "Σ":
            kind, end = "word", skip(text, i + 1, in_word) if c != "Σ" or after == "_" else i + 1
            if text[i:end].endswith("_axis") and text[end:end + 1] in ("-", "−"):
                end = skip(text, end + 1, lambda d: d in DIGITS)  # Σ_axis-1
        elif c in SUPERSCRIPTS + "⁻":
            kind, end = "sup", skip(text, i + 1, lambda d: d in SUPERSCRIPTS)
            if text[end:end + 1] == "·" and text[end + 1:end + 2] in tuple(SUPERSCRIPTS):
                end = skip(text, end + 1, lambda d: d in SUPERSCRIPTS)  # ⁰·⁵
        elif text.startswith("**", i) or c == "." and after == "T" and not in_word(text[i + 2:i + 3] or " "):
            end = i + 2
        elif text.startswith("...", i):
            end = i + 3
        elif text[i:i + 2] in (">=", "<=", "!=", "=="):
            end = i + 2
        elif c in SYMBOLS:
            end = i + 1
        else:
            raise notation_error(f"unexpected character {c!r}", text, i)
        word = SYMBOLS[text[i:end]] if kind == "sym" else text[i:end]
        sign = c in "−|‖" and text[i - 1:i].isspace() and end < n and not text[end].isspace()
        tokens.append(Token(kind, word, i, end, value, sign))
        i = end
    return tokens + [Token("end", "", n, n)]


def notation_error(message: str, text: str, start: int, end: int | None = None) -> ExpressionError:
    # one line, as the expression language says it: what, the column, the text there
    return ExpressionError(f"{message} at column {start + 1}: {_excerpt(text[start:end].strip() or text)}")
