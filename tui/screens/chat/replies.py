"""A reply, from the prompt's Enter to its last token: shown, streamed, recorded, saved.

The chat core decides what a reply is (tui/chat/core.py: `send`, `start_reply`, `launch`,
`open_stream`, `finish`); this part runs it on a thread worker and shows it. The worker posts
`ReplyStarted`, batches of `ReplyChunked` spaced by what they cost the UI thread
(engine/pump.py), and `ReplyFinished`; the partial text is saved every few seconds, so a crash
or a dropped SSH connection loses at most that much of a reply, never what the user typed.
"""

from __future__ import annotations

import time
from functools import partial

from tui.chat import THINKING_BUDGET_NOTE, ChatRefused, ReplyInFlight, ran_out_while_thinking
from tui.chat.context import dropped_note
from tui.engine.backend import EngineError
from tui.engine.pump import pump
from tui.screens.chat.events import (
    ReplyChunked,
    ReplyFinished,
    ReplyHandled,
    ReplyStarted,
)
from tui.screens.chat.part import Part
from tui.store.session import ReplyStats
from tui.widgets.message_view import MessageView

# While a reply streams, the partial text is saved this often.
STREAM_SAVE_INTERVAL_S = 3.0


class Replies(Part):
    """Starts, streams and ends the chat's replies; keeps the context gauge up to date."""

    after_reply: str | None = None  # "new_chat" / "quit" once the reply stops
    _last_stream_save = 0.0
    _batch_cpu: float | None = None  # UI-thread CPU clock at the latest batch

    async def send(self, text: str) -> None:
        """Enter in the prompt: the chat records the message (or the edit) and answers it."""
        prompt = self.prompt
        try:
            user, rewound = self.chat.send(text)
        except ChatRefused as refused:
            prompt.text = text  # give the draft back, unsent
            self.app.notify(str(refused), severity="warning")
            return
        prompt.border_title = None  # an edit, if there was one, is sent
        if rewound:
            await self.conversation.show(self.session)
        else:
            await self.conversation.add(user)
        await self.show(self.chat.start_reply())

    async def show(self, reply: ReplyInFlight, carried: MessageView | None = None) -> None:
        """Show a reply the chat has just asked for (in `carried`, the view of the reply it
        continues), and start it unless the model is still loading."""
        screen = self.screen
        if carried is None:
            screen.reply_view = await self.conversation.add(reply.message)
        else:
            screen.reply_view = carried
            await carried.restart_stream()
        if screen.model_info is None:
            screen.reply_view.refresh_meta("waiting for the model to load…")
            return
        self.generate_pending()

    def generate_pending(self) -> None:
        """Start the reply that waits (for the model, or to be started)."""
        screen = self.screen
        assert screen.reply_view is not None
        reply = self.chat.launch()
        self._last_stream_save = time.monotonic()
        screen.reply_view.refresh_meta("thinking…")
        screen.status.activity = "generating…"
        # A blinking cursor is a frame every half second: while a reply streams, frames are
        # UI-thread time taken from generate (they share the GIL), and the text moves anyway.
        self.prompt.cursor_blink = False
        screen.run_worker(
            partial(self._generate, reply), thread=True, group="reply", exit_on_error=False
        )

    def _generate(self, reply: ReplyInFlight) -> None:
        """The worker: open the stream and pump it into events."""
        post = self.screen.post_message
        try:
            stream, dropped = self.chat.open_stream(reply)
            if dropped:
                self.app.call_from_thread(self.app.notify, dropped_note(dropped))
        except EngineError as exc:
            post(ReplyFinished(ReplyStats(stop_reason="error"), str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown in the conversation, app goes on
            post(ReplyFinished(ReplyStats(stop_reason="error"), f"{type(exc).__name__}: {exc}"))
            return
        post(ReplyStarted(stream.stats.prompt_tokens))
        try:
            pump(
                stream,
                lambda text, n, elapsed, ttft: post(
                    ReplyChunked(text, n, elapsed, ttft, stream.stats.thinking_tokens or 0)
                ),
                self.screen.pacer,
            )
        except Exception as exc:  # noqa: BLE001
            stream.stats.stop_reason = "error"
            stream.error = f"{type(exc).__name__}: {exc}"
        post(ReplyFinished(stream.stats, stream.error))

    def started(self, event: ReplyStarted) -> None:
        self.screen.gauges.reply_started(event.prompt_tokens, self.backend.speed_path())
        self.update_context(event.prompt_tokens)
        self._batch_cpu = None  # the wait for the first token is not a batch's cost

    async def chunked(self, event: ReplyChunked) -> None:
        screen = self.screen
        view = screen.reply_view
        if self.chat.reply is None or view is None:
            return
        # Everything this thread did since the previous batch is what that batch cost.
        cpu = time.thread_time()
        if self._batch_cpu is not None:
            screen.pacer.note(cpu - self._batch_cpu)
        self._batch_cpu = cpu
        self.chat.add_text(event.text)
        await view.append(event.text)
        decoding = event.elapsed_s - (event.ttft_s or 0.0)
        speed = (event.new_tokens - 1) / decoding if event.new_tokens > 1 and decoding > 0 else 0
        # The live speed goes under the reply and in the gauges, not also in the status line:
        # a full-width line changing on every batch made every frame repaint the whole screen.
        view.show_progress(event.new_tokens, speed, event.thinking_tokens, event.elapsed_s)
        screen.gauges.reply_progress(
            event.new_tokens, event.elapsed_s, event.ttft_s, event.thinking_tokens
        )
        if time.monotonic() - self._last_stream_save >= STREAM_SAVE_INTERVAL_S:
            self._last_stream_save = time.monotonic()
            self.chat.save()

    async def end(self, stats: ReplyStats, error: str | None) -> None:
        """The reply is over (done, stopped, failed, or never started): record and show it."""
        screen = self.screen
        view, screen.reply_view = screen.reply_view, None
        message = self.chat.finish(stats, error)  # recorded and saved
        if message is None or view is None:
            return
        self.prompt.cursor_blink = True
        screen.gauges.reply_finished(stats)
        await view.finish()
        if stats.decode_tps:
            screen.status.activity = f"{stats.decode_tps:.1f} tok/s"
        elif error:
            screen.status.activity = "reply failed"
        else:
            screen.status.activity = "ready"
        if error:
            self.app.notify(error, title="Generation stopped", severity="error")
        elif ran_out_while_thinking(message):
            self.app.notify(
                THINKING_BUDGET_NOTE, title="No answer yet", severity="warning", timeout=8
            )
        self.update_context(stats.prompt_tokens + stats.new_tokens)
        screen.replies_finished += 1
        screen.post_message(ReplyHandled(stats))
        after, self.after_reply = self.after_reply, None
        if after == "new_chat":
            await screen.action_new_chat()
        elif after == "quit":
            await screen.leave()

    def stop(self) -> bool:
        """Esc: stop the reply in flight; False when there is none."""
        outcome = self.chat.stop()
        if outcome == "stopping":
            self.screen.status.activity = "stopping…"
        elif outcome == "dropped":  # it was waiting for the model: it ends here, unwritten
            self.screen.call_later(self.end, ReplyStats(stop_reason="cancelled"), None)
        else:
            return False
        return True

    def count_context(self) -> None:
        """Exact prompt size of the chat so far (a resumed chat can be long): off the UI."""
        self.screen.run_worker(
            self._count_context,
            thread=True,
            exclusive=True,
            group="context",
            exit_on_error=False,
        )

    def _count_context(self) -> None:
        messages = self.chat.prompt_messages()
        if not messages or self.screen.model_info is None:
            return
        used = self.backend.count_tokens(messages)
        self.app.call_from_thread(self.update_context, used)

    def update_context(self, used: int | None = None) -> None:
        screen = self.screen
        if used is None:
            used = sum(len(m.content) for m in self.session.messages) // 4  # rough, pre-load
            approx = "~"
        else:  # an engine that can only estimate (a server without /tokenize) says so
            approx = "" if self.backend.capabilities.exact_token_counts else "~"
        info = screen.model_info
        limit = info.context_length if info else None
        screen.gauges.set_context(used, limit)
        screen.status.context = f"ctx {approx}{used}/{limit}" if limit else f"ctx {approx}{used}"
