"""Framework integrations, each importable only when its framework is installed.

- :mod:`ergowatch.integrations.lightning`: ``ErgowatchCallback`` for PyTorch Lightning
  (``lightning.pytorch`` or ``pytorch_lightning``).
- :mod:`ergowatch.integrations.huggingface`: ``ErgowatchCallback`` for the Hugging Face
  ``transformers.Trainer``.

Importing a module whose framework is missing raises ImportError with the install hint;
``import ergowatch`` never imports either framework.
"""
