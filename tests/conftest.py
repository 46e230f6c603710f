"""Shared fixtures: the project, real MLflow stores and servers, and the `trainpipe` command line (in this process, or as the real console script)."""
import contextlib
import io
import json
import os
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from trainpipe.kernels import SERVER_VARIABLE

PROJECT = Path(__file__).resolve().parent.parent
TRAINPIPE = Path(sys.executable).parent/"trainpipe"  # the console script settings.ini declares

# One thread per kernel for torch's and BLAS's parallel loops: the suite's two workers already keep both cores busy, and
# a network in each worker with a thread per core spends its time spinning on the other's core. Set before anything
# imports torch, for this process, its fork servers and every process it starts; a value given from outside is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")


SLOW_FIRST = ["test_hardening.py", "test_run.py", "test_serve.py", "test_text_images.py", "test_docs.py", "test_features.py",
              "test_sweep.py", "test_resume.py", "test_concurrency.py", "test_browser.py", "test_tune.py", "test_serve_parity.py",
              "test_neural.py", "test_colab.py", "test_configs.py", "test_promotion.py", "test_monitor.py", "test_notebooks.py",
              "test_stage_limits.py", "test_failures.py"]  # by their time in `make test`


def pytest_collection_modifyitems(items):
    """Start the slowest files first, so that with two workers (`make test`) the last file to finish is a short one. (xdist
    hands out files by their number of tests instead, unless given --no-loadscope-reorder, as `make test` does.)"""
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: the other files keep their order


@pytest.fixture(scope="session")
def project() -> Path:
    return PROJECT


@pytest.fixture(scope="session", autouse=True)
def fork_server(request):
    """One fork server per test worker for the `trainpipe` processes the tests start, as a sweep gives its points: their
    kernels start warm without each run importing the libraries again. A run given `OWN_FORK_SERVER` keeps the default.
    The fast tier (`-m fast`) starts no pipeline, so no server either."""
    from trainpipe.config import load_config
    from trainpipe.kernels import ForkServer, forks_here, server_modules
    from trainpipe.pipeline import find_stages
    if not forks_here() or request.config.option.markexpr == "fast":
        yield None
        return
    stages = find_stages(load_config(PROJECT/"configs"/"default.yaml", project=PROJECT), PROJECT/"nbs")
    with ForkServer.start(server_modules([s.notebook for s in stages], PROJECT/"trainpipe"), PROJECT/"nbs") as forks:
        os.environ[SERVER_VARIABLE] = forks.address
        try: yield forks
        finally: os.environ.pop(SERVER_VARIABLE, None)


OWN_FORK_SERVER = {SERVER_VARIABLE: ""}  # for a run that starts its own fork server, as `trainpipe run` does outside a sweep


@pytest.fixture(scope="session")
def docs_site() -> Path:
    """The site as `make docs` builds it, for the docs tests and the browser's (its executed notebooks and pages are reused
    when nothing they depend on changed; two workers asking at once build it one after the other)."""
    done = subprocess.run([sys.executable, str(PROJECT/"docs"/"build.py")], cwd=PROJECT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    return PROJECT/"_docs"


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    "A sqlite MLflow store with its schema created once; each test gets a copy (migrations take seconds)."
    from mlflow import MlflowClient
    db = tmp_path_factory.mktemp("template")/"mlflow.db"
    MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


def store_in(folder: Path, migrated_db: Path) -> str:
    "The tracking URI of a copy of the migrated store in `folder` (for module fixtures, which cannot use `store`)."
    shutil.copy(migrated_db, folder/"mlflow.db")
    return f"sqlite:///{folder/'mlflow.db'}"


@pytest.fixture
def store(tmp_path, migrated_db) -> str:
    "The tracking URI of a fresh, real sqlite MLflow store in this test's folder."
    shutil.copy(migrated_db, tmp_path/"mlflow.db")
    return f"sqlite:///{tmp_path/'mlflow.db'}"


def trainpipe(*args, cwd=PROJECT, env=None, process=False, timeout=600) -> subprocess.CompletedProcess:
    """Run the `trainpipe` command line with this folder and environment (less any MLFLOW_TRACKING_URI of the test's own).

    By default in this process: `trainpipe.cli.main`, all that the console script runs, with its output captured. A run's
    libraries (MLflow, scikit-learn, papermill) are then imported once per test worker instead of once per command, about
    4 s of CPU each time on the two cores the whole suite shares. `process=True` starts the real console script, for the
    tests where a process of its own is the point (what it prints as it exits, a SIGKILL, runs at once)."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {k: str(v) for k, v in (env or {}).items()}
    if process:
        return subprocess.run([str(TRAINPIPE), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    from trainpipe.cli import main
    saved, here, out, err = dict(os.environ), os.getcwd(), io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try: code = main(list(map(str, args)))
            except SystemExit as e:  # argparse's refusals, as the console script's exit
                if isinstance(e.code, str): print(e.code, file=sys.stderr)
                code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
            except Exception:  # what the console script would print on its way out
                traceback.print_exc()
                code = 1
    finally:
        if "mlflow" in sys.modules:  # loading a registered model (serve, predict, monitor) sets MLflow's URI for the whole
            sys.modules["mlflow"].set_tracking_uri(None)  # process; no test sets one, so back to none: the variable rules again
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["trainpipe", *map(str, args)], code or 0, out.getvalue(), err.getvalue())


def failing_project(root: Path, retries: int = 0) -> Path:
    "A project whose one stage, `boom`, counts its attempts in the run folder and always fails; configs/boom.yaml runs it."
    import nbformat
    (root/"nbs").mkdir(parents=True)
    (root/"configs").mkdir()
    (root/"settings.ini").write_text((PROJECT/"settings.ini").read_text())
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("run_dir = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from pathlib import Path\nwith open(Path(run_dir)/'attempts', 'a') as f: f.write('x')"),
                nbformat.v4.new_code_cell("raise RuntimeError('the boom stage always fails')")]
    nbformat.write(nb, root/"nbs"/"10_boom.ipynb")
    (root/"configs"/"boom.yaml").write_text(f"experiment: boom\npipeline:\n  stages: [boom]\n  retries: {retries}\n")
    return root


def last_json(stdout: str) -> dict:
    "The JSON object on the last line of stdout."
    return json.loads(stdout.strip().splitlines()[-1])


def shown(notebook: Path) -> tuple[int, str]:
    "How many images an executed notebook shows, and the text it printed."
    cells = json.loads(notebook.read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c["outputs"]]
    return sum("image/png" in o.get("data", {}) for o in outputs), "".join("".join(o.get("text", "")) for o in outputs)


def mlflow_run_id(result: dict, timeout: float = 300) -> str:
    "The MLflow run of a `trainpipe run --json` result; for a fully cached run, once its background recorder has logged it."
    if result["mlflow_run_id"]: return result["mlflow_run_id"]
    # the recorder's last step is removing tracking.json (after it wrote the run id into run.json): wait on that event
    pending, deadline = Path(result["run_dir"])/"tracking.json", time.monotonic() + timeout
    while pending.exists():
        assert time.monotonic() < deadline, f"run {result['run_id']} was not recorded in MLflow within {timeout:g}s"
        time.sleep(0.2)
    return json.loads((Path(result["run_dir"])/"run.json").read_text())["mlflow_run_id"]


@contextlib.contextmanager
def mlflow_server(command: str, *args, cwd: Path, timeout: float = 600):  # a limit for a hung server, not a wait
    "A real `mlflow ui` or `mlflow server` on a free 127.0.0.1 port; yields its base URL, stops it afterwards."
    # two worker processes, not MLflow's default four: still several writers behind one store, and two fewer start-ups
    # (each imports MLflow's server) on a two-core machine; and no job runner, which MLflow 3 starts beside the server
    # with seven Huey consumer processes for its GenAI jobs (trainpipe uses none): eight more MLflow imports
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent/"mlflow"), command, *map(str, args), "--workers", "2",
                             "--host", "127.0.0.1", "--port", str(port)],
                            cwd=cwd, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{base}/health", timeout=2).status == 200: break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, f"mlflow {command} did not start"
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, body=None, content_type: str = "application/json", headers: dict | None = None, method: str | None = None):
    "Status, headers and body (JSON when it parses) of one HTTP request."
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={**({"Content-Type": content_type} if data is not None else {}), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as r: status, head, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e: status, head, raw = e.code, e.headers, e.read()
    try: return status, head, json.loads(raw)
    except ValueError: return status, head, raw.decode()


@contextlib.contextmanager
def server(command: list[str], env: dict, ready: str | None = "/ready", timeout: float = 120):
    "A server process on a free loopback port, waited for (`ready` 200, or any answer when None); its URL and process."
    port, log = free_port(), tempfile.TemporaryFile("w+")  # a file, not a pipe: a chatty server never blocks on it
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # mlflow models serve runs `uvicorn` from PATH
    proc = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], env={**os.environ, "PATH": path, **env}, cwd=PROJECT,
                            stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    proc.log = lambda: (log.seek(0), log.read())[1]
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}{ready or '/health'}", timeout=2): break
            except urllib.error.HTTPError:
                if ready is None: break
            except OSError: pass
            assert proc.poll() is None, f"{command[0]} exited: {proc.log()}"
            assert time.monotonic() < deadline, f"{' '.join(command)} was not ready in {timeout:g} s"
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try: proc.wait(timeout=30)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def project_copy(dest: Path, git: bool = False) -> Path:
    """The project's working tree (tracked and not-ignored files, as `git status` sees them) copied to `dest`, its venv
    linked as .venv, for a tool that must not change the project itself; with `git`, a fresh repository with it all staged."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PROJECT, capture_output=True,
                            text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (PROJECT/name).is_file():  # a deleted, not yet committed file is still listed
            (dest/name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT/name, dest/name)
    (dest/".venv").symlink_to(Path(sys.prefix))  # ignored by .gitignore
    if git:
        subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
        subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return dest
