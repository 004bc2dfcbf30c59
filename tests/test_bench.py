import json

from dalab.bench import summarize
from dalab.cli import main


def test_quick_bench_writes_docs_and_resumes(tmp_path, capsys):
    argv = ["bench", "--quick", "--methods", "source_only,target_only,dann",
            "--pairs", "ellipse-1:ellipse-2", "--out", str(tmp_path / "runs"),
            "--docs", str(tmp_path / "docs")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("steps/s") >= 3 and out.count("[peer] skada") == 3
    md = (tmp_path / "docs" / "benchmarks.md").read_text()
    rows = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    assert {r["method"] for r in rows} == {"source_only", "target_only", "dann",
                                           "skada:DANN", "skada:SourceOnly", "skada:DeepCoral"}
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
    assert "steps/s)" not in text and not (out / "dann_ellipse-1_to_ellipse-2_seed0").exists()
    assert "| ellipse-1->ellipse-2 | source_only |" in (tmp_path / "d" / "benchmarks.md").read_text()


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
    assert (out / "dann_ellipse-1_to_ellipse-2_seed0" / "selection.json").is_file()


def row_tests(row):
    return [s["target_test"] for s in row["scores"]]


def test_first_seed_adds_seeds_that_extend_row_joins_exactly(tmp_path, capsys):
    """Seeds 0-1 in one folder equal seed 0 joined with seed 1 trained later with
    --first-seed 1 (tools/merge_bench.py --extend); another recipe is refused."""
    import pytest

    from dalab.bench import extend_row
    base = ["bench", "--methods", "source_only", "--pairs", "ellipse-1:ellipse-2",
            "--steps", "20", "--no-peers", "--docs", "", "--no-selection"]
    assert main(base + ["--seeds", "2", "--out", str(tmp_path / "both")]) == 0
    assert main(base + ["--seeds", "1", "--out", str(tmp_path / "a")]) == 0
    assert main(base + ["--seeds", "1", "--first-seed", "1", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert (tmp_path / "b" / "source_only_ellipse-1_to_ellipse-2_seed1").is_dir()
    assert not (tmp_path / "b" / "source_only_ellipse-1_to_ellipse-2_seed0").exists()
    (both,), (a,), (b,) = (summarize(tmp_path / d) for d in ("both", "a", "b"))
    joined = extend_row(a, b)
    assert joined["seeds"] == 2 and joined["target_acc"] == both["target_acc"]
    assert abs(joined["mean"] - both["mean"]) < 1e-12 and abs(joined["sd"] - both["sd"]) < 1e-12
    # extras: values 0.4, 0.6 (mean 0.5, sd 0.1414) joined with 0.8 -> mean 0.6, sd 0.2
    pooled = extend_row({**a, "seeds": 2, "target_test_raw": [0.5, 2 ** 0.5 / 10]},
                        {**b, "seeds": 1, "target_test_raw": [0.8, 0.0]})
    assert abs(pooled["target_test_raw"][0] - 0.6) < 1e-12
    assert abs(pooled["target_test_raw"][1] - 0.2) < 1e-12
    with pytest.raises(ValueError, match="engine"):
        extend_row(a, {**b, "engine": ["EMA 0.99"]})
    assert main(base + ["--first-seed", "-1", "--out", str(tmp_path / "c")]) == 2
