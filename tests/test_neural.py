"""PyTorch networks in the pipeline: the MLP configs end to end, and a training killed by SIGKILL that resumes exactly."""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient

from trainpipe.pipeline import stop_orphan_kernels

from conftest import OWN_FORK_SERVER, PROJECT, TRAINPIPE, last_json, store_in, trainpipe

# all epochs (no early stopping), so an interrupted run has many left to resume
ARGS = ["configs/mlp.yaml", "-p", "pipeline.stages=[data, features, train, evaluate, register]", "-p", "model.params.epochs=25",
        "-p", "model.params.patience=null"]


def weights(run_dir: Path) -> dict:
    from trainpipe.neural import TRUSTED_TYPES
    from trainpipe.store import load_object
    return load_object(run_dir/"train"/"model.skops", TRUSTED_TYPES).module_.state_dict()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, migrated_db):
    tmp = tmp_path_factory.mktemp("mlp")
    store = store_in(tmp, migrated_db)
    proc = trainpipe("run", *ARGS, "--json", "--tracking-uri", store, "--runs-dir", tmp/"runs")
    assert proc.returncode == 0, proc.stderr
    return store, last_json(proc.stdout)


def test_the_mlp_config_logs_a_learning_curve_and_registers_a_servable_model(uninterrupted, monkeypatch):
    store, result = uninterrupted
    run = Path(result["run_dir"])
    history = json.loads((run/"train"/"history.json").read_text())
    assert [r["epoch"] for r in history] == list(range(25))
    assert (run/"train"/"learning_curve.png").stat().st_size > 1000
    assert not (run/".checkpoints").exists()  # removed once the model is saved
    client = MlflowClient(store)
    assert [m.step for m in client.get_metric_history(result["run_id"], "val_loss")] == list(range(25))
    assert "plots/learning_curve.png" in [a.path for a in client.list_artifacts(result["run_id"], "plots")]
    assert result["metrics"]["test_accuracy"] > 0.9
    outputs = [o for c in json.loads((run/"31_train.ipynb").read_text())["cells"] for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("name") == "stderr" and "epoch" in "".join(o["text"])], "no epoch lines on stderr (pink)"
    progress = ["".join(o["data"]["text/plain"]) for o in outputs if "".join(o.get("data", {}).get("text/plain", "")).startswith("epoch ")]
    assert len(progress) == 1 and "\n" not in progress[0].strip() and progress[0].startswith("epoch 25/25: 100%"), progress  # one line, redrawn
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # not mlflow.set_tracking_uri: that would outlive this test
    model = mlflow.pyfunc.load_model(result["model_uri"])
    test = pd.read_parquet(run/"data"/"test.parquet")
    assert (model.predict(test.drop(columns=["species"]))["label"] == test.species.to_numpy()).mean() > 0.9  # raw rows in, species out
    requirements = (Path(mlflow.artifacts.download_artifacts(f"runs:/{result['run_id']}/model/requirements.txt", tracking_uri=store))).read_text()
    assert f"torch=={torch.__version__.split('+')[0]}" in requirements


def test_sigkill_mid_training_then_resume_ends_with_the_uninterrupted_weights(tmp_path, store, uninterrupted):
    runs = tmp_path/"runs"
    # its own fork server, as a user's run has: killed with the runner, it takes the kernels with it (a test worker's
    # shared server outlives the runner, and a kernel forked from it could finish training, and clear the checkpoint,
    # before it noticed its runner had gone)
    runner = subprocess.Popen([str(TRAINPIPE), "run", *ARGS, "--tracking-uri", store, "--runs-dir", str(runs)], cwd=PROJECT,
                              env={**os.environ, **OWN_FORK_SERVER}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline, seen = time.monotonic() + 300, set()
    while len(seen) < 3:  # the checkpoint rewritten after three epochs
        assert runner.poll() is None and time.monotonic() < deadline, "the run ended before three epochs were checkpointed"
        for c in runs.glob("*/.checkpoints/train/checkpoint.pt"):
            try: seen.add(c.stat().st_mtime_ns)
            except FileNotFoundError: pass
        time.sleep(0.01)
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait()
    stop_orphan_kernels(runner.pid)  # its kernels too, as if the machine went down (a kernel outlives its runner by up to a second)
    run_dir = next(runs.glob("*/31_train.ipynb")).parent
    done = torch.load(run_dir/".checkpoints"/"train"/"checkpoint.pt", weights_only=True)["epoch"]
    assert 1 <= done < 24 and not (run_dir/"train"/"model.skops").exists()

    resumed = trainpipe("run", "--resume", "--json", "--tracking-uri", store, "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    assert last_json(resumed.stdout)["status"] == "FINISHED"
    outputs = json.dumps([c.get("outputs", []) for c in json.loads((run_dir/"31_train.ipynb").read_text())["cells"]])
    first = int(re.search(r"resumed at epoch (\d+)", outputs).group(1))  # the training line says where it picked up
    assert first > done, f"the resumed stage started at epoch {first}, not after the checkpointed {done + 1}"
    assert [r["epoch"] for r in json.loads((run_dir/"train"/"history.json").read_text())] == list(range(25))
    original = weights(Path(uninterrupted[1]["run_dir"]))
    assert all(torch.equal(a, b) for a, b in zip(weights(run_dir).values(), original.values()))


def test_asking_for_a_gpu_that_is_not_there_is_one_clear_sentence(tmp_path, store):
    if torch.cuda.is_available(): pytest.skip("this machine has a CUDA GPU")
    proc = trainpipe("run", "configs/mlp.yaml", "-p", "model.params.device=cuda", "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 2 and "device 'cuda' was asked for, but torch sees no CUDA device here" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path/"runs").exists()
