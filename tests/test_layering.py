"""DESIGN.md's layering, checked on the source.

Every ``import`` in ``dalab/`` (late imports inside functions included) is resolved to the
module it really loads, relative forms too (``from . import zoo`` in ``dalab/train.py`` is
``dalab.zoo``, not the package ``dalab``), and checked against the table ``ALLOWED`` below.
Only ``dalab/ui`` may import UI libraries; ``app.py`` and ``pages/*.py`` may import
streamlit, numpy, the standard library and ``dalab`` (figures come from ``dalab.ui.figures``,
tensors from dalab), and the UI touches no private member or sub-network of a model.
"""
import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "dalab"
UI_LIBS = {"streamlit", "gradio", "plotly"}

# DESIGN.md, "Layers" (data -> nn -> losses -> methods -> train/runs -> zoo -> analysis ->
# bench -> cli -> ui): the dalab layers each layer may import. "__init__" is the package root
# (``from dalab import __version__``), importable by all; "device" is the bottom module
# (resolve_device, seed_everything, RNG state).
_BASE = {"__init__", "device"}
ALLOWED: dict[str, set[str]] = {
    "device": {"__init__"},                                        # torch, numpy
    "data": _BASE,                                                 # numpy, torch, sklearn
    "nn": _BASE | {"data"},                                        # torch
    "losses": _BASE | {"data", "nn"},                              # torch
    "methods": _BASE | {"data", "nn", "losses"},
    "runs": _BASE | {"data", "nn", "losses", "methods"},           # save / load one run
    "train": _BASE | {"data", "nn", "losses", "methods", "runs"},  # fit() writes runs
    "zoo": _BASE | {"data", "nn", "losses", "methods", "runs", "train"},
    "analysis": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo"},
    # the 2-D toy experiments: fit runs on array pairs
    "experiments": _BASE | {"data", "nn", "losses", "methods", "runs", "train"},
    # the public Python API (`import dalab`): above the core it re-exports
    "api": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo", "analysis"},
    # the benchmark's recipes: one per method (what `dalab bench` trains)
    "recipes": _BASE | {"methods"},
    "bench": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo", "analysis",
                      "recipes"},
    "timings": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo", "analysis"},
    # training-time sweeps on Ray: the benchmark's layer, and it reuses the benchmark's pieces
    "sweep": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo", "analysis",
                      "recipes", "bench"},
    "cli": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo", "analysis",
                    "recipes", "bench", "timings", "sweep"},
    "__main__": {"cli"},
    "ui": _BASE | {"data", "nn", "losses", "methods", "runs", "train", "zoo", "analysis",
                   "experiments", "api", "recipes", "bench", "timings", "sweep", "cli"},
}
ALLOWED["__init__"] = set()  # the root imports nothing: `import dalab` stays cheap
# ...except its __getattr__ (PEP 562), which loads the public API on first use of
# dalab.fit / dalab.load / ...; test_import_dalab_loads_no_layer checks that it stays lazy
LAZY_FACADE = {("__init__", "api")}


# app.py and pages/*.py: Streamlit widgets -> one dalab call -> render (DESIGN.md, "App")
PAGE_ALLOWED = {"streamlit", "numpy", "dalab"}
PAGE_FORBIDDEN = {"plotly", "torch", "gradio"}
PAGE_FILES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]

# sub-networks of the methods (CDLM E/D/C/Xi, bridge E/D/f/vae_*, DFA ae/F1/F2, LST-Net
# E1/E2/G1/G2/C_s/C_t, baselines G/C/D): the UI calls the methods' public inference methods
SUBNETWORKS = {"E", "D", "C", "F", "f", "G", "Xi", "ae", "F1", "F2", "E1", "E2", "G1", "G2",
               "C_s", "C_t", "vae_s", "vae_t"}
UI_FILES = [*sorted((PKG / "ui").glob("*.py")), *PAGE_FILES]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    p = ROOT.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _imports(path: Path, source: str | None = None):
    """Yield ``(line, module)`` for every import in ``path`` (``source``: its text, if not the
    file's). ``from P import n`` loads ``P.n`` when that is a module, else ``P``; relative
    forms are resolved against ``path``'s package."""
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(source if source is not None else path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module
            for a in node.names:
                full = f"{base}.{a.name}"
                yield node.lineno, full if _is_module(full) else base


def _layer(module: str) -> str:
    """``dalab.methods.cdlm`` -> ``methods``; ``dalab`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = sorted(PKG.rglob("*.py"))


def test_relative_imports_resolve_to_the_real_module():
    train = PKG / "train.py"
    got = [m for _, m in _imports(train, "from . import zoo, __version__\n"
                                         "from .runs import load_run\nfrom .data import pair\n"
                                         "from .methods.base import Latent\n")]
    assert got == ["dalab.zoo", "dalab", "dalab.runs", "dalab.data.pair", "dalab.methods.base"]
    cdlm = PKG / "methods" / "cdlm.py"
    got = [m for _, m in _imports(cdlm, "from ..losses import kl\nfrom . import dann\n"
                                        "from .. import zoo\nfrom ..nn import grl\n"
                                        "def f():\n    from ..train import fit\n")]
    assert got == ["dalab.losses", "dalab.methods.dann", "dalab.zoo", "dalab.nn.grl",
                   "dalab.train"]
    init = PKG / "methods" / "__init__.py"
    assert [m for _, m in _imports(init, "from .bridge import Bridge\n")] == \
        ["dalab.methods.bridge"]


def test_the_table_is_a_layering():
    """Every layer named is in the table, and no layer may import one that may import it."""
    for layer, allowed in ALLOWED.items():
        assert allowed <= set(ALLOWED), (layer, allowed - set(ALLOWED))
        assert layer not in allowed
        for other in allowed:
            assert layer not in ALLOWED[other], f"{layer} <-> {other}"


def _violations(path: Path, source: str | None = None) -> list[str]:
    """The imports of ``path`` (``source``: its text, if not the file's) that break the table:
    a layer importing one above it, or a UI library outside ``dalab/ui``."""
    mine = _layer(_module_name(path))
    if mine not in ALLOWED:
        return [f"{path.relative_to(ROOT)}: layer {mine!r} is not in ALLOWED"]
    out = []
    for line, name in _imports(path, source):
        top = name.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line}"
        if top in UI_LIBS and mine != "ui":
            out.append(f"{where} imports {name}: only dalab/ui may")
        if top != "dalab":
            continue
        other = _layer(name)
        if other == mine or (mine, other) in LAZY_FACADE:
            continue
        if other not in ALLOWED[mine]:
            out.append(f"{where} ({mine}) imports {name} ({other})")
    return out


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_lower_layers(path):
    assert _violations(path) == []


def test_the_checker_catches_an_upward_import_at_any_depth():
    """Not vacuous: a core module importing the CLI, the app or streamlit is caught, in a
    sub-package as in a top-level module, late imports included."""
    probe = "import streamlit\nfrom dalab.cli import main\ndef f():\n    from ..ui import figures\n"
    for path in (PKG / "data" / "probe.py", PKG / "analysis" / "probe.py",
                 PKG / "methods" / "probe.py"):
        got = _violations(path, probe)
        assert len(got) == 3, got
    assert _violations(PKG / "ui" / "probe.py", "import streamlit\nfrom dalab.cli import main\n") \
        == []


def test_import_dalab_loads_no_layer():
    """``import dalab`` loads nothing but the package root; ``dalab.fit`` then loads the API."""
    import subprocess
    code = ("import sys, dalab; before = sorted(m for m in sys.modules if m.startswith('dalab'));"
            " dalab.fit; print(before, 'dalab.api' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "['dalab'] True"


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_import_only_streamlit_numpy_and_dalab(path):
    for line, name in _imports(path):
        top = name.split(".")[0]
        where = f"{path.relative_to(ROOT)}:{line} imports {name}"
        assert top not in PAGE_FORBIDDEN, f"{where}: build it in dalab/ui (figures, views)"
        assert top in PAGE_ALLOWED or top in sys.stdlib_module_names, where


def test_page_check_sees_a_forbidden_import():
    page = ROOT / "pages" / "x.py"
    tops = {n.split(".")[0] for _, n in _imports(page, "import plotly.graph_objects as go\n"
                                                        "def f():\n    import torch\n")}
    assert tops == {"plotly", "torch"} and tops <= PAGE_FORBIDDEN


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_uses_only_public_members(path):
    """No ``obj._private`` (except on ``self``/``cls``) and no ``model.E``-style access to a
    method's sub-networks in dalab/ui, pages/ or app.py."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value.id if isinstance(node.value, ast.Name) else None
        where = f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}"
        if owner in ("self", "cls"):
            continue
        assert not re.fullmatch(r"_(?!_).*|_", node.attr), f"{where} is private"
        assert node.attr not in SUBNETWORKS, f"{where}: call a public method of the model"


def test_nothing_unpickles():
    """Weights are safetensors and arrays load with allow_pickle=False: no unpickling call."""
    bad = re.compile(r"pickle\.loads?\(|joblib\.load\(|allow_pickle\s*=\s*True|"
                     r"torch\.load\((?![^)]*weights_only=True)")
    for path in PKG.rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            assert not bad.search(line), f"{path}:{i}: {line.strip()}"
