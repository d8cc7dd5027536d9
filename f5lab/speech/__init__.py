"""Hear it: text in, audio out, scores. Synthesis, the behavioural probe, audio IO, local
vocoders, quality metrics (ASR/WER, speaker similarity, mel distances). Downloads nothing."""
