#!/bin/sh
# Installs this Tablao bundle: a menu entry (desktop file, icon, AppStream metadata) and the programs
# `tablao` and `farm` on PATH. For the current user (~/.local), or for everyone (/usr/local) when run
# as root; `--user` as root installs for root only. The bundle stays where it is (it may be read-only):
# put it where it should live first (~/Applications/, /opt/), then run this. uninstall.sh undoes it.
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
case "$BUNDLE" in
    *"
"*) echo "install.sh: the bundle's folder name holds a line break; rename it first" >&2; exit 2 ;;
esac
if ! "$BUNDLE/tablao" --version >/dev/null 2>&1; then
    echo "install.sh: $BUNDLE/tablao does not start here:" >&2
    "$BUNDLE/tablao" --version >&2 || true
    exit 1
fi

# Exec= takes a command line: an argument with characters outside the plain set is quoted, with
# " ` $ \ escaped inside the quotes, then every \ doubled (desktop-entry strings escape them too),
# and % doubled (field codes).
exec_arg() {
    case "$1" in
        *[!A-Za-z0-9/._+-]*)
            printf '"%s"' "$(printf '%s' "$1" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g' -e 's/%/%%/g')" ;;
        *) printf '%s' "$1" ;;
    esac
}
EXEC=$(exec_arg "$BUNDLE/tablao")
TRY=$(printf '%s' "$BUNDLE/tablao" | sed -e 's/\\/\\\\/g')

mkdir -p "$BIN" "$SHARE/applications" "$SHARE/metainfo"
for program in tablao farm; do
    ln -sfn "$BUNDLE/$program" "$BIN/$program"
done
for icon in "$BUNDLE"/share/icons/hicolor/*/apps/$APP_ID.png; do
    size=$(basename "$(dirname "$(dirname "$icon")")")
    mkdir -p "$SHARE/icons/hicolor/$size/apps"
    cp "$icon" "$SHARE/icons/hicolor/$size/apps/$APP_ID.png"
done
EXEC=$EXEC TRY=$TRY awk '{
    line = $0; out = ""
    while ((i = index(line, "@EXEC@")) > 0) {
        out = out substr(line, 1, i - 1) (line ~ /^TryExec=/ ? ENVIRON["TRY"] : ENVIRON["EXEC"])
        line = substr(line, i + 6)
    }
    print out line
}' "$BUNDLE/share/applications/$APP_ID.desktop" > "$SHARE/applications/$APP_ID.desktop.tmp"
mv "$SHARE/applications/$APP_ID.desktop.tmp" "$SHARE/applications/$APP_ID.desktop"
cp "$BUNDLE/share/metainfo/$APP_ID.metainfo.xml" "$SHARE/metainfo/"
# Refresh an icon cache only where there is one (a folder without a cache is read directly).
if [ -f "$SHARE/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t -f "$SHARE/icons/hicolor" || true
fi

echo "Tablao is in the applications menu, and \`tablao\` and \`farm\` are in $BIN."
case ":$PATH:" in
    *":$BIN:"*) ;;
    *) echo "$BIN is not on your PATH yet: log out and in again, or add it in ~/.profile:"
       echo "    export PATH=\"$BIN:\$PATH\"" ;;
esac
echo "Settings and data go to ~/.config/tablao and ~/.local/share/tablao, never into $BUNDLE."
