"""A Hugging Face Space from this project: the folder it needs, and one command to upload it.

python -m scripts.space bundle OUT         # app, runtime, theme, samples, pinned requirements, Space README and
                                           # models/<default model> with the default and fp32 variants only
python -m scripts.space bundle OUT --variants default,fp32,int8-emb4 --force   # other variants; replace OUT
HF_TOKEN=hf_... python -m scripts.space push OUT --space USER/NAME   # create the Space if needed, upload OUT

The bundle's model directory holds the files its variants name and nothing else, with a manifest listing only
those variants (the first one listed is the bundle's default; ``default`` means the model's own). The upload goes
through huggingface_hub's HTTP API, which stores large files in the hub's large-file storage without git-lfs; the
Space then mirrors OUT (files it no longer has are deleted there). Exit codes: 0 done, 2 a reason on one line
(bad argument, broken model, no token, no network, refused by the hub).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from raner import DEFAULT_MODEL
from raner.errors import ModelError
from raner.manifest import MANIFEST, Manifest, copy_model, read_manifest
from webapp.samples import NEWS

ROOT = Path(__file__).resolve().parent.parent
MODEL = DEFAULT_MODEL.relative_to(ROOT)
CODE = ("app.py", "raner", "webapp", "theme")  # what `python app.py` imports
SAMPLES = (NEWS,)  # files of samples/ the app reads (webapp/samples.py)
MODEL_EXTRA = ("benchmark.json",)  # model-directory files the app reads besides the manifest's (webapp/ui.py)
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".DS_Store")
SHORT_DESCRIPTION_MAX = 60  # characters of the front matter's short_description the hub accepts
DEFAULT_VARIANTS = "default,fp32"  # the served default and the compression tab's float32 reference
SPACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


class BundleError(ValueError):
    """A bundle that cannot be written as asked (the message says why, on one line)."""


def choose_variants(manifest: Manifest, spec: str) -> list[str]:
    """Variant names from a comma-separated list (``default``: the manifest's default), in the order given."""
    names = [manifest.default_variant if s.strip() == "default" else s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in manifest.variants]
    if not names or unknown:
        raise BundleError(f"--variants {spec!r}: {', '.join(map(repr, unknown)) or 'none given'} not among "
                          f"{', '.join(manifest.variants)} (or 'default')")
    return list(dict.fromkeys(names))


def pinned_requirements(requirements: Path = ROOT / "requirements.txt") -> list[str]:
    """The app's requirements (requirements.txt) at exactly the versions installed here, where it was tested."""
    pins = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#", 1)[0])
        if m:
            try:
                pins.append(f"{m.group(1)}=={importlib.metadata.version(m.group(1))}")
            except importlib.metadata.PackageNotFoundError:
                raise BundleError(f"{m.group(1)} (requirements.txt) is not installed here, so no tested version "
                                  "can be pinned: pip install -r requirements.txt") from None
    return pins


def front_matter(readme: Path = ROOT / "README.md") -> dict[str, str]:
    """``key: value`` lines of the README's YAML front matter, in order."""
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    block = text[4 : text.find("\n---", 4)]
    return dict(line.split(":", 1) for line in block.splitlines() if ":" in line and not line.startswith(" "))


def space_readme(manifest: Manifest, variants: list[str]) -> str:
    """The Space's README: Hugging Face front matter (the tested Gradio and Python versions) and a short body."""
    meta = {k.strip(): v.strip() for k, v in front_matter().items()}
    meta.update({"sdk": "gradio", "sdk_version": importlib.metadata.version("gradio"),
                 "python_version": f'"{sys.version_info.major}.{sys.version_info.minor}"', "app_file": "app.py"})
    for key, value in (("title", "raner-lite"), ("emoji", "🛰️"), ("colorFrom", "pink"), ("colorTo", "indigo"),
                       ("license", "apache-2.0")):
        meta.setdefault(key, value)
    if len(meta.get("short_description", "")) > SHORT_DESCRIPTION_MAX:  # the hub refuses the upload otherwise
        raise BundleError(f"README.md's short_description is {len(meta['short_description'])} characters; a Space "
                          f"takes at most {SHORT_DESCRIPTION_MAX}: shorten it")
    rows = []
    for name in variants:
        v = manifest.variants[name]
        f1 = v.metrics.get("test", {}).get("overall", {}).get("f1")
        rows.append(f"| {name}{' (default)' if name == variants[0] else ''} | {v.size_bytes / 1e6:.1f} MB | "
                    f"{f'{f1:.3f}' if f1 is not None else '–'} |")
    commit = git("rev-parse", "--short", "HEAD")
    return "\n".join([
        "---", *(f"{k}: {v}" for k, v in meta.items()), "---", "",
        f"# {meta['title']}", "",
        "Chinese named-entity recognition — 人名 **PER**, 地名 **LOC**, 机构名 **ORG** — on CPU with ONNX Runtime:",
        "a compressed BiLSTM-attention-CRF, with a tab that benchmarks the compressed model against its float32",
        "reference.", "",
        "| variant | size | MSRA test F1 |", "|---|---:|---:|", *rows, "",
        "API: `POST /api/ner` with `{\"text\": \"...\"}`, `GET /api/health`, and the Gradio endpoint `/ner`",
        "(`gradio_client.Client(url).predict(text, api_name=\"/ner\")`); OpenAPI at `/docs`.", "",
        f"The lexicon (`{MODEL}/lexicon.npz`) holds a selection of organisation names from CC-CEDICT (published by",
        "MDBG, CC BY-SA 4.0, https://creativecommons.org/licenses/by-sa/4.0/) and is under that licence.", "",
        "Bundled by `python -m scripts.space bundle` from raner-lite"
        + (f" (commit {commit})." if commit else "."), "",
    ])


def git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def bundle(out: Path, variants: str = DEFAULT_VARIANTS, model: Path = ROOT / MODEL,
           force: bool = False) -> list[tuple[str, int]]:
    """Write the Space folder ``out``; returns its files (relative paths) with their sizes, sorted."""
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        if not force:
            raise BundleError(f"{out} exists and is not empty; pass --force to replace it")
        if out in (ROOT, *ROOT.parents) or (out / ".git").exists() or not out.is_dir():
            raise BundleError(f"refusing to replace {out}: not a bundle folder")
        shutil.rmtree(out)
    manifest = read_manifest(model)
    served = choose_variants(manifest, variants)
    model_out = out / MODEL
    copy_model(model, model_out, served, extra=MODEL_EXTRA)  # first: it checks every file before writing any
    for name in CODE:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, out / name, ignore=SKIP)
        else:
            shutil.copy2(src, out / name)
    for src in SAMPLES:
        (out / src.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out / src.relative_to(ROOT))
    (out / "requirements.txt").write_text(
        "# The app's requirements at the versions it was tested with (python -m scripts.space bundle).\n"
        + "\n".join(pinned_requirements()) + "\n", encoding="utf-8")
    (out / "README.md").write_text(space_readme(manifest, served), encoding="utf-8")
    written = read_manifest(model_out)
    for v in written.variants:
        for f in written.variant_files(v):
            written.file(f)
    return sorted((p.relative_to(out).as_posix(), p.stat().st_size) for p in out.rglob("*") if p.is_file())


def hub_errors() -> tuple[type[BaseException], ...]:
    """What huggingface_hub raises when the hub is unreachable or refuses: its HTTP errors (a response), bad repo
    ids, its transport's errors (httpx2 in 2.x, requests in 0.x: connection, timeout) and OSError (offline mode,
    connection resets, hf_xet's authentication and storage errors)."""
    from huggingface_hub import errors

    kinds: list[type[BaseException]] = [OSError, errors.HfHubHTTPError, errors.HFValidationError]
    if isinstance(getattr(errors, "HTTPError", None), type):
        kinds.append(errors.HTTPError)
    for module, name in (("httpx", "HTTPError"), ("requests", "RequestException")):
        try:
            kinds.append(getattr(__import__(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(kinds)


def one_line(e: BaseException) -> str:
    """The first line of an exception's message, shortened, with its type."""
    first = next((line.strip() for line in str(e).splitlines() if line.strip()), "")
    return f"{type(e).__name__}: {first[:300]}" if first else type(e).__name__


def push(folder: Path, space: str, private: bool = False) -> str:
    """Create the Space (gradio SDK) if needed and upload ``folder`` as its content; returns its URL."""
    folder = Path(folder)
    if not SPACE_ID.match(space or ""):
        raise BundleError(f"--space {space!r}: give USER/NAME (or ORG/NAME)")
    if not all((folder / f).is_file() for f in ("app.py", "README.md", MODEL / MANIFEST)):
        raise BundleError(f"{folder} is not a bundle (no app.py, README.md or {MODEL / MANIFEST}): "
                          "run `python -m scripts.space bundle` first")
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise BundleError("HF_TOKEN is not set: create a token with write access at "
                          "https://huggingface.co/settings/tokens and export HF_TOKEN=...")
    import huggingface_hub

    api = huggingface_hub.HfApi(token=token)
    try:
        api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True, private=private)
        api.upload_folder(folder_path=str(folder), repo_id=space, repo_type="space", delete_patterns="*",
                          commit_message="Deploy raner-lite (python -m scripts.space push)")
    except hub_errors() as e:
        raise BundleError(f"cannot push to Space {space}: {one_line(e)}") from None
    return f"https://huggingface.co/spaces/{space}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.space", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle", help="write the folder a Space needs")
    b.add_argument("out", type=Path)
    b.add_argument("--variants", default=DEFAULT_VARIANTS,
                   help=f"comma-separated; the first is the bundle's default (default: {DEFAULT_VARIANTS})")
    b.add_argument("--model", type=Path, default=ROOT / MODEL, help="model directory (default: the shipped model)")
    b.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p = sub.add_parser("push", help="upload a bundle to a Hugging Face Space (token from HF_TOKEN)")
    p.add_argument("out", type=Path)
    p.add_argument("--space", required=True, help="USER/NAME")
    p.add_argument("--private", action="store_true", help="create the Space private (if it does not exist)")
    args = ap.parse_args(argv)
    try:
        if args.command == "bundle":
            files = bundle(args.out, args.variants, args.model, args.force)
            for rel, size in files:
                print(f"{size:>13,}  {rel}")
            total = sum(size for _, size in files)
            print(f"{total:>13,}  total: {len(files)} files, {total / 1e6:.1f} MB in {args.out}")
        else:
            print(f"uploaded {args.out} to {push(args.out, args.space, args.private)}")
    except (BundleError, ModelError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
