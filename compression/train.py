"""Train the char + bigram + lexicon BiLSTM-attention-CRF tagger on a CoNLL corpus.

python -m compression.train --config configs/multi.json [--out DIR] [any option below, which wins over the recipe]
python -m compression.train --out runs/x --epochs 3 ...            # options alone, no recipe

A recipe (configs/*.json) holds plain option values (underscores for dashes); the run records its file and values,
with every resolved option, in <out>/training.json and from there in the manifest.
"""
from __future__ import annotations

import argparse
import sys
import typing
from dataclasses import fields
from pathlib import Path

from .invocation import invocation
from .train_config import ConfigError, TrainConfig, option_types, read_recipe
from .training import train


def parser() -> argparse.ArgumentParser:
    """A ``--flag`` for each TrainConfig field; only the flags given appear in the parsed namespace."""
    ap = argparse.ArgumentParser(prog="python -m compression.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 argument_default=argparse.SUPPRESS)
    ap.add_argument("--config", type=Path, help="a recipe file (JSON) whose values the other flags override")
    types = option_types()
    for f in fields(TrainConfig):
        flag, kind, args = "--" + f.name.replace("_", "-"), types[f.name], typing.get_args(types[f.name])
        doc = f.metadata["help"] + (f" (default: {f.default})" if f.default not in (None, False, ()) else "")
        if kind is bool:
            ap.add_argument(flag, action="store_true", help=doc)
        elif typing.get_origin(kind) is tuple:
            ap.add_argument(flag, type=Path, nargs="+", help=doc)
        else:
            ap.add_argument(flag, type=Path if Path in (kind, *args) else kind, help=doc)
    return ap


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    flags = vars(parser().parse_args(argv))
    recipe_file = flags.pop("config", None)
    try:
        recipe = read_recipe(recipe_file) if recipe_file else {}
        cfg = TrainConfig.from_dict({**recipe, **flags}, source=str(recipe_file or "the command line"))
        cfg.validate()
        train(cfg, invocation("compression.train", argv),
              {"file": str(recipe_file), "values": recipe} if recipe_file else None)
    except ConfigError as e:
        raise SystemExit(f"error: {e}") from None


if __name__ == "__main__":
    main()
