"""Baidu LAC's model files (Apache-2.0) read without Paddle: its word table, dictionaries and weights, and fetching
them.

LAC ships ``conf/word.dic`` (``id<TAB>word``, ~8,200 characters then ~50,000 words) and its parameters
as Paddle LoDTensor files. A LoDTensor file is: uint32 version, uint64 lod level (plus lod data when
non-zero), uint32 tensor version, int32 size of a TensorDesc protobuf, that protobuf (field 1: data
type, field 2: dims), then raw little-endian row-major data.

``python -m compression.lac --download build/lac`` fetches them (the LAC sdist from PyPI, build time only).
"""
from __future__ import annotations

import io
import struct
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

PYPI_SIMPLE = "https://pypi.org/simple/lac/"
LAC_VERSION = "2.1.2"
_DTYPES = {5: np.float32, 6: np.float64, 2: np.int32, 3: np.int64}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def parse_tensor_desc(desc: bytes) -> tuple[type, list[int]]:
    """Data type and dims from a Paddle TensorDesc protobuf (only the two fields we need)."""
    pos, dtype, dims = 0, None, []
    while pos < len(desc):
        key, pos = _varint(desc, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(desc, pos)
            if field == 1:
                dtype = value
            elif field == 2:
                dims.append(value)
        elif wire == 2:
            size, pos = _varint(desc, pos)
            if field == 2:  # packed dims
                end = pos + size
                while pos < end:
                    value, pos = _varint(desc, pos)
                    dims.append(value)
            pos += size if field != 2 else 0
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    if dtype not in _DTYPES:
        raise ValueError(f"unsupported LoDTensor data type {dtype}")
    return _DTYPES[dtype], dims


def read_lod_tensor(path: str | Path) -> np.ndarray:
    """A Paddle LoDTensor file as a numpy array."""
    buf = Path(path).read_bytes()
    pos = 4
    (lod_level,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    for _ in range(lod_level):
        (size,) = struct.unpack_from("<Q", buf, pos)
        pos += 8 + size
    pos += 4
    (desc_size,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    dtype, dims = parse_tensor_desc(buf[pos : pos + desc_size])
    pos += desc_size
    count = int(np.prod(dims))
    return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=pos).reshape(dims).copy()


def read_id_table(path: str | Path) -> dict[int, str]:
    """An ``id<TAB>entry`` file (LAC's word.dic, tag.dic); lines are not stripped, a later line for an id wins."""
    table: dict[int, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            idx, _, entry = line.rstrip("\n").partition("\t")
            table[int(idx)] = entry
    return table


def read_word_dic(path: str | Path) -> list[str]:
    """LAC's vocabulary in embedding-row order (lines are ``id<TAB>word``; a word may be a space)."""
    words = read_id_table(path)
    return [words[i] for i in range(len(words))]


def lac_model_dir(lac_dir: str | Path) -> Path:
    """The folder holding LAC's conf/ and model/: ``lac_dir`` itself, its lac_model/, or the LAC-*/LAC/lac_model/
    that ``--download lac_dir`` unpacks (so the download folder can be passed as it is)."""
    lac_dir = Path(lac_dir)
    for candidate in [lac_dir / "lac_model", lac_dir, *sorted(lac_dir.glob("LAC-*/LAC/lac_model"))]:
        if (candidate / "conf" / "word.dic").is_file():
            return candidate
    raise FileNotFoundError(f"no LAC model in {lac_dir} (expected conf/word.dic; "
                            f"fetch it with python -m compression.lac --download {lac_dir})")


def load_word_embeddings(lac_dir: str | Path, min_len: int = 2) -> tuple[list[str], np.ndarray]:
    """LAC's multi-character words and their 128-d embeddings (single characters and OOV left out)."""
    model = lac_model_dir(lac_dir)
    words = read_word_dic(model / "conf" / "word.dic")
    emb = read_lod_tensor(model / "model" / "word_emb")
    if emb.shape[0] != len(words):
        raise ValueError(f"LAC word.dic has {len(words)} rows but word_emb {emb.shape[0]}")
    keep = [i for i, w in enumerate(words) if len(w) >= min_len and w != "OOV"]
    return [words[i] for i in keep], emb[keep]


def download(dest: Path) -> Path:
    """Fetch LAC's sdist from PyPI and unpack its LAC/ folder into ``dest`` (build time only)."""
    import re

    html = urllib.request.urlopen(PYPI_SIMPLE, timeout=60).read().decode()
    url = next(u for u in re.findall(r'href="([^"]+)"', html) if f"LAC-{LAC_VERSION}.tar.gz" in u)
    data = urllib.request.urlopen(url, timeout=600).read()
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = [m for m in tar.getmembers() if "/LAC/" in m.name and not m.issym() and not m.islnk()]
        tar.extractall(dest, members=members, filter="data")
    return next(dest.glob("LAC-*/LAC"))
