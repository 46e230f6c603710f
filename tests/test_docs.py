"""The docs site (`make docs`, docs/build.py): notebooks made into pages, a failing cell stopping the build, and the built site."""
import importlib.util
import re
from html import unescape

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import PROJECT

_spec = importlib.util.spec_from_file_location("docs_build", PROJECT/"docs"/"build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def _text(html: str) -> str:
    "What a page says, without its markup."
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html)))


@pytest.mark.fast
def test_a_notebook_becomes_a_page():
    nb = new_notebook(cells=[
        new_markdown_cell("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.example/nb)",
                          metadata={"tags": ["colab-badge"]}),
        new_code_cell("# Colab setup\nimport os", metadata={"tags": ["colab-setup"]}),
        new_code_cell("#| default_exp thing"),
        new_code_cell("#| export\nimport json"),
        new_code_cell("#| hide\nfrom fastcore.test import test_eq"),
        new_markdown_cell("# Thing\n> Does the thing"),
        new_code_cell("#|export\ndef f(x:int, # what x is\n     ): return x"),
        new_code_cell("test_eq(f(1), 1)", metadata={"tags": ["skip-execution"]}),
        new_code_cell("#| echo: false\nprint('shown without code')"),
        new_code_cell("big_setup = 1", metadata={"jupyter": {"source_hidden": True}}),
    ])
    page = build.tidy(nb)
    sources = [c.source for c in page.cells]
    assert sources == ["# Thing\n> Does the thing", "[Open In Colab](https://colab.example/nb)", "import json",
                       "def f(x:int, # what x is\n     ): return x", "test_eq(f(1), 1)", "print('shown without code')", "big_setup = 1"]
    tags = [c.metadata.get("tags", []) for c in page.cells]
    assert tags == [[], ["colab-badge"], ["hide-input"], [], [], ["remove-input"], ["hide-input"]]  # set-up before the title: collapsed


@pytest.mark.fast
def test_examples_run_and_flagged_cells_do_not():
    nb = new_notebook(cells=[new_code_cell("test_eq(1, 1)", metadata={"tags": ["skip-execution"]}),
                             new_code_cell("#| slow\nstart_a_server()"), new_code_cell("#| eval: false\nnever()"),
                             new_markdown_cell("# Title")])
    assert [c.metadata["tags"] for c in build.to_execute(nb).cells] == [[], ["skip-execution"], ["skip-execution"], []]
    assert build.directives("#| export\n#|  echo: false\n\nx = 1  #| not a directive\n") == ({"export": "", "echo": "false"}, "x = 1  #| not a directive\n")


def test_a_failing_cell_stops_the_build_naming_notebook_and_cell(tmp_path):
    path = tmp_path/"99_broken.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Broken"), new_code_cell("x = 1"), new_code_cell("#| export\nraise ValueError('no such column: colour')")],
                                metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), path)
    import asyncio
    with pytest.raises(build.BuildError) as e: asyncio.run(build.execute_all([path], 1, tmp_path/"failed"))
    assert str(e.value).startswith(f"{path} failed in cell 2 (`raise ValueError('no such column: colour')`): ValueError: no such column: colour;")
    assert (tmp_path/"failed"/path.name).exists()


PLOTS = ["10_data", "20_features", "35_tune", "40_evaluate"]  # stage pages with a plot on the default config


def test_the_site_has_every_notebook_the_readme_and_the_api(docs_site):
    site = docs_site
    from trainpipe.contract import is_stage_notebook
    home = (site/"index.html").read_text()
    readme_title = (PROJECT/"README.md").read_text().splitlines()[0].removeprefix("# ")
    assert re.search(rf"<h1>{re.escape(readme_title)}<a", home), "the home page is not the README"
    notebooks = sorted(p for p in (PROJECT/"nbs").glob("*.ipynb") if p.name != "index.ipynb")
    stages = [p.stem for p in notebooks if is_stage_notebook(nbformat.read(p, as_version=4))]
    assert set(PLOTS) <= set(stages)
    for nb in notebooks:
        page = (site/"nbs"/f"{nb.stem}.html").read_text()
        assert f'href="nbs/{nb.stem}.html"' in home, f"the navigation has no link to {nb.stem}"
        shown = [unescape(re.sub(r"<[^>]+>", "", code)).lstrip() for code in re.findall(r"<pre>(.*?)</pre>", page, re.S)]
        assert not [c for c in shown if c.startswith("#|")] and "tag_skip-execution" not in page, f"{nb.stem}: nbdev directives or test tags left on the page"
        if nb.stem in stages:  # executed: what the stage did, as a plot or a table
            plots = re.findall(r'<img[^>]+src="\.\./_images/[^"]+\.png"', page)
            assert plots or "<table" in page, f"{nb.stem} shows no plot and no table"
            if nb.stem in PLOTS: assert plots, f"{nb.stem} shows no plot"
            assert "Run the stage" in page
    api = _text((site/"api"/"trainpipe.data.html").read_text())
    assert "check_target(df: DataFrame, target: str) → tuple[DataFrame, int]" in api
    assert "The rows with a target value, and how many rows were dropped for lacking one." in api
    assert "target – the column to predict" in api  # the docments comment, as a parameter's description
    assert "load_config(" in _text((site/"api"/"trainpipe.config.html").read_text())
