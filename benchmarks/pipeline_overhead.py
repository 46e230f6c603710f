"""What running the default pipeline through trainpipe costs, against the plain alternatives, measured in one run.

  trainpipe (cold)     `trainpipe run configs/default.yaml --force`: 5 stage notebooks, papermill, MLflow run and registry
  trainpipe (no-op)    the same command again without --force: nothing changed, every stage from the cache
  plain script         benchmarks/plain_pipeline.py: the same steps and MLflow records in one process, no notebooks
  papermill CLI loop   a shell loop calling the `papermill` CLI once per stage notebook with the same parameters
                       (the model is registered into an MLflow run made beforehand; the loop logs nothing else)

Each is run --repeat times, interleaved, against a sqlite MLflow store that already exists; the table shows medians.
Then 8 processes start runs at once against a new sqlite store, once through trainpipe and once with plain MLflow
calls, and the runs that did not make it into the store are counted.
Usage: python benchmarks/pipeline_overhead.py [--repeat N]
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STAGES = ["10_data", "20_features", "31_train", "40_evaluate", "50_register"]
PLAIN_MLFLOW_RUN = """
import mlflow, sys
mlflow.set_tracking_uri(sys.argv[1]); mlflow.set_experiment("together")
with mlflow.start_run():
    for step in range(5): mlflow.log_metric("m", step, step=step)
"""


def timed(cmd: str, cwd=PROJECT) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def papermill_loop(work: Path, uri: str) -> str:
    "A shell loop over the stage notebooks, with the parameters trainpipe would inject."
    from mlflow import MlflowClient
    from trainpipe.config import load_config, stage_parameters
    client = MlflowClient(uri)
    run_id = client.create_run(client.get_experiment_by_name("penguins").experiment_id).info.run_id
    run_dir = work/"loop"/run_id
    values = {**stage_parameters(load_config(PROJECT/"configs/default.yaml")), "run_dir": str(run_dir), "mlflow_run_id": run_id}
    flags = " ".join(f"-y {shlex.quote(json.dumps({k: v}))}" for k, v in values.items())
    return (f"export MLFLOW_TRACKING_URI={uri}; mkdir -p {run_dir} && for nb in {' '.join(STAGES)}; do "
            f"{BIN}/papermill --no-progress-bar -k python3 --cwd nbs nbs/$nb.ipynb {run_dir}/$nb.ipynb {flags} || exit 1; done")


def runs_lost(commands: list[list[str]], uri: str, experiment: str) -> int:
    "Start the commands at once against the store `uri`; how many of them left no run there."
    procs = [subprocess.Popen(c, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in commands]
    for p in procs: p.wait()
    from mlflow import MlflowClient
    try:
        client = MlflowClient(uri)
        exp = client.get_experiment_by_name(experiment)
        return len(commands) - (len(client.search_runs([exp.experiment_id])) if exp else 0)
    except Exception as e:  # a store left half-migrated cannot even be opened: every run in it is lost
        print(f"  (the store at {uri} cannot be opened afterwards: {type(e).__name__})", file=sys.stderr)
        return len(commands)


def measure(repeat: int = 3) -> dict:
    "Medians of the four ways of running the pipeline, and the runs lost under 8-way concurrency."
    work = Path(tempfile.mkdtemp(prefix="trainpipe-bench-"))
    uri = f"sqlite:///{work/'mlflow.db'}"
    ours = f"{BIN}/trainpipe run configs/default.yaml --tracking-uri {uri} --runs-dir {work/'runs'}"
    subprocess.run(ours, shell=True, cwd=PROJECT, check=True, capture_output=True)  # creates the store and the experiment
    times = {"trainpipe (cold)": [], "trainpipe (no-op)": [], "plain script": [], "papermill CLI loop": []}
    for i in range(repeat):
        times["trainpipe (cold)"].append(timed(f"{ours} --force"))
        times["trainpipe (no-op)"].append(timed(ours))
        times["plain script"].append(timed(f"{sys.executable} benchmarks/plain_pipeline.py {uri} {work}"))
        times["papermill CLI loop"].append(timed(papermill_loop(work, uri)))
        print(f"round {i + 1}/{repeat}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()), file=sys.stderr)
    # --wait-tracking: a cached run would otherwise be recorded by a background process, after the count
    ours8 = [[str(BIN/"trainpipe"), "run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "-p", "experiment=together",
              "--tracking-uri", f"sqlite:///{work/'new1'/'mlflow.db'}", "--runs-dir", str(work/"runs8"), "--wait-tracking"]] * 8
    plain8 = [[sys.executable, "-c", PLAIN_MLFLOW_RUN, f"sqlite:///{work/'new2'/'mlflow.db'}"]] * 8
    (work/"new2").mkdir()
    return {**{k: statistics.median(v) for k, v in times.items()},
            "lost (trainpipe)": runs_lost(ours8, f"sqlite:///{work/'new1'/'mlflow.db'}", "together"),
            "lost (plain MLflow)": runs_lost(plain8, f"sqlite:///{work/'new2'/'mlflow.db'}", "together")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    m = measure(args.repeat)
    cold = m["trainpipe (cold)"]
    print(f"pipeline overhead, default config, median of {args.repeat} (wall seconds)")
    print(f"{'':<22} {'seconds':>8} {'cold trainpipe / this':>22}")
    for k in ("trainpipe (cold)", "trainpipe (no-op)", "plain script", "papermill CLI loop"):
        print(f"{k:<22} {m[k]:>8.2f} {cold / m[k]:>22.2f}")
    print(f"8 runs started at once on a new sqlite store: runs lost  trainpipe {m['lost (trainpipe)']}/8, "
          f"plain MLflow {m['lost (plain MLflow)']}/8")


if __name__ == "__main__":
    main()
