"""30 trials through trainpipe's tune stage against the same study run with Optuna directly, measured in one run.

Both search configs/tune.yaml's space (random forest or extra trees, their size, depth and leaf size; random_state
fixed so every trial is deterministic) with TPE (seed 42) and the median pruner, scoring each trial by stratified
3-fold cross-validation accuracy of the penguin training rows, which the data and features stages computed once
beforehand.

  trainpipe, tune stage   the stage's own time in the run record (its kernel, imports, the study in sqlite beside
                          the run, and 30 nested MLflow runs), with the stages before it from the cache
  trainpipe run, whole    the `trainpipe run` command around it (the runner's start, the pipeline's MLflow run)
  Optuna directly         a fresh Python process: the same imports, the same folds and objective written out
                          plainly, an in-memory study, no MLflow

Rounds are interleaved; medians are shown. Goal: the stage <= 1.15x Optuna directly.
Usage: python benchmarks/tune_bench.py [--trials 30] [--rounds 3]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TRAINPIPE = Path(sys.executable).parent/"trainpipe"
STAGES = "pipeline.stages={data: {}, features: {after: data}, tune: {after: features}}"
SPACE = ("tune.space={model.name: [random_forest, extra_trees], model.params.n_estimators: {int: [10, 200], log: true}, "
         "model.params.max_depth: {int: [2, 12]}, model.params.min_samples_leaf: {int: [1, 8]}, model.params.random_state: [42]}")

PLAIN = """
import json, sys, time
start = time.perf_counter()
import numpy as np, optuna, pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedKFold
optuna.logging.set_verbosity(optuna.logging.WARNING)
features, trials = sys.argv[1], int(sys.argv[2])
X, y = pd.read_parquet(f"{features}/X_train.parquet"), pd.read_parquet(f"{features}/y_train.parquet").iloc[:, 0]
splits = list(StratifiedKFold(3, shuffle=True, random_state=42).split(np.arange(len(y)), y))
MODELS = {"random_forest": RandomForestClassifier, "extra_trees": ExtraTreesClassifier}
def objective(trial):
    name = trial.suggest_categorical("model.name", ["random_forest", "extra_trees"])
    params = {"n_estimators": trial.suggest_int("model.params.n_estimators", 10, 200, log=True),
              "max_depth": trial.suggest_int("model.params.max_depth", 2, 12),
              "min_samples_leaf": trial.suggest_int("model.params.min_samples_leaf", 1, 8),
              "random_state": trial.suggest_categorical("model.params.random_state", [42])}
    scores = []
    for fold, (fit, val) in enumerate(splits):
        model = MODELS[name](**params).fit(X.iloc[fit], y.iloc[fit])
        scores.append(accuracy_score(y.iloc[val], model.predict(X.iloc[val])))
        trial.report(float(np.mean(scores)), fold)
        if trial.should_prune(): raise optuna.TrialPruned()
    return float(np.mean(scores))
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=42),
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
study.optimize(objective, n_trials=trials)
print(json.dumps({"seconds": time.perf_counter() - start, "best": study.best_value}))
"""


def run(cmd: list) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=PROJECT, check=True, capture_output=True, text=True)


def ours(work: Path, uri: str, trials: int) -> dict:
    "The tune stage's seconds, the whole command's, and the best score."
    start = time.perf_counter()
    out = run([str(TRAINPIPE), "run", "configs/tune.yaml", "-p", STAGES, "-p", SPACE, "-p", f"tune.trials={trials}",
               "--force-stage", "tune", "--json", "--tracking-uri", uri, "--runs-dir", str(work/"runs")])
    whole = time.perf_counter() - start
    result = json.loads(out.stdout.strip().splitlines()[-1])
    stage = json.loads((Path(result["run_dir"])/"run.json").read_text())["stages"]["tune"]
    seconds = (datetime.fromisoformat(stage["ended"]) - datetime.fromisoformat(stage["started"])).total_seconds()
    return {"stage": seconds, "whole": whole, "best": result["metrics"]["tune_best_cv_accuracy"], "run_dir": result["run_dir"]}


def plain(features: Path, trials: int) -> dict:
    start = time.perf_counter()
    out = run([sys.executable, "-c", PLAIN, str(features), str(trials)])
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process": time.perf_counter() - start}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trainpipe-tune-bench-"))
    uri = f"sqlite:///{work/'mlflow.db'}"
    first = ours(work, uri, 1)  # creates the store and caches the data and features stages
    features = Path(first["run_dir"])/"features"
    mine, theirs = [], []
    for _ in range(args.rounds):
        mine.append(ours(work, uri, args.trials))
        theirs.append(plain(features, args.trials))
    med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
    stage, whole, direct = med(mine, "stage"), med(mine, "whole"), med(theirs, "process")
    print(f"tune bench: {args.trials} trials, TPE + median pruner, 3-fold CV on the penguin training rows; medians of {args.rounds}")
    print(f"{'':<44} {'measured':>9} {'goal':>8}  met")
    rows = [("Optuna directly (fresh process), s", f"{direct:.2f}", "", None),
            ("trainpipe tune stage, s", f"{stage:.2f}", "", None),
            ("trainpipe run, whole command, s", f"{whole:.2f}", "", None),
            ("tune stage / Optuna directly", f"{stage / direct:.2f}x", "<= 1.15x", stage / direct <= 1.15),
            ("whole command / Optuna directly", f"{whole / direct:.2f}x", "", None),
            ("best cv accuracy, trainpipe / Optuna", f"{mine[0]['best']:.4f} / {theirs[0]['best']:.4f}", "", None)]
    for what, value, goal, met in rows:
        print(f"{what:<44} {value:>9} {goal:>8}  {'' if met is None else 'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
