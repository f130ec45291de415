#!/usr/bin/env bash
# promtool.sh [PROMTOOL]: check prometheusrule.yaml's rules and run their
# unit tests (rules_test.yaml). The PrometheusRule's spec is a plain rules
# file: cut it out (it is the last key, indented two spaces) next to a copy
# of the tests, which name it rules.yaml. test/run.sh calls this.
set -euo pipefail
promtool=${1:-promtool}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -n '/^spec:/,$p' "$here/prometheusrule.yaml" | tail -n +2 | sed 's/^  //' > "$work/rules.yaml"
cp "$here/rules_test.yaml" "$work/"
"$promtool" check rules "$work/rules.yaml"
(cd "$work" && "$promtool" test rules rules_test.yaml)
