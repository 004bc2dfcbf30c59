"""The public Python API (re-exported by ``import dalab``)::

    import dalab
    pair = dalab.pair_from_arrays(x_s, y_s, x_t, y_t=None)   # numpy; (N,C,H,W) in [0,1] or (N,D)
    model, result = dalab.fit("dfa_mcd", pair, steps=2000)   # unlabelled target: source metrics
    labels = model.predict_numpy(x_t)                        #   and label-free scores
    model, info = dalab.load("cdlm_mnist_to_digits")         # zoo name or run directory

Everything here is a thin layer over :func:`dalab.train.fit`, :mod:`dalab.runs` and
:mod:`dalab.zoo`; the CLI and the app call the same functions.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .data import DataError, DomainPair, pair_from_arrays
from .methods import Method
from .runs import CONFIG, load_pair, load_run
from .train import FitResult, build_for, evaluate_pair
from .train import fit as _fit
from .train import resume

__all__ = ["evaluate", "fit", "load", "load_pair", "pair_from_arrays", "resume"]


def fit(method: str | Method, pair: DomainPair | tuple[str, str], steps: int | None = None, *,
        config: dict | None = None, overrides: list[str] | None = None, seed: int = 0,
        split_seed: int = 0, out: str | Path | None = None, progress: bool | None = None,
        **fit_kwargs) -> tuple[Method, FitResult]:
    """Train ``method`` (a registered name, or a built :class:`Method`) on ``pair`` (a
    :class:`DomainPair`, e.g. from :func:`pair_from_arrays`, or ``(source, target)`` domain
    names) and return ``(model, result)``. ``config``/``overrides`` set config values (names:
    ``dalab methods -v``); ``out`` saves the run (``save_data=True`` keeps the arrays, so
    ``dalab eval`` can re-evaluate it); other keywords go to :func:`dalab.train.fit`
    (``device``, ``eval_every``, ``checkpoint_every``, ``resume_from``, ``callbacks``, ...).
    ``progress``: a progress bar (tqdm; in a notebook its widget); default: on where someone
    watches (a terminal or a notebook), off otherwise."""
    if isinstance(pair, tuple):
        pair = DomainPair(*pair, split_seed=split_seed)
    if not isinstance(pair, DomainPair):
        raise DataError(f"pair must be a DomainPair (dalab.pair_from_arrays(...)) or a "
                        f"(source, target) tuple of domain names, got {type(pair).__name__}")
    if isinstance(method, Method):
        if config or overrides:
            raise ValueError("config/overrides apply to a method given by name; this method "
                             "is already built")
        model = method
    else:
        model = build_for(method, pair, overrides=overrides, config=config, seed=seed)
    notebook = "ipykernel" in sys.modules
    if progress is None:
        progress = notebook or sys.stderr.isatty()
    if progress:
        from .train import progress_bar
        n = steps if steps is not None else model.default_steps
        if fit_kwargs.get("resume_from") is not None:
            from .runs import read_checkpoint
            n = read_checkpoint(fit_kwargs["resume_from"])[1]["planned_steps"]
        bar, cb = progress_bar(f"{model.name}", int(n), notebook=notebook)
        fit_kwargs["callbacks"] = [*fit_kwargs.get("callbacks", ()), cb]
    try:
        result = _fit(model, pair, steps, seed=seed, out=out, **fit_kwargs)
    finally:
        if progress:
            bar.close()
    return model, result


def load(name_or_dir: str | Path, device: str = "auto") -> tuple[Method, dict]:
    """A trained model and its run description: a run directory (``runs/...``) or the name
    of a pretrained zoo entry (``dalab zoo list``)."""
    from . import zoo

    p = Path(name_or_dir)
    if (p / CONFIG).is_file():
        return load_run(p, device=device)
    return zoo.load(str(name_or_dir), device=device)


def evaluate(model: Method, pair: DomainPair) -> dict:
    """Source accuracy, target accuracy (when the pair has target labels) and the label-free
    scores of ``model`` on ``pair``'s test splits."""
    return evaluate_pair(model, pair)
