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


# ---- the integrity record of s2s files (include/s2s/seal.h) ----------------------------------

SEAL_BLOCK = 512
SEAL_PIECE = 1 << 20
_M64 = (1 << 64) - 1


def _mix(x):
    x ^= x >> 32
    x = (x * 0xd6e8feb86659fd93) & _M64
    x ^= x >> 32
    x = (x * 0xd6e8feb86659fd93) & _M64
    return x ^ (x >> 32)


def hash64(h, data):
    """s2s's hash64 (src/core/hash.c) continued from h over the bytes data."""
    k = 0x9fb21c651e98df25
    n = len(data)
    lanes = [h, h ^ k, (h + k) & _M64, (h - k) & _M64]
    words = memoryview(data)[: n - n % 32].cast("Q") if n >= 32 else []
    for i in range(0, len(words), 4):
        for j in range(4):
            v = ((lanes[j] ^ words[i + j]) * k) & _M64
            lanes[j] = v ^ (v >> 29)
    out = (_mix(lanes[0]) ^ (_mix((lanes[1] + 1) & _M64) * 3 & _M64)
           ^ (_mix((lanes[2] + 2) & _M64) * 5 & _M64) ^ (_mix((lanes[3] + 3) & _M64) * 7 & _M64))
    i = n - n % 32
    while i + 8 <= n:
        out = _mix(out ^ int.from_bytes(data[i:i + 8], "little"))
        i += 8
    if i < n:
        tail = int.from_bytes(bytes(data[i:]) + bytes(8 - (n - i)), "little")
        out = _mix(out ^ tail ^ (((n - i) << 56) & _M64))
    return _mix(out ^ n)


HASH64_INIT = 0x9e3779b97f4a7c15


def seal_file(path, kind):
    """Writes s2s's integrity record into the user block of the HDF5 file at path, which must
    have been created with userblock_size=SEAL_BLOCK (h5py.File(..., userblock_size=512)):
    what s2s checks before it reads a checkpoint, parameter file or dataset."""
    with open(path, "r+b") as f:
        data = f.read()
        size = len(data)
        h = HASH64_INIT
        for at in range(SEAL_BLOCK, size, SEAL_PIECE):
            h = hash64(h, data[at:at + SEAL_PIECE])
        text = f"s2s integrity record 1\nkind {kind}\nsize {size}\nhash {h:016x}\n".encode()
        text += f"check {hash64(HASH64_INIT, text):016x}\n".encode()
        f.seek(0)
        f.write(text + bytes(SEAL_BLOCK - len(text)))
