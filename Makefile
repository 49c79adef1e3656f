# `make run` serves the sample site; `make test` runs the whole suite. Both set up what they need
# on a Debian machine with nothing but Python: the Debian packages (apt-get, as root), the
# virtual environment, the browser bundles, and the services their pages and tests use.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
BIN := $(VENV)/bin
BUNDLE := sample_site/static/sample/browser.js
# The same page script with the oldest and the newest release of the browser readers' supported
# major, for the tests.
OLDEST_BUNDLE := sample_site/static/sample/browser-oldest.js
NEWEST_BUNDLE := sample_site/static/sample/browser-newest.js
# The releases that `make test` and `make run` install (`make lock` makes it; tools/locks/).
LOCK := tools/locks/dev.txt

.PHONY: install install-sample system frontend frontend-oldest frontend-newest frontend-readers run worker \
	test matrix newest lock lint dist coverage mutate bench fuzz screenshot clean

# The virtual environment; Debian's own Python needs python3-venv for it.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV) && tools/system-packages --install python3-venv \
		&& $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip

# Everything the tests and the tools need (the dev extra), at the locked releases.
install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c $(LOCK)
	touch $@

# What the sample site needs, and no more (the sample extra), at the same releases.
install-sample: $(BIN)/.installed-sample

$(BIN)/.installed-sample: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[sample]' -c $(LOCK)
	touch $@

# The Debian packages the whole suite needs: the browser, npm for the bundles, Redis for Celery,
# openssl for the certificates of the checker's TLS tests.
system:
	tools/system-packages chromium npm redis-server openssl

# The browser SDK bundle for the sample site (real @sentry/browser from npm, built by esbuild).
frontend: $(BUNDLE)

$(BUNDLE): frontend/package.json frontend/package-lock.json $(wildcard frontend/src/*.js)
	tools/system-packages npm
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# The oldest and the newest release of the readers' supported major, locked (`make newest`
# tries npm's latest).
frontend-oldest: $(OLDEST_BUNDLE)

$(OLDEST_BUNDLE): frontend/oldest/package.json frontend/oldest/package-lock.json $(wildcard frontend/src/*.js)
	tools/system-packages npm
	cd frontend/oldest && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

frontend-newest: $(NEWEST_BUNDLE)

$(NEWEST_BUNDLE): frontend/newest/package.json frontend/newest/package-lock.json frontend/newest/otel-web.js $(wildcard frontend/src/*.js)
	tools/system-packages npm
	cd frontend/newest && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# The other browser SDKs of docs/readers.md, pinned, for their tests to bundle each snippet.
READERS := frontend/readers/node_modules/.installed
frontend-readers: $(READERS)

$(READERS): frontend/readers/package.json frontend/readers/package-lock.json
	tools/system-packages npm
	cd frontend/readers && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The sample site at http://127.0.0.1:$(PORT)/, with the Redis server and the Celery worker
# of its Celery page, until Ctrl-C.
run: install-sample frontend
	tools/system-packages redis-server
	tools/serve-sample $(BIN) $(PORT)

# The Celery page's worker alone, for a site served another way (Redis must be running).
worker: install-sample
	DJANGO_SETTINGS_MODULE=sample_site.settings $(BIN)/celery -A sample_site worker --pool=solo --loglevel=INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The sdist and the wheel, as the package index would get them, checked by twine.
dist: install
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*

# The whole suite, browser and subprocess tests included, fails below 100% branch coverage of
# metatrace/ (the report lists what is missing). `# pragma: no cover` only with its reason.
COVERAGE := --cov=metatrace --cov-branch --cov-report=term-missing
# Then the version matrix (noxfile.py): the suite without the browser and the real-world site on
# each Python and Django supported, with the oldest and newest tracers the extras allow.
test: system install frontend frontend-oldest frontend-newest frontend-readers lint dist
	$(BIN)/python -m pytest --ds=tests.settings $(COVERAGE) --cov-fail-under=100
	$(BIN)/nox

matrix: install frontend frontend-oldest frontend-newest
	$(BIN)/nox

# The whole suite with the newest release of everything, past the locks and the bounds, in
# .newest/: what broke, and which releases are newer than the lock. Not part of `make test`.
newest: system
	$(PYTHON) tools/newest.py

# Move the locks on (tools/locks/, the package-lock.json of each frontend folder), after
# `make newest` has shown that the newest releases pass.
lock: install
	$(BIN)/python tools/lock.py
	for folder in frontend frontend/oldest frontend/newest frontend/readers; do \
		(cd $$folder && npm install --package-lock-only --no-audit --no-fund --loglevel=error); done

# The same branch-coverage report, without lint and dist.
coverage: install frontend
	$(BIN)/python -m pytest --ds=tests.settings $(COVERAGE)

# Mutation testing of the core and the response side (docs/maintainers/testing.md): mutmut 3 for the code
# in functions, tools/mutants.py for the module-level limits and regexes. Over an hour on
# 2 cores for all modules; `make mutate MUTATE_MODULES=metatrace/_pages/caching.py` for one.
# The results are saved in MUTATE_SAVE (results.txt, module-level.json); the summary covers
# that set and the saved sets of earlier runs named in MUTATE_ALSO (the last one wins).
MUTATE_MODULES ?= metatrace/_core/formats.py metatrace/_core/timing.py metatrace/_core/carriers.py \
	metatrace/_core/config.py metatrace/_core/head.py metatrace/_core/context.py metatrace/_core/active.py \
	metatrace/_pages/caching.py metatrace/_pages/responses.py metatrace/middleware.py \
	metatrace/wsgi.py metatrace/asgi.py
MUTATE_JOBS ?= 2
MUTATE_SAVE ?= mutants/saved
MUTATE_ALSO ?=
mutate: install
	$(BIN)/python -m pip install --quiet -e '.[mutate]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children $(MUTATE_JOBS) \
		$(foreach module,$(MUTATE_MODULES),'$(subst /,.,$(basename $(module))).*')
	mkdir -p $(MUTATE_SAVE)
	$(BIN)/mutmut results --all true > $(MUTATE_SAVE)/results.txt
	$(BIN)/python tools/mutants.py --json $(MUTATE_SAVE)/module-level.json $(MUTATE_MODULES) || true
	$(BIN)/python tools/mutation_report.py \
		$(foreach set,$(MUTATE_ALSO) $(MUTATE_SAVE),--from $(set)) docs/maintainers/testing.md

bench: install
	$(BIN)/python -m bench

# A long fuzzing session over the parsers and renderers (atheris); FUZZ_SECONDS=600 by default.
FUZZ_SECONDS ?= 600
fuzz: install
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	$(BIN)/python fuzz/fuzz_headers.py -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1

screenshot: install frontend
	$(BIN)/python docs/screenshot.py

clean:
	rm -rf $(VENV) .newest frontend/node_modules frontend/oldest/node_modules frontend/newest/node_modules \
		frontend/readers/node_modules $(BUNDLE) $(OLDEST_BUNDLE) $(NEWEST_BUNDLE) dist .pytest_cache \
		.mypy_cache .ruff_cache mutants .coverage
