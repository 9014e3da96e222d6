"""Command line: parse arguments into a frozen LaunchConfig (tui/launch.py), then start the app.

Textual, torch and transformers are imported only after parsing, so `tchat --help` is instant
and a bad argument is reported before anything heavy loads.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tui import __version__, endpoints
from tui.engine import registry
from tui.launch import LaunchConfig


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tchat",
        description="Chat with local Hugging Face Transformers models in your terminal.",
        epilog="Keys: Enter send · ctrl+j newline · Esc stop · ctrl+n new chat · "
        "F2 system prompt · F3 theme · ctrl+q quit. Sessions are saved after every turn.",
    )
    p.add_argument(
        "-m",
        "--model",
        help="HF id (e.g. HuggingFaceTB/SmolLM2-360M-Instruct), model folder, or .gguf file; "
        "default: the bundled SmolLM2-135M-Instruct. With --endpoint: the served model "
        "(default: the only or first one)",
    )
    p.add_argument(
        "--model-dir",
        dest="model_dirs",
        action="append",
        type=Path,
        metavar="DIR",
        help="also list the models in DIR in the model picker (F6); repeatable",
    )
    p.add_argument(
        "--draft",
        metavar="MODEL|prompt-lookup",
        help="assisted generation: a smaller model of the same family drafts tokens the model "
        "checks, or 'prompt-lookup'; replies are unchanged, often faster",
    )
    p.add_argument(
        "--fast",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="static KV cache + torch.compile, compiled in the background "
        "(default: on where it pays; TCHAT_FAST=on|off sets the default)",
    )
    # The local engine's load options, declared once by the backend (engine/options.py).
    for option in registry.backend_class("transformers").load_options:
        option.add_to_parser(p)
    p.add_argument("-s", "--system", help="system prompt for a new chat")
    p.add_argument(
        "-r",
        "--resume",
        nargs="?",
        const="",
        metavar="ID|PATH",
        help="resume a session: the newest one, or the given id / file",
    )
    p.add_argument(
        "--sessions-dir",
        type=Path,
        help="where sessions are saved (default $XDG_DATA_HOME/tchat/sessions, "
        "or $TCHAT_SESSIONS_DIR)",
    )
    p.add_argument("--format", choices=("toml", "json"), help="file format for new sessions")
    p.add_argument(
        "--theme",
        help="theme: tchat-dark, tchat-light, tchat-high-contrast, ansi, any Textual theme, "
        "or your own (~/.config/tchat/themes)",
    )
    p.add_argument(
        "--backend",
        choices=registry.names(),
        default="transformers",
        help="engine: transformers (local models, the default), remote (set by --endpoint) "
        "or fake (a scripted reply, for demos and tests)",
    )
    endpoints.add_arguments(p)  # --endpoint and how to reach it (tui/endpoints.py)
    p.add_argument("--config", type=Path, help="config file (default ~/.config/tchat/config.toml)")
    p.add_argument(
        "-p",
        "--prompt",
        metavar="TEXT",
        help="answer TEXT on stdout without the full-screen app, and save the chat; "
        "'-' reads the prompt from stdin, as does piping into tchat (echo hi | tchat)",
    )
    p.add_argument(
        "--show-thinking",
        action="store_true",
        help="with -p: also print a reasoning model's thinking, to stderr (stdout stays the "
        "answer alone)",
    )
    p.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="with -p: download a hub model that is not cached yet without asking "
        "(the app asks in a dialog instead)",
    )
    p.add_argument(
        "--keep-alive",
        metavar="DURATION",
        help="with -p: keep the model loaded this long after the answer (90s, 5m, 1h), so the "
        "next tchat -p with the same model answers without loading it; 0 unloads a kept one "
        "after this answer (default: $TCHAT_KEEP_ALIVE, else not kept)",
    )
    p.add_argument("-V", "--version", action="version", version=f"tchat {__version__}")
    return p


def parse_args(argv: list[str] | None = None) -> LaunchConfig:
    ns = build_parser().parse_args(argv)
    return LaunchConfig(
        model=ns.model,
        dtype=ns.dtype,
        device=ns.device,
        quantize=ns.quantize,
        trust_remote_code=ns.trust_remote_code,
        system=ns.system,
        resume=ns.resume,
        sessions_dir=ns.sessions_dir,
        format=ns.format,
        theme=ns.theme,
        backend="remote" if ns.endpoint else ns.backend,
        model_dirs=tuple(ns.model_dirs or ()),
        draft=ns.draft,
        attn=ns.attn,
        fast={True: "on", False: "off", None: "auto"}[ns.fast],
        config_path=ns.config,
        prompt=ns.prompt,
        show_thinking=ns.show_thinking,
        yes=ns.yes,
        keep_alive=_keep_alive(ns.keep_alive),
        **endpoints.launch_fields(ns),
    )


def _keep_alive(option: str | None) -> float | None:
    from tui.engine.kept.wire import ENV_VAR, parse_duration

    text = option if option is not None else os.environ.get(ENV_VAR, "").strip() or None
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        source = "--keep-alive" if option is not None else ENV_VAR
        build_parser().error(f"{source}: {exc}")


def main(argv: list[str] | None = None) -> int:
    launch = parse_args(argv)
    if launch.prompt is not None or (sys.stdin is not None and not sys.stdin.isatty()):
        from tui import oneshot  # no Textual: a piped or -p run never starts the app

        return oneshot.main(launch)
    from tui.lifeline import lifeline

    lifeline.install()  # before Textual and torch: a closed terminal always ends tchat
    from tui.app import TchatApp  # deferred: keeps --help and argument errors instant

    app = TchatApp(launch)
    app.run()
    lifeline.finish()  # leaving on a signal or a lost terminal: saved, gone now
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
