"""``python -m dalab`` / ``dalab``: methods, data, train, eval, bench, sweep, zoo, timings.

Bad names or values print an error that lists what is valid and exit with code 2.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

EXIT_USAGE = 2


class UsageError(Exception):
    pass


def _methods(args) -> int:
    from .methods import list_methods

    for cls in list_methods():
        flag = "  [uses target labels]" if cls.uses_target_labels else ""
        print(f"{cls.name:<14} {cls.summary}{flag}")
        print(f"{'':<14} paper: {cls.paper}")
        if args.verbose:
            for f in dataclasses.fields(cls.Config):
                print(f"{'':<16}{f.name} = {f.default!r}")
    return 0


def _data_list(args) -> int:
    from .data import list_domains

    for d in list_domains():
        print(f"{d.name:<14} {d.kind:<7} {d.origin:<9} {d.description}")
    print("custom         image   custom    folder:PATH (one sub-folder per class) or "
          "npz:PATH (arrays x, y)")
    return 0


def _data_show(args) -> int:
    from .data import load_domain

    if args.png and Path(args.png).is_dir():
        raise UsageError(f"--png {args.png}: is a folder; give a file name "
                         f"(e.g. {Path(args.png) / 'grid.png'})")
    d = load_domain(args.name, args.split_seed)
    print(f"{d.name}: {d.description}")
    print(f"kind {d.kind}, input shape {d.input_shape}, {d.num_classes} classes, "
          f"train {len(d.train)}, test {len(d.test)} (split seed {d.split_seed})")
    print(f"{'class':<12}{'train':>7}{'test':>7}")
    for name, (tr, te) in d.class_counts().items():
        print(f"{name:<12}{tr:>7}{te:>7}")
    if args.png:
        from PIL import Image

        from .data.preview import image_grid, points_plot

        arr = (image_grid(d.train.x, d.train.y, d.classes) if d.kind == "image"
               else points_plot(d.train.x, d.train.y))
        png = Path(args.png)
        if png.is_dir():
            raise UsageError(f"--png {png}: is a folder; give a file name (e.g. {png}/grid.png)")
        try:
            png.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(png, format="PNG")
        except (OSError, ValueError) as e:
            raise UsageError(f"--png {png}: cannot write it ({getattr(e, 'strerror', None) or e})"
                             ) from None
        print(f"wrote {png}")
    return 0


def _default_out(method: str, source: str, target: str, seed: int) -> Path:
    clean = lambda s: re.sub(r"[^A-Za-z0-9_.-]+", "_", s)  # noqa: E731 (custom names hold paths)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{clean(method)}_{clean(source)}_to_{clean(target)}_seed{seed}_{stamp}"


def _progress_bar(args, desc: str, total: int):
    """A tqdm bar and the ``fit`` callback that drives it (:func:`dalab.train.progress_bar`)."""
    from .train import progress_bar
    return progress_bar(desc, total, disable=args.quiet)


def _accuracy_line(acc: dict) -> str:
    if "target_test" in acc:
        return (f"target test accuracy {acc['target_test']:.4f} (source test "
                f"{acc['source_test']:.4f})")
    return (f"no target labels: source test accuracy {acc['source_test']:.4f}, target "
            f"prediction entropy {acc['target_entropy']:.4f} nats")


def _train(args) -> int:
    from .runs import CONFIG
    from .train import fit_and_save, prepare, resolve_device, resume

    resolve_device(args.device)  # fail on an absent device before anything else
    fit_kw = dict(device=args.device, eval_every=args.eval_every,
                  checkpoint_every=args.checkpoint_every, max_grad_norm=args.max_grad_norm,
                  tensorboard=args.tensorboard, ema=args.ema, augment=args.augment)
    if args.resume:
        from .runs import read_run_info
        contradict = [f for f, given in (
            ("--method", args.method), ("--source", args.source), ("--target", args.target),
            ("--steps", args.steps is not None), ("--set", args.set), ("--out", args.out),
            ("--seed", args.seed is not None), ("--split-seed", args.split_seed is not None),
            ("--force", args.force), ("--save-data", args.save_data)) if given]
        if contradict:
            raise UsageError(f"--resume continues the run as it was started: "
                             f"{', '.join(contradict)} cannot change it (leave "
                             f"{'it' if len(contradict) == 1 else 'them'} out, or start a new "
                             f"run with --out)")
        info = read_run_info(args.resume)
        desc = f"{info['method']} {info['pair']['source']}->{info['pair']['target']}"
        bar, progress = _progress_bar(args, desc, info.get("planned_steps") or info["steps"])
        fit_kw = {k: v for k, v in fit_kw.items() if v not in (None, False) or k == "device"}
        result, run_dir = _training(lambda: resume(args.resume, callbacks=[progress],
                                                   **fit_kw)[1:], bar)
        print(f"{desc} seed {info['seed']}: {_accuracy_line(result.accuracy)}, "
              f"{result.steps_done} steps ({result.status}); run saved to {run_dir}")
        return _exit_code(result)
    missing = [f"--{k}" for k in ("method", "source", "target") if not getattr(args, k)]
    if missing:
        raise UsageError(f"train needs {', '.join(missing)} (or --resume RUN_DIR)")
    args.seed = 0 if args.seed is None else args.seed
    args.split_seed = 0 if args.split_seed is None else args.split_seed
    out = Path(args.out) if args.out else _default_out(args.method, args.source, args.target,
                                                       args.seed)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if (out / CONFIG).is_file() and not args.force:
        raise UsageError(f"--out {out}: a run is already there; continue it with --resume "
                         f"{out}, or pass --force to overwrite it")
    held = sorted(p.name for p in out.iterdir() if p.name != ".lock") if out.is_dir() else []
    if held and not (out / CONFIG).is_file():
        raise UsageError(f"--out {out}: the folder holds files and is not a dalab run "
                         f"({', '.join(held[:5])}{', ...' if len(held) > 5 else ''}); nothing "
                         f"was written: choose an empty or new folder")
    model, pair = prepare(args.method, args.source, args.target, overrides=args.set,
                          seed=args.seed, split_seed=args.split_seed)
    _check_writable(out)
    steps = args.steps if args.steps is not None else model.default_steps
    bar, progress = _progress_bar(args, f"{args.method} {args.source}->{args.target}", steps)
    result, run_dir = _training(lambda: fit_and_save(
        model, pair, steps, seed=args.seed, out=out, callbacks=[progress],
        save_data=args.save_data, **fit_kw), bar)
    print(f"{args.method} {args.source}->{args.target} seed {args.seed}: "
          f"{_accuracy_line(result.accuracy)}, "
          f"{result.steps_done} steps, {result.steps_per_second:.1f} steps/s on {result.device}, "
          f"{result.wall_time_s:.1f} s; run saved to {run_dir}")
    return _exit_code(result)


class TrainingFailed(Exception):
    """Training started and then failed (exit 1, with the cause)."""


def _training(run, bar):
    """Run a training call: argument problems found before the first step stay usage errors
    (exit 2); anything raised once training runs is a runtime failure (exit 1, with its
    cause). The progress bar is closed either way."""
    from .train import FitArgumentError

    try:
        return run()
    except (FitArgumentError, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001 (reported with its type, exit 1)
        raise TrainingFailed(f"training failed: {type(e).__name__}: {e}") from e
    finally:
        bar.close()


def _exit_code(result) -> int:
    if result.status == "diverged":
        print(f"error: training diverged: {result.message}", file=sys.stderr)
        return 1
    if result.status == "stopped":
        print(f"dalab: {result.message}", file=sys.stderr)
        return 130
    return 0


def _check_writable(out: Path) -> None:
    """Fail before training when the run folder cannot be created or written."""
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test."):
            pass
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write a run there ({e.strerror or e})") from None


def _eval(args) -> int:
    from .runs import CONFIG, load_pair, load_run, run_status
    from .train import evaluate_pair

    run_dir = Path(args.run_dir)
    if not (run_dir / CONFIG).is_file() and "/" not in args.run_dir and not run_dir.exists():
        from . import zoo  # a zoo name, as dalab.load takes it (verified against the index)
        try:
            e = zoo.entry(args.run_dir)
        except zoo.ZooError as err:
            raise UsageError(f"{args.run_dir}: neither a run folder nor a zoo entry ({err})") \
                from None
        zoo.load(args.run_dir, device=args.device)  # the index's hash check
        run_dir = zoo.zoo_dir() / e["path"]
    method, info = load_run(run_dir, device=args.device)
    status = run_status(info)
    pair = load_pair(run_dir, info)
    acc = evaluate_pair(method, pair)
    rec = info.get("accuracy", {})
    print(f"{info['method']} {pair.name} (seed {info['seed']}, {info['steps']} steps, "
          f"status {status})")
    if status in ("incomplete", "running") or (status == "stopped" and info.get("checkpoint")):
        print(f"  {status}: weights of step {info['steps']} of "
              f"{info.get('planned_steps', '?')}"
              + (f"; continue with: dalab train --resume {args.run_dir}"
                 if status != "running" else ""))
    if getattr(pair, "fingerprint_note", None):
        print(f"  warning: {pair.fingerprint_note}")
    if not pair.evaluation.has_labels:
        print("  no target labels were given: target accuracy cannot be measured")
    at = f" at step {rec['step']}" if "step" in rec else ""
    for k in ("target_test", "source_test", "target_entropy"):
        if k in acc:
            r = rec.get(k)
            r = f"{r:.4f}" if isinstance(r, (int, float)) else "-"
            print(f"  {k:<14} {acc[k]:.4f}   (recorded {r}{at})")
    return 0


def _pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for item in text.split(","):
        if ":" not in item:
            raise argparse.ArgumentTypeError(f"{item!r}: expected SOURCE:TARGET")
        src, tgt = item.split(":", 1)  # custom domains may hold ':' after the first one
        pairs.append((src, tgt))
    return pairs


def _bench(args) -> int:
    from pathlib import Path

    from . import recipes as rc
    from .bench import (CAMPAIGN_DIR, PAIRS, QUICK_STEPS, SKADA_METHODS, BenchRunFailed,
                        current_keys, git_committer, incomplete_runs, missing_runs, run_bench,
                        selection_markdown, selection_rows, summarize, to_markdown,
                        write_docs)
    from .data import DomainPair

    if args.gpu_recipes:
        if args.device != "cuda":
            raise ValueError(f"--gpu-recipes ({', '.join(r.name for r in rc.GPU_ONLY.values())}"
                             f") are written for a GPU: add --device cuda (they are not run on "
                             f"the CPU)")
        args.methods = args.methods or ",".join(rc.GPU_ONLY)
        unknown = [m for m in args.methods.split(",") if m not in rc.GPU_ONLY]
        if unknown:
            raise ValueError(f"no GPU recipe for {', '.join(unknown)}; GPU recipes: "
                             f"{', '.join(rc.GPU_ONLY)}")
        args.no_peers = True
    out = args.out or ("runs/bench-quick" if args.quick else
                       "bench-gpu" if args.gpu_recipes else CAMPAIGN_DIR)
    campaign = Path(out).resolve() == Path(CAMPAIGN_DIR).resolve()
    one_off = [f for f, on in (("--quick", args.quick), ("--steps", args.steps is not None),
                               ("--ema", args.ema is not None), ("--augment", args.augment))
               if on]
    if campaign and one_off:
        raise ValueError(f"{', '.join(one_off)} make one-off runs, not the campaign's recipes "
                         f"(dalab/recipes.py): give them a folder of their own with --out "
                         f"(e.g. --out runs/bench-try); {CAMPAIGN_DIR}/ holds only current "
                         f"recipes")
    pairs = args.pairs or (PAIRS[:1] if args.quick else PAIRS)
    for s, t in pairs:
        DomainPair(s, t)  # unknown or unloadable domains fail before anything trains
    seeds = 1 if args.quick else args.seeds
    steps = QUICK_STEPS if args.quick and args.steps is None else args.steps
    methods = args.methods.split(",") if args.methods else None
    if args.methods and args.methods.lower() == "none":
        methods = []  # peers only
    default_peers = () if args.quick else tuple(rc.PEERS)
    peers = (() if args.no_peers else tuple(args.peers.split(",")) if args.peers
             else default_peers)
    unknown = [p for p in peers if p not in SKADA_METHODS]
    if unknown:
        raise ValueError(f"unknown peer {unknown[0]!r}: choose from {', '.join(SKADA_METHODS)}")
    if peers and not args.summarize_only:
        try:
            import skada  # noqa: F401
        except ImportError:
            raise ValueError("the peer comparison needs skada: pip install -r "
                             "requirements-bench.txt (or pass --no-peers)") from None
    if args.first_seed < 0:
        raise ValueError(f"--first-seed must be 0 or more, not {args.first_seed}")
    if (args.address or args.cpus) and not args.ray:
        raise ValueError("--address and --cpus go with --ray (the benchmark trains one run "
                         "after another without it)")
    if args.ray and args.device not in ("auto", "cpu"):
        raise ValueError(f"--ray trains on CPUs, one run per core (Ray tasks see no GPU): drop "
                         f"--device {args.device}, or leave out --ray")
    commit = git_committer(out) if args.commit else None
    run_tasks = None
    if args.ray and not args.summarize_only:
        from functools import partial

        from . import sweep
        sweep.import_ray()  # Ray missing: say how to install it before anything trains
        run_tasks = partial(sweep.run_tasks, address=args.address, num_cpus=args.cpus)
    if not args.summarize_only:
        try:
            run_bench(out, methods, pairs, seeds, steps, device=args.device, peers=peers,
                      ema=args.ema, augment=args.augment, run_tasks=run_tasks,
                      first_seed=args.first_seed, commit=commit,
                      recipes=rc.GPU_ONLY if args.gpu_recipes else None)
        except BenchRunFailed as e:
            raise TrainingFailed(str(e)) from None
    keys = current_keys() if campaign else None
    rows = summarize(out, keys=keys, log=lambda m: print(m, file=sys.stderr))
    pending = incomplete_runs(out)
    if pending:
        print(f"not in the table, not finished ({len(pending)}): {', '.join(pending)}; "
              f"`dalab bench` with the same arguments resumes them", file=sys.stderr)
    if not rows:
        raise ValueError(f"no benchmark runs under {out} (none finished)")
    selection = [] if args.no_selection else selection_rows(out, keys=keys)
    missing = missing_runs(rows, PAIRS, list(rc.CURRENT), tuple(rc.PEERS)) if campaign else None
    docs = args.docs
    if docs is None:  # the committed table is replaced only by the complete campaign
        if campaign and not missing:
            docs = "docs"
        else:
            why = (f"{len(missing)} (pair, method) rows of the campaign are short of "
                   f"{SEEDS_TEXT}" if campaign else f"{out} is not the campaign folder "
                   f"{CAMPAIGN_DIR}/")
            print(f"docs/benchmarks.md left as it is: {why}; pass --docs docs to write this "
                  f"table there anyway", file=sys.stderr)
    if docs:
        command = "python -m dalab " + " ".join(sys.argv[1:] if args.argv is None else args.argv)
        if args.summarize_only and campaign:
            command = f"python -m dalab bench`; this file: `{command}"
        md, js = write_docs(rows, docs, command, selection, missing=missing)
        print(f"wrote {md} and {js}")
    print(to_markdown(rows))
    if selection:
        print(selection_markdown(selection))
    return 0


SEEDS_TEXT = "3 seeds of the current recipe"


def _zoo_list(args) -> int:
    from . import zoo

    entries, problems = zoo.scan()
    for line in problems:
        print(f"left out: {line}", file=sys.stderr)
    if not entries:
        print(f"the zoo at {zoo.zoo_dir()} is empty; fill it with `python -m dalab zoo build`")
    for e in entries:
        acc = e["accuracy"].get("target_test")
        size = e.get("bytes")
        print(f"{e['name']:<32} {e['method']:<12} {e['source']}->{e['target']}  target "
              f"{acc if acc is None else f'{acc:.4f}'}  "
              f"{'?' if not isinstance(size, int) else f'{size / 2**20:.2f}'} MiB")
    return 0


def _zoo_reseal(args) -> int:
    from . import zoo
    names = zoo.reseal()
    print(f"sealed {len(names)} entr{'y' if len(names) == 1 else 'ies'} of {zoo.zoo_dir()}")
    return 0


def _zoo_build(args) -> int:
    from . import zoo

    methods = args.methods.split(",") if args.methods else None
    select = None
    if args.select != "held_out":
        from .analysis import selection
        from .runs import load_pair, load_run

        def score(run_dir, name=args.select):
            model, info = load_run(run_dir)
            return selection.score_model(model, load_pair(run_dir, info))[name]
        select = (f"the label-free {args.select} score", score,
                  selection.HIGHER_IS_BETTER[args.select])
    kept: list[str] = []
    added = zoo.build_from_bench(args.bench_dir, methods=methods, select=select,
                                 force=args.force, kept=kept)
    if kept and not added:
        print(f"nothing replaced: {len(kept)} entr{'y' if len(kept) == 1 else 'ies'} kept "
              f"(--force replaces them)", file=sys.stderr)
        return 0
    if not added:
        raise ValueError(f"no finished runs under {args.bench_dir}; run `python -m dalab bench` "
                         "first")
    return 0


def _timings(args) -> int:
    from . import timings

    methods = args.methods.split(",") if args.methods else None
    if methods:
        from .methods import get_method
        for m in methods:
            get_method(m)  # unknown names fail before anything runs
    if args.no_speed and args.no_embed and args.no_zoo:
        raise ValueError("--no-speed, --no-embed and --no-zoo leave nothing to measure (an "
                         "empty report is never written)")
    partial = [f for f, on in (("--no-speed", args.no_speed), ("--no-embed", args.no_embed),
                               ("--no-zoo", args.no_zoo), ("--methods", bool(methods)),
                               ("--pairs", bool(args.pairs))) if on]
    result = {"command": "python -m dalab " + " ".join(sys.argv[1:] if args.argv is None
                                                       else args.argv),
              "machine": timings.machine(), "loadavg": timings.loadavg()}
    if not args.no_speed:
        result["speed"] = timings.measure_speed(methods, args.pairs or [("mnist", "digits")],
                                                steps=args.steps, device=args.device)
    if not args.no_embed:
        result["embedding"] = timings.embedding_timings(args.points, args.dim)
    if not args.no_zoo:
        result["zoo"] = timings.zoo_timings()
    docs = args.docs
    if docs is None:  # the committed report is replaced only by a complete one
        docs = "" if partial else "docs"
        if partial:
            print(f"docs/timings.md left as it is: a partial report ({', '.join(partial)}); "
                  f"pass --docs docs to write it there anyway", file=sys.stderr)
    if docs:
        md, js = timings.write_docs(result, docs)
        print(f"wrote {md} and {js}")
    print(timings.to_markdown(result))
    return 0


def _sweep(args) -> int:
    from .sweep import parse_grid, run_sweep, sweep_markdown, sweep_rows

    done = run_sweep(args.method, args.source, args.target, parse_grid(args.grid),
                     seeds=args.seeds, steps=args.steps, out=args.out, address=args.address,
                     num_cpus=args.cpus, ema=args.ema, augment=args.augment)
    print(sweep_markdown(sweep_rows(done["out"]), done["spec"]))
    failed = [r["name"] for r in done["runs"] if "error" in r]
    if failed:
        print(f"dalab: error: {len(failed)} run(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"runs in {done['out']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="dalab", description="dalab: a domain-adaptation lab")
    p.add_argument("--version", action="version", version=f"dalab {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    m = sub.add_parser("methods", help="list the registered methods")
    m.add_argument("-v", "--verbose", action="store_true", help="show config defaults")
    m.set_defaults(func=_methods)

    d = sub.add_parser("data", help="list or show domains")
    dsub = d.add_subparsers(dest="data_cmd", required=True, metavar="SUBCOMMAND")
    dsub.add_parser("list", help="list domains").set_defaults(func=_data_list)
    ds = dsub.add_parser("show", help="sizes, class counts and a PNG grid of one domain")
    ds.add_argument("name")
    ds.add_argument("--png", help="write a grid of examples (or a scatter plot) to this path")
    ds.add_argument("--split-seed", type=_seed, default=0)
    ds.set_defaults(func=_data_show)

    t = sub.add_parser("train", help="train a method on a source->target pair, or resume a run")
    t.add_argument("--method", type=_method_name, metavar="METHOD",
                   help="a registered method (`dalab methods` lists them)")
    t.add_argument("--source")
    t.add_argument("--target")
    t.add_argument("--steps", type=_positive_int, help="default: the method's default_steps")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable); `dalab methods -v` lists keys")
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    t.add_argument("--seed", type=_seed, help="training seed, 0 .. 2**32-1 (default 0)")
    t.add_argument("--split-seed", type=_seed,
                   help="seed of the train/val/test split, 0 .. 2**32-1 (default 0)")
    t.add_argument("--eval-every", type=_positive_int, default=None)
    t.add_argument("--out", help="run directory (default runs/<method>_<src>_to_<tgt>_...); "
                   "an existing run is never overwritten without --force")
    t.add_argument("--force", action="store_true", help="overwrite the run at --out")
    t.add_argument("--checkpoint-every", type=_positive_int, metavar="N",
                   help="write a resumable checkpoint every N steps (and at step 0)")
    t.add_argument("--resume", metavar="RUN_DIR",
                   help="continue a checkpointed run to its planned step count")
    t.add_argument("--max-grad-norm", type=_positive_float, metavar="X",
                   help="clip each update's gradient norm to X")
    t.add_argument("--tensorboard", action="store_true",
                   help="also write TensorBoard event files (needs the tensorboard package)")
    t.add_argument("--save-data", action="store_true",
                   help="keep a copy of the pair's arrays in the run (data.npz)")
    _engine_args(t)
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)

    b = sub.add_parser("bench", help="benchmark the registered methods (resumable)")
    b.add_argument("--methods", help="comma-separated (default: every registered method; "
                                     "'none' trains only the skada peers)")
    b.add_argument("--pairs", type=_pairs,
                   help="comma-separated SOURCE:TARGET (default mnist:digits,digits:mnist,"
                        "mnist:mnistm)")
    b.add_argument("--seeds", type=_positive_int, default=3)
    b.add_argument("--first-seed", type=int, default=0,
                   help="seeds FIRST_SEED .. FIRST_SEED+SEEDS-1 (default 0)")
    b.add_argument("--steps", type=_positive_int, help="default: each method's default_steps")
    b.add_argument("--quick", action="store_true",
                   help="a smoke test: 1 seed, 30 steps, first pair, into runs/bench-quick; "
                        "never writes the docs")
    b.add_argument("--out", help="where runs are saved (default bench/, the tracked campaign "
                                 "folder: pair/method/seed, current recipes only)")
    b.add_argument("--docs", help="write benchmarks.md/.json here even if the table is partial "
                                  "('' to skip). Default: docs/, only when the campaign is "
                                  "complete (every method x pair x 3 seeds)")
    b.add_argument("--gpu-recipes", action="store_true",
                   help="train the GPU-only recipes (dalab/recipes.py GPU_ONLY: LST-Net at the "
                        "paper's widths) with --device cuda, into bench-gpu/ by default")
    b.add_argument("--commit", action="store_true",
                   help="git-commit the --out folder after each finished run and at a "
                        "checkpoint every 30 minutes of training (a session that ends "
                        "abruptly loses at most that much)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    b.add_argument("--no-peers", action="store_true",
                   help="skip the skada peers (DANN, SourceOnly, DeepCoral) trained on the "
                        "same arrays")
    b.add_argument("--peers", help="comma-separated skada peers to train (default: all of "
                                   "DANN,SourceOnly,DeepCoral)")
    b.add_argument("--summarize-only", action="store_true",
                   help="train nothing: summarise the runs already under --out into the docs")
    b.add_argument("--ray", action="store_true",
                   help="train the runs in parallel as Ray tasks, as `dalab sweep` does (one "
                        "run per CPU; needs the sweep extra); default: one after another")
    b.add_argument("--address", help="with --ray: join this Ray cluster (e.g. auto) instead of "
                   "starting a local one; its nodes must see --out")
    b.add_argument("--cpus", type=_positive_int,
                   help="with --ray: CPUs of the local Ray instance (default: all cores)")
    _engine_args(b)
    b.add_argument("--no-selection", action="store_true",
                   help="skip the table of the seed each label-free score would pick")
    b.set_defaults(func=_bench)

    sw = sub.add_parser("sweep", help="one method on one pair over a grid of config values x "
                        "seeds, each an ordinary resumable run, in parallel on Ray")
    sw.add_argument("--method", required=True, type=_method_name, metavar="METHOD",
                    help="a registered method (`dalab methods` lists them)")
    sw.add_argument("--source", required=True)
    sw.add_argument("--target", required=True)
    sw.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                    help="values of one config key (repeatable: the runs are the cartesian "
                         "product); `dalab methods -v` lists keys")
    sw.add_argument("--seeds", type=_positive_int, default=1)
    sw.add_argument("--steps", type=_positive_int, help="default: the method's default_steps")
    sw.add_argument("--out", help="sweep folder (default runs/sweep/<method>_<src>_to_<tgt>); "
                    "finished runs in it are skipped, interrupted ones resumed")
    sw.add_argument("--address", help="join this Ray cluster (e.g. ray://host:10001 or auto) "
                    "instead of starting a local one; its nodes must see --out")
    sw.add_argument("--cpus", type=_positive_int,
                    help="CPUs of the local Ray instance, one run each (default: all cores)")
    _engine_args(sw)
    sw.set_defaults(func=_sweep)

    z = sub.add_parser("zoo", help="list the pretrained zoo or fill it from benchmark runs")
    zsub = z.add_subparsers(dest="zoo_cmd", required=True, metavar="SUBCOMMAND")
    zsub.add_parser("list", help="list the zoo's entries").set_defaults(func=_zoo_list)
    zb = zsub.add_parser("build", help="add the best seed of every (method, pair) of a "
                         "benchmark (chosen on held-out target train accuracy)")
    zb.add_argument("--bench-dir", default="bench")
    zb.add_argument("--methods", help="comma-separated (default: all found)")
    zb.add_argument("--select", default="held_out",
                    choices=["held_out", *SELECTION_SCORES],  # = analysis.selection.SCORES
                    help="how the seed is chosen: held_out = target-train accuracy (an "
                         "oracle), or a label-free score (dalab.analysis.selection)")
    zr = zsub.add_parser("reseal", help="check the zoo's entries and seal its index (entries "
                                        "written before sealing)")
    zr.set_defaults(func=_zoo_reseal)
    zb.add_argument("--force", action="store_true",
                    help="replace entries already in the zoo (default: keep them)")
    zb.set_defaults(func=_zoo_build)

    tm = sub.add_parser("timings", help="training speed, t-SNE/UMAP and zoo load times")
    tm.add_argument("--methods", help="comma-separated (default: every registered method)")
    tm.add_argument("--pairs", type=_pairs, help="comma-separated SOURCE:TARGET "
                    "(default mnist:digits)")
    tm.add_argument("--steps", type=_positive_int, default=20, help="timed steps per method")
    tm.add_argument("--points", type=_positive_int, default=2000, help="embedding points")
    tm.add_argument("--dim", type=_positive_int, default=64, help="embedding dimensions")
    tm.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    tm.add_argument("--no-speed", action="store_true")
    tm.add_argument("--no-embed", action="store_true")
    tm.add_argument("--no-zoo", action="store_true")
    tm.add_argument("--docs", help="write timings.md/.json here ('' to skip). Default: docs/, "
                                   "only for a complete report (no --no-*, --methods, --pairs)")
    tm.set_defaults(func=_timings)

    e = sub.add_parser("eval", help="evaluate a saved run on its pair's test splits")
    e.add_argument("run_dir", help="a run folder, or a zoo entry's name (dalab zoo list)")
    e.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda", "mps"])
    e.set_defaults(func=_eval)
    return p


def _engine_args(parser) -> None:
    """``--ema`` and ``--augment``: fit's engine options, the same for every method."""
    parser.add_argument("--ema", type=_decay, metavar="DECAY",
                        help="evaluate and save an exponential moving average of the weights "
                             "(e.g. 0.99; the raw weights' accuracy is recorded beside it)")
    parser.add_argument("--augment", action="store_true",
                        help="small random affine jitter of the training images (rotation "
                             "<= 10 deg, scale 0.9-1.1, shift <= 2 px), as for every method")


SELECTION_SCORES = ("prediction_entropy", "soft_neighborhood", "importance_weighted",
                    "deep_embedded")  # dalab.analysis.selection.SCORES (tested equal)


def _method_name(text: str) -> str:
    """A registered method's name; the registry (and torch) is imported only to check one, so
    ``dalab --help`` answers without them."""
    from .methods import METHODS
    if text not in METHODS:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from "
                                         f"{', '.join(METHODS)})")
    return text


def _seed(text: str) -> int:
    """A seed for numpy and torch alike: an integer 0 .. 2**32 - 1."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= v < 2 ** 32:
        raise argparse.ArgumentTypeError(f"{v} is out of range: a seed is 0 .. 2**32-1 "
                                         f"({2 ** 32 - 1})")
    return v


def _decay(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a decay between 0 and 1, e.g. 0.99")
    return v


def _positive_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a number") from None
    if not (v > 0 and v < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {s}")
    return v


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("dalab: interrupted", file=sys.stderr)
        return 130
    args.argv = argv
    try:
        return args.func(args)
    # DataError, ConfigError, UnknownMethodError and RunError are ValueErrors: not imported
    # here, so that `dalab --help` needs neither torch nor scikit-learn
    except (UsageError, ValueError) as e:
        print(f"dalab: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingFailed as e:
        print(f"dalab: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dalab: interrupted", file=sys.stderr)
        return 130
