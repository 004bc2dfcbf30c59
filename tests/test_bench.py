import json

from dalab.bench import summarize
from dalab.cli import main


def test_quick_bench_writes_docs_and_resumes(tmp_path, capsys):
    argv = ["bench", "--quick", "--methods", "source_only,target_only,dann",
            "--pairs", "ellipse-1:ellipse-2", "--out", str(tmp_path / "runs"),
            "--docs", str(tmp_path / "docs")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("steps/s") >= 3 and out.count("[peer] skada") == 2
    md = (tmp_path / "docs" / "benchmarks.md").read_text()
    rows = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    assert {r["method"] for r in rows} == {"source_only", "target_only", "dann",
                                           "skada:DANN", "skada:SourceOnly"}
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
