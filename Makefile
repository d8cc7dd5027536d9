# f5lab: the two front-door commands are `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.f5lab-installed

.PHONY: install demo test bench

# one virtual environment with the pinned torch/torchaudio/f5-tts and the project (editable)
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@# the project's Jupyter kernel "f5lab", inside the venv: papermill and `jupyter lab` use it
	$(PY) -m ipykernel install --sys-prefix --name f5lab --display-name "Python (f5lab)" >/dev/null
	touch $@

install: $(STAMP)

# the main job on the built-in demo: full-scale F5TTS_Base (random weights) -> reports/<run-id>/
demo: $(STAMP)
	$(VENV)/bin/f5lab report

test: $(STAMP)
	MPLBACKEND=Agg TQDM_DISABLE=1 $(PY) -m pytest

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done
