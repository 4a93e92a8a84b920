.PHONY: setup test demo lint bench-etl reliability
CONDITIONS ?= idle machine: nothing else running (say otherwise with CONDITIONS=...)
setup:     ## venv with pinned versions + Delta jars (idempotent)
	scripts/setup.sh
test:      ## lint + the whole test suite (what CI runs)
	scripts/test.sh
demo:      ## demo data -> ETL -> summary
	scripts/demo.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
bench-etl: ## 100k and 1M synthetic events a day for 10 days -> benchmarks/results/etl.json
	scripts/setup.sh && .venv/bin/python benchmarks/etl_benchmark.py --conditions "$(CONDITIONS)"
reliability: ## fault scenarios + bad-input corpus -> benchmarks/results/reliability.json (root)
	scripts/setup.sh && .venv/bin/python benchmarks/reliability.py --conditions "$(CONDITIONS)"
