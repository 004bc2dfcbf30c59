"""The translation demo in Gradio: draw, upload or sample a digit and see it translated by every
translation-capable model (zoo entries and the user's runs), each with its classifier's label
and confidence.

Run alone: ``python -m dalab.ui.gradio_app [--host 127.0.0.1] [--port 7861]``; ``make run``
starts it next to the Streamlit lab (:mod:`dalab.ui.launch`). docs/gradio.md lists the
endpoints and the preprocessing. Offline by default: analytics off before Gradio is imported,
no share link, loopback only unless ``--host`` says otherwise.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ..data import load_domain  # noqa: E402
from ..runs import label_use  # noqa: E402
from .launch import port_free  # noqa: E402
from .translate import (DRAWN_DOMAINS, MAX_FILE_BYTES, MAX_SIDE, NO_MODEL_MESSAGE,  # noqa: E402
                        TRANSLATION_METHODS, InputError, ModelBank, caption, direction_for,
                        direction_message, direction_problem, drawn_domain, load_image_file,
                        models_for_domain, models_for_drawing, preprocess, to_display,
                        translate_and_classify)

log = logging.getLogger(__name__)

# Gradio decodes the Draw tab's sketch (and any image an API client sends in its place) itself,
# before a handler could look at the size: Pillow must refuse a decompression bomb from the
# header. It raises above 2 x MAX_IMAGE_PIXELS, so anything over MAX_SIDE x MAX_SIDE pixels is
# refused before decoding (a 120 KB 10000 x 10000 PNG took this process to 4.2 GB before).
Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE // 2

GALLERY_DOMAINS = ("mnist", "digits", "mnistm")  # embedded: no files needed
CONCURRENCY = 4      # requests computed at once; the rest wait in the queue
QUEUE_SIZE = 100     # waiting requests beyond this are refused with a "busy" message
MAX_GALLERY = 24     # images per gallery draw
# Gradio 6's Sketchpad opens with no tool selected ("select the draw tool to start"): pick the
# brush once the page is up, so a visitor can draw straight away
SELECT_BRUSH = """() => {
    let tries = 0;
    const pick = () => {
        const b = document.querySelector("button[aria-label='Brush']");
        if (b) { b.click(); } else if (tries++ < 50) { setTimeout(pick, 200); }
    };
    setTimeout(pick, 300);
}"""
# Gradio's gallery gives each column at least 100 px (minmax(100px, 1fr)), so a row of 1 + 8
# tiles overflows a narrow page and its last columns are clipped; captions are cut with an
# ellipsis at 80 % of a tile. Columns may shrink, captions wrap: every tile and word shows.
GALLERY_CSS = """
.dalab-gallery .grid-container {
    grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important;
}
.dalab-gallery .caption-label { white-space: normal !important; max-width: 100% !important; }
"""
DIRECTION_CHOICES = [("a target-domain image: translate it to the source domain", "source"),
                     ("a source-domain image: translate it to the target domain", "target")]


def direction_radio(**kwargs) -> gr.Radio:
    """The tabs' direction: a ``gr.Radio`` of :data:`DIRECTION_CHOICES` that hands any value to
    the handler. Gradio's own check of a value against the choices raises an error whose
    traceback it prints; the handler refuses a bad direction itself, with a message
    (:func:`dalab.ui.translate.direction_message`) and one log line. (Per instance: a subclass
    of a Gradio component makes Gradio write a ``.pyi`` file next to this module.)"""
    radio = gr.Radio(DIRECTION_CHOICES, **kwargs)
    radio.preprocess = lambda payload: payload
    return radio


IMAGE_DIR = Path(tempfile.gettempdir()) / "dalab_gradio"  # outputs, named by content
IMAGE_MAX_AGE_S = 600  # Gradio copies an output file into its cache at once; ours may go then
CACHE_CLEANUP = (3600, 3600)  # Gradio's own cache: every hour, files older than an hour
_written = {"count": 0}


def _image_file(x: np.ndarray) -> str:
    """``(C, 28, 28)`` in [0, 1] -> the path of a PNG (shown 4x). Why files, not arrays:
    Gradio writes an array output to a path named by its content *in place*, so two
    concurrent requests with the same output (a class pressing "Show" on seed 0) can serve a
    half-written file; a path output is copied into Gradio's cache atomically. Ours is written
    atomically too, and identical images share one file."""
    buf = io.BytesIO()
    Image.fromarray(to_display(x)).save(buf, format="PNG")
    data = buf.getvalue()
    path = IMAGE_DIR / f"{hashlib.sha1(data).hexdigest()}.png"
    try:
        os.utime(path)             # reused: fresh again, so pruning leaves it alone
    except OSError:
        IMAGE_DIR.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=IMAGE_DIR, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        _written["count"] += 1
        if _written["count"] % 500 == 0:
            _prune(IMAGE_DIR, IMAGE_MAX_AGE_S)
    return str(path)


def _prune(folder: Path, max_age_s: float) -> None:
    """Delete files older than ``max_age_s`` (a long-running demo must not fill the disk)."""
    cutoff = time.time() - max_age_s
    for f in folder.glob("*"):
        try:
            if f.stat().st_mtime < cutoff:
                f.unlink()
        except OSError:
            pass   # gone already (another worker pruned it)


def _guard(fn):
    """Visitors see a message, never a stack trace: input problems as they are (and one log
    line, no traceback: they are expected), anything else as a short line with the traceback
    in the server log. ``print_exception=False``: Gradio would print each one's traceback."""
    def wrapper(*args):
        try:
            return fn(*args)
        except InputError as e:
            log.info("%s refused: %s", fn.__name__, e)
            raise gr.Error(str(e), print_exception=False) from None
        except Exception as e:  # noqa: BLE001
            log.exception("translation request failed")
            raise gr.Error(f"The request failed ({type(e).__name__}); see the server log.",
                           print_exception=False) from None
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def translate_one(bank: ModelBank, x: np.ndarray, to: str):
    """``x`` ``(1, C, 28, 28)`` (a drawn or uploaded digit, preprocessed MNIST-style) through
    every model whose input side in direction ``to`` is a grey digit domain
    (:func:`dalab.ui.translate.models_for_drawing`: a drawing is no mnistm photo):
    ``(gallery items, results)``."""
    problem = direction_message(to)
    if problem:
        raise InputError(problem)
    every = bank.models()
    if not every:
        raise InputError(NO_MODEL_MESSAGE)
    models = models_for_drawing(every, to)
    if not models:
        side = "target" if to == "source" else "source"
        raise InputError(
            f"No loaded model takes a drawn or uploaded digit as a {side}-domain image: their "
            f"{side} domains are " + ", ".join(sorted({str(drawn_domain(m['info'], to))
                                                       for m in every}))
            + f" (a drawing is a grey digit, one of {', '.join(DRAWN_DOMAINS)}). Choose the other "
              "direction, or use the Gallery tab for those domains.")
    items, results = [], []
    for m in models:
        row = {"model": m["label"], "to": to}
        problem = direction_problem(m["model"], to)  # declared: CDLM has no target decoder
        if problem:
            results.append({**row, "error": problem})
            continue
        try:
            img, probs = translate_and_classify(m["model"], x, to=to)
        except Exception as e:  # noqa: BLE001 (one broken model: its row says so, the rest answer)
            log.exception("model %s failed to translate", m["label"])
            results.append({**row, "error": f"this model failed ({type(e).__name__}); see the "
                                            f"server log"})
            continue
        k = int(probs[0].argmax())
        row.update(label=m["classes"][k], confidence=round(float(probs[0, k]), 4),
                   shape=list(img.shape[1:]))
        results.append(row)
        items.append((_image_file(img[0]), caption(m.get("short", m["label"]), row["label"],
                                                   row["confidence"])))
    return items, results


def gallery_columns(models: list[dict], domain: str) -> int:
    """The Gallery tab's columns for ``domain``: its test image and each of its models."""
    return 1 + len(models_for_domain(models, domain))


def gallery_legend(models: list[dict], domain: str) -> str:
    """Markdown under the gallery for ``domain``: each model of the domain (caption name, full
    name, accuracy), and for a model that cannot render this domain's images (CDLM has a
    decoder for its source domain only) the reason, which was only in the JSON (issue 25)."""
    lines = []
    for m in models_for_domain(models, domain):
        to = direction_for(domain, m["info"])
        problem = direction_problem(m["model"], to)
        line = f"- **{m['short']}**: {m['label']}" + (
            f", target accuracy {m['accuracy']:.0%}" if m.get("accuracy") is not None else "")
        if problem:
            line += f". **No picture for {domain} images** (its tiles are blank): {problem}"
        lines.append(line)
    return "\n".join(lines) or f"No loaded model has {domain} in its pair."


def legend(models: list[dict]) -> str:
    """Markdown under a gallery: each caption's short name and the model's full name."""
    return "\n".join(f"- **{m['short']}**: {m['label']}" + (
        f", target accuracy {m['accuracy']:.0%}" if m.get("accuracy") is not None else "")
        for m in models)


def _translation_tab(name: str, what: str, fn, api_name: str, make_input):
    """A tab: an input, the direction, a button; the 28 x 28 input as the models see it, the
    translations with labels, a legend of the captions' names, and the same as JSON (what API
    clients read). Returns ``(input, legend)``."""
    with gr.Tab(name):
        with gr.Row():
            with gr.Column():
                source = make_input()
                to = direction_radio(value="source", label=f"Treat the {what} as",
                                     info="Only models whose domain on that side is a grey "
                                          f"digit domain ({', '.join(DRAWN_DOMAINS)}) answer.")
                button = gr.Button("Translate", variant="primary")
            with gr.Column():
                seen = gr.Image(label="As the models see it (28 x 28)", type="filepath",
                                interactive=False, height=140, format="png")
                out = gr.Gallery(label="Translations", columns=4, height="auto", format="png",
                                 elem_classes=["dalab-gallery"])
                names = gr.Markdown()
                table = gr.JSON(label="Labels and confidences")
    button.click(fn, [source, to], [seen, out, table], api_name=api_name)
    return source, names


def build_app(models=None, runs_dir: str = "runs") -> gr.Blocks:
    """The demo. ``models``: ``None`` (every translation-capable zoo entry and run under
    ``runs_dir``), a list of run directories or of :func:`dalab.ui.models.available` dicts,
    or a :class:`~dalab.ui.translate.ModelBank`. Models load here, once."""
    bank = models if isinstance(models, ModelBank) else ModelBank(models, runs_dir=runs_dir)
    bank.models()  # load once, now: the gallery's grid needs the count

    def check_direction(to):
        problem = direction_message(to)
        if problem:
            raise InputError(problem)

    @_guard
    def translate_drawing(sketch, to):
        check_direction(to)  # before the picture: the message names what is wrong first
        x = preprocess(sketch)
        items, results = translate_one(bank, x[None], to)
        return _image_file(x), items, results

    @_guard
    def translate_upload(path, to):
        check_direction(to)
        if not path:
            raise InputError("No file uploaded: choose an image file first.")
        x = preprocess(load_image_file(path))
        items, results = translate_one(bank, x[None], to)
        return _image_file(x), items, results

    @_guard
    def gallery(domain, n, seed):
        if domain not in GALLERY_DOMAINS:
            raise InputError(f"Unknown domain {domain!r}; choose one of "
                             f"{', '.join(GALLERY_DOMAINS)}.")
        n = int(min(max(int(n or 1), 1), MAX_GALLERY))
        if not bank.models():
            raise InputError(NO_MODEL_MESSAGE)
        models = models_for_domain(bank.models(), domain)
        if not models:
            raise InputError(f"No loaded model translates {domain} images (their pairs: "
                             + ", ".join(sorted({f"{m['info']['pair']['source']}<->"
                                                 f"{m['info']['pair']['target']}"
                                                 for m in bank.models()})) + ").")
        try:
            seed = int(seed or 0)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"Seed {seed!r} is not a whole number; use 0 .. 2**31-1.") \
                from None
        if not 0 <= seed < 2 ** 31:
            raise InputError(f"Seed {seed} is out of range; use 0 .. 2**31-1.")
        test = load_domain(domain).test
        idx = np.sort(np.random.default_rng(seed).choice(len(test.y), n, replace=False))
        x = np.asarray(test.x[idx], np.float32)
        outs = []
        for m in models:
            to = direction_for(domain, m["info"])
            problem = direction_problem(m["model"], to)
            if problem:
                outs.append((m, to, None, None, problem))
                continue
            try:
                img, probs = translate_and_classify(m["model"], x, to=to)
            except Exception as e:  # noqa: BLE001 (one broken model must not fail the gallery)
                log.exception("model %s failed to translate", m["label"])
                outs.append((m, to, None, None, f"this model failed ({type(e).__name__}); "
                                               f"see the server log"))
                continue
            outs.append((m, to, img, probs, None))
        items, results = [], []
        for i in range(n):   # one row per test image: the input, then each model's output
            items.append((_image_file(x[i]), f"#{int(idx[i])}, true {int(test.y[idx[i]])}"))
            for m, to, img, probs, err in outs:
                if err is not None:   # the message is in the JSON
                    items.append((_image_file(np.zeros_like(x[i])), f"{m['short']}: error"))
                    continue
                k = int(probs[i].argmax())
                items.append((_image_file(img[i]), caption(m["short"], m["classes"][k],
                                                           probs[i, k])))
        for m, to, img, probs, err in outs:
            results.append({"model": m["label"], "to": to, "error": err} if err else
                           {"model": m["label"], "to": to, "shape": list(img.shape),
                            "labels": [m["classes"][int(k)] for k in probs.argmax(1)]})
        return items, results

    def redraw(domain, n):
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        return (seed, *gallery(domain, n, seed))

    def list_models():
        """The loaded models and any that could not be loaded."""
        return {"models": [{"label": m["label"], "method": m["info"]["method"],
                            "source": m["info"]["pair"]["source"],
                            "target": m["info"]["pair"]["target"], "accuracy": m["accuracy"],
                            "target_labels": label_use(m["info"]) or "none"}
                           for m in bank.models()],
                "problems": bank.problems}

    with gr.Blocks(title="dalab: domain translation", delete_cache=CACHE_CLEANUP) as demo:
        gr.Markdown("# Domain translation\nDraw or upload a digit, or sample test images: "
                    f"every translation-capable model ({TRANSLATION_METHODS}) translates it; each "
                    "result carries the model's predicted label and confidence.")
        status = gr.Markdown()
        sketchpad, draw_names = _translation_tab(
            "Draw", "drawing", translate_drawing, "translate_drawing",
            lambda: gr.Sketchpad(label="Draw a digit (the brush is on the left)", type="numpy",
                                 canvas_size=(280, 280), image_mode="RGBA",
                                 brush=gr.Brush(default_size=14, colors=["#000000"],
                                                color_mode="fixed")))
        _, upload_names = _translation_tab(
            "Upload", "image", translate_upload, "translate_upload",
            lambda: gr.File(label=f"An image file (at most {MAX_FILE_BYTES // 2**20} MB)",
                            file_types=["image"], type="filepath"))
        with gr.Tab("Gallery"):
            with gr.Row():
                domain = gr.Dropdown(list(GALLERY_DOMAINS), value="digits",
                                     label="Test images of",
                                     allow_custom_value=True)  # ours says what is valid
                count = gr.Slider(1, MAX_GALLERY, value=8, step=1, label="How many")
                seed = gr.Number(value=0, precision=0, label="Seed")
            with gr.Row():
                gal_btn = gr.Button("Show", variant="primary")
                redraw_btn = gr.Button("Re-draw (new seed)")
            gal_out = gr.Gallery(label="Each row: a test image, then each model of its domain",
                                 columns=gallery_columns(bank.models(), "digits"),
                                 height="auto", format="png",
                                 elem_classes=["dalab-gallery"])
            gal_names = gr.Markdown()
            gal_json = gr.JSON(label="Predicted labels")
        reload_btn = gr.Button("Reload models", size="sm")
        models_json = gr.JSON(visible=False)

        def columns(domain):
            """One row per test image: the image and each model of its domain; the legend
            names each model, and why one cannot render this domain's images."""
            return (gr.update(columns=gallery_columns(bank.models(), domain)),
                    gallery_legend(bank.models(), domain))

        gal_btn.click(gallery, [domain, count, seed], [gal_out, gal_json], api_name="gallery")
        redraw_btn.click(redraw, [domain, count], [seed, gal_out, gal_json], api_name="redraw")
        for event in (domain.change, demo.load):
            event(columns, [domain], [gal_out, gal_names], api_visibility="private")

        def on_load():
            """The status line and the model list."""
            info = list_models()
            if not info["models"]:
                text = f"**{NO_MODEL_MESSAGE}**"
            else:
                text = "Models: " + "; ".join(
                    f"{m['label']}" + (f" (target accuracy {m['accuracy']:.0%})"
                                       if m["accuracy"] is not None else "")
                    + (f" [{m['target_labels']}]" if m["target_labels"] != "none" else "")
                    for m in info["models"])
            if info["problems"]:
                text += "\n\nNot loaded: " + "; ".join(info["problems"])
            return text, info

        def reload_models():
            """Read the zoo and the runs again: runs trained after the start appear."""
            bank.reload()
            return on_load()

        def legends():
            names = legend(bank.models())
            return names, names

        names = [draw_names, upload_names]
        demo.load(on_load, None, [status, models_json], api_name="models").then(
            legends, None, names, api_visibility="private")
        reload_btn.click(reload_models, None, [status, models_json],
                         api_name="reload_models").then(legends, None, names,
                                                        api_visibility="private").then(
            columns, [domain], [gal_out, gal_names], api_visibility="private")
        demo.load(None, js=SELECT_BRUSH)
        sketchpad.clear(None, js=SELECT_BRUSH)  # "Clear" deselects the brush: pick it again
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7861, block: bool = True):
    """Start the server: no share link, uploads capped, errors shown as messages."""
    return demo.launch(server_name=host, server_port=port, share=False, inbrowser=False,
                       max_file_size=MAX_FILE_BYTES, prevent_thread_lock=not block,
                       show_error=True, quiet=not block, footer_links=["api"],
                       css=GALLERY_CSS)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dalab.ui.gradio_app", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=os.environ.get("DALAB_GRADIO_HOST", "127.0.0.1"),
                   help="interface to listen on (default 127.0.0.1, $DALAB_GRADIO_HOST)")
    p.add_argument("--port", type=int, default=int(os.environ.get("DALAB_GRADIO_PORT", 7861)),
                   help="port (default 7861, $DALAB_GRADIO_PORT)")
    p.add_argument("--runs-dir", default="runs", help="where the user's runs live")
    args = p.parse_args(argv)
    if not port_free(args.host, args.port):
        print(f"dalab gradio: port {args.port} on {args.host} is already in use. Stop what "
              f"runs there or pick another: --port N (or DALAB_GRADIO_PORT=N).",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)   # one line per HTTP call otherwise
    print("dalab gradio: loading the translation models...", flush=True)
    demo = build_app(runs_dir=args.runs_dir)
    print(f"dalab gradio: http://{args.host}:{args.port}", flush=True)
    launch(demo, args.host, args.port, block=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
