"""Will it run: the analytic memory estimate and its measurement, the GPU catalogue, the torch
stack's kernels for a card, the predicted seconds per call, the one run verdict that joins them
(doctor, profile, the knob table), and whether a torch device can be used here. The estimate path
never imports torch."""
