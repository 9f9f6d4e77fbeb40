# The voting app. `make up` runs it; `make test` runs every test; `make test-fast` the unit tests.
SHELL := bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON := $(VENV)/bin/python
PYTEST := $(PYTHON) -m pytest
COMPOSE ?= docker compose
IMAGES := vote worker result db-ha
IMAGE_PREFIX ?= votingapp/
# The app version has one home: the chart's appVersion.
TAG ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$$/\1/p' charts/voting-app/Chart.yaml)
export TAG
# The address of compose service $(1)'s published page port, as Docker chose or the environment set it.
published = http://localhost:$$($(COMPOSE) port $(1) 8080 | sed "s/.*://")

.PHONY: help up down logs ps images venv test test-fast lint format readme lock clean

# The variables the targets' descriptions name, handed to mk/help.awk to expand.
HELP_VARS = $(shell grep -ohE '## .*' $(MAKEFILE_LIST) | grep -oE '[$$][(][A-Z_]+[)]' | tr -d '$$()' | sort -u)

##@ Run the app
up: ## build and start the app, wait until every service is healthy
	$(COMPOSE) up -d --build --wait
	@echo "vote:   $(call published,vote)"
	@echo "result: $(call published,result)"

down: ## stop the app (add V=1 to also delete the votes)
	$(COMPOSE) down $(if $(V),-v)

logs: ## follow the logs of every service
	$(COMPOSE) logs -f --tail=100

ps: ## show the services and their health
	$(COMPOSE) ps

images: ## build the images ($(IMAGE_PREFIX)<name>:$(TAG))
	$(COMPOSE) build $(IMAGES)

##@ Develop and test
help: ## list the targets by topic
	@$(foreach v,$(HELP_VARS),$(v)='$($(v))') awk -f mk/help.awk $(MAKEFILE_LIST)

venv: $(VENV)/.installed ## create the virtualenv with everything the tests need

$(VENV)/.installed: requirements-dev.txt constraints.txt vote/requirements.txt worker/requirements.txt result/requirements.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

test: venv ## run all tests (needs Docker: testcontainers and the compose stack)
	$(PYTEST) $(PYTEST_ARGS)

test-fast: venv ## the unit tests only: no Docker, seconds (everyday work; `make test` is the full suite)
	$(PYTEST) --fast -q $(PYTEST_ARGS)

lint: venv ## static checks: ruff (style, bugs), mypy (types), actionlint (workflows), shellcheck (scripts)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv ## rewrite code in the project's style
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

readme: venv ## write the README's settings table from the services' settings classes
	PYTHONPATH=common:vote:worker:result $(PYTHON) -m tooling.settings_table

lock: venv ## re-pin every installed package into constraints.txt
	{ sed -n '1,2p' constraints.txt; $(PYTHON) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) $(SCAN_VENV) .pytest_cache .ruff_cache .hypothesis

# Extra targets by topic: kind.mk (Kubernetes), and others as they come.
include tooling/go-tools.env
-include $(sort $(wildcard mk/*.mk))
