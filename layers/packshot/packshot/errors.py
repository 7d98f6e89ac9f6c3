"""Typed errors: the class name is the Lambda error type the state machine matches on."""

from __future__ import annotations


class PackshotError(Exception):
    """Base of every error packshot raises on purpose; `reason` is meant for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ImageRejectedError(PackshotError):
    """The input cannot become a product image; the record keeps the reason, nothing retries."""


class UndecodableImageError(ImageRejectedError):
    """The bytes are not an image we can decode (corrupt, truncated, or another file type)."""


class CorruptImageError(UndecodableImageError):
    """The file decodes, but its data is damaged: decoder warnings, failed checksums, less data than its header says."""


class StageFileError(UndecodableImageError):
    """A stage file (work/<id>/...) is cut short, damaged or no PNG at all: the stage that wrote it runs again."""


class UnsupportedImageError(ImageRejectedError):
    """The image decodes but is of a kind we do not process (multi-page, animation, odd mode)."""


class UnsupportedRawError(UnsupportedImageError):
    """A camera RAW file (by its content) that LibRaw cannot develop: the reason names the maker and model."""


class BlankImageError(ImageRejectedError):
    """The photo has nothing to cut out: one colour, fully transparent, or a degenerate shape (a line)."""


class ImageTooSmallError(ImageRejectedError):
    """The longest side is under the minimum the marketplaces need for zoom."""


class ImageTooLargeError(ImageRejectedError):
    """The image has more pixels than the configured limit (decompression-bomb guard)."""


class FileTooLargeError(ImageRejectedError):
    """The uploaded object is bigger than the configured byte limit (checked before downloading it)."""


class ModelError(PackshotError):
    """The segmentation model file is missing, corrupt, or does not match its checksum."""


class ModelSourceError(ModelError):
    """The configured model location cannot be read: no such bucket or key, or access denied."""


class ModelChecksumError(ModelError):
    """A model file's sha256 differs from the one it must have (its known checksum or MODEL_SHA256)."""


class TransientStorageError(PackshotError):
    """An AWS storage call failed in a way that a retry may fix."""


class ConfigurationError(PackshotError):
    """A setting is missing or has a value we cannot use."""


class MissingExtraError(ConfigurationError):
    """A command needs an optional part of packshot that is not installed; the reason names the pip command."""


class MetadataTooLargeError(ImageRejectedError):
    """A metadata field (from the manifest or the object) is longer than any product field can be."""


class SourceMissingError(ImageRejectedError):
    """The uploaded object was deleted (or never readable) before it could be processed."""


class SourceReplacedError(ImageRejectedError):
    """The uploaded object was overwritten by a newer upload before this one's bytes could be read."""


class ReviewError(PackshotError):
    """A review request cannot be carried out as asked; the reason says what to do instead."""


class ReviewNotFoundError(ReviewError):
    """No open review task has this id: it was decided already, or its deadline passed."""


class InvalidDecisionError(ReviewError):
    """The decision is incomplete or not allowed (no reason for a reject, the same person signing twice...)."""


class ReviewTokenExpiredError(ReviewError):
    """Step Functions no longer waits on this task token (decided elsewhere or timed out)."""
