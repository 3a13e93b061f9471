"""``tool_call`` graders (pytest-rft's own type): the tool calls a sample made against the calls
its item expects, call by call.

    {"type": "tool_call", "expected": "{{ item.expected_calls }}",
     "arguments": "exact" | "subset" | "ignore" | "module:function",
     "order": "any" | "strict", "pass_threshold": 1.0}

``expected`` is the path of a list in the item (or an inline list) of expected calls
``{"name", "arguments"}`` (OpenAI's ``{"function": {"name", "arguments"}}`` too; arguments a
JSON value or string; an entry may set its own ``"match"``: exact, subset or ignore). The
sample's calls are ``sample.output_tools`` (every call, every turn). A call matches an expected
call when the names are equal and the arguments match: ``exact`` (equal as JSON values, so
``1`` equals ``1.0``), ``subset`` (every expected key is there with a matching value; lists
match element by element), ``ignore``, or a Python predicate ``fn(expected, actual) -> bool``
(``fn(expected, actual, item)`` if it takes three) on the parsed arguments. With ``order:
any`` the calls are paired to maximise the matches (any order); with ``strict`` the matched
calls must come in the expected order (a longest common subsequence); extra calls in between
only cost precision.

Scores: ``<name>`` the F1 of matched calls (1.0 when nothing was expected and nothing called),
``<name>_precision`` (matched / calls made; 1.0 with no calls) and ``<name>_recall`` (matched /
expected; 1.0 when nothing is expected). Each call's verdict is kept in the sample's grader
details (and shown in reports).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from ..core.records import Grades
from ..core.template import TemplateError, check_template, resolve
from ..core.tools import parse_arguments
from .base import Grader, read_threshold
from .registry import _import_ref, register_type

MODES = ("exact", "subset", "ignore")
ORDERS = ("any", "strict")

Match = Callable[[Any, Any, Mapping[str, Any]], bool]


def subset(expected: Any, actual: Any) -> bool:
    """Whether ``expected`` is contained in ``actual`` as JSON: dict keys recursively, lists of
    the same length element by element, other values equal."""
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            subset(e, a) for e, a in zip(expected, actual))
    return _equal(expected, actual)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # True is not 1 in JSON
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def expected_calls(value: Any) -> list[dict[str, Any]]:
    """An item's expected calls as ``{"name", "arguments", "match"?}`` (arguments parsed)."""
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"expected calls must be a list, not {type(value).__name__}")
    out = []
    for entry in value:
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping):
            raise ValueError(f"an expected call must be an object, not {entry!r}")
        fn = entry.get("function") if isinstance(entry.get("function"), Mapping) else entry
        name = fn.get("name")
        if not isinstance(name, str):
            raise ValueError(f"an expected call needs a 'name': {entry!r}")
        call = {"name": name}
        if "arguments" in fn:
            arguments = fn["arguments"]
            if isinstance(arguments, str):
                arguments = json.loads(arguments) if arguments.strip() else {}
            call["arguments"] = arguments
        if "match" in entry:
            if entry["match"] not in MODES:
                raise ValueError(f"'match' must be one of {', '.join(MODES)}, not "
                                 f"{entry['match']!r}")
            call["match"] = entry["match"]
        out.append(call)
    return out


def pair_any(ok: list[list[bool]]) -> dict[int, int]:
    """A maximum matching expected -> actual (augmenting paths; the lists are short)."""
    owner: dict[int, int] = {}

    def place(e: int, seen: set[int]) -> bool:
        for a, fits in enumerate(ok[e]):
            if fits and a not in seen:
                seen.add(a)
                if a not in owner or place(owner[a], seen):
                    owner[a] = e
                    return True
        return False

    for e in range(len(ok)):
        place(e, set())
    return {e: a for a, e in owner.items()}


def pair_in_order(ok: list[list[bool]]) -> dict[int, int]:
    """The most expected calls matched in order (longest common subsequence)."""
    n, m = len(ok), len(ok[0]) if ok else 0
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for e in range(n - 1, -1, -1):
        for a in range(m - 1, -1, -1):
            best[e][a] = max(best[e + 1][a], best[e][a + 1],
                             best[e + 1][a + 1] + 1 if ok[e][a] else 0)
    pairs, e, a = {}, 0, 0
    while e < n and a < m:
        if ok[e][a] and best[e][a] == best[e + 1][a + 1] + 1:
            pairs[e] = a
            e, a = e + 1, a + 1
        elif best[e + 1][a] >= best[e][a + 1]:
            e += 1
        else:
            a += 1
    return pairs


class ToolCallGrader(Grader):
    def __init__(self, name: str, expected: Any, mode: str, predicate: Match | None,
                 order: str):
        self.name = name
        self.expected = expected
        """A bare path (``item.expected_calls``) or an inline list."""
        self.mode = mode
        self.predicate = predicate
        self.order = order

    def score_names(self) -> list[str]:
        return [self.name, f"{self.name}_precision", f"{self.name}_recall"]

    def _matches(self, want: dict[str, Any], call: Mapping[str, Any], item: Mapping[str, Any]
                 ) -> tuple[bool, bool]:
        """(names equal, arguments match too)."""
        if (call.get("function") or {}).get("name") != want["name"]:
            return False, False
        mode = want.get("match", self.mode)
        if mode == "ignore" or "arguments" not in want and self.predicate is None:
            return True, True
        actual, problem = parse_arguments(call)
        if problem is not None:
            return True, False
        if self.predicate is not None and "match" not in want:
            return True, bool(self.predicate(want.get("arguments"), actual, item))
        if mode == "subset":
            return True, subset(want["arguments"], actual)
        return True, _equal(want["arguments"], actual)

    def grade(self, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Grades:
        try:
            raw = self.expected if not isinstance(self.expected, str) else \
                resolve(self.expected, {"item": item, "sample": sample})
            wanted = expected_calls(raw)
        except (TemplateError, ValueError) as exc:
            message = exc.message if isinstance(exc, TemplateError) else str(exc)
            return Grades(errors={n: f"grader '{self.name}': expected calls: {message}"
                                  for n in self.score_names()})
        calls = [c for c in sample.get("output_tools") or [] if isinstance(c, Mapping)]
        try:
            verdicts = [[self._matches(w, c, item) for c in calls] for w in wanted]
        except Exception as exc:  # the predicate raised: an error, never a 0
            return Grades(errors={n: f"grader '{self.name}': the arguments predicate raised "
                                     f"{type(exc).__name__}: {exc}" for n in self.score_names()})
        ok = [[both for _, both in row] for row in verdicts]
        pairs = (pair_in_order if self.order == "strict" else pair_any)(ok)
        matched = len(pairs)
        precision = matched / len(calls) if calls else 1.0
        recall = matched / len(wanted) if wanted else 1.0
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        taken = set(pairs.values())
        details = {"expected": [
            {"name": w["name"], "arguments": w.get("arguments"),
             "matched_call": pairs.get(e),
             "score": 1.0 if e in pairs else 0.0,
             **({"name_called": True} if e not in pairs and any(n for n, _ in verdicts[e])
                else {})}
            for e, w in enumerate(wanted)],
            "unexpected_calls": [a for a in range(len(calls)) if a not in taken]}
        return Grades(scores={self.name: f1, f"{self.name}_precision": precision,
                              f"{self.name}_recall": recall},
                      details={self.name: details})


def _predicate(ref: str, base_dir: Path, where: str) -> Match:
    fn = _import_ref(ref, base_dir, where)
    if not callable(fn):
        raise RftError(f"arguments predicate {ref!r} is not callable", where=where,
                       fix="name a function fn(expected, actual) -> bool")
    try:
        takes_item = len(inspect.signature(fn).parameters) >= 3
    except (TypeError, ValueError):
        takes_item = False
    if takes_item:
        return fn
    return lambda expected, actual, item: fn(expected, actual)


def _build(name: str, definition: Mapping[str, Any], *, base_dir: Path, where: str) -> Grader:
    expected = definition["expected"]
    if isinstance(expected, str):
        path = expected.strip().removeprefix("{{").removesuffix("}}").strip()
        check_template("{{ " + path + " }}", allowed_roots=("item",), where=f"{where}: expected")
        expected = path
    elif isinstance(expected, list):
        try:
            expected_calls(expected)
        except ValueError as exc:
            raise RftError(f"expected calls of grader '{name}': {exc}",
                           where=f"{where}: expected") from None
    else:
        raise RftError(f"'expected' of grader '{name}' must be an item path or a list of calls",
                       where=f"{where}: expected",
                       fix='e.g. "expected": "{{ item.expected_calls }}"')
    mode = definition.get("arguments", "exact")
    predicate = None
    if not isinstance(mode, str) or (mode not in MODES and ":" not in mode):
        raise RftError(f"'arguments' of grader '{name}' must be exact, subset, ignore or "
                       f"'module:function', not {mode!r}", where=f"{where}: arguments")
    if mode not in MODES:
        predicate = _predicate(mode, base_dir, f"{where}: arguments")
    order = definition.get("order", "any")
    if order not in ORDERS:
        raise RftError(f"'order' of grader '{name}' must be any or strict, not {order!r}",
                       where=f"{where}: order")
    grader = ToolCallGrader(name, expected, mode, predicate, order)
    grader.templates = {"expected": "{{ " + expected + " }}"} if isinstance(expected, str) else {}
    grader.pass_threshold = read_threshold(definition, name, where)
    return grader


register_type(
    "tool_call",
    _build,
    required={"expected"},
    optional={"arguments", "order", "pass_threshold"},
    default=True,
)
