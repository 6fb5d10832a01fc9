"""The cyberpunk look: a Gradio theme with local font stacks only (no network fonts) plus CSS."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

CSS_PATH = Path(__file__).with_name("cyberpunk.css")

MONO = ["JetBrains Mono", "Fira Code", "DejaVu Sans Mono", "Noto Sans Mono CJK SC", "ui-monospace", "monospace"]
SANS = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei",
        "DejaVu Sans", "system-ui", "sans-serif"]

# Entity colours, shared by the highlighter, the legend and the charts.
COLORS = {"PER": "#ff2bd6", "LOC": "#00e5ff", "ORG": "#ffe600"}
LABELS = {"PER": "人名 PER", "LOC": "地名 LOC", "ORG": "机构名 ORG"}


class Cyberpunk(gr.themes.Base):
    """Dark background, neon magenta/cyan/yellow accents, monospace headings."""

    def __init__(self):
        super().__init__(
            primary_hue=gr.themes.colors.fuchsia,
            secondary_hue=gr.themes.colors.cyan,
            neutral_hue=gr.themes.colors.slate,
            font=SANS,
            font_mono=MONO,
            radius_size=gr.themes.sizes.radius_sm,
        )
        self.set(
            body_background_fill="#07060d",
            body_background_fill_dark="#07060d",
            body_text_color="#e8e6f0",
            body_text_color_dark="#e8e6f0",
            body_text_color_subdued="#b8b4c8",
            body_text_color_subdued_dark="#b8b4c8",
            background_fill_primary="#0e0c18",
            background_fill_primary_dark="#0e0c18",
            background_fill_secondary="#141126",
            background_fill_secondary_dark="#141126",
            block_background_fill="#0e0c18",
            block_background_fill_dark="#0e0c18",
            block_border_color="#2a2350",
            block_border_color_dark="#2a2350",
            block_label_text_color="#00e5ff",
            block_label_text_color_dark="#00e5ff",
            block_title_text_color="#00e5ff",
            block_title_text_color_dark="#00e5ff",
            border_color_primary="#3a2f6b",
            border_color_primary_dark="#3a2f6b",
            input_background_fill="#0a0914",
            input_background_fill_dark="#0a0914",
            input_border_color="#3a2f6b",
            input_border_color_dark="#3a2f6b",
            input_border_color_focus="#ff2bd6",
            input_border_color_focus_dark="#ff2bd6",
            button_primary_background_fill="linear-gradient(90deg, #ff2bd6, #7a2bff)",
            button_primary_background_fill_dark="linear-gradient(90deg, #ff2bd6, #7a2bff)",
            button_primary_background_fill_hover="linear-gradient(90deg, #ff5ce0, #9457ff)",
            button_primary_background_fill_hover_dark="linear-gradient(90deg, #ff5ce0, #9457ff)",
            button_primary_text_color="#ffffff",
            button_primary_text_color_dark="#ffffff",
            button_secondary_background_fill="#141126",
            button_secondary_background_fill_dark="#141126",
            button_secondary_text_color="#00e5ff",
            button_secondary_text_color_dark="#00e5ff",
            table_even_background_fill="#0e0c18",
            table_even_background_fill_dark="#0e0c18",
            table_odd_background_fill="#141126",
            table_odd_background_fill_dark="#141126",
            color_accent_soft="#2a1440",
            color_accent_soft_dark="#2a1440",
        )


def css() -> str:
    """The theme's extra CSS (glow, scanlines, layout tweaks)."""
    return CSS_PATH.read_text(encoding="utf-8")
