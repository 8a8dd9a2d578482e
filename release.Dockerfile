# The released image ghcr.io/mlci/mlci, made of the binaries a release
# built: `docker://ghcr.io/mlci/mlci:v1` steps and the GitLab component run
# the same mlci as the release archives. GoReleaser (dockers_v2 in
# .goreleaser.yaml) builds it with buildx for linux/amd64 and linux/arm64,
# with each platform's mlci under $TARGETPLATFORM/ in the context.
FROM alpine:3.22
# mlci reads baselines from the history with git. The workspace is mounted
# with another owner than the container's user; without safe.directory git
# refuses to read it.
RUN apk add --no-cache git \
 && git config --system --add safe.directory '*'
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/mlci /usr/local/bin/mlci
# `mlci action` reads the step's inputs under the runner's names
# (INPUT_WORKING-DIRECTORY, dashes kept), which no POSIX shell can read.
ENTRYPOINT ["/usr/local/bin/mlci", "action"]
