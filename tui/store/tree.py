"""A chat as a tree: every version of every turn is kept, one path through them is shown.

`Session.messages` is the path shown: what the conversation pane shows, what prompts are built
from, what the Markdown export writes. Each message on it follows the one before it.
`Session.branches` holds every other message: earlier versions of an edited message or a
regenerated reply, and the turns that followed them. Each of those names its `parent` by id
(None: it is a first message). So a linear chat is `messages` alone, as it always was, and
opening a chat never walks a tree: a chat with many branches opens as fast as its path.

The versions of a turn are the messages with the same parent, oldest first (by `created`, then
by id). Switching to another version moves the shown tail into `branches` and brings the chosen
version's tail out of it. At each step down it follows the child shown most recently, which is
the last one in `branches` (a tail moved there goes to the end), so a branch comes back as it
was left, also after the chat is saved and opened again.

Pure functions on a Session, no I/O; the chat core (tui/chat/core.py) calls them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import replace

from tui.store.session import Message, Session, new_session_id, now_iso

_ID_NUMBER = re.compile(r"m(\d+)")


def all_messages(session: Session) -> Iterator[Message]:
    """Every message of the chat: the path shown, then the other branches."""
    yield from session.messages
    yield from session.branches


def _number(message_id: str) -> int:
    found = _ID_NUMBER.fullmatch(message_id)
    return int(found.group(1)) if found else 0


def _top(session: Session) -> int:
    return max((_number(m.id) for m in all_messages(session)), default=0)


def fresh_id(session: Session) -> str:
    """An id no message of the chat has: "m1", "m2", ... in the order they are made."""
    return f"m{_top(session) + 1}"


def ensure_ids(session: Session) -> None:
    """Give every message an id (a linear chat needs none until it branches)."""
    missing = [m for m in all_messages(session) if not m.id]
    if not missing:
        return
    n = _top(session)
    for m in missing:
        n += 1
        m.id = f"m{n}"


def ensure_id(session: Session, message: Message) -> str:
    if not message.id:
        message.id = fresh_id(session)
    return message.id


def _parent_of(session: Session, index: int) -> str | None:
    """The parent id of path position `index`: the message before it ("" if it has no id,
    which no branch can name)."""
    return session.messages[index - 1].id if index else None


def _children(session: Session) -> dict[str | None, list[Message]]:
    """Branch messages by parent id, in `branches` order (most recently shown last)."""
    out: dict[str | None, list[Message]] = {}
    for m in session.branches:
        out.setdefault(m.parent, []).append(m)
    return out


def _order(m: Message) -> tuple[str, float, str]:
    # No id yet: made since the chat last branched, so the newest of its versions.
    return (m.created, _number(m.id) if m.id else float("inf"), m.id)


def versions(session: Session, index: int) -> list[Message]:
    """Every version of path position `index`, oldest first (the shown one among them)."""
    parent = _parent_of(session, index)
    siblings = [m for m in session.branches if m.parent == parent] if parent != "" else []
    return sorted([session.messages[index], *siblings], key=_order)


class VersionCounts:
    """'2 of 3' for path positions, from one pass over the branches (the conversation asks
    it for the dozen messages it mounts, not for the whole path)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._children = _children(session)

    def at(self, index: int) -> tuple[int, int]:
        """(which version is shown, counting from 1; how many there are)."""
        session = self._session
        parent = _parent_of(session, index)
        siblings = self._children.get(parent, []) if parent != "" else []
        if not siblings:
            return 1, 1
        shown = session.messages[index]
        ordered = sorted([shown, *siblings], key=_order)
        return next(i for i, m in enumerate(ordered) if m is shown) + 1, len(ordered)


def index_of(session: Session, message: Message) -> int:
    """The path position of `message` (ValueError when it is not shown)."""
    for i, m in enumerate(session.messages):
        if m is message:
            return i
    raise ValueError("message is not on the path shown")


def cut(session: Session, index: int) -> list[Message]:
    """Move the path from `index` on into the branches (kept, not shown); returns it."""
    ensure_ids(session)
    tail = session.messages[index:]
    del session.messages[index:]
    parent = _parent_of(session, index)
    for m in tail:
        m.parent, parent = parent, m.id
    session.branches.extend(tail)
    return tail


def _take_chain(session: Session, head: Message) -> list[Message]:
    """`head` and, at each step down, the child shown most recently: out of the branches."""
    children = _children(session)
    chain = [head]
    while kids := children.get(chain[-1].id):
        chain.append(kids[-1])
    taken = {id(m) for m in chain}
    session.branches = [m for m in session.branches if id(m) not in taken]
    for m in chain:
        m.parent = None  # on the path, a message follows the one before it
    return chain


def switch(session: Session, index: int, target: Message) -> None:
    """Show version `target` at path position `index`, with the turns that followed it."""
    if target is session.messages[index]:
        return
    if not any(m is target for m in session.branches):
        raise ValueError("not a version of this message")
    if target.parent != _parent_of(session, index):
        raise ValueError("not a version of this message")
    cut(session, index)
    session.messages.extend(_take_chain(session, target))


def step(session: Session, index: int, by: int) -> Message | None:
    """Show the previous (-1) or next (+1) version at `index`; None when there is none."""
    ordered = versions(session, index)
    at = next(i for i, m in enumerate(ordered) if m is session.messages[index]) + by
    if not 0 <= at < len(ordered):
        return None
    switch(session, index, ordered[at])
    return ordered[at]


def extend(session: Session) -> None:
    """After the path's end was removed: show the branch below the new end, if any."""
    parent = session.messages[-1].id if session.messages else None
    if parent == "":
        return
    kids = _children(session).get(parent)
    if kids:
        session.messages.extend(_take_chain(session, kids[-1]))


def _drop_below(session: Session, roots: set[str]) -> int:
    """Remove every branch message below the messages with ids `roots`; returns how many."""
    children = _children(session)
    gone: set[int] = set()
    todo = list(roots)
    while todo:
        for kid in children.get(todo.pop(), []):
            if id(kid) not in gone:
                gone.add(id(kid))
                todo.append(kid.id)
    session.branches = [m for m in session.branches if id(m) not in gone]
    return len(gone)


def descendants(session: Session, message: Message) -> int:
    """How many messages follow `message` on every branch below it (what deleting it with
    its later turns takes along)."""
    try:
        index = index_of(session, message)
    except ValueError:
        index = -1
    shown = session.messages[index + 1 :] if index >= 0 else []
    todo = [m.id for m in [message, *shown] if m.id]
    children = _children(session)
    n = len(shown)
    while todo:
        for kid in children.get(todo.pop(), []):
            n += 1
            todo.append(kid.id)
    return n


def delete_version(session: Session, index: int) -> int:
    """Remove the version at `index` and every turn after it on every branch below it, then
    show the next version of that turn (the one before, if it was the last), or end the path
    there when it had no other. Returns how many messages were removed."""
    ordered = versions(session, index)
    shown = session.messages[index]
    at = next(i for i, m in enumerate(ordered) if m is shown)
    tail = session.messages[index:]
    del session.messages[index:]
    removed = len(tail) + _drop_below(session, {m.id for m in tail if m.id})
    others = ordered[:at] + ordered[at + 1 :]
    if others:
        session.messages.extend(_take_chain(session, others[min(at, len(others) - 1)]))
    return removed


def delete_turn(session: Session, index: int) -> int:
    """Remove path position `index` in every version, and everything after it: the chat
    ends before it. Returns how many messages were removed."""
    parent = _parent_of(session, index)
    siblings = [m for m in session.branches if m.parent == parent] if parent != "" else []
    tail = session.messages[index:]
    del session.messages[index:]
    roots = {m.id for m in [*tail, *siblings] if m.id}
    gone = {id(m) for m in siblings}
    session.branches = [m for m in session.branches if id(m) not in gone]
    return len(tail) + len(siblings) + _drop_below(session, roots)


def delete_one(session: Session, index: int) -> None:
    """Remove the single message at `index` (a turn with no other version): the turns after it
    stay, and its other branches hang from the message before it."""
    gone = session.messages[index]
    if gone.id and any(m.parent == gone.id for m in session.branches):
        ensure_ids(session)  # its branches need the message before it to have an id
    session.messages.pop(index)
    if gone.id:
        parent = _parent_of(session, index)
        for m in session.branches:
            if m.parent == gone.id:
                m.parent = parent if parent != "" else None


def pin_settings(session: Session) -> None:
    """Replies saved without their own settings were written with the session's: record that
    on them now, before the session's settings can change (a new model's defaults, F5)."""
    for m in all_messages(session):
        if m.role == "assistant" and m.settings is None:
            m.settings = replace(session.settings)


def fork(session: Session, index: int) -> Session:
    """A new chat holding a copy of the path shown up to and including `index`."""
    path = [copy.deepcopy(m) for m in session.messages[: index + 1]]
    title = session.title or "chat"
    return Session(
        id=new_session_id(),
        title=f"{title} (fork)"[:80],
        created=now_iso(),
        model=copy.deepcopy(session.model),
        settings=replace(session.settings),
        system_prompt=session.system_prompt,
        messages=path,
        settings_chosen=copy.copy(session.settings_chosen),
    )


def problem(session: Session) -> str | None:
    """Why the tree cannot stand (for the file reader), or None: ids unique, every branch
    message with an id and a parent that exists, no branch cut off from the chat."""
    seen: dict[str, str] = {}
    for where, items in (("messages", session.messages), ("branches", session.branches)):
        for i, m in enumerate(items):
            if where == "branches" and not m.id:
                return f"branches[{i}].id: missing (a message off the path needs an id)"
            if m.id in seen:
                return f"{where}[{i}].id: {m.id!r} is also {seen[m.id]}"
            if m.id:
                seen[m.id] = f"{where}[{i}]'s id"
    parents = {m.id: m.parent for m in session.branches}
    on_path = {m.id for m in session.messages if m.id}
    reaches: dict[str, bool] = {}
    for i, m in enumerate(session.branches):
        if m.parent is not None and m.parent not in seen:
            return f"branches[{i}].parent: {m.parent!r} is no message's id"
        chain: list[str] = []
        at: str | None = m.id
        while at is not None and at not in on_path and at not in reaches:
            if at in chain:
                return f"branches[{i}].parent: the parents go round in a circle"
            chain.append(at)
            at = parents.get(at)
        for c in chain:
            reaches[c] = True
    return None
