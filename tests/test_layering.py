"""DESIGN.md's layering, checked on the source: each layer imports only the ones below it,
and only dalab/ui may import UI libraries."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "dalab"
ORDER = ["data", "nn", "losses", "methods", "train", "runs", "zoo", "analysis", "bench", "cli",
         "ui"]
UI_LIBS = {"streamlit", "gradio", "plotly"}


def _layer(path: Path) -> str:
    rel = path.relative_to(PKG).parts
    return rel[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package path
                base = list(path.relative_to(PKG.parent).with_suffix("").parts)[:-node.level]
                yield ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.module or ""


MODULES = [p for p in PKG.rglob("*.py") if _layer(p) in ORDER]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_only_lower_layers(path):
    mine = ORDER.index(_layer(path))
    for name in _imports(path):
        top = name.split(".")[0]
        if top in UI_LIBS:
            assert _layer(path) == "ui", f"{path.name} imports {name}: only dalab/ui may"
        if top == "dalab" and len(name.split(".")) > 1:
            other = name.split(".")[1]
            if other in ORDER:
                assert ORDER.index(other) <= mine, f"{path.name} ({_layer(path)}) imports {name}"


def test_nothing_unpickles():
    """Weights are safetensors and arrays load with allow_pickle=False: no unpickling call."""
    import re
    bad = re.compile(r"pickle\.loads?\(|joblib\.load\(|allow_pickle\s*=\s*True|"
                     r"torch\.load\((?![^)]*weights_only=True)")
    for path in PKG.rglob("*.py"):
        for i, line in enumerate(path.read_text().splitlines(), 1):
            assert not bad.search(line), f"{path}:{i}: {line.strip()}"
