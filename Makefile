# tekbot. `make dev` runs the bot in a local sandbox; `make test` runs what CI runs.
.PHONY: dev test build image

dev:
	go run ./cmd/tekbot dev

test:
	bash test/run.sh

build:
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o bin/tekbot ./cmd/tekbot
