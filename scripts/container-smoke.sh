#!/usr/bin/env bash
# Build the project's Dockerfile unchanged and run it as CI would, with podman
# (no Docker engine and no registry here). Steps:
#   1. a stand-in docker.io/library/python:3.11-slim, made from Debian bookworm by
#      debootstrap (cached under .cache/container), with the host's CA bundle;
#   2. podman build --format docker (the OCI format drops HEALTHCHECK);
#   3. run it with its own fixtures mounted, wait until its HEALTHCHECK passes;
#   4. the vendor's three curl examples, a 401, a 403 and the mounted fixture's key;
#      the admin API behind its token (AURALYTIK_MOCK_ADMIN_TOKEN), as the README shows;
#      a fault rule's drop (0 bytes received);
#   5. podman stop with 4 calls waiting in a 60 s injected delay, and how long it took;
#   6. the state kept in a volume (AURALYTIK_MOCK_PERSIST) is there after a restart.
# Prints "container-smoke: OK ..." with the timings; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${AURALYTIK_CONTAINER_DIR:-$ROOT/.cache/container}
IMAGE=localhost/auralytik-mock:smoke
BASE=docker.io/library/python:3.11-slim
NAME=auralytik-mock-smoke-$$
mkdir -p "$WORK"

bash scripts/install-system-deps.sh

cat > "$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "host"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
cat > "$WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
CONF
export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }

# 1. The stand-in base image.
if ! podman image exists "$BASE"; then
  ROOTFS=$WORK/rootfs-python
  if [ ! -x "$ROOTFS/usr/bin/python3" ]; then
    echo "container-smoke: building a stand-in $BASE with debootstrap (once per machine)"
    rm -rf "$ROOTFS"
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
      bookworm "$ROOTFS" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log"; exit 1; }
    rm -f "$ROOTFS"/usr/lib/python3.*/EXTERNALLY-MANAGED
    ln -sf pip3 "$ROOTFS/usr/bin/pip"
    cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  fi
  tar -C "$ROOTFS" -c . | podman import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE" >/dev/null
fi

# 2. Build the Dockerfile unchanged.
t=$(now)
podman build --format docker --network=host --pull=never -q -t "$IMAGE" . >/dev/null
build_s=$(since "$t")
image=$(podman image inspect "$IMAGE" --format '{{json .}}')
python3 - "$image" <<'PY'
import json, sys
image = json.loads(sys.argv[1])
image = image[0] if isinstance(image, list) else image
config = image["Config"]
assert config["User"] == "10001:10001", config["User"]
assert "4010/tcp" in config["ExposedPorts"], config["ExposedPorts"]
assert (image.get("Healthcheck") or {}).get("Test"), "HEALTHCHECK is missing from the image"
assert config["Entrypoint"] == ["auralytik-mock", "serve"], config["Entrypoint"]
PY

# 3. Run it with a mounted fixtures folder (the bundled ones plus one client of our own).
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATA=$(mktemp -d)
trap 'podman rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$DATA"' EXIT
mkdir -p "$DATA/fixtures" "$DATA/state"
cp fixtures/*.yaml "$DATA/fixtures/"
cat > "$DATA/fixtures/smoke.yaml" <<'YAML'
clients:
  - id: client_smoke
    name: Smoke
    apiKeys:
      - key: SMOKE_KEY
        scopes: ["engagements:read"]
YAML
chmod -R a+rX "$DATA"
chmod 0777 "$DATA/state"  # the image runs as UID 10001
t=$(now)
podman run -d --name "$NAME" --network=host -v "$DATA:/data:ro" -v "$DATA/state:/state" \
  -e AURALYTIK_MOCK_ADMIN_TOKEN=smoke-token -e AURALYTIK_MOCK_PERSIST=/state/state.json \
  -e AURALYTIK_MOCK_PORT="$PORT" -e AURALYTIK_MOCK_FIXTURES=/data/fixtures "$IMAGE" >/dev/null 2>"$WORK/run.log"
for _ in $(seq 1 200); do
  if podman healthcheck run "$NAME" >/dev/null 2>&1; then break; fi
  if [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" != true ]; then
    podman logs "$NAME"; echo "container-smoke: the container exited" >&2; exit 1
  fi
  sleep 0.05
done
podman healthcheck run "$NAME" >/dev/null || { podman logs "$NAME"; echo "container-smoke: never healthy" >&2; exit 1; }
healthy_s=$(since "$t")

# 4. The vendor's curl examples (host changed), and the answers a CI job relies on.
API=http://127.0.0.1:$PORT/v1
expect() {  # expect STATUS JSON-CHECK -- curl args...
  local status=$1 check=$2; shift 3
  local out; out=$(curl -sS -o "$DATA/body" -w '%{http_code}' "$@")
  [ "$out" = "$status" ] || { echo "container-smoke: $* -> $out, expected $status: $(cat "$DATA/body")" >&2; exit 1; }
  python3 -c "import json, sys; b = json.load(open(sys.argv[1])); assert $check, b" "$DATA/body"
}
expect 200 'b["totalCount"] == 5 and b["pageSize"] == 25' -- "$API/engagements" -H "Authorization: Bearer YOUR_API_KEY"
expect 201 'b["status"] == "active" and b["name"] == "Q1 Quality Review"' -- -X POST "$API/engagements" \
  -H "Authorization: Bearer YOUR_API_KEY" -H "Content-Type: application/json" \
  -d '{"name": "Q1 Quality Review", "description": "First quarter quality evaluation project", "type": "quality_review"}'
expect 200 'b["status"] == "completed" and b["name"] == "Q1 Quality Review - Updated"' -- -X PATCH "$API/engagements/eng_456" \
  -H "Authorization: Bearer YOUR_API_KEY" -H "Content-Type: application/json" \
  -d '{"name": "Q1 Quality Review - Updated", "status": "completed"}'
expect 200 'b["totalCount"] == 6' -- "$API/engagements" -H "Authorization: Bearer YOUR_API_KEY"
expect 401 'b["error"]["code"] == "UNAUTHORIZED"' -- "$API/engagements"
expect 403 'b["error"]["code"] == "INSUFFICIENT_SCOPE"' -- -X POST "$API/engagements" \
  -H "Authorization: Bearer SMOKE_KEY" -H "Content-Type: application/json" -d '{"name": "n", "type": "t"}'
expect 200 'b["totalCount"] == 0' -- "$API/engagements" -H "Authorization: Bearer SMOKE_KEY"
ADMIN=http://127.0.0.1:$PORT/__mock
expect 401 'b["error"]["code"] == "ADMIN_TOKEN_REQUIRED"' -- "$ADMIN/state"
expect 200 'len(b["clients"]) == 3' -- "$ADMIN/state" -H "X-Mock-Admin-Token: smoke-token"
expect 403 'b["error"]["code"] == "ORIGIN_NOT_ALLOWED"' -- -X POST "$ADMIN/reset" \
  -H "X-Mock-Admin-Token: smoke-token" -H "Origin: https://evil.example"

# A drop: the connection closes with no status line and no byte (curl: 52, empty reply).
curl -sS -o /dev/null -X POST "$ADMIN/faults" -H "Content-Type: application/json" \
  -H "X-Mock-Admin-Token: smoke-token" -d '{"method": "GET", "path": "/v1/engagements/eng_457", "drop": true}'
python3 - "$PORT" <<'PY'
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5) as s:
    s.sendall(b"GET /v1/engagements/eng_457 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer YOUR_API_KEY\r\n\r\n")
    got = s.recv(100)
assert got == b"", f"container-smoke: a drop sent {got!r}"
PY

# 5. Stop, as docker stop does (SIGTERM, then SIGKILL after the timeout), while calls wait
# in a 60 s injected delay: they are dropped, the stop does not wait for them.
for _ in 1 2 3 4; do
  curl -s -o /dev/null -m 30 "$API/engagements" -H "Authorization: Bearer YOUR_API_KEY" -H "Prefer: delay=60000" &
done
sleep 0.3
t=$(now)
podman stop -t 10 "$NAME" >/dev/null 2>>"$WORK/run.log"
stop_s=$(since "$t")
wait || true  # the delayed curls end (curl 52, empty reply) as soon as their connection is dropped
exit_code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')

# 6. The state survived in the volume: the file is whole, and a restarted container serves it.
python3 -c "import json, sys; assert 'Q1 Quality Review - Updated' in json.dumps(json.load(open(sys.argv[1])))" \
  "$DATA/state/state.json"
podman start "$NAME" >/dev/null 2>>"$WORK/run.log"
for _ in $(seq 1 200); do
  if podman healthcheck run "$NAME" >/dev/null 2>&1; then break; fi
  sleep 0.05
done
expect 200 'b["totalCount"] == 6' -- "$API/engagements" -H "Authorization: Bearer YOUR_API_KEY"
podman stop -t 10 "$NAME" >/dev/null 2>>"$WORK/run.log"
echo "container-smoke: OK build=${build_s}s start-to-healthy=${healthy_s}s stop=${stop_s}s exit=${exit_code}"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1.0 else 'container-smoke: stop took over 1 s')" "$stop_s"
