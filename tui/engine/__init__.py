"""The chat engine: loading models, chat templates, streaming generation, stats.

Never imports Textual, and never imports torch or transformers at module import: those cost
seconds, so they are imported inside the loading worker (see `transformers_backend`).
"""

from tui.engine.backend import Backend, EngineError, LoadSpec, ModelInfo, Reply

__all__ = ["Backend", "EngineError", "LoadSpec", "ModelInfo", "Reply"]
