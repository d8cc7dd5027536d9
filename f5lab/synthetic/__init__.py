"""Synthetic checkpoints: built from the real f5-tts classes with random (or briefly trained)
weights, in every real-world layout, tiny for tests and notebooks, full scale for the demo and the
benchmarks. Product code, not test code: ``f5lab demo`` and every notebook's default run on them.
Used by ``reporting`` and ``cli`` only, never by the stages below."""
