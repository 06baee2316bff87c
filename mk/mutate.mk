# mk/mutate.mk: `make mutate`: mutation testing of the machines' guard and
# effect code (scripts/mutate.py) with universalmutator, installed from
# PyPI into a virtual environment under $(BUILD). At most MUTATE_MAX
# mutants, drawn with MUTATE_SEED; survivors must be explained in
# tests/mutants.txt. Not part of `make test` or `make check`.

MUTATE_MAX  ?= 1000
MUTATE_SEED ?= 20261203
MUTATE_VENV := $(BUILD)/venv-mutate

.PHONY: mutate

$(MUTATE_VENV)/bin/mutate:
	$(Q)/usr/bin/python3 -m venv $(MUTATE_VENV)
	$(Q)$(MUTATE_VENV)/bin/pip install -q universalmutator

mutate: deps $(MUTATE_VENV)/bin/mutate
	$(Q)scripts/deps.sh test
	$(Q)/usr/bin/python3 scripts/mutate.py --max $(MUTATE_MAX) \
	    --seed $(MUTATE_SEED) --mutate $(MUTATE_VENV)/bin/mutate \
	    --out $(BUILD)/mutate
