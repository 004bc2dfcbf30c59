"""Bad inputs and faults, as a class meets them: every case gets a clear message naming the
input and what is valid, no Python traceback to the user (CLI: exit 2 for usage errors, 1 for
runtime failures), and no existing run, zoo entry or cache damaged.

The case table with what each case observed is in docs/reliability.md."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from dalab import runs, zoo
from dalab.cli import main
from dalab.ui.models import available
from dalab.ui.state import parse_value

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ["train", "--method", "dann", "--source", "ellipse-1", "--target", "ellipse-2", "-q"]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    """One small finished run, copied per test (``run`` fixture) so each may damage its copy."""
    out = tmp_path_factory.mktemp("good") / "run"
    assert main(TRAIN + ["--steps", "10", "--out", str(out)]) == 0
    return out


@pytest.fixture
def run(good_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(good_run, dst)
    return dst


def _no_traceback(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# -- CLI: names and values --------------------------------------------------------------------
@pytest.mark.parametrize("args,expect", [
    (["--steps", "0"], "must be >= 1"),
    (["--steps", "-1"], "must be >= 1"),
    (["--steps", "abc"], "not an integer"),
    (["--steps", "1e12"], "not an integer"),
    (["--set", "lr=nan"], "NaN is not allowed"),
    (["--set", "lr=-1"], "lr=-1.0: must be >= 0"),
    (["--set", "batch_size=0"], "batch_size=0: must be >= 1"),
    (["--set", "batch_size=-5"], "batch_size=-5: must be >= 1"),
    (["--set", "batch_size=1e400"], "not a valid int"),
    (["--set", "batch_size=99999999999"], "too large"),
    (["--set", "batch_size=abc"], "not a valid int"),
    (["--set", "lambda_w=inf"], "finite"),
    (["--set", "nope=1"], "unknown config key"),
    (["--set", "lr"], "expected key=value"),
    (["--max-grad-norm", "0"], "finite number > 0"),
    (["--max-grad-norm", "nan"], "finite number > 0"),
])
def test_cli_bad_values_are_usage_errors(args, expect, capsys, tmp_path):
    with pytest.raises(SystemExit) as e:  # argparse's own checks exit 2
        code = main(TRAIN + ["--out", str(tmp_path / "x")] + args)
        raise SystemExit(code)
    assert e.value.code == 2
    assert expect in _no_traceback(capsys)
    assert not (tmp_path / "x" / runs.CONFIG).exists()  # nothing trained, nothing written


@pytest.mark.parametrize("args,expect", [
    (["train", "--method", "nope", "--source", "mnist", "--target", "digits"], "invalid choice"),
    (["train", "--method", "dann", "--source", "nope", "--target", "digits"], "nope"),
    (["train", "--method", "cdlm", "--source", "ellipse-1", "--target", "ellipse-2"],
     "28x28 images"),
    (["train", "--method", "dann", "--source", "mnist", "--target", "ellipse-1"],
     "cannot pair"),
    (["data", "show", "nope"], "nope"),
    (["eval"], "run_dir"),
])
def test_cli_unknown_names_list_what_is_valid(args, expect, capsys):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(args + ["-q"] if args[0] == "train" else args))
    assert e.value.code == 2 and expect in _no_traceback(capsys)


def test_out_at_an_existing_run_is_refused_and_the_run_kept(run, capsys):
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert main(TRAIN + ["--steps", "5", "--out", str(run)]) == 2
    assert "already there" in _no_traceback(capsys)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_out_at_a_file_or_an_unwritable_folder_fails_before_training(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("keep me")
    assert main(TRAIN + ["--steps", "5", "--out", str(f)]) == 2
    assert "not a folder" in _no_traceback(capsys) and f.read_text() == "keep me"
    if os.geteuid() == 0:  # root writes anywhere: use a path under a file instead
        target = f / "sub"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "run"
    assert main(TRAIN + ["--steps", "5", "--out", str(target)]) == 2
    assert "cannot write a run there" in _no_traceback(capsys)


def test_a_failure_inside_training_is_a_runtime_error_with_its_cause(monkeypatch, tmp_path,
                                                                     capsys):
    from dalab.methods.dann import DANN

    def boom(self, *a, **k):
        raise ValueError("a bug deep inside train_step")
    monkeypatch.setattr(DANN, "train_step", boom)
    assert main(TRAIN + ["--steps", "5", "--out", str(tmp_path / "r")]) == 1
    err = _no_traceback(capsys)
    assert "training failed: ValueError: a bug deep inside train_step" in err


# -- eval on damaged runs ---------------------------------------------------------------------
def _reseal(entry, **changes):
    """Change an index entry and seal it again (a well-formed entry with another problem)."""
    entry.update(changes)
    entry["sealed"] = zoo.entry_digest(entry)


def _edit_config(run, **changes):
    info = json.loads((run / runs.CONFIG).read_text())
    if "sealed" in changes and changes["sealed"] is None:
        changes = {**changes, "sealing": None}  # as a run of a version before sealing
    for k, v in changes.items():
        if v is None:
            info.pop(k, None)
        else:
            info[k] = v
    (run / runs.CONFIG).write_text(json.dumps(info))


@pytest.mark.parametrize("damage,expect", [
    (lambda r: shutil.rmtree(r), "no such file"),
    (lambda r: [p.unlink() for p in r.iterdir() if p.is_file()], "no such file"),
    (lambda r: (r / runs.CONFIG).write_text("{not json"), "not a readable JSON"),
    (lambda r: (r / runs.CONFIG).write_text('{"format": "dalab-run/1"}'), "'method' is missing"),
    (lambda r: (r / runs.CONFIG).write_text("[1, 2]"), "not a dalab run"),
    (lambda r: _edit_config(r, method="nope", sealed=None), "unknown method 'nope'"),
    (lambda r: _edit_config(r, accuracy={"target_test": 0.99}), "edited after the run"),
    (lambda r: _edit_config(r, input_shape=[1, 32, 32]), "edited after the run"),
    (lambda r: _edit_config(r, input_shape=[1, 32, 32], sealed=None), "weights do not fit"),
    (lambda r: _edit_config(r, num_classes=10 ** 12, sealed=None), "num_classes"),
    (lambda r: _edit_config(r, weights={"file": "../../etc/passwd", "sha256": "0"},
                            sealed=None), "outside the run directory"),
    (lambda r: _flip_a_byte(r / runs.WEIGHTS), "does not match"),
    (lambda r: _truncate(r / runs.WEIGHTS), "does not match"),
    (lambda r: _rewrite_tensors(r, extra=True), "weights do not fit"),
    (lambda r: _rewrite_tensors(r, extra=False), "weights do not fit"),
])
def test_eval_of_a_damaged_run_says_what_is_wrong(run, damage, expect, capsys):
    damage(run)
    assert main(["eval", str(run)]) == 2
    assert expect in _no_traceback(capsys)


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _rewrite_tensors(run, extra):
    """Valid safetensors with one tensor more or less, the hash updated to match: the hash
    passes, the shapes do not."""
    t = load_file(str(run / runs.WEIGHTS))
    if extra:
        t["intruder"] = torch.zeros(3)
    else:
        t.pop(sorted(t)[0])
    save_file(t, str(run / runs.WEIGHTS))
    _edit_config(run, weights={"file": runs.WEIGHTS,
                               "sha256": runs.sha256_file(run / runs.WEIGHTS)}, sealed=None)


# -- custom domains: npz ----------------------------------------------------------------------
def _npz(tmp_path, **arrays):
    p = tmp_path / "d.npz"
    np.savez(p, **arrays)
    return f"npz:{p}"


IMG = np.zeros((6, 28, 28), np.uint8)
LAB = np.arange(6) % 2


@pytest.mark.parametrize("arrays,expect", [
    (dict(x=IMG), "no array y"),
    (dict(y=LAB), "no array x"),
    (dict(x=IMG.astype(str), y=LAB), "dtype"),
    (dict(x=np.full((6, 28, 28), np.nan, np.float32), y=LAB), "nan/inf"),
    (dict(x=np.full((6, 28, 28), 255.0, np.float32), y=LAB), "store 0-255 images as uint8"),
    (dict(x=np.zeros((6, 784)), y=LAB), "expected (N, H, W)"),
    (dict(x=IMG, y=LAB[:4]), "6 images but 4 labels"),
    (dict(x=IMG, y=-LAB - 1), "negative labels"),
    (dict(x=IMG, y=LAB * 2 ** 40), "labels go up to"),
    (dict(x=np.zeros((0, 28, 28), np.uint8), y=np.zeros(0, int)), "no images"),
])
def test_npz_domains_with_bad_arrays(tmp_path, arrays, expect, capsys):
    name = _npz(tmp_path, **arrays)
    assert main(["data", "show", name]) == 2
    assert expect in _no_traceback(capsys)


def test_a_one_class_domain_shows_but_does_not_train(tmp_path, capsys):
    name = _npz(tmp_path, x=IMG, y=np.zeros(6, int))
    assert main(["data", "show", name]) == 0
    capsys.readouterr()
    assert main(["train", "--method", "dann", "--source", name, "--target", name, "-q",
                 "--out", str(tmp_path / "r")]) == 2
    assert "needs at least 2" in _no_traceback(capsys)


# -- custom domains: folders ------------------------------------------------------------------
def _folder(tmp_path, build):
    root = tmp_path / "imgs"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
    build(root)
    return f"folder:{root}"


def _png(path, size=(28, 28), mode="L"):
    from PIL import Image
    Image.new(mode, size, 255).save(path)


@pytest.mark.parametrize("build,expect", [
    (lambda r: None, "holds no image files"),
    (lambda r: (_png(r / "a" / "1.png"), (r / "b" / "x.txt").write_text("hi")), "x.txt"),
    (lambda r: (_png(r / "a" / "1.png"), (r / "b" / "1.png").write_bytes(b"\x89PNG broken")),
     "1.png"),
])
def test_folder_domains_with_bad_contents(tmp_path, build, expect, capsys):
    name = _folder(tmp_path, build)
    assert main(["data", "show", name]) == 2
    assert expect in _no_traceback(capsys)


def test_folder_with_a_fifo_a_symlink_loop_and_mixed_modes_loads_what_it_can(tmp_path):
    """Mixed sizes and modes are converted; a FIFO named x.png and a symlink loop are skipped
    (the FIFO used to hang the loader)."""
    from dalab.data import load_domain

    def build(r):
        for i in range(3):
            _png(r / "a" / f"{i}.png", (40, 30), "RGB")
            _png(r / "b" / f"{i}.png", (28, 28), "L")
        os.mkfifo(r / "a" / "x.png")
        (r / "b" / "loop").symlink_to(r / "b", target_is_directory=True)
    d = load_domain(_folder(tmp_path, build))
    assert d.num_classes == 2 and len(d.train) + len(d.test) == 6


# -- the zoo ----------------------------------------------------------------------------------
@pytest.fixture
def zoo_copy(tmp_path, good_run, monkeypatch):
    root = tmp_path / "zoo"
    zoo.add_run(good_run, "good", root=root)
    zoo.add_run(good_run, "other", root=root)
    monkeypatch.setenv("DALAB_ZOO_DIR", str(root))
    return root


def _index(root, edit):
    path = root / zoo.INDEX
    index = json.loads(path.read_text())
    out = edit(index)
    path.write_text(out if isinstance(out, str) else json.dumps(out if out is not None
                                                                  else index))


@pytest.mark.parametrize("edit,left,expect", [
    (lambda i: "{garbage", 0, "unreadable zoo index"),
    (lambda i: [1, 2], 0, "not a dalab zoo index"),
    (lambda i: {**i, "entries": {"a": 1}}, 0, "'entries' is not a list"),
    (lambda i: i["entries"][0].pop("accuracy") and None, 1, "'accuracy' missing"),
    (lambda i: i["entries"][0]["accuracy"].update(target_test="high") or None, 1,
     "is not a number"),
    (lambda i: i["entries"][0].update(path="../../etc") or None, 1, "outside the zoo"),
    (lambda i: _reseal(i["entries"][1], name="good", path="good"), 1, "duplicate"),
    (lambda i: i["entries"].append("just a string") or None, 2, "is not an object"),
])
def test_a_bad_zoo_index_leaves_the_rest_working(zoo_copy, edit, left, expect, capsys):
    _index(zoo_copy, edit)
    entries, problems = zoo.scan()
    assert len(entries) == left and any(expect in p for p in problems), problems
    assert len([m for m in available(zoo_copy / "no-runs") if m["origin"] == "zoo"]) == left
    assert main(["zoo", "list"]) == 0
    assert expect in _no_traceback(capsys)


def test_zoo_paths_and_names_cannot_leave_the_zoo(zoo_copy, good_run, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("x")
    for bad in ("../victim", "../../x", "/abs", "a/b", "", "..", ".hidden"):
        with pytest.raises(zoo.ZooError, match="not valid"):
            zoo.add_run(good_run, bad, root=zoo_copy)
        with pytest.raises(zoo.ZooError):
            zoo.remove(bad, root=zoo_copy)
    assert (victim / "keep.txt").read_text() == "x"
    assert [e["name"] for e in zoo.list(zoo_copy)] == ["good", "other"]


def test_zoo_hash_mismatch_and_missing_folder(zoo_copy):
    _flip_a_byte(zoo_copy / "good" / runs.WEIGHTS)
    with pytest.raises(runs.RunError, match="does not match|changed"):
        zoo.load("good", device="cpu")
    shutil.rmtree(zoo_copy / "other")
    with pytest.raises(zoo.ZooError, match="weights missing"):
        zoo.load("other", device="cpu")


def test_runs_with_bad_configs_are_listed_as_left_out(tmp_path, good_run):
    runs_dir = tmp_path / "runs"
    for name, text in (("minimal", '{"format": "dalab-run/1"}'), ("garbage", "{{{"),
                       ("list", "[]")):
        (runs_dir / name).mkdir(parents=True)
        (runs_dir / name / runs.CONFIG).write_text(text)
    shutil.copytree(good_run, runs_dir / "fine")
    problems = []
    mine = [m for m in available(runs_dir, problems=problems) if m["origin"] == "run"]
    assert [m["label"] for m in mine] == ["run: fine"]
    assert sum("left out" in p for p in problems) == 3


# -- deep links -------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,default,bounds,choices,value,noted", [
    ("5", 1.0, (0.2, 2.0), None, 2.0, True),
    ("nan", 1.0, (0.2, 2.0), None, 1.0, True),
    ("1e309", 1.0, (0.2, 2.0), None, 1.0, True),
    ("-5", 1.0, (0.2, 2.0), None, 0.2, True),
    ("9" * 200, 1.0, (0.2, 2.0), None, 1.0, True),
    ("abc", 3, (0, 9), None, 3, True),
    ("2.5", 3, (0, 9), None, 3, True),
    ("nonsense", "full", None, ["full", "pm1"], "full", True),
    ("pm1", "full", None, ["full", "pm1"], "pm1", False),
    ("0.5", 1.0, (0.2, 2.0), None, 0.5, False),
    (None, 1.0, (0.2, 2.0), None, 1.0, False),
])
def test_link_values_are_parsed_clamped_or_ignored(raw, default, bounds, choices, value,
                                                   noted):
    got, note = parse_value(raw, default, bounds, choices)
    assert got == value and type(got) is type(default) and bool(note) == noted


@pytest.mark.slow
@pytest.mark.parametrize("page,params", [
    ("kl_gap.py", {"gamma1": "5"}), ("kl_gap.py", {"gamma1": "1e309"}),
    ("kl_gap.py", {"gamma1": "nan", "sigma_s": "-3", "mu_s": "x" * 500}),
    ("kl_gap.py", {"gamma1": "-5", "mu_t": "inf"}),
    ("modulation.py", {"gamma1": "nan", "gamma2": "9", "dim_x": "-1", "mode": "zzz"}),
    ("bridge.py", {"steps": "1e309", "kind": "../../etc/passwd"}),
    ("latent.py", {"model": "../../etc/passwd"}),
    ("home.py", {"anything": "\x00" * 10}),
])
def test_pages_survive_malformed_links(app_env, page, params):
    """Clamped or ignored, never an exception."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("text,n,expect", [
    ("{broken", 0, "could not be read"),
    ('{"a": 1}', 0, "does not hold a list"),
    ('[{"method": "dann"}]', 0, "1 malformed row"),
    ("", 0, "could not be read"),
])
def test_a_corrupt_benchmarks_json_gives_a_message_not_a_crash(tmp_path, text, n, expect):
    from dalab.ui.models import load_results
    p = tmp_path / "benchmarks.json"
    p.write_text(text)
    rows, problem = load_results(p)
    assert len(rows) == n and expect in problem
    good, none = load_results(ROOT / "docs" / "benchmarks.json")
    assert good and none is None


def test_the_app_listens_on_loopback_unless_told_otherwise():
    import tomllib
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"


# -- training faults --------------------------------------------------------------------------
def test_a_full_disk_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch,
                                                                       capsys):
    """The third checkpoint's write fails (ENOSPC): the run says so (exit 1), the checkpoint
    before it still loads and resumes, and no temporary files are left behind."""
    import errno
    real = runs.save_file
    calls = {"n": 0}

    def failing(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*a, **k)
    monkeypatch.setattr(runs, "save_file", failing)
    out = tmp_path / "full"
    code = main(TRAIN + ["--steps", "40", "--checkpoint-every", "10", "--out", str(out)])
    assert code == 1
    err = _no_traceback(capsys)
    assert "training failed: OSError" in err and "No space left on device" in err
    info = runs.read_run_info(out)
    assert info["checkpoint"]["step"] == 10 and runs.run_status(info) == "incomplete"
    assert runs.load_run(out)[1]["steps"] == 10
    assert not [p for p in (out / runs.CHECKPOINTS).iterdir() if p.name.startswith(".")]
    monkeypatch.setattr(runs, "save_file", real)
    assert main(["train", "--resume", str(out), "-q"]) == 0
    assert runs.read_run_info(out)["status"] == "finished"


def test_a_full_disk_at_the_final_save_keeps_the_run_it_would_replace(run, monkeypatch,
                                                                       capsys):
    """--force over an existing run, and the final save fails: the old run still loads."""
    import errno

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    before = runs.load_run(run)[1]["sealed"]
    monkeypatch.setattr(runs, "save_model", no_space)
    assert main(TRAIN + ["--steps", "5", "--out", str(run), "--force"]) == 1
    assert "No space left on device" in _no_traceback(capsys)
    assert runs.load_run(run)[1]["sealed"] == before
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("page", ["modulation.py", "latent.py", "bridge.py"])
def test_an_unloadable_newest_run_does_not_take_a_page_down(app_env, page, tiny_zoo):
    """The newest run (what the sidebar offers first among runs) has damaged weights: the page
    says which model cannot be loaded and why, and nothing raises."""
    from streamlit.testing.v1 import AppTest
    method = {"modulation.py": "cdlm", "latent.py": "cdlm", "bridge.py": "bridge"}[page]
    src = tiny_zoo / f"tiny-{method}"
    dst = Path("runs") / "broken"
    shutil.copytree(src, dst)
    _flip_a_byte(dst / runs.WEIGHTS)
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.session_state["dalab_model"] = str(dst)
    at.run()
    assert not at.exception, at.exception
    if page != "latent.py":  # latent shows the first model, the zoo's: both render
        assert any("cannot be loaded" in e.value and "does not match" in e.value
                   for e in at.error), [e.value for e in at.error]


BAD_LINK = {"gamma1": "nan", "gamma2": "1e309", "steps": "-5", "dim_x": "99999",
            "mode": "x" * 500, "kind": "../../etc/passwd", "model": "/etc/passwd",
            "pair": "nope", "seed": "inf"}
ALL_PAGES = sorted(p.name for p in (ROOT / "pages").glob("*.py") if p.name != "alignment.py")


@pytest.mark.slow
@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_page_survives_one_bad_link(app_env, page):
    """Every page (alignment aside: its t-SNE takes ~25 s; its widgets read no link) with
    every kind of bad value at once; no page reads a file named in a link."""
    from streamlit.testing.v1 import AppTest
    opened = []
    real_open = open

    def spy(file, *a, **k):
        opened.append(str(file))
        return real_open(file, *a, **k)
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.query_params.update(BAD_LINK)
    import builtins
    builtins.open, saved = spy, builtins.open
    try:
        at.run()
    finally:
        builtins.open = saved
    assert not at.exception, at.exception
    assert not [f for f in opened if "passwd" in f]
