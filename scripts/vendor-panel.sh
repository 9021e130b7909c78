#!/usr/bin/env bash
# Re-fetches the vendored libraries from the npm registry and checks them against each
# vendored.tsv (package, version, path in the package, SHA-256): the panel's
# (server/panel/vendor) and the tests' (tests/vendor: axe-core).
# --update: copy the fetched files over the vendored ones and record their new SHA-256.
set -euo pipefail
cd "$(dirname "$0")/.."
update=false; [ "${1:-}" = --update ] && update=true
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
status=0
for dir in server/panel/vendor tests/vendor; do
while IFS=$'\t' read -r file package inner licence sha; do
  case "$file" in ''|'#'*) continue ;; esac
  (cd "$work" && rm -rf package && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz)
  fetched="$work/package/$inner"
  got="$(sha256sum "$fetched" | cut -d' ' -f1)"
  if $update; then
    cp "$fetched" "$dir/$file"
    sed -i "s|^$file\t.*|$file\t$package\t$inner\t$licence\t$got|" "$dir/vendored.tsv"
    echo "updated $file from $package ($got)"
  elif [ "$got" = "$sha" ] && [ "$(sha256sum "$dir/$file" | cut -d' ' -f1)" = "$sha" ]; then
    echo "ok $file = $package $inner"
  else
    echo "MISMATCH $file: recorded $sha, npm $package has $got" >&2; status=1
  fi
  rm -rf "$work/package"
done < "$dir/vendored.tsv"
done
exit $status
