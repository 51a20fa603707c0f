#!/usr/bin/env bash
# The Debian packages the tests and features need beyond Python's: called by `make setup`.
#   dataset-fashion-mnist  Fashion-MNIST, the evaluation-only out-of-distribution set (its loader reads the real files)
#   fonts-*                the letters of the "not a digit" distractors and the held-out-fonts OOD set
#                          (data/distractors.py), and the row of letters the Reader must not read as a number
#   chromium               the browser the end-to-end test drives with Playwright (no `playwright install`)
# Idempotent: installs only what is missing (as root, or through sudo). Without apt-get, or as a user without sudo,
# it names what to install and stops.
set -euo pipefail

packages=(dataset-fashion-mnist fonts-dejavu-core fonts-dejavu-extra fonts-liberation2 fonts-dkg-handwriting
          fonts-breip fonts-bwht fonts-femkeklaver fonts-dancingscript chromium)

missing=()
for pkg in "${packages[@]}"; do
  # "install ok installed" only: a removed package whose configuration files remain is known to dpkg too
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

explain() {
  echo "digitscope needs these Debian packages (or your system's equivalents): ${missing[*]}" >&2
  echo "  Fashion-MNIST's IDX files under /usr/share/datasets/fashion-mnist/, the fonts, and a chromium at /usr/bin/chromium" >&2
  echo "  $1" >&2
  exit 1
}
command -v apt-get >/dev/null 2>&1 || explain "No apt-get here: install them by hand, then run make setup again."
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || explain "Not root and no sudo: as root, run apt-get install ${missing[*]}"
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
