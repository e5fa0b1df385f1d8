# auralytik-mock as a container for CI pipelines and sandboxes.
#   docker build -t auralytik-mock .
#   docker run --rm -p 4010:4010 auralytik-mock
# Configure with the same AURALYTIK_MOCK_* variables as the command line; serve your own
# spec and fixtures by mounting a folder:
#   docker run --rm -p 4010:4010 -v "$PWD/mock:/data:ro" \
#     -e AURALYTIK_MOCK_SPEC=/data/openapi.yaml -e AURALYTIK_MOCK_FIXTURES=/data/fixtures auralytik-mock
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY pyproject.toml README.md openapi.yaml ./
COPY fixtures ./fixtures
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /build

WORKDIR /srv
# A numeric, non-root user: nothing in the image needs root at run time.
USER 10001:10001
ENV AURALYTIK_MOCK_HOST=0.0.0.0 \
    AURALYTIK_MOCK_PORT=4010
EXPOSE 4010

# The readiness probe, with the standard library only (the slim image has no curl).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/__mock/health' % os.environ.get('AURALYTIK_MOCK_PORT', '4010'), timeout=2)"]

# The server handles SIGTERM (docker stop) and stops at once, even as PID 1: calls waiting
# in an injected delay are dropped, not waited for.
STOPSIGNAL SIGTERM
ENTRYPOINT ["auralytik-mock", "serve"]
