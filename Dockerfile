# syntax=docker/dockerfile:1

# Build a static binary: no cgo, so it runs on distroless/static.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/gradviz ./cmd/server

# Run as the image's unprivileged user (uid 65532), with no shell and no
# package manager in the image.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gradviz /gradviz
USER nonroot:nonroot
ENV ADDR=:8080
EXPOSE 8080
# distroless has no curl: the binary checks itself, GET /healthz on ADDR.
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 CMD ["/gradviz", "-healthcheck"]
ENTRYPOINT ["/gradviz"]
