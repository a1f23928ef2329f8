"""prefect.yaml and the small flows, without a worker: entrypoints load, parameters hold no secrets."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_prefect_yaml_deploys_every_flow_on_the_process_pool():
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in config["deployments"]}
    assert set(deployments) == {"transfer", "recurring-transfer", "credential-maintenance", "catalog-build", "resume-waiting"}
    for deployment in deployments.values():
        assert deployment["work_pool"]["name"] == "ferry-process"
        module, _, name = deployment["entrypoint"].rpartition(".")
        flow = getattr(importlib.import_module(module), name)
        params = inspect.signature(flow.fn).parameters
        assert not any("token" in p or "secret" in p for p in params), deployment["name"]
    assert [s["cron"] for s in deployments["credential-maintenance"]["schedules"]] == ["0 3 * * *"]
    assert "{{ repo-root.stdout }}" in str(config["pull"])  # no machine-specific path in the file


def test_catalog_build_flow_builds_the_portmap_site(tmp_path, monkeypatch):
    from flows.catalog_build import catalog_build

    monkeypatch.chdir(ROOT)
    figures = catalog_build.fn(out_dir=str(tmp_path / "site"))
    assert figures["pages"] > 0 and figures["solutions"] > 0
    assert (tmp_path / "site" / "index.html").is_file()
