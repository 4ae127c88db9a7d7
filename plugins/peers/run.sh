#!/bin/sh
# Starts the peers plugin with the interpreter of the peers' virtual environment:
# $LRDBENCH_PEERS_PYTHON when set, else ../../target/peers-venv/bin/python (the venv the
# tests' setup script makes), else python3.
here=$(dirname "$0")
py=${LRDBENCH_PEERS_PYTHON:-}
if [ -z "$py" ] && [ -x "$here/../../target/peers-venv/bin/python" ]; then
    py="$here/../../target/peers-venv/bin/python"
fi
exec "${py:-python3}" "$here/peers.py"
