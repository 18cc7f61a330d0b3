"""SOE Monitor: watch China's state-owned enterprises through the news."""

__version__ = "0.1.0"
