"""The remote engine: chat with a model served by vLLM, SGLang, llama-server or `transformers
serve` over the OpenAI chat-completions API.

- `backend.py`: the `RemoteBackend` (registry name "remote"): connecting, streaming, stopping.
- `client.py`: the HTTP side (the `openai` package on httpx2, imported only when connecting).
- `stream.py`: reading a streamed completion as real servers send it.
- `servers.py`: what each server takes and offers beyond the common API.
- `errors.py`: every failure as one sentence the user can act on.
- `tokens.py`: token estimates for servers that cannot count them.

Nothing here imports torch, transformers or Textual; importing this package imports no HTTP
client either.
"""
