#!/usr/bin/env python3
"""torch_twin.py - a PyTorch definition of s2s models: parity checks of loss and gradients, s2s
parameters used from Python, and decoding exactly as `s2s translate` decodes.

The module S2S below is the model of docs/model.md written with torch.nn modules, so that its
state_dict has exactly the names and shapes of s2s's parameter tensors: an s2s parameter file
(HDF5, group /params, configuration in /config; see include/s2s/paramfile.h) loads into it
one-to-one, and a state_dict saved by save_params() loads back into s2s.

Semantics that must equal s2s's, and how they are obtained here:
  * encoder directions run over each sentence's own length, the reverse one starting at the
    sentence's last token: pack_padded_sequence; its final states h_n are ordered
    (layer 0 fwd, layer 0 rev, layer 1 fwd, ...), which is the bridge's input order;
  * the decoder carries its state unchanged over padded steps (only padded positions could see
    the difference, and they carry no loss);
  * attention scores of padding positions are -inf before the softmax (weight exactly 0);
  * loss = SUM over targets != <pad> (id 0) of cross-entropy, with label smoothing as PyTorch's
    cross_entropy(label_smoothing=eps) over the whole target vocabulary.
Dropout is implemented for training use, but s2s draws its masks from its own generator, so
parity checks run with dropout off (model.eval(); loaded models start in eval mode).

Every key of a file's /config is either a model option (MODEL_OPTIONS, all implemented), a
training option of `s2s train` (TRAINING_OPTIONS: it does not change what the model computes)
or a data.* tokenizer setting; any other key is refused with one line naming it (--ignore-option
NAME takes it as a training option), so that the twin never silently computes another model.

Commands:
  torch_twin.py check PARAMS.h5 PROBE.h5 [--tol 1e-4] [--floor 1e-2] [--noise-factor 10]
                     [--resave OUT.h5]
      PROBE.h5 (written by tests/integration/torch_parity.c) holds a batch (/batch/src [S,B],
      src_len [B], tgt_in [T,B], tgt_out [T,B], tgt_len [B], time-major int32), s2s's loss
      (root attribute "loss", gradient target; optional "nll") and every parameter gradient
      (/grads/<name>). The twin recomputes loss and gradients in float64 and prints, per tensor,
      the maximum relative error
          max_i |a_i - b_i| / max(|a_i|, |b_i|, floor * max_j |b_j|),   floor = 1e-2
      (a = s2s, b = PyTorch): elementwise relative error, except that elements smaller than
      1% of the tensor's largest are measured against that 1% (float32 rounding makes the
      relative error of near-cancelled sums meaningless; see FLOOR). Exit status 1 if the
      loss or any tensor exceeds its tolerance: --tol (default 1e-4; the double-precision
      build of s2s is checked with 1e-9), or, when s2s's gradients are float32, 10 times the
      error PyTorch itself makes on that tensor in float32 if that is larger (some gradients
      are differences of much larger terms: no float32 computation gets them to 1e-4).
  torch_twin.py check-list LIST [--tol ...] [--floor ...] [--noise-factor ...]
      check (with --resave) for every line 'PARAMS.h5 PROBE.h5 OUT.h5' of LIST, in one process;
      exit status 1 if any case fails.
  torch_twin.py resave PARAMS.h5 OUT.h5
      loads PARAMS into the PyTorch model and writes it back with save_params() (float32).
  torch_twin.py info PARAMS.h5 [--ignore-option NAME]
      prints the configuration and the tensors.
  torch_twin.py export CKPT OUT.pt
      the model's state_dict (float32 tensors under the twin's names) to OUT.pt (torch.save),
      and OUT.json: {"format": "s2s-twin-export", "version": 1, "config": {option: string},
      "vocab": {"src": [...], "tgt": [...]}, "source": CKPT}. torch.load(OUT.pt,
      weights_only=True) and S2S(Config.from_attrs(config)).load_state_dict() read it back.
  torch_twin.py translate CKPT [--input FILE] [--output FILE] [--beam K] [--nbest N]
                [--length-penalty A] [--max-len-ratio R] [--batch B] [--scores] [--replace-unk]
                [--detok auto|space|pieces] [--dtype float32|float64]
      `s2s translate` of a checkpoint or an export: the same tokenization (TOKENIZERS in
      s2s_pyutil.py), beam search rule for rule (class Search), output lines and formats.
  torch_twin.py check-translate LIST [--noise-factor 10]
      for every line 'agree|differ CKPT INPUT S2S_OUTPUT [translate options] [--strict]
      [--perturb RULE]' of LIST, translates INPUT and compares the result with s2s translate's
      output of the same options (--scores or --nbest): identical tokens and scores within
      float32 error, a difference tolerated only where the twin's search met a near-tie
      (--strict: never); 'differ' cases, with one rule changed in the twin (--perturb), must
      differ. The tolerances are derived in the comment above check_case. Exit status 1 if a
      case is not as expected.
"""

import argparse
import json
import math
import os
import shlex
import sys
import tempfile
import time
from typing import NamedTuple

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import s2s_pyutil as pyutil  # noqa: E402  (beside this script)
from s2s_pyutil import BOS, EOS, PAD, SEAL_BLOCK, UNK, seal_file  # noqa: E402

# Relative-error floor, as a fraction of the tensor's largest reference value. s2s trains in
# float32, whose rounding leaves absolute errors of ~1e-7 of a tensor's largest gradient in its
# small elements (they are sums of larger, partly cancelling terms); a floor of 1e-3 puts the
# float32 noise of such elements at ~1e-4 relative, 1e-2 keeps it 10x below the tolerance while
# any error above 1e-6 of the largest gradient still fails.
FLOOR = 1e-2
FORMAT, VERSION = "s2s-params", 1
READ_FORMATS = {FORMAT: VERSION, "s2s-checkpoint": 1}  # what read_config accepts

# ---- configuration ----------------------------------------------------------------------------

# The rows of s2s's MODEL_OPTIONS (include/s2s/model_options.h), which `s2s info` lists as the
# model: every one is interpreted below (tests/integration/twin_decode.sh compares the lists).
MODEL_OPTIONS = ("cell", "layers", "dec-layers", "bidir", "emb", "hidden", "attn", "input-feed",
                 "tie-embeddings", "dropout")
# The other keys of a checkpoint's /config: `s2s train`'s options (src/train/train_cli.c) that
# shape training, not the function the model computes. label-smoothing is also read (the loss).
TRAINING_OPTIONS = frozenset((
    "data", "run-dir", "resume", "batch", "batch-tokens", "min-sents", "bucket-window", "accum",
    "steps", "optim", "lr", "lr-schedule", "warmup", "decay-every", "decay-factor", "patience",
    "min-lr", "momentum", "beta1", "beta2", "eps", "weight-decay", "clip", "max-skips",
    "label-smoothing", "teacher-forcing", "tf-schedule", "tf-min", "tf-k", "init", "init-scale",
    "seed", "log-every", "valid-every", "valid-decode", "best-metric", "early-stop", "samples",
    "ckpt-every", "ckpt-minutes", "keep", "ckpt-error", "bucket-mb", "grad-comm", "threads",
    "oversubscribe", "progress", "probe-timeout", "large-vocab", "blas-core", "save", "ema",
    "init-from", "reset-optimizer", "reset-schedule"))
DATA_PREFIX = "data."  # the dataset's tokenizer settings (data.tokenizer, data.lowercase)
CELLS = ("rnn", "gru", "lstm")  # CELL_CHOICES, include/s2s/rnn.h
ATTNS = ("none", "bahdanau", "dot", "general")  # ATTN_CHOICES, include/s2s/attention.h


def _bool(v):
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected a boolean, got {v!r}")


def _feed(v):
    """--input-feed: auto (None: resolved from the attention kind), or a boolean."""
    return None if str(v).strip().lower() == "auto" else _bool(v)


def _choice(names):
    def parse(v):
        if v not in names:
            raise ValueError(f"'{v}' is not one the twin implements ({', '.join(names)})")
        return v
    return parse


class Config:
    """The model configuration, from the /config attributes of a parameter file or checkpoint.
    Keys are s2s's command-line option names ("dec-layers"); '-' and '_' are interchangeable.
    A key that is neither a model option, a known training option nor a data.* setting is an
    error naming it (unless listed in `ignore`): the twin cannot tell whether it changes what
    the model computes, and must not silently compute something else."""

    FIELDS = {  # name: (parser, default)
        "cell": (_choice(CELLS), "gru"),
        "layers": (int, 1),
        "dec_layers": (int, 0),
        "bidir": (_bool, True),
        "emb": (int, 64),
        "hidden": (int, 256),
        "src_vocab": (int, None),
        "tgt_vocab": (int, None),
        "attn": (_choice(ATTNS), "none"),
        "input_feed": (_feed, None),  # default, auto: on for Luong attention (dot, general)
        "tie_embeddings": (_bool, False),
        "label_smoothing": (float, 0.0),
        "dropout": (float, 0.0),
    }

    def __init__(self, ignore=(), **kw):
        for name, (parse, default) in self.FIELDS.items():
            try:
                setattr(self, name, parse(kw[name]) if name in kw else default)
            except ValueError as e:
                raise ValueError(f"/config {_option(name)}: {e}") from None
        self.extra = {}  # training options and data settings: kept (resave, export), not used
        ignored = {_key(k) for k in ignore}
        for k in sorted(set(kw) - set(self.FIELDS)):
            if not (_option(k) in TRAINING_OPTIONS or k.startswith(DATA_PREFIX) or k in ignored):
                raise ValueError(f"/config {_option(k)} is not an option the twin knows: it cannot "
                                 f"tell whether it changes the model (if it is a training option, "
                                 f"--ignore-option {_option(k)})")
            self.extra[k] = kw[k]
        if self.src_vocab is None or self.tgt_vocab is None:
            raise ValueError("configuration lacks src-vocab / tgt-vocab")
        for name in ("layers", "emb", "hidden", "src_vocab", "tgt_vocab"):
            if getattr(self, name) < 1:
                raise ValueError(f"/config {_option(name)} must be positive")
        if self.dec_layers <= 0:
            self.dec_layers = self.layers
        if self.input_feed is None:
            self.input_feed = self.attn in ("dot", "general")
        if self.input_feed and self.attn not in ("dot", "general"):
            raise ValueError("input feeding needs Luong attention (dot or general)")
        D = 2 if self.bidir else 1
        if self.attn == "dot" and D * self.hidden != self.hidden:
            raise ValueError("dot attention needs a unidirectional encoder")
        if self.tie_embeddings and self.feature_size() != self.emb:
            raise ValueError(f"tied embeddings need the output layer's input "
                             f"({self.feature_size()}) to equal the embedding size ({self.emb})")

    @classmethod
    def from_attrs(cls, attrs, ignore=()):
        kw = {}
        for k, v in attrs.items():
            if isinstance(v, bytes):
                v = v.decode()
            kw[_key(k)] = v
        return cls(ignore=ignore, **kw)

    def to_attrs(self):
        """The configuration as s2s option names and strings, as s2s spells them (what /config
        holds; input-feed resolved to on or off)."""
        out = {}
        for name in self.FIELDS:
            v = getattr(self, name)
            if name == "input_feed":
                v = "on" if v else "off"
            out[_option(name)] = (("true" if v else "false") if isinstance(v, bool) else str(v))
        for k, v in self.extra.items():
            out[_option(k)] = str(v)
        return out

    def data_options(self):
        """The dataset's tokenizer settings: data.<name> keys as {name: value}."""
        return {k[len(DATA_PREFIX):]: str(v) for k, v in self.extra.items()
                if k.startswith(DATA_PREFIX)}

    @property
    def dirs(self):
        return 2 if self.bidir else 1

    def feature_size(self):
        DM = self.dirs * self.hidden
        return self.hidden + DM + self.emb if self.attn == "bahdanau" else self.hidden

    def dec_input_size(self):
        if self.attn == "bahdanau":
            return self.emb + self.dirs * self.hidden
        return self.emb + self.hidden if self.input_feed else self.emb

    def describe(self):
        return (f"{self.cell} layers={self.layers}/{self.dec_layers} bidir={int(self.bidir)} "
                f"attn={self.attn} feed={int(self.input_feed)} tie={int(self.tie_embeddings)}")


def _key(option):
    """An s2s option name as a Python name (data.* keys keep their dot)."""
    return option.replace("-", "_")


def _option(key):
    return key.replace("_", "-")


# ---- the model --------------------------------------------------------------------------------

_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class Memory(NamedTuple):
    """What attention reads: the top encoder output mem [S, B, D*H], its keys [S, B, KW] (W_k h
    + b_k for Bahdanau, W_a h for general, h itself for dot) and mask [B, S], True on each
    sentence's own positions."""

    mem: torch.Tensor
    keys: torch.Tensor
    mask: torch.Tensor

    def rows(self, index):
        """The memory seen by rows whose sentences are `index` [R] (a LongTensor)."""
        return Memory(self.mem.index_select(1, index), self.keys.index_select(1, index),
                      self.mask.index_select(0, index))


class BahdanauAttention(nn.Module):
    """score_i = v . tanh(W_q s_{t-1} + W_k h_i + b_k); A = H."""

    def __init__(self, H, DM):
        super().__init__()
        self.query = nn.Linear(H, H, bias=False)
        self.key = nn.Linear(DM, H)
        self.v = nn.Linear(H, 1, bias=False)


class LuongAttention(nn.Module):
    """general: score_i = s_t . W_a h_i; dot: s_t . h_i. h~_t = tanh(W_c [c_t ; s_t])."""

    def __init__(self, H, DM, general):
        super().__init__()
        if general:
            self.W = nn.Linear(DM, H, bias=False)
        self.combine = nn.Linear(DM + H, H, bias=False)


class TiedOutput(nn.Module):
    """The output layer with tied embeddings: only the bias is its own ('out.bias')."""

    def __init__(self, V):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(V))


class S2S(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = self.cfg = cfg
        E, H, L, Ld, D = c.emb, c.hidden, c.layers, c.dec_layers, c.dirs
        RNN = _CELLS[c.cell]
        # Registration order = s2s's buffer order (docs/model.md), so state_dict lists tensors
        # in the order of the parameter file.
        self.src_embed = nn.Embedding(c.src_vocab, E, padding_idx=PAD)
        self.encoder = RNN(E, H, L, bidirectional=c.bidir, dropout=c.dropout if L > 1 else 0.0)
        self.bridge = nn.Linear(L * D * H, Ld * H)
        if c.cell == "lstm":
            self.bridge_cell = nn.Linear(L * D * H, Ld * H)
        self.tgt_embed = nn.Embedding(c.tgt_vocab, E, padding_idx=PAD)
        self.decoder = RNN(c.dec_input_size(), H, Ld, dropout=c.dropout if Ld > 1 else 0.0)
        if c.attn == "bahdanau":
            self.attn = BahdanauAttention(H, D * H)
        elif c.attn in ("dot", "general"):
            self.attn = LuongAttention(H, D * H, c.attn == "general")
        if c.tie_embeddings:
            self.out = TiedOutput(c.tgt_vocab)
        else:
            self.out = nn.Linear(c.feature_size(), c.tgt_vocab)
        self.drop = nn.Dropout(c.dropout)

    # -- pieces ----------------------------------------------------------------------------------

    def encode(self, src, src_len):
        """src [S, B] time-major ids, src_len [B] -> memory [S, B, D*H] (zeros on padding),
        decoder initial state(s) [Ld, B, H]."""
        c = self.cfg
        S, B = src.shape
        x = self.drop(self.src_embed(src))
        packed = pack_padded_sequence(x, src_len.cpu(), enforce_sorted=False)
        out, state = self.encoder(packed)
        mem, _ = pad_packed_sequence(out, total_length=S)

        def bridge(lin, finals):  # finals [L*D, B, H] in (layer, direction) order
            y = torch.tanh(lin(finals.permute(1, 0, 2).reshape(B, -1)))
            return y.view(B, c.dec_layers, c.hidden).permute(1, 0, 2).contiguous()

        if c.cell == "lstm":
            h_n, c_n = state
            return mem, (bridge(self.bridge, h_n), bridge(self.bridge_cell, c_n))
        return mem, bridge(self.bridge, state)

    def _out_weight(self):
        return self.tgt_embed.weight if self.cfg.tie_embeddings else self.out.weight

    def logits(self, feats):
        return F.linear(self.drop(feats), self._out_weight(), self.out.bias)

    def memory(self, mem, src_len):
        """What attention reads for a batch encoded by encode(): the memory [S, B, D*H], its
        keys and the positions of each sentence (None without attention)."""
        c = self.cfg
        if c.attn == "none":
            return None
        S = mem.shape[0]
        mask = torch.arange(S, device=mem.device).unsqueeze(0) < src_len.unsqueeze(1)  # [B, S]
        keys = (self.attn.key(mem) if c.attn == "bahdanau" else
                self.attn.W(mem) if c.attn == "general" else mem)
        return Memory(mem, keys, mask)

    def _attend(self, q, memory):
        """scores [B, S] from q [B, KW] and the keys [S, B, KW] (Bahdanau: v . tanh(q + K));
        returns alpha [B, S], context [B, DM]."""
        if self.cfg.attn == "bahdanau":
            scores = self.attn.v(torch.tanh(q.unsqueeze(0) + memory.keys)).squeeze(-1).t()
        else:
            scores = torch.einsum("bk,sbk->bs", q, memory.keys)
        scores = scores.masked_fill(~memory.mask, float("-inf"))
        alpha = torch.softmax(scores, dim=1)
        return alpha, torch.einsum("bs,sbd->bd", alpha, memory.mem)

    def initial_state(self, state0):
        """The decoder state before step 0: the bridge's (rnn_state of nn.RNN/GRU/LSTM, [Ld, B, H]
        each) and, with input feeding, h~_{-1} = 0."""
        c = self.cfg
        h0 = state0[0] if c.cell == "lstm" else state0
        feed = h0.new_zeros(h0.shape[1], c.hidden) if c.input_feed else None
        return (state0, feed)

    def _top(self, rnn_state):
        """s_t: the top decoder layer's hidden state [B, H]."""
        return (rnn_state[0] if self.cfg.cell == "lstm" else rnn_state)[-1]

    def step(self, e, state, memory, active=None):
        """One step of the step-major decoder (src/nn/decoder.c) for B rows: e [B, E] the
        (dropped-out) embeddings of the inputs, state from initial_state() or the last step,
        memory from memory() (its rows those of e). Returns the output layer's input [B, F],
        the new state and the attention weights [B, S] (None without attention). Rows where
        `active` [B] is False keep their recurrent state (a sentence's padded steps)."""
        c = self.cfg
        rnn_state, htil = state
        alpha = ctx = None
        if c.attn == "bahdanau":  # the query is the previous top state s_{t-1}
            alpha, ctx = self._attend(self.attn.query(self._top(rnn_state)), memory)
            x = torch.cat([e, ctx], dim=1)
        else:
            x = torch.cat([e, htil], dim=1) if c.input_feed else e
        _, new = self.decoder(x.unsqueeze(0), rnn_state)
        if active is not None:
            a = active.view(1, -1, 1)
            new = (tuple(torch.where(a, n, o) for n, o in zip(new, rnn_state))
                   if c.cell == "lstm" else torch.where(a, new, rnn_state))
        s = self._top(new)
        if c.attn == "bahdanau":
            feat = torch.cat([s, ctx, e], dim=1)
        elif c.attn in ("dot", "general"):  # Luong: attend with the current state s_t
            alpha, ctx = self._attend(s, memory)
            htil = feat = torch.tanh(self.attn.combine(torch.cat([ctx, s], dim=1)))
        else:
            feat = s
        return feat, (new, htil), alpha

    def decode(self, mem, src_len, state0, tgt_in, tgt_len):
        """Teacher-forced decoder: -> output-layer features [T, B, F]."""
        e = self.drop(self.tgt_embed(tgt_in))
        if self.cfg.attn == "none":
            # Padded steps follow a sentence's real ones, so letting the state run on instead of
            # carrying it changes only positions that carry no loss.
            out, _ = self.decoder(e, state0)
            return out
        memory = self.memory(mem, src_len)
        state = self.initial_state(state0)
        feats = []
        for t in range(tgt_in.shape[0]):
            feat, state, _ = self.step(e[t], state, memory, active=t < tgt_len)
            feats.append(feat)
        return torch.stack(feats)

    def forward(self, src, src_len, tgt_in, tgt_len):
        """Logits [T, B, Vt] of a teacher-forced batch (time-major ids)."""
        mem, state0 = self.encode(src, src_len)
        return self.logits(self.decode(mem, src_len, state0, tgt_in, tgt_len))

    def loss(self, src, src_len, tgt_in, tgt_out, tgt_len):
        """(training loss, plain NLL, target tokens): sums over targets != <pad>; the training
        loss includes label smoothing."""
        logits = self(src, src_len, tgt_in, tgt_len)
        flat, tgt = logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1)
        nll = F.cross_entropy(flat, tgt, ignore_index=PAD, reduction="sum")
        eps = self.cfg.label_smoothing
        train = (F.cross_entropy(flat, tgt, ignore_index=PAD, reduction="sum", label_smoothing=eps)
                 if eps > 0 else nll)
        return train, nll, int((tgt != PAD).sum())


# ---- parameter files --------------------------------------------------------------------------


def _str_attr(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_config(path, ignore=()):
    with h5py.File(path, "r") as f:
        _check_format(f, path)
        if "config" not in f:
            raise ValueError(f"{path}: no group /config")
        attrs = {k: _str_attr(v) for k, v in f["config"].attrs.items()}
        # A checkpoint's /config holds the training options; the vocabulary sizes come from the
        # dataset, and the checkpoint keeps the vocabularies themselves (/vocab/src, /vocab/tgt).
        for side in ("src", "tgt"):
            if f"{side}-vocab" not in attrs and f"vocab/{side}" in f:
                attrs[f"{side}-vocab"] = str(len(f[f"vocab/{side}"]))
    try:
        return Config.from_attrs(attrs, ignore)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _check_format(f, path):
    # A checkpoint (docs/formats.md, "Checkpoints") holds /params and /config unchanged.
    fmt = _str_attr(f.attrs.get("format", ""))
    if fmt not in READ_FORMATS:
        raise ValueError(f"{path}: attribute 'format' is {fmt!r}, expected one of "
                         f"{sorted(READ_FORMATS)!r}")
    ver = int(f.attrs.get("version", -1))
    if ver != READ_FORMATS[fmt]:
        raise ValueError(f"{path}: format version {ver}, this script reads {READ_FORMATS[fmt]}")


def read_tensors(path, group="params"):
    with h5py.File(path, "r") as f:
        return {name: np.asarray(ds[()]) for name, ds in f[group].items()}


def _build(cfg, tensors, dtype, where):
    """The model of cfg with `tensors` ({name: array or tensor}, exactly its state_dict's names
    and shapes, else ValueError naming the tensor) as parameters, in dtype."""
    model = S2S(cfg).to(dtype)
    sd = model.state_dict()
    missing = sorted(set(sd) - set(tensors))
    extra = sorted(set(tensors) - set(sd))
    if missing or extra:
        raise ValueError(f"{where}: tensors do not match the configuration: missing {missing}, "
                         f"unexpected {extra}")
    for name, ref in sd.items():
        if tuple(tensors[name].shape) != tuple(ref.shape):
            raise ValueError(f"{where}: tensor {name} has shape {list(tensors[name].shape)}, "
                             f"the model expects {list(ref.shape)}")
    model.load_state_dict({k: torch.as_tensor(v).to(dtype) for k, v in tensors.items()},
                          strict=True)
    return model.eval()  # for inference: dropout off (train() turns it on)


def load_params(path, dtype=torch.float64, ignore=()):
    """The model of an s2s parameter file or checkpoint, with its parameters (in dtype)."""
    return _build(read_config(path, ignore), read_tensors(path), dtype, path)


def _atomic_write(path, write):
    """write(tmp) fills a temporary file in path's directory, which is then fsync'ed and
    renamed over path: a crash leaves the previous file intact."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=d)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_params(model, path):
    """Writes model's parameters as an s2s parameter file (float32), atomically."""
    def write(tmp):
        with h5py.File(tmp, "w", userblock_size=SEAL_BLOCK) as f:
            f.attrs["format"] = FORMAT
            f.attrs["version"] = np.int32(VERSION)
            g = f.create_group("params", track_order=True)
            for name, t in model.state_dict().items():
                g.create_dataset(name, data=t.detach().cpu().numpy().astype("<f4"))
            cg = f.create_group("config", track_order=True)
            for k, v in model.cfg.to_attrs().items():
                cg.attrs[k] = v
        seal_file(tmp, FORMAT)  # the integrity record s2s checks first
    _atomic_write(path, write)


# ---- trained models: checkpoints and exports -------------------------------------------------

EXPORT_FORMAT, EXPORT_VERSION = "s2s-twin-export", 1


class Trained(NamedTuple):
    """A model with what decoding needs besides it: vocabularies (pyutil.Vocab, None in a
    parameter file) and the dataset's tokenizer settings (data.* options without the prefix)."""

    model: "S2S"
    src: object
    tgt: object
    data: dict
    path: str


def _read_vocab(f, side):
    if f"vocab/{side}" not in f:
        return None
    return pyutil.Vocab(t.decode() if isinstance(t, bytes) else str(t)
                        for t in f[f"vocab/{side}"][()])


def export_paths(out):
    """OUT.pt and its configuration OUT.json (OUT's extension replaced)."""
    stem, ext = os.path.splitext(out)
    if ext == ".json":
        raise ValueError(f"{out}: the export's tensors cannot go to a .json file")
    return out, stem + ".json"


def load_trained(path, dtype=torch.float32, ignore=()):
    """A checkpoint or parameter file (HDF5), or an export (OUT.pt with OUT.json), as Trained:
    the weights s2s translate decodes with (a checkpoint's /ema when it has one)."""
    if not h5py.is_hdf5(path):
        return load_export(path, dtype, ignore)
    with h5py.File(path, "r") as f:
        src, tgt = _read_vocab(f, "src"), _read_vocab(f, "tgt")
        # A run with --ema decodes with its averaged weights (/ema), as s2s translate does.
        group = "ema" if "ema" in f else "params"
    model = _build(read_config(path, ignore), read_tensors(path, group), dtype, path)
    return Trained(model, src, tgt, model.cfg.data_options(), path)


def export(tm, out):
    """tm's state_dict (float32) to OUT.pt by torch.save, plain tensors under the twin's names,
    and OUT.json: {"format", "version", "config": /config as strings, "vocab": {"src", "tgt"}
    token lists}. load_export, or torch.load + S2S(Config.from_attrs(config)), reads them."""
    pt, meta_path = export_paths(out)
    sd = {k: v.detach().to(torch.float32).cpu().contiguous()
          for k, v in tm.model.state_dict().items()}
    meta = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "source": tm.path,
            "config": tm.model.cfg.to_attrs(),
            "vocab": {side: v.tokens for side, v in (("src", tm.src), ("tgt", tm.tgt)) if v}}

    def write_meta(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    _atomic_write(pt, lambda tmp: torch.save(sd, tmp))
    _atomic_write(meta_path, write_meta)
    return pt, meta_path


def load_export(path, dtype=torch.float32, ignore=()):
    pt, meta_path = export_paths(path)
    try:
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: neither HDF5 nor an export with its configuration "
                         f"{meta_path}: {e}") from None
    if meta.get("format") != EXPORT_FORMAT or meta.get("version") != EXPORT_VERSION:
        raise ValueError(f"{meta_path}: format {meta.get('format')!r} version "
                         f"{meta.get('version')!r}, this script reads {EXPORT_FORMAT!r} "
                         f"{EXPORT_VERSION}")
    try:
        cfg = Config.from_attrs(meta["config"], ignore)
    except ValueError as e:
        raise ValueError(f"{meta_path}: {e}") from None
    model = _build(cfg, torch.load(pt, weights_only=True), dtype, pt)
    vocab = {side: pyutil.Vocab(v) for side, v in meta.get("vocab", {}).items()}
    return Trained(model, vocab.get("src"), vocab.get("tgt"), cfg.data_options(), path)


# ---- decoding: s2s's beam search, rule for rule ----------------------------------------------
# src/nn/beam.c and src/infer/decode.c; docs/decoding.md. A sentence keeps up to `beam` open
# hypotheses; each step extends every one by every token but <pad> and <s>, takes the `beam`
# best extensions by log-probability (ties: the better-ranked hypothesis, then the lower token
# id), moves those ending in </s> to the sentence's n-best list and keeps the others open. With
# beam > 1 a greedy lane (always its own most probable token) runs alongside and competes at
# the end. A sentence stops at its length limit (its open hypotheses then compete unfinished),
# when nothing is open, or when it has nbest finished hypotheses and no open one can still beat
# the worst of them. Hypotheses are scored log P / lp(n), lp(n) = ((5 + n) / 6)^alpha, n
# counting </s> when finished. Every sentence is searched on its own (s2s's batches change
# only rounding); the decoder steps all open rows of a batch of sentences together.


class Rules(NamedTuple):
    """The decoding rules that decide a search besides the model (s2s's, by default). The
    alternatives exist for check-translate --perturb, which shows that the comparison with s2s
    fails when one rule is changed."""

    length_penalty: float = 0.6        # GNMT alpha (--length-penalty)
    max_len_ratio: float = 2.0         # a translation has at most ceil(ratio n) + extra tokens
    max_len_extra: int = 5
    lower_ids_first: bool = True       # equal log-probabilities: the lower token id first
    penalty_counts_eos: bool = True    # a finished hypothesis's n includes </s>
    greedy_lane: bool = True           # beam > 1: the greedy hypothesis competes at the end
    search_on: bool = True             # with nbest finished, search on while open ones can win

    def penalty(self, n):
        """GNMT's lp(n) (beam_length_penalty): 1 for alpha 0."""
        a = self.length_penalty
        return 1.0 if a == 0 else ((5.0 + n) / 6.0) ** a

    def max_len(self, n):
        """decode_max_len: ceil(ratio * n) + 5 tokens for a source of n tokens."""
        return math.ceil(self.max_len_ratio * n) + self.max_len_extra

    def score(self, logprob, length, finished):
        return logprob / self.penalty(length + (finished and self.penalty_counts_eos))


# check-translate --perturb: one rule changed, to show that the comparison catches it.
PERTURBATIONS = {
    "length-penalty": lambda r: r._replace(length_penalty=r.length_penalty + 0.1),
    "max-len": lambda r: r._replace(max_len_extra=r.max_len_extra - 1),
    "ties": lambda r: r._replace(lower_ids_first=False),
    "eos-length": lambda r: r._replace(penalty_counts_eos=False),
    "lane": lambda r: r._replace(greedy_lane=False),
    "stop": lambda r: r._replace(search_on=False),
}


class Hyp(NamedTuple):
    """A returned hypothesis (beam_hyp): its tokens (</s> excluded), whether it ended with
    </s>, its log-probability (</s> included) and score; from the greedy lane or the beam; its
    attention rows (one per token, and one for </s> when finished) when kept."""

    tokens: tuple
    finished: bool
    logprob: float
    score: float
    lane: bool
    attn: tuple = None


class _Open(NamedTuple):
    """An open hypothesis: tokens so far, log-probability, attention rows (or None), and the
    decoder row whose state it continues."""

    tokens: tuple
    logprob: float
    attn: tuple
    row: int


class Decoded(NamedTuple):
    """A sentence's result: its n-best list (best first) and the closest decision of its search
    that was not an exact tie: the smallest margin (in log-probability or score) by which one
    choice beat another, with its step and kind; and the smallest margin of each step, exact
    ties (0) included."""

    hyps: list
    margin: tuple   # (value, step, kind)
    margins: dict   # step -> smallest margin of that step


def _gather(state, rows):
    """The decoder state of rows `rows` (indices into the rows of `state`)."""
    rnn_state, feed = state
    h = rnn_state[0] if isinstance(rnn_state, tuple) else rnn_state
    index = torch.tensor(rows, dtype=torch.long, device=h.device)
    if isinstance(rnn_state, tuple):
        rnn_state = tuple(x.index_select(1, index) for x in rnn_state)
    else:
        rnn_state = rnn_state.index_select(1, index)
    return (rnn_state, feed.index_select(0, index) if feed is not None else None)


class _Sentence:
    def __init__(self, row, limit, greedy_lane, attn):
        self.limit = limit
        first = _Open((), 0.0, () if attn else None, row)
        self.open = [first]
        self.lane = first if greedy_lane else None
        self.kept = []
        self.done = False
        self.margin = (math.inf, -1, "")
        self.margins = {}

    def rows(self):
        """The hypotheses stepped next: the open ones, then the greedy lane."""
        return self.open + ([self.lane] if self.lane is not None else [])

    def note(self, value, step, kind):
        """Records a decision won by |value|: 0 is an exact tie, decided by a rule (the same in
        s2s), so `margin` keeps the closest decision that rounding could have turned."""
        value = abs(value)
        if 0 < value < self.margin[0]:
            self.margin = (value, step, kind)
        if value < self.margins.get(step, math.inf):
            self.margins[step] = value


class Search:
    """s2s's batched beam search (beam 1: greedy) over a twin model, in the model's dtype."""

    def __init__(self, model, beam=5, nbest=1, rules=Rules(), batch=32, attention=False):
        if beam < 1 or not 1 <= nbest <= beam:
            raise ValueError(f"beam must be >= 1 and nbest in 1..beam, got {beam} and {nbest}")
        if not (rules.length_penalty >= 0 and math.isfinite(rules.length_penalty)):
            raise ValueError(f"length penalty alpha must be finite and >= 0, got "
                             f"{rules.length_penalty}")
        self.model, self.beam, self.nbest, self.rules = model, beam, nbest, rules
        self.batch = batch
        self.attention = attention and model.cfg.attn != "none"

    def run(self, sources):
        """Decodes each source (a list of ids): a Decoded per source, None for an empty one
        (s2s gives it an empty translation without decoding)."""
        out = [None] * len(sources)
        order = sorted((i for i, s in enumerate(sources) if s), key=lambda i: (len(sources[i]), i))
        with torch.no_grad():
            for first in range(0, len(order), self.batch):
                part = order[first:first + self.batch]
                for i, d in zip(part, self._batch([sources[i] for i in part])):
                    out[i] = d
        return out

    # -- one batch of sentences ----------------------------------------------------------------

    def _batch(self, sources):
        m = self.model
        dev = next(m.parameters()).device
        S = max(len(s) for s in sources)
        src = torch.full((S, len(sources)), PAD, dtype=torch.long, device=dev)
        for b, s in enumerate(sources):
            src[:len(s), b] = torch.tensor(s, dtype=torch.long)
        src_len = torch.tensor([len(s) for s in sources], dtype=torch.long, device=dev)
        mem, state0 = m.encode(src, src_len)
        memory = m.memory(mem, src_len)
        state = m.initial_state(state0)  # one row per sentence: what the first hypotheses read
        sents = [_Sentence(b, self.rules.max_len(len(s)),
                           self.beam > 1 and self.rules.greedy_lane, self.attention)
                 for b, s in enumerate(sources)]
        live, step = list(range(len(sources))), 0
        while live:
            # The decoder rows of this step: each live sentence's open hypotheses in rank order,
            # then its greedy lane; each continues the state of row h.row of the last step.
            hyps = [(b, h) for b in live for h in sents[b].rows()]
            state = _gather(state, [h.row for _, h in hyps])
            sent_of = torch.tensor([b for b, _ in hyps], dtype=torch.long, device=dev)
            ids = torch.tensor([h.tokens[-1] if h.tokens else BOS for _, h in hyps],
                               dtype=torch.long, device=dev)
            feat, state, alpha = m.step(m.tgt_embed(ids), state,
                                        memory.rows(sent_of) if memory else None)
            z = m.logits(feat).double()
            top_lp, top_id = self._top(z - torch.logsumexp(z, dim=1, keepdim=True))
            alpha = alpha.float().cpu().numpy() if self.attention else None
            at = 0
            for b in live:
                n = len(sents[b].rows())
                self._select(sents[b], step, at, top_lp, top_id, alpha)
                at += n
            live = [b for b in live if not sents[b].done]
            step += 1
        return [Decoded(list(st.kept), st.margin, st.margins) for st in sents]

    def _top(self, lp):
        """Per row the beam + 1 best legal tokens (never <pad> or <s>) and their
        log-probabilities, best first, equal ones by token id (output_topk's order; the one
        more than s2s keeps measures how close the last choice was). topk finds the n-th best
        value; every token at least as good (more than n only where values tie) is then ordered
        by (value, id)."""
        V = lp.shape[1]
        n = min(self.beam + 1, V - 2)
        legal = lp.clone()
        legal[:, PAD] = legal[:, BOS] = -math.inf
        nth = torch.topk(legal, n, dim=1).values[:, n - 1:]
        rows, ids = (legal >= nth).nonzero(as_tuple=True)
        vals = legal[rows, ids].cpu().numpy()
        rows, ids = rows.cpu().numpy(), ids.cpu().numpy()
        order = np.lexsort((ids if self.rules.lower_ids_first else -ids, -vals, rows))
        top_lp, top_id = [[] for _ in range(lp.shape[0])], [[] for _ in range(lp.shape[0])]
        for j in order:
            r = rows[j]
            if len(top_id[r]) < n:
                top_lp[r].append(float(vals[j]))
                top_id[r].append(int(ids[j]))
        return top_lp, top_id

    # -- one step of one sentence (select_sentence) --------------------------------------------

    def _select(self, st, t, at, top_lp, top_id, alpha):
        K, rules, n_open = self.beam, self.rules, len(st.open)
        # Every (open hypothesis, token) pair by log-probability; Python's sort is stable, so
        # equal ones stay in (rank, token order) order: s2s's merge of the rows' sorted lists.
        cands = []
        for k, h in enumerate(st.open):
            r = at + k
            for tlp, tok in zip(top_lp[r], top_id[r]):
                cands.append((h.logprob + tlp, k, tok))
        cands.sort(key=lambda c: -c[0])
        picks = cands[:K]
        if len(cands) > K:
            st.note(picks[-1][0] - cands[K][0], t, "beam choice")
        opened = []
        for c, k, tok in picks:
            h = st.open[k]
            attn = h.attn + (alpha[at + k],) if h.attn is not None else None
            if tok == EOS:
                self._keep(st, t, Hyp(h.tokens, True, c, rules.score(c, len(h.tokens), True),
                                      False, attn))
            else:
                opened.append(_Open(h.tokens + (tok,), c, attn, at + k))
        st.open = opened

        if st.lane is not None:  # the greedy lane (beam > 1): its own best token
            h, r = st.lane, at + n_open
            if len(top_lp[r]) > 1:
                st.note(top_lp[r][0] - top_lp[r][1], t, "greedy lane")
            c, tok = h.logprob + top_lp[r][0], top_id[r][0]
            attn = h.attn + (alpha[r],) if h.attn is not None else None
            if tok == EOS:
                self._keep(st, t, Hyp(h.tokens, True, c, rules.score(c, len(h.tokens), True),
                                      True, attn))
                st.lane = None
            else:
                st.lane = _Open(h.tokens + (tok,), c, attn, r)

        if t + 1 >= st.limit:  # the length limit: open hypotheses compete unfinished
            for h in st.open:
                self._keep(st, t, Hyp(h.tokens, False, h.logprob,
                                      rules.score(h.logprob, len(h.tokens), False), False, h.attn))
            if st.lane is not None:
                h = st.lane
                self._keep(st, t, Hyp(h.tokens, False, h.logprob,
                                      rules.score(h.logprob, len(h.tokens), False), True, h.attn))
            st.done = True
            return
        if not st.open and st.lane is None:
            st.done = True
            return
        if len(st.kept) < self.nbest:
            return
        best_open = st.open[0].logprob if st.open else -math.inf
        if st.lane is not None and st.lane.logprob > best_open:
            best_open = st.lane.logprob
        # An open hypothesis's log-probability only falls as it grows: its best reachable score
        # is that over the largest penalty it can still get, lp(limit).
        bound, worst = best_open / rules.penalty(st.limit), st.kept[-1].score
        st.note(bound - worst, t, "stop")
        st.done = bound <= worst or not rules.search_on

    def _keep(self, st, t, e):
        """Offers e to the n-best list (keep): sorted by score, best first, an equal score
        behind the entries already there; full, e must beat the worst. A hypothesis already
        there from the other source (lane or beam) is kept once, with the higher score."""
        kept = st.kept
        for x in kept:  # which entries e is ranked against (the same hypothesis aside)
            if not (x.lane != e.lane and x.tokens == e.tokens and x.finished == e.finished):
                st.note(e.score - x.score, t, "n-best order")
        for i, x in enumerate(kept):
            if x.lane == e.lane or x.tokens != e.tokens or x.finished != e.finished:
                continue
            if not e.score > x.score:
                return
            del kept[i]
            break
        if len(kept) == self.nbest:
            if not e.score > kept[-1].score:
                return
            kept.pop()
        p = len(kept)
        while p > 0 and e.score > kept[p - 1].score:
            p -= 1
        kept.insert(p, e)


# ---- translating text as `s2s translate` does (src/infer/translate.c) -------------------------


class Translator:
    """Lines of text -> s2s translate's output lines, with the checkpoint's tokenizer,
    vocabularies and detokenizer, and opts: beam, nbest, length_penalty, max_len_ratio, batch,
    scores, replace_unk, detok (auto, space, pieces)."""

    def __init__(self, tm, opts, rules=None):
        if tm.src is None or tm.tgt is None:
            raise ValueError(f"{tm.path}: no vocabularies (/vocab/src, /vocab/tgt): a parameter "
                             f"file cannot translate text; use a checkpoint or its export")
        if opts.nbest > opts.beam:
            raise ValueError(f"--nbest {opts.nbest} exceeds --beam {opts.beam}")
        if opts.replace_unk and tm.model.cfg.attn == "none":
            raise ValueError(f"{tm.path}: --replace-unk needs a model with attention (this one "
                             f"has none)")
        self.tm, self.opts = tm, opts
        self.tokenize = pyutil.make_tokenizer(tm.data, tm.path)
        detok = (opts.detok if opts.detok != "auto" else
                 pyutil.detok_guess(tm.data.get("tokenizer", "whitespace"), tm.tgt.tokens))
        self.detokenize = pyutil.DETOKENIZERS[detok]
        self.rules = rules or Rules(opts.length_penalty, opts.max_len_ratio)
        self.search = Search(tm.model, opts.beam, opts.nbest, self.rules, opts.batch,
                             attention=opts.replace_unk)

    def decode(self, lines):
        """(source token texts, source ids, Decoded or None) of each line."""
        tokens = [self.tokenize(line) for line in lines]
        ids = [[self.tm.src.id(t) for t in toks] for toks in tokens]
        return tokens, ids, self.search.run(ids)

    def text(self, hyp, src_tokens):
        """A hypothesis as text; with --replace-unk each <unk> becomes the source token of the
        highest attention weight (the first of equal ones)."""
        words = []
        for t, i in enumerate(hyp.tokens):
            if i == UNK and self.opts.replace_unk and hyp.attn is not None:
                words.append(src_tokens[int(np.argmax(hyp.attn[t][:len(src_tokens)]))])
            else:
                words.append(self.tm.tgt.tokens[i])
        return self.detokenize(words)

    def results(self, src_tokens, decoded):
        """(text, score) of each hypothesis, best first; an empty source gives one empty
        translation of score 0."""
        if not decoded:
            return [("", 0.0)]
        return [(self.text(h, src_tokens), h.score) for h in decoded.hyps]

    def line(self, index, text, score):
        """An output line of sentence `index` (from 0): "INDEX ||| TEXT ||| SCORE" with
        nbest > 1, "TEXT\tSCORE" with --scores, else TEXT."""
        if self.opts.nbest > 1:
            return f"{index} ||| {text} ||| {score:.6f}"
        return f"{text}\t{score:.6f}" if self.opts.scores else text


def rescore(model, pairs):
    """Teacher-forced log-probabilities (float64 sums) of hypotheses: pairs (source ids, Hyp),
    </s> included where the hypothesis finished."""
    out = []
    dev = next(model.parameters()).device
    with torch.no_grad():
        for first in range(0, len(pairs), 64):
            part = pairs[first:first + 64]
            S, N = max(len(s) for s, _ in part), len(part)
            T = max(len(h.tokens) + 1 for _, h in part)
            src = torch.full((S, N), PAD, dtype=torch.long, device=dev)
            tgt_in = torch.full((T, N), PAD, dtype=torch.long, device=dev)
            tgt_out = torch.full((T, N), PAD, dtype=torch.long, device=dev)
            for n, (s, h) in enumerate(part):
                src[:len(s), n] = torch.tensor(s)
                tgt_in[:len(h.tokens) + 1, n] = torch.tensor((BOS,) + h.tokens)
                tgt_out[:len(h.tokens) + h.finished, n] = torch.tensor(
                    h.tokens + ((EOS,) if h.finished else ()), dtype=torch.long)
            src_len = torch.tensor([len(s) for s, _ in part], device=dev)
            tgt_len = torch.tensor([len(h.tokens) + 1 for _, h in part], device=dev)
            z = model(src, src_len, tgt_in, tgt_len).double()
            lp = torch.log_softmax(z, dim=2).gather(2, tgt_out.unsqueeze(2)).squeeze(2)
            out.extend(lp.masked_fill(tgt_out == PAD, 0).sum(0).tolist())
    return out


# ---- parity check -----------------------------------------------------------------------------


def rel_errors(a, b, floor=FLOOR):
    """Per element |a_i - b_i| / max(|a_i|, |b_i|, floor * max_j |b_j|); 0 where a_i == b_i."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    f = floor * np.max(np.abs(b)) if b.size else 0.0
    scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), f)
    diff = np.abs(a - b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(diff == 0, 0.0, diff / scale)


def rel_error(a, b, floor=FLOOR):
    """The largest of rel_errors (NaN if either side has a NaN)."""
    r = rel_errors(a, b, floor)
    return float(np.max(r)) if r.size else 0.0


def _reference(params_path, batch, dtype):
    """(model, training loss, NLL, tokens, {name: gradient as float64 numpy}) in dtype."""
    model = load_params(params_path, dtype)
    model.eval()  # dropout off: s2s's masks come from its own generator
    model.zero_grad()
    loss, nll, tokens = model.loss(batch["src"], batch["src_len"], batch["tgt_in"],
                                   batch["tgt_out"], batch["tgt_len"])
    loss.backward()
    grads = {name: (p.grad if p.grad is not None else torch.zeros_like(p))
             .detach().cpu().double().numpy() for name, p in model.named_parameters()}
    return model, loss.item(), nll.item(), tokens, grads


def cmd_check(args):
    with h5py.File(args.probe, "r") as f:
        b = {k: torch.from_numpy(np.asarray(f["batch"][k][()]).astype(np.int64))
             for k in ("src", "src_len", "tgt_in", "tgt_out", "tgt_len")}
        c_loss = float(f.attrs["loss"])
        c_nll = float(f.attrs["nll"]) if "nll" in f.attrs else None
        c_tokens = int(f.attrs["tokens"]) if "tokens" in f.attrs else None
        grads = {k: np.asarray(v[()]) for k, v in f["grads"].items()}
    model, loss, nll, tokens, ref = _reference(args.params, b, torch.float64)
    # s2s computed in float32: some gradients are small differences of large terms (Bahdanau's
    # query and key bias: softmax gradients sum to zero over positions), which float32 cannot
    # resolve to 1e-4 whoever computes them. PyTorch's own float32 error on the same batch
    # measures that conditioning; s2s may be up to noise_factor times as far off.
    float32_probe = any(g.dtype == np.float32 for g in grads.values())
    noise = {}
    if float32_probe and args.noise_factor > 0:
        _, loss32, nll32, _, ref32 = _reference(args.params, b, torch.float32)
        noise = {k: rel_error(v, ref[k], args.floor) for k, v in ref32.items()}
        noise["loss"] = rel_error([loss32], [loss])
        noise["nll"] = rel_error([nll32], [nll])

    cfg = model.cfg
    desc = f"{cfg.describe()} ls={cfg.label_smoothing}"
    print(f"torch_twin: {desc}: batch S={b['src'].shape[0]} T={b['tgt_in'].shape[0]} "
          f"B={b['src'].shape[1]}, {tokens} target tokens, s2s in "
          f"{'float32' if float32_probe else 'float64'}")
    failures = []
    if c_tokens is not None and c_tokens != tokens:
        failures.append(f"token count: s2s {c_tokens}, PyTorch {tokens}")
    rows = [("loss", rel_error([c_loss], [loss]), f"s2s {c_loss:.9g} torch {loss:.9g}")]
    if c_nll is not None:
        rows.append(("nll", rel_error([c_nll], [nll]), f"s2s {c_nll:.9g} torch {nll:.9g}"))
    missing = sorted(set(ref) - set(grads))
    extra = sorted(set(grads) - set(ref))
    if missing or extra:
        failures.append(f"gradient tensors differ: missing {missing}, unexpected {extra}")
    for name, r in ref.items():
        if name not in grads:
            continue
        if tuple(grads[name].shape) != tuple(r.shape):
            failures.append(f"{name}: s2s gradient shape {list(grads[name].shape)}, "
                            f"PyTorch {list(r.shape)}")
            continue
        errs = rel_errors(grads[name], r, args.floor)
        worst_i = int(np.argmax(errs)) if errs.size else 0
        mx = float(np.max(np.abs(r))) if r.size else 0.0
        share = abs(float(r.ravel()[worst_i])) / mx if mx > 0 else 0.0
        rows.append((name, float(np.max(errs)) if errs.size else 0.0,
                     f"max|g| {mx:.3g}, worst element at {share:.2g} of it"))
    width = max(len(r[0]) for r in rows)
    worst = 0.0
    for name, err, note in rows:
        allowed = max(args.tol, args.noise_factor * noise.get(name, 0.0))
        extra_note = f"; torch-f32 {noise[name]:.1e}" if name in noise else ""
        ok = err <= allowed  # False for NaN
        print(f"  {name:<{width}}  rel err {err:9.2e}  ({note}{extra_note})"
              f"{'' if ok else '  FAIL'}")
        if not ok:
            failures.append(f"{name}: relative error {err:.3g} > {allowed:.3g}")
        worst = max(worst, err) if err == err else float("inf")
    print(f"torch_twin: {desc}: max relative error {worst:.3g} (tolerance {args.tol:g}"
          f"{f', or {args.noise_factor:g} x PyTorch float32 error' if noise else ''})")
    for msg in failures:
        print(f"torch_twin: FAILED: {msg}", file=sys.stderr)
    if args.resave:
        save_params(load_params(args.params, torch.float32), args.resave)
    return 1 if failures else 0


def cmd_check_list(args):
    """check for every line 'PARAMS PROBE RESAVED' of args.list, in one process (starting
    Python with PyTorch costs about two seconds, many times a case's own work)."""
    with open(args.list) as f:
        cases = [line.split() for line in f if line.strip()]
    failed = []
    for i, fields in enumerate(cases):
        if len(fields) != 3:
            raise ValueError(f"{args.list}:{i + 1}: expected PARAMS PROBE RESAVED")
        one = argparse.Namespace(**vars(args))
        one.params, one.probe, one.resave = fields
        if cmd_check(one) != 0:
            failed.append(fields[1])
    print(f"torch_twin: {len(cases) - len(failed)} of {len(cases)} cases agree")
    for probe in failed:
        print(f"torch_twin: FAILED: {probe}", file=sys.stderr)
    return 1 if failed else 0


def cmd_resave(args):
    model = load_params(args.params, torch.float32)
    save_params(model, args.out)
    return 0


def cmd_info(args):
    model = load_params(args.params, torch.float32, args.ignore_option)
    for k, v in model.cfg.to_attrs().items():
        if k == "input-feed":  # shown resolved, as a boolean
            v = "true" if model.cfg.input_feed else "false"
        print(f"{k} = {v}")
    total = 0
    for name, t in model.state_dict().items():
        print(f"  {name:<32} {list(t.shape)}")
        total += t.numel()
    print(f"{total} parameters")
    return 0


def cmd_export(args):
    pt, meta = export(load_trained(args.ckpt, torch.float32, args.ignore_option), args.out)
    print(f"torch_twin: wrote {pt} (state_dict) and {meta} (configuration, vocabularies)")
    return 0


_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _read_input(path):
    if path == "-":
        return sys.stdin.buffer.read(), "standard input"
    with open(path, "rb") as f:
        return f.read(), path


def cmd_translate(args):
    t0 = time.monotonic()
    tm = load_trained(args.ckpt, _DTYPES[args.dtype], args.ignore_option)
    tr = Translator(tm, args)
    data, name = _read_input(args.input)
    tokens, _, decoded = tr.decode(pyutil.text_lines(data, name))
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        for i, (toks, d) in enumerate(zip(tokens, decoded)):
            for text, score in tr.results(toks, d):
                out.write(tr.line(i, text, score) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    n_tok = sum(len(d.hyps[0].tokens) for d in decoded if d and d.hyps)
    print(f"torch_twin: translated {len(decoded)} sentences ({n_tok} tokens) in "
          f"{time.monotonic() - t0:.2f} s, beam {args.beam}, {args.dtype}", file=sys.stderr)
    return 0


# ---- check-translate: the twin's translations against s2s translate's ------------------------
# Both compute in float32 with their own summation orders, so a decision whose two sides the
# twin finds within rounding of each other may go the other way in s2s. The tolerances:
#  - E, the twin's float32 error: the largest difference, over the case's hypotheses, between
#    the log-probability its float32 search found and a float64 teacher-forced pass of the same
#    parameters. s2s's float32 forward pass rounds as much in other places, so its values may
#    differ from the twin's by NOISE * E (NOISE = --noise-factor, 10, as for gradients);
#  - plus, per decoder step, the error of s2s's log-sum-exp over the V logits, in float32
#    (src/nn/output.c; the twin's is in float64): lse = mx + log S, S = sum_j e^(z_j - mx) >= 1.
#    Each exponential is within 2 ulp (v_exp), 4u relative, so 4u S in all; rounding z_j - mx
#    = -x_j changes its term by u x_j e^(-x_j), which sums to u S E_p[x] <= u S ln V (E_p[x]
#    = H(p) - ln S under the softmax p); the 8 float lanes of ceil(V/8) terms add u per
#    addition, ceil(V/8) u S. So |d lse| = |dS| / S <= (4 + ln V + ceil(V/8)) u, u = 2^-24;
#  - s2s prints scores with 6 decimals: 5e-7.
# A score of n steps (n tokens, and </s> when finished) may then differ by
# (NOISE * E + n * d_lse) / lp(n) + 5e-7. Two values compared in a decision may each be that far
# off, so a decision the twin won by less than twice that (and more than 0: an exact tie is
# decided by a rule, the same in both) is a near-tie: where the outputs differ and the twin's
# closest decision (greedy: at the first differing step; beam: anywhere in the search, since a
# choice at any step can change the result) is a near-tie, the difference is reported and
# tolerated; any other difference fails.

U32 = 2.0 ** -24


def _lse_error(V):
    return (4 + math.log(V) + math.ceil(V / 8)) * U32


def _parse_s2s_output(lines, nbest, where):
    """s2s translate's output (nbest > 1: "INDEX ||| TEXT ||| SCORE" lines; else "TEXT<tab>SCORE",
    --scores) as {index: [(text, score)]} and the line order."""
    out = {}
    for n, line in enumerate(lines):
        try:
            if nbest > 1:
                index, rest = line.split(" ||| ", 1)
                text, score = rest.rsplit(" ||| ", 1)
                index = int(index)
            else:
                (text, score), index = line.rsplit("\t", 1), n
            out.setdefault(index, []).append((text, float(score)))
        except ValueError:
            raise ValueError(f"{where}:{n + 1}: not an s2s translate line with a score "
                             f"({'--nbest' if nbest > 1 else '--scores'}): {line!r}") from None
    return out


def _first_difference(a, b):
    """(hypothesis rank, token position, s2s token, twin token) of the first difference of two
    lists of texts."""
    for r, (x, y) in enumerate(zip(a, b)):
        if x != y:
            xs, ys = x.split(" "), y.split(" ")
            p = next((i for i, (u, v) in enumerate(zip(xs, ys)) if u != v), min(len(xs), len(ys)))
            return r, p, (xs[p] if p < len(xs) else "(end)"), (ys[p] if p < len(ys) else "(end)")
    r = min(len(a), len(b))
    return r, 0, (a[r] if r < len(a) else "(none)"), (b[r] if r < len(b) else "(none)")


def check_case(case, models):
    """One case of check-translate; returns (as expected, summary)."""
    o = case.opts
    rules = Rules(o.length_penalty, o.max_len_ratio)
    for name in o.perturb:
        rules = PERTURBATIONS[name](rules)
    key = (case.ckpt, tuple(o.ignore_option))
    if key not in models:
        models[key] = (load_trained(case.ckpt, torch.float32, o.ignore_option),
                       load_trained(case.ckpt, torch.float64, o.ignore_option))
    tm, tm64 = models[key]
    if o.dtype == "float64":
        tm = tm64
    o.scores = True  # s2s's output must carry scores: --scores (nbest 1) or --nbest
    tr = Translator(tm, o, rules)
    data, name = _read_input(case.input)
    tokens, ids, decoded = tr.decode(pyutil.text_lines(data, name))
    with open(case.s2s_output, "rb") as f:
        lines = [x.decode() for x in pyutil.text_lines(f.read(), case.s2s_output)]
    s2s = _parse_s2s_output(lines, o.nbest, case.s2s_output)

    # The twin's float32 error E on its own hypotheses (see above).
    pairs = [(ids[i], h) for i, d in enumerate(decoded) if d for h in d.hyps]
    exact = rescore(tm64.model, pairs)
    searched = ([h.logprob for _, h in pairs] if o.dtype == "float32" else
                rescore(models[key][0].model, pairs))
    E = max((abs(a - b) for a, b in zip(searched, exact)), default=0.0)
    d_lse = _lse_error(tm.model.cfg.tgt_vocab)
    steps = max((len(h.tokens) + 1 for _, h in pairs), default=1)
    near = 2 * (case.noise * E + steps * d_lse)

    same = tolerated = 0
    failures, notes, worst, compared = [], [], (0.0, math.inf), 0
    for i, (toks, d) in enumerate(zip(tokens, decoded)):
        theirs, ours = s2s.get(i, []), tr.results(toks, d)
        if [t for t, _ in ours] == [t for t, _ in theirs]:
            hyps = d.hyps if d else [None]
            bad = []
            for (_, a), (_, b), h in zip(theirs, ours, hyps):
                n = len(h.tokens) + h.finished if h else 0
                tol = ((case.noise * E + n * d_lse) / rules.penalty(n) if h else 0.0) + 5e-7
                compared += 1
                if abs(a - b) / tol > worst[0] / worst[1] or (worst[0] == 0 and tol < worst[1]):
                    worst = (abs(a - b), tol)
                if not abs(a - b) <= tol:
                    bad.append(f"s2s {a:.6f}, twin {b:.9f} (tolerance {tol:.2g})")
            if bad:
                failures.append(f"sentence {i}: same tokens, scores differ: {'; '.join(bad)}")
            else:
                same += 1
            continue
        r, p, x, y = _first_difference([t for t, _ in theirs], [t for t, _ in ours])
        what = (f"sentence {i}: hypothesis {r} differs at token {p}: s2s {x!r}, twin {y!r}"
                if r < len(theirs) and r < len(ours) else
                f"sentence {i}: s2s gives {len(theirs)} hypotheses, the twin {len(ours)}")
        if d is None:
            failures.append(what)
            continue
        value, step, kind = d.margin
        if o.beam == 1:  # greedy: the decision at the first differing step
            value, step, kind = d.margins.get(p, math.inf), p, "greedy choice"
        why = f"the twin's closest decision: {value:.3g} ({kind} at step {step})"
        if 0 < value < near and not o.strict:
            tolerated += 1
            notes.append(f"{what}; near-tie, tolerated: {why} < {near:.2g}")
        else:
            failures.append(f"{what}; {why}, not within rounding ({near:.2g})")
    extra = sorted(set(s2s) - set(range(len(decoded))))
    if extra:
        failures.append(f"s2s output has sentences beyond the input's {len(decoded)}: {extra[:5]}")

    # How much the tolerance could hide: sentences whose search met a near-tie anywhere.
    blind = sum(1 for d in decoded if d and 0 < d.margin[0] < near)
    ok = not failures if case.expect == "agree" else bool(failures)
    label = (f"{case.ckpt} beam {o.beam} nbest {o.nbest}"
             f"{f' alpha {o.length_penalty:g}' if o.length_penalty != 0.6 else ''}"
             f"{f' ratio {o.max_len_ratio:g}' if o.max_len_ratio != 2 else ''}"
             f"{' replace-unk' if o.replace_unk else ''}"
             f"{''.join(' perturb ' + p for p in o.perturb)}")
    print(f"torch_twin: {label}: {len(decoded)} sentences: {same} identical, {tolerated} "
          f"near-ties tolerated, {len(failures)} different; twin float32 error E = {E:.2g}, "
          f"near-tie below {near:.2g}, met by {blind} sentence{'' if blind == 1 else 's'}")
    print(f"numeric: twin vs s2s translate scores ({label}) (float): {compared} comparisons, "
          f"worst {worst[0]:.2g} of tolerance {worst[1]:.2g} (ratio {worst[0] / worst[1]:.2g})")
    shown = 10 if case.expect == "agree" else 2
    for msg in notes + failures[:shown]:
        print(f"  {msg}")
    if len(failures) > shown:
        print(f"  ... and {len(failures) - shown} more")
    if case.expect == "differ":
        print(f"torch_twin: {label}: expected to differ from s2s: "
              f"{'it does' if failures else 'it does NOT (the check cannot see this rule)'}")
    return ok, label


class _Case(NamedTuple):
    expect: str
    ckpt: str
    input: str
    s2s_output: str
    opts: argparse.Namespace
    noise: float


def cmd_check_translate(args):
    """Every line 'EXPECT CKPT INPUT S2S_OUTPUT [translate options]' of args.list, in one
    process; EXPECT is agree, or differ for a case expected to fail (--perturb)."""
    parser = argparse.ArgumentParser(prog="check-translate case", add_help=False)
    _decode_arguments(parser)
    parser.add_argument("--perturb", action="append", default=[], choices=sorted(PERTURBATIONS))
    parser.add_argument("--strict", action="store_true",
                        help="tolerate no near-tie: for well-trained models, whose decisions "
                             "are far apart")
    cases = []
    with open(args.list) as f:
        for n, line in enumerate(f):
            fields = shlex.split(line)
            if not fields:
                continue
            if len(fields) < 4 or fields[0] not in ("agree", "differ"):
                raise ValueError(f"{args.list}:{n + 1}: expected 'agree|differ CKPT INPUT "
                                 f"S2S_OUTPUT [options]'")
            cases.append(_Case(*fields[:4], parser.parse_args(fields[4:]), args.noise_factor))
    models, failed = {}, []
    for case in cases:
        ok, label = check_case(case, models)
        if not ok:
            failed.append(label)
    print(f"torch_twin: {len(cases) - len(failed)} of {len(cases)} translation cases as expected")
    for label in failed:
        print(f"torch_twin: FAILED: {label}", file=sys.stderr)
    return 1 if failed else 0


def _positive(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not a positive integer")
    return n


def _decode_arguments(p):
    """translate's options, s2s translate's names and defaults (DECODE_OPTIONS, cli.h)."""
    p.add_argument("--beam", type=_positive, default=5, help="beam size (1: greedy decoding)")
    p.add_argument("--nbest", type=_positive, default=1,
                   help="translations per sentence; above 1 as lines 'INDEX ||| TEXT ||| SCORE'")
    p.add_argument("--length-penalty", type=float, default=0.6,
                   help="GNMT alpha: score = log P / ((5 + length) / 6)^alpha")
    p.add_argument("--max-len-ratio", type=float, default=2.0,
                   help="a translation has at most ceil(ratio x source tokens) + 5 tokens")
    p.add_argument("--batch", type=_positive, default=32, help="sentences decoded together")
    p.add_argument("--scores", action="store_true", help="append a tab and the score")
    p.add_argument("--replace-unk", action="store_true",
                   help="replace <unk> by the source token with the highest attention weight")
    p.add_argument("--detok", choices=("auto",) + tuple(pyutil.DETOKENIZERS), default="auto",
                   help="detokenizer (auto: from the training data's tokenizer and vocabulary)")
    p.add_argument("--dtype", choices=tuple(_DTYPES), default="float32",
                   help="arithmetic of the twin (float32: as s2s)")
    _ignore_argument(p)


def _ignore_argument(p):
    p.add_argument("--ignore-option", action="append", default=[], metavar="NAME",
                   help="a /config option to take as a training option (by default one the twin "
                        "does not know is an error)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", help="compare s2s's loss and gradients with PyTorch's")
    p.add_argument("params")
    p.add_argument("probe")
    p.add_argument("--tol", type=float, default=1e-4, help="largest relative error allowed")
    p.add_argument("--floor", type=float, default=FLOOR,
                   help="relative-error floor as a fraction of each tensor's largest value")
    p.add_argument("--resave", metavar="OUT.h5",
                   help="also write the parameters back from PyTorch to OUT.h5 (as resave)")
    p.add_argument("--noise-factor", type=float, default=10.0,
                   help="for float32 probes: also allow this many times PyTorch's own float32 "
                        "error per tensor (0: off)")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("check-list", help="check every 'PARAMS PROBE RESAVED' line of a file "
                                          "(one process for many cases)")
    p.add_argument("list")
    p.add_argument("--tol", type=float, default=1e-4, help="as for check")
    p.add_argument("--floor", type=float, default=FLOOR, help="as for check")
    p.add_argument("--noise-factor", type=float, default=10.0, help="as for check")
    p.set_defaults(fn=cmd_check_list)
    p = sub.add_parser("resave", help="load a parameter file into PyTorch and write it back")
    p.add_argument("params")
    p.add_argument("out")
    p.set_defaults(fn=cmd_resave)
    p = sub.add_parser("info", help="print a parameter file's configuration and tensors")
    p.add_argument("params")
    _ignore_argument(p)
    p.set_defaults(fn=cmd_info)
    p = sub.add_parser("export", help="a checkpoint's state_dict to OUT.pt (torch.save), its "
                                      "configuration and vocabularies to OUT.json")
    p.add_argument("ckpt")
    p.add_argument("out", metavar="OUT.pt")
    _ignore_argument(p)
    p.set_defaults(fn=cmd_export)
    p = sub.add_parser("translate", help="translate text as s2s translate does (a checkpoint or "
                                         "an export)")
    p.add_argument("ckpt")
    p.add_argument("--input", default="-", help="source sentences, one per line (-: stdin)")
    p.add_argument("--output", default="-", help="translations (-: stdout)")
    _decode_arguments(p)
    p.set_defaults(fn=cmd_translate)
    p = sub.add_parser("check-translate", help="compare the twin's translations with s2s "
                                               "translate's for every case of a list")
    p.add_argument("list")
    p.add_argument("--noise-factor", type=float, default=10.0,
                   help="s2s's float32 values may differ from the twin's by this many times the "
                        "twin's own float32 error")
    p.set_defaults(fn=cmd_check_translate)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    try:
        return args.fn(args)
    except (ValueError, KeyError, OSError) as e:
        print(f"torch_twin: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
