"""The chat's versions and branches: switch, delete, fork, and branch a reply at a token.

A mixin for `Chat` (core.py), kept apart so the core stays about sending and streaming. The
tree itself is plain data in the session (tui/store/tree.py): the path shown is
`session.messages`, every other version waits in `session.branches`. Nothing here changes
what the model sees except through that path: prompts are always built from the path shown.

Token alternatives (`traces`): the steps of replies that recorded them (tui/engine/tokens.py),
by message id, for this run of the app only: they are not saved with the session. The latest
MAX_TRACES replies keep theirs (a long reply's steps are about a megabyte).
"""

from __future__ import annotations

from collections.abc import Callable

from tui.chat.refused import ChatRefused
from tui.chat.reply import ReplyInFlight
from tui.engine.tokens import TokenChoice, TokenStep, text_of
from tui.store import tree
from tui.store.session import Message, ModelRef, ReplyStats, Session

MAX_TRACES = 64


class BranchActions:
    """Versions, pruning, forking and token branches of the open chat (`Chat` provides the
    attributes declared here)."""

    session: Session
    traces: dict[str, list[TokenStep]]
    reply: ReplyInFlight | None
    save: Callable[..., object]
    start_reply: Callable[..., ReplyInFlight]
    model_ref: Callable[[], ModelRef]
    _refuse_while_busy: Callable[[], None]

    def versions(self, message: Message) -> tuple[int, int]:
        """(which version `message` is, from 1; how many versions its turn has)."""
        try:
            index = tree.index_of(self.session, message)
        except ValueError:
            return 1, 1
        return tree.VersionCounts(self.session).at(index)

    def switch_version(self, message: Message, by: int) -> Message | None:
        """Show the previous (-1) or next (+1) version of `message`'s turn, with the turns that
        followed it; None when there is none that way. Saved."""
        self._refuse_while_busy()
        shown = tree.step(self.session, tree.index_of(self.session, message), by)
        if shown is not None:
            self.save()
        return shown

    def deletion(self, message: Message, whole_turn: bool = False) -> tuple[int, int]:
        """What deleting `message` (or, `whole_turn`, every version of its turn) would take:
        (how many messages in all, how many versions of the turn)."""
        index = tree.index_of(self.session, message)
        ordered = tree.versions(self.session, index)
        if whole_turn:
            return sum(1 + tree.descendants(self.session, m) for m in ordered), len(ordered)
        if len(ordered) == 1:
            return 1, 1
        return 1 + tree.descendants(self.session, message), len(ordered)

    def delete(self, message: Message) -> int:
        """Remove `message`. A message with other versions goes with the turns after it (they
        answered it) and the next version is shown; a lone one goes alone, the turns after it
        stay. Returns how many messages went. Saved."""
        self._refuse_while_busy()
        index = tree.index_of(self.session, message)
        if tree.VersionCounts(self.session).at(index)[1] == 1:
            tree.delete_one(self.session, index)
            removed = 1
        else:
            removed = tree.delete_version(self.session, index)
        self._forget_traces()
        self.save()
        return removed

    def delete_turn(self, message: Message) -> int:
        """Remove `message`'s turn in every version and everything after it: the chat then
        ends before it. Returns how many messages went. Saved."""
        self._refuse_while_busy()
        removed = tree.delete_turn(self.session, tree.index_of(self.session, message))
        self._forget_traces()
        self.save()
        return removed

    def fork(self, message: Message) -> Session:
        """A new chat with a copy of the path shown, up to and including `message`."""
        return tree.fork(self.session, tree.index_of(self.session, message))

    # ---- token alternatives --------------------------------------------------------------

    def trace(self, message: Message) -> list[TokenStep] | None:
        """The recorded steps of reply `message`, if it recorded them in this run."""
        return self.traces.get(message.id) if message.id else None

    def branch_at_token(
        self, message: Message, index: int, choice: TokenChoice
    ) -> ReplyInFlight | None:
        """A new version of reply `message`: its tokens before `index`, then `choice` in
        place of the token the model picked there, and the model carries on from it (None:
        `choice` ends the reply, so the new version is complete as it is). Saved."""
        self._refuse_while_busy()
        steps = self.trace(message)
        if steps is None or not 0 <= index < len(steps):
            raise ValueError("no such token in this reply")
        if message.thinking:
            raise ChatRefused("Picking a token works on replies without thinking, for now.")
        kept = [*steps[:index], TokenStep(choice, steps[index].alternatives)]
        new = Message(
            "assistant",
            text_of(kept),
            stats=ReplyStats(new_tokens=len(kept), stop_reason="cancelled"),
        )
        new.model, new.settings = self.model_ref(), message.settings
        tree.cut(self.session, tree.index_of(self.session, message))
        self.session.messages.append(new)
        self.traces[tree.ensure_id(self.session, new)] = kept
        if choice.special:  # the model would have ended its reply here
            new.stats = ReplyStats(new_tokens=len(kept), stop_reason="end_of_turn")
            self.save()
            return None
        reply = self.start_reply(carry_on=new)
        self.save()
        return reply

    def keep_trace(self, reply: ReplyInFlight, steps: list[TokenStep] | None) -> None:
        """Record a finished reply's steps (with those it carried on from)."""
        message = reply.message
        if steps is None:  # not recorded this time: an older trace no longer matches the text
            if message.id:
                self.traces.pop(message.id, None)
            return
        before: list[TokenStep] = []
        if reply.carry_on:
            found = self.traces.get(message.id) if message.id else None
            if found is None:
                return  # the start of this reply was not recorded: a half trace would mislead
            before = found
        key = tree.ensure_id(self.session, message)
        self.traces.pop(key, None)  # re-inserted: the newest, kept longest
        self.traces[key] = [*before, *steps]
        while len(self.traces) > MAX_TRACES:
            del self.traces[next(iter(self.traces))]

    def _forget_traces(self) -> None:
        ids = {m.id for m in tree.all_messages(self.session)}
        for gone in [k for k in self.traces if k not in ids]:
            del self.traces[gone]
