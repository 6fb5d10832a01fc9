"""Add the organisation name lists of compression/gazetteers (China's listed companies, CC-CEDICT's organisations) to
a model directory's lexicon.

python -m compression.add_companies models/multi-base [--data build/data/multi]

Each lexicon file the variants read is rewritten in place (compression.gazetteer: names cleaned of market marks,
those a dictionary already types as a person or place, everyday words, airports and ports left out). The networks are
not retrained: they already read a dictionary's organisation entries. In a training run's directory its readable
lexicon.tsv (what a fine-tune reads) is rewritten too. Running it again changes nothing. With --data,
every variant is scored again (dev.txt and the per-corpus dev files; test.txt only with --test, for the shipped
directory) into the manifest.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from raner.lexicon import Lexicon
from raner.manifest import read_manifest

from .gazetteer import NAME_LISTS, companies_to_add, company_names, jieba_words, with_companies, word_types
from .model_dir import score_variants


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path,
                    help="model directory (served, or a training run's) whose lexicon gains the names")
    ap.add_argument("--names", type=Path, nargs="+", default=list(NAME_LISTS),
                    help="lists of organisation names, one a line (default: every list of compression/gazetteers)")
    ap.add_argument("--data", type=Path, help="folder with dev.txt: score every variant again")
    ap.add_argument("--test", action="store_true",
                    help="with --data, its reserved test.txt too: only for the directory that ships, never a candidate")
    args = ap.parse_args(argv)
    manifest = read_manifest(args.model_dir)
    names, jieba = company_names(args.names), jieba_words()
    done = set()
    for variant in manifest.variants:
        inputs = manifest.variant_inputs(variant)
        if not inputs.get("lexicon") or inputs["lexicon"] in done:
            continue
        done.add(inputs["lexicon"])
        path = manifest.file(inputs["lexicon"])
        if path.suffix != ".npz":
            raise SystemExit(f"{path}: only packed lexicons (.npz) are rewritten; pack it first (Lexicon.write_packed)")
        lexicon = Lexicon.read(path, inputs["lexicon_categories"], inputs.get("lexicon_set_size", 4))
        chosen = companies_to_add(names, word_types(lexicon), jieba)
        updated = with_companies(lexicon, chosen)
        updated.write_packed(path)
        if path.with_suffix(".tsv").is_file():  # a training run's directory: keep the readable form the same
            updated.write_tsv(path.with_suffix(".tsv"))
        print(f"{path}: {len(chosen)} of {len(names)} listed names as organisations "
              f"({len(updated) - len(lexicon)} new words); "
              f"{len(lexicon)} -> {len(updated)} words")
    if args.data:
        score_variants(args.model_dir, args.data, test=args.test)


if __name__ == "__main__":
    main()
