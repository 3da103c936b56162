#!/bin/bash
# The documents' examples are test files, byte for byte: each code block that
# follows a line "<!-- example: PATH -->" in README.md or docs/*.md (a ```c
# or ```cpp block) must be the file PATH of the repository. PATHs given as
# arguments must have such a block (README's tests/parker_example_test.c and
# its C++ example, tests/sync_cpp_example_test.cc, are always required).
# Usage: readme_example_test.sh README.md [PATH...] (tools/test runs it; not a
# Bazel test, so that the documents need not be Bazel targets).
set -euo pipefail
readme=$1
shift
repo=$(cd "$(dirname "$readme")" && pwd)
docs=("$readme" "$repo"/docs/*.md)
required=("tests/parker_example_test.c" "tests/sync_cpp_example_test.cc")
for want in "$@"; do required+=("${want#"$repo"/}"); done

# The block after each marker, to $tmp/<n>, and its path to $tmp/<n>.path.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v out="$tmp" '
  match($0, /^<!-- example: [^ ]+ -->$/) { n++; path = substr($0, 15, length($0) - 18)
                                           print path > (out "/" n ".path"); found = 1; next }
  found && /^```(c|cpp)$/ { inside = 1; found = 0; printf "" > (out "/" n); next }
  inside && /^```$/ { inside = 0; next }
  inside { print > (out "/" n) }' "${docs[@]}"

failed=0
checked=()
for p in "$tmp"/*.path; do
  [[ -e $p ]] || break
  path=$(cat "$p") block=${p%.path}
  if [[ ! -f $block ]]; then
    echo "the marker of $path has no \`\`\`c or \`\`\`cpp block after it" >&2
    failed=1
  elif ! diff -u "$block" "$repo/$path"; then
    echo "the documents' example and $path differ: update one from the other" >&2
    failed=1
  else
    checked+=("$path")
  fi
done
for want in "${required[@]}"; do
  if [[ " ${checked[*]} " != *" $want "* ]]; then
    echo "no document shows $want (a block after <!-- example: $want -->)" >&2
    failed=1
  fi
done
((failed == 0)) || exit 1
echo "the documents' examples match: ${checked[*]}"
