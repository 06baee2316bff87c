#!/usr/bin/env bash
# scripts/gen-docs.sh BIN: regenerate what docs/ takes from the code:
#   - the tables between "<!-- BEGIN GENERATED mealy NAME -->" and
#     "<!-- END GENERATED mealy NAME -->" in docs/mealy.md
#     (from `ccstream mealy --markdown NAME`);
#   - docs/mealy-NAME.svg (from `ccstream mealy --dot NAME | dot -Tsvg`).
# tests/test_mealy_docs.c fails when docs/mealy.md and the code disagree.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/ccstream}
doc=docs/mealy.md
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp".*' EXIT

cp "$doc" "$tmp"
for m in conn rest pub; do
    "$bin" mealy --markdown "$m" > "$tmp.gen"
    awk -v m="$m" -v gen="$tmp.gen" '
        $0 == "<!-- BEGIN GENERATED mealy " m " -->" {
            print; while ((getline line < gen) > 0) print line; skip = 1; next
        }
        $0 == "<!-- END GENERATED mealy " m " -->" { skip = 0 }
        !skip { print }
    ' "$tmp" > "$tmp.out"
    mv "$tmp.out" "$tmp"
    if command -v dot >/dev/null; then
        "$bin" mealy --dot "$m" | dot -Tsvg > "docs/mealy-$m.svg"
    else
        echo "gen-docs: graphviz 'dot' not found; docs/mealy-$m.svg not redrawn" >&2
    fi
done
cp "$tmp" "$doc"
echo "gen-docs: docs/mealy.md tables and docs/mealy-*.svg regenerated"
