# Emporium: `make run` and `make test` on a fresh machine (Debian bookworm, as root).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

SERVICES := deploy/local/services.sh
# The addresses of the local services, for the fleet and the tests.
WITH_ENV := eval "$$(bash $(SERVICES) env)" &&

.PHONY: run test bench build migrate services-up services-down services-status

## Installs what is missing, starts the local services, migrates and prints where everything is.
run: services-up build migrate
	@bash $(SERVICES) status
	@echo
	@echo "Emporium's services are up. The fleet (api, workers, relay) arrives with the order pipeline;"
	@echo "today 'make run' provides the databases, brokers and mail catcher above, migrated."
	@echo "Stop them with 'make services-down'."

## The same services, then every test.
test: services-up
	$(WITH_ENV) swift build --build-tests
	$(WITH_ENV) swift test --skip-build

## Our wrappers against pgbench and redis-benchmark; appends to bench-results.jsonl.
bench: services-up
	bash Benchmarks/run.sh

build:
	swift build --product emporium

migrate: build
	$(WITH_ENV) .build/debug/emporium migrate

services-up:
	bash $(SERVICES) up

services-down:
	bash $(SERVICES) down

services-status:
	bash $(SERVICES) status
