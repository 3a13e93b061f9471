"""The tree is the pipeline: stages import only earlier stages, no module imports itself back
through others, and no module grows past what one reader holds in mind.

The stage order is ARCHITECTURE.md's picture; the import graph is read from the source with
``ast`` (imports inside functions count too: a lazy import is still a dependency).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_rft"

STAGES = ["core", "backends", "graders", "suite", "sampling", "store", "analysis", "report",
          "batch", "importer", "plugin", "cli"]
"""Each stage may import itself and the stages before it."""

MAX_LINES = 400

TOO_LONG: dict[str, str] = {
    # PENDING (redesign in progress): each entry goes when its module is split
    "pytest_rft.plugin": "glue", "pytest_rft.plugin.session": "glue",
}
"""Modules allowed past MAX_LINES, each with the reason (empty: none is)."""

PENDING_CYCLES: list[list[str]] = []
PENDING_UPWARD = {
    "pytest_rft.batch.api -> pytest_rft.plugin.options",  # glue: Settings, not option()
    "pytest_rft.batch.mode -> pytest_rft.plugin.options",  # glue
    "pytest_rft.report.html -> pytest_rft.plugin.options",  # glue
}
"""Faults being fixed by the redesign (issue 19); each goes with its fix, and both lists end
empty."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "pytest_rft":
                    continue
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules]
                deps.update(subs or [target])
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.split(".")[0] == "pytest_rft")
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_is_in_a_stage():
    graph = import_graph()
    loose = sorted(m for m in graph if stage(m) not in STAGES and m != "pytest_rft")
    assert loose == [], f"modules outside the stage folders: {loose}"


def test_no_import_cycles():
    assert [c for c in cycles(import_graph()) if c not in PENDING_CYCLES] == []


def test_stages_import_only_earlier_stages():
    rank = {name: n for n, name in enumerate(STAGES)}
    upward = sorted(f"{m} -> {d}" for m, deps in import_graph().items() for d in deps
                    if m != "pytest_rft" and (d == "pytest_rft" or rank[stage(d)] > rank[stage(m)]))
    unexplained = [u for u in upward if u not in PENDING_UPWARD]
    assert unexplained == [], "imports against the pipeline's order:\n" + "\n".join(unexplained)


def test_modules_stay_short():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    unexplained = {m: n for m, n in long.items() if m not in TOO_LONG}
    assert unexplained == {}, f"modules over {MAX_LINES} lines: {unexplained}"
    assert set(TOO_LONG) <= set(long), f"no longer too long, drop them: {set(TOO_LONG) - set(long)}"


def test_the_checks_see_a_cycle_and_an_upward_import():
    """The checks above can fail: a made-up graph with both faults."""
    graph = {"pytest_rft.core.a": {"pytest_rft.core.b"}, "pytest_rft.core.b": {"pytest_rft.core.a"},
             "pytest_rft.core.c": {"pytest_rft.cli.main"}, "pytest_rft.cli.main": set()}
    assert cycles(graph) == [["pytest_rft.core.a", "pytest_rft.core.b"]]
    rank = {name: n for n, name in enumerate(STAGES)}
    assert [m for m, deps in graph.items() for d in deps if rank[stage(d)] > rank[stage(m)]] \
        == ["pytest_rft.core.c"]
