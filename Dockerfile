# The GitHub Action's image: a static mlci (CGO_ENABLED=0, no NVML) on a small
# base with git, which mlci uses to read baselines from history. The images
# are build arguments so that mirrors (and the project's tests) can swap them.
ARG GO_IMAGE=golang:1.26-alpine
ARG BASE_IMAGE=alpine:3.22

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/mlci ./cmd/mlci

FROM ${BASE_IMAGE}
# The workspace is mounted with another owner than the container's user;
# without safe.directory git refuses to read it.
RUN apk add --no-cache git \
 && git config --system --add safe.directory '*'
COPY --from=build /out/mlci /usr/local/bin/mlci
COPY action/entrypoint.sh /usr/local/bin/mlci-action
ENTRYPOINT ["/usr/local/bin/mlci-action"]
