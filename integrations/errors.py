"""Feed errors: transient ones are retried with backoff, permanent ones are reported and skipped."""

from __future__ import annotations


class FeedError(Exception):
    """Base of every error an adapter raises."""


class TransientFeedError(FeedError):
    """Try again later: a timeout, a refused connection, a 5xx, a 429."""


class PermanentFeedError(FeedError):
    """Retrying the same request will not help: a 4xx, or a payload we cannot use."""


class PayloadError(PermanentFeedError):
    """The bytes are not a usable payload: garbled, hostile, too large, or not the expected format.

    ``reason`` is a sentence fit for a feed's health page or a problem document.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
