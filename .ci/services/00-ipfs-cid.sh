# The independent CID oracle (Debian's ipfs-cid): the CID vector tests compare against it.
apt_install ipfs-cid
export CAIRN_TEST_IPFS_CID=/usr/bin/ipfs_cid
echo "CAIRN_TEST_IPFS_CID=${CAIRN_TEST_IPFS_CID}"
