"""The JSON bodies of ``transformer-tf serve``'s API (pydantic models, so FastAPI validates
them and writes them into ``/openapi.json``), and how a validation error reads to the client."""

from pydantic import BaseModel, ConfigDict, Field


class TranslateRequest(BaseModel):
    """``POST /api/translate``."""

    model_config = ConfigDict(strict=True, extra="forbid")  # "1" is no beam width, true no number

    sentences: list[str] = Field(description="English texts; each may hold several sentences")
    model: str | None = Field(None, description="a name from GET /api/models (default: the first)")
    beam: int = Field(1, description="1: greedy decoding; more: beam search with that many beams")


class AttentionRequest(BaseModel):
    """``POST /api/attention`` (greedy decoding, as ``plot-attention``)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    sentence: str = Field(description="one English text")
    model: str | None = Field(None, description="a name from GET /api/models (default: the first)")


def validation_message(errors):
    """``(status, message)`` for FastAPI's validation ``errors``: 400 when the body is not
    JSON, else 422 with each problem as ``field: what is wrong``."""
    if any(error["type"] == "json_invalid" for error in errors):
        return 400, 'the body is not valid JSON: send a JSON object, e.g. {"sentences": ["Hello."]}.'
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
        problems.append(f"{where}: {error['msg']}")
    return 422, "; ".join(problems)
