"""One question, one streamed answer, no full-screen UI: `tchat -p "..."` and `echo hi | tchat`.

For scripts, pipes and quick questions over SSH. It takes the same options as the app (model,
dtype, device, system prompt, `--resume`) and keeps the same records: the exchange is saved as
a session (the question before generation starts, the reply once it ends), so it shows up in
the session browser and `tchat --resume` continues it in the app.

The reply streams to stdout as it is generated, passed through `visible()` so escape sequences
a model writes are printed as symbols and cannot drive the terminal. Everything else (progress
while a model loads on a terminal, errors, notes) goes to stderr, so stdout is only the reply.
A reasoning model's thinking is kept in the session, apart from the answer, and not printed;
`--show-thinking` prints it to stderr as it streams, so stdout stays the answer alone.

Exit codes:
    0    the reply was written and saved
    1    the model could not be loaded or downloaded (a hub model not cached needs --yes), or
         generation failed (a partial reply is still saved)
    2    usage: no prompt given (empty -p, nothing on stdin)
    3    session: the one to resume cannot be found or read, or the chat could not be saved
    130  interrupted with ctrl+c (the partial reply is saved, marked as stopped)
    141  stdout was closed early (`tchat -p ... | head -1`); generation stops, the chat is saved

No Textual import: the app is never started.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TextIO

from tui.chat import Chat, ran_out_while_thinking
from tui.chat.context import dropped_note
from tui.config import Config, ConfigError, load_config
from tui.engine.backend import Backend, EngineError, LoadSpec, ModelInfo, Reply, Thinking
from tui.engine.kept import client as kept_engine
from tui.engine.registry import make_backend, name_for
from tui.launch import LaunchConfig, load_spec_for, sessions_dir_for
from tui.store import SessionLoadError, SessionRefError, SessionStore
from tui.store.session import ReplyStats, Session
from tui.text import visible

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_SESSION = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141


class _Failed(Exception):
    """Ends the run with `code` after `message` went to stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Progress:
    """Loading progress on one rewritten stderr line, only when stderr is a terminal: a
    script's log should not fill up with it."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.live = _isatty(err)
        self.shown = False

    def __call__(self, text: str, fraction: float | None = None) -> None:
        if not self.live:
            return
        suffix = f" {fraction:.0%}" if fraction is not None and 0 < fraction < 1 else ""
        self.err.write(f"\r\x1b[K{visible(text)[:70]}{suffix}")
        self.err.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _say(err: TextIO, text: str) -> None:
    """One message on stderr, each line prefixed, control characters made visible."""
    for line in visible(text).splitlines() or [""]:
        err.write(f"tchat: {line}\n")
    err.flush()


def _open_session(store: SessionStore, launch: LaunchConfig, config: Config) -> Session:
    if launch.resume is None:
        system = launch.system if launch.system is not None else (config.system_prompt or "")
        return Session(
            settings=config.generation_settings(), system_prompt=system, settings_chosen=[]
        )
    try:
        path = store.resolve(launch.resume) if launch.resume else store.newest()
        if path is None:
            raise _Failed(EXIT_SESSION, f"no saved sessions in {store.directory} to resume")
        session = store.load(path)
    except (SessionLoadError, SessionRefError, LookupError, ValueError, OSError) as exc:
        raise _Failed(EXIT_SESSION, f"cannot resume: {exc}") from None
    if launch.system is not None:
        session.system_prompt = launch.system
    # A reply saved mid-stream by a run that died keeps stop_reason "streaming", as in the
    # app: it is shown as interrupted, never as stopped by the user.
    return session


def _save(store: SessionStore, session: Session, err: TextIO) -> bool:
    session.touch()
    try:
        result = store.save_checked(session)
    except Exception as exc:  # noqa: BLE001 - any failure to save is reported, not raised
        _say(err, f"the chat was not saved: {exc}")
        return False
    if result.copied:
        _say(err, f"{result.reason}; saved as a copy: {result.path}")
    return True


def one_reply_fast_mode(fast: str) -> str:
    """The fast path for a one-shot answer: off unless asked for by name."""
    return "off" if fast == "auto" else fast


def run_oneshot(
    launch: LaunchConfig,
    prompt: str,
    backend: Backend | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Answer `prompt` on `out`, save the exchange, return the exit code (see the module)."""
    out = out or sys.stdout
    err = err or sys.stderr
    if not prompt.strip():
        _say(err, "no prompt: give one with -p TEXT, or pipe it in (echo hi | tchat)")
        return EXIT_USAGE
    try:
        config = load_config(launch.config_path)
    except ConfigError as exc:
        _say(err, f"config file ignored: {exc}")
        config = Config()
    progress = _Progress(err)
    try:
        store = SessionStore(
            sessions_dir_for(launch, config), fmt=launch.format or config.format or "toml"
        )
        session = _open_session(store, launch, config)
        return _answer(store, session, launch, config, prompt, backend, out, err, progress)
    except _Failed as failed:
        progress.clear()
        _say(err, failed.message)
        return failed.code
    except KeyboardInterrupt:
        progress.clear()
        _say(err, "interrupted")
        return EXIT_INTERRUPTED
    except ValueError as exc:  # e.g. an unknown session format in the config file
        progress.clear()
        _say(err, str(exc))
        return EXIT_USAGE


def _download(model: str, yes: bool, err: TextIO, progress: _Progress) -> None:
    """A hub model not in the cache: its plan, then (with --yes) the download (see
    oneshot_download.py); ctrl+c keeps the partial files and exits 130."""
    from tui.oneshot_download import Refused, ensure_downloaded

    try:
        ensure_downloaded(model, yes, err, progress.live, _say)
    except Refused as refused:
        raise _Failed(EXIT_ERROR, str(refused)) from None


def _load(backend: Backend, spec: LoadSpec, progress: _Progress) -> ModelInfo:
    try:
        info = backend.load(spec, progress)
    except EngineError as exc:
        raise _Failed(EXIT_ERROR, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a load failure is a message, not a traceback
        raise _Failed(
            EXIT_ERROR, f"could not load the model: {type(exc).__name__}: {exc}"
        ) from None
    finally:
        progress.clear()
    return info


def _answer(
    store: SessionStore,
    session: Session,
    launch: LaunchConfig,
    config: Config,
    prompt: str,
    backend: Backend | None,
    out: TextIO,
    err: TextIO,
    progress: _Progress,
) -> int:
    spec = load_spec_for(launch, config, session)
    # One reply ends long before a background compile (a minute or more on a CPU) would pay.
    # A served model (--endpoint, or a resumed chat's) is answered by the remote engine.
    name = name_for(spec, launch.backend)
    fast = one_reply_fast_mode(launch.fast)
    keep = launch.keep_alive if backend is None and name != "remote" else None
    kept = kept_engine.find(spec, fast, keep, name) if keep is not None else None
    backend = backend or kept or make_backend(name, fast)
    if backend.capabilities.hub_models:
        _download(spec.model, launch.yes, err, progress)
    info = _load(backend, spec, progress)
    try:
        return _reply(store, session, launch, config, prompt, backend, info, out, err)
    finally:
        if keep and kept is None:  # loaded here: keep a copy loaded for the next -p, from now
            kept_engine.start(spec, fast, keep, name)


def _reply(
    store: SessionStore,
    session: Session,
    launch: LaunchConfig,
    config: Config,
    prompt: str,
    backend: Backend,
    info: ModelInfo,
    out: TextIO,
    err: TextIO,
) -> int:
    if info.quantization_note:
        _say(err, info.quantization_note)
    if info.server_note:
        _say(err, info.server_note)
    saves: list[bool] = []
    chat = Chat(
        session,
        backend,
        lambda s: saves.append(_save(store, s, err)),
        config_settings=config.generation,
    )
    chat.model_info = info
    chat.send(prompt)  # the question is on disk before generation starts
    chat.start_reply()
    reply = chat.launch()
    try:
        stream, dropped = chat.open_stream(reply)
    except EngineError as exc:
        chat.withdraw()  # the prompt does not fit: nothing was asked, no reply to keep
        raise _Failed(EXIT_ERROR, str(exc)) from None
    except Exception as exc:  # noqa: BLE001
        chat.finish(ReplyStats(stop_reason="error"), f"{type(exc).__name__}: {exc}")
        _say(err, f"generation failed: {type(exc).__name__}: {exc}")
        return EXIT_ERROR
    if dropped:
        _say(err, dropped_note(dropped))
    code = _stream(chat, stream, reply.cancel, out, err if launch.show_thinking else None)
    message = chat.finish(stream.stats, stream.error)
    if message is not None and message.error:
        _say(err, message.error)
    elif message is not None and ran_out_while_thinking(message):
        _say(
            err,
            "out of tokens while thinking, before any answer: raise max_new_tokens "
            "([generation] in the config file), or continue it with `tchat --resume` and +",
        )
    if code == EXIT_INTERRUPTED:
        _say(err, "interrupted: the partial reply is saved")
    if code == EXIT_OK and message is not None and message.error:
        return EXIT_ERROR
    if code == EXIT_OK and not all(saves):
        return EXIT_SESSION
    return code


def _stream(
    chat: Chat,
    reply: Reply,
    cancel: threading.Event | None,
    out: TextIO,
    thoughts: TextIO | None = None,
) -> int:
    """Stream `reply` into the chat and onto `out`; returns the exit code. A failure mid-way
    is left in `reply.error`, every character before it kept. Thinking goes to `thoughts`
    (--show-thinking: stderr) or nowhere: stdout is the answer alone."""
    code = EXIT_OK
    pending_cr = ""  # "\r\n" split across two chunks must still print as a newline
    thought = ""  # the end of the thinking printed so far
    try:
        for chunk in reply:
            chat.add_text(chunk)
            if isinstance(chunk, Thinking):
                if thoughts is not None:
                    thoughts.write(visible(chunk))
                    thoughts.flush()
                    thought = chunk[-1:] or thought
                continue
            if thought and thoughts is not None:  # the answer begins: end the thinking's line
                thoughts.write("\n" if thought == "\n" else "\n\n")
                thoughts.flush()
                thought = ""
            text = pending_cr + chunk
            pending_cr = "\r" if text.endswith("\r") else ""
            out.write(visible(text[: len(text) - len(pending_cr)]))
            out.flush()
        out.write(visible(pending_cr))
        if chat.reply is not None and not chat.reply.message.content.endswith("\n"):
            out.write("\n")
        out.flush()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = EXIT_PIPE
    except Exception as exc:  # noqa: BLE001 - the partial reply is kept
        reply.stats.stop_reason = "error"
        reply.error = f"generation failed: {type(exc).__name__}: {exc}"
    finally:
        if code != EXIT_OK:
            if cancel is not None:
                cancel.set()
            reply.close()
            reply.stats.stop_reason = "cancelled"
    return code


def read_prompt(option: str | None, stdin: TextIO | None) -> str:
    """The prompt: `-p TEXT`, or stdin for `-p -` and when no -p was given (piped input)."""
    if option is not None and option != "-":
        return option
    if stdin is None:
        return ""
    data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read()
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text.strip("\n")


def main(launch: LaunchConfig) -> int:
    """The command-line entry for the one-shot mode (called by `tui.cli.main`)."""
    for stream in (sys.stdout, sys.stderr):
        try:  # a terminal in a non-UTF-8 locale shows '?' rather than crashing on 'é'
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    try:
        prompt = read_prompt(launch.prompt, sys.stdin)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    code = run_oneshot(launch, prompt)
    if code == EXIT_PIPE:
        # Python flushes stdout again at exit; with the reader gone that would print a
        # BrokenPipeError traceback. Point stdout at /dev/null so the exit stays quiet.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
    return code
