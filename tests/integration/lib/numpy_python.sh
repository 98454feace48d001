# Sourced by integration scripts that compare with NumPy (lib/model_numpy_ref.py): sets PY to a
# python3 that imports numpy, or reports the test skipped (exit 77).
PY=""
for p in /usr/bin/python3 python3; do
  if "$p" -c "import numpy" 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with numpy (Debian: python3-numpy)"; exit 77; }
