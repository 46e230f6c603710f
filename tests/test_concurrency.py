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
