"""dalab: a domain-adaptation lab. Core: data -> nn -> losses -> methods -> runs -> train.

The public API (:mod:`dalab.api`) is importable from the package::

    import dalab
    pair = dalab.pair_from_arrays(x_s, y_s, x_t)
    model, result = dalab.fit("dfa_mcd", pair, steps=2000)
    labels = model.predict_numpy(x_t)
    model, info = dalab.load("cdlm_mnist_to_digits")

Its names load lazily, so ``import dalab`` stays cheap for the CLI and the app.
"""
__version__ = "0.1.0"

_API = ("evaluate", "fit", "load", "load_pair", "pair_from_arrays", "resume")
__all__ = ["__version__", *_API]


def __getattr__(name):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'dalab' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_API])
