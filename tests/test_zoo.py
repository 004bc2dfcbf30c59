import json

import pytest

from dalab import zoo
from dalab.train import train


@pytest.fixture(scope="module")
def zoo_root(tmp_path_factory):
    base = tmp_path_factory.mktemp("zoo")
    runs = [train("dann", "ellipse-1", "ellipse-2", 40, seed=s, out=base / f"run{s}")[2]
            for s in (0, 1)]
    best, scores = zoo.select_best(runs)
    zoo.add_run(best, "dann_ellipses", root=base / "pretrained", note="test")
    return base / "pretrained", runs, scores


def test_list_and_load_reproduce_the_recorded_accuracy(zoo_root):
    root, _, scores = zoo_root
    assert len(scores) == 2 and all(0 <= s <= 1 for s in scores)
    entries = zoo.list(root)
    assert [e["name"] for e in entries] == ["dann_ellipses"]
    e = entries[0]
    assert e["stored_as"] == "float16" and e["method"] == "dann"
    model, info = zoo.load("dann_ellipses", device="cpu", root=root)
    assert next(model.parameters()).dtype.is_floating_point
    from dalab.analysis.evaluate import evaluate_run
    acc = evaluate_run(root / e["path"])["accuracy"]
    assert abs(acc - e["accuracy"]["target_test"]) <= 0.005


def test_fp16_halves_the_weights(zoo_root):
    root, runs, _ = zoo_root
    e = zoo.list(root)[0]
    full = (runs[0] / "model.safetensors").stat().st_size
    assert e["bytes"] < 0.6 * full


def test_tampered_and_unknown_entries_are_refused(zoo_root, tmp_path):
    import shutil
    root = tmp_path / "z"
    shutil.copytree(zoo_root[0], root)
    with pytest.raises(zoo.ZooError, match="valid: dann_ellipses"):
        zoo.load("nope", root=root)
    w = root / "dann_ellipses" / "model.safetensors"
    raw = bytearray(w.read_bytes())
    raw[-3] ^= 0x55
    w.write_bytes(bytes(raw))
    with pytest.raises(zoo.RunError, match="does not match"):
        zoo.load("dann_ellipses", root=root)
    # an index whose hash disagrees with the run is refused too
    shutil.rmtree(root)
    shutil.copytree(zoo_root[0], root)
    idx = json.loads((root / "index.json").read_text())
    idx["entries"][0]["sha256"] = "0" * 64
    (root / "index.json").write_text(json.dumps(idx))
    assert zoo.list(root) == []  # an edited entry: its seal no longer matches
    idx["entries"][0]["sealed"] = zoo.entry_digest(idx["entries"][0])  # sealed anew
    (root / "index.json").write_text(json.dumps(idx))
    with pytest.raises(zoo.ZooError, match="differs"):
        zoo.load("dann_ellipses", root=root)


def test_build_from_bench_picks_one_seed_per_method_and_pair(tmp_path, capsys):
    from dalab.cli import main

    bench = tmp_path / "bench"
    for s in (0, 1):
        train("source_only", "ellipse-1", "ellipse-2", 20, seed=s,
              out=bench / "ellipse-1_to_ellipse-2" / "source_only" / f"seed{s}")
    (bench / "x_to_y" / "skada-DANN" / "seed0").mkdir(parents=True)  # a peer (no config.json)
    monkey_root = tmp_path / "zoo"
    added = zoo.build_from_bench(bench, root=monkey_root, log=lambda s: None)
    assert [e["name"] for e in added] == ["source_only_ellipse-1_to_ellipse-2"]
    assert "best of 2 seed(s)" in added[0]["note"]
    assert [e["name"] for e in zoo.list(monkey_root)] == [added[0]["name"]]
    # over the size cap: not shipped, and an existing entry of that name is left alone
    assert zoo.build_from_bench(bench, root=monkey_root, log=lambda s: None,
                                max_bytes=100) == []
    assert [e["name"] for e in zoo.list(monkey_root)] == [added[0]["name"]]
    zoo.remove(added[0]["name"], root=monkey_root)
    assert zoo.list(monkey_root) == [] and not (monkey_root / added[0]["name"]).exists()
    with pytest.raises(zoo.ZooError, match="unknown zoo entry"):
        zoo.remove("nope", root=monkey_root)
    assert main(["zoo", "build", "--bench-dir", str(tmp_path / "empty")]) == 2
    assert "no finished runs" in capsys.readouterr().err


_REAL = zoo.zoo_dir()
_ENTRIES = [e["name"] for e in zoo.list(_REAL)] if (_REAL / "index.json").is_file() else []


@pytest.mark.slow
@pytest.mark.parametrize("name", _ENTRIES or [pytest.param(
    None, marks=pytest.mark.skip(reason="the pretrained zoo is empty"))])
def test_every_real_zoo_entry_reproduces_its_recorded_accuracy(name):
    """Each shipped model loads (hash-checked) and gives its recorded target test accuracy
    within 0.5 points."""
    from dalab.data import DomainPair
    from dalab.train import evaluate_pair

    e = zoo.entry(name, _REAL)
    model, info = zoo.load(name, device="cpu", root=_REAL)
    p = info["pair"]
    acc = evaluate_pair(model, DomainPair(p["source"], p["target"], split_seed=p["split_seed"]))
    assert abs(acc["target_test"] - e["accuracy"]["target_test"]) <= 0.005
    assert e["bytes"] < _MAX_MIB.get(e["method"], 4) * 2**20


# the shipped bridges keep App. B's 1.7 M-parameter bridge over two base VAEs of 256 units
# (~6 MiB in float16, pretrained/README.md); every other entry stays under ~4 MB
_MAX_MIB = {"bridge": 8}


def test_real_zoo_stays_small():
    size = sum(p.stat().st_size for p in _REAL.rglob("*") if p.is_file())
    assert size < 60 * 2**20


def test_select_best_takes_a_label_free_score_and_its_direction(zoo_root):
    """A label-free score from dalab.analysis.selection picks the seed, lower- or
    higher-is-better as the score says; the default (held-out accuracy) is the oracle."""
    from dalab.analysis import selection
    from dalab.runs import load_pair, load_run

    _, runs, oracle = zoo_root

    def entropy(run_dir):
        model, info = load_run(run_dir)
        return selection.score_model(model, load_pair(run_dir, info), n=200)["prediction_entropy"]
    best, scores = zoo.select_best(runs, entropy, higher_is_better=False)
    assert best == runs[scores.index(min(scores))]
    best_hi, _ = zoo.select_best(runs, entropy, higher_is_better=True)
    assert best_hi == runs[scores.index(max(scores))]
    assert zoo.select_best(runs)[1] == oracle
