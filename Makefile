# Developer tasks; .ci/run runs the same checks and the whole suite.
.PHONY: check test fast

check:  ## lint and type-check (mypy strict, as configured in pyproject.toml)
	ruff check .
	mypy

test: check  ## everything, the slow end-to-end memory runs included (what CI runs)
	python -m pytest -q

fast: check  ## the suite without the slow runs (about a minute on 2 cores)
	python -m pytest -q -m "not slow"
