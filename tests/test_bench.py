import json

import pytest

from dalab import recipes
from dalab.bench import run_bench, run_name, summarize
from dalab.cli import main


@pytest.mark.slow
def test_quick_bench_writes_docs_and_resumes(tmp_path, capsys):
    argv = ["bench", "--quick", "--methods", "source_only,target_only,dann",
            "--pairs", "ellipse-1:ellipse-2", "--out", str(tmp_path / "runs"),
            "--docs", str(tmp_path / "docs"), "--peers", "DANN"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("steps/s") >= 3 and out.count("[peer] skada") == 1
    md = (tmp_path / "docs" / "benchmarks.md").read_text()
    rows = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    assert {r["method"] for r in rows} == {"source_only", "target_only", "dann", "skada:DANN"}
    assert all(r["runs"] == [run_name(r["method"].replace(":", "-"), "ellipse-1",
                                      "ellipse-2", 0)] for r in rows)
    dann = next(r for r in rows if r["method"] == "dann")
    so = next(r for r in rows if r["method"] == "source_only")
    to = next(r for r in rows if r["method"] == "target_only")
    if to["mean"] > so["mean"]:
        expected = (dann["mean"] - so["mean"]) / (to["mean"] - so["mean"])
        assert abs(dann["gap_closed"] - expected) < 1e-9
    assert "| ellipse-1->ellipse-2 | dann |" in md and "--quick" in md
    assert "| ellipse-1->ellipse-2 | skada:DANN |" in md
    # resumable: the second call trains nothing
    assert main(argv) == 0
    assert capsys.readouterr().out.count("already there, skipped") == 3
    assert summarize(tmp_path / "runs") == rows


def test_bench_rejects_unknown_names(tmp_path, capsys):
    assert main(["bench", "--quick", "--methods", "nope", "--out", str(tmp_path),
                 "--no-peers"]) == 2
    assert "source_only" in capsys.readouterr().err
    assert main(["bench", "--quick", "--pairs", "mnist:nope", "--out", str(tmp_path),
                 "--no-peers"]) == 2


def test_bench_peers_only_and_unknown_peer(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["bench", "--methods", "none", "--peers", "DeepCoral", "--steps", "10",
                 "--seeds", "1", "--pairs", "ellipse-1:ellipse-2", "--out", str(out),
                 "--docs", "", "--no-selection"]) == 0
    assert [r["method"] for r in summarize(out)] == ["skada:DeepCoral"]
    assert not list(out.glob("*/config.json"))  # no method of ours was trained
    assert main(["bench", "--methods", "none", "--peers", "CORAL", "--out", str(out)]) == 2
    assert "DeepCoral" in capsys.readouterr().err


def test_summarize_only_trains_nothing(tmp_path, capsys):
    assert main(["bench", "--summarize-only", "--out", str(tmp_path / "none"), "--docs", ""]) == 2
    assert "no benchmark runs" in capsys.readouterr().err
    out = tmp_path / "runs"
    assert main(["bench", "--quick", "--no-peers", "--methods", "source_only", "--pairs",
                 "ellipse-1:ellipse-2", "--out", str(out), "--docs", ""]) == 0
    capsys.readouterr()
    assert main(["bench", "--summarize-only", "--methods", "dann", "--pairs",
                 "ellipse-1:ellipse-2", "--out", str(out), "--docs", str(tmp_path / "d")]) == 0
    text = capsys.readouterr().out
    assert "steps/s)" not in text and not (out / run_name("dann", "ellipse-1", "ellipse-2",
                                                          0)).exists()
    assert "| ellipse-1->ellipse-2 | source_only |" in (tmp_path / "d" / "benchmarks.md").read_text()


@pytest.mark.slow
def test_bench_engine_options_and_the_selection_table(tmp_path, capsys):
    """Two seeds with the EMA option: the table names the option, and the selection table
    gives, per score, the test accuracy of the seed it picks (one of the seeds')."""
    from dalab.analysis.selection import SCORES
    out, docs = tmp_path / "runs", tmp_path / "docs"
    assert main(["bench", "--methods", "dann", "--pairs", "ellipse-1:ellipse-2", "--seeds", "2",
                 "--steps", "20", "--no-peers", "--ema", "0.9", "--out", str(out),
                 "--docs", str(docs)]) == 0
    capsys.readouterr()
    rows = json.loads((docs / "benchmarks.json").read_text())
    assert rows[0]["engine"] == ["EMA 0.9"]
    sel = json.loads((docs / "benchmarks-selection.json").read_text())
    (row,) = sel
    assert row["method"] == "dann" and row["seeds"] == 2
    assert row["final_mean"] == rows[0]["mean"]
    for key in ("oracle", *SCORES):
        assert row[key] in row_tests(row), key
    md = (docs / "benchmarks.md").read_text()
    assert "Selection without target labels" in md and "| EMA 0.9 |" in md
    assert (out / run_name("dann", "ellipse-1", "ellipse-2", 0) / "selection.json").is_file()


def row_tests(row):
    return [s["target_test"] for s in row["scores"]]


def test_a_smoke_bench_never_touches_the_committed_table_or_the_campaign(tmp_path, capsys,
                                                                       monkeypatch):
    """Issue 24: `dalab bench --quick` from a checkout trains into runs/bench-quick and leaves
    docs/ alone; one-off flags are refused for the campaign folder bench/, before training."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    table = tmp_path / "docs" / "benchmarks.md"
    table.write_text("the committed table\n")
    assert main(["bench", "--quick", "--methods", "source_only", "--pairs",
                 "ellipse-1:ellipse-2", "--no-selection"]) == 0
    captured = capsys.readouterr()
    assert table.read_text() == "the committed table\n"
    assert not (tmp_path / "docs" / "benchmarks.json").exists()
    assert "docs/benchmarks.md left as it is" in captured.err
    assert (tmp_path / "runs" / "bench-quick" / run_name("source_only", "ellipse-1",
                                                         "ellipse-2", 0)).is_dir()
    for flags in (["--steps", "20"], ["--ema", "0.9"], ["--augment"], ["--quick"]):
        assert main(["bench", "--out", "bench", "--methods", "dann", "--pairs",
                     "ellipse-1:ellipse-2", "--no-peers", *flags]) == 2
        assert "one-off runs" in capsys.readouterr().err, flags
    assert not (tmp_path / "bench").exists()


@pytest.mark.slow
def test_a_run_of_another_recipe_is_retrained_never_merged(tmp_path):
    """The recipe is recorded in each run; a changed recipe (here: other steps) retrains the
    run, and a summary restricted to the current recipes leaves an old run out."""
    pair = [("ellipse-1", "ellipse-2")]
    old = {"dann": recipes.Recipe("dann-try", "dann", 20)}
    new = {"dann": recipes.Recipe("dann-try", "dann", 30)}
    run_bench(tmp_path, ["dann"], pair, seeds=2, recipes=old, log=lambda m: None)
    assert old["dann"].key() != new["dann"].key()
    (row,) = summarize(tmp_path)
    assert row["recipe"] == ["dann-try"] and row["steps"] == [20]
    # the current recipe is the new one: the old runs make no row
    assert summarize(tmp_path, keys={"dann": new["dann"].key()}) == []
    logs = []
    run_bench(tmp_path, ["dann"], pair, seeds=1, recipes=new, log=logs.append)
    assert "another recipe" in logs[0]
    (row,) = summarize(tmp_path, keys={"dann": new["dann"].key()})
    assert row["seeds"] == 1 and row["steps"] == [30]
    info = json.loads((tmp_path / run_name("dann", *pair[0], 0) / "config.json").read_text())
    assert info["recipe"]["key"] == new["dann"].key() and info["weights"]["stored_as"] == \
        "float16"
    # a recipe's key follows the resolved config: a changed default is a new recipe
    a = recipes.Recipe("x", "dann", 20, overrides=("lr=0.01",))
    assert a.key() != recipes.Recipe("x", "dann", 20, overrides=("lr=0.02",)).key()
    assert a.key() != recipes.Recipe("x", "dann", 20, overrides=("lr=0.01",), revision=2).key()
    assert a.key() == recipes.Recipe("x", "dann", 20, overrides=("lr=0.01",)).key()


def test_every_method_has_one_current_recipe_that_builds():
    from dalab.methods import METHODS
    assert set(recipes.CURRENT) == set(METHODS)
    for m, r in recipes.CURRENT.items():
        assert r.method == m and r.steps > 0 and r.key().startswith(r.name + "@")
    with pytest.raises(KeyError, match="recipes"):
        recipes.current("nope")


def test_missing_runs_names_the_short_rows():
    from dalab.bench import missing_runs
    rows = [{"source": "a", "target": "b", "method": "dann", "seeds": 3},
            {"source": "a", "target": "b", "method": "cdlm", "seeds": 1}]
    assert missing_runs(rows, [("a", "b")], ["dann", "cdlm"], ("DANN",)) == [
        "a->b cdlm (1 of 3)", "a->b skada:DANN (0 of 3)"]
    assert missing_runs(rows[:1], [("a", "b")], ["dann"]) == []


@pytest.mark.slow
def test_results_page_view_lists_a_rows_runs_with_their_curves(tmp_path):
    """The Results page's view of a row (dalab.ui.bench_runs): its runs, recipe and curves."""
    from dalab.ui.bench_runs import row_runs, runs_table
    from dalab.ui.figures import row_curves_figure
    rec = {"dann": recipes.Recipe("dann-try", "dann", 120)}
    run_bench(tmp_path, ["dann"], [("ellipse-1", "ellipse-2")], seeds=2, recipes=rec,
              log=lambda m: None)
    (row,) = summarize(tmp_path)
    (tmp_path / "x_to_y" / "dann" / "seed9").mkdir(parents=True)
    (tmp_path / "x_to_y" / "dann" / "seed9" / "peer.json").write_text("[")
    records = row_runs(tmp_path, {**row, "runs": row["runs"] + ["x_to_y/dann/seed9"]},
                       window=50)
    assert [r["seed"] for r in records] == [0, 1, None]
    assert records[0]["recipe"] == rec["dann"].key() and records[0]["status"] == "finished"
    assert records[0]["loss_steps"] == [50, 100, 120] and len(records[0]["loss"]) == 3
    assert records[0]["eval_steps"][-1] == 120
    assert records[0]["eval_target"][-1] == records[0]["target_test"]
    assert "unreadable" in records[2]["problem"] and not records[2]["loss"]
    assert [t["seed"] for t in runs_table(records)] == [0, 1, None]
    fig = row_curves_figure(records)
    assert len(fig.data) == 4  # two seeds x (loss, accuracy)


def test_gpu_recipes_are_written_down_and_refused_on_the_cpu(tmp_path, capsys):
    r = recipes.GPU_ONLY["lstnet"]
    assert r.device == "cuda" and "width=1.0" in r.overrides and r.config()["width"] == 1.0
    assert main(["bench", "--gpu-recipes", "--out", str(tmp_path)]) == 2
    assert "--device cuda" in capsys.readouterr().err
    assert main(["bench", "--gpu-recipes", "--device", "cuda", "--methods", "dann",
                 "--out", str(tmp_path)]) == 2
    assert not any(tmp_path.iterdir())


def test_the_committer_commits_one_run_folder_not_the_others_checkpoints(tmp_path):
    """dalab bench --commit commits the finished (or checkpointed) run alone: another run's
    checkpoint in progress is not dragged into the history at every commit."""
    import subprocess

    from dalab.bench import git_committer
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    bench = tmp_path / "bench"
    for run in ("a/m/seed0", "a/m/seed1"):
        (bench / run).mkdir(parents=True)
        (bench / run / "config.json").write_text(run)
    (tmp_path / "elsewhere.txt").write_text("not mine")
    subprocess.run(["git", "config", "user.email", "t@t"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "user.name", "t"], cwd=tmp_path, check=True)
    logs = []
    commit = git_committer(bench, log=logs.append)
    commit("bench: a/m/seed0", bench / "a" / "m" / "seed0")
    files = subprocess.run(["git", "ls-files"], cwd=tmp_path, capture_output=True, text=True,
                           check=True).stdout.split()
    assert files == ["bench/a/m/seed0/config.json"], files
    commit("again, nothing new", bench / "a" / "m" / "seed0")  # no empty commit, no error
    n = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=tmp_path,
                       capture_output=True, text=True, check=True).stdout.strip()
    assert n == "1" and logs == ["committed: bench: a/m/seed0"]
