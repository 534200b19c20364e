#!/bin/sh
# Undoes install.sh: removes the menu entry, its icons and metadata, and the `tablao`/`farm` links
# that point into this bundle. Settings, jobs and renders are left where they are (see the end).
set -eu
BUNDLE=$(cd "$(dirname "$0")" && pwd -P)
APP_ID=org.tablao.Tablao
if [ "$(id -u)" = 0 ] && [ "${1:-}" != "--user" ]; then
    BIN=/usr/local/bin
    SHARE=/usr/local/share
else
    BIN=${XDG_BIN_HOME:-$HOME/.local/bin}
    SHARE=${XDG_DATA_HOME:-$HOME/.local/share}
fi
for program in tablao farm; do
    if [ -L "$BIN/$program" ] && [ "$(readlink "$BIN/$program")" = "$BUNDLE/$program" ]; then
        rm -f "$BIN/$program"
    fi
done
rm -f "$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml"
for icon in "$SHARE"/icons/hicolor/*/apps/$APP_ID.png; do
    [ -e "$icon" ] && rm -f "$icon"
done
# The folders install.sh may have made, where they are empty now.
for dir in "$SHARE"/icons/hicolor/*/apps; do
    [ -d "$dir" ] && rmdir --ignore-fail-on-non-empty "$dir" "$(dirname "$dir")"
done
rmdir --ignore-fail-on-non-empty "$SHARE/icons/hicolor" "$SHARE/icons" "$SHARE/applications" "$SHARE/metainfo" \
    2>/dev/null || true
if [ -f "$SHARE/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t -f "$SHARE/icons/hicolor" || true
fi
echo "Removed Tablao's menu entry and the links in $BIN. Left in place: the bundle ($BUNDLE),"
echo "and the settings and data in ~/.config/tablao and ~/.local/share/tablao (delete them by hand)."
