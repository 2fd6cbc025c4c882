#!/usr/bin/env bash
# Builds .lab/wheelhouse.tar: the kajitori wheel and a wheel of every dependency,
# so the machines install offline (`pip install --no-index --find-links`). Rebuilt
# only when the sources changed; the archive is reproducible (sorted, fixed times
# and owners) so Ansible sees an unchanged tree as an unchanged file.
source "$(dirname "$0")/lib.sh"
cd "$LAB_ROOT"
sources_hash=$( { find kajitori master agent net -type f -name '*.py' -print0 2>/dev/null | sort -z | xargs -0 sha256sum
                  sha256sum pyproject.toml; } | sha256sum | cut -d' ' -f1)
if [[ -s "$LAB_DIR/wheelhouse.tar" && "$(cat "$LAB_DIR/wheelhouse.hash" 2>/dev/null)" == "$sources_hash" ]]; then
  info "up to date ($(tar -tf "$LAB_DIR/wheelhouse.tar" | grep -c '\.whl$') wheels)"
  exit 0
fi
rm -rf "$LAB_DIR/wheelhouse"
# (The grep drops pip's notes about index locations configured but absent here.)
"$PROJECT_VENV/bin/pip" wheel -q --disable-pip-version-check . -w "$LAB_DIR/wheelhouse" \
  2> >(grep -v '^WARNING: Location' >&2) || die "pip wheel failed"
tar -C "$LAB_DIR/wheelhouse" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -cf "$LAB_DIR/wheelhouse.tar.new" .
mv "$LAB_DIR/wheelhouse.tar.new" "$LAB_DIR/wheelhouse.tar"
echo "$sources_hash" >"$LAB_DIR/wheelhouse.hash"
info "built $(ls "$LAB_DIR/wheelhouse" | wc -l) wheels"
