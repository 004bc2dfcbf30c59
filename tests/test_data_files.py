"""dalab.data.files: tiny files in each real format, written to tmp_path (nothing downloaded)."""
from __future__ import annotations

import bz2
import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from dalab.data import files
from dalab.data.errors import DataError
from dalab.data.images import resize_images

IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
N_TRAIN, N_TEST = 20, 8


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def write_idx(folder: Path, gz: bool = True, seed: int = 0, size: int = 28,
              n_classes: int = 10) -> dict[str, np.ndarray]:
    """The four IDX files of a tiny MNIST-like set; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        IDX_NAMES[0]: rng.integers(0, 256, (N_TRAIN, size, size), dtype=np.uint8),
        IDX_NAMES[1]: rng.integers(0, n_classes, N_TRAIN, dtype=np.uint8),
        IDX_NAMES[2]: rng.integers(0, 256, (N_TEST, size, size), dtype=np.uint8),
        IDX_NAMES[3]: rng.integers(0, n_classes, N_TEST, dtype=np.uint8),
    }
    for name, arr in arrays.items():
        data = idx_bytes(arr)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return arrays


def libsvm_text(images: np.ndarray, labels: np.ndarray) -> str:
    lines = []
    for img, lab in zip(images, labels):
        feats = " ".join(f"{j + 1}:{v:.6f}" for j, v in enumerate(img.ravel()))
        lines.append(f"{lab} {feats}")
    return "\n".join(lines) + "\n"


def write_usps(folder: Path, seed: int = 0, n_train: int = 12, n_test: int = 5):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in (("usps.bz2", n_train), ("usps.t.bz2", n_test)):
        imgs = rng.uniform(-1, 1, (n, 16, 16)).round(6)
        labels = np.arange(n) % 10 + 1  # 1..10, every value present
        (folder / name).write_bytes(bz2.compress(libsvm_text(imgs, labels).encode()))
        out[name] = (imgs, labels)
    return out


def write_svhn(folder: Path, seed: int = 0, n_train: int = 12, n_test: int = 6):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in (("train_32x32.mat", n_train), ("test_32x32.mat", n_test)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 1..10, 10 = digit 0
        scipy.io.savemat(folder / name, {"X": x, "y": y})
        out[name] = (x, y)
    return out


@pytest.fixture
def root(tmp_path, monkeypatch):
    r = tmp_path / "data"
    r.mkdir()
    monkeypatch.setenv("DALAB_DATA_DIR", str(r))
    return r


# --------------------------------------------------------------------------- root, registry


def test_data_root_env_and_default(tmp_path, monkeypatch):
    monkeypatch.setenv("DALAB_DATA_DIR", str(tmp_path / "x"))
    assert files.data_root() == tmp_path / "x"
    monkeypatch.delenv("DALAB_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert files.data_root() == tmp_path / "home" / ".dalab" / "data"


def test_registry_and_expected_files():
    assert set(files.FILE_DOMAINS) == {"mnist-full", "fashion", "usps", "svhn"}
    assert files.FILE_DOMAINS["mnist-full"] is files.load_mnist_full
    assert files.FILE_DOMAINS["fashion"] is files.load_fashion
    assert files.FILE_DOMAINS["usps"] is files.load_usps
    assert files.FILE_DOMAINS["svhn"] is files.load_svhn
    assert set(files.EXPECTED_FILES) == set(files.FILE_DOMAINS)
    exp = {d: dict(v) for d, v in files.EXPECTED_FILES.items()}
    assert exp["mnist-full"]["mnist/train-images-idx3-ubyte.gz"] == \
        "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert exp["fashion"]["fashion/t10k-labels-idx1-ubyte.gz"] == \
        "bb300cfdad3c16e7a12a480ee83cd310"
    assert exp["usps"] == {"usps/usps.bz2": "ec16c51db3855ca6c91edd34d0e9b197",
                           "usps/usps.t.bz2": "8ea070ee2aca1ac39742fdd1ef5ed118"}
    assert exp["svhn"] == {"svhn/train_32x32.mat": "e26dedcc434d2e4c54c9b2d4a06d8373",
                           "svhn/test_32x32.mat": "eb5a983be6a315427106f1b164d9cef3"}
    for v in files.EXPECTED_FILES.values():
        assert all(len(m) == 32 and int(m, 16) >= 0 for _, m in v)


# --------------------------------------------------------------------------- MNIST / Fashion IDX


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx(root, gz):
    arr = write_idx(root / "mnist", gz=gz, seed=1)
    d = files.load_mnist_full()
    assert d.x.shape == (N_TRAIN + N_TEST, 1, 28, 28) and d.x.dtype == np.float32
    assert d.y.dtype == np.int64 and d.y.shape == (N_TRAIN + N_TEST,)
    raw = np.concatenate([arr[IDX_NAMES[0]], arr[IDX_NAMES[2]]])
    np.testing.assert_allclose(d.x[:, 0], raw / 255, atol=1e-6)
    np.testing.assert_array_equal(d.y, np.concatenate([arr[IDX_NAMES[1]], arr[IDX_NAMES[3]]]))
    assert d.test_mask.dtype == bool and d.test_mask.sum() == N_TEST
    assert not d.test_mask[:N_TRAIN].any() and d.test_mask[N_TRAIN:].all()
    assert d.classes == tuple(str(i) for i in range(10))
    assert len(d.files) == 4 and all(Path(f).parent == root / "mnist" for f in d.files)
    assert all(f.endswith(".gz") == gz for f in d.files)


def test_fashion_explicit_root_and_resize(tmp_path, monkeypatch):
    monkeypatch.setenv("DALAB_DATA_DIR", str(tmp_path / "elsewhere"))  # root= wins
    write_idx(tmp_path / "fashion", seed=2, size=20)
    d = files.load_fashion(tmp_path)
    assert d.x.shape == (N_TRAIN + N_TEST, 1, 28, 28) and d.x.dtype == np.float32
    assert 0 <= d.x.min() and d.x.max() <= 1
    assert d.classes[0] == "T-shirt/top" and d.classes[9] == "Ankle boot"
    assert len(d.classes) == 10


def test_mixed_gz_and_raw(root):
    write_idx(root / "mnist", gz=True, seed=3)
    gz = root / "mnist" / f"{IDX_NAMES[1]}.gz"
    (root / "mnist" / IDX_NAMES[1]).write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    d = files.load_mnist_full()
    assert len(d.y) == N_TRAIN + N_TEST
    assert str(root / "mnist" / IDX_NAMES[1]) in d.files


def test_mnist_missing_file(root):
    write_idx(root / "mnist", seed=4)
    (root / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as e:
        files.load_mnist_full()
    msg = str(e.value)
    assert "t10k-images-idx3-ubyte.gz" in msg
    assert str(root / "mnist" / "t10k-images-idx3-ubyte.gz") in msg
    assert "DALAB_DATA_DIR" in msg
    assert "9fb629c4189551a2d022fa330f9573f3" in msg


def test_missing_root_entirely(tmp_path, monkeypatch):
    monkeypatch.setenv("DALAB_DATA_DIR", str(tmp_path / "nothing"))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
        files.load_fashion()


def _corrupt(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return md5(path)


@pytest.mark.parametrize("case", ["bad_magic", "truncated", "bad_gzip", "truncated_gzip",
                                  "not_gzip"])
def test_mnist_corrupt(root, case):
    write_idx(root / "mnist", seed=5)
    gz = root / "mnist" / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(gz.read_bytes())
    if case == "bad_magic":
        actual = _corrupt(gz, gzip.compress(b"\x00\x00\x09\x03" + raw[4:]))
        what = "magic"
    elif case == "truncated":
        actual = _corrupt(gz, gzip.compress(raw[:-100]))
        what = "truncated"
    elif case == "bad_gzip":
        actual = _corrupt(gz, b"\x1f\x8b" + b"garbage" * 20)
        what = "gzip"
    elif case == "truncated_gzip":
        actual = _corrupt(gz, gz.read_bytes()[:200])
        what = "gzip"
    else:
        actual = _corrupt(gz, b"<html>not found</html>")
        what = "gzip"
    with pytest.raises(DataError) as e:
        files.load_mnist_full()
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and what in msg
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in msg and actual in msg


def test_raw_idx_corrupt_names_raw_file(root):
    write_idx(root / "mnist", gz=False, seed=6)
    raw = root / "mnist" / "t10k-labels-idx1-ubyte"
    actual = _corrupt(raw, raw.read_bytes()[:-3])
    with pytest.raises(DataError) as e:
        files.load_mnist_full()
    msg = str(e.value)
    assert str(raw) in msg and "ec29112dd5afa0611ce80d1b7f02629c" in msg and actual in msg


def test_mnist_count_mismatch(root):
    arr = write_idx(root / "mnist", seed=7)
    (root / "mnist" / f"{IDX_NAMES[1]}.gz").write_bytes(
        gzip.compress(idx_bytes(arr[IDX_NAMES[1]][:-1])))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.*19 labels"):
        files.load_mnist_full()


def test_mnist_label_out_of_range(root):
    write_idx(root / "mnist", seed=8, n_classes=11)
    with pytest.raises(DataError, match="out of range"):
        files.load_mnist_full()


def test_checksum_mismatch_is_not_an_error(root):
    # re-compressed files: different md5 than the standard ones, but they parse
    write_idx(root / "mnist", seed=9)
    for name in IDX_NAMES:
        p = root / "mnist" / f"{name}.gz"
        p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes()), compresslevel=1, mtime=1))
    assert len(files.load_mnist_full().x) == N_TRAIN + N_TEST


# --------------------------------------------------------------------------- USPS


def test_usps(root):
    src = write_usps(root / "usps", seed=10)
    d = files.load_usps()
    (xtr, ytr), (xte, yte) = src["usps.bz2"], src["usps.t.bz2"]
    assert d.x.shape == (17, 1, 28, 28) and d.x.dtype == np.float32
    assert 0 <= d.x.min() and d.x.max() <= 1
    np.testing.assert_array_equal(d.y, np.concatenate([ytr, yte]) - 1)
    assert d.y.dtype == np.int64 and d.y.min() == 0 and d.y.max() == 9
    assert d.test_mask.sum() == 5 and d.test_mask[12:].all()
    expected = resize_images(((np.concatenate([xtr, xte]) + 1) / 2)[:, None].astype(np.float32))
    np.testing.assert_allclose(d.x, expected, atol=1e-5)
    assert d.files == (str(root / "usps" / "usps.bz2"), str(root / "usps" / "usps.t.bz2"))


def test_usps_orientation_and_polarity(root):
    # -1 is background (black), +1 ink (white); features are row-major
    img = -np.ones((2, 16, 16))
    img[0, :8, :] = 1  # top half white
    img[1, :, :8] = 1  # left half white
    folder = root / "usps"
    folder.mkdir()
    for name in ("usps.bz2", "usps.t.bz2"):
        (folder / name).write_bytes(bz2.compress(libsvm_text(img, [3, 10]).encode()))
    d = files.load_usps()
    assert d.x[0, 0, :10].mean() > 0.95 and d.x[0, 0, 18:].mean() < 0.05
    assert d.x[1, 0, :, :10].mean() > 0.95 and d.x[1, 0, :, 18:].mean() < 0.05
    assert list(d.y) == [2, 9, 2, 9]


@pytest.mark.parametrize("case,what", [
    ("not_bz2", "bz2"),
    ("truncated_bz2", "bz2"),
    ("bad_line", "line 2"),
    ("bad_value", "line 1"),
    ("bad_label", "label 11"),
    ("bad_index", "index"),
])
def test_usps_corrupt(root, case, what):
    write_usps(root / "usps", seed=11)
    p = root / "usps" / "usps.t.bz2"
    good = bz2.decompress(p.read_bytes()).decode()
    lines = good.splitlines()
    if case == "not_bz2":
        data = b"PK\x03\x04 zip, not bz2"
    elif case == "truncated_bz2":
        data = p.read_bytes()[:-40]
    elif case == "bad_line":
        data = bz2.compress(("\n".join([lines[0], "3 1-0.5 2:0.1", *lines[2:]])).encode())
    elif case == "bad_value":
        data = bz2.compress(("\n".join(["3 1:abc", *lines[1:]])).encode())
    elif case == "bad_label":
        data = bz2.compress(("\n".join(["11 1:0.5", *lines[1:]])).encode())
    else:
        data = bz2.compress(("\n".join(["3 257:0.5", *lines[1:]])).encode())
    actual = _corrupt(p, data)
    with pytest.raises(DataError) as e:
        files.load_usps()
    msg = str(e.value)
    assert "usps.t.bz2" in msg and what in msg
    assert "8ea070ee2aca1ac39742fdd1ef5ed118" in msg and actual in msg


def test_usps_missing(root):
    write_usps(root / "usps", seed=12)
    (root / "usps" / "usps.bz2").unlink()
    with pytest.raises(DataError) as e:
        files.load_usps()
    msg = str(e.value)
    assert str(root / "usps" / "usps.bz2") in msg and "DALAB_DATA_DIR" in msg
    assert "ec16c51db3855ca6c91edd34d0e9b197" in msg


# --------------------------------------------------------------------------- SVHN


def test_svhn(root):
    src = write_svhn(root / "svhn", seed=13)
    d = files.load_svhn()
    (xtr, ytr), (xte, yte) = src["train_32x32.mat"], src["test_32x32.mat"]
    assert d.x.shape == (18, 3, 28, 28) and d.x.dtype == np.float32
    assert 0 <= d.x.min() and d.x.max() <= 1
    assert d.y.dtype == np.int64
    np.testing.assert_array_equal(d.y, np.concatenate([ytr, yte]).ravel() % 10)
    assert d.y[9] == 0 and ytr[9, 0] == 10  # label 10 means digit 0
    assert d.test_mask.sum() == 6 and d.test_mask[12:].all()
    # X is (H, W, C, N): sample n, channel c, row h, col w is X[h, w, c, n]
    expected = resize_images(xte.transpose(3, 2, 0, 1).astype(np.float32) / 255)
    np.testing.assert_allclose(d.x[12:], expected, atol=1e-5)
    assert d.classes == tuple(str(i) for i in range(10))


@pytest.mark.parametrize("case,what", [
    ("no_X", "no X"),
    ("garbage", "loadmat"),
    ("truncated", "train_32x32.mat"),
    ("bad_label", "labels"),
    ("gray_X", "X is"),
])
def test_svhn_corrupt(root, case, what):
    write_svhn(root / "svhn", seed=14)
    p = root / "svhn" / "train_32x32.mat"
    if case == "no_X":
        scipy.io.savemat(p, {"images": np.zeros((2, 2)), "y": np.ones((3, 1))})
    elif case == "garbage":
        p.write_bytes(b"\x00" * 50)
    elif case == "truncated":
        p.write_bytes(p.read_bytes()[:300])
    elif case == "bad_label":
        scipy.io.savemat(p, {"X": np.zeros((32, 32, 3, 2), np.uint8),
                             "y": np.array([[1], [11]], np.uint8)})
    else:
        scipy.io.savemat(p, {"X": np.zeros((32, 32, 2), np.uint8), "y": np.ones((2, 1))})
    actual = md5(p)
    with pytest.raises(DataError) as e:
        files.load_svhn()
    msg = str(e.value)
    assert "train_32x32.mat" in msg and what in msg
    assert "e26dedcc434d2e4c54c9b2d4a06d8373" in msg and actual in msg
    if case == "no_X":
        assert "images" in msg  # says what the file does hold


def test_svhn_count_mismatch_and_missing(root):
    write_svhn(root / "svhn", seed=15)
    scipy.io.savemat(root / "svhn" / "test_32x32.mat",
                     {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.ones((3, 1), np.uint8)})
    with pytest.raises(DataError, match=r"test_32x32.mat.*4 images.*3 labels"):
        files.load_svhn()
    (root / "svhn" / "test_32x32.mat").unlink()
    with pytest.raises(DataError, match=r"test_32x32.mat.*DALAB_DATA_DIR.*eb5a983be6a3154"):
        files.load_svhn()


# --------------------------------------------------------------------------- folder


def save(path: Path, arr: np.ndarray, mode: str | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode).save(path)


def gray_folder(base: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    save(base / "zebra" / "a.png", rng.integers(0, 256, (28, 28), dtype=np.uint8))
    save(base / "zebra" / "b.bmp", rng.integers(0, 256, (40, 30), dtype=np.uint8))
    save(base / "ant" / "c.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    save(base / "ant" / "sub" / "d.tif", rng.integers(0, 256, (28, 28), dtype=np.uint8))
    save(base / "ant" / "e.jpg", np.full((32, 32), 200, np.uint8))
    (base / "ant" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (base / ".hidden_class").mkdir()
    return base


def test_folder_gray(tmp_path):
    base = gray_folder(tmp_path / "f", seed=16)
    a = np.asarray(Image.open(base / "zebra" / "a.png"))
    d = files.load_folder(base)
    assert d.classes == ("ant", "zebra")  # sorted; hidden folder ignored
    assert d.x.shape == (5, 1, 28, 28) and d.x.dtype == np.float32
    assert 0 <= d.x.min() and d.x.max() <= 1
    assert list(d.y) == [0, 0, 0, 1, 1] and d.y.dtype == np.int64
    assert d.test_mask is None
    assert [Path(f).name for f in d.files] == ["c.png", "e.jpg", "d.tif", "a.png", "b.bmp"]
    np.testing.assert_allclose(d.x[3, 0], a / 255, atol=1e-6)  # 28x28: untouched
    assert abs(d.x[1].mean() - 200 / 255) < 0.02  # the JPG


def test_folder_rgb_and_alpha(tmp_path):
    base = gray_folder(tmp_path / "f", seed=17)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 0] = 255           # red everywhere ...
    rgba[:14, :, 3] = 255        # ... opaque on top, transparent below
    save(base / "zebra" / "z.png", rgba, "RGBA")
    save(base / "ant" / "g.webp", np.full((28, 28, 3), 90, np.uint8))  # RGB file, gray picture
    d = files.load_folder(base)
    assert d.x.shape == (7, 3, 28, 28)
    i = [Path(f).name for f in d.files].index("z.png")
    np.testing.assert_allclose(d.x[i, 0, :14], 1.0)
    np.testing.assert_allclose(d.x[i, :, 14:], 0.0)  # transparent -> black
    np.testing.assert_allclose(d.x[i, 1:, :14], 0.0)
    j = [Path(f).name for f in d.files].index("a.png")  # gray images get 3 equal channels
    np.testing.assert_array_equal(d.x[j, 0], d.x[j, 2])


def test_folder_rgb_file_of_gray_picture_stays_gray(tmp_path):
    save(tmp_path / "f" / "one" / "x.png", np.full((10, 10, 3), 50, np.uint8))
    save(tmp_path / "f" / "two" / "y.gif", np.full((10, 10), 50, np.uint8))
    d = files.load_folder(str(tmp_path / "f"))
    assert d.x.shape == (2, 1, 28, 28)
    np.testing.assert_allclose(d.x, 50 / 255, atol=1e-5)


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        files.load_folder(tmp_path / "nope")
    flat = tmp_path / "flat"
    save(flat / "a.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(DataError, match="no class sub-folders"):
        files.load_folder(flat)
    base = gray_folder(tmp_path / "f", seed=18)
    (base / "empty").mkdir()
    (base / "empty" / ".keep").write_text("")
    with pytest.raises(DataError, match=r"empty.*no image files"):
        files.load_folder(base)
    (base / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt"):
        files.load_folder(base)
    (base / "empty" / "notes.txt").unlink()
    (base / "empty" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(DataError, match=r"broken\.png"):
        files.load_folder(base)


# --------------------------------------------------------------------------- npz


@pytest.mark.parametrize("layout", ["nhw", "nhwc1", "nhwc3", "nchw3", "float"])
def test_npz_layouts(tmp_path, layout):
    rng = np.random.default_rng(19)
    img = rng.integers(0, 256, (6, 28, 28, 3), dtype=np.uint8)
    y = np.array([0, 4, 2, 2, 4, 0])
    x = {"nhw": img[..., 0], "nhwc1": img[..., :1], "nhwc3": img,
         "nchw3": img.transpose(0, 3, 1, 2), "float": img[..., 0] / 255.0}[layout]
    np.savez(tmp_path / "d.npz", x=x, y=y)
    d = files.load_npz(tmp_path / "d.npz")
    c = 3 if layout in ("nhwc3", "nchw3") else 1
    assert d.x.shape == (6, c, 28, 28) and d.x.dtype == np.float32
    np.testing.assert_allclose(d.x, (img.transpose(0, 3, 1, 2)[:, :c]) / 255, atol=1e-6)
    np.testing.assert_array_equal(d.y, y)
    assert d.y.dtype == np.int64
    assert d.classes == ("0", "1", "2", "3", "4") and d.test_mask is None
    assert d.files == (str(tmp_path / "d.npz"),)


def test_npz_resize_and_classes(tmp_path):
    x = np.zeros((3, 16, 16), np.uint8)
    x[:, :8] = 255
    np.savez(tmp_path / "d.npz", x=x, y=np.array([[1], [0], [1]]),
             classes=np.array(["cat", "dog"]))
    d = files.load_npz(str(tmp_path / "d.npz"))
    assert d.x.shape == (3, 1, 28, 28)
    assert d.x[0, 0, :10].mean() > 0.95 and d.x[0, 0, 18:].mean() < 0.05
    assert d.classes == ("cat", "dog") and list(d.y) == [1, 0, 1]


@pytest.mark.parametrize("arrays,what", [
    ({"images": np.zeros((2, 28, 28)), "labels": np.zeros(2)}, r"no array x.*images, labels"),
    ({"x": np.zeros((2, 28, 28))}, r"no array y.*holds: x"),
    ({"x": np.zeros((3, 28, 28)), "y": np.zeros(2, int)}, r"3 images.*2 labels"),
    ({"x": np.zeros((2, 28, 28, 4)), "y": np.zeros(2, int)}, r"shape \(2, 28, 28, 4\)"),
    ({"x": np.zeros((2, 28)), "y": np.zeros(2, int)}, r"shape \(2, 28\)"),
    ({"x": np.zeros((2, 28, 28)), "y": np.array([0, -1])}, "negative"),
    ({"x": np.zeros((2, 28, 28)), "y": np.array([0.5, 1.0])}, "non-integer"),
    ({"x": np.full((2, 28, 28), 2.0), "y": np.zeros(2, int)}, r"values in \[2.0, 2.0\]"),
    ({"x": np.full((2, 28, 28), np.nan), "y": np.zeros(2, int)}, "nan"),
    ({"x": np.full((2, 28, 28), 300, np.int32), "y": np.zeros(2, int)}, "0-255"),
    ({"x": np.zeros((2, 28, 28)), "y": np.array([0, 2]), "classes": np.array(["a", "b"])},
     r"2 names.*label 2"),
    ({"x": np.zeros((0, 28, 28)), "y": np.zeros(0, int)}, "no images"),
])
def test_npz_errors(tmp_path, arrays, what):
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(DataError, match=what) as e:
        files.load_npz(p)
    assert "bad.npz" in str(e.value)


def test_npz_not_npz(tmp_path):
    with pytest.raises(DataError, match=r"missing\.npz.*does not exist"):
        files.load_npz(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match=r"junk\.npz"):
        files.load_npz(tmp_path / "junk.npz")
    good = tmp_path / "good.npz"
    np.savez(good, x=np.zeros((2, 28, 28)), y=np.zeros(2, int))
    (tmp_path / "cut.npz").write_bytes(good.read_bytes()[:100])
    with pytest.raises(DataError, match=r"cut\.npz"):
        files.load_npz(tmp_path / "cut.npz")
    np.savez(tmp_path / "obj.npz", x=np.zeros((2, 28, 28)), y=np.array([0, None], object))
    with pytest.raises(DataError, match=r"obj\.npz"):
        files.load_npz(tmp_path / "obj.npz")
    np.save(tmp_path / "one.npy", np.zeros((2, 28, 28)))
    with pytest.raises(DataError, match=r"one\.npy.*single"):
        files.load_npz(tmp_path / "one.npy")


def test_loaded_is_frozen(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((1, 28, 28), np.uint8), y=np.zeros(1, int))
    d = files.load_npz(tmp_path / "d.npz")
    with pytest.raises(AttributeError):
        d.x = None


def test_folder_classes_sorted_whatever_the_listing_order(tmp_path, monkeypatch):
    for name in ("b", "10", "A", "9"):
        save(tmp_path / "f" / name / "x.png", np.full((8, 8), 10 * len(name), np.uint8))
    listing = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: iter(sorted(listing(self), reverse=True)))
    d = files.load_folder(tmp_path / "f")
    assert d.classes == ("10", "9", "A", "b")  # plain sorted() of the names
    assert list(d.y) == [0, 1, 2, 3]
    np.testing.assert_allclose(d.x[:, 0, 0, 0], [20 / 255, 10 / 255, 10 / 255, 10 / 255],
                               atol=1e-6)


def test_folder_big_16bit_and_palette_images(tmp_path):
    big = np.zeros((300, 400), np.uint8)
    big[:, :200] = 255  # left half white
    save(tmp_path / "f" / "a" / "big.png", big)
    deep = np.full((20, 20), 30000, np.uint16)
    save(tmp_path / "f" / "b" / "deep.png", deep)
    pal = Image.fromarray(np.full((12, 12), 77, np.uint8)).convert("P")
    pal.save(tmp_path / "f" / "b" / "pal.gif")
    d = files.load_folder(tmp_path / "f")
    assert d.x.shape == (3, 1, 28, 28)  # all gray
    direct = resize_images(big[None, None] / np.float32(255))
    np.testing.assert_allclose(d.x[0], direct[0], atol=0.05)
    assert d.x[0, 0, :, :12].min() > 0.95 and d.x[0, 0, :, 16:].max() < 0.05
    np.testing.assert_allclose(d.x[1], 30000 / 65535, atol=1e-4)
    np.testing.assert_allclose(d.x[2], 77 / 255, atol=1e-5)
