#!/usr/bin/env bash
# `make bench`: every benchmark that compares berth with its peers.
set -euo pipefail
cd "$(dirname "$0")"
./lint.sh
