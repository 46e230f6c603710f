"""Pipelines started together lose no run and no metric: on a new sqlite store, and through a real tracking server."""
import subprocess

from mlflow import MlflowClient

from conftest import PROJECT, TRAINPIPE, last_json, mlflow_run_id, mlflow_server, trainpipe


def runs_at_once(cmd: list[str], n: int = 8) -> list[tuple[str, str]]:
    "Start `n` copies of `cmd` together; their (stdout, stderr), after checking that every one succeeded."
    procs = [subprocess.Popen(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [err[-500:] for _, err in outs if err]
    return outs


def warm_cache(tmp_path) -> list[str]:
    "A data-only run of the default config, whose cached stage the runs under test reuse."
    args = ["run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "--json", "--runs-dir", str(tmp_path/"runs")]
    # the data stage does not log to MLflow itself, so one run on another store fills the cache for all eight:
    # what is tested is the tracking, with no kernel start-ups crowding the two cores
    assert trainpipe(*args, "--tracking-uri", f"sqlite:///{tmp_path/'warm.db'}").returncode == 0
    return [str(TRAINPIPE), *args]


def test_eight_pipelines_at_once_on_a_new_store_lose_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path/'new'/'mlflow.db'}"  # does not exist yet: the first to arrive creates it
    outs = runs_at_once([*warm_cache(tmp_path), "--tracking-uri", uri])
    # every stage is cached, so each run is recorded by its own background process: eight writers on a new store
    results = [last_json(out) for out, _ in outs]
    assert all(r["mlflow_run_id"] is None for r in results)
    ids = [mlflow_run_id(r) for r in results]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("penguins").experiment_id])
    assert sorted(r.info.run_id for r in runs) == sorted(ids)
    assert sorted(r.data.tags["trainpipe_run_id"] for r in runs) == sorted(r["run_id"] for r in results)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.metrics["data_rows"] == 344 and run.data.metrics["data_test_rows"] == 69
    entries = list((tmp_path/"runs"/".cache"/"data").iterdir())
    assert len(entries) == 1 and (entries[0]/"manifest.json").exists()


def test_eight_pipelines_at_once_through_a_real_mlflow_server(tmp_path):
    "The team set-up: a tracking server on 127.0.0.1 that owns the database; runs and their artifacts go through it."
    with mlflow_server("server", "--backend-store-uri", f"sqlite:///{tmp_path/'server.db'}",
                       "--artifacts-destination", tmp_path/"artifacts", cwd=tmp_path) as uri:
        outs = runs_at_once([*warm_cache(tmp_path), "--tracking-uri", uri, "--wait-tracking"])  # recorded before each returns
        client = MlflowClient(uri)
        runs = client.search_runs([client.get_experiment_by_name("penguins").experiment_id])
        assert sorted(r.info.run_id for r in runs) == sorted(last_json(out)["run_id"] for out, _ in outs)
        assert all(r.info.status == "FINISHED" and r.data.metrics["data_rows"] == 344 for r in runs)
        assert all(r.data.tags["cached"] == "true" for r in runs)
        assert all("notebooks" in {a.path for a in client.list_artifacts(r.info.run_id)} for r in runs)
        assert list((tmp_path/"artifacts").rglob("10_data.ipynb"))  # uploaded through the server, stored where it says
