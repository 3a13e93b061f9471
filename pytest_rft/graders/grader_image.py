"""What OpenAI's python-grader image had installed, and which modules a grader's source imports
(read with ``ast``, never run), so a missing package is named with its exact ``pip install``."""

from __future__ import annotations

import ast
import importlib.util
import sys

IMAGE_TAG = "2025-05-08"
PACKAGES: dict[str, str] = {
    # import name -> the requirement OpenAI's grader image had (image tag 2025-05-08)
    "numpy": "numpy==2.2.4",
    "scipy": "scipy==1.15.2",
    "sympy": "sympy==1.13.3",
    "pandas": "pandas==2.2.3",
    "rapidfuzz": "rapidfuzz==3.10.1",
    "sklearn": "scikit-learn==1.6.1",
    "rouge_score": "rouge-score==0.1.2",
    "deepdiff": "deepdiff==8.4.2",
    "jsonschema": "jsonschema==4.23.0",
    "pydantic": "pydantic==2.10.6",
    "yaml": "pyyaml==6.0.2",
    "nltk": "nltk==3.9.1",
    "sqlparse": "sqlparse==0.5.3",
    "rdkit": "rdkit==2024.9.6",
    "skbio": "scikit-bio==0.6.3",
    "ast_grep_py": "ast-grep-py==0.36.2",
}
NLTK_DATA = ("punkt", "stopwords", "wordnet", "omw-1.4", "names")
"""The NLTK corpora the image had."""


def imported_modules(source: str) -> list[str]:
    """Top-level modules ``source`` imports (``import a.b``, ``from a import b``, and
    ``importlib.import_module("a")`` / ``__import__("a")`` with a literal name), in source
    order."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names: list[str] = []
    nodes = sorted((n for n in ast.walk(tree) if hasattr(n, "lineno")),
                   key=lambda n: (n.lineno, n.col_offset))
    for node in nodes:  # in source order
        found: list[str] = []
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str) and _is_import_call(node.func):
            found = [node.args[0].value]
        for name in found:
            top = name.split(".")[0]
            if top and top not in names:
                names.append(top)
    return names


def _is_import_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def missing_modules(source: str) -> list[str]:
    """The modules ``source`` imports that this Python cannot import (not in the standard
    library and not installed). Finding a module runs none of its code."""
    missing = []
    for name in imported_modules(source):
        if name in sys.stdlib_module_names or name in sys.builtin_module_names:
            continue
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def pip_install(modules: list[str]) -> str | None:
    """``pip install 'numpy==2.2.4' ...`` for the modules the grader image had, else None."""
    wanted = [PACKAGES[m] for m in modules if m in PACKAGES]
    if not wanted:
        return None
    return "pip install " + " ".join(f"'{r}'" for r in wanted)


def nltk_download() -> str:
    return "python -m nltk.downloader " + " ".join(NLTK_DATA)
