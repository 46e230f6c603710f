"""Shared fixtures: the project, real MLflow stores and servers, and the real `trainpipe` console script."""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
TRAINPIPE = Path(sys.executable).parent/"trainpipe"  # the console script settings.ini declares


SLOW_FIRST = ["test_text_images.py", "test_neural.py", "test_sweep.py", "test_promotion.py", "test_tune.py", "test_concurrency.py"]


def pytest_collection_modifyitems(items):
    "Start the slowest files first, so that with two workers (`make test`) the last file to finish is a short one."
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: the other files keep their order


@pytest.fixture(scope="session")
def project() -> Path:
    return PROJECT


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    "A sqlite MLflow store with its schema created once; each test gets a copy (migrations take seconds)."
    from mlflow import MlflowClient
    db = tmp_path_factory.mktemp("template")/"mlflow.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def store(tmp_path, migrated_db) -> str:
    "The tracking URI of a fresh, real sqlite MLflow store in this test's folder."
    shutil.copy(migrated_db, tmp_path/"mlflow.db")
    return f"sqlite:///{tmp_path/'mlflow.db'}"


def trainpipe(*args, cwd=PROJECT, env=None, timeout=600) -> subprocess.CompletedProcess:
    "Run the real `trainpipe` command line."
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | (env or {})
    return subprocess.run([str(TRAINPIPE), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def last_json(stdout: str) -> dict:
    "The JSON object on the last line of stdout."
    return json.loads(stdout.strip().splitlines()[-1])


def mlflow_run_id(result: dict, timeout: float = 300) -> str:
    "The MLflow run of a `trainpipe run --json` result; for a fully cached run, once its background recorder has logged it."
    if result["mlflow_run_id"]: return result["mlflow_run_id"]
    record, deadline = Path(result["run_dir"])/"run.json", time.monotonic() + timeout
    while not json.loads(record.read_text()).get("mlflow_run_id"):
        assert time.monotonic() < deadline, f"run {result['run_id']} was not recorded in MLflow within {timeout:g}s"
        time.sleep(0.2)
    assert not (Path(result["run_dir"])/"tracking.json").exists()
    return json.loads(record.read_text())["mlflow_run_id"]


@contextlib.contextmanager
def mlflow_server(command: str, *args, cwd: Path, timeout: float = 120):
    "A real `mlflow ui` or `mlflow server` on a free 127.0.0.1 port; yields its base URL, stops it afterwards."
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent/"mlflow"), command, *map(str, args), "--host", "127.0.0.1", "--port", str(port)],
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200: break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, f"mlflow {command} did not start"
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
