"""What a person sees, in a real browser (Playwright driving Debian's Chromium): a stage notebook run to the end in
JupyterLab, a run's HTML report, and the docs site. `make test` runs them with the others, `make test-browser` alone;
`make screens` also saves their screenshots to docs/screens/ for the README. Skipped where Chromium or Playwright is not
installed."""
import contextlib
import functools
import http.server
import inspect
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import PROJECT, free_port, last_json, project_copy, store_in, trainpipe

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("TRAINPIPE_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set TRAINPIPE_CHROMIUM)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is the browser extra: pip install -e '.[browser]'")

# Root runs Chromium without its sandbox; the rest stops Chromium's own calls home (updates, sync, field trials), which a
# closed network refuses and which a test has no business making.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 800}
STAGES = ["10_data", "20_features", "31_train", "40_evaluate", "50_register"]  # the default pipeline's stage notebooks
PLOTTED = {"10_data", "20_features", "40_evaluate"}  # the stages with a picture of what they did; the others show tables
LIMIT_MS = 600_000  # a limit for a hung page or kernel, not a wait: every wait below is on an event
sync_api.expect.set_options(timeout=LIMIT_MS)  # expect() retries until true: give it the same limit, not its 5 s default


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A 1280x800 page that records its console errors and uncaught exceptions (`page.errors`). Requests to anything but
    127.0.0.1 (a badge, a web font) are answered empty by the test, which talks to nothing else: `page.outside` lists them."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(LIMIT_MS)  # clicks and page loads wait on the page, however loaded the machine: no 30 s default
    context.set_default_navigation_timeout(LIMIT_MS)
    page = context.new_page()
    page.errors, page.outside = [], []
    page.on("console", lambda m: m.type == "error" and page.errors.append(f"console: {m.text} ({m.location.get('url')})"))
    page.on("pageerror", lambda e: page.errors.append(f"uncaught: {e}"))

    def outside(route):
        page.outside.append(route.request.url)
        route.fulfill(status=204, body="")
    page.route(re.compile(r"^(?!(http://127\.0\.0\.1[:/]|file:|data:|blob:))"), outside)
    yield page
    context.close()


def screenshot(page, name: str, tmp_path: Path) -> Path:
    "A small PNG of the viewport: in docs/screens/ when TRAINPIPE_SCREENS names it (`make screens`), else in the test's folder."
    folder = PROJECT/os.environ["TRAINPIPE_SCREENS"] if os.environ.get("TRAINPIPE_SCREENS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    raw, final = tmp_path/f"{name}.raw.png", folder/f"{name}.png"
    page.screenshot(path=raw, scale="css")
    from PIL import Image  # matplotlib's dependency: a 256-colour palette makes a screenshot a third of its size
    with Image.open(raw) as im:
        im.convert("RGB").quantize(colors=256).save(final.with_suffix(".tmp.png"), optimize=True)
    os.replace(final.with_suffix(".tmp.png"), final)
    assert final.stat().st_size < 400_000, f"{final} is {final.stat().st_size} bytes"
    return final


@contextlib.contextmanager
def http_server(folder: Path):
    "Python's http.server on a free 127.0.0.1 port, serving `folder` from a thread; yields its base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try: yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def no_overflow(page) -> tuple[int, int]:
    "The page's width and the window's: a page wider than its window scrolls sideways."
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


# --- JupyterLab ---------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def jupyter_lab(root: Path, home: Path):
    "A real `jupyter lab` on 127.0.0.1 serving `root`, with its own settings; yields the URL with its token once it says so."
    port, token = free_port(), secrets.token_hex(16)
    settings = home/"settings"/"@jupyterlab"/"apputils-extension"
    settings.mkdir(parents=True)  # no news or update checks: they would ask the internet, and pop up over the notebook
    (settings/"notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(home/"settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home/"workspaces"),
           "JUPYTER_RUNTIME_DIR": str(home/"runtime")}
    log = home/"lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent/"jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
                                 f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                                 f"--ServerApp.root_dir={root}", "--LabApp.extension_manager=readonly",
                                 "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the test can see when the kernel is ready
                                 *(["--allow-root"] if os.geteuid() == 0 else [])],
                                cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + LIMIT_MS/1000
    try:
        while f"{url}/lab" not in log.read_text():  # the server's own line saying where it listens
            assert proc.poll() is None, f"jupyter lab exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"jupyter lab did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield url, token
    finally:
        proc.terminate()
        try: proc.wait(timeout=60)
        except subprocess.TimeoutExpired: proc.kill()


def title_of(notebook: Path) -> str:
    "The notebook's `# Title`."
    cells = json.loads(notebook.read_text())["cells"]
    return next(line[2:].strip() for c in cells if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines() if line.startswith("# "))


# The notebook loaded and its kernel connected and idle: before this, Lab can show an idle kernel and drop a Run All.
READY = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget, s = w && w.sessionContext;
    const k = s && s.isReady && s.session && s.session.kernel;
    return !!(w.context && w.context.isReady && k && k.connectionStatus === 'connected' && k.status === 'idle'); }"""
PROMPTS = "[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt')].map(e => e.textContent.trim())"
ERRORS = '.jp-NotebookPanel [data-mime-type="application/vnd.jupyter.error"], .jp-NotebookPanel .jp-OutputArea-output.jp-mod-error'
STDERR = '.jp-NotebookPanel [data-mime-type="application/vnd.jupyter.stderr"]'


def test_stage_notebook_opens_on_its_title_and_runs_to_the_end_in_jupyterlab(page, tmp_path):
    "10_data in JupyterLab: the title is on the first screen; Run > Run All Cells numbers every code cell, no error output."
    notebook = "nbs/10_data.ipynb"
    root = project_copy(tmp_path/"project")  # whatever the notebook or Lab writes stays in the copy
    (tmp_path/"lab").mkdir()
    with jupyter_lab(root, tmp_path/"lab") as (url, token):
        page.goto(f"{url}/lab/tree/{notebook}?token={token}")
        page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=LIMIT_MS)  # kernel started
        page.keyboard.press("Control+b")  # the file browser closed: the notebook as wide as a reader would have it
        title = page.locator(".jp-NotebookPanel .jp-MarkdownOutput h1", has_text=title_of(root/notebook)).first
        sync_api.expect(title).to_be_in_viewport()  # no scrolling past set-up cells to find what the notebook is about

        page.wait_for_function(READY, timeout=LIMIT_MS, polling=200)
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.get_by_text("Run All Cells", exact=True).click()
        # done: no cell queued or running, and the last one numbered (or an error stopped the run)
        page.wait_for_function(f"""() => {{ const p = {PROMPTS};
            return p.length && !p.some(t => t.includes('*')) && (/\\d/.test(p[p.length - 1]) || document.querySelector('{ERRORS}')) }}""",
                               timeout=LIMIT_MS, polling=500)
        page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=LIMIT_MS)
        wide = page.evaluate("[...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .cm-content')]"
                             ".filter(e => e.getBoundingClientRect().right > e.closest('.jp-Cell').getBoundingClientRect().right + 1)"
                             ".map(e => e.innerText.slice(0, 60))")
        assert not wide, f"code cut off at the notebook's right edge (make setup has Lab wrap long lines): {wide}"
        errors = page.locator(ERRORS).all_inner_texts()
        assert not errors, "error output in JupyterLab:\n" + "\n".join(errors)
        page.keyboard.press("Control+s")  # saved, to read the execution counts of the collapsed cells too (Lab shows none)
        page.wait_for_selector(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty", state="detached", timeout=LIMIT_MS)
        cells = [c for c in json.loads((root/notebook).read_text())["cells"] if c["cell_type"] == "code"]
        unrun = [c["source"][:80] for c in cells if not isinstance(c.get("execution_count"), int)]
        assert not unrun, f"{len(unrun)} code cells not run: {unrun}"
        stderr = "\n".join(page.locator(STDERR).all_inner_texts())
        assert "IProgress not found" not in stderr, stderr  # tqdm without ipywidgets: a pink warning box per progress bar
        page.evaluate("document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer').scrollTop = 0")
        screenshot(page, "jupyterlab", tmp_path)


# --- The run report ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_run(tmp_path_factory, migrated_db) -> dict:
    "One run of the default pipeline (the browser tests run apart from the others, so they make their own)."
    tmp = tmp_path_factory.mktemp("browser-run")
    proc = trainpipe("run", "configs/default.yaml", "--json", "--tracking-uri", store_in(tmp, migrated_db), "--runs-dir", tmp/"runs")
    assert proc.returncode == 0, proc.stderr
    return last_json(proc.stdout)


def test_run_report_leads_with_the_run_and_fits_the_window(page, default_run, tmp_path):
    "evaluate/report.html: a header naming the run id, no console error, nothing wider than the window."
    report = Path(default_run["run_dir"])/"evaluate"/"report.html"
    assert report.is_file(), f"no {report}"
    with http_server(report.parent) as url:
        page.goto(f"{url}/report.html", wait_until="load")
        header = page.locator("#report-header")
        sync_api.expect(header).to_contain_text(default_run["run_id"])
        sync_api.expect(header).to_be_in_viewport()  # the run comes first, not after the method's prose
        width, window = no_overflow(page)
        assert width <= window, f"the report is {width}px wide in a {window}px window: something overflows to the right"
        assert not page.errors, page.errors
        screenshot(page, "report", tmp_path)


# --- The docs site -----------------------------------------------------------------------------------------------

@pytest.fixture
def docs(request) -> Path:
    "The site in TRAINPIPE_DOCS if set, else the project's own, as `make docs` builds it."
    return Path(os.environ["TRAINPIPE_DOCS"]) if os.environ.get("TRAINPIPE_DOCS") else request.getfixturevalue("docs_site")


def nav_links(page) -> list[dict]:
    "The site navigation's links: each link's absolute URL (no #fragment), its href as written, its text."
    return page.evaluate("""() => [...document.querySelectorAll(
        'nav a[href], [role=navigation] a[href], .sidebar-tree a[href], .toctree-wrapper a[href], .md-nav a[href]')]
        .map(a => ({url: a.href.split('#')[0], href: a.getAttribute('href'), text: a.textContent.trim()}))""")


def test_docs_site_has_every_stage_with_its_plot_and_the_api(page, docs, tmp_path):
    "_docs/ (make docs): the home page links each stage page, each shows a loaded plot, the API page a signature; no console error."
    from trainpipe.config import load_config
    assert (docs/"index.html").is_file(), f"no {docs}/index.html"
    with http_server(docs) as url:
        for stage in STAGES:
            page.goto(f"{url}/index.html", wait_until="load")
            links = nav_links(page)
            link = next((l for l in links if re.search(rf"(^|/){stage}(\.html|/|$)", l["url"].removeprefix(url))), None)
            assert link, f"the home page's navigation has no link to the {stage} page: {links}"
            page.locator(f'a[href="{link["href"]}"]:visible').first.click()  # as a reader follows it
            page.wait_for_url(link["url"] + "*", wait_until="load", timeout=LIMIT_MS)
            images = page.evaluate("[...document.querySelectorAll('main img, article img, [role=main] img')]"
                                   ".map(i => [i.currentSrc, i.complete && i.naturalWidth > 0])")
            plot = any(loaded and "colab" not in src for src, loaded in images)
            table = page.locator("main table:visible, article table:visible").count() > 0
            assert plot or (stage not in PLOTTED and table), \
                f"{stage}: no {'plot' if stage in PLOTTED else 'plot or table'} shown on {link['url']} (images: {images})"
            if stage == "40_evaluate":  # its first plot on screen, as a reader scrolls to it
                page.locator("main img:not([src*=colab]), article img:not([src*=colab])").first.scroll_into_view_if_needed()
                screenshot(page, "docs", tmp_path)
        api = next((l for l in links if re.search(r"(^|/)api/(index\.html)?$", l["url"].removeprefix(url))), None)  # not nbs/80_api
        assert api, f"no API page in the navigation: {links}"
        page.goto(f"{url}/index.html", wait_until="load")  # from the home page, where `links` were read
        page.locator(f'a[href="{api["href"]}"]:visible').first.click()
        page.wait_for_url(api["url"] + "*", wait_until="load", timeout=LIMIT_MS)
        page.locator('article a[href$="trainpipe.config.html"]:visible').first.click()  # the index lists a page per module
        page.wait_for_url("**/trainpipe.config.html*", wait_until="load", timeout=LIMIT_MS)
        first = next(iter(inspect.signature(load_config).parameters))
        assert re.search(rf"load_config\s*\(\s*{first}\b", page.inner_text("body")), f"no load_config({first}, ...) on {api['url']}"
        width, window = no_overflow(page)
        assert width <= window, f"the API page is {width}px wide in a {window}px window"
        assert not page.errors, page.errors
