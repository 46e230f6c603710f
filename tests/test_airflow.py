"""The exported DAG run by real Airflow: `airflow dags test` in Airflow's own virtual environment (`make airflow`), offline
on a sqlite metadata database, against a real MLflow store. The production tier (`make test-production`)."""
import os
import re
import subprocess
import sys

import nbformat
import pytest
from mlflow import MlflowClient

from conftest import PROJECT, failing_project, last_json, store_in, trainpipe

pytestmark = pytest.mark.production
AIRFLOW = PROJECT/".venv-airflow"/"bin"/"airflow"


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    "Run a DAG of an Airflow home of its own; (Airflow's final state of the DAG run, its log)."
    assert AIRFLOW.exists(), f"{AIRFLOW} is missing: make airflow installs Airflow in a virtual environment of its own"
    home = tmp_path_factory.mktemp("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home/"dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO"}
    env.pop("MLFLOW_TRACKING_URI", None)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    def dags_test(dag_id: str) -> tuple[str, str]:
        done = subprocess.run([AIRFLOW, "dags", "test", dag_id], env=env, capture_output=True, text=True, timeout=1200)
        log = done.stdout + done.stderr
        finished = re.search(r"DagRun Finished: dag_id=\S+, .*?state=(\w+)", log)
        assert finished, f"the DAG run did not finish:\n{log[-4000:]}"
        return finished.group(1), log
    dags_test.folder = home/"dags"
    return dags_test


@pytest.fixture(scope="module")
def store(tmp_path_factory, migrated_db):
    return store_in(tmp_path_factory.mktemp("store"), migrated_db)


def export(*args, cwd=PROJECT):
    made = trainpipe("export", "airflow", *args, cwd=cwd)
    assert made.returncode == 0, made.stderr
    return made


def test_the_dag_is_one_run_like_trainpipe_run(airflow, store, tmp_path, migrated_db):
    export("configs/default.yaml", "--out", airflow.folder, "--runs-dir", tmp_path/"dag-runs", "--tracking-uri", store)
    state, log = airflow("trainpipe_default")
    assert state == "success", log[-4000:]
    own_store = store_in(tmp_path, migrated_db)  # a store of its own, so that both runs register the first version
    by_hand = trainpipe("run", "configs/default.yaml", "--runs-dir", tmp_path/"own-runs", "--tracking-uri", own_store, "--json")
    assert by_hand.returncode == 0, by_hand.stderr
    client, own_client = MlflowClient(store), MlflowClient(own_store)
    (dag,) = client.search_runs([client.get_experiment_by_name("penguins").experiment_id])
    own = own_client.get_run(last_json(by_hand.stdout)["mlflow_run_id"])
    assert dag.info.status == own.info.status == "FINISHED"
    tests = {k: v for k, v in own.data.metrics.items() if k.startswith("test_")}
    assert tests and {k: dag.data.metrics[k] for k in tests} == tests  # the same numbers: a different cache, the same work
    assert dag.data.params == own.data.params
    differ = ("mlflow.", "airflow_")  # MLflow's own, and the DAG run's id
    assert {k: v for k, v in dag.data.tags.items() if not k.startswith(differ)} == \
           {k: v for k, v in own.data.tags.items() if not k.startswith(differ)}
    assert artifacts(client, dag.info.run_id) == artifacts(own_client, own.info.run_id)
    (version,) = client.search_model_versions("name='penguins-species'")
    assert version.run_id == dag.info.run_id and str(client.get_model_version_by_alias("penguins-species", "champion").version) == "1"
    # a second DAG run with nothing changed takes every stage from the stage cache
    state, log = airflow("trainpipe_default")
    assert state == "success" and "(5 of 5 stages from the cache)" in log, log[-4000:]


def artifacts(client, run_id: str, path: str | None = None) -> set:
    "Every artifact file of a run, by path."
    found = set()
    for f in client.list_artifacts(run_id, path):
        found |= artifacts(client, run_id, f.path) if f.is_dir else {f.path}
    return found


def test_a_failing_stage_is_retried_then_fails_the_dag_run(airflow, tmp_path, store):
    project = failing_project(tmp_path/"proj", retries=1)
    export("configs/boom.yaml", "--out", airflow.folder, "--runs-dir", tmp_path/"runs", "--tracking-uri", store, cwd=project)
    state, log = airflow("trainpipe_boom")
    assert state == "failed", log[-4000:]
    (run_dir,) = [p for p in (tmp_path/"runs").iterdir() if p.name != ".cache"]
    assert (run_dir/"attempts").read_text() == "xx"  # the first try and the one retry pipeline.retries allows
    executed = nbformat.read(run_dir/"10_boom.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["evalue"] == "the boom stage always fails"
    run = MlflowClient(store).get_run(run_dir.name)
    assert run.info.status == "FAILED" and run.data.tags["failed_stage"] == "boom"
    assert "stage 'boom' failed: RuntimeError: the boom stage always fails" in log


def test_monitor_retrains_on_drift_only(airflow, store, tmp_path):
    made = subprocess.run([sys.executable, str(PROJECT/"data"/"make_drifted.py"), str(tmp_path/"new")], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    client = MlflowClient(store)
    if not client.search_model_versions("name='penguins-species'"):  # a champion to compare with, when run alone
        assert trainpipe("run", "--runs-dir", tmp_path/"runs", "--tracking-uri", store).returncode == 0
    before = len(client.search_model_versions("name='penguins-species'"))
    export("--out", airflow.folder, "--runs-dir", tmp_path/"runs", "--tracking-uri", store, "--monitor", tmp_path/"new"/"penguins_resample.csv")
    state, log = airflow("trainpipe_default")
    assert state == "success" and "exit status 4" not in log, log[-4000:]
    assert len(client.search_model_versions("name='penguins-species'")) == before  # no drift: the training tasks were skipped
    assert "no drift" in log
    export("--out", airflow.folder, "--runs-dir", tmp_path/"runs", "--tracking-uri", store, "--monitor", tmp_path/"new"/"penguins_drifted.csv")
    state, log = airflow("trainpipe_default")
    assert state == "success", log[-4000:]
    versions = client.search_model_versions("name='penguins-species'")
    assert len(versions) == before + 1  # drift: retrained on the new data, and the gate placed the new version
    newest = max(versions, key=lambda v: int(v.version))
    assert client.get_run(newest.run_id).data.params["data.source"] == str(tmp_path/"new"/"penguins_drifted.csv")
    assert set(client.get_model_version(newest.name, newest.version).aliases) & {"champion", "challenger"}
