"""Read a file: safetensors headers and ``.pt`` pickles without torch, container layouts and
canonical keys, and vocab.txt read as f5-tts reads it. Knows nothing of architectures."""
