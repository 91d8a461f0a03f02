# yuqing — make targets. `make run` and `make test` are the two a newcomer needs.
GO      ?= go
BIN     := bin/yuqing
DATA    ?= data
LISTEN  ?= 127.0.0.1:8080
SHARED  ?= ../shared/data
PKGS    := ./...

.PHONY: build run demo test test-integration test-race bench bench-replay lint clean

build:
	CGO_ENABLED=1 $(GO) build -o $(BIN) ./cmd/yuqing

run: build
	$(BIN) serve --data $(DATA) --listen $(LISTEN)

# The product crawling the embedded local demo site (no internet needed):
# the demo site on 127.0.0.1:8090, yuqing on $(LISTEN) with deploy/sources.yaml.
demo: build
	@$(BIN) demo-site --listen 127.0.0.1:8090 & demo=$$!; trap "kill $$demo 2>/dev/null" EXIT INT TERM; \
	YUQING_SOURCES=deploy/sources.yaml YUQING_DATA=$(DATA) YUQING_LISTEN=$(LISTEN) $(BIN) serve --config deploy/yuqing.example.yaml

# Every test that needs no outside server (embedded backends only).
test:
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 20m $(PKGS)

# Every test again, this time with real Kafka, Elasticsearch and PostgreSQL
# (started first if they are not running): the conformance suites of the
# scale-out backends and the tests that run the product on them.
# The fault tests, which stop and restart the shared servers, run last on their own.
test-integration: services
	set -a; . ./.cache/services/env; set +a; \
		CGO_ENABLED=1 $(GO) test -count=1 -timeout 40m $(PKGS) && \
		YUQING_FAULTS=1 CGO_ENABLED=1 $(GO) test -count=1 -timeout 30m -run Fault -v ./internal/e2e/

test-race:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 30m $(PKGS)

# Micro-benchmarks of each part, then a table of the figures.
bench:
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -benchtime=2s -timeout 30m \
		./ingest/... ./analyzer/... ./alerting/... ./dashboard/... ./crawler/... | tee bench.out
	@echo; echo "| benchmark | figures |"; echo "|---|---|"; \
		awk '/^Benchmark/ { name=$$1; sub(/-[0-9]+$$/, "", name); f=""; \
			for (i=3; i<NF; i+=2) f=f (f==""?"":", ") $$i " " $$(i+1); print "| " name " | " f " |" }' bench.out

# The whole CED dev set through a real server at full speed (needs ../shared/data).
bench-replay: build
	./deploy/bench-replay.sh $(SHARED)/weibo/ced_dev.jsonl.gz

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin bench.out

# Real Kafka, Elasticsearch and PostgreSQL on 127.0.0.1 for the integration tests
# (installed into .cache/services/ on first use; needs root). See deploy/local/services.sh.
.PHONY: services services-stop services-status
services:
	./deploy/local/services.sh start

services-stop:
	./deploy/local/services.sh stop

services-status:
	./deploy/local/services.sh status
