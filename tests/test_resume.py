"""A run killed mid-stage resumes to the metrics of an uninterrupted run; a finished run reproduces exactly."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from mlflow import MlflowClient

from trainpipe.pipeline import stop_orphan_kernels

from conftest import OWN_FORK_SERVER, PROJECT, TRAINPIPE, last_json, trainpipe

ARGS = ["configs/default.yaml", "-p", "pipeline.stages=[data, features, train, evaluate]"]


def compared(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if not k.endswith("_seconds")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, migrated_db):
    "One run that nothing interrupts: its store, runs folder and result."
    tmp = tmp_path_factory.mktemp("uninterrupted")
    shutil.copy(migrated_db, tmp/"mlflow.db")
    store = f"sqlite:///{tmp/'mlflow.db'}"
    full = trainpipe("run", *ARGS, "--json", "--tracking-uri", store, "--runs-dir", tmp/"runs")
    assert full.returncode == 0, full.stderr
    return store, tmp/"runs", last_json(full.stdout)


def test_sigkill_mid_stage_then_resume_matches_an_uninterrupted_run(tmp_path, store, uninterrupted):
    runs = tmp_path/"runs"
    runner = subprocess.Popen([str(TRAINPIPE), "run", *ARGS, "--tracking-uri", store, "--runs-dir", str(runs)], cwd=PROJECT,
                              env={**os.environ, **OWN_FORK_SERVER},  # its own fork server, killed with it as a crash would
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(runs.glob("*/31_train.ipynb")):  # papermill writes the stage's notebook as the stage starts
        assert runner.poll() is None and time.monotonic() < deadline, "the run ended before the train stage started"
        time.sleep(0.05)
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait()
    stop_orphan_kernels(runner.pid)  # its kernels too, as if the machine went down (a kernel outlives its runner by up to a second)
    run_dir = next(runs.glob("*/31_train.ipynb")).parent
    assert json.loads((run_dir/"run.json").read_text())["status"] == "RUNNING"  # killed before it could say otherwise
    assert not (run_dir/"train"/"model.skops").exists()

    resumed = trainpipe("run", "--resume", "--json", "--tracking-uri", store, "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    result = last_json(resumed.stdout)
    assert result["run_id"] == run_dir.name and result["status"] == "FINISHED"
    assert compared(result["metrics"]) == compared(uninterrupted[2]["metrics"])
    assert [l.split()[:2] for l in resumed.stderr.splitlines() if l.startswith("  ")] == \
        [["data", "cached"], ["features", "cached"], ["train", "done"], ["evaluate", "done"]]
    assert json.loads((run_dir/"run.json").read_text())["status"] == "FINISHED"
    assert MlflowClient(store).get_run(run_dir.name).info.status == "FINISHED"
    assert not list(run_dir.rglob("*.tmp"))
    # nothing is left to resume, and a finished run says how to run it again instead
    again = trainpipe("run", "--resume", run_dir.name, "--tracking-uri", store, "--runs-dir", runs)
    assert again.returncode == 2 and f"use trainpipe reproduce {run_dir.name}" in again.stderr


def test_reproduce_recomputes_and_compares_metric_by_metric(uninterrupted):
    store, runs, first = uninterrupted
    proc = trainpipe("reproduce", first["run_id"], "--tracking-uri", store, "--runs-dir", runs)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "cached" not in proc.stderr  # every stage ran again
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["metric", "original", "reproduced"]
    assert "test_accuracy" in proc.stdout and "DIFFERENT" not in proc.stdout
    n = len(compared(first["metrics"]))
    assert lines[-1].startswith("run ") and lines[-1].endswith(f"reproduces {first['run_id']}: {n} of {n} metrics identical")
    new_id = lines[-1].split()[1]
    assert MlflowClient(store).get_run(new_id).data.tags["reproduces"] == first["run_id"]
