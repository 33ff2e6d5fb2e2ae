#!/bin/sh
# demo agent entry point
exec python3 -m demo_agent "$@"
