"""`tchat -m owner/name -p ...` for a model that is not cached: the plan on stderr, `--yes` to
download it, plain progress lines in a log, then the answer; against the local fake hub."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.helpers.fake_hub import FakeHub, point_at
from tui.cli import parse_args
from tui.engine.transformers_backend import TransformersBackend
from tui.launch import LaunchConfig
from tui.models.download import needs_download
from tui.oneshot import EXIT_ERROR, EXIT_OK, run_oneshot

REPO = "test-org/tiny-chat"


@pytest.fixture
def hub(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    with FakeHub() as server:
        server.add_folder(REPO, tiny_model, extra={"original/consolidated.pth": b"\0" * 999})
        point_at(server, monkeypatch, tmp_path / "hf-cache")
        yield server


def ask(tmp_path: Path, *, yes: bool) -> tuple[int, str, str]:
    config = tmp_path / "config.toml"
    config.write_text("[generation]\nmax_new_tokens = 6\ndo_sample = false\n", "utf-8")
    launch = LaunchConfig(
        model=REPO,
        device="cpu",
        sessions_dir=tmp_path / "sessions",
        config_path=config,
        yes=yes,
    )
    out, err = io.StringIO(), io.StringIO()
    code = run_oneshot(launch, "hi", backend=TransformersBackend(fast="off"), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_without_yes_the_plan_is_shown_and_nothing_is_downloaded(
    hub: FakeHub, tmp_path: Path
) -> None:
    code, out, err = ask(tmp_path, yes=False)
    assert code == EXIT_ERROR and out == ""
    assert f"tchat: {REPO}: " in err and " files, " in err and "free in" in err
    assert "left out: original/" in err
    assert "add --yes to download it" in err
    assert needs_download(REPO) and not hub.file_requests("model.safetensors")
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").iterdir())


def test_with_yes_it_downloads_with_a_plain_line_per_update_then_answers(
    hub: FakeHub, tmp_path: Path
) -> None:
    code, out, err = ask(tmp_path, yes=True)
    assert code == EXIT_OK, err
    assert out.strip()  # the reply
    lines = [line for line in err.splitlines() if line.startswith("tchat: downloading ")]
    assert len(lines) >= 3 and "\r" not in err and "\x1b" not in err  # a log, not a terminal
    assert lines[-1].endswith("done")
    assert "files ·" in lines[0] and " of " in lines[0]
    assert f"{REPO} downloaded to " in err
    assert not needs_download(REPO)


def test_yes_is_a_flag() -> None:
    assert parse_args(["-p", "hi", "--yes"]).yes and parse_args(["-y"]).yes
    assert not parse_args([]).yes
