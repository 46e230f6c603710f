"""The tune stage: real Optuna trials as nested MLflow runs, the best fitted by train, and a killed study resumed."""
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from trainpipe.pipeline import stop_orphan_kernels

from conftest import PROJECT, TRAINPIPE, last_json, trainpipe

TRIALS = 20  # enough that the kill lands mid-study: the writer process starts a few seconds in and catches up in bursts
ARGS = ["configs/tune.yaml", "-p", f"tune.trials={TRIALS}", "-p", "pipeline.stages={data: {}, features: {after: data}, "
        "tune: {after: features}, train: {after: [features, tune]}, evaluate: {after: train}}"]


def finished_trials(db) -> list:
    study = optuna.load_study(study_name="tune", storage=f"sqlite:///{db}")
    return [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]


def ended(db) -> int:
    "Trials that ended, read straight from the study's database while the stage writes it (0 until its tables exist)."
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            return con.execute("SELECT count(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED', 'FAIL')").fetchone()[0]
    except sqlite3.OperationalError: return 0


def test_a_killed_tuning_stage_resumes_its_study_and_trains_the_best_trial(tmp_path, store):
    runs = tmp_path/"runs"
    runner = subprocess.Popen([str(TRAINPIPE), "run", *ARGS, "--tracking-uri", store, "--runs-dir", str(runs)], cwd=PROJECT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while not (dbs := list(runs.glob("*/tune-study.db"))) or ended(dbs[0]) < 2:  # two trials ended
        assert runner.poll() is None and time.monotonic() < deadline, "the run ended before two trials were done"
        time.sleep(0.1)
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait()
    stop_orphan_kernels(runner.pid)  # its kernels too, as if the machine went down (a kernel outlives its runner by up to a second)
    run_dir = dbs[0].parent
    before = {t.number: t.params for t in finished_trials(dbs[0])}
    assert 2 <= len(before) < TRIALS and not (run_dir/"tune"/"best.json").exists()

    resumed = trainpipe("run", "--resume", "--json", "--tracking-uri", store, "--runs-dir", runs)
    assert resumed.returncode == 0, resumed.stderr
    result = last_json(resumed.stdout)
    assert result["run_id"] == run_dir.name and result["status"] == "FINISHED"
    trials = finished_trials(dbs[0])
    assert len(trials) == TRIALS  # the missing trials only: those done before the kill were kept, not run again
    assert {t.number: t.params for t in trials if t.number in before} == before

    best = json.loads((run_dir/"tune"/"best.json").read_text())
    study_best = max((t for t in trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: t.value)  # as Optuna's best_trial: a pruned trial's value is only its last intermediate one
    assert best["cv_accuracy"] == study_best.value and best["model_name"] == study_best.params.get("model.name", "random_forest")
    assert json.loads((run_dir/"train"/"model_spec.json").read_text()) == {"model_name": best["model_name"], "model_params": best["model_params"]}

    client = MlflowClient(store)
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.metrics["tune_best_cv_accuracy"] == best["cv_accuracy"] and "test_accuracy" in run.data.metrics
    nested = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'", max_results=100)
    logged = {int(r.data.tags["trainpipe.trial"]): r for r in nested}
    assert {t.number for t in trials} <= set(logged)  # every trial that ended is a nested run
    for t in trials:
        r = logged[t.number]
        assert r.info.status == {"complete": "FINISHED", "pruned": "KILLED", "fail": "FAILED"}[t.state.name.lower()]
        assert {k: str(v) for k, v in t.params.items()} == r.data.params
        if t.value is not None: assert r.data.metrics["cv_accuracy_mean"] == t.value
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/optimization_history.png", "plots/param_importances.png"} <= plots


def test_a_bad_search_space_is_rejected_before_anything_runs(tmp_path, store):
    proc = trainpipe("run", "configs/tune.yaml", "-p", "tune.space={features.numeric: [standard, robust]}",
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("trainpipe: error: config key 'tune.space.features.numeric' cannot be tuned: the tune stage "
                                   "searches model.name and model.params.*; sweep other keys with trainpipe sweep")
    assert not (tmp_path/"runs").exists()


def test_split_folds_cross_validate_the_model_with_a_nested_run_per_fold(tmp_path, store):
    proc = trainpipe("run", "configs/default.yaml", "-p", "split.folds=3", "-p", "pipeline.stages=[data, features, train]", "--json",
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    cv = json.loads((Path(result["run_dir"])/"train"/"cv.json").read_text())
    assert cv["metric"] == "accuracy" and len(cv["scores"]) == 3
    client = MlflowClient(store)
    run = client.get_run(result["mlflow_run_id"])
    assert run.data.metrics["cv_accuracy_mean"] == pytest.approx(sum(cv["scores"]) / 3)
    folds = client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")
    assert sorted((int(f.data.tags["trainpipe.fold"]), f.data.metrics["cv_accuracy"]) for f in folds) == list(enumerate(cv["scores"]))
