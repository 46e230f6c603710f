"""`trainpipe sweep`: a grid of runs under one parent MLflow run, sharing cached upstream stages, ranked at the end."""
import json
from pathlib import Path

from mlflow import MlflowClient

from conftest import trainpipe

STAGES = "pipeline.stages=[data, features, train, evaluate]"


def test_sweep_runs_every_point_under_a_parent_and_computes_shared_stages_once(tmp_path, store):
    proc = trainpipe("sweep", "configs/default.yaml", "--grid", "model.params.n_estimators=5,40", "-p", STAGES, "--jobs", "2",
                     "--tracking-uri", store, "--runs-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("sweep ") and lines[0].endswith("2 runs, ranked by test_accuracy")
    parent_id = lines[0].split()[1].rstrip(":")
    board = [l.split() for l in lines[2:]]
    assert [row[0] for row in board] == ["1", "2"] and sorted(row[1] for row in board) == ["40", "5"]
    assert float(board[0][2]) >= float(board[1][2])  # best first
    client = MlflowClient(store)
    children = client.search_runs([client.get_run(parent_id).info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    assert sorted(r.info.run_id for r in children) == sorted(row[3] for row in board)
    assert sorted(r.data.params["model.params.n_estimators"] for r in children) == ["40", "5"]
    # --jobs is a budget of kernels: the points run side by side, each one stage at a time with nothing warmed ahead
    assert {(r.data.params["pipeline.jobs"], r.data.params["pipeline.warm"]) for r in children} == {("1", "0")}
    parent = client.get_run(parent_id)
    assert parent.info.status == "FINISHED" and parent.data.tags["sweep"] == "true"
    assert parent.data.metrics["best_test_accuracy"] == float(board[0][2])
    assert "leaderboard.json" in {a.path for a in client.list_artifacts(parent_id)}
    for stage in ("data", "features"):  # no grid key touches them: computed once, before the points, and reused by both
        assert len(list((tmp_path/".cache"/stage).iterdir())) == 1
    assert len(list((tmp_path/".cache"/"train").iterdir())) == 2


def test_a_bad_grid_key_is_rejected_before_anything_runs(tmp_path, store):
    proc = trainpipe("sweep", "configs/default.yaml", "--grid", "model.params.n_estimator=5,40", "--tracking-uri", store,
                     "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("trainpipe: error: model.params.n_estimator is not a parameter of RandomForestClassifier; "
                                          "did you mean 'model.params.n_estimators'?")
    assert not (tmp_path/"runs").exists()
    assert not MlflowClient(store).search_runs([e.experiment_id for e in MlflowClient(store).search_experiments()])


def test_a_point_whose_model_cannot_do_the_task_is_rejected_before_anything_runs(tmp_path, store):
    "Only the first point reads the data; the task it found is what the later points' models are checked against."
    proc = trainpipe("sweep", "configs/default.yaml", "--grid", "model.name=random_forest,linear_regression", "--tracking-uri", store,
                     "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 2
    assert "model 'linear_regression' does not do classification" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path/"runs").exists()


def leaderboard(client: MlflowClient, parent_id: str, tmp_path) -> list[dict]:
    return json.loads(Path(client.download_artifacts(parent_id, "leaderboard.json", str(tmp_path))).read_text())


def test_sweep_on_a_local_dask_cluster_it_starts_itself(tmp_path, store):
    "--executor dask without --scheduler: trainpipe starts a LocalCluster of --jobs worker processes and stops it."
    proc = trainpipe("sweep", "configs/default.yaml", "--grid", "features.numeric=standard,minmax", "-p", "pipeline.stages=[data, features]",
                     "--executor", "dask", "--jobs", "2", "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 0, proc.stderr
    parent_id = proc.stdout.splitlines()[0].split()[1].rstrip(":")
    board = leaderboard(MlflowClient(store), parent_id, tmp_path)
    assert sorted(p["features.numeric"] for p in board) == ["minmax", "standard"]
    assert all(p["status"] == "FINISHED" and p["where"].startswith("tcp://127.0.0.1:") for p in board), board
    assert len(list((tmp_path/"runs"/".cache"/"data").iterdir())) == 1  # shared, run once before the points


def test_sweep_on_a_dask_cluster_with_two_worker_processes(tmp_path, store):
    "--executor dask with --scheduler: the points run on a real LocalCluster's two worker processes."
    from dask.distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None) as cluster:
        proc = trainpipe("sweep", "configs/default.yaml", "--grid", "model.params.n_estimators=5,10", "-p", STAGES,
                         "--executor", "dask", "--scheduler", cluster.scheduler_address, "--jobs", "2",
                         "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
        assert proc.returncode == 0, proc.stderr
        assert any("run_point" in name for name in cluster.scheduler.task_prefixes), list(cluster.scheduler.task_prefixes)
        addresses = set(cluster.scheduler.workers)
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("2 runs, ranked by test_accuracy")
    client = MlflowClient(store)
    parent_id = lines[0].split()[1].rstrip(":")
    assert client.get_run(parent_id).data.params["executor"] == "dask"
    children = client.search_runs([client.get_run(parent_id).info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    workers = {p["where"] for p in leaderboard(client, parent_id, tmp_path)}
    assert workers and workers <= addresses  # each point ran on one of the cluster's workers
