"""Make it load: why a checkpoint does not load (diagnose), the fix (remap), the proof
(verify), strict loading with fallbacks, which base a fine-tune descends from (lineage: the
config the shapes cannot tell), and the code a service runs in f5-tts alone."""
