"""The project's small error vocabulary; the CLI and UI translate these at the boundary."""


class AssistantError(Exception):
    """Base class for every error a user should see as one readable line."""


class IngestError(AssistantError):
    """A document could not be read, parsed or indexed (the message names the file)."""


class IndexError_(AssistantError):
    """The index is missing, inconsistent, or built with other settings."""


class ModelError(AssistantError):
    """The embedding model could not be built or loaded."""


class AnswerError(AssistantError):
    """An answering backend failed (connection, timeout, bad reply)."""


class NotFoundError(AssistantError):
    """A named document, collection, passage or job does not exist."""


class ConflictError(AssistantError):
    """The request clashes with what exists (a collection name taken, the default collection)."""


class TooLongError(AssistantError):
    """A question or query is longer than the configured limit (the message names it)."""


class DiskFullError(AssistantError):
    """A write found the disk (or the quota) full; what was committed before stays intact."""
