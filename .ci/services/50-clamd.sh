# ClamAV's clamd on a unix socket and 127.0.0.1:3310, with a small local signature database
# (no signature download is possible here: freshclam is never run). Sourced by .ci/run;
# exports CAIRN_TEST_CLAMD_URL (tcp) and CAIRN_TEST_CLAMD_SOCKET (the unix socket path).
CLAMD_PORT=3310
CLAMD_DIR="${CI_STATE_DIR}/clamd"
apt_install clamav-daemon clamdscan xxd
section "clamd: local signatures, start on 127.0.0.1:${CLAMD_PORT} and ${CLAMD_DIR}/clamd.sock"
mkdir -p "${CLAMD_DIR}/db" "${CLAMD_DIR}/tmp"
# the EICAR test file by hash (MD5:size:name) and by body (hex of its distinctive part)
echo "44d88612fea8a8f36de82e1278abb02f:68:Local.EICAR.Hash" > "${CLAMD_DIR}/db/local.hdb"
echo "Local.EICAR.Body:0:*:$(printf %s 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE' | xxd -p | tr -d '\n')" > "${CLAMD_DIR}/db/local.ndb"
cat > "${CLAMD_DIR}/clamd.conf" <<CONF
LocalSocket ${CLAMD_DIR}/clamd.sock
TCPSocket ${CLAMD_PORT}
TCPAddr 127.0.0.1
DatabaseDirectory ${CLAMD_DIR}/db
TemporaryDirectory ${CLAMD_DIR}/tmp
Foreground true
MaxThreads 2
StreamMaxLength 100M
SelfCheck 0
CONF
echo "a clean file" > "${CLAMD_DIR}/clean.txt"
chmod -R a+rwX "${CLAMD_DIR}"
if clamdscan --config-file="${CLAMD_DIR}/clamd.conf" --stream --no-summary "${CLAMD_DIR}/clean.txt" >/dev/null 2>&1; then
  echo "clamd already running"
else
  rm -f "${CLAMD_DIR}/clamd.sock"
  nohup clamd --config-file="${CLAMD_DIR}/clamd.conf" > "${CLAMD_DIR}/clamd.log" 2>&1 &
fi
wait_for "clamd" clamdscan --config-file="${CLAMD_DIR}/clamd.conf" --stream --no-summary "${CLAMD_DIR}/clean.txt"
export CAIRN_TEST_CLAMD_URL="tcp://127.0.0.1:${CLAMD_PORT}"
export CAIRN_TEST_CLAMD_SOCKET="${CLAMD_DIR}/clamd.sock"
echo "CAIRN_TEST_CLAMD_URL=${CAIRN_TEST_CLAMD_URL}"
