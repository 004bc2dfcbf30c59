"""Domains read from files the user puts on disk: MNIST, Fashion-MNIST, USPS, SVHN, and custom
``folder:PATH`` / ``npz:PATH`` domains.

Nothing here downloads anything. The standard files live under the data root
(``$DALAB_DATA_DIR``, else ``~/.dalab/data``); docs/data-files.md says where each one goes.

Every loader returns a :class:`Loaded` in the package convention: images float32 in [0, 1] with
shape ``(N, C, 28, 28)`` (C = 1 gray, 3 RGB), labels int64 ``(N,)``. Every problem with a file
is a :class:`~dalab.data.errors.DataError` naming the file and saying what is wrong; for the
standard files the message also gives the md5 of the standard distribution file (and, for a
corrupt file, the file's own md5) so the user can compare. A checksum that differs on a file
that parses fine is not an error (users re-compress files), and md5s are only computed on error.
"""
from __future__ import annotations

import bz2
import hashlib
import os
import re
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import DataError
from .images import SIZE, resize_images, to_rgb

__all__ = ["EXPECTED_FILES", "FILE_DOMAINS", "Loaded", "data_root", "load_fashion",
           "load_folder", "load_mnist_full", "load_npz", "load_svhn", "load_usps"]


@dataclass(frozen=True, eq=False)
class Loaded:
    """One loaded domain."""

    x: np.ndarray                 # float32 (N, C, 28, 28) in [0, 1]
    y: np.ndarray                 # int64 (N,)
    classes: tuple[str, ...]      # class names, index = label
    test_mask: np.ndarray | None  # bool (N,), True = official test sample; None = no official split
    files: tuple[str, ...]        # the files read, for provenance


DIGIT_CLASSES: tuple[str, ...] = tuple(str(i) for i in range(10))
FASHION_CLASSES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

_IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
              "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# domain -> [(path relative to the data root, md5 of the standard distribution file)]
# (the md5 lists torchvision checks its downloads against)
EXPECTED_FILES: dict[str, list[tuple[str, str]]] = {
    "mnist-full": [
        ("mnist/train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("mnist/train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("mnist/t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("mnist/t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ],
    "fashion": [
        ("fashion/train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("fashion/train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("fashion/t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("fashion/t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ],
    "usps": [
        ("usps/usps.bz2", "ec16c51db3855ca6c91edd34d0e9b197"),
        ("usps/usps.t.bz2", "8ea070ee2aca1ac39742fdd1ef5ed118"),
    ],
    "svhn": [
        ("svhn/train_32x32.mat", "e26dedcc434d2e4c54c9b2d4a06d8373"),
        ("svhn/test_32x32.mat", "eb5a983be6a315427106f1b164d9cef3"),
    ],
}

_CHUNK = 2048  # images converted/resized at a time, keeps memory flat for big sets


# --------------------------------------------------------------------------- root and errors


def data_root() -> Path:
    """The folder holding the standard files: ``$DALAB_DATA_DIR``, else ``~/.dalab/data``."""
    env = os.environ.get("DALAB_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    return Path.home() / ".dalab" / "data"


def _md5(path: Path) -> str:
    """md5 of a file (only computed when something is wrong with it)."""
    try:
        h = hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError as e:
        return f"unreadable ({e.strerror or e})"


@dataclass(frozen=True)
class _Std:
    """A standard file of a file domain, for locating it and for error messages."""

    domain: str
    rel: str        # path under the root of the standard distribution file
    md5: str        # md5 of that standard file
    root: Path

    @property
    def path(self) -> Path:
        return self.root / self.rel

    @property
    def name(self) -> str:
        return Path(self.rel).name

    def missing(self, also: Path | None = None) -> DataError:
        alt = f" (or the uncompressed {also.name} next to it)" if also is not None else ""
        needed = ", ".join(rel for rel, _ in EXPECTED_FILES[self.domain])
        return DataError(
            f"{self.domain}: file {self.name} not found. Expected it at {self.path}{alt}. "
            f"The data root is {self.root}; set $DALAB_DATA_DIR to use another folder. "
            f"The standard {self.name} has md5 {self.md5}. "
            f"The {self.domain} domain needs, under the data root: {needed}. "
            f"Nothing is downloaded automatically; see docs/data-files.md.")

    def corrupt(self, path: Path, what: str) -> DataError:
        note = ""
        if path.name != self.name:
            note = f" (that is the md5 of the compressed {self.name}, so an uncompressed " \
                   f"file's md5 differs anyway)"
        return DataError(
            f"{self.domain}: {path} is corrupt or not the expected file: {what}. "
            f"The standard {self.name} has md5 {self.md5}{note}; this file's md5 is "
            f"{_md5(path)}. Replace it with a fresh copy; see docs/data-files.md.")


def _stds(domain: str, root: Path | None) -> list[_Std]:
    r = data_root() if root is None else Path(root).expanduser()
    return [_Std(domain, rel, md5, r) for rel, md5 in EXPECTED_FILES[domain]]


def _read_bytes(std: _Std, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{std.domain}: cannot read {path}: {e.strerror or e}") from None


# --------------------------------------------------------------------------- IDX (MNIST, Fashion)

_GZIP_MAGIC = b"\x1f\x8b"


def _find_idx(std: _Std) -> Path:
    """The raw IDX file if it is there, else the standard ``.gz``."""
    gz = std.path
    raw = gz.with_suffix("")  # strip ".gz"
    for p in (raw, gz):
        if p.is_file():
            return p
    raise std.missing(also=raw)


MAX_VALUES = 1 << 29  # values (pixels x channels) one data file may hold: 512 M, 1.7 x SVHN's
MAX_IMAGE_PIXELS = 4096 * 4096  # pixels of one image in an npz domain (they become 28 x 28)
USPS_MAX_LINES = 20_000   # the standard files hold 7,291 and 2,007 samples
USPS_MAX_TEXT = 64 << 20  # ~4 KB a sample: 64 MB is 16,000 full lines


def _gunzip_idx(std: _Std, path: Path, data: bytes, ndim: int) -> bytes:
    """Inflate a gzipped IDX file no further than its header promises (a gzip bomb whose
    header says 60,000 x 28 x 28 stops one byte past 47 MB), and no header may promise more
    than ``MAX_VALUES`` bytes."""
    head_len = 4 + 4 * ndim
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        head = d.decompress(data, head_len)
        if len(head) == head_len and head[:3] == b"\x00\x00\x08" and head[3] == ndim:
            dims = [int(v) for v in np.frombuffer(head, ">u4", count=ndim, offset=4)]
            size = int(np.prod(dims, dtype=np.int64))
            if size > MAX_VALUES:
                raise std.corrupt(path, f"its header says {' x '.join(map(str, dims))} = "
                                        f"{size:,} bytes, more than the {MAX_VALUES:,} a data "
                                        f"file may hold")
            body = d.decompress(d.unconsumed_tail, size + 1)
            if len(body) > size:
                raise std.corrupt(path, f"inflates past the {size + head_len:,} bytes its "
                                        f"header says ({' x '.join(map(str, dims))})")
            if not d.eof and len(body) == size and d.decompress(d.unconsumed_tail, 1):
                raise std.corrupt(path, "has trailing bytes after what its header says")
            if not d.eof and len(body) < size:
                raise std.corrupt(path, "bad gzip data (truncated: the compressed stream "
                                        "ends before its end marker)")
            return head + body
        return head + d.decompress(d.unconsumed_tail, 64)  # a bad header: reported below
    except (OSError, EOFError, zlib.error) as e:
        raise std.corrupt(path, f"bad gzip data ({e or 'truncated'})") from None


def _read_idx(std: _Std, path: Path, ndim: int) -> np.ndarray:
    """Parse an unsigned-byte IDX file (gzipped or not) into a uint8 array with ``ndim`` dims."""
    data = _read_bytes(std, path)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip_idx(std, path, data, ndim)
    elif path.suffix == ".gz" and data[:3] != b"\x00\x00\x08":
        raise std.corrupt(path, "not a gzip file (bad gzip header)")
    if len(data) < 4 + 4 * ndim:
        raise std.corrupt(path, f"only {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] != ndim:
        raise std.corrupt(
            path, f"bad IDX magic {data[:4].hex()} (expected 000008{ndim:02x}: "
                  f"unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = offset + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        how = "truncated" if len(data) < expected else "has trailing bytes"
        raise std.corrupt(path, f"{how}: the header says {' x '.join(map(str, dims))} "
                                f"({expected} bytes with the header) but it holds {len(data)}")
    return np.frombuffer(data, np.uint8, offset=offset).reshape(dims)


def _load_idx_domain(domain: str, root: Path | None, classes: tuple[str, ...]) -> Loaded:
    stds = _stds(domain, root)
    paths = [_find_idx(s) for s in stds]  # check all four exist before reading any
    xs, ys = [], []
    for i in (0, 2):  # (train images, train labels), then (test images, test labels)
        (si, pi), (sl, pl) = (stds[i], paths[i]), (stds[i + 1], paths[i + 1])
        imgs = _read_idx(si, pi, 3)
        labels = _read_idx(sl, pl, 1)
        if len(imgs) != len(labels):
            raise DataError(f"{domain}: {pi} holds {len(imgs)} images but {pl} holds "
                            f"{len(labels)} labels; one of them is not the matching file")
        if labels.size and labels.max() >= len(classes):
            raise sl.corrupt(pl, f"label {int(labels.max())} out of range 0..{len(classes) - 1}")
        xs.append(imgs)
        ys.append(labels)
    n_train, n_test = len(xs[0]), len(xs[1])
    if xs[0].shape[1:] != xs[1].shape[1:]:
        raise DataError(f"{domain}: {paths[0]} holds {xs[0].shape[1:]} images but {paths[2]} "
                        f"holds {xs[1].shape[1:]} images")
    x = np.concatenate(xs)[:, None].astype(np.float32)
    x *= np.float32(1 / 255)
    x = resize_images(x) if x.shape[2:] != (SIZE, SIZE) else x
    y = np.concatenate(ys).astype(np.int64)
    mask = np.zeros(n_train + n_test, bool)
    mask[n_train:] = True
    return Loaded(x, y, classes, mask, tuple(str(p) for p in paths))


def load_mnist_full(root: Path | None = None) -> Loaded:
    """MNIST, 60,000 train + 10,000 test (the official test set is ``test_mask``)."""
    return _load_idx_domain("mnist-full", root, DIGIT_CLASSES)


def load_fashion(root: Path | None = None) -> Loaded:
    """Fashion-MNIST, 60,000 train + 10,000 test (the official test set is ``test_mask``)."""
    return _load_idx_domain("fashion", root, FASHION_CLASSES)


# --------------------------------------------------------------------------- USPS (libsvm bz2)

_USPS_FEATURES = 256  # 16 x 16, row-major
_LIBSVM_LINE = re.compile(r"[+-]?\d+(?:\.0*)?(?:[ \t]+\d+:[^\s:]+)*")


def _require(std: _Std) -> Path:
    if not std.path.is_file():
        raise std.missing()
    return std.path


def _read_usps(std: _Std, path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = _read_bytes(std, path)
    if data[:3] != b"BZh":
        raise std.corrupt(path, "not a bz2 file (bad bz2 header)")
    try:
        d = bz2.BZ2Decompressor()
        raw = d.decompress(data, USPS_MAX_TEXT + 1)  # bounded: a bz2 bomb stops here
        if len(raw) > USPS_MAX_TEXT:
            raise std.corrupt(path, f"inflates past {USPS_MAX_TEXT >> 20} MB of text (the "
                                    f"standard USPS files are about 20 MB)")
        text = raw.decode("ascii")
    except (OSError, EOFError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        if isinstance(e, DataError):
            raise
        raise std.corrupt(path, f"bad bz2 data or not text ({e})") from None
    lines = [(i, s) for i, s in enumerate(text.splitlines(), 1) if s.strip()]
    if not lines:
        raise std.corrupt(path, "no samples in it")
    if len(lines) > USPS_MAX_LINES:
        raise std.corrupt(path, f"{len(lines):,} samples, more than the {USPS_MAX_LINES:,} a "
                                f"USPS file may hold (the standard ones: 7,291 and 2,007)")
    x = np.zeros((len(lines), _USPS_FEATURES), np.float32)  # libsvm: missing feature = 0
    y = np.zeros(len(lines), np.int64)
    for row, (lineno, line) in enumerate(lines):
        s = line.strip()
        if not _LIBSVM_LINE.fullmatch(s):
            raise std.corrupt(path, f"line {lineno} is not a libsvm line "
                                    f"'label index:value ...': {s[:60]!r}")
        parts = s.replace(":", " ").split()
        label = int(float(parts[0]))
        if not 1 <= label <= 10:
            raise std.corrupt(path, f"line {lineno}: label {parts[0]} is not in 1..10")
        try:
            nums = np.array(parts[1:], dtype=np.float64)
        except ValueError:
            raise std.corrupt(path, f"line {lineno}: a feature value is not a number: "
                                    f"{s[:60]!r}") from None
        idx, val = nums[0::2].astype(np.int64), nums[1::2]
        if idx.size and (idx.min() < 1 or idx.max() > _USPS_FEATURES):
            raise std.corrupt(path, f"line {lineno}: feature index outside 1..{_USPS_FEATURES}")
        if not np.all(np.abs(val) <= 1.001):  # also catches nan
            raise std.corrupt(path, f"line {lineno}: feature value outside [-1, 1]")
        x[row, idx - 1] = val
        y[row] = label - 1
    return x, y


def load_usps(root: Path | None = None) -> Loaded:
    """USPS, 7,291 train + 2,007 test, 16x16 in [-1, 1] upscaled to 28x28, labels 1..10 -> 0..9."""
    stds = _stds("usps", root)
    paths = [_require(s) for s in stds]
    parts = [_read_usps(s, p) for s, p in zip(stds, paths)]
    flat = np.concatenate([p[0] for p in parts])
    x = np.clip((flat + 1) * 0.5, 0, 1).reshape(-1, 1, 16, 16).astype(np.float32)
    y = np.concatenate([p[1] for p in parts])
    mask = np.zeros(len(y), bool)
    mask[len(parts[0][1]):] = True
    return Loaded(resize_images(x), y, DIGIT_CLASSES, mask, tuple(str(p) for p in paths))


# --------------------------------------------------------------------------- SVHN (.mat)


def _to_float_resized(x: np.ndarray, scale: float = 1 / 255) -> np.ndarray:
    """NCHW images of any numeric dtype -> float32 ``(N, C, 28, 28)`` (times ``scale``),
    converted and resized a chunk at a time so no full-size float copy is ever made."""
    out = []
    for s in range(0, len(x), _CHUNK):
        c = np.ascontiguousarray(x[s:s + _CHUNK], dtype=np.float32)
        if scale != 1:
            c *= np.float32(scale)
        out.append(resize_images(c))
    if not out:
        return np.zeros((0, x.shape[1], SIZE, SIZE), np.float32)
    return np.concatenate(out)


def _read_svhn(std: _Std, path: Path) -> tuple[np.ndarray, np.ndarray]:
    import scipy.io

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mat = scipy.io.loadmat(str(path), variable_names=("X", "y"))
    except MemoryError:
        raise
    except Exception as e:  # scipy raises many types on bad files (MatReadError, ValueError...)
        raise std.corrupt(path, f"scipy.io.loadmat cannot read it ({type(e).__name__}: {e})") \
            from None
    missing = [k for k in ("X", "y") if k not in mat]
    if missing:
        try:
            have = [name for name, *_ in scipy.io.whosmat(str(path))]
        except Exception:
            have = []
        raise std.corrupt(path, f"no {' and no '.join(missing)} array in it "
                                f"(it holds: {', '.join(have) or 'nothing readable'})")
    x, y = mat["X"], mat["y"]
    if x.ndim != 4 or x.shape[2] != 3 or x.dtype != np.uint8:
        raise std.corrupt(path, f"X is {x.dtype} {x.shape}, expected uint8 (32, 32, 3, N)")
    if y.ndim not in (1, 2) or (y.ndim == 2 and 1 not in y.shape) or \
            not np.issubdtype(y.dtype, np.number):
        raise std.corrupt(path, f"y is {y.dtype} {y.shape}, expected (N, 1) labels")
    y = y.reshape(-1)
    if len(y) != x.shape[3]:
        raise DataError(f"svhn: {path} holds {x.shape[3]} images (X) but {len(y)} labels (y)")
    if y.size and (not np.all(np.mod(y, 1) == 0) or y.min() < 0 or y.max() > 10):
        raise std.corrupt(path, "labels outside 1..10 (10 = digit 0; 0 is also read as 0)")
    y = y.astype(np.int64) % 10  # SVHN stores digit 0 as label 10
    return x, y


def load_svhn(root: Path | None = None) -> Loaded:
    """SVHN cropped digits, 73,257 train + 26,032 test, RGB 32x32 resized to 28x28."""
    stds = _stds("svhn", root)
    paths = [_require(s) for s in stds]
    xs, ys = [], []
    for s, p in zip(stds, paths):
        x, y = _read_svhn(s, p)
        x = np.ascontiguousarray(x.transpose(3, 2, 0, 1))  # (H, W, C, N) -> (N, C, H, W), uint8
        xs.append(_to_float_resized(x))
        ys.append(y)
        del x
    mask = np.zeros(len(ys[0]) + len(ys[1]), bool)
    mask[len(ys[0]):] = True
    return Loaded(np.concatenate(xs), np.concatenate(ys), DIGIT_CLASSES, mask,
                  tuple(str(p) for p in paths))


FILE_DOMAINS: dict[str, Callable[[Path | None], Loaded]] = {
    "mnist-full": load_mnist_full,
    "fashion": load_fashion,
    "usps": load_usps,
    "svhn": load_svhn,
}


# --------------------------------------------------------------------------- custom: folder

_IGNORED_FILES = {"thumbs.db", "desktop.ini"}  # OS clutter, like hidden files
_REDUCE_TO = 2 * SIZE  # big images are box-reduced to at least this short side before resizing


def _hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in _IGNORED_FILES


def _class_files(folder: Path) -> list[Path]:
    """Non-hidden regular files under ``folder`` (recursively, hidden folders skipped, linked
    folders not followed), sorted. FIFOs, sockets and broken links are skipped: opening a FIFO
    named ``x.png`` would block the loader for ever."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames)
                   if not _hidden(f) and (Path(dirpath) / f).is_file())
    return out


def _read_image(path: Path) -> np.ndarray:
    """One image file -> float32 ``(C, H, W)`` in [0, 1]; C = 1 when it is gray."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                im.seek(0)  # first frame of animated GIF / multi-page TIFF
                im.load()
                arr = _image_array(im, path)
    except DataError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as e:
        raise DataError(f"folder domain: {path} is not an image Pillow can read ({e})") \
            from None
    except (OSError, ValueError, SyntaxError, EOFError, TypeError) as e:
        raise DataError(f"folder domain: {path} is not a readable image "
                        f"({type(e).__name__}: {e})") from None
    if arr.ndim == 3 and arr.shape[0] == 3 and \
            np.array_equal(arr[0], arr[1]) and np.array_equal(arr[0], arr[2]):
        arr = arr[:1]  # RGB file with a gray picture
    return arr


def _image_array(im, path: Path) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":  # 16-bit gray (PNG/TIFF)
        a = np.asarray(im).astype(np.float32) / 65535
        return np.clip(a, 0, 1)[None]
    if mode == "F":
        a = np.asarray(im, dtype=np.float32)
        if not np.all((a >= 0) & (a <= 1)):
            raise DataError(f"folder domain: {path}: float image with values outside [0, 1]")
        return a[None].copy()
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    gray = mode in ("1", "L", "LA", "La")
    im = im.convert(("LA" if gray else "RGBA") if has_alpha else ("L" if gray else "RGB"))
    w, h = im.size
    if min(w, h) >= 2 * _REDUCE_TO:  # keep memory small for photos; antialiased box filter
        im = im.reduce(min(w, h) // _REDUCE_TO)
    a = np.asarray(im, dtype=np.float32) * np.float32(1 / 255)
    if a.ndim == 2:
        a = a[:, :, None]
    if has_alpha:  # composite on black: transparent pixels become 0 (background)
        a = a[:, :, :-1] * a[:, :, -1:]
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def user_path(path: str | Path, what: str) -> Path:
    """A path a user typed (``npz:PATH``, ``folder:PATH``), ``~`` expanded, that exists: else a
    :class:`DataError` naming it (an unknown ``~user``, a name too long for the file system,
    a missing file), never an ``OSError``/``RuntimeError`` traceback."""
    text = str(path)
    short = text if len(text) <= 120 else f"{text[:60]}...{text[-40:]} ({len(text)} characters)"
    try:
        p = Path(text).expanduser()
    except RuntimeError:
        raise DataError(f"{what}: {short}: the ~user in it is not a user of this machine") \
            from None
    try:
        p.stat()
    except FileNotFoundError:
        raise DataError(f"{what}: {short} does not exist") from None
    except OSError as e:
        raise DataError(f"{what}: {short}: {e.strerror or e}") from None
    return p


def load_folder(path: str | Path) -> Loaded:
    """A folder with one sub-folder per class (sorted names = classes) of image files."""
    root = user_path(path, "folder domain")
    if not root.is_dir():
        raise DataError(f"folder domain: {root} is not a folder (expected a folder with one "
                        f"sub-folder of images per class)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        loose = sorted(p.name for p in root.iterdir() if p.is_file() and not _hidden(p.name))
        hint = f"; it holds {len(loose)} files directly (e.g. {loose[0]}): point to the " \
               f"folder above, with one sub-folder per class" if loose else ""
        raise DataError(f"folder domain: {root} has no class sub-folders (expected one "
                        f"sub-folder of images per class){hint}")
    files: list[Path] = []
    labels: list[int] = []
    for k, name in enumerate(classes):
        got = _class_files(root / name)
        if not got:
            raise DataError(f"folder domain: class folder {root / name} (class {name!r}) "
                            f"holds no image files")
        files.extend(got)
        labels.extend([k] * len(got))

    n = len(files)
    out: list[np.ndarray | None] = [None] * n
    pending: dict[tuple[int, ...], list[tuple[int, np.ndarray]]] = {}
    pending_size = 0

    def flush():
        for items in pending.values():
            resized = resize_images(np.stack([a for _, a in items]))
            for (i, _), r in zip(items, resized):
                out[i] = r
        pending.clear()

    for i, f in enumerate(files):
        a = _read_image(f)
        if a.shape[1:] == (SIZE, SIZE):
            out[i] = a
            continue
        pending.setdefault(a.shape, []).append((i, a))
        pending_size += a.size
        if pending_size > 1 << 24:  # ~64 MB of float32 waiting: resize it now, by size group
            flush()
            pending_size = 0
    flush()
    c = max(a.shape[0] for a in out)
    x = np.empty((n, c, SIZE, SIZE), np.float32)
    for i, a in enumerate(out):
        x[i] = a if a.shape[0] == c else to_rgb(a[None])[0]
    return Loaded(x, np.asarray(labels, np.int64), tuple(classes), None,
                  tuple(str(f) for f in files))


# --------------------------------------------------------------------------- custom: npz


def load_npz(path: str | Path) -> Loaded:
    """An ``.npz`` with arrays ``x`` (images) and ``y`` (labels), optionally ``classes``."""
    p = user_path(path, "npz domain")
    if not p.is_file():
        raise DataError(f"npz domain: {p} is not a file")
    try:
        with open(p, "rb") as f:  # our handle: np.load leaks its own on a truncated zip
            x, y, names = _npz_arrays(p, f)
    except OSError as e:
        raise DataError(f"npz domain: cannot read {p}: {e.strerror or e}") from None
    x = check_images(x, f"npz domain: {p}: x")
    y = check_labels(y, len(x), f"npz domain: {p}: y")
    classes = _npz_classes(p, names, y)
    return Loaded(x, y, classes, None, (str(p),))


def _npz_arrays(p: Path, f) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    head = f.read(6)
    f.seek(0)
    if head == b"\x93NUMPY":
        raise DataError(f"npz domain: {p} is a single .npy array, not an .npz archive with "
                        f"arrays x and y (save it with np.savez(path, x=..., y=...))")
    if head[:2] != b"PK":
        raise DataError(f"npz domain: {p} is not an .npz file (no zip header); save one with "
                        f"np.savez(path, x=..., y=...)")
    try:
        npz = np.load(f, allow_pickle=False)
    except Exception as e:  # BadZipFile, ValueError, EOFError, ...
        raise DataError(f"npz domain: {p} is not a readable .npz file "
                        f"({type(e).__name__}: {e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"npz domain: {p} is not an .npz archive with arrays x and y")
    with npz:
        keys = list(npz.files)
        missing = [k for k in ("x", "y") if k not in keys]
        if missing:
            raise DataError(f"npz domain: {p} has no array {' and no array '.join(missing)}; "
                            f"it holds: {', '.join(keys) or 'no arrays'}")
        _check_npz_shapes(p, npz)
        try:
            return npz["x"], npz["y"], (npz["classes"] if "classes" in keys else None)
        except Exception as e:  # object arrays need pickle, truncated members, ...
            raise DataError(f"npz domain: cannot read the arrays of {p} "
                            f"({type(e).__name__}: {e})") from None


def _check_npz_shapes(p: Path, npz) -> None:
    """Read the shapes of ``x`` and ``y`` from their .npy headers, before any data: refuse an
    archive that would hold more than ``MAX_VALUES`` values, or images of more than
    ``MAX_IMAGE_PIXELS`` pixels (an npz of shape (2, 16000, 16000) would take 0.5 GB)."""
    for key in ("x", "y"):
        try:
            with npz.zip.open(f"{key}.npy") as member:
                version = np.lib.format.read_magic(member)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, _ = read(member, max_header_size=1 << 16)
        except Exception as e:  # noqa: BLE001 (reported as unreadable)
            raise DataError(f"npz domain: cannot read the header of array {key} in {p} "
                            f"({type(e).__name__}: {e})") from None
        n = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if n > MAX_VALUES:
            raise DataError(f"npz domain: {p}: array {key} has shape {tuple(shape)} "
                            f"({n:,} values); a domain file may hold at most {MAX_VALUES:,}")
        if key == "x" and len(shape) >= 3:
            hw = sorted(shape[1:], reverse=True)[:2]  # (N,H,W), (N,H,W,C), (N,C,H,W)
            if hw[0] * hw[1] > MAX_IMAGE_PIXELS:
                raise DataError(f"npz domain: {p}: images of shape {tuple(shape[1:])} have "
                                f"more than {MAX_IMAGE_PIXELS:,} pixels each (4096 x 4096); "
                                f"they are resized to 28 x 28: resize them first")


def check_images(x: np.ndarray, where: str) -> np.ndarray:
    """Validate image arrays and return them as float32 ``(N, C, 28, 28)`` in [0, 1]: uint8
    0-255 or float 0-1, ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` with C in 1 or 3
    (resized to 28 x 28). ``where`` starts every error message (it names the input)."""
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer)
                               or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{where} has dtype {x.dtype}; expected uint8 (0-255) or "
                        f"float (0-1) images")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4:
        if x.shape[1] in (1, 3):
            pass  # (N, C, H, W)
        elif x.shape[3] in (1, 3):
            x = x.transpose(0, 3, 1, 2)  # (N, H, W, C)
        else:
            raise DataError(f"{where} has shape {x.shape}; with 4 dimensions one "
                            f"of axis 1 or 3 must be the channel axis with 1 or 3 channels")
    else:
        raise DataError(f"{where} has shape {x.shape}; expected (N, H, W), "
                        f"(N, H, W, C) or (N, C, H, W) with C in 1 or 3")
    if len(x) == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise DataError(f"{where} has shape {x.shape}, no images")
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise DataError(f"{where} (integers) has values in [{lo}, {hi}]; "
                            f"expected 0-255 (or float images in [0, 1])")
        scale = 1 / 255
    else:
        ok = np.isfinite(x).all()
        lo, hi = (float(x.min()), float(x.max())) if ok else (float("nan"), float("nan"))
        if not ok or lo < 0 or hi > 1:
            raise DataError(f"{where} (floats) has values in [{lo}, {hi}]"
                            f"{'' if ok else ' (with nan/inf)'}; expected [0, 1] "
                            f"(store 0-255 images as uint8)")
        scale = 1.0
    return _to_float_resized(x, scale=scale)


def check_labels(y: np.ndarray, n: int, where: str, what: str = "images") -> np.ndarray:
    """Validate ``(N,)`` integer labels for ``n`` ``what`` (images or points); int64.
    ``where`` names the input."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; expected (N,) labels")
    if len(y) != n:
        raise DataError(f"{where}: {n} {what} but {len(y)} labels")
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.integer)
                               or np.issubdtype(y.dtype, np.floating)):
        raise DataError(f"{where} has dtype {y.dtype}; expected integer labels")
    if np.issubdtype(y.dtype, np.floating) and not np.all(np.isfinite(y) & (np.mod(y, 1) == 0)):
        raise DataError(f"{where} holds non-integer labels (e.g. "
                        f"{y[~(np.isfinite(y) & (np.mod(y, 1) == 0))][0]})")
    if y.min() < 0:
        raise DataError(f"{where} holds negative labels (min {y.min()}); "
                        f"labels must be 0, 1, 2, ...")
    return y.astype(np.int64)


MAX_CLASSES = 100_000  # a label above this is a mistake (or an attack), not a class


def _npz_classes(p: Path, names: np.ndarray | None, y: np.ndarray) -> tuple[str, ...]:
    top = int(y.max())
    if top >= MAX_CLASSES:
        raise DataError(f"npz domain: {p}: y: labels go up to {top}; labels must be 0 .. K-1 "
                        f"with K at most {MAX_CLASSES} (relabel, or store class names in an "
                        f"array 'classes')")
    if names is None:
        return tuple(str(i) for i in range(top + 1))
    if names.ndim != 1:
        raise DataError(f"npz domain: {p}: classes has shape {names.shape}; expected a 1-D "
                        f"array of names")
    if len(names) <= top:
        raise DataError(f"npz domain: {p}: classes has {len(names)} names but y uses label "
                        f"{top}")
    return tuple(str(c) for c in names.tolist())
