"""The compiled Kubeflow pipeline run end to end offline by `kfp.local` (the real KFP SDK's local runner, no cluster),
against a real MLflow store. The production tier (`make test-production`)."""
import pytest
import yaml
from mlflow import MlflowClient

from conftest import failing_project, last_json, trainpipe

pytestmark = pytest.mark.production


def test_the_local_kubeflow_run_is_one_run_like_trainpipe_run(tmp_path, store):
    ran = trainpipe("export", "kubeflow", "--out", tmp_path/"pipeline.yaml", "--runs-dir", tmp_path/"kfp-runs",
                    "--tracking-uri", store, "--run-local", "--json")
    assert ran.returncode == 0, ran.stderr[-4000:]
    kfp = last_json(ran.stdout)
    spec = yaml.safe_load((tmp_path/"pipeline.yaml").read_text())
    assert spec["pipelineInfo"]["name"] == "trainpipe-default"
    by_hand = trainpipe("run", "--runs-dir", tmp_path/"own-runs", "--tracking-uri", store, "--json", "--wait-tracking")
    assert by_hand.returncode == 0, by_hand.stderr
    own = last_json(by_hand.stdout)
    tests = {k: v for k, v in own["metrics"].items() if k.startswith("test_")}
    assert tests and {k: kfp["metrics"][k] for k in tests} == tests
    assert kfp["status"] == "FINISHED" and kfp["model_uri"] == "models:/penguins-species/1"
    logged = MlflowClient(store).get_run(kfp["mlflow_run_id"])
    assert logged.info.status == "FINISHED" and logged.data.tags["kubeflow_run"].startswith("local-")
    assert {k: logged.data.metrics[k] for k in tests} == tests


def test_a_failing_stage_closes_the_run_as_failed(tmp_path, store):
    project = failing_project(tmp_path/"proj")
    ran = trainpipe("export", "kubeflow", "configs/boom.yaml", "--out", tmp_path/"boom.yaml", "--runs-dir", tmp_path/"runs",
                    "--tracking-uri", store, "--run-local", "--json", cwd=project)
    assert ran.returncode == 1, ran.stderr[-4000:]
    result = last_json(ran.stdout)
    assert result["status"] == "FAILED" and "stage 'boom' failed: RuntimeError: the boom stage always fails" in result["error"]
    assert MlflowClient(store).get_run(result["mlflow_run_id"]).info.status == "FAILED"
    assert (tmp_path/"runs"/result["run_id"]/"10_boom.ipynb").exists()
