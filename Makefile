# tekbot. `make dev` runs the bot in a local sandbox; `make test` runs what CI runs.
.PHONY: dev test build image

dev:
	go run ./cmd/tekbot dev

test:
	bash test/run.sh

build:
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o bin/tekbot ./cmd/tekbot

# The benchmarks of BENCHMARKS.md against local apiservers (~5 min; builds
# what it needs on first use). BENCHFLAGS passes flags, e.g. -scale 2000.
.PHONY: bench
bench:
	go run ./test/bench $(BENCHFLAGS)
