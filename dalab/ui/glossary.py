"""What each number the app shows is, in one place: the help of every ``st.metric`` (by its
label) and of every table column (by its name). Pages pass ``help=HELP[label]`` and
``column_config=columns(names)``; ``tests/test_glossary.py`` renders the pages and checks that
every metric and every table column they show has its entry here.

A label with a part that changes (a domain's name, a dimension count) is keyed by its pattern,
the changing parts in braces: ``"proxy A-distance, {name} vs {other} (raw pixels)"``
(:func:`help_for` finds the entry of a rendered label). Accuracies are shares of images, 0-1;
KL divergences are in nats; A-distance, MMD² and ratios have no unit.
"""
from __future__ import annotations

import re

ACCURACY = "a share of images, 0-1 (1 = every image right)"

HELP: dict[str, str] = {
    # Datasets
    "proxy A-distance, {name} vs {other} (raw pixels)":
        "2 (1 - 2e), e = the held-out error of a linear classifier telling the two domains apart "
        "from their raw pixels (no unit): 0 = indistinguishable, 2 = perfectly separable.",
    # KL-gap calculator
    "gap ratio KL(st‖ts) / KL(s‖t) (Eq. 10)":
        "((1-γ1)/γ1)²: how many times the modulated gap KL(st‖ts) is the original gap KL(s‖t) "
        "(nats over nats: no unit). Below 1 the modulation brings the domains closer; 0 at "
        "γ1 = 1; above 1 (γ1 < 0.5) it pushes them apart.",
    # Latent vs prior
    "mean KL to the prior (source)":
        "KL(N(m, s²) ‖ N(0, 1)) in nats, m and s the mean and sd of one code dimension over "
        "the source test images, averaged over the dimensions: 0 = the mean and spread of the "
        "standard Gaussian that DFA's KL term pulls towards.",
    # Alignment
    "target accuracy":
        f"Target test accuracy recorded when the model was trained, {ACCURACY}; 'uses n target "
        "labels per class' when its training saw some target labels.",
    "proxy A-distance, common {dims}-d (0 = aligned, 2 = separable)":
        "2 (1 - 2e), e = the held-out error of a linear classifier telling source from target "
        "features (no unit): 0 = the domains' features are indistinguishable, 2 = perfectly "
        "separable.",
    "MMD², common {dims}-d (RBF, median bandwidth)":
        "Squared maximum mean discrepancy between the source and target features with an RBF "
        "kernel whose bandwidth is the median pairwise distance (no unit): 0 = the same "
        "distribution; compare only numbers on the same representation.",
    # Modulation
    "accuracy on x~_ts = D(γ1 h_t + γ2 ε)":
        f"The paper's test mode (Sec. 3.2.4): the classifier on the source decoder's renderings "
        f"of the batch's target images, {ACCURACY}. Table 6, live.",
    "accuracy of C(h_t) (no generation, independent of γ)":
        f"The classifier C on the target images' deep features h_t directly, {ACCURACY}; "
        "neither γ nor the mode enters it.",
    "distance of the averages, μ_st to μ_ts (all dimensions)":
        "Euclidean distance, in latent units, between the batch averages of the transfer means "
        "μ_st and μ_ts over all dimensions; the delta is this minus the distance of μ_s to μ_t "
        "(negative = pushed closer, as Fig. 4 draws).",
    "measured KL(st‖ts) / KL(s‖t)":
        "The gap after modulation over the gap before, each a KL divergence (nats) between "
        "diagonal Gaussians fitted to the batch's sampled codes: no unit; below 1 = the "
        "modulated codes are closer than the plain ones.",
    "predicted ratio ({equation})":
        "The same ratio as the paper's equation predicts it from the fitted moments of the "
        "codes (no unit); Eq. 10 assumes σ_s ≈ 1, γ1 ≫ γ2 and h distributed like μ_t.",
    # Bridge
    "transfer accuracy source -> target":
        f"Share of source images whose transfer to the target domain gets the same class "
        f"({ACCURACY}), each side labelled by its own classifier.",
    "transfer accuracy target -> source":
        f"Share of target images whose transfer to the source domain gets the same class "
        f"({ACCURACY}).",
    "bridge's target accuracy":
        f"The bridge's own classifier f on the target codes against the target test labels, "
        f"{ACCURACY}.",
    "classifier on z' (domain 1, training points)":
        "Share of domain 1's training points (0-1) that the linear classifier on the shared "
        "2-D code z' puts in their class.",
    # Playground
    "steps trained":
        "Training steps so far: one batch of 64 points per domain each, the method's own "
        "update and schedules.",
    "target accuracy (all points)":
        f"The classifier on every target point (train and test split) against its label, "
        f"{ACCURACY}; the method never sees these labels, they only score it.",
    "source accuracy (all points)":
        f"The classifier on every source point against its label, {ACCURACY}.",
    "feature MMD²":
        "Squared maximum mean discrepancy between the two domains' features (RBF kernel, "
        "bandwidth fixed at step 0; no unit): 0 = the features of both domains are "
        "distributed alike, larger = apart. Alignment makes it fall.",
    # Train
    "target test accuracy":
        f"The run's classifier on the target test split at the last evaluation, {ACCURACY}; "
        "its training never sees these labels.",
}

COLUMNS: dict[str, str] = {
    # Datasets: class counts
    "class": "The class (a digit for the image domains).",
    "train": "Examples of this class in the training split (a count).",
    "test": "Examples of this class in the test split (a count).",
    # KL-gap calculator
    "equation": "The equation of the CDLM paper (Hou et al.) that gives the row.",
    "quantity": "What the row computes, for the one latent dimension set above.",
    "value": "KL rows in nats; the Eq. 10 row is a ratio (no unit).",
    # KL-gap calculator: a trained model's measured values
    "symbol": "A symbol of the calculator (and two it has no input for: γ2, h).",
    "measured": "Its value measured on the chosen CDLM model, in latent units (γ: no unit).",
    "what": "How the value was measured on the model, or what it is.",
    # Results: benchmark
    "method": "The method, with its use of target labels where it has one.",
    "mean": f"Mean target test accuracy over the seeds, {ACCURACY}.",
    "sd": "Standard deviation of the target test accuracy over the seeds (- for one seed).",
    "seeds": "How many seeds (independent trainings) the mean is over.",
    "gap closed": "(mean - source-only) / (target-only - source-only): the share of the "
                  "distance from the lower to the upper bound the method covers (1 = all).",
    "steps": "Training steps of the runs (optimizer updates), one number per distinct setting.",
    "steps/s": "Training speed: optimizer steps per second of wall time.",
    "device": "Where the runs trained (cpu, cuda, mps).",
    "paper (different dataset)": "What each paper reports on its nearest task: another dataset, "
                                 "for orientation only (accuracy, 0-1).",
    # Results: sweeps
    "seed": "The run's random seed.",
    "L_c terms": "Which terms of CDLM's consistency loss (Eq. 20) were trained: none, the "
                 "source term L_c^s, the target term L_c^t, or both (the default).",
    "paper (MNIST->USPS)": "CDLM's Table 3 (Hou et al.): target accuracy on MNIST -> USPS, a "
                           "different dataset from ours.",
    "ours, L_gen on": "Our target test accuracy (0-1) with the joint classifier's loss on the "
                      "generations on (the default), mnist -> digits.",
    "ours, L_gen off": "The same with lambda_gen = 0: L_c alone teaches the decoder to render "
                       "h as a classifiable image.",
    "run": "The run's folder under bench/ (pair/method/seed): config, metrics.csv, weights.",
    "recipe": "The benchmark recipe the run was trained by (dalab/recipes.py), name@key: a "
              "row is made only of runs of its method's current recipe.",
    "problem": "Why the run cannot be read (empty when it can).",
    "status": "finished, diverged, stopped or running.",
    "entropy": "Label-free score: mean prediction entropy on target images (nats; lower is "
               "better).",
    "SND": "Label-free score: soft neighbourhood density of the target features (higher is "
           "better).",
    "IWCV": "Label-free score: importance-weighted validation on source labels (higher is "
            "better).",
    "DEV": "Label-free score: deep embedded validation, an importance-weighted source risk "
           "with a control variate (lower is better).",
    "target test": f"Target test accuracy, {ACCURACY}: what a real adaptation task would not "
                   "have.",
    # Alignment: every model of the pair on the common representation
    "model": "The model: a zoo entry or one of your runs.",
    "pair": "Its source -> target domains.",
    "target accuracy": f"Recorded target test accuracy, {ACCURACY}.",
    "target labels": "The target labels its training used (none: the unsupervised setting).",
    "features": "The size of the model's own feature vector (before the common projection).",
    "A-distance": "Proxy A-distance on the common representation (no unit): 0 = source and "
                  "target features indistinguishable, 2 = separable.",
    "MMD²": "Squared MMD (RBF kernel, median bandwidth) on the common representation (no "
            "unit): 0 = the same distribution.",
    "below raw pixels": "Whether its A-distance is below the raw images' (CDLM Fig. 9's "
                        "criterion; never for a model at chance).",
    "note": "Why a model is not counted (at chance: its features carry no class).",
    # Home
    "idea": "The method's idea in one line.",
    "paper": "The paper the method comes from.",
    "uses target labels": "Whether training sees target labels (target_only: all of them).",
    "name": "The domain's name, as the CLI and the pickers spell it.",
    "kind": "image (28 x 28) or points (2-D toys).",
    "origin": "embedded (shipped, no download) or file (under $DALAB_DATA_DIR).",
    "description": "Where the data come from.",
}
GRID_VALUE = "A value of the sweep's grid: the config key this column is named by."


def _pattern(key: str) -> re.Pattern:
    parts = re.split(r"\{[^}]*\}", key)
    return re.compile("^" + ".+".join(map(re.escape, parts)) + "$", re.DOTALL)


_PATTERNS = [(_pattern(k), k) for k in HELP]


def help_key(label: str) -> str | None:
    """The :data:`HELP` key a rendered metric label is an instance of (``None``: none)."""
    for pattern, k in _PATTERNS:
        if pattern.match(label):
            return k
    return None


def help_for(label: str) -> str:
    """The help of a rendered metric label (its pattern's entry); ``KeyError`` for a label no
    entry covers: every number shown has its help here."""
    k = help_key(label)
    if k is None:
        raise KeyError(f"no help for the metric {label!r}: add it to dalab/ui/glossary.py")
    return HELP[k]


def column_help(name: str, grid: bool = False) -> str:
    """The help of a table column; ``grid``: an unknown name is a sweep's config key."""
    if name in COLUMNS:
        return COLUMNS[name]
    if grid:
        return GRID_VALUE
    raise KeyError(f"no help for the column {name!r}: add it to dalab/ui/glossary.py")


def columns(names, grid: bool = False, **configs) -> dict:
    """``st.dataframe``'s ``column_config`` for the columns ``names``: each column's help
    (:func:`column_help`), on the given ``st.column_config`` entry where one is passed
    (``columns(names, mean=st.column_config.NumberColumn(format="%.4f"))``; a name with a
    space: ``**{"gap closed": ...}``)."""
    import streamlit as st  # dalab/ui may; the help texts above stay importable without it
    out = {}
    for n in names:
        cfg = dict(configs.get(n) or st.column_config.Column())
        cfg["help"] = column_help(n, grid)
        out[n] = cfg
    return out
