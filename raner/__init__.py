"""raner-lite: fast Chinese named-entity recognition (PER, LOC, ORG) on CPU with onnxruntime + numpy."""
from .entity import Entity
from .errors import ModelError, UnknownVariantError
from .recognizer import DEFAULT_MODEL, Recognizer, load
from .user_dict import UserDictionary

__version__ = "0.1.0"
__all__ = ["Entity", "ModelError", "Recognizer", "UnknownVariantError", "UserDictionary", "DEFAULT_MODEL", "load",
           "__version__"]
