# PostgreSQL 15 on 127.0.0.1:5432: a role that may create databases (the suites make a fresh
# database per run and drop it afterwards). Sourced by .ci/run; exports CAIRN_TEST_DATABASE_URL.
PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_USER=cairn_test
PG_PASSWORD=cairn_test
PG_DB=cairn_test

apt_install postgresql

section "PostgreSQL ${PG_VERSION}: start cluster ${PG_CLUSTER} on 127.0.0.1:${PG_PORT}"
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "${PG_VERSION} ${PG_CLUSTER}"; then
  pg_createcluster "${PG_VERSION}" "${PG_CLUSTER}" --port "${PG_PORT}"
fi
if pg_lsclusters -h | awk -v v="${PG_VERSION}" -v c="${PG_CLUSTER}" '$1==v && $2==c {print $4}' | grep -q online; then
  echo "cluster ${PG_VERSION}/${PG_CLUSTER} already running"
else
  pg_ctlcluster "${PG_VERSION}" "${PG_CLUSTER}" start
fi
wait_for "PostgreSQL" pg_isready -q -h 127.0.0.1 -p "${PG_PORT}"

psql_admin () { runuser -u postgres -- psql -v ON_ERROR_STOP=1 -p "${PG_PORT}" -qAt -c "$1"; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '${PG_USER}'")" != "1" ]; then
  psql_admin "CREATE ROLE ${PG_USER} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'"
else
  psql_admin "ALTER ROLE ${PG_USER} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}'"
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '${PG_DB}'")" != "1" ]; then
  psql_admin "CREATE DATABASE ${PG_DB} OWNER ${PG_USER}"
fi

export CAIRN_TEST_DATABASE_URL="postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/${PG_DB}"
echo "CAIRN_TEST_DATABASE_URL=${CAIRN_TEST_DATABASE_URL}"
