# OpenStack Swift 2.30 with its s3api layer on 127.0.0.1:${SWIFT_PORT}: a real S3-compatible
# server (SigV4, multipart, ranges, presigned URLs; a wrong secret is refused). One replica,
# one device, everything under $CI_STATE_DIR/swift; memcached on 127.0.0.1:11211.
# Sourced by .ci/run; exports CAIRN_TEST_S3_ENDPOINT, _REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY.
# Idempotent: configs and rings are written once, and a process already running is left alone.
# Run by hand (bash .ci/services/30-swift.sh, as root) it brings its own stand-ins for
# .ci/run's helpers and prints the variables to export.
if ! declare -F apt_install >/dev/null; then
  set -euo pipefail
  CI_STATE_DIR="${CI_STATE_DIR:-/tmp/cairn-ci}"
  mkdir -p "${CI_STATE_DIR}"
  section () { printf '\n==== %s ====\n' "$*"; }
  apt_install () { section "apt: $*"; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
  wait_for () {
    local name="$1"; shift
    for _ in $(seq 1 60); do
      if "$@" >/dev/null 2>&1; then echo "${name} is ready"; return 0; fi
      sleep 0.5
    done
    echo "${name} did not become ready" >&2
    return 1
  }
fi
SWIFT_PORT="${SWIFT_PORT:-6207}"
SWIFT_DIR="${CI_STATE_DIR}/swift"

apt_install swift swift-proxy swift-account swift-container swift-object memcached curl

section "Swift: rings and configs under ${SWIFT_DIR}"
mkdir -p "${SWIFT_DIR}/etc" "${SWIFT_DIR}/node/d1" "${SWIFT_DIR}/run" "${SWIFT_DIR}/log"
chown -R swift:swift "${SWIFT_DIR}/node"   # owned by root, every request is a 503

# Swift reads its hash salt and storage policies from /etc/swift/swift.conf, whatever swift_dir says
if [ ! -s /etc/swift/swift.conf ]; then
  mkdir -p /etc/swift
  cat > /etc/swift/swift.conf <<'EOF'
[swift-hash]
swift_hash_path_suffix = cairn-ci-suffix
swift_hash_path_prefix = cairn-ci-prefix

[storage-policy:0]
name = Policy-0
default = yes
EOF
fi

for ring in object:6200 container:6201 account:6202; do
  name="${ring%%:*}"; port="${ring##*:}"
  if [ ! -s "${SWIFT_DIR}/etc/${name}.ring.gz" ]; then
    rm -f "${SWIFT_DIR}/etc/${name}.builder"
    swift-ring-builder "${SWIFT_DIR}/etc/${name}.builder" create 10 1 1
    swift-ring-builder "${SWIFT_DIR}/etc/${name}.builder" add "r1z1-127.0.0.1:${port}/d1" 100
    swift-ring-builder "${SWIFT_DIR}/etc/${name}.builder" rebalance
  fi
  cat > "${SWIFT_DIR}/etc/${name}-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port}
workers = 1
user = swift
devices = ${SWIFT_DIR}/node
mount_check = false
swift_dir = ${SWIFT_DIR}/etc
log_level = WARNING

[pipeline:main]
pipeline = ${name}-server

[app:${name}-server]
use = egg:swift#${name}

[${name}-replicator]
[${name}-auditor]
EOF
done

cat > "${SWIFT_DIR}/etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${SWIFT_PORT}
workers = 1
user = swift
swift_dir = ${SWIFT_DIR}/etc
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl s3api tempauth copy slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
# any other location and SigV4 requests are refused as AuthorizationHeaderMalformed
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
# S3 access key test:tester, secret testing
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:11211

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:tempurl]
use = egg:swift#tempurl
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
[filter:symlink]
use = egg:swift#symlink
EOF

# start_once NAME CMD...: run CMD in the background unless the process of NAME's pid file lives
swift_start_once () {
  local name="$1"; shift
  local pidfile="${SWIFT_DIR}/run/${name}.pid"
  if [ -s "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
    echo "${name} already running (pid $(cat "${pidfile}"))"
    return 0
  fi
  setsid "$@" >>"${SWIFT_DIR}/log/${name}.log" 2>&1 < /dev/null &
  echo $! > "${pidfile}"
  echo "${name} started (pid $!)"
}

section "Swift: start memcached and the four servers"
if (exec 3<>/dev/tcp/127.0.0.1/11211) 2>/dev/null; then
  echo "memcached already listening on 127.0.0.1:11211"
else
  swift_start_once memcached memcached -u root -l 127.0.0.1 -p 11211 -m 64
fi
for name in object container account; do
  swift_start_once "${name}-server" "swift-${name}-server" "${SWIFT_DIR}/etc/${name}-server.conf"
done
swift_start_once proxy-server swift-proxy-server "${SWIFT_DIR}/etc/proxy-server.conf"
wait_for "Swift proxy" curl -fsS "http://127.0.0.1:${SWIFT_PORT}/healthcheck"
# the first account request autocreates the account; make sure the servers behind answer too
wait_for "Swift account" curl -fsS -o /dev/null -H "X-Auth-User: test:tester" -H "X-Auth-Key: testing" "http://127.0.0.1:${SWIFT_PORT}/auth/v1.0"

export CAIRN_TEST_S3_ENDPOINT="http://127.0.0.1:${SWIFT_PORT}"
export CAIRN_TEST_S3_REGION=us-east-1
export CAIRN_TEST_S3_ACCESS_KEY_ID="test:tester"
export CAIRN_TEST_S3_SECRET_ACCESS_KEY=testing
echo "CAIRN_TEST_S3_ENDPOINT=${CAIRN_TEST_S3_ENDPOINT} CAIRN_TEST_S3_REGION=${CAIRN_TEST_S3_REGION} CAIRN_TEST_S3_ACCESS_KEY_ID=${CAIRN_TEST_S3_ACCESS_KEY_ID} CAIRN_TEST_S3_SECRET_ACCESS_KEY=${CAIRN_TEST_S3_SECRET_ACCESS_KEY}"
