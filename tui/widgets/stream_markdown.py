"""The Markdown widget replies are shown in: Textual's, made cheaper to stream into.

Why: while a reply streams, each batch of text goes to the last paragraph, and Textual's
paragraph asks for a layout of the whole screen on every update, then a repaint of all of
it. That is UI-thread Python, and the UI thread shares the GIL with generate: on a 2-core CPU
the app decoded a few percent slower than bare `generate` (bench/app_vs_generate.py). Most
batches add a few words to a line that is already there, so the paragraph's height does not
change: `StreamParagraph` then repaints itself only. A reply's Markdown also reuses one parser
for its appends instead of building a new one (a third of a millisecond) on every batch.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from textual.await_complete import AwaitComplete
from textual.content import Content
from textual.widgets import Markdown
from textual.widgets._markdown import MarkdownParagraph


@cache
def _append_parser() -> MarkdownIt:
    """The parser appends use. One instance is safe here: an append parses synchronously on
    the UI thread, so two never run at once (`update` parses in a worker thread: it gets a
    parser of its own, see StreamMarkdown.update)."""
    return MarkdownIt("gfm-like")


class StreamParagraph(MarkdownParagraph):
    """A paragraph that lays the screen out again only when its height changes."""

    def set_content(self, content: Content) -> None:
        width, height = self.content_size
        if not width or not self.is_mounted:
            super().set_content(content)
            return
        self._content = content
        self.update(content, layout=False)  # repaints, and forgets the cached height
        if self.get_content_height(self.size, self.size, width) != height:
            self.refresh(layout=True)


class StreamMarkdown(Markdown):
    """Textual's Markdown with `StreamParagraph`s and a parser shared by appends."""

    BLOCKS = {**Markdown.BLOCKS, "paragraph_open": StreamParagraph}

    def __init__(self, markdown: str | None = None, **kwargs: object) -> None:
        super().__init__(markdown, parser_factory=_append_parser, **kwargs)  # type: ignore[arg-type]

    def update(self, markdown: str) -> AwaitComplete:
        # `update` parses in a thread of the executor: give it a parser of its own (the base
        # class makes one when there is no factory; it does so before this returns).
        factory, self._parser_factory = self._parser_factory, None
        try:
            return super().update(markdown)
        finally:
            self._parser_factory = factory
