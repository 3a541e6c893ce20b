"""Evaluating ``-if``/``-elif`` conditions the way epp does, for the simple cases.

epp evaluates a condition as a guard expression after macro expansion. holo
handles what real code writes: integers, atoms, strings, ``defined(M)``,
macros whose replacement is one literal, comparisons, arithmetic and the
boolean operators. Anything else is :class:`Unknown`: the caller treats the
condition as false and reports that it could not evaluate it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from holo.queries.cst import atom_text, integer_value, string_text
from holo.queries.items import CondExpr


class Unknown(Exception):  # noqa: N818 - a signal, not a failure
    """The condition uses something holo does not evaluate.

    ``reason`` says what, for the user; ``undefined`` is the macro's name when
    the reason is that it is not defined.
    """

    def __init__(self, reason: str, undefined: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.undefined = undefined


@dataclass(frozen=True)
class Atom:
    name: str


TRUE, FALSE = Atom("true"), Atom("false")
Value = int | str | Atom

# A macro's replacement (one token), or None when not a one-token macro;
# raises Unknown when the macro is not defined.
MacroLookup = Callable[[str], str | None]


def literal_value(text: str, lookup: MacroLookup, depth: int = 0) -> Value:
    """The value of a one-token replacement: ``42``, ``'a'``, ``a``, ``"s"``, ``?OTHER``."""
    if depth > 20 or not text:
        raise Unknown(f"{text or 'an empty macro'} does not stand for one literal")
    if text.startswith("?"):
        inner = lookup(text[1:])
        if inner is None:
            raise Unknown(f"{text} does not stand for one literal")
        return literal_value(inner, lookup, depth + 1)
    if text[0] == "'" or text[0].islower():
        return Atom(atom_text(text))
    if text[0] == '"':
        s = string_text(text)
        if s is None:
            raise Unknown(f"{text} is not a string holo reads")
        return s
    number = integer_value(text)
    if number is None:
        raise Unknown(f"{text} is not an integer, atom or string")
    return number


def _order(v: Value) -> tuple[int, int | str]:
    # Erlang's term order: number < atom < ... < list (strings are lists).
    if isinstance(v, int):
        return (0, v)
    if isinstance(v, Atom):
        return (1, v.name)
    return (2, v)


def _bool(v: Value) -> bool:
    if v == TRUE:
        return True
    if v == FALSE:
        return False
    raise Unknown("an operand of a boolean operator is not true or false")


def _int(v: Value) -> int:
    if isinstance(v, int):
        return v
    raise Unknown("an operand of an arithmetic operator is not an integer")


_COMPARE: dict[str, Callable[[tuple[int, int | str], tuple[int, int | str]], bool]] = {
    "==": lambda a, b: a == b,
    "=:=": lambda a, b: a == b,
    "/=": lambda a, b: a != b,
    "=/=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "=<": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}
_ARITHMETIC: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "div": lambda a, b: a // b if b else _raise(),
    "rem": lambda a, b: a % b if b else _raise(),
    "band": lambda a, b: a & b,
    "bor": lambda a, b: a | b,
}


def _raise() -> int:
    raise Unknown("it divides by zero")


def evaluate(expr: CondExpr, lookup: MacroLookup, defined: Callable[[str], bool]) -> Value:
    kind = expr[0]
    if kind == "int":
        return expr[1]
    if kind == "atom":
        return Atom(expr[1])
    if kind == "str":
        return expr[1]
    if kind == "macro":
        text = lookup(expr[1])
        if text is None:
            raise Unknown(f"?{expr[1]} does not stand for one literal")
        return literal_value(text, lookup)
    if kind == "defined":
        return TRUE if defined(expr[1]) else FALSE
    if kind == "unop":
        op, operand = expr[1], evaluate(expr[2], lookup, defined)
        if op == "not":
            return FALSE if _bool(operand) else TRUE
        if op == "-":
            return -_int(operand)
        if op == "+":
            return _int(operand)
        raise Unknown(f"holo does not evaluate the operator '{op}'")
    if kind == "op":
        op = expr[1]
        left = evaluate(expr[2], lookup, defined)
        if op in ("andalso", "orelse"):
            if _bool(left) == (op == "orelse"):
                return left
            right = evaluate(expr[3], lookup, defined)
            _bool(right)
            return right
        right = evaluate(expr[3], lookup, defined)
        if op in ("and", "or", "xor"):
            a, b = _bool(left), _bool(right)
            result = {"and": a and b, "or": a or b, "xor": a != b}[op]
            return TRUE if result else FALSE
        if op in _COMPARE:
            return TRUE if _COMPARE[op](_order(left), _order(right)) else FALSE
        if op in _ARITHMETIC:
            return _ARITHMETIC[op](_int(left), _int(right))
        raise Unknown(f"holo does not evaluate the operator '{op}'")
    raise Unknown("it calls a function or builds a term, which holo does not evaluate")


def is_true(expr: CondExpr, lookup: MacroLookup, defined: Callable[[str], bool]) -> bool:
    """Whether the condition holds; raises :class:`Unknown` when holo cannot tell."""
    return evaluate(expr, lookup, defined) == TRUE
