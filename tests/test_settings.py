"""Settings come from arguments, FERRY_* variables and ferry.toml, in that order."""

from __future__ import annotations

from ferry.settings import load_settings


def test_defaults_live_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / '.ferry' / 'ferry.db').resolve()}"
    assert settings.resolved_staging_url == str((tmp_path / ".ferry" / "staging").resolve())
    assert settings.resolved_key_file.resolve() == (tmp_path / ".ferry" / "secret.key").resolve()
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


def test_a_bad_value_names_the_setting(tmp_path, monkeypatch):
    import pytest
    from pydantic import ValidationError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FERRY_PAGE_SIZE", "lots")
    with pytest.raises(ValidationError, match="page_size"):
        load_settings()
