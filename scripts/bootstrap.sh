#!/usr/bin/env bash
# Makes this checkout runnable: system packages (tesseract with its four languages,
# chromium for the web tests) and the project's virtual environment. Safe to run again:
# it only installs what is missing, so the second time costs a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_DEV="${1:-}"          # "dev" also installs test tools and chromium
DEBIAN_PACKAGES=(tesseract-ocr tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-ita tesseract-ocr-eng)
if [[ "$WITH_DEV" == "dev" ]]; then
    DEBIAN_PACKAGES+=(chromium)
fi

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ "$(id -u)" == "0" ]]; then
        echo "==> installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "fiduflow needs these Debian packages; run as root:" >&2
        echo "    sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    echo "==> creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi

# Reinstall only when pyproject.toml changed since the last install.
stamp=".venv/.fiduflow-installed${WITH_DEV:+-$WITH_DEV}"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
    echo "==> installing Python dependencies"
    .venv/bin/python -m pip install -q --upgrade pip
    if [[ "$WITH_DEV" == "dev" ]]; then
        .venv/bin/python -m pip install -q -e ".[dev]"
    else
        .venv/bin/python -m pip install -q -e .
    fi
    touch "$stamp"
fi
