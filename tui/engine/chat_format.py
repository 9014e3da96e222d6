"""What a model's chat template does about thinking, system prompts and earlier replies.

Chat templates are Jinja programs, and families differ in what matters to a chat client:
Qwen3 thinks unless `enable_thinking=False` is passed; SmolLM3 reads `/think` or `/no_think`
in the system prompt; DeepSeek-R1 and its distills open `<think>` in every prompt, so the reply
starts inside it and cannot be switched off; gpt-oss writes harmony channels (`analysis`,
`commentary`, `final`) between special tokens; Gemma 2 refuses a system message outright;
Qwen3 and gpt-oss read a turn's earlier thinking from a `reasoning_content` / `thinking` key.

Reading the source for names alone would be guesswork, so `detect` renders a probe chat and
compares: a switch that changes nothing is no switch. The result (`ChatFormat`) travels on
`ModelInfo`; `template_inputs` turns a chat into what the template is given. No torch here:
the caller passes a function that renders (`tokenizer.apply_chat_template`, text only).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# render(messages, **template_kwargs) -> the prompt text, with the generation prompt.
RenderFn = Callable[..., str]
ChatMessages = list[dict[str, str]]

_PROBE_USER = "Hello there."
_PROBE_SYSTEM = "Probe system prompt 7f3a."
_READS_THINKING = re.compile(
    r"""message\.thinking|message\[['"]thinking['"]\]|['"]thinking['"]\s+in\s+message"""
)


@dataclass(frozen=True)
class ChatFormat:
    """What a chat template does, as `detect` found it by rendering."""

    reasoning: str = "none"  # "none" | "tags" (<think>…</think>) | "harmony" (gpt-oss)
    switch: str | None = None  # "enable_thinking" | "system_flag" (/think, /no_think) | None
    thinks_by_default: bool = False  # with the switch left alone
    history_key: str | None = None  # the template reads a turn's thinking from this key
    system_role: bool = True  # False: tchat folds the system prompt into the first user turn
    opens_think: bool = False  # the generation prompt ends inside <think> (DeepSeek-R1)
    note: str = ""  # why the thinking cannot be switched (for F5 and the F7 key)

    @property
    def thinks(self) -> bool:
        return self.reasoning != "none"

    def thinking_on(self, choice: bool | None) -> bool:
        """Whether replies think under the chat's switch (None: the model's default)."""
        if not self.thinks:
            return False
        if self.switch is None or choice is None:
            return self.thinks_by_default
        return choice


_NO_THINKING_NOTE = "This model does not think before it answers (its template has no thinking)."
NO_THINKING = ChatFormat(note=_NO_THINKING_NOTE)


def detect(source: str, render: RenderFn) -> ChatFormat:
    """The format of a template whose text is `source`, found by rendering probes."""
    probe: ChatMessages = [{"role": "user", "content": _PROBE_USER}]
    try:
        base = render(probe)
    except Exception:  # noqa: BLE001 - a template that cannot render a plain chat: assume little
        return NO_THINKING
    harmony = "<|channel|>" in source
    reasoning = "harmony" if harmony else ("tags" if "<think>" in source else "none")
    switch, default_on = _switch(source, render, probe, base)
    opens = base.rstrip().endswith("<think>")
    if reasoning == "none" and switch is None:
        default_on = False
    elif switch is None:
        default_on = True  # a thinking template without a switch thinks every time
    note = ""
    if harmony and switch is None:
        note = (
            "This model always reasons (gpt-oss harmony format): its template sets a "
            "reasoning effort, not an off switch."
        )
    elif reasoning == "tags" and switch is None:
        note = (
            "This model always thinks: its template opens <think> in every prompt and has no "
            "off switch."
            if opens
            else "This model's template has no thinking switch."
        )
    elif reasoning == "none" and switch is None:
        note = _NO_THINKING_NOTE
    history_key = None
    if "reasoning_content" in source:
        history_key = "reasoning_content"
    elif _READS_THINKING.search(source):
        history_key = "thinking"
    return ChatFormat(
        reasoning=reasoning if reasoning != "none" or switch is None else "tags",
        switch=switch,
        thinks_by_default=default_on,
        history_key=history_key,
        system_role=_takes_system(render, probe),
        opens_think=opens,
        note=note,
    )


def _switch(
    source: str, render: RenderFn, probe: ChatMessages, base: str
) -> tuple[str | None, bool]:
    """The template's thinking switch and whether thinking is on when it is left alone."""
    if "enable_thinking" in source:
        try:
            on = render(probe, enable_thinking=True)
            off = render(probe, enable_thinking=False)
        except Exception:  # noqa: BLE001
            on = off = base
        if on != off:
            return "enable_thinking", base == on
    if "/no_think" in source:
        try:
            on = render([{"role": "system", "content": "/think"}, *probe])
            off = render([{"role": "system", "content": "/no_think"}, *probe])
        except Exception:  # noqa: BLE001
            on = off = base
        if on != off:
            # The generation prompt is where a thinking switch shows (an empty think block);
            # a difference only further up (a metadata line) says nothing of the default.
            k = 24
            return "system_flag", on[-k:] == off[-k:] or base[-k:] == on[-k:]
    return None, False


def _takes_system(render: RenderFn, probe: ChatMessages) -> bool:
    """Whether a system message reaches the prompt (rendered as a role, or folded in by the
    template itself, as Gemma 3's and Mistral's do). A template that raises on it (Gemma 2:
    "System role not supported") or drops it silently gets it folded in by tchat."""
    try:
        text = render([{"role": "system", "content": _PROBE_SYSTEM}, *probe])
    except Exception:  # noqa: BLE001 - jinja's raise_exception()
        return False
    return _PROBE_SYSTEM in text


def fold_system(messages: ChatMessages) -> ChatMessages:
    """The system prompt put at the top of the first user turn, separated by a blank line: how
    Gemma's documentation says to give a model without a system role its instructions."""
    if not messages or messages[0]["role"] != "system":
        return messages
    system, rest = messages[0]["content"], [dict(m) for m in messages[1:]]
    for m in rest:
        if m["role"] == "user":
            m["content"] = f"{system}\n\n{m['content']}" if system else m["content"]
            return rest
    return [{"role": "user", "content": system}, *rest] if system else rest


def template_inputs(
    messages: ChatMessages, fmt: ChatFormat | None, thinking: bool | None
) -> tuple[ChatMessages, dict[str, Any]]:
    """The messages and extra template arguments for `thinking` (None: the model's default)."""
    if fmt is None:
        return messages, {}
    kwargs: dict[str, Any] = {}
    if not fmt.system_role:
        messages = fold_system(messages)
    if thinking is not None and fmt.switch == "enable_thinking":
        kwargs["enable_thinking"] = thinking
    elif thinking is not None and fmt.switch == "system_flag":
        flag = "/think" if thinking else "/no_think"
        if messages and messages[0]["role"] == "system":
            first = dict(messages[0])
            first["content"] = f"{first['content']}\n{flag}" if first["content"] else flag
            messages = [first, *messages[1:]]
        else:
            messages = [{"role": "system", "content": flag}, *messages]
    return messages, kwargs
