"""The RaNER path of the build side: DAMO's StructBERT + CRF (a ModelScope transformer-crf directory) read into torch,
pruned by attention heads and FFN neurons, fine-tuned and exported as a model directory the runtime serves.

python -m compression.transformer.build --model damo/nlp_raner_named-entity-recognition_chinese-base-news --out DIR
"""
