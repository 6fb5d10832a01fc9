# `make test` is the README's test command and what CI runs (.ci/run).
.PHONY: test run browser-deps

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
