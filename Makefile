# `make test` is the README's test command and what CI runs (.ci/run).
.PHONY: test run browser-deps model

test: browser-deps
	pip install -q -r requirements-dev.txt
	python -m pytest

run:
	pip install -q -r requirements.txt
	python app.py

# Debian's Chromium for the browser tests (never `playwright install`), and CJK fonts for its screenshots.
browser-deps:
	@(command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q .) || \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver fonts-noto-cjk)

# Rebuild the shipped model from the MSRA data, as it was built (about 2 h of training on one thread per job, then
# export, pruning, 4-bit tables and the ensemble; needs `pip install -r requirements-build.txt` and ../shared/data/msra).
# Seeds are fixed. Stage 1 is the 12-epoch base run; stage 2 fine-tunes it with rosters of run-together names, the
# 总部 convention and brand-name rewrites (the model directory's own variants); stage 3 trains two more members from
# LAC with the same rewrites, one reading characters and one reading LAC's words; the default variant runs all three
# side by side (`compression.ensemble`). docs/ACCURACY.md says why each is there. `make -j2 model` trains the two
# members while stages 1 and 2 run.
LAC ?= build/lac
LACOPTS = --lac $(LAC) --lac-encoder --lac-types
AUG = --augment-name-lists 0.1 --split-facilities --augment-brands 0.2 --headquarters 0.5
MEMBER = $(LACOPTS) $(AUG) --epochs 10 --lr-decay 0.82

model: runs/lacgaz2/checkpoint.pt runs/m1/model.fp32.onnx runs/m2/model.fp32.onnx
	python -m compression.train --out models/msra-base $(LACOPTS) $(AUG) --init-from runs/lacgaz2/checkpoint.pt \
		--lr 3e-4 --emb-lr 1e-3 --epochs 3 --lr-decay 0.6
	python -m compression.export models/msra-base
	python -m compression.prune models/msra-base --hidden 128 --heads 4 --bigram-min-count 3 --epochs 0
	python -m compression.ensemble models/msra-base models/msra-base runs/m1 runs/m2 --default
	python -m compression.benchmark models/msra-base

$(LAC):
	python -m compression.lac --download $(LAC)

runs/lacgaz2/checkpoint.pt: | $(LAC)
	python -m compression.train --out runs/lacgaz2 $(LACOPTS) --epochs 12 --lr-decay 0.86

runs/m1/model.fp32.onnx: | $(LAC)
	python -m compression.train --out runs/m1 $(MEMBER) --seed 21
	python -m compression.export runs/m1 --no-eval

runs/m2/model.fp32.onnx: | $(LAC)
	python -m compression.train --out runs/m2 $(MEMBER) --seed 22 --lac-words
	python -m compression.export runs/m2 --no-eval
