# tekbot: a static binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /tekbot ./cmd/tekbot

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /tekbot /tekbot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/tekbot"]
CMD ["serve", "-f", "/etc/tekbot/tekbot.yaml"]
