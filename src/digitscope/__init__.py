"""digitscope: read handwritten digits and whole numbers from real images.

    import digitscope
    model = digitscope.load()              # the bundled default model
    model.predict(images)                  # uint8 N x 28 x 28, white ink on black -> digits
    digitscope.Reader().read(image)        # a whole number: text, confidence, a box on every digit
"""

from .inference.classifier import DigitClassifier, load
from .reading import Reader
from .version import __version__

__all__ = ["DigitClassifier", "Reader", "__version__", "load"]
