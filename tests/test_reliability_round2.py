"""Issue 24 ("Nothing lost, nothing silent"), by class: data that existed survives, values are
validated before work starts (naming the argument), one writer per run folder. Each class as
parametrised cases; docs/reliability.md has the before/after table."""
import math
import shutil
import threading

import pytest

from dalab import zoo
from dalab.cli import main
from dalab.methods import ConfigError
from dalab.methods.config import make_config
from dalab.methods.cdlm import CDLMConfig
from dalab.train import FitArgumentError, RunLockedError, _RunLock, fit, prepare, train

TRAIN = ["train", "--method", "dann", "--source", "ellipse-1", "--target", "ellipse-2", "-q"]


def _err(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# -- 1. data that existed survives -------------------------------------------------------------
@pytest.mark.parametrize("files", [["notes.txt"], ["metrics.csv", "model.safetensors"],
                                   ["checkpoints/step-000001/x"]])
def test_train_out_refuses_a_folder_that_holds_files_but_no_run(tmp_path, capsys, files):
    out = tmp_path / "mine"
    for f in files:
        (out / f).parent.mkdir(parents=True, exist_ok=True)
        (out / f).write_text("precious")
    for extra in ([], ["--force"]):
        assert main(TRAIN + ["--steps", "5", "--out", str(out), *extra]) == 2
        assert "not a dalab run" in _err(capsys)
    assert all((out / f).read_text() == "precious" for f in files)
    assert sorted(p.name for p in out.iterdir()) == sorted({f.split("/")[0] for f in files})


def test_zoo_build_keeps_shipped_entries_unless_forced_and_says_when_worse(tmp_path, capsys):
    bench = tmp_path / "bench"
    for steps, seed in ((30, 0), (2, 1)):
        train("source_only", "ellipse-1", "ellipse-2", steps, seed=seed,
              out=bench / "ellipse-1_to_ellipse-2" / "source_only" / f"seed{seed}")
    root = tmp_path / "zoo"
    (first,) = zoo.build_from_bench(bench, root=root, log=lambda s: None)
    logs, kept = [], []
    assert zoo.build_from_bench(bench, root=root, log=logs.append, kept=kept) == []
    assert kept == [first["name"]] and "kept" in logs[0] and "--force" in logs[0]
    assert zoo.entry(first["name"], root)["sha256"] == first["sha256"]
    # forced, from a folder whose only run is worse: replaced, and the log says so
    shutil.rmtree(bench / "ellipse-1_to_ellipse-2" / "source_only" / "seed0")
    logs.clear()
    (second,) = zoo.build_from_bench(bench, root=root, log=logs.append, force=True)
    worse = second["accuracy"]["target_test"] < first["accuracy"]["target_test"]
    assert ("WORSE" in " ".join(logs)) == worse


def test_timings_never_writes_an_empty_or_partial_report_by_default(tmp_path, capsys,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "timings.md").write_text("committed\n")
    assert main(["timings", "--no-speed", "--no-embed", "--no-zoo"]) == 2
    assert "nothing to measure" in _err(capsys)
    assert main(["timings", "--no-speed", "--no-embed"]) == 0
    assert "left as it is" in _err(capsys)
    assert (tmp_path / "docs" / "timings.md").read_text() == "committed\n"


# -- 4. validate before work starts, naming the argument ---------------------------------------
@pytest.mark.parametrize("args,says", [
    (["--seed", "-1"], "--seed"), (["--split-seed", str(2 ** 40)], "--split-seed"),
    (["--seed", "1.5"], "--seed"),
    (["--set", "disc_hidden=2147483647"], "disc_hidden"),
    (["--set", "momentum=1.5"], "momentum"),
])
def test_cli_values_out_of_range_are_refused_naming_the_argument(tmp_path, capsys, args, says):
    with pytest.raises(SystemExit) as e:  # argparse's own checks exit 2
        raise SystemExit(main(TRAIN + ["--steps", "5", "--out", str(tmp_path / "r"), *args]))
    assert e.value.code == 2
    assert says in _err(capsys)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("over,says", [(["ema=5"], "ema"), (["ema=-0.1"], "ema"),
                                       (["latent_dim=2000000000"], "latent_dim"),
                                       ("ema=0.5", "list of 'key=value'")])
def test_config_values_that_would_blow_up_are_refused(over, says):
    with pytest.raises(ConfigError, match=says):
        make_config(CDLMConfig, overrides=over)


@pytest.mark.parametrize("kw,says", [({"steps": 1.5}, "steps"), ({"steps": True}, "steps"),
                                     ({"max_grad_norm": -1.0}, "max_grad_norm"),
                                     ({"max_grad_norm": math.nan}, "max_grad_norm"),
                                     ({"seed": -1}, "seed"), ({"seed": 2 ** 40}, "seed")])
def test_api_fit_arguments_are_checked_before_training(kw, says):
    m, pair = prepare("dann", "ellipse-1", "ellipse-2")
    kw = {"steps": 3, **kw}
    with pytest.raises(FitArgumentError, match=says):
        fit(m, pair, kw.pop("steps"), **kw)


@pytest.mark.parametrize("flags", [["--method", "dann"], ["--steps", "9"], ["--set", "lr=0.1"],
                                   ["--out", "elsewhere"], ["--seed", "3"],
                                   ["--source", "ellipse-1"]])
def test_resume_refuses_flags_that_contradict_the_run(tmp_path, capsys, flags):
    run = tmp_path / "r"
    assert main(TRAIN + ["--steps", "4", "--out", str(run), "--checkpoint-every", "2"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "-q", *flags]) == 2
    err = _err(capsys)
    assert "--resume continues the run" in err and flags[0] in err
    assert not (tmp_path / "elsewhere").exists()


# -- one writer per run folder -----------------------------------------------------------------
def test_a_second_writer_of_a_run_folder_is_refused_with_the_first_ones_pid(tmp_path):
    import os
    run = tmp_path / "r"
    m, pair = prepare("dann", "ellipse-1", "ellipse-2")
    with _RunLock(run):
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            fit(m, pair, 3, out=run)
    assert not (run / "metrics.csv").exists()
    res = fit(m, pair, 3, out=run)  # the lock is gone with its holder
    assert res.status == "finished" and not (run / ".lock").exists()


def test_two_fits_started_together_into_one_folder_leave_one_clean_run(tmp_path):
    run = tmp_path / "r"
    outcomes = []

    def go(seed):
        m, pair = prepare("dann", "ellipse-1", "ellipse-2", seed=seed)
        try:
            outcomes.append(fit(m, pair, 200, out=run, seed=seed).status)
        except RunLockedError as e:
            outcomes.append(str(e))
    threads = [threading.Thread(target=go, args=(k,)) for k in (0, 1)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    steps = [ln.split(",")[0] for ln in (run / "metrics.csv").read_text().splitlines()[1:]]
    # one after the other, or one refused: never two writers interleaved
    if any("another process" in o for o in outcomes):
        assert steps == [str(k) for k in range(1, 201)]
    else:
        assert outcomes == ["finished", "finished"]


# -- 2. no traceback reaches a user: deeply nested JSON is unreadable, not a crash ------------
DEEP = "[" * 200_000 + "]" * 200_000


def test_deeply_nested_json_is_an_unreadable_file_everywhere(tmp_path, capsys):
    from dalab import bench, runs
    from dalab.ui.models import load_results
    run = tmp_path / "r"
    assert main(TRAIN + ["--steps", "3", "--out", str(run)]) == 0
    (run / "config.json").write_text(DEEP)
    with pytest.raises(runs.RunError, match="nested too deeply"):
        runs.read_run_info(run)
    assert main(["eval", str(run)]) == 2
    assert "nested too deeply" in _err(capsys)
    root = tmp_path / "zoo"
    root.mkdir()
    (root / "index.json").write_text(DEEP)
    entries, problems = zoo.scan(root)
    assert entries == [] and "nested too deeply" in problems[0]
    assert load_results(tmp_path / "zoo" / "index.json")[0] == []
    # a campaign folder with a nested-JSON run: left out of the table, listed as unreadable
    b = tmp_path / "bench" / "a_to_b" / "dann" / "seed0"
    b.mkdir(parents=True)
    (b / "config.json").write_text(DEEP)
    (b / "recipe.json").write_text(DEEP)
    assert bench.summarize(tmp_path / "bench") == []
    assert bench.incomplete_runs(tmp_path / "bench") == ["a_to_b/dann/seed0 (unreadable)"]
    assert bench.recipe_of(b) is None


def test_streamlit_shows_visitors_no_stack_traces():
    """client.showErrorDetails "type" in the config file and in both launchers' flags."""
    import tomllib
    from pathlib import Path

    from dalab.ui.launch import commands
    from dalab.ui.serve import STREAMLIT_FLAGS
    root = Path(__file__).resolve().parents[1]
    cfg = tomllib.loads((root / ".streamlit" / "config.toml").read_text())
    assert cfg["client"]["showErrorDetails"] == "type"
    cmd = commands("127.0.0.1", 8501, 7860, "runs")["streamlit"]
    for argv in (cmd, list(STREAMLIT_FLAGS)):
        i = argv.index("--client.showErrorDetails")
        assert argv[i + 1] == "type"


# -- 6. the front door -------------------------------------------------------------------------
def test_help_and_version_answer_without_torch_or_sklearn():
    import subprocess
    import sys

    import dalab
    from dalab.analysis.selection import SCORES
    from dalab.cli import SELECTION_SCORES
    assert SELECTION_SCORES == SCORES
    code = ("import sys; from dalab.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("[]")
    v = subprocess.run([sys.executable, "-m", "dalab", "--version"], capture_output=True,
                       text=True, check=True).stdout
    assert v.strip() == f"dalab {dalab.__version__}"


def test_ctrl_c_while_parsing_exits_130_with_one_line(monkeypatch, capsys):
    import dalab.cli as cli

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["methods"]) == 130
    assert _err(capsys).strip() == "dalab: interrupted"


@pytest.mark.parametrize("page", ["modulation.py", "latent.py", "kl_gap.py"])
def test_a_run_whose_npz_data_was_moved_is_explained_on_the_pages(app_env, page, tmp_path,
                                                                  npz_domain):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from dalab.data.domains import load_domain
    src, tgt = npz_domain("s", seed=0), npz_domain("t", seed=1)
    run = Path("runs") / "moved"
    train("cdlm", src, tgt, 3, seed=0, out=run, overrides=["latent_dim=16", "batch_size=16"])
    Path(src.removeprefix("npz:")).rename(tmp_path / "elsewhere.npz")
    load_domain.cache_clear()  # as a fresh server process would find it
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "pages" / page), default_timeout=120)
    at.session_state["dalab_model"] = str(run)
    at.run()
    if page == "kl_gap.py":  # its link to a trained model is behind a toggle
        at.toggle[0].set_value(True).run()
    assert not at.exception, at.exception
    if page != "latent.py":  # latent opens on the zoo's model; its picker is its own
        assert any("data it was trained on does not" in e.value and "s.npz" in e.value
                   for e in at.error), [e.value for e in at.error]


def test_a_corrupt_sweep_json_is_a_warning_on_results(app_env):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    bad = Path("runs") / "sweep" / "dann_a_to_b"
    bad.mkdir(parents=True)
    (bad / "sweep.json").write_text("{ not json")
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "pages" / "results.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert any("cannot be shown" in w.value for w in at.warning), [w.value for w in at.warning]


# -- 3. bombs are refused from their headers --------------------------------------------------
def _mnist_folder(root):
    import importlib
    files = importlib.import_module("dalab.data.files")
    folder = root / "mnist"
    folder.mkdir(parents=True)
    return files, folder


@pytest.mark.parametrize("case", ["inflates_past_header", "header_too_big"])
def test_an_idx_gzip_bomb_stops_at_what_its_header_promises(tmp_path, monkeypatch, case):
    import gzip
    import struct
    import tracemalloc

    from dalab.data import DataError
    monkeypatch.setenv("DALAB_DATA_DIR", str(tmp_path))
    files, folder = _mnist_folder(tmp_path)
    dims = (10, 28, 28) if case == "inflates_past_header" else (100_000, 100, 100)
    body = bytes(64 << 20) if case == "inflates_past_header" else bytes(100)
    data = bytes([0, 0, 8, 3]) + b"".join(struct.pack(">I", d) for d in dims) + body
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (folder / f"{name}.gz").write_bytes(gzip.compress(data, 1))
    tracemalloc.start()
    with pytest.raises(DataError, match="inflates past" if case == "inflates_past_header"
                       else "may hold"):
        files.load_mnist_full()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 << 20  # the 64 MB body was never inflated


@pytest.mark.slow
def test_a_usps_bz2_of_too_many_lines_is_refused(tmp_path, monkeypatch):
    import bz2
    import time

    from dalab.data import DataError
    from dalab.data import files
    monkeypatch.setenv("DALAB_DATA_DIR", str(tmp_path))
    (tmp_path / "usps").mkdir()
    line = b"1 1:0.5\n"
    for name in ("usps.bz2", "usps.t.bz2"):
        (tmp_path / "usps" / name).write_bytes(bz2.compress(line * 1_000_000))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="more than the 20,000"):
        files.load_usps()
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("shape,says", [((2, 16000, 16000), "pixels each"),
                                        ((600_000, 1000, 1000), "at most")])
def test_an_npz_whose_header_promises_too_much_is_refused_before_loading(tmp_path, shape,
                                                                         says):
    import zipfile

    import numpy as np

    from dalab.data import DataError
    from dalab.data.files import load_npz
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1), np.uint8))
        header["shape"] = shape
        with z.open("x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            f.write(bytes(1 << 20))  # a sliver of the promised data
        with z.open("y.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(2, np.int64))
    with pytest.raises(DataError, match=says):
        load_npz(path)


def test_a_huge_drawing_is_refused_before_its_pixels_are_converted():
    import tracemalloc

    import numpy as np

    from dalab.ui.translate import MAX_PIXELS, InputError, preprocess
    canvas = np.zeros((4096, 4096, 4), np.uint8)  # a 16 MP RGBA sketchpad composite
    canvas[1000:3000, 2000:2100] = 255
    tracemalloc.start()
    with pytest.raises(InputError, match="4 megapixels"):
        preprocess({"composite": canvas})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20 and MAX_PIXELS == 2048 * 2048
    ok = np.zeros((512, 512, 4), np.uint8)
    ok[100:400, 240:270] = 255
    assert preprocess({"composite": ok}).shape == (1, 28, 28)


def test_long_work_shows_progress_bench_logs_and_the_api_has_a_switch(tmp_path, capsys):
    from dalab import api, recipes
    from dalab.bench import run_bench
    logs = []
    run_bench(tmp_path, ["dann"], [("ellipse-1", "ellipse-2")], seeds=1,
              recipes={"dann": recipes.Recipe("d", "dann", 50)}, log=logs.append)
    assert any("step 25/50" in ln and "min left" in ln for ln in logs), logs
    capsys.readouterr()
    api.fit("dann", ("ellipse-1", "ellipse-2"), 20, progress=True)
    assert "20/20" in capsys.readouterr().err
    api.fit("dann", ("ellipse-1", "ellipse-2"), 20, progress=False)
    assert "20/20" not in capsys.readouterr().err


def test_the_front_door_eval_by_zoo_name_predict_any_image_and_a_missing_zoo(
        tmp_path, capsys, monkeypatch):
    import numpy as np

    import dalab
    from dalab.data import DataError
    assert main(["eval", "cdlm_mnist_to_digits"]) == 0
    assert "target_test" in capsys.readouterr().out
    assert main(["eval", "no_such_entry"]) == 2
    assert "neither a run folder nor a zoo entry" in _err(capsys)
    model, _ = dalab.load("cdlm_mnist_to_digits")
    rng = np.random.default_rng(0)
    for x in (rng.integers(0, 256, (4, 64, 64), dtype=np.uint8),   # (N, H, W) uint8 64x64
              rng.random((4, 28, 28, 3), dtype=np.float32),         # (N, H, W, C) RGB
              rng.random((4, 1, 28, 28), dtype=np.float32)):        # the model's own shape
        assert model.predict_numpy(x).shape == (4,)
    with pytest.raises(DataError, match=r"\(N, 1, 28, 28\)"):
        model.predict_numpy(rng.random((4, 5)))
    monkeypatch.setenv("DALAB_ZOO_DIR", str(tmp_path / "site-packages" / "pretrained"))
    with pytest.raises(zoo.ZooError, match="DALAB_ZOO_DIR"):
        dalab.load("cdlm_mnist_to_digits")


@pytest.mark.parametrize("spec,says", [("npz:/tmp/" + "a" * 5000 + ".npz", "5009 characters"),
                                       ("npz:~nosuchuser/x.npz", "not a user"),
                                       ("folder:~nosuchuser/x", "not a user"),
                                       ("folder:/tmp/" + "b" * 5000, "too long")])
def test_unusable_paths_are_data_errors(capsys, spec, says):
    assert main(["data", "show", spec]) == 2
    assert says in _err(capsys)


def test_png_onto_a_folder_or_under_a_file_and_long_sweep_names(tmp_path, capsys):
    from dalab.sweep import run_name
    assert main(["data", "show", "digits", "--png", str(tmp_path)]) == 2
    assert "is a folder" in _err(capsys)
    (tmp_path / "f").write_text("x")
    assert main(["data", "show", "digits", "--png", str(tmp_path / "f" / "g.png")]) == 2
    assert "cannot write it" in _err(capsys)
    a, b = run_name({"lr": "1" * 300}, 0), run_name({"lr": "1" * 299 + "2"}, 0)
    assert len(a) < 140 and a != b and a.endswith("_seed0")
    (tmp_path / a).mkdir()  # a valid folder name


def test_a_replaced_embedded_cache_is_rebuilt_not_trusted(tmp_path, monkeypatch):
    import numpy as np

    from dalab.data import embedded
    monkeypatch.setenv("DALAB_CACHE_DIR", str(tmp_path))
    loader = embedded.load_digits
    x, y = loader()
    path = next(tmp_path.glob("*.npz"))
    np.savez(path, x=np.zeros_like(x), y=np.zeros_like(y), sha256=np.array("forged"))
    x2, y2 = loader()
    assert np.array_equal(x2, x) and np.array_equal(y2, y)
    np.savez(path, x=np.zeros_like(x), y=np.zeros_like(y))  # a cache of another writer
    assert np.array_equal(loader()[0], x)


def test_a_truncated_data_npz_is_a_run_error(tmp_path, capsys):
    import numpy as np

    import dalab
    rng = np.random.default_rng(0)
    x = rng.random((60, 2)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(int)
    dalab.fit("dann", dalab.pair_from_arrays(x, y, x + 0.1, y), 5, out=tmp_path / "r",
              save_data=True, progress=False)
    data = tmp_path / "r" / "data.npz"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    assert main(["eval", str(tmp_path / "r")]) == 2
    assert "unreadable saved data" in _err(capsys)


# -- 5. integrity: the zoo's index is sealed as run configs are --------------------------------
def test_an_edited_index_entry_or_a_removed_seal_is_refused(tmp_path):
    import json

    from dalab import runs
    root = tmp_path / "zoo"
    run = tmp_path / "r"
    train("source_only", "ellipse-1", "ellipse-2", 5, out=run)
    zoo.add_run(run, "e1", root=root)
    assert [e["name"] for e in zoo.list(root)] == ["e1"]
    index = json.loads((root / "index.json").read_text())
    index["entries"][0]["accuracy"]["target_test"] = 0.999  # an edited accuracy
    (root / "index.json").write_text(json.dumps(index))
    entries, problems = zoo.scan(root)
    assert entries == [] and "edited after it was indexed" in problems[0]
    del index["entries"][0]["sealed"]  # unsealed: left out until resealed
    (root / "index.json").write_text(json.dumps(index))
    assert "dalab zoo reseal" in zoo.scan(root)[1][0]
    # a sealing version's run config with its seal removed is an edit
    info = json.loads((run / "config.json").read_text())
    assert info["sealing"] == 1
    del info["sealed"]
    (run / "config.json").write_text(json.dumps(info))
    with pytest.raises(runs.RunError, match="seal was removed"):
        runs.load_run(run)


def test_reseal_checks_and_seals_an_index_written_before_sealing(tmp_path):
    import json
    root = tmp_path / "zoo"
    train("source_only", "ellipse-1", "ellipse-2", 5, out=tmp_path / "r")
    zoo.add_run(tmp_path / "r", "old", root=root)
    # as a pre-sealing version wrote them: no seal in the index, none in the run config
    index = json.loads((root / "index.json").read_text())
    del index["entries"][0]["sealed"]
    (root / "index.json").write_text(json.dumps(index))
    cfg = json.loads((root / "old" / "config.json").read_text())
    for k in ("sealed", "sealing"):
        del cfg[k]
    (root / "old" / "config.json").write_text(json.dumps(cfg))
    assert zoo.list(root) == []
    assert zoo.reseal(root, log=lambda s: None) == ["old"]
    assert [e["name"] for e in zoo.list(root)] == ["old"]
    assert "sealed" in json.loads((root / "old" / "config.json").read_text())
    zoo.load("old", root=root)


def test_renamed_config_keys_load_old_runs_and_name_the_new_key():
    """Issue 23: CDLM ema -> h_mean_decay, LST-Net augment -> paper_augment and beta1/beta2
    -> adam_beta1/adam_beta2. A config saved under the old names loads as it was; --set with
    an old name is refused, naming the new one."""
    from dalab.methods import build_method
    from dalab.methods.lstnet import LSTNetConfig
    m = build_method("cdlm", input_shape=(1, 28, 28), num_classes=10,
                     config={"ema": 0.5}, saved=True)
    assert m.config.h_mean_decay == 0.5
    m = build_method("lstnet", input_shape=(1, 28, 28), num_classes=10, saved=True,
                     config={"augment": True, "beta1": 0.5, "beta2": 0.9, "width": 0.0625})
    assert (m.config.paper_augment, m.config.adam_beta1, m.config.adam_beta2) == (True, 0.5,
                                                                                0.9)
    with pytest.raises(ConfigError, match="ema is now h_mean_decay"):
        make_config(CDLMConfig, overrides=["ema=0.9"])
    with pytest.raises(ConfigError, match="augment is now paper_augment"):
        make_config(LSTNetConfig, overrides=["augment=true"])
