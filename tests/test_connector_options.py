"""Connector options are declared pydantic models: checked once when a request is made, shown by
``ferry connectors show``, and the docs' tables are the models' own (issue 14 part 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field
from typer.testing import CliRunner

from connectors import registry
from connectors.errors import ConfigError
from connectors.options import ConnectorOptions, markdown_table
from connectors.registry import ConnectorContext
from ferry.cli import app as cli

DOCS = Path(__file__).resolve().parents[1] / "docs"


class SampleOptions(ConnectorOptions):
    connector_name = "sample"

    page_size: int = Field(100, ge=1, description="items per page")
    ratio: float = Field(1.5, gt=0, description="a factor")
    deep: bool = Field(False, description="go deep")
    mode: Literal["fast", "safe"] = Field("safe", description="how")


def test_strings_from_a_command_line_become_typed_values():
    parsed = SampleOptions.parse({"page_size": "7", "ratio": "0.25", "deep": "yes", "mode": " fast "})
    assert (parsed.page_size, parsed.ratio, parsed.deep, parsed.mode) == (7, 0.25, True, "fast")
    assert SampleOptions.parse(None) == SampleOptions() and SampleOptions.parse(parsed) is parsed
    assert SampleOptions.of(ConnectorContext(location="x", options={"deep": "off"})).deep is False


@pytest.mark.parametrize(
    "raw, said",
    [
        ({"bogus": "1"}, "sample: unknown option bogus; valid options: page_size, ratio, deep, mode"),
        ({"page_size": "many"}, "sample: option page_size input should be a valid integer"),
        ({"page_size": "0"}, "sample: option page_size input should be greater than or equal to 1, got '0'"),
        ({"deep": "maybe"}, "sample: option deep input should be a valid boolean"),
        ({"mode": "quick"}, "sample: option mode input should be 'fast' or 'safe', got 'quick'"),
    ],
)
def test_unknown_or_mistyped_options_name_the_option_and_list_the_valid_ones(raw, said):
    with pytest.raises(ConfigError) as caught:
        SampleOptions.parse(raw)
    assert str(caught.value).startswith(said), str(caught.value)
    assert "valid options: page_size, ratio, deep, mode" in str(caught.value)


DECLARED = ("generic", "example", "folder", "meta", "tiktok")  # the others follow as their streams integrate


def test_every_builtin_connector_declares_its_options_and_takes_nothing_else():
    for connector in registry.all_connectors():
        if connector.name not in DECLARED:
            continue
        assert issubclass(connector.options, ConnectorOptions), connector.name
        with pytest.raises(ConfigError, match=f"{connector.name}: unknown option no_such_option"):
            connector.parse_options({"no_such_option": "1"})
        assert connector.parse_options({}) == connector.options()  # every option has a default


def test_a_bad_option_is_refused_before_a_job_exists(tmp_path):
    env = dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), COLUMNS="300")
    src = tmp_path / "src"
    src.mkdir()
    cases = [
        (["-o", "folder.bogus=1"], "folder: unknown option bogus; valid options: page_size,"),
        (["-o", "folder.transfers=many"], "folder: option transfers input should be a valid integer"),
        (["-o", "generic.concurrency=lots"], "generic: option concurrency input should be a valid integer"),
        (["-o", "generic.bogus=1"], "generic: unknown option bogus; valid options: export_service, timeout, concurrency"),
    ]
    for extra, needle in cases:
        args = [sys.executable, "-m", "ferry", "transfer", f"folder:{src}", "generic:https://dest.example/dtp", *extra]
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert needle in " ".join(result.stderr.split()), result.stderr
        assert "Traceback" not in result.stderr
    database = tmp_path / "data" / "ferry.db"
    if database.exists():
        import sqlite3

        with sqlite3.connect(database) as conn:
            assert conn.execute("SELECT count(*) FROM ferry_job").fetchone()[0] == 0


def test_connectors_show_prints_capabilities_and_options_with_defaults():
    runner = CliRunner()
    result = runner.invoke(cli, ["connectors", "show", "generic"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "DTP Generic Importer destination" in text and "roles: destination" in text
    assert "imports" in text and "capabilities" in text
    assert "concurrency" in text and "requests in flight at once" in text and "one of auto, on, off" in text
    result = runner.invoke(cli, ["connectors", "show", "generic", "--json"])
    shown = __import__("json").loads(result.output)
    assert {o["name"]: o["default"] for o in shown["options"]}["concurrency"] == "4"
    result = runner.invoke(cli, ["connectors", "show", "nosuch"])
    assert result.exit_code == 2 and "unknown connector 'nosuch'" in result.output


def test_the_docs_carry_each_connectors_option_table_as_its_model_says():
    guide = (DOCS / "connectors.md").read_text("utf-8")
    for connector in registry.all_connectors():
        if connector.name not in DECLARED:
            continue
        table = markdown_table(connector.options)
        assert table in guide, (
            f"docs/connectors.md is out of date for {connector.name}; replace its table with "
            f"`ferry connectors show {connector.name} --markdown`:\n{table}"
        )
    assert markdown_table(registry.get("generic").options) in (DOCS / "generic-importer.md").read_text("utf-8")
