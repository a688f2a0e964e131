# One image for every process of the complaint desk: `desk worker`, `desk web`, `desk migrate`,
# `desk codec-server` (docker-compose.yml picks the command). Dependencies come from uv.lock, as in dev.
FROM python:3.11.13-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    DESK_LOG_JSON=true \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app

# Dependencies first, in their own layer: code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY desk ./desk
COPY domain ./domain
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY starters ./starters
COPY ui ./ui
COPY standins ./standins
RUN uv sync --frozen --no-dev

RUN useradd --system --uid 10001 --home-dir /app desk
USER desk

EXPOSE 8000
# The web app by default; the worker service runs `desk worker`.
CMD ["desk", "web", "--host", "0.0.0.0"]
