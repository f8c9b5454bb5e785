"""Token indexing, as MXNet's ``mxnet.contrib.text.vocab``."""
from __future__ import annotations

import collections

__all__ = ["Vocabulary"]

UNKNOWN_IDX = 0


class Vocabulary:
    """Indexes tokens (MXNet 1.9.1's ``mxnet.contrib.text.vocab.Vocabulary``).

    Index 0 is ``unknown_token``, then come ``reserved_tokens`` in order, then the keys of
    ``counter`` with frequency >= ``min_freq``, most frequent first (ties in token order),
    at most ``most_freq_count`` of them.
    """

    def __init__(self, counter=None, most_freq_count=None, min_freq=1, unknown_token="<unk>",
                 reserved_tokens=None):
        if not (isinstance(min_freq, int) and min_freq > 0):
            raise ValueError(f"min_freq: expected a positive int, got {min_freq!r}")
        if most_freq_count is not None and not (isinstance(most_freq_count, int)
                                                and most_freq_count >= 0):
            raise ValueError(f"most_freq_count: expected None or an int >= 0, got "
                             f"{most_freq_count!r}")
        if counter is not None and not isinstance(counter, collections.Counter):
            raise TypeError(f"counter: expected a collections.Counter, got "
                            f"{type(counter).__name__}")
        if reserved_tokens is not None:
            reserved = set(reserved_tokens)
            if unknown_token in reserved:
                raise ValueError("reserved_tokens: must not contain unknown_token "
                                 f"{unknown_token!r}")
            if len(reserved) != len(reserved_tokens):
                raise ValueError("reserved_tokens: must not contain duplicates")
        self._unknown_token = unknown_token
        self._idx_to_token = [unknown_token]
        self._reserved_tokens = None if reserved_tokens is None else list(reserved_tokens)
        self._idx_to_token.extend(self._reserved_tokens or [])
        self._token_to_idx = {t: i for i, t in enumerate(self._idx_to_token)}
        if counter is not None:
            self._index_counter_keys(counter, most_freq_count, min_freq)

    def _index_counter_keys(self, counter, most_freq_count, min_freq):
        taken = set(self._idx_to_token)
        freqs = sorted(counter.items(), key=lambda x: x[0])
        freqs.sort(key=lambda x: x[1], reverse=True)
        cap = len(freqs) if most_freq_count is None else most_freq_count
        cap += len(self._idx_to_token)  # as MXNet: the cap counts the special tokens too
        for token, freq in freqs:
            if freq < min_freq or len(self._idx_to_token) == cap:
                break
            if token not in taken:
                self._idx_to_token.append(token)
                self._token_to_idx[token] = len(self._idx_to_token) - 1

    def __len__(self):
        return len(self._idx_to_token)

    @property
    def token_to_idx(self):
        """dict: token -> index."""
        return self._token_to_idx

    @property
    def idx_to_token(self):
        """list: index -> token."""
        return self._idx_to_token

    @property
    def unknown_token(self):
        return self._unknown_token

    @property
    def reserved_tokens(self):
        return self._reserved_tokens

    def to_indices(self, tokens):
        """Index of a token, or list of indices of a list of tokens (unknown ones: 0)."""
        if isinstance(tokens, str):
            return self._token_to_idx.get(tokens, UNKNOWN_IDX)
        return [self._token_to_idx.get(t, UNKNOWN_IDX) for t in tokens]

    def to_tokens(self, indices):
        """Token of an index, or list of tokens of a list of indices."""
        single = isinstance(indices, int)
        idx = [indices] if single else list(indices)
        n = len(self._idx_to_token)
        out = []
        for i in idx:
            if not isinstance(i, int) or not 0 <= i < n:
                raise ValueError(f"to_tokens: token index {i!r} is not in [0, {n})")
            out.append(self._idx_to_token[i])
        return out[0] if single else out
