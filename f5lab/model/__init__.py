"""Describe: the architecture inferred from shapes, the one config resolver (a name, a YAML,
a recorded entry), config ranking, and the real f5-tts ``CFM`` those configs build."""
