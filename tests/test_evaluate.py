"""The evaluate stage on real runs: its metrics, plots, per-class table and overfitting flag reach the run folder and MLflow."""
import json
from pathlib import Path

from mlflow import MlflowClient

from conftest import last_json, trainpipe

STAGES = "pipeline.stages=[data, features, train, evaluate]"


def evaluate(config: str, store: str, tmp_path: Path, *params: str):
    "Run `config` up to the evaluate stage; the result line, the MLflow run and the plots it logged."
    proc = trainpipe("run", f"configs/{config}.yaml", "-p", STAGES, *[a for p in params for a in ("-p", p)], "--json",
                     "--tracking-uri", store, "--runs-dir", tmp_path/"runs")
    assert proc.returncode == 0, proc.stderr
    result, client = last_json(proc.stdout), MlflowClient(store)
    plots = {a.path for a in client.list_artifacts(result["mlflow_run_id"], "plots")}
    return result, client.get_run(result["mlflow_run_id"]), plots


def shown(run_dir: Path) -> tuple[int, str]:
    "How many images the executed evaluate notebook shows, and what it printed."
    cells = json.loads((run_dir/"40_evaluate.ipynb").read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    return sum("image/png" in o.get("data", {}) for o in outputs), "".join("".join(o.get("text", "")) for o in outputs)


def test_classification_metrics_interval_plots_and_per_class_table(store, tmp_path):
    result, run, plots = evaluate("default", store, tmp_path)
    metrics, run_dir = run.data.metrics, Path(result["run_dir"])
    assert {"test_accuracy", "test_balanced_accuracy", "test_f1_macro", "test_precision_macro", "test_recall_macro",
            "test_roc_auc", "test_log_loss", "test_f1_weighted", "test_precision_weighted", "test_recall_weighted",
            "test_pr_auc", "test_brier", "test_accuracy_ci_low", "test_accuracy_ci_high", "train_accuracy", "fit_gap"} <= set(metrics)
    assert metrics["test_accuracy_ci_low"] <= metrics["test_accuracy"] <= metrics["test_accuracy_ci_high"] <= 1
    assert 0 <= metrics["test_brier"] < 0.05 and metrics["test_pr_auc"] > 0.95
    assert metrics["fit_gap"] == metrics["train_accuracy"] - metrics["test_accuracy"]
    assert run.data.tags["overfitting"] == "false"  # a gap of at most 0.1, the default threshold
    assert {f"plots/{n}.png" for n in ("confusion_matrix", "roc_pr_curves", "calibration", "permutation_importance", "learning_curve")} <= plots
    curve = json.loads((run_dir/"evaluate"/"learning_curve.json").read_text())
    assert curve["rows"][-1] == metrics["data_train_rows"] and curve["test_accuracy"][-1] == metrics["test_accuracy"]
    per_class = json.loads((run_dir/"evaluate"/"per_class.json").read_text())
    assert set(per_class) == {"Adelie", "Chinstrap", "Gentoo"}
    assert all(set(row) == {"precision", "recall", "f1-score", "support"} for row in per_class.values())
    assert sum(row["support"] for row in per_class.values()) == metrics["data_test_rows"]
    images, printed = shown(run_dir)
    assert images >= 4 and "overfitting" not in printed


def test_regression_metrics_plots_and_overfitting_flag(store, tmp_path):
    result, run, plots = evaluate("regression", store, tmp_path, "evaluate.overfit_threshold=0", "evaluate.bootstrap=0",
                                  "evaluate.learning_curve=0")
    metrics, run_dir = run.data.metrics, Path(result["run_dir"])
    assert {"test_rmse", "test_mae", "test_r2", "test_mape", "test_median_ae", "train_r2", "fit_gap"} <= set(metrics)
    assert not {k for k in metrics if "_ci_" in k}  # evaluate.bootstrap=0: no interval
    assert metrics["test_median_ae"] <= metrics["test_mae"] <= metrics["test_rmse"]
    assert metrics["fit_gap"] == metrics["train_r2"] - metrics["test_r2"] > 0  # ridge fits its training rows a little better
    assert run.data.tags["overfitting"] == "true"  # any gap is over a threshold of 0
    assert {f"plots/{n}.png" for n in ("residuals", "predicted_vs_actual", "permutation_importance")} <= plots
    assert not {"plots/roc_pr_curves.png", "plots/calibration.png", "plots/learning_curve.png"} & plots  # curve turned off
    assert not (run_dir/"evaluate"/"per_class.json").exists()
    images, printed = shown(run_dir)
    assert images >= 3 and "WARNING: the model may be overfitting: its r2 is" in printed
