"""Settings come from arguments, FERRY_* variables and ferry.toml, in that order."""

from __future__ import annotations

from flows.settings import load_settings


def test_defaults_live_in_the_users_data_dir_whatever_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    home = (tmp_path / "data-home" / "ferry").resolve()
    for cwd in (tmp_path, tmp_path / "elsewhere"):
        cwd.mkdir(exist_ok=True)
        monkeypatch.chdir(cwd)
        settings = load_settings()
        assert settings.resolved_database_url == f"sqlite:///{home / 'ferry.db'}"
        assert settings.resolved_staging_url == str(home / "staging")
        assert settings.resolved_key_file.resolve() == home / "secret.key"
    assert settings.oauth_redirect_uris == ["http://127.0.0.1/callback"]


def test_config_file_then_environment_then_arguments(tmp_path, monkeypatch):
    config = tmp_path / "ferry.toml"
    config.write_text(
        'data_dir = "from-file"\n'
        'database_url = "postgresql+psycopg://ferry@127.0.0.1/ferry"\n'
        'page_size = 50\n'
        'oauth_redirect_uris = ["http://127.0.0.1:8400/cb"]\n'
        "[storage_options.client_kwargs]\n"
        'endpoint_url = "http://127.0.0.1:9000"\n'
    )
    monkeypatch.setenv("FERRY_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.page_size == 50 and settings.oauth_redirect_uris == ["http://127.0.0.1:8400/cb"]
    assert settings.storage_options == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    monkeypatch.setenv("FERRY_PAGE_SIZE", "75")
    monkeypatch.setenv("FERRY_STAGING_URL", "s3://staging/ferry")
    settings = load_settings()
    assert settings.page_size == 75 and settings.resolved_staging_url == "s3://staging/ferry"
    assert load_settings(page_size=5).page_size == 5
    assert str(settings.data_dir) == "from-file"


def test_a_bad_value_is_one_line_naming_the_setting(tmp_path, monkeypatch):
    import pytest

    from flows.settings import SettingsError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FERRY_PAGE_SIZE", "lots")
    with pytest.raises(SettingsError, match=r"page_size \(FERRY_PAGE_SIZE\)") as caught:
        load_settings()
    assert "\n" not in str(caught.value)
    monkeypatch.delenv("FERRY_PAGE_SIZE")
    monkeypatch.setenv("FERRY_LOG_LEVEL", "LOUD")
    with pytest.raises(SettingsError, match="'LOUD' is not a log level; use one of DEBUG"):
        load_settings()
