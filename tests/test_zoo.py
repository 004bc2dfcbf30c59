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
    with pytest.raises(zoo.ZooError, match="differs"):
        zoo.load("dann_ellipses", root=root)
