"""tchat: a keyboard-driven terminal app for chatting with local Transformers chat models."""

__version__ = "0.1.0"
