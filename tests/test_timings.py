"""``dalab timings``: speed, embedding and zoo timings are measured and written (small sizes)."""
import json
from dalab import timings, zoo
from dalab.cli import main
from dalab.train import train


def test_measure_speed_times_every_requested_method(capsys):
    rows = timings.measure_speed(["source_only", "bridge"], [("ellipse-1", "ellipse-2")],
                                 steps=4, warmup=1)
    assert [r["method"] for r in rows] == ["source_only", "bridge"]
    for r in rows:
        assert r["steps_per_second"] > 0 and r["cpu_s_per_step"] > 0
        assert r["est_default_run_s"] > 0 and r["device"] == "cpu"
    assert "bridge ellipse-1->ellipse-2" in capsys.readouterr().out


def test_embedding_and_zoo_timings_and_docs(tmp_path):
    # t-SNE only: UMAP's first fit compiles with numba for ~10-60 s (embed's UMAP path has
    # its own tests in test_analysis_embed_eval.py)
    e = timings.embedding_timings(n=80, dim=5, methods=("tsne",), log=lambda s: None)
    assert {"tsne_cold_s", "tsne_warm_s"} <= set(e) and "umap_cold_s" not in e
    assert all(e[k] > 0 for k in e if k.endswith("_s"))
    run = train("dann", "ellipse-1", "ellipse-2", 5, out=tmp_path / "run")[2]
    zoo.add_run(run, "tiny", root=tmp_path / "zoo")
    z = timings.zoo_timings(tmp_path / "zoo", log=lambda s: None)
    assert z["entries"] == 1 and z["bytes"] > 0 and 0 < z["max_load_s"] < 30
    md, js = timings.write_docs({"command": "x", "machine": "m", "loadavg": "0", "embedding": e,
                                 "zoo": z}, tmp_path / "docs")
    assert "| t-SNE (openTSNE, Barnes-Hut) |" in md.read_text() and "| tiny |" in md.read_text()
    assert json.loads(js.read_text())["zoo"]["entries"] == 1


def test_cli_timings_speed_only(tmp_path, capsys):
    assert main(["timings", "--methods", "dann", "--pairs", "ellipse-1:ellipse-2", "--steps",
                 "3", "--no-embed", "--no-zoo", "--docs", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "timings.json").read_text())["speed"]
    assert [r["method"] for r in rows] == ["dann"]
    assert main(["timings", "--methods", "nope", "--no-embed", "--no-zoo", "--docs", ""]) == 2
