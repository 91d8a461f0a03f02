#!/usr/bin/env bash
# Replays a dataset (default: the CED dev set) at full speed into a fresh
# `yuqing serve` and prints the end-to-end figures as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-../shared/data/weibo/ced_dev.jsonl.gz}
[ -f "$file" ] || { echo "dataset $file not found (../shared/data is absent in a user's clone)"; exit 1; }
[ -x bin/yuqing ] || make build
go run ./internal/tools/replaybench --bin bin/yuqing "$file"
