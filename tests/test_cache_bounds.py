"""Issue 14: the Streamlit process grew to 1.24 GB in an hour of use. Every cache in the app's
code (pages/, dalab/ui/, app.py) must be bounded: ``st.cache_data``/``st.cache_resource`` with
``max_entries``, ``functools.lru_cache`` with a finite ``maxsize`` (and no ``functools.cache``),
and module-level dicts that accumulate (the Train page's job registry) trimmed. The RSS the
browser walk ends at is checked in tests/test_browser.py."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"),
                *(ROOT / "dalab" / "ui").glob("*.py")])


def _name(node) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    return ast.unparse(node)


def _caches():
    """``(where, decorator name, keyword names and values)`` of each cache decorator."""
    for path in FILES:
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for dec in fn.decorator_list:
                name = _name(dec)
                if name.split(".")[-1] in ("cache_data", "cache_resource", "lru_cache", "cache"):
                    kw = {k.arg: k.value for k in dec.keywords} if isinstance(dec, ast.Call) \
                        else {}
                    yield f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}", name, kw


def test_every_cache_of_the_app_is_bounded():
    found = list(_caches())
    assert len(found) >= 15, found  # the scan sees the pages' caches
    unbounded = []
    for where, name, kw in found:
        if name.endswith(("cache_data", "cache_resource")):
            ok = "max_entries" in kw and not (isinstance(kw["max_entries"], ast.Constant)
                                              and kw["max_entries"].value is None)
        elif name.endswith("lru_cache"):
            ok = "maxsize" in kw and not (isinstance(kw["maxsize"], ast.Constant)
                                          and kw["maxsize"].value is None)
        else:  # functools.cache: never bounded
            ok = False
        if not ok:
            unbounded.append(f"{where}: @{name} without a bound")
    assert not unbounded, "\n".join(unbounded)


def test_the_job_registry_keeps_a_bounded_number_of_ended_jobs(tmp_path, train_jobs):
    T = train_jobs
    for i in range(T._KEEP + 3):
        T.start_job("source_only", "ellipse-1", "ellipse-2", 10, out=tmp_path / f"r{i}").join(30)
    assert len(T._JOBS) <= T._KEEP + 1
