"""ruff passes on the tree with the rules pyproject.toml selects (.ci/run also runs mypy)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    done = subprocess.run([ruff, "check", "--output-format", "concise", str(ROOT)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


#: Each of these calls belongs to exactly one module (issue 14 part 7: one of each).
_ONE_HOME = {
    "import mimetypes": {"connectors/mediatypes.py"},
    "os.replace(": {"connectors/atomicfile.py", "ferry/runner/server.py"},
    "os.O_EXCL": {"connectors/atomicfile.py"},
    "def parents_first": {"connectors/models.py"},
}


@pytest.mark.parametrize("needle", sorted(_ONE_HOME))
def test_one_home_for_mime_types_atomic_writes_and_order(needle):
    """A second MIME table, atomic writer or parent-first order would drift from the first."""
    found = {
        str(path.relative_to(ROOT))
        for package in ("connectors", "flows", "ferry")
        for path in (ROOT / package).rglob("*.py")
        if needle in path.read_text(encoding="utf-8")
    }
    assert found <= _ONE_HOME[needle], f"{needle!r} outside its one home: {sorted(found - _ONE_HOME[needle])}"
