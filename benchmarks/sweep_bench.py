"""A sweep of 8 configs with --jobs 2 against the same sweep with --jobs 1, measured in one run.

Each sweep gets a fresh runs folder (so its first point computes the shared data and features stages, and the other
seven reuse them) and a sqlite store that already exists. On two cores the ratio cannot exceed 2.
Usage: python benchmarks/sweep_bench.py
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TRAINPIPE = Path(sys.executable).parent/"trainpipe"
GRID = ["--grid", "model.params.n_estimators=10,20,40,80", "--grid", "model.name=random_forest,extra_trees"]
STAGES = "pipeline.stages=[data, features, train, evaluate]"


def sweep(jobs: int, work: Path, uri: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(TRAINPIPE), "sweep", "configs/default.yaml", *GRID, "-p", STAGES, "--jobs", str(jobs),
                    "--tracking-uri", uri, "--runs-dir", str(work/f"runs-{jobs}")], cwd=PROJECT, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    work = Path(tempfile.mkdtemp(prefix="trainpipe-sweep-bench-"))
    uri = f"sqlite:///{work/'mlflow.db'}"
    subprocess.run([str(TRAINPIPE), "run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "--tracking-uri", uri,
                    "--runs-dir", str(work/"warm")], cwd=PROJECT, check=True, capture_output=True)  # creates the store
    one, two = sweep(1, work, uri), sweep(2, work, uri)
    print("sweep of 8 configs (default config, stages data..evaluate), wall seconds")
    print(f"{'--jobs 1':<10} {one:>8.2f}")
    print(f"{'--jobs 2':<10} {two:>8.2f}")
    print(f"speed-up  {one / two:>8.2f}x")


if __name__ == "__main__":
    main()
