# Emporium: `make run` and `make test` on a fresh machine (Debian bookworm, as root).
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

SERVICES := deploy/local/services.sh
FLEET := deploy/local/fleet.sh
# The addresses of the local services, for the fleet and the tests.
WITH_ENV := eval "$$(bash $(SERVICES) env)" &&

.PHONY: install demo run seed test openapi protos test-interop interop-run chaos chaos-short bench probe build migrate services-up services-down services-status fleet-up fleet-down compose-up compose-down compose-logs deploy-check

COMPOSE := docker compose -f compose/docker-compose.yml

## Installs what is missing, starts the local services, migrates, starts the fleet and prints
## where everything is. Replicas per role: make run REPLICAS="worker-product=3 relay=2".
REPLICAS ?=
run: build services-up migrate
	@REPLICAS="$(REPLICAS)" bash $(FLEET) up
	@echo
	@$(WITH_ENV) .build/debug/emporium seed
	@bash $(SERVICES) status
	@bash $(FLEET) status
	@echo
	@$(WITH_ENV) echo "Emporium is up: the services above and the fleet." && \
	echo "  API                  http://127.0.0.1:8080  (e.g. curl http://127.0.0.1:8080/products)" && \
	echo "  OpenAPI document     http://127.0.0.1:8080/openapi.json" && \
	echo "  admin account        $$AUTH_ADMIN_EMAIL / $$AUTH_ADMIN_PASSWORD  (made for this checkout: .local/secrets.env)" && \
	echo "  RabbitMQ management  http://127.0.0.1:15672  (emporium / emporium)" && \
	echo "  metrics              http://127.0.0.1:8080/metrics; relay and workers on 9400-9404 (replicas +10 each)" && \
	echo "  captured mails       $(CURDIR)/.local/mail  (one .eml per mail the mail worker sent)" && \
	echo "  logs                 .local/logs/" && \
	echo "  try it               make demo  (in another terminal: sign-up to a completed order)" && \
	echo "Ctrl-C stops the fleet (the services stay up; 'make services-down' stops them too)."
	@bash $(FLEET) wait

## A customer's walk through the running fleet (start it with make run first).
demo:
	@bash deploy/local/demo.sh

# Swift Testing starts every test at once unless told otherwise: on two cores that was 30 to 70
# runnable threads for two minutes, and waits sized for a slow event timed out. TEST_WIDTH caps
# how many tests run at a time (three a core: six here took 4m20s against 4m03s uncapped, and none
# timed out). A crash prints the crashed thread only, so a CI log's tail has it.
TEST_WIDTH ?= $(shell echo $$((3 * $$(nproc))))
TEST_ENV := SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_WIDTH) SWIFT_BACKTRACE=enable=yes,threads=crashed,registers=none,images=none

## The same services, then every test, then the interop run (below).
test: build services-up
	@bash $(SERVICES) purge-test-queues
	$(WITH_ENV) swift build --build-tests
	$(WITH_ENV) $(TEST_ENV) swift test --skip-build
	@$(MAKE) --no-print-directory chaos-short
	@$(MAKE) --no-print-directory interop-run

## The whole fleet scaled out (api x2, relay x2, product x3, order x2, mail x2, auth x1) under
## load and random faults, then the invariants; the report names the seed that repeats it
## (docs/chaos.md). make chaos DURATION=30m SEED=42
DURATION ?= 10m
SEED ?=
chaos: build services-up
	@mkdir -p .local/chaos
	$(WITH_ENV) .build/debug/emporium chaos --duration $(DURATION) $(if $(SEED),--seed $(SEED)) --report .local/chaos/last-report.json

# make test's run (after the swift tests, before the interop run): a fixed seed, one fault of
# each kind, 100 s of load (3 to 5 minutes in all).
chaos-short:
	@mkdir -p .local/chaos
	$(WITH_ENV) .build/debug/emporium chaos --duration 100s --each-kind-once --seed 20261203 --report .local/chaos/short-report.json

INTEROP := deploy/local/interop.sh
# The messaging conformance suite (its Kafka cases in interop mode) and one order end to end.
INTEROP_TESTS := --filter 'MessagingTests\.ConformanceTests/' --filter 'OrderPipelineTests\.OrderLifecycleTests/reservePayComplete' --filter 'OrderPipelineTests\.TopicsCommandTests/'

## The interop run alone: the tests above on Tansu, a real Kafka-protocol broker, through
## librdkafka 2.16 (both from pinned PyPI wheels, deploy/local/interop.sh; Debian's librdkafka
## 2.0.2 cannot talk to Tansu). make test runs it after the whole suite.
test-interop: build services-up
	$(WITH_ENV) swift build --build-tests
	@$(MAKE) --no-print-directory interop-run

# Tansu is restarted empty: the fleet's topic names are fixed, and an earlier run's messages would
# reach the new consumer groups.
interop-run:
	@if [ "$$(uname -m)" != x86_64 ]; then echo "interop run skipped: its pinned wheels are x86_64 builds"; exit 0; fi; \
	bash $(INTEROP) install && bash $(INTEROP) restart && \
	$(WITH_ENV) eval "$$(bash $(INTEROP) env)" && \
	{ ldd .build/debug/emporium | grep -q 'librdkafka.so.1 => .*/interop/lib/' || \
		{ echo "interop: emporium does not load the interop librdkafka" >&2; bash $(INTEROP) down; exit 1; }; } && \
	echo "swift test --skip-build $(INTEROP_TESTS)  (Tansu on $$KAFKA_BOOTSTRAP_SERVERS, librdkafka from $$LD_LIBRARY_PATH)" && \
	$(TEST_ENV) swift test --skip-build $(INTEROP_TESTS); status=$$?; bash $(INTEROP) down; exit $$status

## The API models' schemas in Sources/Gateway/openapi.json, written from the Swift types
## (deploy/openapi_models.py; make test checks them).
openapi: build
	python3 deploy/openapi_models.py --emporium .build/debug/emporium

## The Swift code for proto/ (gRPC messages and services) in Sources/APIs/GRPC/Generated, which is
## committed; also docs/graphql/schema.graphql from the GraphQL schema.
protos:
	bash deploy/protos.sh
	swift build --product emporium && .build/debug/emporium graphql schema > docs/graphql/schema.graphql

## Our wrappers against pgbench and redis-benchmark; appends to bench-results.jsonl.
bench: services-up
	bash Benchmarks/run.sh

## One paced run of the bench's fleet, with what each process costs per order (CPU, context
## switches) and the time of each stage: where to look, not a ratio. RATE=250 DURATION=25;
## PRELOAD=N, PERF=1, STRACE=1, GUARD=1, EACH_SECOND=1 (Benchmarks/probe.sh).
probe: services-up
	bash Benchmarks/probe.sh $(or $(RATE),250) $(or $(DURATION),25)

## Debian packages (C headers, servers, tools) and the tools' virtualenv: before anything builds.
install:
	bash $(SERVICES) install

build: install
	swift build --product emporium

migrate: build
	$(WITH_ENV) .build/debug/emporium migrate

## A small catalog and three customer accounts with known passwords (make run does it too).
seed: migrate
	$(WITH_ENV) .build/debug/emporium seed

services-up:
	bash $(SERVICES) up

services-down:
	bash $(FLEET) down
	bash $(SERVICES) down

services-status:
	bash $(SERVICES) status
	bash $(FLEET) status

fleet-up: build
	REPLICAS="$(REPLICAS)" bash $(FLEET) up

fleet-down:
	bash $(FLEET) down

## The development cluster (real Kafka, replicas, Prometheus, Grafana): needs Docker with compose v2.
compose-up:
	$(COMPOSE) up -d --build

compose-down:
	$(COMPOSE) down

compose-logs:
	$(COMPOSE) logs -f --tail=100

## The deployment files checked without an engine (also part of make test).
deploy-check: build services-up
	$${EMPORIUM_STATE_DIR:-.local}/venv/bin/python deploy/check_deployment.py --emporium .build/debug/emporium --tools $${EMPORIUM_STATE_DIR:-.local}/venv/bin
