"""Will it run: the analytic memory estimate and its measurement, the GPU catalogue, and
whether a torch device can be used here. The estimate path never imports torch."""
