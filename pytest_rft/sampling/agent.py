"""The bounded agent loop of one sample: call the model, answer the tools it calls, call it
again with their results, until it answers without calling a tool, calls a tool that nothing
answers (its calls are then the output, like a ``submit`` tool), or ``max_turns`` calls were
made (RFT's ``max_episode_steps``). Like Inspect AI's tool loop: calls are answered in order,
and what the model got wrong goes back to it as the tool's result.

The loop knows nothing of transports, retries or caches: ``call`` (the runner's, with its
retries and budget) makes each model call, and every turn is an ordinary ``Request`` whose
messages carry the conversation so far, so the cache keys and replays each turn by its body.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.records import Completion, Request, Usage
from ..core.tools import ToolCrash, Toolbox

Call = Callable[[Request], Awaitable["Completion | None"]]
"""Makes one model call; None when it failed for good (the runner recorded why)."""


@dataclass
class Episode:
    last: Completion | None = None
    """The last turn's completion (None when a call failed)."""
    trajectory: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """Every call the model made, in order, across turns."""
    turns: int = 0
    usage: Usage | None = None
    stop: str | None = None
    crash: str | None = None
    """Why the sample is an error when a tool implementation crashed."""


def assistant_message(completion: Completion) -> dict[str, Any]:
    """The assistant's turn as a Chat Completions message."""
    message: dict[str, Any] = {"role": "assistant",
                               "content": completion.output_text or None}
    if completion.tool_calls:
        message["tool_calls"] = completion.tool_calls
    elif message["content"] is None:
        message["content"] = ""
    return message


async def run(request: Request, call: Call, toolbox: Toolbox | None, max_turns: int) -> Episode:
    """Run the loop from ``request`` (turn 0). Without a toolbox the first answer is final:
    its tool calls are the output (``stop="tool_calls"``)."""
    episode = Episode()
    messages = list(request.messages)
    for turn in range(max_turns):
        current = request if turn == 0 else dataclasses.replace(
            request, messages=list(messages), turn=turn)
        completion = await call(current)
        episode.turns = turn + 1
        if completion is None:
            episode.stop = "error"
            return episode
        if completion.usage is not None:
            episode.usage = episode.usage or Usage()
            episode.usage.add(completion.usage)
        episode.last = completion
        if completion.trajectory is not None:  # a recorded episode, replayed whole
            episode.trajectory = list(completion.trajectory)
            episode.tool_calls = list(completion.tool_calls)
            episode.stop = "replayed"
            return episode
        assistant = assistant_message(completion)
        episode.trajectory.append(assistant)
        episode.tool_calls.extend(completion.tool_calls)
        if not completion.tool_calls or completion.empty:
            episode.stop = "answer"
            return episode
        if toolbox is None or any(toolbox.ends_episode(c) for c in completion.tool_calls):
            episode.stop = "tool_calls"
            return episode
        if turn == max_turns - 1:
            episode.stop = "max_turns"
            return episode
        messages.append(assistant)
        for tool_call in completion.tool_calls:
            try:
                outcome = await toolbox.run(tool_call)
            except ToolCrash as exc:
                episode.crash = str(exc)
                episode.stop = "error"
                return episode
            sent = {"role": "tool", "tool_call_id": tool_call.get("id"),
                    "content": outcome.content}
            messages.append(sent)
            shown = {**sent, "name": (tool_call.get("function") or {}).get("name")}
            if outcome.error is not None:
                shown["error"] = outcome.error
            episode.trajectory.append(shown)
    return episode  # pragma: no cover - the loop returns at its last turn


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def call_text(call: dict[str, Any], width: int = 160) -> str:
    """``name(arguments)`` of one call, shortened."""
    fn = call.get("function") or {}
    return _short(f"{fn.get('name')}({fn.get('arguments') or ''})", width)


def trajectory_lines(trajectory: list[dict[str, Any]], width: int = 160,
                     limit: int = 12) -> list[str]:
    """One short line per step of a trajectory: calls (``->``), results (``<-``), answers."""
    lines: list[str] = []
    for step in trajectory:
        if step.get("role") == "tool":
            mark = " (error)" if step.get("error") else ""
            lines.append(_short(f"<- {step.get('name')}{mark}: {step.get('content')}", width))
            continue
        if step.get("content"):
            lines.append(_short(f"assistant: {step['content']}", width))
        lines += [f"-> {call_text(c, width - 3)}" for c in step.get("tool_calls") or []]
    if len(lines) > limit:
        lines = lines[:limit - 1] + [f"... {len(lines) - limit + 1} more step(s) "
                                     "(see --rft-report)"]
    return lines
