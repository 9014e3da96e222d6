"""The kept engine: a model left loaded after `tchat -p --keep-alive`, for the next `tchat -p`.

Why: a one-shot answer on a warm machine spends seconds importing torch and transformers and
loading the weights before its first token, and a script that asks a question a minute pays
that every time. Like `ollama run`'s keep_alive, `--keep-alive 5m` (or TCHAT_KEEP_ALIVE)
leaves the model loaded in a small background process for that long after each answer; the
next `tchat -p` with the same model and options finds it, sends the chat over a private Unix
socket and streams the answer, importing neither torch nor transformers. Opt-in: a process
holding a model's memory after the command ended must be asked for. `--keep-alive 0` tells a
running one to unload after this answer.

wire.py: the socket, its key, the messages; server.py: the process; client.py: the backend.
"""
