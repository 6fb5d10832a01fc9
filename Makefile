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

# Rebuild the shipped model from the MSRA data, as it was built (about 65 min of training on one thread, then export,
# pruning and 4-bit tables; needs `pip install -r requirements-build.txt` and ../shared/data/msra). Seeds are fixed.
# Stage 1 is the 12-epoch base run; stage 2 fine-tunes it with rosters of run-together names, the 总部 convention and
# brand-name rewrites (docs/ACCURACY.md says why each is there).
LAC ?= build/lac
model:
	test -d $(LAC) || python -m compression.lac --download $(LAC)
	python -m compression.train --out runs/lacgaz2 --lac $(LAC) --lac-encoder --lac-types --epochs 12 --lr-decay 0.86
	python -m compression.train --out models/msra-base --lac $(LAC) --lac-encoder --lac-types \
		--init-from runs/lacgaz2/checkpoint.pt --augment-name-lists 0.1 --split-facilities \
		--augment-brands 0.2 --headquarters 0.5 --lr 3e-4 --emb-lr 1e-3 --epochs 3 --lr-decay 0.6
	python -m compression.export models/msra-base
	python -m compression.prune models/msra-base --hidden 128 --heads 4 --bigram-min-count 3 --epochs 0
	python -m compression.benchmark models/msra-base
