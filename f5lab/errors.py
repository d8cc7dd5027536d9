"""The errors f5lab raises for user mistakes: the CLI prints them as one line, no traceback."""


class F5LabError(Exception):
    """Base class: a problem with the user's input, explained in one line."""


class CheckpointError(F5LabError):
    """The file cannot be read as a checkpoint (missing, corrupt, unsafe, not F5/E2)."""


class ArchError(F5LabError):
    """The tensors do not describe an F5-TTS / E2-TTS model."""


class ConfigError(F5LabError):
    """An unknown config name or an impossible setting."""


class TextError(F5LabError):
    """Empty text, or characters the vocabulary lacks under strict checking."""
