"""s2s_pyutil.py - what the s2s Python scripts share: one-line errors, finding a Python that has
the modules a script needs (Debian's python3-matplotlib, python3-h5py and python3-numpy install
for /usr/bin/python3, which need not be the first python3 on PATH), the integrity record of s2s
files, and text read, tokenized and detokenized exactly as s2s does."""
import os
import re
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


# ---- text as s2s reads and writes it (src/data/vocab.c, docs/formats.md) --------------------
# Token ids 0..3 are reserved (include/s2s/tokens.h); the tokenizers and detokenizers below are
# s2s's, byte for byte, so that a Python tool turns a line into the ids `s2s translate` would.

PAD, UNK, BOS, EOS = 0, 1, 2, 3
RESERVED = ("<pad>", "<unk>", "<s>", "</s>")
SPACES = b" \t\v\f\r"  # what separates whitespace tokens (no '\n': lines are split first)
SP_MARK = "\u2581"  # SentencePiece's word-boundary marker; the chars tokenizer's space
_SPACES_TEXT = SPACES.decode()
_SPACE_RUN = re.compile(b"[" + re.escape(SPACES) + b"]+")


def text_lines(data, name, first=1):
    """The lines of bytes `data` as s2s reads them (text_lines in vocab.c): split at '\\n', one
    '\\r' before it dropped, a last line without '\\n' counted; each must be UTF-8 without NUL
    bytes, else ValueError "NAME:LINE: invalid UTF-8" ("NUL byte")."""
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    for i, line in enumerate(lines):
        if line.endswith(b"\r"):
            line = lines[i] = line[:-1]
        problem = "NUL byte" if b"\0" in line else None
        if problem is None:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                problem = "invalid UTF-8"
        if problem:
            raise ValueError(f"{name}:{first + i}: {problem}")
    return lines


def _lower(line, lowercase):
    return line.lower() if lowercase else line  # bytes.lower(): ASCII A-Z only, as s2s


def tokenize_whitespace(line, lowercase=False):
    """Runs of bytes between SPACES."""
    return [t.decode("utf-8") for t in _SPACE_RUN.split(_lower(line, lowercase)) if t]


def tokenize_chars(line, lowercase=False):
    """Every code point a token, each of SPACES as SP_MARK, the line stripped of SPACES first."""
    text = _lower(line, lowercase).strip(SPACES).decode("utf-8")
    return [SP_MARK if ch in _SPACES_TEXT else ch for ch in text]


# data.tokenizer (a checkpoint's /config) -> factory(data_options) -> tokenize(line_bytes) ->
# [token text]. A tokenizer that needs more than the line (a SentencePiece model) reads what it
# needs from the other data.* options of the checkpoint, given to its factory.
def _plain(tokenize):
    """A factory for a tokenizer that needs only data.lowercase."""
    return lambda opts: lambda line: tokenize(line, _bool_text(opts, "lowercase"))


TOKENIZERS = {"whitespace": _plain(tokenize_whitespace), "chars": _plain(tokenize_chars)}
# The data.* options that the tokenizers above read; any other one may change how s2s tokenizes.
TOKENIZER_OPTIONS = ("tokenizer", "lowercase")


def _bool_text(opts, key):
    return opts.get(key) == "true"  # as trained.c reads data.lowercase


def make_tokenizer(opts, where):
    """The tokenizer of data options `opts` ({"tokenizer": ..., "lowercase": ...}, the
    checkpoint's data.* keys without the prefix); ValueError naming `where` and the option the
    tokenizers here cannot follow."""
    kind = opts.get("tokenizer", "whitespace")
    if kind not in TOKENIZERS:
        raise ValueError(f"{where}: data.tokenizer '{kind}' is not one this script implements "
                         f"({', '.join(TOKENIZERS)})")
    unknown = sorted(set(opts) - set(TOKENIZER_OPTIONS))
    if unknown:
        raise ValueError(f"{where}: data.{unknown[0]} is a tokenizer option this script does not "
                         f"know: it cannot tokenize as s2s does")
    return TOKENIZERS[kind](opts)


def detokenize_space(tokens):
    return " ".join(tokens).rstrip(" ")


def detokenize_pieces(tokens):
    """Concatenated, each SP_MARK a space (never two in a row, none leading or trailing)."""
    out = []
    for ch in "".join(tokens):
        if ch == SP_MARK:
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(ch)
    return "".join(out).rstrip(" ")


DETOKENIZERS = {"space": detokenize_space, "pieces": detokenize_pieces}


def detok_guess(tokenizer, tgt_vocab):
    """s2s's --detok auto: pieces for character tokens, or when over half of the target words
    start with SP_MARK; space otherwise."""
    if tokenizer == "chars":
        return "pieces"
    words = tgt_vocab[len(RESERVED):]
    marked = sum(1 for w in words if w.startswith(SP_MARK))
    return "pieces" if words and 2 * marked > len(words) else "space"


class Vocab:
    """Token texts by id (reserved ones first) and the id of a text: <unk> for unknown words
    and for reserved tokens met in text, as vocab_id does."""

    def __init__(self, tokens):
        self.tokens = list(tokens)
        if tuple(self.tokens[:len(RESERVED)]) != RESERVED:
            raise ValueError(f"vocabulary does not start with the reserved tokens {RESERVED}")
        self._ids = {t: i for i, t in enumerate(self.tokens) if i >= len(RESERVED)}

    def __len__(self):
        return len(self.tokens)

    def id(self, token):
        return self._ids.get(token, UNK)
