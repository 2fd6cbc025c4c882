#!/bin/sh
# Writes a page naming this pod, then runs the command (nginx in the foreground).
set -eu
host="$(hostname)"
cat > /var/www/html/index.html <<PAGE
<!DOCTYPE html>
<html><head><title>${host}</title></head>
<body><h1>Hello from ${host}</h1><p>pod: ${host}</p></body></html>
PAGE
printf '%s\n' "$host" > /var/www/html/hostname
exec "$@"
