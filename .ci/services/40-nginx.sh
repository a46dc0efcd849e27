# nginx from Debian: the multi-node test runs it as a loopback load balancer (its own config in
# a temp dir, started by the test). Exports CAIRN_TEST_NGINX.
apt_install nginx
export CAIRN_TEST_NGINX=/usr/sbin/nginx
echo "CAIRN_TEST_NGINX=${CAIRN_TEST_NGINX}"
