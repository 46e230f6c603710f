"""Build the docs site (`make docs`): the notebooks with their outputs, the README as the home page, and the API reference.

    .venv/bin/python docs/build.py            # _proc/ (the pages Sphinx reads), then _docs/ (the site)

1. Execute. The committed notebooks carry no outputs, so the ones whose pages show results are executed into
   `_proc/.executed/`: the stage notebooks (their examples and their "Run the stage" section: tables and plots of what
   the stage did) and `EXECUTED`. Their example cells are tagged `skip-execution` for papermill; a copy without that tag
   runs here, so the pages show the examples too. Cells flagged `#| slow` or `#| cuda` (settings.ini's `tst_flags`) and
   `#| eval: false` are not run, as `nbdev_test` without `--flags`. The other notebooks are libraries whose examples are
   assertions that print nothing (`make test` runs them): they are rendered from source, so the build takes 43 s.
   The stage notebooks share one run folder (copied for each) with the outputs of the stages they read, made once by
   the runner, where each would otherwise run those stages again. A notebook's result is kept, keyed by its content,
   the package and the configs, so a second build runs only what changed. A failing cell stops the build, naming the
   notebook and the cell.
2. Tidy (`tidy`), as nbdev's docs do: the title first, `#| hide` cells and the Colab set-up cell dropped, directive
   lines stripped, cells before the title and `jupyter.source_hidden` ones collapsed.
3. Render with Sphinx (myst-nb, furo), settings in `docs/conf.py`, warnings as errors. Its output and myst-nb's images
   stay in `_proc/` between builds, so Sphinx writes again only the pages whose source changed (4 s when none did).

A script, not a `trainpipe` module: it builds this repository's site and no pipeline calls it; `tests/test_docs.py`
checks what it builds.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
NBS, SOURCE, SITE = PROJECT/"nbs", PROJECT/"_proc", PROJECT/"_docs"
EXECUTED_DIR, FAILED_DIR = SOURCE/".executed", SOURCE/"failed"
EXECUTED = ("77_monitor.ipynb",)  # library notebooks whose examples show a result worth executing for (a drift report)
SKIP_FLAGS = {"slow", "cuda"}  # settings.ini's tst_flags: not run, as by `nbdev_test` without --flags
CELL_TIMEOUT = 600  # seconds a cell may run: a limit for a hung cell, not a wait
_DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+):?\s*(.*?)\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BADGE = re.compile(r"\[!\[([^\]]*)\]\([^)]*\)\]\(([^)]*)\)")  # [![Open In Colab](badge.svg)](url)


class BuildError(Exception):
    "A reason the site cannot be built, in one sentence."


def directives(source: str) -> tuple[dict[str, str], str]:
    "A code cell's leading nbdev/Quarto directives (`#| export`, `#| echo: false`) by name, and the source without them."
    lines, found = source.splitlines(keepends=True), {}
    while lines and (not lines[0].strip() or _DIRECTIVE.match(lines[0])):
        if m := _DIRECTIVE.match(lines[0]): found[m[1]] = m[2]
        lines.pop(0)
    return found, "".join(lines)


def _tags(cell) -> list[str]:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


PARAMETERS_TAG = "parameters"  # papermill's (trainpipe.contract.PARAMETERS_TAG)


def _code(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _stage(nb) -> bool:
    from trainpipe.contract import is_stage_notebook
    return is_stage_notebook(nb)


# ---------------------------------------------------------------------------------------------------------------- execute
def to_execute(nb):
    "A copy of `nb` to execute: examples untagged `skip-execution`, cells nbdev_test skips tagged with it (nbclient honours it)."
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        tags = [t for t in _tags(cell) if t != "skip-execution"]  # every cell gets a tags list: papermill reads them all
        found, _ = directives(cell.source) if cell.cell_type == "code" else ({}, "")
        if SKIP_FLAGS & found.keys() or found.get("eval", "").lower() == "false": tags.append("skip-execution")
        cell.metadata["tags"] = tags
    return nb


def cache_key(path: Path) -> str:
    "What a notebook's outputs depend on: its source, the package, the configs and the shipped data's names and sizes."
    h = hashlib.sha256(path.read_bytes())
    for f in sorted([*(PROJECT/"trainpipe").glob("*.py"), *(PROJECT/"configs").glob("*")]):
        if f.is_file(): h.update(f.name.encode() + f.read_bytes())
    for f in sorted((PROJECT/"data").rglob("*")):
        if f.is_file(): h.update(f"{f.relative_to(PROJECT)}:{f.stat().st_size}".encode())
    return h.hexdigest()[:16]


def _shown(path: Path) -> str:
    "`path` as a message shows it: relative to the project when inside it."
    return str(path.relative_to(PROJECT)) if path.is_relative_to(PROJECT) else str(path)


def _failed_cell(nb) -> tuple[int, str]:
    "The failing cell of an executed notebook: its index and first line."
    for i, cell in enumerate(c for c in nb.cells if "injected-parameters" not in _tags(c)):  # numbered as in nbs/
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i, next((line.strip() for line in cell.source.splitlines() if line.strip() and not _DIRECTIVE.match(line)), "")
    return -1, ""


class Executor:
    """Executes notebooks, `jobs` at a time, each in a kernel of its own in `nbs/` (as JupyterLab and nbdev_test run them).

    The kernels come from trainpipe's `KernelPool`, as a pipeline run's do: on Linux forked from one server that imported
    the notebooks' libraries once, so that no kernel spends its first seconds importing pandas, scikit-learn and MLflow."""
    def __init__(self, notebooks: list[Path], jobs: int, failed: Path = FAILED_DIR):
        from trainpipe.kernels import SERVER_VARIABLE, KernelPool
        self.slots, self.failed = asyncio.Semaphore(jobs), failed
        self._upstream: asyncio.Task | None = None
        self.pool = KernelPool(NBS, package=PROJECT/"trainpipe", notebooks=notebooks)
        self.env = {**os.environ, **({SERVER_VARIABLE: self.pool.forks.address} if self.pool.forks else {})}  # the upstream run's too

    async def upstream(self) -> Path:
        "A run folder with the outputs of every stage a stage notebook reads, made once by the runner (on the default config)."
        if self._upstream is None: self._upstream = asyncio.ensure_future(self._make_upstream())
        return await self._upstream

    async def _make_upstream(self) -> Path:
        code = ("from trainpipe.config import load_config, upstream; from trainpipe.core import find_project_dir; "
                "from trainpipe.pipeline import upstream_run\n"
                "g = load_config(find_project_dir()/'configs'/'default.yaml').pipeline.graph()\n"
                "print(upstream_run(max(g, key=lambda s: len(upstream(g, s)))))")
        async with self.slots:
            proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, cwd=PROJECT, env=self.env,
                                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = await proc.communicate()
        if proc.returncode:
            raise BuildError(f"the stages the stage notebooks read failed on configs/default.yaml: {err.decode().strip().splitlines()[-1:]}; "
                             "run `.venv/bin/trainpipe run` to see why")
        return Path(out.decode().strip().splitlines()[-1])

    async def run(self, path: Path, runs: Path):
        "The executed notebook `path`, from the cache when nothing it depends on changed."
        import nbformat
        done = EXECUTED_DIR/f"{path.stem}.{cache_key(path)}.ipynb"
        if done.exists(): return nbformat.read(done, as_version=4), True
        nb = to_execute(nbformat.read(path, as_version=4))
        if _stage(nb) and "upstream_run(" in _code(nb):  # run by hand, it would run the stages before it first: give it their outputs
            import nbformat.v4
            run_dir = runs/path.stem
            shutil.copytree(await self.upstream(), run_dir)
            at = next(i for i, c in enumerate(nb.cells) if PARAMETERS_TAG in _tags(c)) + 1  # as papermill injects parameters
            nb.cells.insert(at, nbformat.v4.new_code_cell(f"run_dir = {str(run_dir)!r}", metadata={"tags": ["injected-parameters"]}))
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, DeadKernelError
        async with self.slots:
            began, kernel = time.perf_counter(), self.pool.take(path.stem, path)
            try:
                client = NotebookClient(nb, km=await asyncio.to_thread(kernel.ready), timeout=CELL_TIMEOUT,
                                        resources={"metadata": {"path": str(NBS)}})
                await client.async_execute()
            except (CellExecutionError, DeadKernelError, TimeoutError, RuntimeError) as e:
                self.failed.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, self.failed/path.name)
                i, first = _failed_cell(nb)
                where = f"cell {i} (`{first[:70]}`)" if i >= 0 else "a cell"
                why = next((line for line in reversed(_ANSI.sub("", str(e)).strip().splitlines()) if line.strip()), type(e).__name__)
                raise BuildError(f"{_shown(path)} failed in {where}: {why.strip()}; the executed notebook, with the traceback, "
                                 f"is {_shown(self.failed/path.name)}") from None
            finally: await asyncio.to_thread(self.pool.release, kernel)
        print(f"  executed {path.name} in {time.perf_counter() - began:.0f}s", flush=True)
        EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
        for old in EXECUTED_DIR.glob(f"{path.stem}.*.ipynb"): old.unlink()
        tmp = done.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        tmp.replace(done)  # atomic: a build stopped halfway never leaves a half-written notebook to be trusted
        return nb, False


async def execute_all(paths: list[Path], jobs: int, failed: Path = FAILED_DIR) -> dict[str, object]:
    "The executed notebooks by name; the first failure cancels the others and is raised (its notebook saved in `failed`)."
    runs = Path(tempfile.mkdtemp(prefix="trainpipe-docs-"))
    executor = Executor(paths, jobs, failed)
    tasks = {p.name: asyncio.ensure_future(executor.run(p, runs)) for p in paths}
    try:
        await asyncio.gather(*tasks.values())
        return {name: t.result()[0] for name, t in tasks.items()}
    finally:
        for t in tasks.values(): t.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await asyncio.to_thread(executor.pool.close)
        shutil.rmtree(runs, ignore_errors=True)
        if executor._upstream is not None and executor._upstream.done() and not executor._upstream.cancelled() \
                and not executor._upstream.exception():
            shutil.rmtree(executor._upstream.result().parent, ignore_errors=True)  # upstream_run's temporary runs folder


# ------------------------------------------------------------------------------------------------------------------- tidy
def tidy(nb):
    "`nb` as a page: the title first, hidden and set-up cells out, directives stripped, set-up code collapsed."
    from trainpipe.colab import BADGE_TAG, SETUP_TAG
    nb, cells = copy.deepcopy(nb), []
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.lstrip().startswith("# ")), 0)
    for i, cell in enumerate(nb.cells):
        tags = [t for t in _tags(cell) if t != "skip-execution"]
        if {SETUP_TAG, "injected-parameters", "remove-cell"} & set(tags): continue
        if BADGE_TAG in tags: cell.source = _BADGE.sub(r"[\1](\2)", cell.source)  # a link: no image fetched from Colab's site
        if cell.cell_type == "code":
            found, cell.source = directives(cell.source)
            if "hide" in found or found.get("include", "").lower() == "false": continue
            if not cell.source.strip() and not cell.get("outputs"): continue  # `#| default_exp` alone, an empty cell
            hidden = cell.metadata.get("jupyter", {})
            if found.get("echo", "").lower() == "false": tags.append("remove-input")
            elif i < title or hidden.get("source_hidden") or found.get("code-fold", "").lower() in ("true", "show"): tags.append("hide-input")
            if found.get("output", "").lower() == "false": tags.append("remove-output")
            elif hidden.get("outputs_hidden"): tags.append("hide-output")
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        cell.metadata["tags"] = tags
        cells.append((0 if i == title else 1, cell))
    nb.cells = [c for _, c in sorted(cells, key=lambda x: x[0])]  # stable: the title cell first, the rest in order
    return nb


# ----------------------------------------------------------------------------------------------------------------- pages
def home_page(stages: list[str], library: list[str]) -> str:
    "The README with the site's navigation: the stage notebooks, the library notebooks and the API reference."
    readme = (PROJECT/"README.md").read_text()
    toc = lambda caption, entries: f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
    return (readme + toc("Pipeline stages", [f"nbs/{n}" for n in stages]) + toc("Library", [f"nbs/{n}" for n in library])
            + toc("Reference", ["api/index"]))


def api_pages() -> dict[str, str]:
    "One page per module of the package (its exported names), and an index of them, in the order of their notebooks."
    import trainpipe  # noqa: F401, the package must import for autodoc
    modules = sorted((p.stem for p in (PROJECT/"trainpipe").glob("*.py") if p.stem not in ("__init__", "_modidx")),
                     key=_module_order)
    pages = {f"trainpipe.{m}.rst": f"trainpipe.{m}\n{'=' * len(f'trainpipe.{m}')}\n\n.. automodule:: trainpipe.{m}\n" for m in modules}
    pages["index.rst"] = ("API reference\n=============\n\nThe exported functions and classes of each module, in the order of "
                          "their notebooks (each module imports only from those before it).\n\n.. toctree::\n   :maxdepth: 1\n\n"
                          + "".join(f"   trainpipe.{m}\n" for m in modules))
    return pages


def write_pages(pages: dict[str, str | bytes]):
    "Make `_proc/` hold exactly `pages` (path: content), rewriting only the changed files, so Sphinx reads only those again."
    keep = {".executed", ".doctrees", "html", "jupyter_execute"}  # built by Sphinx and myst-nb: kept, so an unchanged page is not written again
    for path in sorted(SOURCE.rglob("*"), reverse=True):  # files before their folders
        rel = path.relative_to(SOURCE)
        if rel.parts[0] in keep: continue
        if path.is_file() and rel.as_posix() not in pages: path.unlink()
        elif path.is_dir() and not any(path.iterdir()): path.rmdir()
    for rel, content in pages.items():
        path, data = SOURCE/rel, content.encode() if isinstance(content, str) else content
        if path.is_file() and path.read_bytes() == data: continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _module_order(name: str) -> tuple:
    "A module's place: the notebook it comes from (`# %% ../nbs/10_data.ipynb`), so the pages follow the notebooks."
    head = (PROJECT/"trainpipe"/f"{name}.py").read_text()[:2000]
    m = re.search(r"nbs/(\d+)_", head)
    return (int(m[1]) if m else 999, name)


# ----------------------------------------------------------------------------------------------------------------- build
def build(jobs: int = 2, strict: bool = True) -> Path:
    "Execute, tidy and render; the site's folder."
    import nbformat
    began = time.perf_counter()
    notebooks = sorted(p for p in NBS.glob("*.ipynb") if p.name != "index.ipynb")  # index.ipynb is the README: the home page
    read = {p.name: nbformat.read(p, as_version=4) for p in notebooks}
    stages = [n for n, nb in read.items() if _stage(nb)]
    run = [p for p in notebooks if p.name in stages or p.name in EXECUTED]
    for name in EXECUTED:
        if name not in read: raise BuildError(f"docs/build.py's EXECUTED names {name}, which is not in nbs/; remove it or add the notebook")
    shutil.rmtree(FAILED_DIR, ignore_errors=True)
    from trainpipe.kernels import SERVER_VARIABLE
    for name in ("MLFLOW_TRACKING_URI", SERVER_VARIABLE): os.environ.pop(name, None)  # never the user's tracking store
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # two kernels share two cores: no thread per core each
    print(f"docs: executing {len(run)} notebooks ({', '.join(p.stem for p in run)}), {jobs} at a time", flush=True)
    executed = asyncio.run(execute_all(run, jobs))
    pages = {f"nbs/{name}": nbformat.writes(tidy(executed.get(name, nb))) for name, nb in read.items()}
    pages |= {f"api/{name}": text for name, text in api_pages().items()}
    pages["index.md"] = home_page(stages, [n for n in read if n not in stages])
    screens = PROJECT/"docs"/"screens"  # the README's pictures
    pages |= {f"docs/screens/{p.name}": p.read_bytes() for p in sorted(screens.glob("*")) if p.is_file()}
    write_pages(pages)
    print(f"docs: executed in {time.perf_counter() - began:.0f}s; rendering with Sphinx", flush=True)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(PROJECT/"docs"), "-d", str(SOURCE/".doctrees"),
               *(["-W", "--keep-going"] if strict else []), str(SOURCE), str(SOURCE/"html")]
    # Sphinx renders into _proc/html, not _docs/ itself: myst-nb writes its images beside the output folder, which
    # would be the project's root; and a failed build leaves the last good site in place.
    if subprocess.run(command, cwd=PROJECT).returncode:
        raise BuildError("Sphinx could not render the site (its warnings, above, are errors here); fix what they name and run `make docs` again")
    fresh = SITE.with_name(SITE.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(SOURCE/"html", fresh)
    shutil.rmtree(SITE, ignore_errors=True)
    fresh.rename(SITE)
    missing = [n for n in read if not (SITE/"nbs"/f"{Path(n).stem}.html").exists()]
    if missing: raise BuildError(f"the site has no page for {', '.join(missing)}; check docs/conf.py's exclude_patterns")
    print(f"docs: {SITE.relative_to(PROJECT)}/index.html, {len(read)} notebook pages and the API reference in "
          f"{time.perf_counter() - began:.0f}s", flush=True)
    return SITE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once (default 2)")
    parser.add_argument("--no-strict", dest="strict", action="store_false", help="do not stop on a Sphinx warning")
    args = parser.parse_args(argv)
    if args.jobs < 1: parser.error(f"--jobs must be at least 1; got {args.jobs}")
    from filelock import FileLock
    try:
        with FileLock(str(PROJECT/".docs.lock")):  # one build at a time: two would delete and write the same folders
            build(args.jobs, args.strict)
    except BuildError as e:
        print(f"docs: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
