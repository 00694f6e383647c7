# syntax=docker/dockerfile:1
#
# harmony-sweeper: a batch job, run as `harmony-sweeper run ...` by cron, a Kubernetes
# CronJob or by hand. How to build, tag and deploy it: deploy/README.md.
#
# The base is pinned by tag. Pin it by digest as well where you build and push the image
# (python:3.11.14-slim-trixie@sha256:<digest>, from `docker buildx imagetools inspect`):
# this repository's checks run without a registry, so no digest could be resolved here.
ARG PYTHON_IMAGE=python:3.11.14-slim-trixie

# ---------------------------------------------------------------------------------------
# builder: the locked runtime dependencies and the project's wheel, in a venv.
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

RUN python -m venv /opt/harmony-sweeper

WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# --require-hashes: every package, transitive ones included, must be in the lock with a
# matching hash. --only-binary: wheels only, so no build of an sdist can run (and none needs
# a compiler, which this image does not have).
COPY requirements.lock ./
RUN /opt/harmony-sweeper/bin/pip install --require-hashes --only-binary=:all: \
        --requirement requirements.lock

# The project itself, with --no-deps: its dependencies are exactly the locked ones above.
# (pip fetches the build backend, hatchling, for this step only; it is not in the image.)
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY jobs ./jobs
COPY sandbox ./sandbox
RUN /opt/harmony-sweeper/bin/pip wheel --no-deps --wheel-dir /tmp/dist . \
    && /opt/harmony-sweeper/bin/pip install --no-deps /tmp/dist/harmony_sweeper-*.whl \
    && /opt/harmony-sweeper/bin/harmony-sweeper --version

# ---------------------------------------------------------------------------------------
# runtime: the venv on a clean base. No compilers, no build files, no secrets: the API key
# comes from the environment (HARMONY_API_KEY) and the configuration from a mounted file.
FROM ${PYTHON_IMAGE} AS runtime

ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="harmony-sweeper" \
      org.opencontainers.image.description="Scheduled clean-up of PENDING one-time payment links on Compago's Harmony API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/${PYTHON_IMAGE}"

# A fixed uid/gid, so that Kubernetes' runAsNonRoot can verify it and runAsUser can match.
# Its home is the one writable directory the sweeper needs (reports, --lock-file,
# --audit-log); mount a volume there when the root filesystem is read-only.
RUN groupadd --system --gid 10001 sweeper \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /var/lib/harmony-sweeper --shell /usr/sbin/nologin sweeper \
    && install --directory --owner=10001 --group=10001 --mode=0750 /var/lib/harmony-sweeper

COPY --from=builder /opt/harmony-sweeper /opt/harmony-sweeper

# pip compiled the bytecode at install time; nothing is written at run time, so a
# read-only root filesystem works. Unbuffered: every log line leaves at once, also when
# the pod is killed.
ENV PATH=/opt/harmony-sweeper/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 10001:10001
WORKDIR /var/lib/harmony-sweeper

# The sweeper itself handles SIGTERM (drain, write the report, exit 143), so it runs as
# PID 1 without an init.
ENTRYPOINT ["harmony-sweeper"]
CMD ["run", "--config", "/etc/harmony-sweeper/config.toml", "--yes"]
