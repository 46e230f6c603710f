"""The default pipeline scheduled by Airflow (`airflow dags test` of the exported DAG) and run by `kfp.local` (the
compiled Kubeflow pipeline), against `trainpipe run` of the same config, measured in one run; then `trainpipe monitor`
on 1,000,000 rows against a bare `pandas.read_csv` (benchmarks/monitor_bench.py).

Every measurement starts cold: a runs folder of its own (no stage cache) and a copy of one already-migrated sqlite
store (so none pays MLflow's schema creation). The DAG run is timed by Airflow's log, from its first task starting to
the DAG run finishing. Airflow's own start-up is reported apart and left out of the ratio (goal: ≤ 1.5x): the time to
its first task, and the run of a one-task DAG whose task runs `true` (Airflow loading its task runner and the
providers as its first task starts, seconds that no DAG of its avoids). The second DAG run has nothing to do: every
stage comes from the cache.
Needs `make airflow` (Airflow in .venv-airflow).
Usage: python benchmarks/orchestration_bench.py [--rows N]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
AIRFLOW = PROJECT/".venv-airflow"/"bin"/"airflow"


NOOP = """
from datetime import datetime
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
with DAG(dag_id="trainpipe_noop", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    BashOperator(task_id="noop", bash_command="true")
"""


def timed(command: list, env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in command], cwd=PROJECT, env=env, capture_output=True, text=True)
    if done.returncode: sys.exit(f"{' '.join(map(str, command))} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return time.perf_counter() - start, done.stdout + done.stderr


def stamp(pattern: str, log: str) -> datetime:
    return datetime.fromisoformat(re.search(rf"^(\S+Z) .*{pattern}", log, re.M).group(1).replace("Z", "+00:00"))


def airflow_run(home: Path, env: dict, dag: str) -> tuple[float, float]:
    "(Airflow's start-up, the DAG run) in seconds."
    started = datetime.now().astimezone()
    _, log = timed([AIRFLOW, "dags", "test", dag], env)
    if not re.search(r"DagRun Finished: .*state=success", log): sys.exit(f"the DAG run failed:\n{log[-3000:]}")
    first = stamp(r"\[DAG TEST\] starting task_id=", log)
    return (first - started).total_seconds(), (stamp("DagRun Finished", log) - first).total_seconds()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the monitor measurement")
    args = parser.parse_args()
    if not AIRFLOW.exists(): sys.exit(f"{AIRFLOW} is missing: make airflow")
    work = Path(tempfile.mkdtemp(prefix="trainpipe-orch-"))
    from mlflow import MlflowClient
    template = work/"template.db"
    MlflowClient(f"sqlite:///{template}").search_experiments()
    def store(name: str) -> str:
        shutil.copy(template, work/f"{name}.db")
        return f"sqlite:///{work/name}.db"
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "TRAINPIPE_FORK_SERVER")}

    run_s, _ = timed([BIN/"trainpipe", "run", "configs/default.yaml", "--runs-dir", work/"runs-run", "--tracking-uri", store("run")], env)

    home = work/"airflow"
    af_env = {**env, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(home/"dags"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    timed([BIN/"trainpipe", "export", "airflow", "configs/default.yaml", "--out", home/"dags", "--runs-dir", work/"runs-airflow",
           "--tracking-uri", store("airflow")], env)
    migrate_s, _ = timed([AIRFLOW, "db", "migrate"], af_env)
    (home/"dags"/"noop.py").write_text(NOOP)
    noop_start_s, noop_s = airflow_run(home, af_env, "trainpipe_noop")
    startup_s, dag_s = airflow_run(home, af_env, "trainpipe_default")
    startup2_s, dag2_s = airflow_run(home, af_env, "trainpipe_default")

    kfp_s, _ = timed([BIN/"trainpipe", "export", "kubeflow", "configs/default.yaml", "--out", work/"pipeline.yaml",
                      "--runs-dir", work/"runs-kfp", "--tracking-uri", store("kfp"), "--run-local"], env)
    shutil.rmtree(work, ignore_errors=True)

    print(f"{'measurement':<44} {'seconds':>8} {'ratio':>7}  goal")
    print(f"{'trainpipe run (cold)':<44} {run_s:>8.2f} {1:>7.2f}")
    net = dag_s - noop_s
    print(f"{'airflow dags test: DAG run (cold)':<44} {dag_s:>8.2f} {dag_s / run_s:>7.2f}")
    print(f"{'  less Airflow start-up (the one-task DAG run)':<44} {net:>8.2f} {net / run_s:>7.2f}  <= 1.5x: {'yes' if net / run_s <= 1.5 else 'NO'}")
    print(f"{'  Airflow start-up: the one-task DAG run':<44} {noop_s:>8.2f}")
    print(f"{'  Airflow start-up: before its first task':<44} {startup_s:>8.2f}")
    print(f"{'  airflow db migrate (once per Airflow home)':<44} {migrate_s:>8.2f}")
    print(f"{'airflow dags test: DAG run, all cached':<44} {dag2_s:>8.2f} {dag2_s / run_s:>7.2f}")
    print(f"{'kfp.local run of the compiled pipeline (cold)':<44} {kfp_s:>8.2f} {kfp_s / run_s:>7.2f}")
    sys.stdout.flush()
    subprocess.run([sys.executable, str(PROJECT/"benchmarks"/"monitor_bench.py"), "--rows", str(args.rows)], check=True)


if __name__ == "__main__":
    main()
