"""Pipelines started together against a new sqlite store lose no run and no metric, and share the stage cache safely."""
import subprocess

from mlflow import MlflowClient

from conftest import TRAINPIPE, PROJECT, last_json


def test_eight_pipelines_at_once_on_a_new_store_lose_nothing(tmp_path):
    uri = f"sqlite:///{tmp_path/'new'/'mlflow.db'}"  # does not exist yet: the first to arrive creates it
    cmd = [str(TRAINPIPE), "run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "--json",
           "--tracking-uri", uri, "--runs-dir", str(tmp_path/"runs")]
    procs = [subprocess.Popen(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, [err[-500:] for _, err in outs if err]
    results = [last_json(out) for out, _ in outs]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("penguins").experiment_id])
    assert sorted(r.info.run_id for r in runs) == sorted(r["run_id"] for r in results)
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.metrics["data_rows"] == 344 and run.data.metrics["data_test_rows"] == 69
    entries = list((tmp_path/"runs"/".cache"/"data").iterdir())
    assert len(entries) == 1 and (entries[0]/"manifest.json").exists()  # one cache entry, however many ran the stage


def test_eight_pipelines_at_once_through_a_real_mlflow_server(tmp_path):
    "The team set-up: a tracking server on 127.0.0.1 that owns the database; runs and their artifacts go through it."
    import socket
    import time
    import urllib.request
    from pathlib import Path
    import sys
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(Path(sys.executable).parent/"mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp_path/'server.db'}",
                               "--artifacts-destination", str(tmp_path/"artifacts"), "--host", "127.0.0.1", "--port", str(port)],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if urllib.request.urlopen(f"{uri}/health", timeout=2).status == 200: break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
                time.sleep(0.5)
        cmd = [str(TRAINPIPE), "run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "--json", "--runs-dir", str(tmp_path/"runs")]
        # the data stage does not log to MLflow itself, so one run on another store fills the cache for all eight:
        # what is tested here is the tracking, with no kernel start-ups crowding the two cores
        assert subprocess.run([*cmd, "--tracking-uri", f"sqlite:///{tmp_path/'warm.db'}"], cwd=PROJECT, capture_output=True).returncode == 0
        cmd += ["--tracking-uri", uri]
        procs = [subprocess.Popen(cmd, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
        outs = [p.communicate(timeout=600) for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, [err[-500:] for _, err in outs if err]
        client = MlflowClient(uri)
        runs = client.search_runs([client.get_experiment_by_name("penguins").experiment_id])
        assert sorted(r.info.run_id for r in runs) == sorted(last_json(out)["run_id"] for out, _ in outs)
        assert all(r.info.status == "FINISHED" and r.data.metrics["data_rows"] == 344 for r in runs)
        assert all(r.data.tags["cached"] == "true" for r in runs)
        assert all("notebooks" in {a.path for a in client.list_artifacts(r.info.run_id)} for r in runs)
        assert list((tmp_path/"artifacts").rglob("10_data.ipynb"))  # uploaded through the server, stored where it says
    finally:
        server.terminate()
        server.wait(timeout=30)
