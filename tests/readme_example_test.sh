#!/bin/bash
# README's mock example is tests/mock_example_test.c, byte for byte: the code
# block that follows the line "<!-- example: tests/mock_example_test.c -->".
# Usage: readme_example_test.sh README.md tests/mock_example_test.c (tools/test
# runs it; not a Bazel test, so that README.md need not be a Bazel target).
set -euo pipefail
readme=$1 example=$2
block=$(awk '/^<!-- example: tests\/mock_example_test.c -->$/ { found = 1; next }
             found && /^```c$/ { inside = 1; next }
             inside && /^```$/ { exit }
             inside { print }' "$readme")
if [[ -z $block ]]; then
  echo "README has no example block after its marker" >&2
  exit 1
fi
diff -u <(printf '%s\n' "$block") "$example" || {
  echo "README's example and $example differ: update one from the other" >&2
  exit 1
}
echo "README example matches $example"
