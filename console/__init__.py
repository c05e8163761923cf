"""Community Connect Console: registered and live community cameras for a Real-Time Intelligence Center."""

__version__ = "0.1.0"
