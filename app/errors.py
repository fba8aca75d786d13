"""Domain errors. Every layer below `app.api` raises these; `app.api.errors` maps them to HTTP.

Each class carries a stable machine-readable `code`. HTTP status codes live only in
`app.api.errors.STATUS_BY_ERROR`, so the domain stays transport-agnostic.
"""

from __future__ import annotations


class SimserveError(Exception):
    """Base of every expected failure. `param` names the offending input field, if any.

    `retry_after` (seconds) is set only where the raiser knows better (an estimate of the
    queued work); otherwise a 429/503 carries `lifecycle.retry_after_s`."""

    code = "internal_error"

    def __init__(self, message: str, *, param: str | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.retry_after = retry_after


class InvalidInput(SimserveError):
    """Malformed or empty input that cannot be processed at all (HTTP 400)."""

    code = "invalid_input"


class ValidationFailed(SimserveError):
    """Well-formed input that breaks a rule, e.g. too long with truncate=false (HTTP 422)."""

    code = "validation_error"


class PayloadTooLarge(SimserveError):
    """Too many texts, too many characters, or too many bytes (HTTP 413)."""

    code = "payload_too_large"


class NotFound(SimserveError):
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class CollectionNotFound(NotFound):
    code = "collection_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class Conflict(SimserveError):
    """The request contradicts existing state, e.g. a collection re-created with another model."""

    code = "conflict"


class Unauthorized(SimserveError):
    code = "unauthorized"


class Forbidden(SimserveError):
    code = "forbidden"


class Overloaded(SimserveError):
    """A bounded queue is full; the client should retry later (HTTP 429)."""

    code = "overloaded"


class NotReady(SimserveError):
    """Still starting, or draining for shutdown (HTTP 503)."""

    code = "not_ready"


class Unavailable(SimserveError):
    """A capability is not served by this deployment, e.g. no generator model (HTTP 503)."""

    code = "unavailable"


class DeadlineExceeded(SimserveError):
    """Work did not finish within its time limit (HTTP 504)."""

    code = "deadline_exceeded"


class InferenceFailed(SimserveError):
    """The model runtime raised; the message is safe to show (no internals) (HTTP 500)."""

    code = "inference_failed"
