"""packshot: raw product photos to marketplace-ready images."""

__version__ = "0.1.0"
