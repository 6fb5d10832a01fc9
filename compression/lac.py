"""Fetch Baidu LAC's model files (its sdist from PyPI, unpacked) for the LAC-based training options.

python -m compression.lac --download build/lac
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .lac_files import download


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--download", type=Path, required=True, help="folder to unpack LAC into")
    args = ap.parse_args(argv)
    print(download(args.download))


if __name__ == "__main__":
    main()
