"""s2s_pyutil.py - what the s2s Python scripts share: one-line errors, and finding a Python that
has the modules a script needs (Debian's python3-matplotlib, python3-h5py and python3-numpy
install for /usr/bin/python3, which need not be the first python3 on PATH)."""
import os
import shutil
import subprocess
import sys


def die(prog, msg):
    print(f"{prog}: {msg}", file=sys.stderr)
    sys.exit(1)


def missing_modules(names):
    missing = []
    for name in names:
        try:
            __import__(name)
        except Exception:  # ImportError, or a broken installation
            missing.append(name)
    return missing


def require_modules(prog, names, script):
    """Returns when this python imports every module of names; otherwise re-runs `script` with
    the first of $PYTHON, /usr/bin/python3, python3 on PATH that does, or exits naming them."""
    missing = missing_modules(names)
    if not missing:
        return
    tried = []
    if os.environ.get("S2S_PLOT_REEXEC") != "1":
        here = os.path.realpath(sys.executable)
        for cand in (os.environ.get("PYTHON"), "/usr/bin/python3", shutil.which("python3")):
            if not cand or not os.path.isfile(cand) or os.path.realpath(cand) == here:
                continue
            tried.append(cand)
            probe = subprocess.run([cand, "-c", "import " + ", ".join(names)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if probe.returncode == 0:
                env = dict(os.environ, S2S_PLOT_REEXEC="1")
                os.execve(cand, [cand, os.path.abspath(script)] + sys.argv[1:], env)
    others = f"; also tried {', '.join(tried)}" if tried else ""
    die(prog, f"missing Python module{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
        f"(this python: {sys.executable}{others}); install them, e.g. "
        f"apt-get install {' '.join('python3-' + m for m in missing)} "
        f"(scripts/deps.sh --python), or pip install {' '.join(missing)}")
