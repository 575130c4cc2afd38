"""Machine learning: features, genre detection, melody encoding and generation."""
