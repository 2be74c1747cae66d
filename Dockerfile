# The tierscore image: tierscore-coordinator, tierscore-worker and the
# tierscore CLI on Debian 12 with only their runtime libraries, run as an
# unprivileged user; nothing runs a shell at run time. Builds with docker, podman or
# buildah:
#   podman build --isolation chroot -t tierscore .
# BASE is a Debian 12 image: the public debian:12-slim by default, or one
# made from Debian's packages (scripts/image.sh makes one with mmdebstrap).
ARG BASE=debian:12-slim

FROM ${BASE} AS build
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh build && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTIERSCORE_TESTS=OFF \
    && cmake --build /build --target tierscore tierscore-coordinator tierscore-worker \
    && mkdir /out \
    && install -s -m 0755 /build/client/tierscore /build/coordinator/tierscore-coordinator \
       /build/worker/tierscore-worker /out/

FROM ${BASE} AS runtime
ARG BASE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tierscore" \
      org.opencontainers.image.description="Classifies customer bases into value tiers and computes their KPIs: coordinator, worker and CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE}" \
      org.opencontainers.image.documentation="README.md, section Deploy on Kubernetes"
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh runtime \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /tmp/install-deps.sh \
    && groupadd --gid 10001 tierscore \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin tierscore
COPY --from=build /out/ /usr/bin/
USER 10001:10001
# The chart runs the servers with `command:`; `podman run IMAGE submit ...`
# runs the CLI.
ENTRYPOINT ["/usr/bin/tierscore"]
CMD ["--help"]
