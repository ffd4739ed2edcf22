#!/usr/bin/env bash
# What a user meets, checked after the build (called by .ci/run): every README example runs,
# changesets version and bump as CONTRIBUTING says, the API reference builds without a warning,
# and the packed tarballs install and work in empty projects.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "== $*"; "$@"; }
step node scripts/run-examples.mjs
step node scripts/test-changesets.mjs
step pnpm api-docs
step node scripts/pack-install.mjs
