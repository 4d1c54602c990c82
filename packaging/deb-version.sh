#!/bin/sh
# Prints a Debian-valid version for berth's VERSION ($1, from
# `git describe --always --dirty`):
#   v1.2.3            -> 1.2.3
#   v1.2.3-4-gabc1234 -> 1.2.3+4.gabc1234
#   1.2.3-dirty       -> 1.2.3+dirty
#   abc1234[-dirty]   -> 0~<commits>.gabc1234[.dirty]  (no tag yet)
#   dev               -> 0~dev
# There is no Debian revision, so the result has no '-'.
set -eu
v=${1:-dev}
v=${v#v}
case $v in
[0-9]*.*)
  first=${v%%-*}
  rest=${v#"$first"}
  rest=${rest#-}
  if [ -n "$rest" ]; then
    echo "$first+$(printf %s "$rest" | tr -- - .)"
  else
    echo "$first"
  fi ;;
*)
  n=$(git rev-list --count HEAD 2>/dev/null || echo 0)
  case $v in
  dev) echo "0~dev" ;;
  *)   echo "0~$n.g$(printf %s "$v" | tr -- - .)" ;;
  esac ;;
esac
