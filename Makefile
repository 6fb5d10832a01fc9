# `make test` is the README's test command and what CI runs (.ci/run): the linter, then every test lane.
.PHONY: test test-fast test-browser lint run browser-deps model accuracy peers

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

# Rebuild the shipped model (about 2 h of training on one thread of a 2-core Xeon, 3 h on an EPYC; needs
# `pip install -r requirements-build.txt` and ../shared/data): MSRA, Weibo, Resume and CLUENER mapped onto
# docs/GUIDELINES.md (compression.build_corpus), the multi-domain network trained on them (configs/multi.json: the
# teacher, of which int8-emb4 is the INT8 form), the student distilled from it on the same sentences and unlabelled
# headlines (configs/student.json), then pruned to 64 units without attention and fine-tuned (the default); fp32, the compression tab's float reference, is the network with its bigram
# table cut to the bigrams seen at least 3 times (compression.cut_bigrams). The served variants are assembled into
# models/multi-base (each graph's two LSTMs fused into one bidirectional node), its lexicon given the organisation name
# lists of compression/gazetteers (China's listed companies, CC-CEDICT's organisations), scored on every dev split and
# MSRA test; the ensemble variant joins int8-emb4, the student and two more runs of the teacher's recipe (below; 75 min
# more), then every variant is benchmarked. Recipes fix their seeds; the manifest records each recipe.
LAC ?= build/lac
DATA ?= build/data/multi
MODEL_DIR ?= models/multi-base
UNLABELLED ?= ../shared/data/unlabeled/nlpcc2017-headlines.txt
FP32_TEXT = the trained network in float32, its bigram table cut to the bigrams seen at least 3 times in training \
	(rarer ones read as unknown), every other weight unchanged: the compression tab's reference
TEACHER_TEXT = the trained network in float32 with its whole bigram table: the student's teacher, and what int8-emb4 \
	quantizes and fp32 is cut from
INT8_TEXT = the teacher in dynamic INT8, its bigram and word tables in 4 bits (blocks of 32 values) and LAC's GRU \
	weights in float16
STUDENT_TEXT = a smaller network (no LAC encoder; 64 BiLSTM units, no attention, 64-d characters, 32-d bigrams and \
	words): a 96-unit student distilled from the teacher, its 32 least important units a direction and its attention \
	removed, then fine-tuned 6 epochs on the training sentences (its recipe's augmentations, name lists drawn three \
	times as often, and one sentence in twenty with an entity rewritten as a made-up Latin-script name) and 36k \
	unlabelled headlines against that student's own emissions and posteriors; bigram rows seen \
	fewer than 4 times dropped; INT8 with 4-bit tables

model: runs/multi/model.fp32.onnx runs/student-64/model.pruned-int8-emb4.onnx runs/member-13/model.int8-emb4.onnx \
		runs/member-words-22/model.int8-emb4.onnx
	python -m compression.cut_bigrams runs/multi runs/multi-cut --min-count 3 --data $(DATA)
	python -m compression.release runs/multi $(MODEL_DIR) --variants int8-emb4 --adopt runs/multi-cut:fp32=fp32 \
		--adopt runs/multi:fp32=teacher --adopt runs/student-64:pruned-int8-emb4=student --default student --data $(DATA) --test \
		--describe "int8-emb4=$(INT8_TEXT)" --describe "fp32=$(FP32_TEXT)" --describe "teacher=$(TEACHER_TEXT)" --describe "student=$(STUDENT_TEXT)"
	python -m compression.add_companies $(MODEL_DIR) --data $(DATA) --test
	python -m compression.ensemble $(MODEL_DIR) $(MODEL_DIR):int8-emb4 runs/member-13:int8-emb4 \
		runs/member-words-22:int8-emb4 $(MODEL_DIR):student --name ensemble --data $(DATA) --test
	python -m compression.benchmark $(MODEL_DIR) --data $(DATA) --test

$(LAC):
	python -m compression.lac --download $(LAC)

$(DATA)/train.txt:
	python -m compression.build_corpus --out $(DATA) --test

runs/multi/model.fp32.onnx: configs/multi.json $(DATA)/train.txt | $(LAC)
	python -m compression.train --config configs/multi.json --lac $(LAC)
	python -m compression.export runs/multi --no-eval

# The student: 12 epochs of distillation (learning rate x0.85 an epoch), then 4 more from its best weights at 0.0004
# (a fresh optimizer).
runs/student/checkpoint.pt: configs/student.json runs/multi/model.fp32.onnx
	python -m compression.train --config configs/student.json --lac $(LAC)

runs/student-more/model.pruned-int8-emb4.onnx: runs/student/checkpoint.pt
	python -m compression.train --config configs/student.json --lac $(LAC) --out runs/student-more \
		--init-from runs/student/checkpoint.pt --epochs 4 --lr 0.0004 --emb-lr 0.002 --lr-decay 0.8
	python -m compression.export runs/student-more --no-eval
	python -m compression.prune runs/student-more --hidden 96 --heads 2 --bigram-min-count 4 --epochs 0 --data $(DATA)

# The served student: that one read back from its INT8 form (as the shipped 96-unit student was), cut to 64 units a
# direction without attention, and fine-tuned 6 epochs on gold (configs/student-latin.json: the student recipe's
# augmentations with name lists drawn three times as often and made-up Latin-script names) and unlabelled headlines against the 96-unit student's own
# emissions and posteriors (25 min on the EPYC). It is the default: it meets issue 16's targets (5 MB, 0.5 ms,
# within 0.5 points of its teacher).
runs/student-64/model.pruned-int8-emb4.onnx: runs/student-more/model.pruned-int8-emb4.onnx
	python -m compression.recover runs/student-more --variant pruned-int8-emb4 --out runs/student-r/checkpoint.pt --inputs
	python -m compression.export runs/student-r --no-eval
	rm -rf runs/student-64 && cp -r runs/student-r runs/student-64
	python -m compression.prune runs/student-64 --hidden 64 --heads 0 --bigram-min-count 0 --epochs 6 --distill 1 \
		--recipe configs/student-latin.json --teachers runs/student-r --unlabelled $(UNLABELLED) --data $(DATA)

# Two more members for the ensemble variant (the served int8-emb4 and student are the other two): the teacher's
# recipe with the organisation lists in its lexicon from the start and made-up Latin-script names
# (configs/member.json), seed 13; and the same with LAC's encoder reading LAC's own words, seed 22 (37 min each on one
# thread of the EPYC). They read the lexicon the served variants read after add_companies.
runs/member-13/model.int8-emb4.onnx: configs/member.json $(DATA)/train.txt | $(LAC)
	python -m compression.train --config configs/member.json --lac $(LAC) --out runs/member-13 --seed 13
	python -m compression.export runs/member-13 --no-eval

runs/member-words-22/model.int8-emb4.onnx: configs/member.json $(DATA)/train.txt | $(LAC)
	python -m compression.train --config configs/member.json --lac $(LAC) --out runs/member-words-22 --seed 22 \
		--lac-words
	python -m compression.export runs/member-words-22 --no-eval

# Every variant of the shipped model and the peer tools (LAC, Jiagu: their own venv, `make peers`) on every set, one
# sentence a call, in one run: docs/accuracy-table.md (the table docs/ACCURACY.md and the README quote) and
# build/eval.json. MSRA test is reserved: it reports the shipped model, it never selects one.
PEERS_VENV ?= /work/peers-venv
SETS = --set msra-dev=$(DATA)/dev.msra.txt --set weibo-dev=$(DATA)/dev.weibo.txt \
	--set resume-dev=$(DATA)/dev.resume.txt --set cluener-dev=$(DATA)/dev.cluener.txt \
	--set msra-test=$(DATA)/test.txt --set msra-test-original=../shared/data/msra/test.txt \
	--set multidomain=samples/multidomain.txt --set news=samples/news.txt --set rosters=samples/rosters.txt \
	--set hard-cases=samples/hard_cases.txt

accuracy: $(DATA)/train.txt
	RANER_PEERS_PYTHON=$(PEERS_VENV)/bin/python python -m compression.evaluate $(MODEL_DIR) $(SETS) --variant all \
		--peers lac,jiagu --train $(DATA)/train.txt --markdown docs/accuracy-table.md --json build/eval.json

# The peer tools' own venv (requirements-peers.txt says why these versions and flags).
peers: $(PEERS_VENV)/bin/python
$(PEERS_VENV)/bin/python:
	python -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q "setuptools<70" wheel
	$(PEERS_VENV)/bin/pip install -q --no-build-isolation -r requirements-peers.txt

# The folder a Hugging Face Space needs (README's "Deploy to a Space"): the app, the runtime, pinned requirements and
# the default and fp32 variants only; `make space SPACE=user/name` also uploads it (token from HF_TOKEN).
.PHONY: space
SPACE_DIR ?= build/space

space:
	python -m scripts.space bundle $(SPACE_DIR) --force
	$(if $(SPACE),python -m scripts.space push $(SPACE_DIR) --space $(SPACE))
