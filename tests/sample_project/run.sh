#!/usr/bin/env bash
# Runs the sample project as a user would: a fresh venv with riprap installed from this
# working tree (a path, not editable), the project's own dependencies from the registry,
# and its tests through riprap's pytest plugin (found by its entry point).
#   tests/sample_project/run.sh            uses python3 (or $PYTHON)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/riprap-sample.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$python" -m venv "$work/venv"
# The project's dependencies (riprap[sim,anthropic]) and test extra, read from its
# pyproject.toml; riprap itself comes from the working tree given beside them.
mapfile -t requirements < <("$work/venv/bin/python" - "$here/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))
PY
)
# (grep drops the notices some machines' pip configs print for every package)
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "$repo" "${requirements[@]}" 2> >(grep -v "^WARNING: Location .* is ignored" >&2)
# A copy, so the run leaves nothing in the tree and imports riprap from the venv only.
mkdir "$work/project"
cp "$here/pyproject.toml" "$here/sample_app.py" "$here/test_sample_app.py" "$work/project/"
cd "$work/project"
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider
