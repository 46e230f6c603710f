"""The team's tracking server for real: `trainpipe team-server` starts PostgreSQL and an MLflow server on 127.0.0.1; eight
pipelines at once and a sweep record through it. The production tier (`make test-production`)."""
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from mlflow import MlflowClient

from trainpipe.tracking import is_pipeline_run

from conftest import PROJECT, TRAINPIPE, free_port, last_json, trainpipe

pytestmark = pytest.mark.production


@pytest.fixture(scope="module")
def team():
    "The team server's URL, once it says it is up (it prints that line only after MLflow answers /health)."
    folder = Path(tempfile.mkdtemp(prefix="trainpipe-team-"))  # not pytest's: PostgreSQL's user must be able to enter it
    os.chmod(folder, 0o755)
    proc = subprocess.Popen([str(TRAINPIPE), "team-server", "--dir", str(folder), "--port", str(free_port()), "--pg-port", str(free_port())],
                            cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        ready = proc.stdout.readline()
        assert ready.startswith("MLflow tracking server on http://127.0.0.1:"), f"{ready}{proc.stderr.read() if proc.poll() is not None else ''}"
        yield ready.split()[4].rstrip(":"), folder
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        assert not (folder/"postgres"/"postmaster.pid").exists()  # PostgreSQL stopped with it
        shutil.rmtree(folder, ignore_errors=True)


def test_eight_pipelines_at_once_and_a_sweep(team, tmp_path):
    url, folder = team
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    runs = [subprocess.Popen([str(TRAINPIPE), "run", "--tracking-uri", url, "--runs-dir", str(tmp_path/"runs"), "--json", "--wait-tracking",
                              "-p", f"model.params.random_state={seed}", "-p", "model.params.n_estimators=20"],
                             cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in range(8)]
    results = []
    for proc in runs:
        out, err = proc.communicate(timeout=1800)
        assert proc.returncode == 0, err[-3000:]
        results.append(last_json(out))
    swept = trainpipe("sweep", "configs/default.yaml", "--grid", "model.params.n_estimators=10,30", "--tracking-uri", url,
                      "--runs-dir", tmp_path/"runs")
    assert swept.returncode == 0, swept.stderr[-3000:]
    client = MlflowClient(url)
    pipeline_runs = [r for r in client.search_runs([client.get_experiment_by_name("penguins").experiment_id]) if is_pipeline_run(r.data.tags)]
    assert {r["mlflow_run_id"] for r in results} <= {r.info.run_id for r in pipeline_runs}
    assert len(pipeline_runs) == 10 and all(r.info.status == "FINISHED" for r in pipeline_runs)
    for r in pipeline_runs:  # every run's notebooks, and each as a page, served from the artifact folder beside the database
        logged = sorted(Path(a.path).suffix for a in client.list_artifacts(r.info.run_id, "notebooks"))
        assert logged == [".html"] * 5 + [".ipynb"] * 5, logged
    assert list((folder/"artifacts").rglob("40_evaluate.ipynb"))
    versions = client.search_model_versions("name='penguins-species'")
    assert sorted(v.run_id for v in versions) == sorted(r.info.run_id for r in pipeline_runs)  # one version per run
    champion = client.get_model_version_by_alias("penguins-species", "champion")
    scores = {v.version: float(v.tags["trainpipe.score"]) for v in versions}
    assert scores[champion.version] == max(scores.values())  # promotions one at a time: the best is champion
    aliased = [v for v in versions if client.get_model_version(v.name, v.version).aliases]
    assert {a for v in aliased for a in client.get_model_version(v.name, v.version).aliases} <= {"champion", "challenger"}
