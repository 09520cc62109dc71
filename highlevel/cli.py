"""The ``highlevel`` command: train, resume, evaluate, predict, validate and show YAML runs.

    highlevel train CONFIG.yaml [key.path=value ...] [--run-dir DIR]
    highlevel train --resume RUN_DIR
    highlevel evaluate RUN_DIR [--data FILE.npz]
    highlevel predict RUN_DIR INPUT [--output FILE.npy]
    highlevel validate CONFIG.yaml [key.path=value ...]
    highlevel show CONFIG.yaml [key.path=value ...]
    highlevel runs [OUTPUT_DIR] [--sort METRIC] [--diff] [--json]
    highlevel find-lr CONFIG.yaml [key.path=value ...] [--plot FILE.png] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
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
    evaluate.add_argument("--data", help=".npz file with x and y (default: the run's test split)")
    predict = sub.add_parser("predict", help="predict with a run's trained model")
    predict.add_argument("run_dir")
    predict.add_argument("input", help=".npy, .npz (x) or .csv inputs")
    predict.add_argument("--output", help="where to save the predictions (.npy)")
    for name, text in (("validate", "check a config without training"), ("show", "print the resolved config")):
        p = sub.add_parser(name, help=text)
        p.add_argument("config")
        p.add_argument("overrides", nargs="*")
    from highlevel.config.commands import add_tracking_commands
    add_tracking_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from highlevel import config as cfg
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
        elif args.command == "validate":
            cfg.load_config(args.config, args.overrides)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
