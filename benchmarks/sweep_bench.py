"""A sweep of 8 configs with --jobs 2 against the same sweep with --jobs 1, measured in one run.

Each sweep gets a fresh runs folder (so it computes the shared data and features stages once, and the eight points
reuse them) and a sqlite store that already exists. On two cores the ratio cannot exceed 2.

`--jobs` is a budget of kernels: the sweep's points run their stages one at a time. The pair is measured again with
each point's pipeline given the default config's own parallelism back (`-p pipeline.jobs=2 -p pipeline.warm=2`: two
stages at once, two kernels warmed ahead), to show what that nesting does to each.
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


def sweep(jobs: int, work: Path, uri: str, extra: tuple = ()) -> float:
    start = time.perf_counter()
    runs = work/f"runs-{jobs}-{len(extra)}"
    subprocess.run([str(TRAINPIPE), "sweep", "configs/default.yaml", *GRID, "-p", STAGES, *extra, "--jobs", str(jobs),
                    "--tracking-uri", uri, "--runs-dir", str(runs)], cwd=PROJECT, check=True, capture_output=True)
    return time.perf_counter() - start


NESTED = ("-p", "pipeline.jobs=2", "-p", "pipeline.warm=2")


def measure() -> dict:
    "Wall seconds of the 8-point sweep with --jobs 1 and 2, and the same with each point's pipeline running stages in parallel."
    work = Path(tempfile.mkdtemp(prefix="trainpipe-sweep-bench-"))
    uri = f"sqlite:///{work/'mlflow.db'}"
    subprocess.run([str(TRAINPIPE), "run", "configs/default.yaml", "-p", "pipeline.stages=[data]", "--tracking-uri", uri,
                    "--runs-dir", str(work/"warm")], cwd=PROJECT, check=True, capture_output=True)  # creates the store
    return {"jobs 1": sweep(1, work, uri), "jobs 2": sweep(2, work, uri),
            "jobs 1, parallel pipelines": sweep(1, work, uri, NESTED), "jobs 2, parallel pipelines": sweep(2, work, uri, NESTED)}


def main():
    m = measure()
    print("sweep of 8 configs (default config, stages data..evaluate), wall seconds")
    for how in ("", ", parallel pipelines"):
        one, two = m[f"jobs 1{how}"], m[f"jobs 2{how}"]
        print(f"{'--jobs 1' + how:<32} {one:>8.2f}")
        print(f"{'--jobs 2' + how:<32} {two:>8.2f}")
        print(f"{'speed-up' + how:<32} {one / two:>8.2f}x")


if __name__ == "__main__":
    main()
