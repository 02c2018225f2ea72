"""chat-analytics: warehouse-native analytics for chatbot conversations."""

__version__ = "0.1.0"
