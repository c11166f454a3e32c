# syntax=docker/dockerfile:1
# Build: docker build -t sluice .
# Run:   docker run -p 8080:8080 sluice
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/sluice ./cmd/sluice

# A static binary on a minimal image, running as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sluice /usr/local/bin/sluice
USER nonroot:nonroot
# Writable by nonroot: with Kafka, checkpoints go to ./sluice-state by default.
WORKDIR /home/nonroot
EXPOSE 8080
ENV SLUICE_ADDR=:8080
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["serve"]
