"""The ``highlevel`` command: train, resume, evaluate, predict, validate and show YAML runs.

    highlevel train CONFIG.yaml [key.path=value ...] [--run-dir DIR]
    highlevel train --resume RUN_DIR
    highlevel evaluate RUN_DIR [--data FILE.npz|FILE.csv]
    highlevel predict RUN_DIR INPUT [--output FILE.npy|FILE.csv]
    highlevel validate CONFIG.yaml [key.path=value ...]
    highlevel show CONFIG.yaml [key.path=value ...]
    highlevel runs [OUTPUT_DIR] [--sort METRIC] [--diff] [--json]
    highlevel find-lr CONFIG.yaml [key.path=value ...] [--plot FILE.png] [--json]
    highlevel export RUN_DIR --format onnx|jax [--output PATH] [--checkpoint best|last]
    highlevel serve RUN_DIR [--port 8501] [--host 127.0.0.1] [--name NAME] [--checkpoint best|last]

Exit status: 0 done; 2 a mistake in the config, the data or the run directory (one
sentence a mistake, naming the file and the key path); 1 the machine refused (disk
full, no permission: one sentence naming the file); 75 stopped by SIGTERM or SIGINT
with a backup (``highlevel train --resume RUN_DIR`` continues); 130 interrupted at once
(a second Ctrl-C).
"""

from __future__ import annotations

import argparse
import errno
import json
import sys
import os
import threading
import time
from typing import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="highlevel", description="Keras-style training on JAX, from YAML.")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a config into a new run directory")
    train.add_argument("config", nargs="?", help="the YAML run config")
    train.add_argument("overrides", nargs="*", help="key.path=value overrides")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run exactly")
    train.add_argument("--run-dir", help="the run directory (default: output_dir/NAME-TIMESTAMP)")
    evaluate = sub.add_parser("evaluate", help="evaluate a run's trained model")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data", help=".npz with x and y, or .csv (default: the run's test split), in the "
                                         "form the run's data source gives; the run's preprocessing is applied")
    predict = sub.add_parser("predict", help="predict with a run's trained model")
    predict.add_argument("run_dir")
    predict.add_argument("input", help=".npy, .npz (x) or .csv inputs, in the form the run's data source gives; "
                                       "the run's preprocessing is applied")
    predict.add_argument("--output", help="where to save the predictions (.npy or .csv; its folder must exist)")
    export = sub.add_parser("export", help="write a run's model as ONNX or StableHLO, with its preprocessing")
    export.add_argument("run_dir")
    export.add_argument("--format", required=True, choices=["onnx", "jax"])
    export.add_argument("--output", help="the file to write (default: RUN_DIR/export/NAME.FORMAT)")
    export.add_argument("--checkpoint", default="best", choices=["best", "last"])
    serve = sub.add_parser("serve", help="serve a run's model over HTTP with TF Serving's REST API")
    serve.add_argument("run_dir")
    serve.add_argument("--port", type=_bounded(int, 0, 65535), default=8501, help="0: a free one")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: loopback only)")
    serve.add_argument("--name", help="the model's name in the URLs (default: the config's name)")
    serve.add_argument("--checkpoint", default="best", choices=["best", "last"])
    serve.add_argument("--no-batching", dest="batching", action="store_false",
                       help="run each request alone instead of batching concurrent ones")
    serve.add_argument("--max-batch-size", type=_bounded(int, 1), default=64)
    serve.add_argument("--batch-timeout-ms", type=_bounded(float, 0), default=2.0,
                       help="how long a batch's first request waits for concurrent ones")
    serve.add_argument("--max-body-bytes", type=_bounded(int, 1), default=16 * 1024 * 1024)
    serve.add_argument("--warmup", action="store_true", help="compile every batch-size bucket before serving")
    for name, text in (("validate", "check a config, its data and its model without training or writing"),
                       ("show", "print the resolved config")):
        p = sub.add_parser(name, help=text)
        p.add_argument("config")
        p.add_argument("overrides", nargs="*")
    from highlevel.config.commands import add_tracking_commands
    add_tracking_commands(sub)
    return parser


def _bounded(kind, low, high=None):
    """An argparse type: a number of ``kind`` within [low, high], refused in one sentence otherwise."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value < low or (high is not None and value > high):
            within = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"{text} is out of range; give a value {within}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _os_error(err: OSError) -> str:
    name = err.filename or getattr(err, "filename2", None)
    what = err.strerror or str(err) or type(err).__name__
    where = f"{name}: " if name else ""
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        fix = "check that its folder exists and is a folder (create it, or choose another place)"
    elif err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a place you may write to (or get the permission)"
    else:
        fix = "free space or choose a writable place"
    return f"{where}{what}; {fix}, then run the command again"


def _quiet_threads():
    """Errors in background threads (a checkpoint or event-file writer) are kept, not printed as
    tracebacks: the main thread reports the first, as one sentence."""
    previous = threading.excepthook, sys.excepthook
    seen: list[BaseException] = []
    threading.excepthook = lambda args: seen.append(args.exc_value)
    # tensorstore's C++ threads report their Python callbacks' errors (an event loop closed by
    # a failed checkpoint write) through sys.excepthook; the main thread never reaches it here
    sys.excepthook = lambda kind, value, traceback: None
    return previous, seen


_LATE_WRITERS: list[bool] = []
_COMMAND: list[bool] = []   # set by ``entry``: main runs as the highlevel command, not in-process


def _report_stream():
    """Where a failed write is reported: stderr. Run as the command, the rest of the process's
    stderr is muted first: the writers the failure stopped keep printing tracebacks from their
    own threads (tensorstore's callbacks into closed event loops), which would land around the
    one-line report. Called in-process (tests, notebooks), stderr is left alone."""
    if not _COMMAND:
        return sys.stderr
    real = sys.stderr
    sys.stderr = open(os.devnull, "w")
    # A traceback already being printed holds the real stream until its end: let it finish
    # (each new one looks up sys.stderr, now muted) so the report is a line of its own, last.
    time.sleep(0.25)
    return real


def _silence_late_writers() -> None:
    """After a write failed and was reported: the writers it stopped (orbax's and tensorstore's
    threads and their event loops) may still fail on their way down, at exit. Those are the same
    failure, already reported in one line; they are dropped, not printed as tracebacks after it
    (and ``entry`` ends the process without the interpreter's shutdown, where they would print)."""
    if not _COMMAND:
        return  # called in-process (tests, notebooks): the session's hooks are not ours to change
    import logging
    _LATE_WRITERS.append(True)
    threading.excepthook = lambda args: None
    sys.unraisablehook = lambda unraisable: None
    # tensorstore's C++ threads report their Python callbacks' errors through sys.excepthook
    sys.excepthook = lambda kind, value, traceback: None
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import logging
    from highlevel import config as cfg
    from highlevel.callbacks import TrainingPreempted
    previous_hook, thread_errors = _quiet_threads()
    failed_write = False
    # orbax logs its background threads' failures with their tracebacks; the command reports
    # the error they raise in the main thread instead, once.
    absl = logging.getLogger("absl")
    absl_level = absl.level
    absl.setLevel(logging.CRITICAL)
    try:
        if args.command == "train":
            if args.resume:
                if args.config:
                    raise cfg.ConfigError("train --resume RUN_DIR takes no config: the run's own config.yaml is used.")
                run_dir = cfg.resume(args.resume)
            else:
                if not args.config:
                    raise cfg.ConfigError("train needs a config file (or --resume RUN_DIR).")
                run_dir = cfg.train(args.config, args.overrides, run_dir=args.run_dir)
            print(f"run directory: {run_dir}")
        elif args.command == "evaluate":
            print(json.dumps(cfg.evaluate(args.run_dir, args.data), indent=2))
        elif args.command == "predict":
            print(f"predictions: {cfg.predict(args.run_dir, args.input, args.output)}")
        elif args.command == "export":
            cfg.export_run(args.run_dir, args.format, args.output, checkpoint=args.checkpoint)
        elif args.command == "serve":
            from highlevel import serving
            return serving.serve(args.run_dir, host=args.host, port=args.port, name=args.name,
                                 checkpoint=args.checkpoint, batching=args.batching,
                                 batch_timeout_s=args.batch_timeout_ms / 1000, max_batch_size=args.max_batch_size,
                                 max_body_bytes=args.max_body_bytes,
                                 warmup=args.warmup)
        elif args.command == "validate":
            cfg.check(args.config, args.overrides)
            print(f"{args.config}: valid")
        elif args.command == "show":
            import yaml
            config = cfg.load_config(args.config, args.overrides)
            print(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False), end="")
        else:
            from highlevel.config.commands import run_tracking_command
            run_tracking_command(args)
    except cfg.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except TrainingPreempted as err:
        run_dir = getattr(err, "run_dir", None)
        more = f" Continue with: highlevel train --resume {run_dir}" if run_dir else ""
        print(f"stopped: {err}{more}", file=sys.stderr)
        return cfg.EXIT_PREEMPTED
    except OSError as err:
        print(f"error: {_os_error(err)}.", file=_report_stream(), flush=True)
        failed_write = True
        return 1
    except KeyboardInterrupt:
        print("interrupted.", file=sys.stderr)
        return 130
    finally:
        threading.excepthook, sys.excepthook = previous_hook
        absl.setLevel(absl_level)
        if failed_write:
            _silence_late_writers()
    if thread_errors:
        err = thread_errors[0]
        text = _os_error(err) if isinstance(err, OSError) else f"{type(err).__name__}: {err}"
        print(f"error: a background writer failed: {text}.", file=_report_stream(), flush=True)
        _silence_late_writers()
        return 1
    return 0


def entry(argv: Sequence[str] | None = None) -> None:
    """The ``highlevel`` command: ``main``, then the process's exit with its status.

    After a failed write was reported, the process ends at once (``os._exit``, streams
    flushed, the run's lock already released): the stopped writers' threads would otherwise
    print tracebacks while the interpreter shuts down, after the one-line report.

    Args:
        argv: The command line without the program name (default: ``sys.argv[1:]``).
    """
    _COMMAND.append(True)
    code = main(argv)
    if _LATE_WRITERS:
        sys.stdout.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
