"""Build side of raner-lite: train, export, prune, quantize, evaluate and benchmark models (uses torch)."""
