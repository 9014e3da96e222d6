"""Which server a launch talks to, and the key's rules: --endpoint, named endpoints in
config.toml, a resumed chat's recorded endpoint; no credentials in URLs or files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import parse_args
from tui.config import ConfigError, load_config
from tui.endpoints import for_launch
from tui.engine.backend import EngineError
from tui.engine.endpoint import (
    Endpoint,
    check_key_transport,
    is_loopback,
    normalize_url,
    read_key,
)
from tui.launch import load_spec_for
from tui.store.session import Message, ModelRef, Session


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("gpu-box:8000", "http://gpu-box:8000/v1"),
        ("http://gpu-box:8000/", "http://gpu-box:8000/v1"),
        ("https://llm.example.org/v1/", "https://llm.example.org/v1"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
        ("http://10.0.0.5:8000/openai/v1", "http://10.0.0.5:8000/openai/v1"),
    ],
)
def test_urls_people_type_become_an_api_base(typed: str, url: str) -> None:
    assert normalize_url(typed) == url


def test_a_url_with_credentials_is_refused() -> None:
    with pytest.raises(EngineError) as failed:
        normalize_url("http://me:sk-secret@gpu-box:8000/v1")
    assert "sk-secret" not in str(failed.value) and "environment variable" in str(failed.value)


def test_loopback_hosts() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "localhost", "::1", "[::1]"))
    assert not any(is_loopback(h) for h in ("10.0.0.1", "gpu-box", "192.168.1.2", "example.org"))


def test_key_over_http_is_refused_to_another_host_unless_allowed() -> None:
    remote = Endpoint(url="http://gpu-box:8000/v1", api_key_env="K")
    with pytest.raises(EngineError):
        check_key_transport(remote, "sk")
    check_key_transport(remote.with_options(allow_http_key=True), "sk")
    check_key_transport(Endpoint(url="http://127.0.0.1:8000/v1"), "sk")
    check_key_transport(Endpoint(url="https://gpu-box/v1"), "sk")
    check_key_transport(remote, None)  # no key, nothing to protect


def test_the_key_comes_from_the_variable_or_a_key_file(tmp_path: Path) -> None:
    keyfile = tmp_path / "key"
    keyfile.write_text("sk-from-file\n")
    assert read_key(Endpoint(url="x", api_key_env="K"), {"K": "sk-env"}) == "sk-env"
    assert read_key(Endpoint(url="x", api_key_file=str(keyfile)), {}) == "sk-from-file"
    assert read_key(Endpoint(url="x"), {"OPENAI_API_KEY": "sk"}) is None
    with pytest.raises(EngineError) as failed:
        read_key(Endpoint(url="x", api_key_file=str(tmp_path / "missing")), {})
    assert "missing" in str(failed.value)


def test_cli_endpoint_implies_the_remote_engine_and_its_flags() -> None:
    launch = parse_args(
        [
            "--endpoint",
            "gpu-box:8000",
            "-m",
            "llama",
            "--api-key-env",
            "GPU",
            "--insecure",
            "--read-timeout",
            "90",
        ]
    )
    assert launch.backend == "remote" and launch.endpoint == "gpu-box:8000"
    assert (launch.api_key_env, launch.insecure, launch.read_timeout) == ("GPU", True, 90.0)


def test_default_key_variable_only_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.config import Config

    launch = parse_args(["--endpoint", "127.0.0.1:8000"])
    session = Session()
    assert for_launch(launch, Config(), session, env={}).api_key_env is None  # type: ignore[union-attr]
    with_key = for_launch(launch, Config(), session, env={"OPENAI_API_KEY": "sk"})
    assert with_key is not None and with_key.api_key_env == "OPENAI_API_KEY"
    no_key = for_launch(
        parse_args(["--endpoint", "127.0.0.1:8000", "--api-key-env", ""]),
        Config(),
        session,
        env={"OPENAI_API_KEY": "sk"},
    )
    assert no_key is not None and no_key.api_key_env is None


def test_named_endpoints_from_config(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
[endpoints.gpu-box]
url = "https://gpu-box.example.org/v1"
model = "meta-llama/Llama-3.3-70B-Instruct"
api_key_env = "GPU_BOX_KEY"
read_timeout = 120
first_token_timeout = 900
""",
    )
    config = load_config(path)
    launch = parse_args(["--endpoint", "gpu-box"])
    spec = load_spec_for(launch, config, Session())
    assert spec.endpoint is not None
    assert spec.endpoint.url == "https://gpu-box.example.org/v1" and spec.endpoint.name == "gpu-box"
    assert spec.model == "meta-llama/Llama-3.3-70B-Instruct"
    assert (spec.endpoint.read_timeout_s, spec.endpoint.first_token_timeout_s) == (120.0, 900.0)
    assert spec.endpoint.api_key_env == "GPU_BOX_KEY"
    # The same URL typed out takes the named endpoint's settings.
    by_url = load_spec_for(
        parse_args(["--endpoint", "https://gpu-box.example.org/v1/"]), config, Session()
    )
    assert by_url.endpoint is not None and by_url.endpoint.api_key_env == "GPU_BOX_KEY"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('url = "http://x:1/v1"\nkey = "sk-123"', "unknown key 'key'"),
        ('model = "m"', "needs a url"),
        ('url = "ftp://x"', "url:"),
        ('url = "http://x:1/v1"\ninsecure = "yes"', "wrong type"),
        ('url = "http://x:1/v1"\nread_timeout = -1', "between 0 and"),
    ],
)
def test_bad_endpoint_tables_are_reported(tmp_path: Path, table: str, problem: str) -> None:
    path = write_config(tmp_path, f"[endpoints.box]\n{table}\n")
    with pytest.raises(ConfigError) as failed:
        load_config(path)
    assert problem in str(failed.value)


def test_an_unknown_name_is_a_clear_load_error() -> None:
    from tui.config import Config

    spec = load_spec_for(parse_args(["--endpoint", "gpubox"]), Config(), Session())
    assert spec.endpoint is not None and "No endpoint called 'gpubox'" in spec.endpoint.problem


def test_a_resumed_served_chat_reconnects_to_its_endpoint_and_model() -> None:
    from tui.config import Config

    session = Session(messages=[Message("user", "hi")])
    session.model = ModelRef(id="smollm2", backend="remote", endpoint="http://127.0.0.1:9/v1")
    spec = load_spec_for(parse_args(["--resume"]), Config(), session)
    assert spec.endpoint is not None and spec.endpoint.url == "http://127.0.0.1:9/v1"
    assert spec.model == "smollm2"
    # -m picks a local model instead; --endpoint another server (its first model).
    assert load_spec_for(parse_args(["--resume", "-m", "x"]), Config(), session).endpoint is None
    other = load_spec_for(parse_args(["--resume", "--endpoint", "127.0.0.1:7"]), Config(), session)
    assert other.endpoint is not None and other.model == ""
