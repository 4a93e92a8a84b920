.PHONY: setup test demo lint bench-etl
setup:     ## venv with pinned versions + Delta jars (idempotent)
	scripts/setup.sh
test:      ## lint + the whole test suite (what CI runs)
	scripts/test.sh
demo:      ## demo data -> ETL -> summary
	scripts/demo.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
bench-etl: ## 1M and 10M synthetic events over 10 days -> benchmarks/results/etl.json
	scripts/setup.sh && .venv/bin/python benchmarks/etl_benchmark.py
