"""Token counting, as MXNet's ``mxnet.contrib.text.utils``."""
from __future__ import annotations

import collections
import re

__all__ = ["count_tokens_from_str"]


def count_tokens_from_str(source_str, token_delim=" ", seq_delim="\n", to_lower=False,
                          counter_to_update=None):
    """Count the tokens of ``source_str`` (split at ``token_delim`` and ``seq_delim``;
    empty tokens dropped) into a ``collections.Counter``, or into ``counter_to_update``.

    >>> count_tokens_from_str(' Life is great ! \\n life is good . \\n')
    Counter({'is': 2, 'Life': 1, 'great': 1, '!': 1, 'life': 1, 'good': 1, '.': 1})
    """
    if not isinstance(source_str, str):
        raise TypeError(f"source_str: expected a str, got {type(source_str).__name__}")
    source_str = filter(None, re.split(re.escape(token_delim) + "|" + re.escape(seq_delim),
                                       source_str))
    if to_lower:
        source_str = [t.lower() for t in source_str]
    if counter_to_update is None:
        return collections.Counter(source_str)
    counter_to_update.update(source_str)
    return counter_to_update
