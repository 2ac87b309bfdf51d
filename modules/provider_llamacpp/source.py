"""Where the model file comes from: a built-in model or a GGUF path from the config."""

from dataclasses import dataclass
from pathlib import Path

from .assembly import ensure_builtin_model, locate_parts
from .catalog import BUILTIN_MODELS, BuiltinModel
from .config import LlamaCppConfig
from .errors import ModelUnavailableError


@dataclass(frozen=True)
class ModelSource:
    """A built-in model assembled into ``cache_dir``, or the GGUF at ``path``.

    Hashable: the process-wide model registry keys loaded models by it.
    """

    builtin: BuiltinModel | None
    path: Path | None
    cache_dir: Path

    @classmethod
    def from_config(cls, config: LlamaCppConfig) -> "ModelSource":
        """``model_path`` when set, else the built-in ``model``."""
        builtin = None if config.model_path else BUILTIN_MODELS[config.model]
        return cls(builtin=builtin, path=config.model_path, cache_dir=config.cache_dir)

    @property
    def id(self) -> str:
        """The built-in model id, or the GGUF file's stem."""
        return self.builtin.id if self.builtin else self.path.stem

    def check(self) -> None:
        """Cheap mount-time check that the model can be had (no hashing, no loading).

        Raises:
            ModelUnavailableError: the GGUF path does not exist, or the built-in model is
                neither assembled nor installable from its part packages (names the pip command).
        """
        if self.builtin is None:
            if not self.path.is_file():
                raise ModelUnavailableError(f"llamacpp: model_path {self.path} is not a file")
        elif not (self.cache_dir / self.builtin.filename).is_file():
            locate_parts(self.builtin)

    def resolve(self) -> Path:
        """The file to load; a built-in model is assembled if needed and always verified.

        Blocking (seconds). Raises what ``check`` and ``assembly.ensure_builtin_model`` raise.
        """
        self.check()
        return ensure_builtin_model(self.builtin, self.cache_dir) if self.builtin else self.path
