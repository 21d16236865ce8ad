# The mlops container image: one static binary, one link per workflow, a CA
# bundle. No shell, no package manager, nothing else.
#
# The builder runs the same scripts as `make static` and `make rootfs`; the
# final stage copies build/rootfs/ whole, so tests/container/rootfs-test.sh
# (which runs that directory in an empty root as the runner runs a container)
# tests exactly what this image holds.
#
#   docker build -t mlops .
#   docker run --rm mlops --list

FROM debian:bookworm-slim AS build
WORKDIR /src
# The dependencies first, in a layer of their own: they depend only on this
# script and Debian's source packages, so code changes do not rebuild them.
COPY scripts/build-static.sh scripts/build-static.sh
RUN scripts/build-static.sh --deps-only
COPY . .
RUN scripts/build-static.sh && scripts/make-rootfs.sh build/static/mlops build/rootfs

FROM scratch
COPY --from=build /src/build/rootfs/ /
ENV PATH=/usr/bin
# The runner passes --workdir (the workspace) and --entrypoint (each
# workflow's action.yml names /usr/bin/<workflow>); run as root (no USER), as
# the runner expects, so the mounted workspace is writable.
ENTRYPOINT ["/usr/bin/mlops"]
