"""Checkpoints built from the real f5-tts classes in every real-world layout, tiny for tests
and full scale for the demo. Used by ``reporting`` and ``cli`` only, never by the stages below."""
