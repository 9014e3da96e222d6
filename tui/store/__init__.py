"""Sessions: the conversation model and its persistence. Never imports Textual.

The app needs only what is exported here: the dataclasses, `SessionStore` (files in a folder)
and the errors it raises. `session_to_dict`/`session_from_dict` are for tests and tools.
"""

from tui.store.codec import is_valid_session_id, session_from_dict, session_to_dict
from tui.store.errors import SessionLoadError, SessionRefError, SessionSaveError
from tui.store.export import export_markdown
from tui.store.files import SaveResult, SessionStore
from tui.store.index import SessionEntry, SessionSummary
from tui.store.search import SearchHit
from tui.store.session import (
    FORMAT_VERSION,
    GenerationSettings,
    Message,
    ModelRef,
    ReplyStats,
    Session,
)

__all__ = [
    "FORMAT_VERSION",
    "GenerationSettings",
    "Message",
    "ModelRef",
    "ReplyStats",
    "SaveResult",
    "SearchHit",
    "Session",
    "SessionEntry",
    "SessionLoadError",
    "SessionRefError",
    "SessionSaveError",
    "SessionStore",
    "SessionSummary",
    "export_markdown",
    "is_valid_session_id",
    "session_from_dict",
    "session_to_dict",
]
