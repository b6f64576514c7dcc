"""assistant — turns a question into an answer (or a question back, or a polite decline) and serves chat."""
