"""Safe arithmetic for a multi grader's ``calculate_output``.

A tokenizer and a Pratt parser turn the text into a tree of closures; nothing is ever passed to
``eval``. Grammar: numbers (``1``, ``0.5``, ``1e-9``), sub-grader names, ``+ - * /``, ``^``
(power, right-associative, binds tighter than unary minus: ``-2^2 == -4``), parentheses and
the functions ``min max`` (one or more arguments), ``abs floor ceil exp sqrt`` (one) and
``log`` (natural log; ``log(x, base)`` also accepted).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..core.errors import GraderError, RftError

Node = Callable[[Mapping[str, float]], float]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[-+*/^(),]))"
)

# name -> (min args, max args or None for variadic, implementation)
_FUNCTIONS: dict[str, tuple[int, int | None, Callable[..., float]]] = {
    "min": (1, None, lambda *xs: min(xs)),
    "max": (1, None, lambda *xs: max(xs)),
    "abs": (1, 1, abs),
    "floor": (1, 1, lambda x: float(math.floor(x))),
    "ceil": (1, 1, lambda x: float(math.ceil(x))),
    "exp": (1, 1, math.exp),
    "sqrt": (1, 1, math.sqrt),
    "log": (1, 2, math.log),
}

_BINARY_BP = {"+": 10, "-": 10, "*": 20, "/": 20, "^": 40}
_UNARY_BP = 30


@dataclass(frozen=True)
class _Tok:
    kind: str  # num, name, op, end
    text: str
    col: int  # 1-based


def _tokenize(text: str, err: Callable[[str, int], RftError]) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            toks.append(_Tok("end", "", len(text) + 1))
            return toks
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise err(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup or "op"
        start = m.start(kind)
        toks.append(_Tok(kind, m.group(kind), start + 1))
        pos = m.end()
        # "2x" or "1e" followed by letters: reject rather than silently split
        if kind == "num" and pos < len(text) and (text[pos].isalpha() or text[pos] == "_"):
            raise err(f"unexpected character {text[pos]!r} after number", pos + 1)


class Formula:
    """A compiled ``calculate_output``; ``evaluate`` is cheap and safe."""

    def __init__(self, text: str, node: Node, names: frozenset[str]):
        self.text = text
        self._node = node
        self.names = names
        """Sub-grader names the formula reads."""

    def evaluate(self, values: Mapping[str, float]) -> float:
        """The formula's value; GraderError on division by zero, domain errors, inf/NaN."""
        missing = [n for n in sorted(self.names) if n not in values]
        if missing:
            raise GraderError(f"calculate_output has no value for {', '.join(missing)}")
        try:
            result = self._node(values)
        except ZeroDivisionError:
            raise GraderError(f"division by zero in calculate_output '{self.text}'") from None
        except (ValueError, OverflowError, RecursionError) as exc:
            raise GraderError(f"math error in calculate_output '{self.text}': {exc}") from None
        if not math.isfinite(result):
            raise GraderError(f"calculate_output '{self.text}' gave {result}")
        return float(result)

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"


class _Parser:
    def __init__(self, text: str, names: set[str], where: str | None):
        self.text = text
        self.names = names
        self.where = where
        self.used: set[str] = set()
        self.toks = _tokenize(text, self.error)
        self.i = 0

    def error(self, message: str, col: int, fix: str | None = None) -> RftError:
        shown = self.text.replace("\n", " ").replace("\t", " ")
        caret = f"\n    {shown}\n    {' ' * (col - 1)}^"
        return RftError(
            f"column {col}: {message}{caret}" if self.where else
            f"calculate_output, column {col}: {message}{caret}",
            where=self.where,
            fix=fix or "use numbers, sub-grader names, + - * / ^, parentheses and "
            "min max abs floor ceil exp sqrt log",
        )

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.take()
        if tok.text != text or tok.kind != "op":
            found = f"'{tok.text}'" if tok.kind != "end" else "the end"
            raise self.error(f"expected '{text}' but found {found}", tok.col)
        return tok

    def parse(self) -> Node:
        node = self.expr(0)
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(f"unexpected '{tok.text}'", tok.col)
        return node

    def expr(self, min_bp: int) -> Node:
        left = self.prefix()
        while True:
            tok = self.peek()
            if tok.kind != "op" or tok.text not in _BINARY_BP:
                return left
            bp = _BINARY_BP[tok.text]
            if bp <= min_bp:
                return left
            self.take()
            # ^ is right-associative: parse its right side at bp - 1 so another ^ binds there
            right = self.expr(bp - 1 if tok.text == "^" else bp)
            left = _binary(tok.text, left, right)

    def prefix(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.error(f"the number {tok.text} is too large", tok.col)
            return lambda v, value=value: value
        if tok.kind == "op" and tok.text == "-":
            operand = self.expr(_UNARY_BP)
            return lambda v, operand=operand: -operand(v)
        if tok.kind == "op" and tok.text == "+":
            return self.expr(_UNARY_BP)
        if tok.kind == "op" and tok.text == "(":
            node = self.expr(0)
            self.expect(")")
            return node
        if tok.kind == "name":
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call(tok)
            return self.name(tok)
        found = "the end of the formula" if tok.kind == "end" else f"'{tok.text}'"
        raise self.error(f"expected a number, name or '(' but found {found}", tok.col)

    def name(self, tok: _Tok) -> Node:
        if tok.text not in self.names:
            if tok.text in _FUNCTIONS:
                raise self.error(f"function '{tok.text}' needs arguments", tok.col,
                                 fix=f"write {tok.text}(...)")
            known = ", ".join(sorted(self.names)) or "none"
            close = difflib.get_close_matches(tok.text, sorted(self.names), n=1)
            raise self.error(
                f"unknown name '{tok.text}'; known: {known}",
                tok.col,
                fix=f"did you mean '{close[0]}'?" if close else "use a sub-grader name",
            )
        self.used.add(tok.text)
        key = tok.text
        return lambda v, key=key: float(v[key])

    def call(self, tok: _Tok) -> Node:
        if tok.text not in _FUNCTIONS:
            close = difflib.get_close_matches(tok.text, sorted(_FUNCTIONS), n=1)
            raise self.error(
                f"unknown function '{tok.text}'; known: {', '.join(sorted(_FUNCTIONS))}",
                tok.col,
                fix=f"did you mean '{close[0]}'?" if close else None,
            )
        lo, hi, fn = _FUNCTIONS[tok.text]
        self.expect("(")
        args: list[Node] = []
        if not (self.peek().kind == "op" and self.peek().text == ")"):
            args.append(self.expr(0))
            while self.peek().kind == "op" and self.peek().text == ",":
                self.take()
                args.append(self.expr(0))
        self.expect(")")
        n = len(args)
        if n < lo or (hi is not None and n > hi):
            want = f"at least {lo}" if hi is None else (str(lo) if lo == hi else f"{lo} to {hi}")
            raise self.error(
                f"{tok.text}() takes {want} argument{'' if want in ('1', 'at least 1') else 's'}, "
                f"got {n}",
                tok.col,
                fix=None,
            )
        arg_nodes = tuple(args)
        return lambda v, fn=fn, a=arg_nodes: float(fn(*(x(v) for x in a)))


def _binary(op: str, left: Node, right: Node) -> Node:
    if op == "+":
        return lambda v: left(v) + right(v)
    if op == "-":
        return lambda v: left(v) - right(v)
    if op == "*":
        return lambda v: left(v) * right(v)
    if op == "/":
        return lambda v: left(v) / right(v)
    return lambda v: math.pow(left(v), right(v))


def compile_formula(text: str, names: set[str], *, where: str | None = None) -> Formula:
    """Parse ``text`` over the given names; RftError (with column and fix) if invalid."""
    if not isinstance(text, str) or not text.strip():
        raise RftError("calculate_output is empty", where=where,
                       fix="write a formula over the sub-grader names, e.g. (a + b) / 2")
    parser = _Parser(text, set(names), where)
    try:
        node = parser.parse()
    except RecursionError:
        raise RftError("calculate_output is nested too deeply", where=where) from None
    return Formula(text, node, frozenset(parser.used))
