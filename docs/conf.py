"""Sphinx settings for the docs site; `docs/build.py` (what `make docs` runs) renders `_proc/` with them into `_docs/`.

The pages are the notebooks, executed and tidied by `docs/build.py` before Sphinx reads them, so myst-nb only renders
(`nb_execution_mode = "off"`); the API reference is autodoc over the package, with each parameter's docments comment
(nbdev's `def f(x:int, # what x is`) added to its docstring as a `:param:` field.
"""
import configparser
import inspect
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
_settings = configparser.ConfigParser()
_settings.read(PROJECT/"settings.ini")
_ini = _settings["DEFAULT"]

project = _ini.get("title", "trainpipe")
author = _ini.get("author", "")
copyright = _ini.get("copyright", "")
release = version = _ini.get("version", "")

extensions = ["myst_nb", "sphinx.ext.autodoc"]
root_doc = "index"
exclude_patterns = [".executed", ".doctrees", "failed", "html", "jupyter_execute", "**/.ipynb_checkpoints"]  # build.py's, Sphinx's and myst-nb's own
html_theme = "furo"
html_title = project
html_static_path = []
html_show_sourcelink = False

# the notebooks arrive executed: render what they hold, never run them again
nb_execution_mode = "off"
nb_merge_streams = True
nb_number_source_lines = False
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
# A notebook's headings are its story (an H3 may follow an H1), and the README's links point into the repository: not
# page-building mistakes. A missing page, an unreadable image or a broken toctree still stop the build (-W).
# The README's screenshots are taken from the built site by the browser tests, so a first build may not find them yet;
# its ```mermaid diagrams show as code (no mermaid extension is installed).
suppress_warnings = ["myst.header", "myst.xref_missing", "mystnb.unknown_mime_type", "image.not_readable",
                     "misc.highlighting_failure"]

# the API reference: the exported names of each module (its `__all__`), in source order, with signatures and docstrings
autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False  # scikit-learn's and PyTorch's docstrings are theirs to document, in their syntax
default_role = "literal"  # nbdev docstrings quote names in single backticks: show them as code
add_module_names = False


def _docments(app, what, name, obj, options, lines):
    "Add a `:param name: comment` field for each parameter documented with a docments comment and not already in the docstring."
    if what not in ("function", "method", "class") or not callable(obj): return
    from fastcore.docments import docments
    try: found = docments(obj.__init__ if what == "class" and not _is_dataclass(obj) else obj, full=False)
    except Exception: return  # no source to read (a builtin, a C extension): the docstring as it is
    text = "\n".join(lines)
    fields = [f":param {p}: {c}" for p, c in found.items() if p != "return" and c and f":param {p}:" not in text]
    if found.get("return") and ":returns:" not in text: fields.append(f":returns: {found['return']}")
    if fields: lines.extend(["", *fields])


def _is_dataclass(obj) -> bool:
    return inspect.isclass(obj) and hasattr(obj, "__dataclass_fields__")


def _foreign(app, what, name, obj, skip, options):
    "Skip a class's members that trainpipe did not write (scikit-learn's generated `set_fit_request` and the like)."
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and callable(obj) and not module.startswith("trainpipe"): return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _docments)
    app.connect("autodoc-skip-member", _foreign)
