# Every set-up step lives here, so `make run` and `make test` work on a fresh
# Debian machine that has only Python 3.11.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/shop
# Debian packages holo and its test suite use: the runtime and compiler, OTP's
# sources (a real corpus), EUnit, and rebar3 for side-by-side benchmarks.
OTP_PACKAGES := erlang-nox erlang-dev erlang-src erlang-eunit rebar3

.PHONY: run test check bench lint otp venv clean

run: otp venv
	$(BIN)/holo watch $(EXAMPLE)

test: otp venv
	$(BIN)/ruff check holo queries lsp watch tests benchmarks
	$(BIN)/pytest -q -n 2

lint: venv
	$(BIN)/ruff check holo queries lsp watch tests benchmarks

bench: otp venv
	$(BIN)/python benchmarks/run_all.py

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null || \
	  { echo "holo needs Python 3.11 or newer as '$(PYTHON)' (set PYTHON=...)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(MAKE) --no-print-directory apt-python-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $(STAMP)

.PHONY: apt-python-venv
apt-python-venv:
	@command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || \
	  { echo "python3 -m venv does not work: install Debian's python3-venv"; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv

# Installs Erlang/OTP from Debian when a needed piece is missing; where apt-get
# cannot run, stops with one line saying what to install.
otp:
	@missing=""; \
	command -v erl >/dev/null || missing="erl"; \
	command -v erlc >/dev/null || missing="$$missing erlc"; \
	command -v rebar3 >/dev/null || missing="$$missing rebar3"; \
	ls -d /usr/lib/erlang/lib/eunit-* >/dev/null 2>&1 || [ -z "$$(command -v erl)" ] || \
	  erl -noshell -eval 'case code:lib_dir(eunit) of {error,_} -> halt(1); _ -> halt(0) end.' || missing="$$missing eunit"; \
	ls -d /usr/lib/erlang/lib/stdlib-*/src >/dev/null 2>&1 || missing="$$missing erlang-src"; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Erlang/OTP from Debian (missing:$$missing)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OTP_PACKAGES) >/dev/null || exit 1; \
	  else \
	    echo "holo needs Erlang/OTP (missing:$$missing): install Debian's $(OTP_PACKAGES)"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) _build .pytest_cache .ruff_cache .hypothesis
