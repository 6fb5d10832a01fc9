"""raner-lite web app: Gradio UI + named API (/ner, /benchmark) + REST API (POST /api/ner, GET /api/health).

python app.py   # serves on $GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT, default 127.0.0.1:7860
RANER_MODEL=models/other python app.py   # serve another model directory
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

import gradio as gr
import uvicorn
from fastapi import FastAPI
from gradio.utils import get_upload_folder

import raner
import theme
from webapp.fair_queue import FairQueue, waiting_in
from webapp.limits import Limits, writable_temp_dir
from webapp.rest import BodyLimit, add_rest_routes
from webapp.service import NerService, trim_heap
from webapp.ui import build_ui
from webapp.uploads import UploadBudget, folder_bytes


def create_app(model_path: str | None = None, limits: Limits | None = None) -> FastAPI:
    """The FastAPI app with REST routes and the Gradio UI mounted at /, every visitor-facing bound from ``limits``."""
    limits = limits or Limits()
    service = NerService(model_path, limits)
    api = FastAPI(
        title="raner-lite",
        version=raner.__version__,
        docs_url=None,
        redoc_url=None,
        description="Chinese named-entity recognition (PER, LOC, ORG). Gradio UI at /, REST under /api.",
    )
    add_rest_routes(api, service)
    # Gradio's routes get the same kind of body bound as REST, before Gradio parses anything: an upload request
    # holds one file of the upload limit, every other request a text of at most max_chars.
    api.add_middleware(
        BodyLimit,
        prefix="/gradio_api/upload",
        limit=limits.upload_bytes + 64_000,
        what=f"upload one file of at most {limits.upload_mb} MB",
    )
    api.add_middleware(
        BodyLimit,
        prefix="/gradio_api/",
        limit=limits.body_bytes,
        skip=("/gradio_api/upload",),
        what=f"the limit is {limits.max_chars} characters of text",
    )
    # every other route (Gradio's /login among them, which read a 50 MB form in full) takes a small form at most
    api.add_middleware(
        BodyLimit, prefix="/", limit=64_000, skip=("/gradio_api/", "/api/"), what="this route takes a small form"
    )
    upload_folder = Path(get_upload_folder()).resolve()
    api.add_middleware(
        UploadBudget,
        used=lambda: folder_bytes(upload_folder),
        total_bytes=limits.uploads_bytes,
        upload_bytes=limits.upload_bytes,
        per_visitor=limits.visitor_uploads,
        window=limits.bulk_keep_seconds,
        hops=limits.proxy_hops,
    )
    demo = build_ui(service)
    # api_open=False: Gradio's direct routes (/gradio_api/run/<name>, /gradio_api/api/<name>) answer 404 instead of
    # running an event beside the queue, where no worker bound or per-visitor bound would count it.
    demo.queue(default_concurrency_limit=limits.workers, max_size=limits.queue_size, api_open=False)
    api_names = frozenset(fn.api_name for fn in demo.fns.values() if fn.api_name)
    api.add_middleware(FairQueue, waiting=waiting_in(demo, limits.proxy_hops), limit=limits.visitor_waiting,
                       hops=limits.proxy_hops, names=api_names)
    app = gr.mount_gradio_app(
        api,
        demo,
        path="/",
        theme=theme.Cyberpunk(),
        css=theme.css(),
        footer_links=["api"],
        max_file_size=limits.upload_bytes,
    )
    # Gradio checks that a file sent to an event was uploaded by a visitor only once it "has launched", a flag that
    # launch() sets and mount_gradio_app() does not (gradio 6.31): without it, a forged FileData path to any file
    # of the server was copied into the cache and handed to the Bulk handler. Set it, so every event gets the check.
    demo.has_launched = True
    trim_heap()
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--model", default=os.environ.get("RANER_MODEL"), help="model directory (default: the shipped model)"
    )
    ap.add_argument(
        "--threads", type=int, default=None, help="ONNX Runtime threads per call (default: RANER_THREADS or 1)"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    try:
        port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
        limits = Limits.from_env()
        if args.threads is not None:
            limits = dataclasses.replace(limits, threads=max(1, args.threads))
        writable_temp_dir()
        app = create_app(args.model, limits)
    except (ValueError, raner.ModelError) as e:  # ConfigError and UnknownVariantError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"raner-lite on http://{host}:{port}  (REST: POST /api/ner, GET /api/health; docs: /docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
