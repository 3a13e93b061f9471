"""The answer the model must give: the EuroVoc level-1 domains of one legal act."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Code = Literal["04", "08", "10", "12", "16", "20", "24", "28", "32", "36", "40",
               "44", "48", "52", "56", "60", "64", "66", "68", "72", "76"]


class Level1Code(BaseModel):
    """One EuroVoc level-1 domain, by its two-digit code."""

    code: Code


class Level1Codes(BaseModel):
    """All the domains of the act."""

    level1: list[Level1Code] = Field(description="the act's domains, usually one to three")
