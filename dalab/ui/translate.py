"""Translation for the browser demos: defensive preprocessing, one adapter over the methods'
translate capability, and a cached model loader. Pure functions, no UI library: the Gradio app
(:mod:`dalab.ui.gradio_app`) and the Streamlit Translate page call these.

Preprocessing follows MNIST's construction (LeCun et al.): the digit's bounding box is scaled
so its longer side is 20 px (aspect kept), pasted into a 28 x 28 frame and shifted so its centre
of mass sits at the frame centre. Ink is bright on black, as in MNIST.
"""
from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ..data.images import center_by_mass, resize_images, to_gray, to_rgb
from ..methods import list_methods

MIN_SIDE = 8                 # smaller images carry no recognisable digit
MAX_SIDE = 4096              # longer sides are refused (a 6000 x 6000 upload is)
MAX_PIXELS = 2048 * 2048     # 4 MP a request: a 16 MP RGBA drawing took ~0.6 GB to convert,
                             # four at once +2.5 GB (issue 24); checked before any conversion
MAX_FILE_BYTES = 10 * 1024 * 1024  # upload cap, also given to Gradio's max_file_size
BOX = 20                     # MNIST: the digit fits a 20 x 20 box ...
SIZE = 28                    # ... inside a 28 x 28 frame
MIN_INK = 0.15               # weakest stroke (after background removal) that counts as ink
MAX_MODELS = 8               # translation models loaded at most (zoo first, newest runs next)
DIRECTIONS = ("source", "target")
DEFAULT_GRADIO_URL = "http://127.0.0.1:7861"
# the registered methods whose class declares a translation direction (Method.translate_to)
TRANSLATION_METHODS = ", ".join(m.name for m in list_methods() if m.translate_to)
NO_MODEL_MESSAGE = (
    "No translation-capable model found. Translation needs a run of a method that declares "
    f"the `translate` capability ({TRANSLATION_METHODS}): train one, e.g. "
    "`python -m dalab train --method cdlm --source mnist --target digits`, on the Train page, or ask for the model zoo "
    "(pretrained/) to be filled.")


class InputError(ValueError):
    """An input the demo refuses, with a message meant for the visitor."""


# ---------------------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------------------
def _check_size(h: int, w: int) -> None:
    if min(h, w) < MIN_SIDE:
        raise InputError(f"The image is {w} x {h} pixels: too small to hold a digit "
                         f"(at least {MIN_SIDE} x {MIN_SIDE} needed).")
    if max(h, w) > MAX_SIDE or h * w > MAX_PIXELS:
        raise InputError(f"The image is {w} x {h} pixels: too large (at most {MAX_SIDE} px a "
                         f"side and {MAX_PIXELS // 1_000_000} megapixels). Please scale it "
                         "down.")


def ink_map(img: np.ndarray) -> np.ndarray:
    """``(H, W)``, ``(H, W, 1-4)`` image (uint8 0-255 or float 0-1) -> ink ``(H, W)`` in [0, 1],
    bright where the digit is.

    With a non-opaque alpha channel the alpha *is* the ink (a sketch on a transparent canvas).
    Otherwise the luma is used; the background level is the median of the border pixels, and
    a light background (dark ink) is inverted, so both polarities give bright ink on black."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise InputError(f"Unsupported image layout {a.shape}: expected a grey, RGB or RGBA "
                         "picture.")
    _check_size(a.shape[0], a.shape[1])  # before any float copy of the pixels
    if a.dtype == np.bool_:
        a = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float32) / (65535.0 if a.max(initial=0) > 255 else 255.0)
    else:
        a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    a = np.clip(a, 0.0, 1.0)
    if a.ndim == 3 and a.shape[2] in (2, 4):
        alpha = a[..., -1]
        if alpha.min() < 0.99:           # transparency present: alpha is the ink
            return alpha
        a = a[..., :-1]
    if a.ndim == 3:
        a = a[..., 0] if a.shape[2] == 1 else to_gray(a.transpose(2, 0, 1)[None])[0, 0]
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    bg = float(np.median(border))
    ink = (bg - a) if bg > 0.5 else (a - bg)  # dark ink on light paper, or light on dark
    span = max(1.0 - bg if bg <= 0.5 else bg, 1e-6)
    return np.clip(ink / span, 0.0, 1.0)


def preprocess(img) -> np.ndarray:
    """Any picture of a digit -> ``(1, 28, 28)`` float32 in [0, 1], MNIST style.

    Accepts a numpy array (grey, RGB, RGBA; uint8 or float), a PIL image, or a Gradio
    Sketchpad value (a dict whose ``composite`` is the drawing). Raises :class:`InputError`
    with a readable message for an empty canvas, a too small or too large image, or
    something that is not an image."""
    if isinstance(img, dict):  # gr.Sketchpad: {"background", "layers", "composite"}
        img = img.get("composite")
    if img is None:
        raise InputError("Nothing to translate: the canvas is empty. Draw a digit first.")
    if hasattr(img, "mode") and hasattr(img, "size"):  # a PIL image
        img = pil_to_array(img)
    ink = ink_map(img)
    if ink.max(initial=0.0) < MIN_INK:
        raise InputError("Nothing to translate: the image is blank (no strokes found). "
                         "Draw or upload a digit.")
    ink = ink / ink.max()
    rows = np.flatnonzero(ink.max(axis=1) >= MIN_INK)
    cols = np.flatnonzero(ink.max(axis=0) >= MIN_INK)
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    side = max(h, w)                   # pad to a square: the aspect ratio is kept
    square = np.zeros((side, side), np.float32)
    square[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = crop
    box = resize_images(square[None, None], BOX)[0, 0]
    frame = np.zeros((1, 1, SIZE, SIZE), np.float32)
    off = (SIZE - BOX) // 2
    frame[0, 0, off:off + BOX, off:off + BOX] = box
    out = center_by_mass(frame)[0]
    peak = out.max()
    return (out / peak if peak > 0 else out).astype(np.float32)


def pil_to_array(im) -> np.ndarray:
    """A PIL image -> array for :func:`ink_map` (grey, RGB or RGBA; palette transparency
    kept; 16-bit and float images stretched to [0, 1])."""
    if im.mode in ("L", "RGB", "RGBA"):
        return np.asarray(im, dtype=np.uint8)
    if im.mode == "1":
        return np.asarray(im.convert("L"), dtype=np.uint8)
    if im.mode.startswith(("I", "F")):
        a = np.asarray(im, dtype=np.float32)
        lo, hi = float(a.min()), float(a.max())
        return ((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)).astype(np.float32)
    return np.asarray(im.convert("RGBA"), dtype=np.uint8)


def load_image_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> np.ndarray:
    """Open an uploaded file defensively: size caps before decoding, a readable message for
    files that are not images or are truncated. Returns an array for :func:`preprocess`."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        raise InputError("The upload could not be read; please try again.") from None
    if size > max_bytes:
        raise InputError(f"The file is {size / 1e6:.1f} MB; the limit is "
                         f"{max_bytes / 1e6:.0f} MB.")
    try:
        with Image.open(path) as im:
            _check_size(im.size[1], im.size[0])   # from the header: nothing decoded yet
            im.load()
            return pil_to_array(im)
    except InputError:
        raise
    except Image.DecompressionBombError as e:  # Pillow's limit (set by the demo), from the header
        raise InputError(f"The image is too large ({e.args[0].split(' exceeds')[0]}; at most "
                         f"{MAX_SIDE} px a side and {MAX_PIXELS // 1_000_000} megapixels). "
                         f"Please scale it down.") from None
    except UnidentifiedImageError:
        raise InputError(f"{path.name!r} is not an image this demo can read (PNG, JPEG, GIF, "
                         "BMP, WebP, ...).") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"{path.name!r} could not be decoded (damaged or truncated file: "
                         f"{e}).") from None


def to_display(x: np.ndarray, scale: int = 4) -> np.ndarray:
    """``(C, 28, 28)`` float in [0, 1] -> uint8 ``(28 s, 28 s)`` (grey) or ``(28 s, 28 s, 3)``,
    enlarged by pixel repetition so the browser shows crisp pixels."""
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    img = x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)
    img = img.repeat(scale, axis=0).repeat(scale, axis=1)
    return (img * 255 + 0.5).astype(np.uint8)


def match_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """``(N, C, 28, 28)`` -> the model's channel count (grey <-> RGB)."""
    if x.shape[1] == channels:
        return x
    return to_rgb(x) if channels == 3 else to_gray(x)


# ---------------------------------------------------------------------------------------
# Models: one adapter over the translate capability, one cached loader
# ---------------------------------------------------------------------------------------
def can_translate(model) -> bool:
    """A loaded method whose class declares a translation direction (``translate_to``) and
    that works on images ``(C, H, W)`` (a bridge trained on 2-D points does not)."""
    return bool(model.translate_to) and len(model.input_shape) == 3


def direction_problem(model, to: str) -> str | None:
    """Why ``model`` cannot translate ``to`` that domain, read from its class's declared
    ``translate_to`` (``None`` when it can): a message meant for the visitor."""
    if to not in DIRECTIONS:
        return f"to={to!r}; valid: {', '.join(DIRECTIONS)}"
    if to in model.translate_to:
        return None
    if not model.translate_to:
        return f"{model.name} does not translate images"
    return (f"{model.name} cannot translate to the {to} domain: it translates to the "
            f"{' and '.join(sorted(model.translate_to))} domain only")


@torch.no_grad()
def translate_and_classify(model, x: np.ndarray, to: str = "source"):
    """The one adapter every translation method goes through.

    ``x``: ``(N, C, 28, 28)`` images in [0, 1] of the domain *opposite* to ``to``.
    ``to="source"``: ``x`` are target-domain images; returns ``model.translate(x, to="source")``
    and the method's own target classifier ``model.predict(x)`` (for CDLM and LST-Net that is
    the source classifier on the translation). ``to="target"``: ``x`` are source images;
    returns their target-style translation and ``model.predict`` of that translation.
    Returns ``(images (N, C, 28, 28), probabilities (N, K))`` as numpy arrays. Raises
    ``ValueError`` (:func:`direction_problem`) when ``to`` is not in the method's declared
    ``translate_to`` (CDLM: to="target")."""
    problem = direction_problem(model, to)
    if problem:
        raise ValueError(problem)
    model.eval()
    device = next(model.parameters()).device
    xt = torch.from_numpy(np.array(match_channels(x, model.input_shape[0]), np.float32))
    xt = xt.to(device)
    out = model.translate(xt, to=to)
    logits = model.predict(xt if to == "source" else out)
    probs = torch.softmax(logits.float(), dim=1)
    return out.clamp(0, 1).float().cpu().numpy(), probs.cpu().numpy()


def direction_for(domain: str, info: dict) -> str | None:
    """Which way a ``domain`` image goes through a model of ``info``: a target-domain image to
    source, a source-domain image to target; ``None`` when the model knows neither domain."""
    pair = info.get("pair", {})
    if domain == pair.get("target"):
        return "source"
    if domain == pair.get("source"):
        return "target"
    return None


DOMAIN_SHORT = {"mnist": "m", "digits": "d", "mnistm": "mm"}  # for tile captions


def short_names(infos: list[dict]) -> list[str]:
    """A short, complete name per model for tile captions: ``"cdlm m->d"`` (method, source ->
    target, :data:`DOMAIN_SHORT` or the domain's first three letters); a repeated name gets
    ``" #2"``, ``" #3"``. The full name goes in the legend under the gallery."""
    out, seen = [], {}
    for info in infos:
        pair = info.get("pair", {})
        ab = [DOMAIN_SHORT.get(d, str(d)[:3]) for d in (pair.get("source"), pair.get("target"))]
        name = f"{info.get('method')} {ab[0]}->{ab[1]}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return out


def caption(short: str, label: str, confidence: float) -> str:
    """A tile's caption: ``"cdlm m->d: 3 (0.97)"``, the predicted label and its probability."""
    return f"{short}: {label} ({confidence:.2f})"


def models_for_domain(models: list[dict], domain: str) -> list[dict]:
    """The models (``ModelBank.models()`` dicts) whose pair includes ``domain``: only their own
    domains' images go through them (an mnistm photo means nothing to a digits<->mnist model)."""
    return [m for m in models if direction_for(domain, m["info"]) is not None]


# The domains a drawn or uploaded picture stands for once preprocessed (a grey, MNIST-style
# 28 x 28 digit, bright ink on black): grey digit domains. A colour domain (mnistm, svhn) or
# one of another content (fashion) is not what a drawing is.
DRAWN_DOMAINS = ("mnist", "mnist-full", "digits", "usps")


def drawn_domain(info: dict, to: str) -> str | None:
    """The domain a drawn/uploaded picture is treated as by a model of ``info`` translating
    ``to`` that domain: its target domain when ``to="source"``, its source domain when
    ``to="target"``; ``None`` for an unknown direction or a model without a recorded pair."""
    pair = (info or {}).get("pair") or {}
    return {"source": pair.get("target"), "target": pair.get("source")}.get(to)


def models_for_drawing(models: list[dict], to: str) -> list[dict]:
    """The models (``ModelBank.models()`` dicts) a drawn or uploaded digit may go through in
    direction ``to``: those whose domain on the input side is a grey digit domain
    (:data:`DRAWN_DOMAINS`). A model without a recorded pair (``info`` missing) is kept."""
    out = []
    for m in models:
        if not (m.get("info") or {}).get("pair"):
            out.append(m)
        elif drawn_domain(m["info"], to) in DRAWN_DOMAINS:
            out.append(m)
    return out


def direction_message(to) -> str | None:
    """The visitor's message for a direction that is neither "source" nor "target" (an API
    client's typo): ``None`` when ``to`` is valid."""
    if to in DIRECTIONS:
        return None
    return (f"Unknown direction {to!r}: choose 'source' (the picture is a target-domain image, "
            f"translate it to the source domain) or 'target' (the picture is a source-domain "
            f"image).")


class ModelBank:
    """Translation models loaded once (thread-safe), on the GPU when there is one.

    ``entries``: ``None`` (every translation-capable zoo entry and run, at most ``max_models``)
    or a list of run directories / :func:`dalab.ui.models.available` dicts."""

    def __init__(self, entries=None, runs_dir: str | Path = "runs", device: str = "auto",
                 max_models: int = MAX_MODELS):
        self._entries, self._runs_dir, self._device = entries, runs_dir, device
        self._max = max_models
        self._lock = threading.Lock()
        self._models: list[dict] | None = None
        self.problems: list[str] = []

    def _discover(self) -> list[dict]:
        from .models import available
        if self._entries is not None:
            return [e if isinstance(e, dict) else {"label": f"run: {Path(e).name}",
                                                   "path": str(e), "origin": "run"}
                    for e in self._entries]
        try:
            return available(self._runs_dir, capability="translate")
        except Exception as e:  # noqa: BLE001 - an unreadable zoo must not stop the demo
            self.problems.append(f"model list: {e}")
            return []

    def _load_one(self, entry: dict):
        from .. import zoo
        from ..runs import load_run
        if entry.get("origin") == "zoo":
            return zoo.load(entry["label"].removeprefix("zoo: "), device=self._device)
        return load_run(entry["path"], device=self._device)

    def reload(self) -> list[dict]:
        """Forget the loaded models and read the zoo and the runs again (a run trained after
        the demo started appears); returns :meth:`models`."""
        with self._lock:
            self._models, self.problems = None, []
        return self.models()

    def models(self) -> list[dict]:
        """``[{"label", "short", "model", "info", "classes", "accuracy"}]``, loaded on first
        call (``short``: :func:`short_names`)."""
        with self._lock:
            if self._models is None:
                self._models = []
                for entry in self._discover():
                    if len(self._models) >= self._max:
                        self.problems.append(f"more than {self._max} translation models; "
                                             "showing the first ones")
                        break
                    try:
                        model, info = self._load_one(entry)
                    except Exception as e:  # noqa: BLE001 - one broken run must not stop the rest
                        self.problems.append(f"{entry.get('label', entry)}: {e}")
                        continue
                    if not can_translate(model):
                        continue
                    classes = info.get("pair", {}).get("classes") or [
                        str(i) for i in range(model.num_classes)]
                    pair = info.get("pair", {})
                    label = f"{entry.get('label')} ({info['method']}, {pair.get('source')}" \
                            f"->{pair.get('target')})"
                    self._models.append({"label": label, "model": model, "info": info,
                                         "classes": list(classes),
                                         "accuracy": info.get("accuracy", {}).get("target_test")})
                for m, short in zip(self._models, short_names([m["info"] for m in self._models])):
                    m["short"] = short
            return self._models


# ---------------------------------------------------------------------------------------
# For the Streamlit page
# ---------------------------------------------------------------------------------------
def gradio_url() -> str:
    """Where the Gradio app listens: ``$DALAB_GRADIO_URL``, else 127.0.0.1 and
    ``$DALAB_GRADIO_PORT`` (default 7861)."""
    if os.environ.get("DALAB_GRADIO_URL"):
        return os.environ["DALAB_GRADIO_URL"]
    port = os.environ.get("DALAB_GRADIO_PORT")
    return f"http://127.0.0.1:{port}" if port else DEFAULT_GRADIO_URL


def reachable(url: str, timeout: float = 0.5) -> bool:
    """True when an HTTP server answers at ``url`` within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:
        return e.code < 500
    except (OSError, ValueError):
        return False
