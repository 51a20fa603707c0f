"""digitscope: read handwritten digits and whole numbers from real images."""

__version__ = "0.1.0"
