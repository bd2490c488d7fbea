# The mlops-gate image: the CLI as entrypoint, run as a non-root user, with git (policy.unchanged and
# `audit --release` read the checkout's history).
#
#   docker build -t mlops-gate .
#   docker run --rm -v "$PWD:/repo" -w /repo mlops-gate check
#
# Supply chain: the base image is pinned by digest (the multi-platform index of python:3.12-slim; to bump it,
# `docker buildx imagetools inspect python:3.12-slim` and paste the new "Digest:"), and every Python
# dependency, the build backend included, comes from requirements/gate.txt with --require-hashes (see the
# command at its top to regenerate it). The project itself is built from this checkout without build
# isolation, so nothing unhashed is fetched. tests/test_dockerfile.py runs the RUN steps below that install
# Python packages, as written, in a fresh virtual environment, and judges this file with the gate itself.
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea

LABEL org.opencontainers.image.title="mlops-gate" \
      org.opencontainers.image.description="Definition-of-done gate for ML projects" \
      org.opencontainers.image.licenses="Apache-2.0"

# git from Debian: the only system package the gate needs
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*

ENV VIRTUAL_ENV=/opt/mlops-gate \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# dependencies first (their own layer): hash-locked, binary wheels only
COPY requirements/gate.txt requirements/gate.txt
RUN python -m venv "$VIRTUAL_ENV" \
 && "$VIRTUAL_ENV/bin/pip" install --require-hashes --only-binary :all: -r requirements/gate.txt

# the tool from this checkout: its dependencies are already there (--no-deps), the backend too
COPY pyproject.toml README.md ./
COPY mlops_gate mlops_gate
RUN "$VIRTUAL_ENV/bin/pip" install --no-deps --no-build-isolation . \
 && "$VIRTUAL_ENV/bin/mlops-gate" --version

RUN useradd --create-home --uid 10001 --user-group gate
USER 10001:10001
WORKDIR /repo
ENV PATH="/opt/mlops-gate/bin:$PATH"
ENTRYPOINT ["mlops-gate"]
CMD ["check"]
