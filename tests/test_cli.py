import pytest

from dalab.cli import main
from dalab.methods import METHODS


def test_methods_lists_the_registry(capsys):
    assert main(["methods", "-v"]) == 0
    out = capsys.readouterr().out
    for name in METHODS:
        assert name in out
    assert "lambda_w = 1.0" in out


def test_data_list_and_show(capsys, tmp_path):
    assert main(["data", "list"]) == 0
    assert "mnistm" in capsys.readouterr().out
    png = tmp_path / "grid.png"
    assert main(["data", "show", "digits", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "train 1437, test 360" in out
    from PIL import Image
    assert Image.open(png).size == (10 * 30 * 2, 10 * 30 * 2)
    assert main(["data", "show", "moons-s", "--png", str(tmp_path / "p.png")]) == 0


@pytest.mark.parametrize("argv,needle", [
    (["train", "--method", "nope", "--source", "mnist", "--target", "digits"], "source_only"),
    (["train", "--method", "dann", "--source", "mnist", "--target", "nope"], "digits"),
    (["train", "--method", "dann", "--source", "mnist", "--target", "digits",
      "--set", "lr=abc"], "lr"),
    (["train", "--method", "dann", "--source", "mnist", "--target", "digits",
      "--set", "bogus=1"], "valid: batch_size"),
    (["train", "--method", "dann", "--source", "mnist", "--target", "digits",
      "--steps", "0"], "must be >= 1"),
    (["data", "show", "nope"], "mnistm"),
    (["eval", "/nonexistent/run"], "no such file"),
])
def test_bad_input_exits_2_and_lists_what_is_valid(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(argv))
    assert e.value.code == 2
    assert needle in capsys.readouterr().err


def test_missing_data_file_is_a_clear_cli_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DALAB_DATA_DIR", str(tmp_path))
    assert main(["data", "show", "usps"]) == 2
    err = capsys.readouterr().err
    assert "usps.bz2" in err and str(tmp_path) in err
    assert "Traceback" not in err


def test_train_then_eval(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--method", "source_only", "--source", "ellipse-1", "--target",
                 "ellipse-2", "--steps", "20", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "target test accuracy" in text and str(out) in text
    assert main(["eval", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    got = [line.split() for line in lines if "target_test" in line][0]
    assert got[1] == got[3].rstrip(")")  # measured == recorded
