#!/usr/bin/env python3
"""An independent NumPy implementation of the documented layers (docs/models.md), used by
model_numpy.sh: reads model folders (our tensor names) and Hugging Face BERT checkpoints (HF
names) with a tiny safetensors reader, computes the logits in float64, writes HF checkpoints
with random weights and broken model folders. Written from the documentation, not the C++.

  lib/model_numpy_ref.py logits FOLDER IDS_SHAPE          -> JSON list of logits rows
  lib/model_numpy_ref.py hf-logits HF_DIR IDS_SHAPE       -> same, computed on the HF names
  lib/model_numpy_ref.py write-hf DIR                     -> random BERT checkpoint in HF naming
  lib/model_numpy_ref.py break SRC DST missing|shape|dtype
  lib/model_numpy_ref.py compare TOL EXPECTED.json SUBMIT_OUTPUT
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_st(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
    return out


def write_st(path, tensors, dtypes=None):
    dtypes = dtypes or {}
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        dt = dtypes.get(name, "F32")
        raw = np.ascontiguousarray(t, dtype=DTYPES[dt]).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x, form):
    if form == "gelu_erf":
        erf = np.vectorize(math.erf)
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention(x, wq, bq, wk, bk, wv, bv, heads):
    s, h = x.shape
    d = h // heads
    q = (x @ wq.T + bq).reshape(s, heads, d).transpose(1, 0, 2)
    k = (x @ wk.T + bk).reshape(s, heads, d).transpose(1, 0, 2)
    v = (x @ wv.T + bv).reshape(s, heads, d).transpose(1, 0, 2)
    p = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(d))
    return (p @ v).transpose(1, 0, 2).reshape(s, h)


def ffn(x, w1, b1, w2, b2, act):
    return gelu(x @ w1.T + b1, act) @ w2.T + b2


def ids_for(shape):
    """What `alpaserve submit --shape` sends: value i = (i * 7 + 3) % 100."""
    n = int(np.prod(shape))
    return (np.arange(n) * 7 + 3) % 100


def ours_logits(folder, shape):
    spec = json.load(open(os.path.join(folder, "model.json")))
    w = {k: v.astype(np.float64) for k, v in read_st(os.path.join(folder, "model.safetensors")).items()}
    h, heads, act = spec["hidden"], spec["heads"], spec.get("activation", "gelu_tanh")
    eps = spec.get("norm_eps", 1e-5)
    every = spec.get("expert_every", 2)
    ids = ids_for(shape).reshape(shape)
    rows = []
    for seq_ids in ids:
        s = len(seq_ids)
        x = layer_norm(w["embed.tokens.weight"][seq_ids] + w["embed.positions.weight"][:s],
                       w["embed.norm.weight"], w["embed.norm.bias"], eps)
        for i in range(spec["layers"]):
            p = f"layers.{i}."
            qkv_w, qkv_b = w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]
            ctx = attention(x, qkv_w[:h], qkv_b[:h], qkv_w[h:2 * h], qkv_b[h:2 * h],
                            qkv_w[2 * h:], qkv_b[2 * h:], heads)
            x = layer_norm(x + ctx @ w[p + "attn.out.weight"].T + w[p + "attn.out.bias"],
                           w[p + "norm1.weight"], w[p + "norm1.bias"], eps)
            if spec["kind"] == "moe" and i % every == every - 1:
                probs = softmax(x @ w[p + "moe.gate.weight"].T)
                y = np.zeros_like(x)
                for t in range(s):
                    order = sorted(range(spec["experts"]), key=lambda e: (-probs[t, e], e))
                    top = order[:spec.get("top_k", 2)]
                    g = probs[t, top] / probs[t, top].sum()
                    for gk, e in zip(g, top):
                        q = f"{p}moe.experts.{e}."
                        y[t] += gk * ffn(x[t:t + 1], w[q + "fc1.weight"], w[q + "fc1.bias"],
                                         w[q + "fc2.weight"], w[q + "fc2.bias"], act)[0]
            else:
                y = ffn(x, w[p + "ffn.fc1.weight"], w[p + "ffn.fc1.bias"],
                        w[p + "ffn.fc2.weight"], w[p + "ffn.fc2.bias"], act)
            x = layer_norm(x + y, w[p + "norm2.weight"], w[p + "norm2.bias"], eps)
        rows.append(w["head.weight"] @ x[0] + w["head.bias"])
    return rows


def hf_logits(d, shape):
    """BERT as Hugging Face defines it, on the HF tensor names: token type 0, erf GELU, the
    config's layer_norm_eps; logits = the token table applied to [CLS] (the importer's tied head)."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    w = {k: v.astype(np.float64) for k, v in read_st(os.path.join(d, "model.safetensors")).items()}
    eps = cfg.get("layer_norm_eps", 1e-12)
    e = "embeddings."
    ids = ids_for(shape).reshape(shape)
    rows = []
    for seq_ids in ids:
        s = len(seq_ids)
        x = (w[e + "word_embeddings.weight"][seq_ids] + w[e + "position_embeddings.weight"][:s]
             + w[e + "token_type_embeddings.weight"][0])
        x = layer_norm(x, w[e + "LayerNorm.weight"], w[e + "LayerNorm.bias"], eps)
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            a = p + "attention.self."
            ctx = attention(x, w[a + "query.weight"], w[a + "query.bias"], w[a + "key.weight"],
                            w[a + "key.bias"], w[a + "value.weight"], w[a + "value.bias"],
                            cfg["num_attention_heads"])
            o = p + "attention.output."
            x = layer_norm(x + ctx @ w[o + "dense.weight"].T + w[o + "dense.bias"],
                           w[o + "LayerNorm.weight"], w[o + "LayerNorm.bias"], eps)
            y = ffn(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"], w[p + "output.dense.bias"], "gelu_erf")
            x = layer_norm(x + y, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        rows.append(w[e + "word_embeddings.weight"] @ x[0])
    return rows


def write_hf(d):
    rng = np.random.default_rng(7)
    h, heads, f, layers, vocab, pos = 64, 4, 128, 2, 100, 32
    os.makedirs(d, exist_ok=True)
    json.dump({"model_type": "bert", "hidden_size": h, "num_attention_heads": heads,
               "intermediate_size": f, "num_hidden_layers": layers, "vocab_size": vocab,
               "max_position_embeddings": pos, "type_vocab_size": 2, "hidden_act": "gelu",
               "layer_norm_eps": 1e-12}, open(os.path.join(d, "config.json"), "w"))
    t = {}

    def lin(name, o, i):
        t[name + ".weight"] = rng.normal(0, 1 / math.sqrt(i), (o, i))
        t[name + ".bias"] = rng.normal(0, 0.02, (o,))

    def ln(name):
        t[name + ".weight"] = 1 + rng.normal(0, 0.05, (h,))
        t[name + ".bias"] = rng.normal(0, 0.02, (h,))

    t["embeddings.word_embeddings.weight"] = rng.normal(0, 1, (vocab, h))
    t["embeddings.position_embeddings.weight"] = rng.normal(0, 1, (pos, h))
    t["embeddings.token_type_embeddings.weight"] = rng.normal(0, 1, (2, h))
    ln("embeddings.LayerNorm")
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for q in ("query", "key", "value"):
            lin(p + "attention.self." + q, h, h)
        lin(p + "attention.output.dense", h, h)
        ln(p + "attention.output.LayerNorm")
        lin(p + "intermediate.dense", f, h)
        lin(p + "output.dense", h, f)
        ln(p + "output.LayerNorm")
    lin("pooler.dense", h, h)  # not imported
    write_st(os.path.join(d, "model.safetensors"), t)


def break_folder(src, dst, how):
    shutil.copytree(src, dst)
    path = os.path.join(dst, "model.safetensors")
    t = dict(read_st(path))
    dtypes = {}
    if how == "missing":
        del t["layers.0.ffn.fc2.weight"]
    elif how == "shape":
        t["layers.0.attn.out.weight"] = t["layers.0.attn.out.weight"][:, : t["layers.0.attn.out.weight"].shape[1] // 2]
    elif how == "dtype":
        dtypes["embed.norm.bias"] = "F64"
    write_st(path, t, dtypes)


def compare(tol, expected_file, submit_file):
    expected = np.array(json.load(open(expected_file)))
    got = []
    for line in open(submit_file):
        if line.startswith("result ["):
            shape = [int(v) for v in line[len("result ["):line.index("]")].split(",")]
            got.append(np.array([float(v) for v in line.split(":", 1)[1].split()]).reshape(shape))
    assert got, "no result line in the submit output"
    got = got[-1]
    assert got.shape == expected.shape, (got.shape, expected.shape)
    diff = float(np.abs(got - expected).max())
    scale = max(1.0, float(np.abs(expected).max()))
    print(f"max |served - numpy| = {diff:.3g} (tolerance {tol:g} x {scale:.3g})")
    sys.exit(0 if diff <= tol * scale else 1)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd in ("logits", "hf-logits"):
        shape = [int(v) for v in sys.argv[3].split(",")]
        rows = (ours_logits if cmd == "logits" else hf_logits)(sys.argv[2], shape)
        print(json.dumps([list(map(float, r)) for r in rows]))
    elif cmd == "write-hf":
        write_hf(sys.argv[2])
    elif cmd == "break":
        break_folder(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "compare":
        compare(float(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
