# Redis 7 on 127.0.0.1:6379 (no persistence: the suites make their own keys and clean up).
# Sourced by .ci/run; exports CAIRN_TEST_REDIS_URL.
REDIS_PORT=6379
apt_install redis-server
section "Redis: start on 127.0.0.1:${REDIS_PORT}"
if redis-cli -h 127.0.0.1 -p "${REDIS_PORT}" ping 2>/dev/null | grep -q PONG; then
  echo "Redis already running"
else
  redis-server --bind 127.0.0.1 --port "${REDIS_PORT}" --daemonize yes --save '' --appendonly no \
    --dir "${CI_STATE_DIR}" --logfile "${CI_STATE_DIR}/redis.log"
fi
wait_for "Redis" sh -c "redis-cli -h 127.0.0.1 -p ${REDIS_PORT} ping | grep -q PONG"
export CAIRN_TEST_REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"
echo "CAIRN_TEST_REDIS_URL=${CAIRN_TEST_REDIS_URL}"
