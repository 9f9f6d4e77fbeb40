# Dependency audit: the pinned versions in constraints.txt against published vulnerabilities.
AUDIT_VENV ?= .venv-audit

.PHONY: audit

$(AUDIT_VENV)/.installed: tooling/audit/requirements.txt
	test -x $(AUDIT_VENV)/bin/python || python3 -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tooling/audit/requirements.txt
	touch $@

##@ Checks
audit: $(AUDIT_VENV)/.installed ## check constraints.txt for published vulnerabilities (fails when none can be looked up)
	$(AUDIT_VENV)/bin/python tooling/audit/run.py $(AUDIT_VENV)/bin/pip-audit
