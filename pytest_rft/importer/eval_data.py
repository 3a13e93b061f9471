"""An eval run's data -> the suite's dataset and prompt: the run's output items, its data rows
(a file, inline content, or rebuilt from the graded items), the prompt (a template, or messages
in each item), item ids that can name a test, and the eval's ``item_schema`` checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import RftError
from ..suite.dataset import Item, load_items
from . import schema_check
from .messages import convert_messages
from .output import Output
from .platform_data import arr, count, kind, obj, one_line, parse_jsonl, text
from .source import Source

DATASET = "data/items.jsonl"
PLACEHOLDER_PROMPT = [{"role": "user", "content": "{{ item }}"}]


def output_index(output: dict[str, Any]) -> int | None:
    """The data row an output item graded (its ``datasource_item_id``)."""
    return count(output.get("datasource_item_id"))


def output_items(source: Source, eval_id: str, run: dict[str, Any], out: Output
                  ) -> list[dict[str, Any]]:
    run_id = run.get("id")
    if not isinstance(run_id, str):
        raise RftError(f"a run of eval {eval_id} has no id", fix="check --base-url")
    items = source.output_items(eval_id, run_id)
    total = count(obj(run, "result_counts", f"run {run_id}").get("total"))
    if total is not None and len(items) != total:
        out.note("Output items incomplete", f"the run counts {total} results, {len(items)} "
                 "output items were read", "import again (or save all pages of output_items)")
    usable = [o for o in items if output_index(o) is not None]
    if len(usable) < len(items):
        out.note("Output items without a usable datasource_item_id",
                 f"{len(items) - len(usable)} output item(s) name no data row; left out",
                 "nothing to do unless those results matter")
    return sorted(usable, key=lambda o: output_index(o) or 0)


def check_config(config: dict[str, Any], out: Output) -> None:
    kind_ = config.get("type")
    if kind_ in ("logs", "stored_completions"):
        out.note(f"A '{kind_}' data source config",
                 "the eval reads items from your stored chat logs on the platform; they are not "
                 "a file", "the dataset was rebuilt from the run's output items; export more logs "
                 "as JSONL ({\"item\": {...}}) and point 'dataset:' at them")


def rows_of(source: Source, data_source: dict[str, Any], outputs: list[dict[str, Any]],
          out: Output) -> list[tuple[dict[str, Any], Any]]:
    """The run's items (and their pre-computed samples, for ``jsonl`` runs), in data order."""
    src = obj(data_source, "source", "data_source")
    src_kind = src.get("type")
    if src_kind == "file_id":
        file_id = src.get("id")
        if not isinstance(file_id, str):
            raise RftError(f"data_source.source.id is {kind(file_id)}, not a file id",
                           fix="check --base-url / the saved files")
        records = parse_jsonl(source.file(file_id), f"file {one_line(file_id, 80)}")
    elif src_kind == "file_content":
        records = arr(src, "content", "data_source.source")
    else:
        out.note(f"A '{one_line(src_kind, 40)}' data source",
                 "the run read stored completions/responses selected by a query, not a data "
                 f"file; the dataset holds the {len(outputs)} items the run graded",
                 "keep the dataset as written, or export the inputs you care about as JSONL")
        seen: dict[int, dict[str, Any]] = {}
        for o in outputs:
            item = o.get("datasource_item")
            seen.setdefault(output_index(o) or 0, item if isinstance(item, dict) else {})
        records = [{"item": seen[i]} for i in sorted(seen)]
    rows = []
    for n, record in enumerate(records, start=1):
        if isinstance(record, dict) and isinstance(record.get("item"), dict):
            rows.append((record["item"], record.get("sample")))
        elif isinstance(record, dict):
            rows.append((record, None))
        else:
            raise RftError(f"data record {n} is {kind(record)}, not an object",
                           where=f"data source {one_line(src_kind, 40)}",
                           fix='each line of an eval data file is {"item": {...}}')
    return rows


def prompt_and_records(data_source: dict[str, Any], rows: list[tuple[dict, Any]], out: Output,
                        recorded: bool) -> tuple[list[dict[str, str]] | None, list[dict[str, Any]]]:
    """The suite's ``input`` (None when records carry the prompt, or when outputs are
    recorded and there was no prompt) and the dataset records."""
    spec = obj(data_source, "input_messages", "data_source")
    plain = [{"item": item} for item, _ in rows]
    if spec.get("type") == "template":
        prompt = convert_messages(spec.get("template"), out, "input_messages")
        return prompt or None if recorded else prompt or PLACEHOLDER_PROMPT, plain
    if spec.get("type") == "item_reference":
        reference = text(spec.get("item_reference"))
        field = reference.removeprefix("item.")
        records = []
        for n, (item, _) in enumerate(rows):
            value: Any = item
            for part in field.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                raise RftError(f"item {n} has no {one_line(reference, 80)!r}",
                               where="input_messages",
                               fix="the run's item_reference must name a field every item has")
            records.append({**item, "messages": convert_messages(value, out, "item_reference")})
        return None, records
    if recorded:
        return None, plain  # graded as recorded: no prompt needed
    out.note("No input messages", f"the '{one_line(data_source.get('type'), 40)}' run has no "
             "input_messages; the suite has a placeholder prompt (the item as JSON)",
             "write 'input:' in the suite")
    return PLACEHOLDER_PROMPT, plain


def unique_ids(records: list[dict[str, Any]], out: Output) -> list[dict[str, Any]]:
    """Records whose item ids (``item.id``, else ``line-N``) repeat or cannot name a test get a
    record-level ``id`` (the item itself is unchanged: graders see what the platform's saw)."""
    seen: set[str] = set()
    renamed: list[str] = []
    result = []
    for line, record in enumerate(records, start=1):
        item = record.get("item", record)
        raw = item.get("id") if isinstance(item, dict) else None
        wanted = raw if isinstance(raw, str) else str(raw) if raw is not None else f"line-{line}"
        usable = wanted.strip() and "::" not in wanted and wanted == one_line(wanted, 200)
        if usable and wanted not in seen:
            seen.add(wanted)
            result.append(record)
            continue
        new = f"line-{line}"
        n = 2
        while new in seen:
            new, n = f"line-{line}-{n}", n + 1
        seen.add(new)
        renamed.append(f"{one_line(wanted, 40)!r} -> {new}")
        result.append({"id": new, **record} if "item" in record else {**record, "id": new})
    if renamed:
        out.note(f"{len(renamed)} item id(s) renamed",
                 "pytest-rft names each test by its item id, and these repeat or cannot name a "
                 "test: " + ", ".join(renamed[:5]) + (" ..." if len(renamed) > 5 else ""),
                 "nothing to do (a record-level 'id' in the data file names them; graders see "
                 "the items unchanged, except records that carry their own prompt, whose 'id' "
                 "is replaced), or give the items unique ids")
    return result


def check_items(config: dict[str, Any], items: list[dict[str, Any]], out: Output) -> None:
    schema = config.get("item_schema")
    if schema is None:
        schema = obj(obj(config, "schema", "data_source_config"), "properties",
                     "data_source_config.schema").get("item")
    if not isinstance(schema, dict) or config.get("type") not in (None, "custom"):
        return
    try:
        found = [(n, p) for n, item in enumerate(items) for p in schema_check.problems(item, schema)]
    except RecursionError:
        out.note("item_schema not checked", "the eval's item_schema is nested too deeply",
                 "check the records by hand")
        return
    if found:
        shown = "; ".join(f"data line {n + 1}: {p}" for n, p in found[:5])
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        out.note(f"{len(found)} item_schema mismatch(es)",
                 f"the eval's item_schema does not hold for every item: {shown}{more}",
                 f"fix those records in {DATASET} (or the schema, if the data is right); graders "
                 "that read a missing field report an error for that item")


def items_or_none(path: Path) -> list[Item] | None:
    try:
        return load_items(path)
    except RftError:
        return None
