# The `sam build` recipe for every function of template.yaml (Metadata BuildMethod makefile):
# the report, download, intake, data action, sender, DNC sync and campaign functions all run from
# the same artifact, so their targets share one recipe (SAM builds each makefile function on its
# own).
#
# SAM runs `make build-<function>` with ARTIFACTS_DIR set, using the repo Makefile, which
# includes this file. By hand, without the network (no dependencies installed):
#   make -f build.mk build-ReportFunction ARTIFACTS_DIR=/tmp/artifact SKIP_DEPS=1
#
# Variables (override on the command line):
#   LAMBDA_PYTHON  a Python 3.12 interpreter (default: the first one found). It must be 3.12, the
#                  Lambda runtime's version: .pyc files carry the interpreter version in their
#                  name and magic number, and 3.11 ones would be ignored by the runtime. This is
#                  not the Makefile's PYTHON, which may be 3.11 for development.
#   LAMBDA_ARCH    arm64 (default) or x86_64; must match Architectures in template.yaml.
#   SKIP_DEPS      non-empty: do not pip install requirements-lambda.txt (tests, offline).

LAMBDA_ARCH ?= arm64
LAMBDA_PYTHON_VERSION := 3.12
# Lambda python3.12 runs on Amazon Linux 2023 (glibc 2.34): accept manylinux wheels up to 2_28.
LAMBDA_PLATFORMS_arm64 := manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_28_aarch64
LAMBDA_PLATFORMS_x86_64 := manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64
LAMBDA_PLATFORMS = $(LAMBDA_PLATFORMS_$(LAMBDA_ARCH))
SKIP_DEPS ?=
# botocore ships models for ~440 AWS services (28 MB); the functions create clients for these
# only (sqs for the notification queues; sts stays for credential providers).
# scripts/trim_botocore.py drops the other models and their endpoints.json entries: the zip
# shrinks by ~27 MB and the first client gets ~30 ms faster
# (botocore scans every service folder and decodes all of endpoints.json); tests/test_template.py
# checks the code creates no client for a service missing here.
BOTOCORE_SERVICES := secretsmanager dynamodb s3 sqs sts

# Found once, on first use (so other Makefile targets never pay for the search).
LAMBDA_PYTHON ?= $(eval LAMBDA_PYTHON := $(shell \
	for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 \
		/usr/bin/python3.12 .venv/bin/python python3 python; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1 \
		&& { echo $$p; break; }; done))$(LAMBDA_PYTHON)

LAMBDA_FUNCTIONS := ReportFunction DownloadFunction IntakeFunction DataActionFunction \
	SenderFunction DncSyncFunction CampaignFunction SendGridWebhookFunction \
	ReceiptsPollFunction

.PHONY: $(addprefix build-,$(LAMBDA_FUNCTIONS))

$(addprefix build-,$(LAMBDA_FUNCTIONS)):
	@test -n "$(ARTIFACTS_DIR)" || { echo "build.mk: ARTIFACTS_DIR is not set (sam build sets it)" >&2; exit 1; }
	@test -n "$(LAMBDA_PLATFORMS)" || { echo "build.mk: LAMBDA_ARCH must be arm64 or x86_64, not '$(LAMBDA_ARCH)'" >&2; exit 1; }
	@test -n "$(LAMBDA_PYTHON)" && $(LAMBDA_PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' \
		|| { echo "build.mk: no Python $(LAMBDA_PYTHON_VERSION) found; set LAMBDA_PYTHON=/path/to/python3.12" >&2; exit 1; }
	mkdir -p "$(ARTIFACTS_DIR)"
ifeq ($(strip $(SKIP_DEPS)),)
	$(LAMBDA_PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile --upgrade \
		--target "$(ARTIFACTS_DIR)" --requirement requirements-lambda.txt \
		--implementation cp --python-version $(LAMBDA_PYTHON_VERSION) --only-binary=:all: \
		$(foreach p,$(LAMBDA_PLATFORMS),--platform $(p))
	rm -rf "$(ARTIFACTS_DIR)/bin"
	$(LAMBDA_PYTHON) scripts/trim_botocore.py "$(ARTIFACTS_DIR)/botocore/data" $(BOTOCORE_SERVICES)
# phonenumbers ships 38 MB of geocoding and carrier data; gcnotify uses only its parsing and
# time zones (phonenumbers.timezone), so those two folders stay out of the artifact.
	rm -rf "$(ARTIFACTS_DIR)/phonenumbers/geodata" "$(ARTIFACTS_DIR)/phonenumbers/carrierdata"
endif
	rm -rf "$(ARTIFACTS_DIR)/gcnotify" "$(ARTIFACTS_DIR)/templates" "$(ARTIFACTS_DIR)/templates_compiled" \
		"$(ARTIFACTS_DIR)/gcnotify.yaml" "$(ARTIFACTS_DIR)/holidays_precomputed.json"
	cp -R src/gcnotify "$(ARTIFACTS_DIR)/gcnotify"
# devserver/ holds the demo's Genesys and SendGrid stand-ins; the handler never imports it.
	rm -rf "$(ARTIFACTS_DIR)/gcnotify/devserver"
	find "$(ARTIFACTS_DIR)/gcnotify" -name __pycache__ -prune -exec rm -rf {} +
# resources.py finds these at LAMBDA_TASK_ROOT, the artifact root.
	cp -R templates "$(ARTIFACTS_DIR)/templates"
	cp gcnotify.yaml "$(ARTIFACTS_DIR)/gcnotify.yaml"
# Precompiled templates (~2 ms to load instead of ~20 ms of parsing) and the config's holidays
# (no ~220 ms `holidays` import and first year) for every cold start; fails on a bad config. Run
# with the artifact's own Jinja2 and holidays, without writing bytecode (compileall writes it
# below, as checked-hash).
	PYTHONPATH="$(ARTIFACTS_DIR)" PYTHONDONTWRITEBYTECODE=1 $(LAMBDA_PYTHON) -m gcnotify.reports.precompile \
		"$(ARTIFACTS_DIR)"
# Hash-based .pyc: SAM's zip rewrites file times, so timestamp-based .pyc would look stale and
# every cold start would recompile (~0.6 s). checked-hash stays valid whatever the mtime.
	$(LAMBDA_PYTHON) -m compileall -q -j 0 --invalidation-mode checked-hash "$(ARTIFACTS_DIR)"
