"""``interest``, the one command line: ETL commands (cli/etl.py), model commands (cli/model.py)
and warehouse queries (cli/query.py), merged into one app by cli/main.py. Commands import the
engines they need (Spark's launcher, torch) only when they run, so ``interest --help`` and the
read-only commands start in a moment."""
