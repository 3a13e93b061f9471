"""The suite's ``graders:`` section: each grader built, its files kept inside the project, its
templates checked against the dataset, given the suite's ``judge:`` block and remaps, and its
definition resolved (what its digest is made of)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import template
from ..core.digests import callable_source
from ..core.errors import RftError
from ..graders import build_grader
from ..graders.base import Grader
from ..graders.registry import load_grader_file, nested, registered_graders
from .keys import JudgeConfig, SuiteConfig
from .references import confined


def build_graders(config: SuiteConfig, base: Path, roots: tuple[Path, ...] | None,
                  item_keys: set[str], where: Callable[..., str]
                  ) -> tuple[list[Grader], dict[str, Any], list[str], dict[str, float]]:
    """The suite's graders, their resolved definitions, score names and own thresholds."""
    graders: list[Grader] = []
    definitions: dict[str, Any] = {}
    remaps = {name: entry.use for name, entry in (config.models or {}).items()
              if entry.use is not None}
    for name, definition in config.graders.items():
        _check_grader_files(definition, base, roots, where("graders", name))
        grader = build_grader(name, definition, base_dir=base, where=where("graders", name))
        definitions[name] = _resolved(definition, base, where("graders", name))
        check_grader_templates(grader, item_keys, where("graders", name))
        _set_judge(grader, config.judge, remaps)
        _set_errors_as_zero(grader, config.errors_as_zero)
        graders.append(grader)
    score_names = _score_names(graders, where)
    thresholds = {k: v for g in graders for k, v in g.thresholds().items()}
    return graders, definitions, score_names, thresholds


def _check_grader_files(definition: Any, base: Path, roots: tuple[Path, ...] | None,
                        where: str) -> None:
    """Every ``{file: ...}`` a grader definition names must be inside the project."""
    if isinstance(definition, dict):
        if isinstance(definition.get("file"), str) and "type" not in definition:
            file = confined(base, definition["file"], roots, where, "grader file")
            if file.exists():
                data, _, file_dir = load_grader_file(definition["file"], base, where)
                with nested(where, file):
                    _check_grader_files(data, file_dir, roots, where)
        for value in definition.values():
            if isinstance(value, (dict, list)):
                with nested(where):
                    _check_grader_files(value, base, roots, where)
    elif isinstance(definition, list):
        for value in definition:
            with nested(where):
                _check_grader_files(value, base, roots, where)


def _resolved(definition: Any, base: Path, where: str) -> Any:
    """A grader definition with ``{file: ...}`` references replaced by the files' JSON, and a
    registered grader's name by its source, so that the digest changes when the grader does."""
    if isinstance(definition, str):
        fn = registered_graders().get(definition)
        return {"registered": definition, "source": callable_source(fn) if fn else None}
    if isinstance(definition, dict) and "file" in definition and "type" not in definition:
        data, _, file_dir = load_grader_file(definition["file"], base, where)
        with nested(where, file_dir / Path(definition["file"]).name):
            return _resolved(data, file_dir, where)
    if isinstance(definition, dict) and isinstance(definition.get("graders"), dict):
        with nested(where):
            return {**definition, "graders": {k: _resolved(v, base, where)
                                              for k, v in definition["graders"].items()}}
    return definition


def _set_errors_as_zero(grader: Grader, value: bool) -> None:
    """Tell multi graders (also nested) to score failed sub-graders 0 in their formula."""
    if hasattr(grader, "errors_as_zero"):
        grader.errors_as_zero = value
    for sub in getattr(grader, "graders", {}).values():
        _set_errors_as_zero(sub, value)


def _set_judge(grader: Grader, judge: JudgeConfig | None,
               remaps: dict[str, str] | None = None) -> None:
    """Give judge graders (also inside multi graders) the suite's ``judge:`` block and its
    ``models:`` remaps."""
    if hasattr(grader, "judge_config"):
        grader.judge_config = judge
        grader.judge_remaps = dict(remaps or {})
    for sub in getattr(grader, "graders", {}).values():
        _set_judge(sub, judge, remaps)


def check_grader_templates(grader: Grader, item_keys: set[str], where: str) -> None:
    """Template paths into ``item`` must name fields the dataset has (caught at load, not per
    sample)."""
    for key, text in getattr(grader, "templates", {}).items():
        template.check_template(text, item_keys=item_keys or None, where=f"{where}.{key}")
    for name, sub in getattr(grader, "graders", {}).items():
        check_grader_templates(sub, item_keys, f"{where}.graders.{name}")


def _score_names(graders: list[Grader], where) -> list[str]:
    names: list[str] = []
    for grader in graders:
        for score in grader.score_names():
            if score in names:
                raise RftError(f"score name {score!r} is produced twice (graders and multi "
                               "sub-graders share one namespace)", where=where("graders", grader.name),
                               fix="rename one of the graders")
            names.append(score)
    return names

