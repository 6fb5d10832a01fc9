# `make test` is the README's test command and what CI runs (.ci/run): the linter, then every test lane.
.PHONY: test test-fast test-browser lint run browser-deps model

test: browser-deps
	pip install -q -r requirements-dev.txt
	ruff check .
	python -m pytest

# The everyday lane: no training, export or other test over a few seconds (`slow`), no browser (`browser`).
test-fast:
	python -m pytest -m "not slow and not browser"

# The browser lane alone (the only one that needs Chromium).
test-browser: browser-deps
	python -m pytest -m browser

lint:
	ruff check .

run:
	pip install -q -r requirements.txt
	python app.py

# Debian's Chromium for the browser tests (never `playwright install`), and CJK fonts for its screenshots.
browser-deps:
	@(command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q .) || \
		(apt-get update -q && apt-get install -y -q chromium chromium-driver fonts-noto-cjk)

# Rebuild the shipped model from the MSRA data, as it was built (about 2 h of training on one thread per job, then
# export, pruning, 4-bit tables and the ensemble; needs `pip install -r requirements-build.txt` and ../shared/data/msra).
# Each training stage is a recipe in configs/ (seeds fixed; the manifest records the recipe). Stage 1
# (configs/lacgaz2.json) is the 12-epoch base run; stage 2 (configs/msra-base.json) fine-tunes it with rosters of
# run-together names, the 总部 convention and brand-name rewrites (the model directory's own variants); stage 3
# (configs/m1.json, configs/m2.json) trains two more members from LAC with the same rewrites, one reading characters
# and one reading LAC's words; the default variant runs all three side by side (`compression.ensemble`).
# docs/ACCURACY.md says why each is there. `make -j2 model` trains the two members while stages 1 and 2 run.
LAC ?= build/lac

model: runs/lacgaz2/checkpoint.pt runs/m1/model.fp32.onnx runs/m2/model.fp32.onnx
	python -m compression.train --config configs/msra-base.json --lac $(LAC)
	python -m compression.export models/msra-base
	python -m compression.prune models/msra-base --hidden 128 --heads 4 --bigram-min-count 3 --epochs 0
	python -m compression.ensemble models/msra-base models/msra-base runs/m1 runs/m2 --default
	python -m compression.benchmark models/msra-base

$(LAC):
	python -m compression.lac --download $(LAC)

runs/lacgaz2/checkpoint.pt: configs/lacgaz2.json | $(LAC)
	python -m compression.train --config configs/lacgaz2.json --lac $(LAC)

runs/m1/model.fp32.onnx: configs/m1.json | $(LAC)
	python -m compression.train --config configs/m1.json --lac $(LAC)
	python -m compression.export runs/m1 --no-eval

runs/m2/model.fp32.onnx: configs/m2.json | $(LAC)
	python -m compression.train --config configs/m2.json --lac $(LAC)
	python -m compression.export runs/m2 --no-eval

# The folder a Hugging Face Space needs (README's "Deploy to a Space"): the app, the runtime, pinned requirements and
# the default and fp32 variants only; `make space SPACE=user/name` also uploads it (token from HF_TOKEN).
.PHONY: space
SPACE_DIR ?= build/space

space:
	python -m scripts.space bundle $(SPACE_DIR) --force
	$(if $(SPACE),python -m scripts.space push $(SPACE_DIR) --space $(SPACE))

# The multi-domain candidate (issue 15; not shipped yet): MSRA, Weibo, Resume and CLUENER mapped onto
# docs/GUIDELINES.md (compression.build_corpus), one network trained on them (configs/multi.json), exported to
# runs/multi and scored on every corpus's selection split beside the shipped model and the peer tools.
.PHONY: multi
multi: | $(LAC)
	python -m compression.build_corpus --out build/data/multi
	python -m compression.train --config configs/multi.json --lac $(LAC)
	python -m compression.export runs/multi --no-eval
