# f5lab: the two front-door commands are `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.f5lab-installed
# the interpreter the venv is made with: PYTHON=/path/to/python3.x overrides; otherwise the first
# supported one on PATH (f5-tts 1.1.22 and torch 2.11 need 3.10-3.12; Debian 13's python3 is 3.13)
PYTHON ?= $(shell sh tools/find-python.sh 2>/dev/null)
TESTENV := MPLBACKEND=Agg TQDM_DISABLE=1
# other CPUs' kernels: stored notebook outputs must not depend on the instruction set
CPU_CAPABILITIES := default avx2
# TORCH_INDEX=<wheel index URL>: the same pinned torch/torchaudio from that index, installed first,
# everything else unchanged; e.g. PyTorch's CUDA 12.6 wheels, the only 2.11 build with kernels for
# Maxwell / Pascal / Volta cards (GTX 1050 Ti): make install TORCH_INDEX=https://download.pytorch.org/whl/cu126
TORCH_INDEX ?=
TORCH_PINS = $(shell sed -n 's/^ *"\(torch==[^"]*\)",*/\1/p; s/^ *"\(torchaudio==[^"]*\)",*/\1/p' pyproject.toml)
TORCH_STAMP = $(VENV)/.f5lab-torch-$(shell printf '%s' '$(TORCH_INDEX)' | cksum | cut -d' ' -f1)
PIP := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: install trust demo test notebooks bench browser

# one virtual environment with the pinned torch/torchaudio/f5-tts and the project (editable)
$(STAMP): pyproject.toml
	@test -x $(PY) || sh tools/find-python.sh --check "$(PYTHON)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PIP) $(TORCH_PINS) --index-url $(TORCH_INDEX))
	$(PIP) -e '.[dev]'
	@# the project's Jupyter kernel "f5lab", inside the venv: papermill and `jupyter lab` use it
	$(PY) -m ipykernel install --sys-prefix --name f5lab --display-name "Python (f5lab)" >/dev/null
	touch $@
	$(if $(TORCH_INDEX),touch $(TORCH_STAMP))

# an existing venv asked for another index: swap torch/torchaudio for the same pins from it, once
# (a venv built with TORCH_INDEX has them from that index already: its recipe left this stamp)
$(TORCH_STAMP): $(STAMP)
	test -e $@ || $(PIP) --force-reinstall --no-deps $(TORCH_PINS) --index-url $(TORCH_INDEX)
	touch $@

install: $(STAMP) $(if $(TORCH_INDEX),$(TORCH_STAMP)) trust

# JupyterLab shows the stored notebooks' colours and audio players only in trusted notebooks:
# sign them in this user's notebook-signature database (the files themselves do not change)
trust: $(STAMP)
	$(VENV)/bin/jupyter trust notebooks/0*.ipynb >/dev/null

# the main job on the built-in demo: full-scale F5TTS_Base (random weights) -> reports/<run-id>/
demo: $(STAMP) trust
	$(VENV)/bin/f5lab report

# the browser test's headless Chromium (Debian's package): installed when missing and make runs as
# root; otherwise tests/test_browser.py skips and says why
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get install -y -q chromium >/dev/null 2>&1; } || echo "no chromium: tests/test_browser.py will skip"

# unit tests + nbval (native kernels, then under each other CPU capability), as two streams at once
test: $(STAMP) trust browser
	$(TESTENV) CPU_CAPABILITIES="$(CPU_CAPABILITIES)" sh tools/run-tests.sh $(PY)

# after changing a notebook or a message it shows: execute and store them again on their tiny
# defaults (no per-cell timestamps, so a stored file changes only where its outputs do), re-trust
notebooks: $(STAMP)
	cd notebooks && for nb in *.ipynb; do \
	  $(TESTENV) ../$(PY) -m jupyter nbconvert --to notebook --execute --inplace --log-level=WARN \
	    --ExecutePreprocessor.kernel_name=f5lab --ExecutePreprocessor.record_timing=False $$nb || exit 1; \
	done
	$(MAKE) trust

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done
