"""Build side of raner-lite: train, export, prune, quantize, evaluate and benchmark models (uses torch).

Scripts (``python -m compression.X``; no other module imports them): train, export, prune, quantize, ensemble, lac,
build, recover, evaluate, benchmark, build_corpus, release, peer_worker, and transformer.build for DAMO's RaNER.
Libraries (no ``main``): training and train_config (the tagger's training run and its options), model (the tagger,
its checkpoints and ONNX export), inputs, crf, recurrent, lac_files, lac_encoder, pruning, quantization,
ensemble_graph, distill, model_export, model_dir, invocation, scoring, metrics, data, augment, gazetteer, vocab,
onnx_info, corpora, peers; transformer/ holds the RaNER family (source, network, head_pruning, fine_tune, unit_labels).
"""
