"""智引 Zhiyin — front door: settings, CLI and the HTTP app factory."""

__version__ = "0.1.0"
