"""The messages a chat template is given for the next reply: the chat so far, each earlier
reply as its family expects it, and an unfinished reply written back for continuation.

Earlier thinking: most templates drop it (Qwen2.5, Llama, DeepSeek-R1 strips it from the
content) and a chat client should not send it; where a template reads it from a key of its
own (`reasoning_content` in Qwen3, `thinking` in gpt-oss: `ChatFormat.history_key`), it is
passed there and the template decides what to keep. The answer alone is always `content`.

A reply stopped inside its thinking (out of tokens, Esc) is continued by writing it back as
the model wrote it: `<think>` and the thinking so far (or harmony's analysis header), then,
if the answer had begun, the close and the answer. No Textual.
"""

from __future__ import annotations

from tui.chat.reasoning import CHANNEL, END, MESSAGE, START
from tui.engine.chat_format import ChatFormat
from tui.store.session import Message, Session

ChatMessage = dict[str, str]


def history(
    session: Session, fmt: ChatFormat | None, upto: Message | None = None
) -> list[ChatMessage]:
    """The chat as template messages, system prompt first; stops before `upto` if given."""
    key = fmt.history_key if fmt is not None else None
    out: list[ChatMessage] = []
    if session.system_prompt:
        out.append({"role": "system", "content": session.system_prompt})
    for m in session.messages:
        if m is upto:
            break
        if m.role == "system" or not m.content and m.role == "assistant":
            continue
        item = {"role": m.role, "content": m.content}
        if key and m.role == "assistant" and m.thinking:
            item[key] = m.thinking
        out.append(item)
    return out


def carried(message: Message, fmt: ChatFormat | None) -> ChatMessage:
    """The unfinished reply `message` as the start of the model's own output."""
    thinking, answer = message.thinking or "", message.content
    if not thinking or fmt is None:
        return {"role": "assistant", "content": answer}
    if fmt.reasoning == "harmony":
        text = f"{CHANNEL}analysis{MESSAGE}{thinking}"
        if answer:
            text += f"{END}{START}assistant{CHANNEL}final{MESSAGE}{answer}"
        return {"role": "assistant", "content": text}
    text = ("" if fmt.opens_think else "<think>\n") + thinking
    if answer:
        text += f"\n</think>\n\n{answer}"
    return {"role": "assistant", "content": text}
