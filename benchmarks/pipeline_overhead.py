"""What running the default pipeline through trainpipe costs, against the plain alternatives, measured in one run.

  trainpipe       `trainpipe run configs/default.yaml` (5 stage notebooks, papermill, MLflow run and model registry)
  plain script    benchmarks/plain_pipeline.py: the same steps and MLflow records in one process, no notebooks
  papermill loop  a shell loop calling the `papermill` CLI once per stage notebook with the same parameters
                  (the model is registered into an MLflow run made beforehand; the loop logs nothing else)

Each is run --repeat times, interleaved, against a sqlite MLflow store that already exists; the table shows medians.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="trainpipe-bench-"))
    uri = f"sqlite:///{work/'mlflow.db'}"
    # one untimed run creates the store and the experiment, as on any machine after the first run
    subprocess.run(f"{BIN}/trainpipe run configs/default.yaml --tracking-uri {uri} --runs-dir {work/'runs'}", shell=True,
                   cwd=PROJECT, check=True, capture_output=True)
    times = {"trainpipe run": [], "plain script": [], "papermill CLI loop": []}
    for i in range(args.repeat):
        times["trainpipe run"].append(timed(f"{BIN}/trainpipe run configs/default.yaml --tracking-uri {uri} --runs-dir {work/'runs'}"))
        times["plain script"].append(timed(f"{sys.executable} benchmarks/plain_pipeline.py {uri} {work}"))
        times["papermill CLI loop"].append(timed(papermill_loop(work, uri)))
        print(f"round {i + 1}/{args.repeat}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in times.items()}
    ours = med["trainpipe run"]
    print(f"pipeline overhead, default config, median of {args.repeat} (wall seconds)")
    print(f"{'':<20} {'seconds':>8} {'trainpipe / this':>17}")
    for k, v in med.items():
        print(f"{k:<20} {v:>8.2f} {ours / v:>17.2f}")


if __name__ == "__main__":
    main()
