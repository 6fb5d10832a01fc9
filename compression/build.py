"""Train a model directory from a recipe and export it (fp32, int8, int8-emb4, scored on dev and test), in one command.

python -m compression.build --config configs/multi.json --out models/my-model [--data build/data/multi]

LAC's model files are fetched into the recipe's --lac folder first when it is missing. Pruning, the ensemble and the
benchmark are further steps (`make model` runs every step of the shipped model).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .invocation import invocation
from .lac_files import download, lac_model_dir
from .model_export import export_model_dir
from .train_config import ConfigError, TrainConfig, read_recipe
from .training import train


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, required=True, help="a training recipe (configs/*.json)")
    ap.add_argument("--out", type=Path, default=None, help="model directory to write (default: the recipe's)")
    ap.add_argument("--data", type=Path, default=None, help="folder with train/dev/test.txt (default: the recipe's)")
    args = ap.parse_args(argv)
    try:
        recipe = read_recipe(args.config)
        given = {k: v for k, v in (("out", args.out), ("data", args.data)) if v is not None}
        cfg = TrainConfig.from_dict({**recipe, **given}, source=str(args.config))
        cfg.validate()
        if cfg.lac is not None:
            try:
                lac_model_dir(cfg.lac)
            except FileNotFoundError:
                print(f"LAC not found in {cfg.lac}; downloading its sdist from PyPI")
                download(cfg.lac)
        train(cfg, invocation("compression.build", argv), {"file": str(args.config), "values": recipe})
    except ConfigError as e:
        raise SystemExit(f"error: {e}") from None
    export_model_dir(cfg.out, cfg.data)


if __name__ == "__main__":
    main()
