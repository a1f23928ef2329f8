"""Dependencies point one way; import-linter's contracts (.importlinter) say how, and CI runs them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "broken" in result.stdout and "0 broken" in result.stdout


def test_help_answers_without_importing_prefect():
    code = "import sys; from ferry.cli import app; assert 'prefect' not in sys.modules, 'prefect imported'; assert 'sqlmodel' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_connector_options_name_the_connector_option_and_value():
    import pytest

    from connectors.errors import ConfigError
    from connectors.options import flag_option, float_option, int_option

    assert int_option({"n": "7"}, "n", 1, connector="x") == 7
    assert float_option({}, "t", 2.5, connector="x") == 2.5
    assert flag_option({"f": "Yes"}, "f", connector="x") is True
    with pytest.raises(ConfigError, match="x: option n must be at least 1, got 0"):
        int_option({"n": "0"}, "n", 1, connector="x")
    with pytest.raises(ConfigError, match="x: option t must be a number, got 'soon'"):
        float_option({"t": "soon"}, "t", 1.0, connector="x")
    with pytest.raises(ConfigError, match="x: option f must be true or false, got 'maybe'"):
        flag_option({"f": "maybe"}, "f", connector="x")
