#!/usr/bin/env bash
# Debian packages the tests need: `source .ci/packages.sh; need_debian_packages pkg...` installs
# those that are missing (CI runs as root on a clean machine), once, with one apt-get update.

need_debian_packages() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "packages.sh: missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
        return 1
    fi
    echo "packages.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
