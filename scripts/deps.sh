#!/usr/bin/env bash
# scripts/deps.sh: install the Debian 12 packages ccstream needs, if missing.
#
#   scripts/deps.sh build   what 'make' needs (compiler, shell libraries)
#   scripts/deps.sh test    what 'make test' adds (cmocka, Java 17, Maven,
#                           kcat and python3-confluent-kafka as outside checkers)
#   scripts/deps.sh check   what 'make check' adds to 'make test' (chromium,
#                           to render the report page headless)
#   scripts/deps.sh fuzz    what 'make fuzz' adds (clang with libFuzzer)
#   scripts/deps.sh list    print every package, one per line
#
# As root it runs apt-get itself; otherwise it prints the exact command and
# fails. Set CCSTREAM_NO_APT=1 to only check.
set -euo pipefail

build_pkgs=(build-essential pkg-config libcurl4-openssl-dev libwebsockets-dev
            libwebsockets-evlib-uv libuv1-dev librdkafka-dev libmsgpack-dev
            libsqlite3-dev sqlite3 libssl-dev)
test_pkgs=(libcmocka-dev openjdk-17-jre-headless maven kcat
           python3-confluent-kafka python3-msgpack python3-venv graphviz
           python3-websockets curl openssl prometheus)
check_pkgs=(chromium)
fuzz_pkgs=(clang libclang-rt-14-dev)

mode=${1:-build}
case "$mode" in
    build) want=("${build_pkgs[@]}") ;;
    test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
    check) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${check_pkgs[@]}") ;;
    fuzz) want=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
    list) printf '%s\n' "${build_pkgs[@]}" "${test_pkgs[@]}" \
              "${check_pkgs[@]}" "${fuzz_pkgs[@]}"
          exit 0 ;;
    *) echo "deps.sh: unknown mode '$mode' (build, test, check, fuzz, list)" >&2
       exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "${CCSTREAM_NO_APT:-0}" = 1 ]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: install them with: $cmd" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "deps.sh: run as root: $cmd" >&2
    exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
