"""Operations: health, metrics, logs, production checks."""
