"""The web side of raner-lite: NER service, REST routes, Gradio UI."""
