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
