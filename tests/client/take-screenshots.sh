#!/bin/sh
# Screenshots of the real client for docs/: run from anywhere as
#   tests/client/take-screenshots.sh BUILD_DIR OUT_DIR
# It starts duplexd with a ticker, chats a little with curl, and captures
# the Xvfb screen with ImageMagick's `import`.
set -eu
BUILD=$(realpath "$1")
OUT=$(realpath "$2")
TMP=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$TMP"' EXIT
export GSETTINGS_SCHEMA_DIR="$BUILD/data" GSETTINGS_BACKEND=memory

"$BUILD/src/server/duplexd" --http 127.0.0.1:0 --tcp 127.0.0.1:0 --udp 127.0.0.1:0 --ready-file "$TMP/ready" \
  --store memory --ticker lobby:1500 --log-level warn &
SERVER=$!
while [ ! -s "$TMP/ready" ]; do sleep 0.1; done
PORT=$(sed 's/.*"http":\([0-9]*\).*/\1/' "$TMP/ready")
URL="http://127.0.0.1:$PORT"

say() { # nick text
  TOKEN=$(curl -s -d "{\"nick\":\"$1\"}" "$URL/api/v1/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -d "{\"text\":\"$2\"}" \
    "$URL/api/v1/rooms/lobby/messages"
}
chat1() {
  sleep 1; say bob "Morning! Is the new build up?"
  sleep 1.2; say carol "Yes, duplexd 0.1.0 is running on the test box."
  sleep 1.5; say bob "alice, can you check how short polling feels?"
  sleep 2; say carol "Every poll that finds nothing still costs a full HTTP exchange."
}
chat2() {
  sleep 1; say bob "Switching my client to WebSocket now."
  sleep 2; say carol "Latency drops to a few milliseconds, one connection for everything."
  sleep 2; say bob "Nothing lost and nothing twice across the switch."
  sleep 3; say carol "alice: the chart marks every switch with a dashed line."
}
chat3() {
  sleep 2; say bob "Three panes, one room: polling, SSE and WebSocket side by side."
  sleep 3; say carol "Watch the request counters."
}
chat4() { # a quick exchange, so 15 % simulated loss leaves several gaps
  sleep 2; say bob "Now the same chat over UDP datagrams, with 15 % of them dropped."
  i=1
  while [ $i -le 24 ]; do
    sleep 0.25; say carol "datagram test line $i"
    i=$((i + 1))
  done
  say bob "Each gap is marked; repair fetched the missing ids over HTTP."
}

shoot() { # name transport extra-args seconds keys-after
  xvfb-run -a -s '-screen 0 1280x800x24' sh -c "
    \"$BUILD/src/client/duplex\" --server $URL --nick alice --room lobby --transport $2 $3 &
    APP=\$!
    sleep $4
    if [ -n \"$5\" ]; then
      W=\$(xdotool search --onlyvisible --pid \$APP | tail -n1)
      xdotool mousemove --window \$W 400 300 windowfocus \$W
      xdotool key $5; sleep 12
    fi
    import -window root -crop 1240x760+0+0 \"$OUT/screenshot-$1.png\"
    kill \$APP"
}

# Each chat ends before its shot does; the EXIT trap stops the server.
chat1 & shoot poll poll "" 14 ""
chat2 & shoot websocket poll "" 6 ctrl+4
chat3 & shoot compare websocket --compare 14 ""
chat4 & shoot udp udp "--udp-loss 15 --udp-repair" 14 ""

# TIME_WAIT piling up: short polling every 200 ms with keep-alive off (preset
# in a keyfile, the memory backend cannot be), after 20 s of polling.
KEYS="$TMP/config/glib-2.0/settings"
mkdir -p "$KEYS"
printf '[io/github/duplex/Duplex]\nkeep-alive=false\npoll-interval=uint32 200\n' > "$KEYS/keyfile"
(export GSETTINGS_BACKEND=keyfile XDG_CONFIG_HOME="$TMP/config"; shoot time-wait poll "" 20 "")

# The wire inspector (Ctrl+I) in a quiet room without the ticker: a
# WebSocket upgrade and its frames (the upgrade request selected), and
# short polling's empty polls (an empty poll's response selected). ROW_Y
# is the first row's height in the window.
ROW_Y=499
shoot_inspector() { # name transport row
  xvfb-run -a -s '-screen 0 1280x800x24' sh -c "
    \"$BUILD/src/client/duplex\" --server $URL --nick alice --room wire --transport $2 &
    APP=\$!
    sleep 4
    W=\$(xdotool search --onlyvisible --pid \$APP | tail -n1)
    xdotool mousemove --window \$W 400 300 windowfocus \$W
    xdotool key ctrl+i; sleep 5
    xdotool mousemove --window \$W 300 \$(($ROW_Y + 20 * $3)) click 1; sleep 1
    import -window root -crop 1240x760+0+0 \"$OUT/screenshot-$1.png\"
    kill \$APP"
}
say_wire() { # nick text
  TOKEN=$(curl -s -d "{\"nick\":\"$1\"}" "$URL/api/v1/session" | sed 's/.*"token":"\([^"]*\)".*/\1/')
  curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" -d "{\"text\":\"$2\"}" \
    "$URL/api/v1/rooms/wire/messages"
}
(sleep 7; say_wire bob "Is the new build up?") & shoot_inspector inspector-websocket websocket 0
shoot_inspector inspector-poll poll 1
