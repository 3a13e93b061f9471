"""Platform messages -> the suite's ``{role, content}`` text messages (the parts pytest-rft
cannot send are left out and noted)."""

from __future__ import annotations

import json
from typing import Any

from .output import Output
from .platform_data import kind, one_line

ROLES = ("system", "developer", "user", "assistant")
TEXT_PARTS = ("input_text", "output_text", "text")


def convert_messages(messages: Any, out: Output, where: str) -> list[dict[str, str]]:
    """OpenAI input messages (``{role, content}`` or EvalItem ``{type: message, role, content:
    {type: input_text, text}}``, content parts lists) -> ``{role, content: str}``.

    Parts pytest-rft cannot send (images, audio, files) are left out and noted.
    """
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list):
        out.note(f"{where}: not a message list", f"got {kind(messages)}",
                 "write the prompt as 'input:' in the suite")
        return []
    converted = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or role not in ROLES:
            shown = json.dumps(role)[:40] if isinstance(role, str) else kind(message)
            out.note(f"{where}: a message ({shown}) left out",
                     "pytest-rft sends system, developer, user and assistant messages",
                     "rewrite that message in the suite's 'input:' with one of those roles")
            continue
        content, dropped = content_text(message.get("content"))
        for part in dropped:
            article = "an" if part[:1] in "aeiou" else "a"
            out.note(f"{where}: {part} input left out",
                     f"a {role} message has {article} {part} part; pytest-rft sends text only",
                     "put the needed information in the item as text, or keep this case on a "
                     "harness that sends images/audio")
        if content or not dropped:
            converted.append({"role": role, "content": content})
    had_user = any(isinstance(m, dict) and m.get("role") == "user" for m in messages)
    if had_user and not any(m["role"] == "user" for m in converted):
        out.note(f"{where}: no user message left",
                 "every user message held only parts pytest-rft cannot send, so the model is "
                 "asked with the other messages alone: its answers and scores will not match "
                 "the platform's",
                 "add a text user message to the suite's 'input:' (for example a transcript or "
                 "description kept in the items: {{ item.<field> }}), or keep this eval on a "
                 "harness that sends images/audio")
    return converted


def content_text(content: Any) -> tuple[str, list[str]]:
    """Text of a message content (string, one part, or a list of parts), and the kinds of the
    parts that are not text."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    parts = content if isinstance(content, list) else [content]
    texts, dropped = [], []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") in TEXT_PARTS \
                and isinstance(part.get("text", ""), str):
            texts.append(part.get("text", ""))
        else:
            part_kind = part.get("type") if isinstance(part, dict) else None
            dropped.append(one_line(part_kind, 40).removeprefix("input_")
                           if isinstance(part_kind, str) and part_kind else kind(part))
    return "\n".join(texts), dropped
