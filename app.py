"""raner-lite web app: Gradio UI + named API (/ner, /benchmark) + REST API (POST /api/ner, GET /api/health).

python app.py   # serves on $GRADIO_SERVER_NAME:$GRADIO_SERVER_PORT, default 127.0.0.1:7860
RANER_MODEL=models/other python app.py   # serve another model directory
"""
from __future__ import annotations

import argparse
import os
import sys

import gradio as gr
import uvicorn
from fastapi import FastAPI

import raner
import theme
from webapp.rest import add_rest_routes
from webapp.service import NerService
from webapp.ui import build_ui


def create_app(model_path: str | None = None, threads: int = 1) -> FastAPI:
    """The FastAPI app with REST routes and the Gradio UI mounted at /."""
    service = NerService(model_path, threads=threads)
    api = FastAPI(title="raner-lite", version=raner.__version__,
                  description="Chinese named-entity recognition (PER, LOC, ORG). Gradio UI at /, REST under /api.")
    add_rest_routes(api, service)
    demo = build_ui(service)
    demo.queue(default_concurrency_limit=2, max_size=64)
    return gr.mount_gradio_app(api, demo, path="/", theme=theme.Cyberpunk(), css=theme.css(), footer_links=["api"],
                                max_file_size="20mb")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.environ.get("RANER_MODEL"), help="model directory (default: the shipped model)")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("RANER_THREADS", "1")))
    args = ap.parse_args(argv)
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    try:
        app = create_app(args.model, args.threads)
    except (raner.ModelError, raner.UnknownVariantError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"raner-lite on http://{host}:{port}  (REST: POST /api/ner, GET /api/health; docs: /docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
