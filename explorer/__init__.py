"""Latent Explorer: train GANs and explore their latent spaces.

Nothing happens at import time: no device probing, no file access, no downloads.
"""

__version__ = "0.1.0"
