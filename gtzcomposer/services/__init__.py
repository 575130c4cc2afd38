"""The only layer that knows both threads and Qt: task runner, playback service."""
