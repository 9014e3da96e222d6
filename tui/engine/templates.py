"""Chat templates: the model's own, or a documented fallback when a model ships none.

Base (non-chat) models often have no `chat_template`. Refusing them outright would make tchat
useless for quick experiments, so we apply ChatML, which many instruct models were trained
on, and tell the user that replies may be poor. The note is shown in the conversation.
"""

from __future__ import annotations

# ChatML: <|im_start|>role\ncontent<|im_end|>\n ... then an open assistant turn.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

FALLBACK_NOTE = (
    "This model has no chat template (it may be a base model, not a chat model). "
    "tchat is using a generic ChatML template; replies may be poor. "
    "Pick an -Instruct/-Chat variant for real conversations."
)


def ensure_chat_template(tokenizer) -> str | None:  # noqa: ANN001 - a transformers tokenizer
    """Give `tokenizer` a template if it has none; return the note to show, or None."""
    if getattr(tokenizer, "chat_template", None):
        return None
    tokenizer.chat_template = CHATML_TEMPLATE
    return FALLBACK_NOTE
