"""A session as a Markdown document, for sharing or pasting elsewhere: the path shown (the
other versions of a branched chat stay in its session file, which the header says).

Message contents are already Markdown (that is what chat models write), so they are copied as
they are; tchat's own lines (headings, model, figures) are added around them.
"""

from __future__ import annotations

from tui.store.session import Message, ReplyStats, Session

_ROLE_TITLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def _stats_line(stats: ReplyStats) -> str:
    return f"{stats.describe()} · {stats.total_s:.1f} s"


def _message_block(m: Message) -> list[str]:
    lines = [f"## {_ROLE_TITLES.get(m.role, m.role)}", ""]
    if m.thinking:  # folded, as on screen: most readers want the answer
        lines += ["<details><summary>Thinking</summary>", "", m.thinking, "", "</details>", ""]
    lines.append(m.content if m.content else "*(empty)*")
    notes = []
    if m.model is not None and m.model.id:
        notes.append(f"`{m.model.id}`")
    if m.stats is not None:
        notes.append(_stats_line(m.stats))
    if m.error:
        notes.append(f"error: {' '.join(m.error.split())}")
    if notes:
        lines += ["", f"*{' · '.join(notes)}*"]
    return lines + [""]


def export_markdown(session: Session) -> str:
    """The whole chat: title, model and dates, system prompt, then each turn under a heading."""
    lines = [f"# {session.title or 'Untitled chat'}", ""]
    if session.model.id:
        lines.append(f"- Model: `{session.model.id}`")
    lines += [f"- Created: {session.created}", f"- Updated: {session.updated}"]
    if session.branches:
        lines.append(
            f"- Versions: the ones shown; {len(session.branches)} messages on other branches "
            "are kept in the session file"
        )
    lines.append("")
    if session.system_prompt:
        lines += ["## System prompt", ""]
        lines += [f"> {line}" if line else ">" for line in session.system_prompt.splitlines()]
        lines.append("")
    for m in session.messages:
        lines += _message_block(m)
    return "\n".join(lines).rstrip("\n") + "\n"
