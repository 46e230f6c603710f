"""The shipped configs: simple.yaml reproduces the plain script exactly; regression.yaml logs regression metrics and plots."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from sklearn.datasets import load_wine, make_classification

from conftest import last_json, shown, trainpipe


def plain_script_accuracy(project, csv) -> float:
    out = subprocess.run([sys.executable, str(project/"benchmarks/plain_script.py"), str(csv)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


@pytest.mark.parametrize("make_csv", ["wine", "synthetic"])
def test_simple_config_gives_the_plain_scripts_accuracy(project, tmp_path, store, make_csv):
    if make_csv == "wine":
        df = load_wine(as_frame=True).frame
    else:
        X, y = make_classification(n_samples=300, n_features=6, n_informative=3, flip_y=0.2, random_state=7)
        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]).assign(target=y)
    df.to_csv(tmp_path/"X.csv", index=False)
    expected = plain_script_accuracy(project, tmp_path/"X.csv")
    # relative -p paths are relative to where the command runs, as in a shell
    # the whole command for one data set; the other stops after evaluate, where the accuracy is known
    stop = ["--to", "evaluate"] if make_csv == "wine" else []
    proc = trainpipe("run", project/"configs/simple.yaml", "-p", "data.source=X.csv", "--json", *stop,
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout)["metrics"]["test_accuracy"] == expected
    if make_csv == "synthetic": assert expected < 1.0  # a data set the forest does not get all right


def test_regression_config_logs_to_the_store_in_the_environment_with_its_evaluation(project, tmp_path, store):
    "The regression config end to end, with the evaluate stage's switches: no interval, no learning curve, any gap flagged."
    proc = trainpipe("run", "configs/regression.yaml", "--json", "--runs-dir", tmp_path/"runs", "-p", "evaluate.overfit_threshold=0",
                     "-p", "evaluate.bootstrap=0", "-p", "evaluate.learning_curve=0", env={"MLFLOW_TRACKING_URI": store})
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    assert 0.2 < result["metrics"]["test_r2"] < 0.8  # a linear model on diabetes explains about half the variance
    run = MlflowClient(store).get_run(result["run_id"])
    assert run.data.params["model.name"] == "ridge"
    assert result["model_uri"].startswith("models:/diabetes-progression/")

    metrics, run_dir = run.data.metrics, Path(result["run_dir"])
    plots = {a.path for a in MlflowClient(store).list_artifacts(result["run_id"], "plots")}
    assert {"test_rmse", "test_mae", "test_r2", "test_mape", "test_median_ae", "train_r2", "fit_gap"} <= set(metrics)
    assert not {k for k in metrics if "_ci_" in k}  # evaluate.bootstrap=0: no interval
    assert metrics["test_median_ae"] <= metrics["test_mae"] <= metrics["test_rmse"]
    assert metrics["fit_gap"] == metrics["train_r2"] - metrics["test_r2"] > 0  # ridge fits its training rows a little better
    assert run.data.tags["overfitting"] == "true"  # any gap is over a threshold of 0
    assert {f"plots/{n}.png" for n in ("residuals", "predicted_vs_actual", "permutation_importance")} <= plots
    assert not {"plots/roc_pr_curves.png", "plots/calibration.png", "plots/learning_curve.png"} & plots  # curve turned off
    assert not (run_dir/"evaluate"/"per_class.json").exists()
    images, printed = shown(run_dir/"40_evaluate.ipynb")
    assert images >= 3 and "WARNING: the model may be overfitting: its r2 is" in printed
