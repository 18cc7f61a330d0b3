"""config.toml loading: env expansion, relative paths, errors that name the file and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config, parse_duration

SHIPPED = Path(__file__).resolve().parents[1] / "config.toml"


def write(tmp: Path, text: str) -> Path:
    path = tmp / "config.toml"
    path.write_text(text)
    return path


def test_shipped_config_loads_and_is_offline() -> None:
    config = load_config(SHIPPED)
    assert [f.name for f in config.feeds] == ["demo"]
    assert config.feeds[0].is_local and Path(config.feeds[0].url).is_file()
    assert set(config.channels) == {"console"}
    assert config.storage.url.startswith("sqlite:///") and config.storage.url.endswith("data/monitor.db")


def test_env_vars_expand_and_raw_form_is_kept_for_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    config = load_config(write(tmp_path, '[channels]\nemail = "mailtos://u:${SMTP_PASSWORD}@smtp.example.com"\n'
                                         'digest = { url = "json://h/${MISSING:-x}", digest = "0 8 * * *" }\n'))
    assert config.channels["email"].url == "mailtos://u:s3cret@smtp.example.com"
    assert "s3cret" not in config.channels["email"].display
    assert config.channels["digest"].url == "json://h/x" and config.channels["digest"].digest == "0 8 * * *"


def test_missing_env_var_names_file_key_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, '[channels]\nslack = "${NOPE_TOKEN}"\n'))
    assert "config.toml" in str(err.value) and "channels.slack" in str(err.value) and "NOPE_TOKEN" in str(err.value)


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[storage]\nurl = "sqlite:///db/m.db"\n[rules]\npaths = ["r"]\n'
                                         '[[feeds]]\nname = "f"\nurl = "feeds/x.xml"\n'))
    assert config.storage.url == f"sqlite:///{tmp_path / 'db' / 'm.db'}"
    assert config.rules.paths == [str(tmp_path / "r")]
    assert config.feeds[0].url == str(tmp_path / "feeds" / "x.xml")


def test_unknown_key_is_named_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, '[[feeds]]\nname = "a"\nurl = "http://x/"\nintervall = "5m"\n'))
    assert "feeds.0.intervall" in str(err.value) and "unknown key" in str(err.value)


def test_bad_duration_and_duplicate_feed_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="feeds.0.interval"):
        load_config(write(tmp_path, '[[feeds]]\nname = "a"\nurl = "http://x/"\ninterval = "often"\n'))
    with pytest.raises(ConfigError, match="used twice"):
        load_config(write(tmp_path, '[[feeds]]\nname = "a"\nurl = "http://x/"\n[[feeds]]\nname = "a"\nurl = "http://y/"\n'))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[storage\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("1.5h", 5400), (45, 45)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)
